import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { configDigest } from '#core/config/deployed';
import { loadConfigFile } from '#core/config/file';
import { RETRYABLE_ERRORS } from '#core/errors';
import {
  WAKE_SCHEDULE_GROUP_VARIABLE,
  WAKE_SCHEDULER_ROLE_ARN_VARIABLE,
  WAKE_TTL_FUNCTION_ARN_VARIABLE,
} from '#core/run/wake-ttl';
import {
  caughtState,
  FleetFunctions,
  GuardFunctions,
  type StepName,
  Steps,
  type TaskFunctionId,
  TaskFunctions,
} from '#core/steps';
import { stateBucketLifecycle } from '#infra/constructs/state-buckets';
import { KUBERNETES_WRITERS, NEEDS } from '#infra/iam/needs';
import { renderDefinition } from '#infra/workflows/environment';
import { buildStack, synthesizedDefinition, synthesizeStack } from '../support/synthesized.ts';
import { fixture } from '../support/world.ts';

const { app, stack, template } = synthesizeStack();
const asl = synthesizedDefinition(template) as { States: Record<string, any>; StartAt: string };
const policies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
  (p: any) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
);
const actions = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const statementsWith = (action: string) => policies.filter((s) => actions(s).includes(action));

describe('state machine', () => {
  it('is the definition the local engine runs (same states, same wiring)', () => {
    const local = renderDefinition() as { States: Record<string, any> };
    const strip = (d: { States: Record<string, any> }) =>
      JSON.parse(
        JSON.stringify(d.States)
          .replace(/"arn:aws:lambda:[^"]+"/g, '"fn"')
          // The partition of a service integration: a token in the stack, "aws" in the local rendering.
          .replace(
            /\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"(:states:::[^"]+)"\]\]\}/g,
            '"arn:aws$1"',
          ),
      );
    expect(strip(asl)).toEqual(strip(local));
  });

  it('has a Task for each step, each retried only on retryable errors and Lambda service exceptions', () => {
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([n]) => n).sort()).toEqual(Object.values(TaskFunctions).flat().sort());
    for (const [name, s] of tasks) {
      const retried = s.Retry.flatMap((r: any) => r.ErrorEquals);
      // Record failure never throws its own errors (it logs them), so only Lambda's are retried there.
      const expected =
        name === Steps.recordFailure
          ? ['Lambda.ServiceException']
          : [...RETRYABLE_ERRORS, 'Lambda.ServiceException'];
      expect(retried, name).toEqual(expect.arrayContaining(expected));
      expect(retried, name).not.toContain('States.ALL');
      if (name === Steps.recordFailure) {
        expect(s.Catch, name).toBeUndefined();
        continue;
      }
      expect(s.Catch[0].ErrorEquals, name).toEqual(['States.ALL']);
      // A database event wait that fails or times out polls instead (nothing changed yet).
      if (name === Steps.awaitDatabaseAvailable || name === Steps.awaitDatabaseStopped) {
        expect(s.Catch[0].Next, name).toBe(
          name === Steps.awaitDatabaseAvailable ? Steps.checkDatabaseAvailable : Steps.checkDatabaseStopped,
        );
        continue;
      }
      if (name === Steps.prepare) {
        expect(s.Catch[0].Next, name).toBe(Steps.refused);
        continue;
      }
      // A renewal runs no up and holds no lock: its failure ends the run, nothing to record.
      if (name === Steps.renewWake || name === Steps.scheduleRenewedWakeDown) {
        expect(s.Catch[0].Next, name).toBe(Steps.renewFailed);
        continue;
      }
      expect(s.Catch[0].Next, name).toBe(caughtState(name as StepName));
      expect(asl.States[caughtState(name as StepName)].Next, name).toBe(Steps.recordFailure);
    }
  });

  it('polls with Wait states that read the next wait from the poll step', () => {
    const waits = Object.entries(asl.States).filter(([, s]) => s.Type === 'Wait');
    expect(waits).toHaveLength(10);
    for (const [, w] of waits) expect(w.SecondsPath).toBe('$.poll.waitSeconds');
    // Stable: node groups next when Prepare marked the phase, else the result.
    expect(asl.States[Steps.databaseStopped].Choices).toEqual([
      {
        And: [
          { Variable: '$.poll.stable', BooleanEquals: true },
          { Variable: '$.phases.nodegroups', BooleanEquals: true },
        ],
        Next: Steps.scaleNodegroupsDown,
      },
      { Variable: '$.poll.stable', BooleanEquals: true, Next: Steps.recordResult },
    ]);
    expect(asl.States[Steps.databaseStopped].Default).toBe(Steps.waitDatabaseStop);
  });

  it('logs every execution to a vended log group, traced', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });
});

