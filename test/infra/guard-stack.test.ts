// The seven-day guard in the stack: the RDS event rules match the sample events of the
// configured databases only (by kind, identifier and event id), a daily sweep starts the
// guard, an alarm watches it, and only its step function may stop databases.
import { beforeAll, describe, expect, it } from 'vitest';
import { matches } from '../support/event-pattern.ts';
import { synthesizeStack } from '../support/synthesized.ts';

let t: ReturnType<typeof synthesizeStack>['template'];
beforeAll(() => {
  ({ template: t } = synthesizeStack());
}, 120_000);

const event = (id: string, eventId: string, type: 'DB_INSTANCE' | 'CLUSTER', account = '123456789012') => ({
  source: 'aws.rds',
  account,
  'detail-type': type === 'CLUSTER' ? 'RDS DB Cluster Event' : 'RDS DB Instance Event',
  region: 'us-east-1',
  detail: { EventID: eventId, SourceIdentifier: id, SourceType: type, Message: '...' },
});

describe('the seven-day guard', () => {
  it('listens to the restart events of the configured databases only', () => {
    // The guard's rules (the database event waits have their own, see database-events-stack.test.ts).
    const rules = (Object.values(t.findResources('AWS::Events::Rule')) as any[]).filter((r) =>
      JSON.stringify(r.Properties.Targets[0].Arn).includes('GuardWorkflow'),
    );
    const patterns = rules.map((r) => r.Properties.EventPattern);
    const fires = (e: unknown) => patterns.some((p) => matches(p, e));
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0154', 'DB_INSTANCE'))).toBe(true);
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0088', 'DB_INSTANCE'))).toBe(true);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0153', 'CLUSTER'))).toBe(true);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0151', 'CLUSTER'))).toBe(true);
    // Not configured, wrong kind, or another event:
    expect(fires(event('someone-elses-db', 'RDS-EVENT-0154', 'DB_INSTANCE'))).toBe(false);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0154', 'DB_INSTANCE'))).toBe(false);
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0006', 'DB_INSTANCE'))).toBe(false);
    expect(
      fires({ ...event('alpha-dev-rds', 'RDS-EVENT-0154', 'DB_INSTANCE'), source: 'custom.forged' }),
    ).toBe(false);
    // The same database name in an account no configured environment lives in.
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0154', 'DB_INSTANCE', '999988887777'))).toBe(false);
    // The rule follows the identifier template (as the IAM grants do); the guard itself
    // records a no-op for a database that matches it but is not configured.
    expect(patterns[0].detail.SourceIdentifier).toEqual([{ wildcard: '*-rds' }]);
    for (const r of rules) expect(JSON.stringify(r.Properties.Targets[0].Arn)).toContain('GuardWorkflow');
  });

  it('sweeps daily and alarms on a failed guard run', () => {
    const sweep = (Object.values(t.findResources('AWS::Scheduler::Schedule')) as any[]).find((s) =>
      s.Properties.Description.startsWith('Seven-day guard'),
    );
    expect(sweep.Properties.ScheduleExpression).toBe('cron(30 5 * * ? *)');
    expect(JSON.parse(sweep.Properties.Target.Input)).toEqual({ sweep: true });
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms.some((a) => a.Properties.AlarmDescription.startsWith('The seven-day guard'))).toBe(true);
  });

  it("lets only the guard step touch RDS and the environments' objects; select and summary only the guard's own files", () => {
    const policies = Object.entries(t.findResources('AWS::IAM::Policy')) as [string, any][];
    const statementsOf = (fn: string) =>
      policies
        .filter(([id]) => id.startsWith(`Roleguard${fn}`))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    const actionsOf = (fn: string) => statementsOf(fn).flatMap((s: any) => [s.Action].flat());
    expect(actionsOf('step')).toEqual(expect.arrayContaining(['rds:StopDBInstance', 's3:PutObject']));
    // Select writes the item list, the summary reads the map run's results: under guard/ only.
    for (const [fn, action] of [
      ['select', 's3:PutObject'],
      ['summary', 's3:GetObject'],
    ] as const) {
      expect(actionsOf(fn).filter((a: string) => a.startsWith('rds:') || a.startsWith('s3:'))).toEqual([
        action,
      ]);
      for (const s of statementsOf(fn).filter((s: any) => JSON.stringify(s.Action).includes('s3:')))
        expect(JSON.stringify(s.Resource)).toMatch(/"\/guard\/\*"\]\]\}$/);
    }
  });
});
