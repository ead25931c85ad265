// The report function as the rule on the fleet's status change calls it: after a run, the
// deployed report in the state bucket shows that run; a second delivery of the event
// rewrites the same three objects and touches nothing else.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '#handlers/report';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const FLEET = 'arn:aws:states:us-east-1:123456789012:stateMachine:customer-infra-manager-fleet-Test';
const fleetEnded = {
  version: '0',
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  account: '123456789012',
  region: 'us-east-1',
  detail: {
    executionArn: `${FLEET.replace(':stateMachine:', ':execution:')}:night`,
    stateMachineArn: FLEET,
    status: 'SUCCEEDED',
  },
};

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

describe('the report function after a fleet run', () => {
  it('publishes report/ with the run just recorded, and a repeated event only rewrites report/', async () => {
    await runWorkflow(w, { action: 'down', build: '812' });
    const deliver = handler.withDeps(w.deps);
    const before = w.bucket.writes.length;
    const out = (await deliver(fleetEnded)) as { published: { bucket: string; environments: number }[] };
    expect(out.published.map((p) => p.bucket)).toEqual(['customer-infra-manager']);
    const model = w.bucket.json('report/report.json') as {
      fleet: { environments: { customer: string; environment: string; state: string }[] };
    };
    // The down just recorded: alpha/dev asleep, the other configured environments awake.
    expect(model.fleet.environments.map((e) => `${e.customer}/${e.environment} ${e.state}`)).toEqual([
      'alpha/dev asleep',
      'beta/staging awake',
      'gamma/dev awake',
    ]);
    expect(w.bucket.objects.get('report/index.html')?.body).toMatch(/^<!doctype html>/i);
    await deliver(fleetEnded);
    const all = w.bucket.writes.slice(before).map((x) => `${x.op} ${x.key}`);
    const written = new Set(all.filter((x) => !x.startsWith('put report/index/')));
    expect([...written].sort()).toEqual([
      'put report/index.html',
      'put report/report.json',
      'put report/savings.csv',
    ]);
    // Besides, the seals of the past days, each written once (the repeated event reads them).
    const seals = all.filter((x) => x.startsWith('put report/index/'));
    expect(seals.length).toBeGreaterThan(0);
    expect(new Set(seals).size).toBe(seals.length);
  });
});