describe('functions', () => {
  it('run nodejs22.x, one per handler, with no configuration in environment variables', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(
      Object.keys(TaskFunctions).length +
        Object.keys(FleetFunctions).length +
        Object.keys(GuardFunctions).length +
        1 + // database-event, on the RDS events
        1 + // execution-status, on the environment executions that end without their Catch
        1 + // report, on the fleet executions' ends
        1, // wake-ttl, on a wake's one-time schedule
    );
    for (const f of fns as any[]) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      const vars = f.Properties.Environment.Variables;
      // The publishers of notifications also get the topic's ARN (a deploy-time value); the
      // database-event function its own account, to ignore events from any other; the
      // wake-ttl function the environment workflow's ARN, to start its down.
      expect(
        Object.keys(vars)
          .filter(
            (k) =>
              k !== 'CIM_NOTIFY_TOPIC_ARN' &&
              k !== 'CIM_DATABASE_EVENTS' &&
              k !== 'CIM_ACCOUNT_ID' &&
              k !== 'CIM_ENVIRONMENT_STATE_MACHINE_ARN' &&
              // Schedule wake down: what its schedules invoke, as whom, in which group.
              k !== WAKE_TTL_FUNCTION_ARN_VARIABLE &&
              k !== WAKE_SCHEDULER_ROLE_ARN_VARIABLE &&
              k !== WAKE_SCHEDULE_GROUP_VARIABLE,
          )
          .sort(),
      ).toEqual(['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME']);
      if (vars.CIM_ACCOUNT_ID !== undefined)
        expect(JSON.stringify(vars.CIM_ACCOUNT_ID)).toMatch(/"\d{12}"|AWS::AccountId/);
    }
  });

  it('get defaults and environments as the file bundled with them, named by its digest', () => {
    const config = loadConfigFile(fixture('environments.yaml'));
    expect(stack.configDigest).toBe(configDigest(config));
    // The afterBundling hook copies this file into every bundle as deployed-config.json.
    const text = readFileSync(join(app.outdir, 'cim-deployed-config', `${stack.configDigest}.json`), 'utf8');
    const shipped = JSON.parse(text);
    expect(Object.keys(shipped)).toEqual(['defaults', 'environments']);
    expect(Object.keys(shipped.environments)).toEqual(['alpha/dev', 'beta/staging', 'gamma/dev']);
    expect(configDigest(parseConfig(shipped, 'shipped'))).toBe(stack.configDigest);
  });
});

describe('least privilege', () => {
  it('starts and stops only databases named like the configured ones', () => {
    const rds = [
      'rds:StartDBInstance',
      'rds:StopDBInstance',
      'rds:StartDBCluster',
      'rds:StopDBCluster',
    ].flatMap(statementsWith);
    expect(rds.length).toBeGreaterThan(0);
    const resources = JSON.stringify(rds.map((s) => s.Resource));
    expect(resources).not.toContain('"*"');
    // {customer}-{environment}-rds as a wildcard; a literal identifier stays literal.
    expect(resources).toContain(':rds:us-east-1:123456789012:db:*-rds"');
    expect(resources).toContain(':rds:us-east-1:123456789012:cluster:beta-staging-aurora"');
    expect(resources).not.toMatch(/:db:\*"|:cluster:\*"/);
  });

  it("reads and writes S3 only under the environments' common key prefix and lists only that", () => {
    const put = statementsWith('s3:PutObject');
    expect(put.length).toBeGreaterThan(0);
    for (const s of put) {
      const r = JSON.stringify(s.Resource);
      // The fleet: its claim, item list, map run results and summary, only under fleet/ (the
      // functions read and write them, the state machine's Distributed Map reads the items and
      // writes the results, in parts for large ones).
      // The guard's item lists and map run results likewise, under guard/.
      // The report function: only the deployed report's objects, and PutObject alone.
      if (r.includes('"/report/*"')) {
        expect(r).toMatch(
          /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StateBucket[^"]+","Arn"\]\},"\/report\/\*"\]\]\}$/,
        );
        expect((s as any).Action).toBe('s3:PutObject');
        continue;
      }
      if (r.includes('"/fleet/*"') || r.includes('"/guard/*"')) {
        expect(r).toMatch(
          /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StateBucket[^"]+","Arn"\]\},"\/(fleet|guard)\/\*"\]\]\}$/,
        );
        // Sorted: the stack minimizes its policies (one statement per resource set).
        expect([
          ['s3:PutObject'],
          ['s3:GetObject', 's3:PutObject'],
          ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
        ]).toContainEqual([(s as any).Action].flat().sort());
        continue;
      }
      // The wake function: the per-person wake ledgers beside the environments, Get/Put only.
      if (r.includes('"/wake-ledger/users/*"')) {
        expect(r).toMatch(
          /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StateBucket[^"]+","Arn"\]\},"\/wake-ledger\/users\/\*"\]\]\}$/,
        );
        expect((s as any).Action).toEqual(['s3:GetObject', 's3:PutObject']);
        continue;
      }
      // {cluster}/{customer}/{environment} on eks-dev-cluster: everything under eks-dev-cluster/
      // (the execution-status function: only its actions.json and lock.json objects).
      expect(r).toMatch(
        /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StateBucket[^"]+","Arn"\]\},"\/eks-dev-cluster\/\*(actions\.json|lock\.json)?"\]\]\}$/,
      );
    }
    // The environments' prefix; the report function's own day seals and prices
    // (report-stack.test.ts); the per-person wake ledgers of the functions that read them.
    for (const s of statementsWith('s3:ListBucket')) {
      expect([
        ['eks-dev-cluster/*'],
        ['report/index/*', 'report/prices.json'],
        ['wake-ledger/users/*'],
      ]).toContainEqual((s as any).Condition.StringLike['s3:prefix']);
    }
    expect(
      statementsWith('s3:ListBucket').filter(
        (s: any) => s.Condition.StringLike['s3:prefix'][0] === 'report/index/*',
      ),
    ).toHaveLength(1);
    expect(statementsWith('s3:*')).toEqual([]);
  });

  it('describes only the configured EKS clusters', () => {
    const eks = statementsWith('eks:DescribeCluster');
    expect(eks.length).toBeGreaterThan(0);
    for (const s of eks) expect(JSON.stringify(s.Resource)).toMatch(/:cluster\/eks-dev-cluster/);
  });

  it('gives functions that do not touch a service no permission for it', () => {
    const roles = template.findResources('AWS::IAM::Role');
    const healthRole = Object.keys(roles).find((k) => k.startsWith('Rolecheckhealth'));
    expect(healthRole).toBeDefined();
    const healthPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) =>
      JSON.stringify(p.Properties.Roles).includes(healthRole as string),
    );
    const acts = healthPolicies.flatMap((p: any) => p.Properties.PolicyDocument.Statement.flatMap(actions));
    // Its own log group, and X-Ray for active tracing (which accepts only "*").
    expect(acts.sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('gives each function exactly the services its step uses', () => {
    const s3 = ['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject'];
    const rdsDescribe = ['rds:DescribeDBClusters', 'rds:DescribeDBInstances'];
    const rdsStartStop = [
      'rds:StartDBCluster',
      'rds:StartDBInstance',
      'rds:StopDBCluster',
      'rds:StopDBInstance',
    ];
    const eks = ['eks:DescribeCluster'];
    const intent = 'record-intent' in TaskFunctions ? 'record-intent' : 'snapshot-pre-state';
    const expected: Record<string, string[]> = {
      prepare: [...s3, ...rdsDescribe, ...eks],
      [intent]: s3,
      'plan-dry-run': [],
      'scale-down': [...s3, ...eks],
      'stop-database': [...s3, ...rdsDescribe, ...rdsStartStop],
      'start-database': [...s3, ...rdsDescribe, ...rdsStartStop],
      'check-database': [...s3, ...rdsDescribe, ...rdsStartStop],
      'restore-replicas': [...s3, ...eks],
      'check-deployments': eks,
      'check-health': [],
      'suspend-cronjobs': [...s3, ...eks],
      'scale-statefulsets-down': [...s3, ...eks],
      'restore-statefulsets': [...s3, ...eks],
      'check-statefulsets': eks,
      'resume-cronjobs': [...s3, ...eks],
      'pause-keda': [...s3, ...eks],
      'restore-keda': [...s3, ...eks],
      ingresses: [...s3, ...eks],
      'await-database': [...s3, ...rdsDescribe, 'states:SendTaskSuccess'],
      'check-autoscalers': eks,
      // The test configuration has no node groups: no eks:*Nodegroup grant at all.
      'scale-nodegroups-down': s3,
      'restore-nodegroups': s3,
      'check-nodegroups': [...s3, ...eks],
      'record-result': [...s3, ...rdsDescribe, ...eks],
      // It also announces the failure: publish to the notifications topic, with its key.
      'record-failure': [...s3, ...rdsDescribe, ...eks, 'kms:Decrypt', 'kms:GenerateDataKey*', 'sns:Publish'],
      // wake.json and the ledgers; a wake's schedule in the stack's group, as the scheduler's
      // role (wake-ttl-stack.test.ts).
      'wake-run': [...s3, 'iam:PassRole', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(TaskFunctions).sort());
    const roleOf = (id: TaskFunctionId) =>
      stack.getLogicalId(stack.functions[id].role?.node.defaultChild as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    for (const id of Object.keys(TaskFunctions) as TaskFunctionId[]) {
      const acts = policies
        .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleOf(id)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap(actions))
        .filter((a: string) => !a.startsWith('logs:') && !a.startsWith('xray:'));
      expect([...new Set(acts)].sort(), id).toEqual([...(expected[id] ?? [])].sort());
    }
  });
});

describe('state bucket', () => {
  it('is encrypted, versioned, private and TLS-only, and kept on stack deletion', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: 'customer-infra-manager',
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      }),
      DeletionPolicy: 'Retain',
    });
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0] as any;
    const deny = policy.Properties.PolicyDocument.Statement.find(
      (s: any) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
    );
    expect(deny?.Effect).toBe('Deny');
  });

  it('keeps versioning on and expires noncurrent versions (replaced locks and records) after 30 days by default', () => {
    const bucket = Object.values(template.findResources('AWS::S3::Bucket'))[0] as any;
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        ExpiredObjectDeleteMarker: true,
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      }),
    ]);
    // No current version expires: only replaced or deleted ones.
    expect(bucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBeUndefined();
  });

  it('takes the noncurrent version lifetime from stack.noncurrentVersionDays, and refuses 0', () => {
    const days = (value: unknown) => {
      const config = loadConfigFile(fixture('environments.yaml'));
      return parseConfig(
        { ...config, stack: { ...config.stack, noncurrentVersionDays: value } },
        'lifecycle.yaml',
      ).stack.noncurrentVersionDays;
    };
    expect(days(7)).toBe(7);
    expect(() => days(0)).toThrow(/noncurrentVersionDays/);
    expect(stateBucketLifecycle(7)[0]?.noncurrentVersionExpiration?.toDays()).toBe(7);
  });
});

describe('schedules, alarm and access', () => {
  it('has no schedules when the configuration has none', () => {
    // Only the seven-day guard's daily sweep.
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as any[];
    expect(schedules.map((s) => s.Properties.Target.Input)).toEqual(['{"sweep":true}']);
  });

  it('creates exactly one EventBridge schedule per configured schedule, starting the fleet in its time zone', () => {
    const { template: t } = synthesizeStack('environments.yaml');
    const schedules = (Object.values(t.findResources('AWS::Scheduler::Schedule')) as any[]).filter(
      (s) => !s.Properties.Description.startsWith('Seven-day guard'),
    );
    expect(schedules).toHaveLength(2);
    const down = schedules.find(
      (s) => s.Properties.Description === 'down alpha/dev,beta/staging (weeknights-down)',
    );
    expect(down.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 20 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    expect(JSON.stringify(down.Properties.Target.Arn)).toContain('FleetWorkflow');
    expect(JSON.parse(down.Properties.Target.Input)).toEqual({
      action: 'down',
      selection: { patterns: ['alpha/dev', 'beta/staging'], labels: null },
      user: 'schedule:weeknights-down',
      dryRun: false,
      schedule: 'weeknights-down',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it('gives each Kubernetes step an access entry with its group (writers, or readers for steps that only look) and no namespace list', () => {
    const { template: t, stack: s } = synthesizeStack('environments.yaml');
    const entries = Object.values(t.findResources('AWS::EKS::AccessEntry')) as any[];
    const groupOf = new Map(
      entries.map((e) => [e.Properties.PrincipalArn['Fn::GetAtt'][0], e.Properties.KubernetesGroups]),
    );
    const withEks = (Object.keys(NEEDS) as TaskFunctionId[]).filter((id) => NEEDS[id].eks);
    expect(entries).toHaveLength(withEks.length); // one cluster in the fixture
    for (const id of withEks) {
      const role = s.getLogicalId(s.functions[id].role?.node.defaultChild as never);
      expect(groupOf.get(role), id).toEqual([
        KUBERNETES_WRITERS.has(id) ? 'customer-infra-manager-writers' : 'customer-infra-manager-readers',
      ]);
    }
    // Checks and records only read; the steps that scale, suspend or pause write.
    for (const id of [
      'check-deployments',
      'check-statefulsets',
      'check-autoscalers',
      'record-result',
    ] as const)
      expect(KUBERNETES_WRITERS.has(id), id).toBe(false);
    for (const id of [
      'scale-down',
      'restore-replicas',
      'suspend-cronjobs',
      'pause-keda',
      'ingresses',
    ] as const)
      expect(KUBERNETES_WRITERS.has(id), id).toBe(true);
    for (const e of entries) {
      expect(e.Properties.AccessPolicies).toBeUndefined();
      expect(JSON.stringify(e)).not.toMatch(/alpha-dev|beta-staging|EditPolicy/);
    }
  });

  it('alarms on failed executions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Threshold: 1,
    });
  });
});

describe('cdk-nag', () => {
  it('passes the AwsSolutions checks, with only the acknowledged findings', () => {
    const { app: nagApp } = buildStack('environments.yaml');
    Validations.of(nagApp).addPlugins(new AwsSolutionsChecks(nagApp));
    expect(() => nagApp.synth()).not.toThrow();
  });

  it('would fail on an unacknowledged finding (the check is live)', () => {
    const { app: nagApp, stack } = buildStack('environments.yaml');
    new Bucket(stack, 'Unsafe');
    Validations.of(nagApp).addPlugins(new AwsSolutionsChecks(nagApp));
    expect(() => nagApp.synth()).toThrow(/AwsSolutions-S10|AwsSolutions-S1/);
  });
});
