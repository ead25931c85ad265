// A catalog of malformed input on the local engine with the real handlers: raw state-machine
// inputs and state records read back from S3. Every case must end in a clear error with the
// right exit code, and change nothing at all (S3 objects and their versions, replicas,
// database calls and state).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits, runLocal } from '#cli/engine/local-environment';
import { ExitCode, exitCodeFor } from '#cli/exit-codes';
import { Steps, TaskFunctions, WaitSteps } from '#core/steps';
import { environmentDefinition } from '../support/definition.ts';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { fixtureJson, makeWorld, type World } from '../support/world.ts';

// The first run synthesizes the stack: outside the tests' 30 s, which a loaded machine can exceed.
beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
const PRE_STATE_10 = `${P}/history/10/pre-state.json`;
const ACTIONS = `${P}/actions.json`;

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

let definition: Record<string, unknown> | undefined;

/** Starts the state machine with exactly this input: no defaults merged in, any JSON value. */
async function runRaw(input: unknown) {
  definition ??= environmentDefinition();
  return runLocal({
    deps: w.deps,
    definition,
    input: input as Record<string, unknown>,
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    retryOverrides: noRetryWaits(),
  });
}

/** Everything a run could change: S3 objects (with their etags, i.e. versions), writes, replicas, database. */
function observe() {
  return {
    writes: w.bucket.writes.length,
    objects: Object.fromEntries([...w.bucket.objects].map(([k, o]) => [k, o.etag])),
    scaled: w.kube.scaled.length,
    replicas: Object.fromEntries([...w.kube.deployments].map(([k, d]) => [k, d.replicas])),
    rdsCalls: [...w.rdsCalls],
    dbState: w.dbState(),
  };
}

async function down(build = '10') {
  const run = await runWorkflow(w, { action: 'down', build });
  expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
}

type Run = Awaited<ReturnType<typeof runRaw>>;

const TASKS = new Set<string>(Object.values(TaskFunctions).flat());
/** The definition's Fail states that end a refused run (every Fail but the failure of a started run). */
function refusalStates(): string[] {
  definition ??= environmentDefinition();
  const states = definition.States as Record<string, { Type: string }>;
  return Object.keys(states).filter((n) => states[n]?.Type === 'Fail' && n !== Steps.runFailed);
}

/** Runs `act`, then checks the refusal: error name, message, exit code, path, and no change at all. */
async function expectRefusal(
  act: () => Promise<Run>,
  names: readonly string[],
  message: RegExp,
  exitCode: number,
) {
  const before = observe();
  const run = await act();
  expect(run.status).toBe('FAILED');
  expect(names).toContain(run.error?.Error);
  expect(run.error?.Cause).toMatch(message);
  expect(exitCodeFor(run.error?.Error)).toBe(exitCode);
  // Nothing but Prepare ran, and the run ended in a refusal. (A Choice in front of Prepare
  // that turns away non-object inputs by itself is allowed.)
  expect(run.path.filter((s) => TASKS.has(s))).toEqual(
    run.path.includes(Steps.prepare) ? [Steps.prepare] : [],
  );
  expect(refusalStates()).toContain(run.path.at(-1));
  if (run.path.includes(Steps.prepare)) expect(run.path.slice(-2)).toEqual([Steps.prepare, Steps.refused]);
  const after = observe();
  expect(after.writes, 'no write or delete in S3').toBe(before.writes);
  expect(after).toEqual(before);
  return run;
}

// ---------------------------------------------------------------- raw state-machine inputs

const VALID = { action: 'down', customer: 'alpha', environment: 'dev', build: '20', user: 'jenkins-user' };
const FIELDS = ['action', 'customer', 'environment', 'build', 'user', 'dryRun', 'record'] as const;
const WRONG_TYPES: [string, unknown][] = [
  ['a number', 42],
  ['null', null],
  ['an array', ['down']],
  ['an object', { value: 'down' }],
];
const wrongTypeCases = FIELDS.flatMap((field) =>
  WRONG_TYPES.map(([what, value]) => ({
    title: `${field} as ${what}`,
    input: { ...VALID, [field]: value } as unknown,
    message: new RegExp(`invalid run request: (.*; )?${field}: `),
  })),
);

const string = (field: string, values: [string, string][]) =>
  values.map(([what, value]) => ({
    title: `${field} ${what}`,
    input: { ...VALID, [field]: value } as unknown,
    message: new RegExp(`invalid run request: (.*; )?${field}: ${field} must be`),
  }));

const badValueCases = [
  ...string('action', [
    ['"restart" (not an action)', 'restart'],
    ['"UP" (upper case)', 'UP'],
    ['"status" (a CLI alias, not an action)', 'status'],
    ['empty', ''],
  ]).map((c) => ({ ...c, message: /action: action must be one of up, down, get_env_state/ })),
  ...string('build', [
    ['with "/"', '10/11'],
    ['".."', '..'],
    ['"../10"', '../10'],
    ['with spaces', '10 11'],
    ['of 65 characters', '1'.repeat(65)],
    ['with unicode', 'bü1ld'],
    ['empty', ''],
    ['starting with "-"', '-10'],
  ]),
  ...string('customer', [
    ['in upper case', 'Alpha'],
    ['"../"', '../'],
    ['"../alpha"', '../alpha'],
    ['empty', ''],
    ['with "/"', 'alpha/dev'],
    ['with a space', 'al pha'],
  ]),
  ...string('environment', [
    ['in upper case', 'DEV'],
    ['".."', '..'],
    ['empty', ''],
  ]),
  {
    title: 'an unknown extra field',
    input: { ...VALID, force: true } as unknown,
    message: /invalid run request: .*Unrecognized key.*"force"/,
  },
  {
    title: 'user missing',
    input: { action: 'down', customer: 'alpha', environment: 'dev', build: '20' } as unknown,
    message: /user: user is required/,
  },
  {
    title: 'user blank',
    input: { ...VALID, user: '   ' } as unknown,
    message: /user: user must not be empty/,
  },
  {
    title: 'user of 129 characters',
    input: { ...VALID, user: 'u'.repeat(129) } as unknown,
    message: /user: user must be at most 128 characters/,
  },
  {
    title: 'user with a newline',
    input: { ...VALID, user: 'jenkins\nrm -rf' } as unknown,
    message: /user: user must not contain control characters/,
  },
  // A wake (issue 19): only on an up, bounded, printable; refused before anything is read.
  ...wakeCases(),
  {
    title: 'action missing',
    input: { customer: 'alpha', environment: 'dev', build: '20', user: 'jenkins-user' } as unknown,
    message: /action: action must be one of/,
  },
];

function wakeCases() {
  const wake = { minutes: 60, source: 'http', requester: { user: 'alice' } };
  const up = (w: unknown) => ({ ...VALID, action: 'up', user: 'wake:alice', wake: w }) as unknown;
  const requester = (r: Record<string, unknown>) => up({ ...wake, requester: { user: 'alice', ...r } });
  return [
    {
      title: 'wake on a down',
      input: { ...VALID, action: 'down', wake } as unknown,
      message: /wake is for up only/,
    },
    {
      title: 'wake of 0 minutes',
      input: up({ ...wake, minutes: 0 }),
      message: /wake.minutes must be at least 1/,
    },
    {
      title: 'wake of 721 minutes',
      input: up({ ...wake, minutes: 721 }),
      message: /wake.minutes must be at most 720/,
    },
    { title: 'wake of 1.5 minutes', input: up({ ...wake, minutes: 1.5 }), message: /whole minutes/ },
    { title: 'wake from an unknown source', input: up({ ...wake, source: 'sms' }), message: /cli or http/ },
    {
      title: 'wake requester with a newline',
      input: requester({ user: 'alice\nmallory' }),
      message: /wake.requester.user must not contain control/,
    },
    {
      title: 'wake requester user agent with an escape sequence',
      input: requester({ userAgent: 'curl/8\u001b[2J' }),
      message: /wake.requester.userAgent must not contain control/,
    },
    {
      title: 'wake requester address with a bidirectional override',
      input: requester({ address: '203.0.113.9\u202e' }),
      message: /wake.requester.address must not contain control, bidirectional/,
    },
    {
      title: 'wake requester with an unknown field',
      input: requester({ admin: true }),
      message: /Unrecognized key.*"admin"/,
    },
    {
      title: 'wake on a dry run',
      input: { ...(up(wake) as object), dryRun: true } as unknown,
      message: /a wake is not a dry run/,
    },
  ];
}

const nonObjectCases: { title: string; input: unknown; message: RegExp }[] = [
  { title: 'null', input: null, message: /invalid run request: .*JSON object/ },
  { title: 'the string "down"', input: 'down', message: /invalid run request: .*JSON object/ },
  { title: 'the number 42', input: 42, message: /invalid run request: .*JSON object/ },
  { title: 'an empty array', input: [], message: /invalid run request: .*JSON object.*got an array/ },
  {
    title: 'an array holding a valid request',
    input: [VALID],
    message: /invalid run request: .*JSON object.*got an array/,
  },
  { title: 'true', input: true, message: /invalid run request: .*JSON object/ },
];

describe('raw state-machine inputs are refused before anything is read or changed', () => {
  beforeEach(async () => {
    // A world with history, so that "nothing changed" has something to compare.
    await down('10');
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 1);
    // The first down of the file also loads the engine and the definition: slow on a busy machine.
  }, 60_000);

  it.each(wrongTypeCases)('refuses $title with InvalidInput naming the field', async ({ input, message }) => {
    const run = await expectRefusal(() => runRaw(input), ['InvalidInput'], message, ExitCode.Usage);
    expect(run.path.slice(-2)).toEqual([Steps.prepare, Steps.refused]);
  });

  it.each(badValueCases)('refuses $title with InvalidInput naming the field', async ({ input, message }) => {
    const run = await expectRefusal(() => runRaw(input), ['InvalidInput'], message, ExitCode.Usage);
    expect(run.path.slice(-2)).toEqual([Steps.prepare, Steps.refused]);
  });

  it.each(nonObjectCases)('refuses the non-object input $title', async ({ input, message }) => {
    await expectRefusal(() => runRaw(input), ['InvalidInput'], message, ExitCode.Usage);
  });

  it.each([
    [{ ...VALID, customer: 'zeta' }, /environment "zeta\/dev" not found/],
    [{ ...VALID, environment: 'prod' }, /environment "alpha\/prod" not found/],
  ])('refuses the unknown environment of %j with UnknownEnvironment', async (input, message) => {
    await expectRefusal(() => runRaw(input), ['UnknownEnvironment'], message, ExitCode.Usage);
  });
});

// ---------------------------------------------------------------- state records read from S3

/** The pre-state written by `down 10`, to be spoiled one field at a time. */
const preState = () => structuredClone(w.bucket.json(PRE_STATE_10)) as Record<string, any>;
const withBackend = (patch: Record<string, unknown>) => {
  const s = preState();
  Object.assign(s.k8s_deployments['backend-deployment'], patch);
  return s;
};

const NOTHING = /[Nn]othing was changed/;

const restorePointCases: { title: string; record: () => unknown; message: RegExp }[] = [
  { title: 'is not JSON', record: () => '{"k8s_deployments": ', message: /is not valid JSON/ },
  { title: 'is {}', record: () => ({}), message: /is not a state record \(k8s_deployments: / },
  { title: 'is null', record: () => 'null', message: /is not a state record/ },
  { title: 'is an array', record: () => '[1,2]', message: /is not a state record/ },
  {
    title: 'has k8s_deployments: {}',
    record: () => ({ ...preState(), k8s_deployments: {} }),
    message: /records no deployments/,
  },
  {
    title: 'has no aws_rds',
    record: () => ({ ...preState(), aws_rds: undefined }),
    message: /is not a state record \(aws_rds: /,
  },
  ...(
    [
      ['-1', -1, /backend-deployment\.deployment_replicas: /],
      ['1.5', 1.5, /backend-deployment\.deployment_replicas: /],
      ['"2" (a string)', '2', /backend-deployment\.deployment_replicas: /],
      [
        'null on an existing deployment',
        null,
        /deployment backend-deployment has no valid replica count \(null\)/,
      ],
      ['100000 (above maxReplicas 100)', 100000, /restored to 100000 replicas, above maxReplicas 100/],
      ['2147483648', 2147483648, /restored to 2147483648 replicas, above maxReplicas 100/],
      ['101 (just above maxReplicas)', 101, /restored to 101 replicas, above maxReplicas 100/],
    ] as const
  ).map(([what, n, message]) => ({
    title: `has replicas ${what}`,
    record: () => withBackend({ deployment_replicas: n }),
    message,
  })),
  {
    title: 'names only other deployments',
    record: () => {
      const s = preState();
      s.k8s_deployments = {
        'payments-deployment': s.k8s_deployments['frontend-deployment'],
        'search-deployment': s.k8s_deployments['backend-deployment'],
      };
      return s;
    },
    message:
      /names none of the configured deployments of alpha\/dev \(it names payments-deployment, search-deployment\)/,
  },
  {
    title: 'records a deployment in another namespace',
    record: () => withBackend({ deployment_namespace: 'beta-staging' }),
    message:
      /deployment backend-deployment is recorded in namespace "beta-staging", configured in "alpha-dev"/,
  },
  {
    title: 'describes another database',
    record: () => ({ ...preState(), aws_rds: { ...preState().aws_rds, rds_identifier: 'beta-dev-rds' } }),
    message: /describes database "beta-dev-rds", but alpha\/dev uses "alpha-dev-rds"/,
  },
  {
    title: 'belongs to another build',
    record: () => ({ ...preState(), jenkins_build: '9' }),
    message: /belongs to build "9", not 10/,
  },
  {
    title: 'records 0 replicas for a deployment whose app was up',
    record: () => withBackend({ deployment_replicas: 0, deployment_available: false, app_status: 'up' }),
    message: /deployment backend-deployment is recorded as running but with 0 replicas/,
  },
  {
    title: 'records 0 replicas for a deployment that was available',
    record: () => withBackend({ deployment_replicas: 0, deployment_available: true, app_status: 'down' }),
    message: /deployment backend-deployment is recorded as running but with 0 replicas/,
  },
];

/** actions.json written by `down 10`, to be spoiled. */
const latest = () => structuredClone(w.bucket.json(ACTIONS)) as Record<string, any>;

const actionsCases: { title: string; record: () => unknown; message: RegExp }[] = [
  { title: 'is not JSON', record: () => 'desired_state: down', message: /actions\.json is not valid JSON/ },
  { title: 'is {}', record: () => ({}), message: /actions\.json" is not a valid record \(/ },
  {
    title: 'belongs to another customer',
    record: () => ({ ...latest(), customer: 'beta' }),
    message: /actions\.json" is the record of beta\/dev; it cannot be this environment's record/,
  },
  {
    title: 'belongs to another environment',
    record: () => ({ ...latest(), environment: 'staging' }),
    message: /actions\.json" is the record of alpha\/staging; it cannot be this environment's record/,
  },
  {
    title: 'has last_change.restore_point_build "../../x"',
    record: () => ({ ...latest(), last_change: { ...latest().last_change, restore_point_build: '../../x' } }),
    message: /last_change\.restore_point_build: a build id/,
  },
  {
    title: 'has last_change.restore_point_build "a/b"',
    record: () => ({ ...latest(), last_change: { ...latest().last_change, restore_point_build: 'a/b' } }),
    message: /last_change\.restore_point_build: a build id/,
  },
  {
    title: 'has desired_state "sideways"',
    record: () => ({ ...latest(), desired_state: 'sideways' }),
    message: /desired_state: /,
  },
  {
    title: 'has last_change.desired_state "sideways"',
    record: () => ({ ...latest(), last_change: { ...latest().last_change, desired_state: 'sideways' } }),
    message: /last_change\.desired_state: /,
  },
  {
    title: 'has jenkins_build "../10"',
    record: () => ({ ...latest(), jenkins_build: '../10' }),
    message: /jenkins_build: a build id/,
  },
];

describe('state records read back from S3 are checked before anything changes', () => {
  beforeEach(async () => {
    await down('10');
  });

  it('lets up through with the records as written (the control for every case below)', async () => {
    w.bucket.put(PRE_STATE_10, preState());
    w.bucket.put(ACTIONS, latest());
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it.each(restorePointCases)('refuses up when the restore point $title', async ({ record, message }) => {
    w.bucket.put(PRE_STATE_10, record());
    const run = await expectRefusal(
      () => runWorkflow(w, { action: 'up', build: '11' }),
      ['StateRecordInvalid'],
      message,
      ExitCode.Refused,
    );
    expect(run.error?.Cause).toContain(PRE_STATE_10);
    expect(run.error?.Cause).toMatch(NOTHING);
  });

  it('refuses up with RestorePointMissing when the restore point is gone', async () => {
    w.bucket.objects.delete(PRE_STATE_10);
    const run = await expectRefusal(
      () => runWorkflow(w, { action: 'up', build: '11' }),
      ['RestorePointMissing'],
      /the restore point s3:\/\/customer-infra-manager\/eks-dev-cluster\/alpha\/dev\/history\/10\/pre-state\.json \(pre-state of build 10, the last down\) is missing/,
      ExitCode.Refused,
    );
    expect(run.error?.Cause).toMatch(NOTHING);
  });

  it('refuses up with RestorePointMissing when last_change names a build without history', async () => {
    w.bucket.put(ACTIONS, {
      ...latest(),
      last_change: { ...latest().last_change, restore_point_build: '7' },
    });
    await expectRefusal(
      () => runWorkflow(w, { action: 'up', build: '11' }),
      ['RestorePointMissing'],
      /history\/7\/pre-state\.json \(pre-state of build 7, the last down\) is missing.*Nothing was changed/,
      ExitCode.Refused,
    );
  });

  it.each(actionsCases.flatMap((c) => (['up', 'down'] as const).map((action) => ({ ...c, action }))))(
    'refuses $action when actions.json $title',
    async ({ action, record, message }) => {
      // Before the down: the environment is down; a down would be refused anyway by the
      // rules, so a valid actions.json is what lets either action proceed.
      if (action === 'down')
        await runWorkflow(w, { action: 'up', build: '11' }).then((r) => {
          expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
        });
      w.bucket.put(ACTIONS, record());
      const run = await expectRefusal(
        () => runWorkflow(w, { action, build: '12' }),
        ['StateRecordInvalid'],
        message,
        ExitCode.Refused,
      );
      expect(run.error?.Cause).toContain(ACTIONS);
      expect(run.error?.Cause).toMatch(NOTHING);
    },
  );

  it('refuses a status with record: true when actions.json belongs to another environment', async () => {
    w.bucket.put(ACTIONS, { ...latest(), customer: 'beta', environment: 'staging' });
    await expectRefusal(
      () => runWorkflow(w, { action: 'get_env_state', build: '12', record: true }),
      ['StateRecordInvalid'],
      /is the record of beta\/staging.*nothing was changed/,
      ExitCode.Refused,
    );
  });
});

describe('legacy history, spoiled, is refused the same way', () => {
  beforeEach(async () => {
    // The legacy tool's records instead of a down of ours; the environment is really down.
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 0);
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 0);
    w.setDbState('stopped');
  });

  it.each([
    {
      title: 'a pre-state whose jenkins_build is a number of another build',
      pre: () => ({ ...fixtureJson('legacy-pre-state-build-10.json'), jenkins_build: 9 }),
      actions: () => fixtureJson('legacy-actions-build-10.json'),
      name: 'StateRecordInvalid',
      message: /belongs to build "9", not 10/,
    },
    {
      title: 'a latest action record of another environment',
      pre: () => fixtureJson('legacy-pre-state-build-10.json'),
      actions: () => ({ ...fixtureJson('legacy-actions-build-10.json'), environment: 'prod' }),
      name: 'StateRecordInvalid',
      message: /actions\.json" is the record of alpha\/prod/,
    },
    {
      title: 'a legacy down record without its pre-state',
      pre: () => null,
      actions: () => fixtureJson('legacy-actions-build-10.json'),
      name: 'RestorePointMissing',
      message: /history\/10\/pre-state\.json \(pre-state of build 10, the last down\) is missing/,
    },
    {
      title: 'a legacy action record whose jenkins_build is negative',
      pre: () => fixtureJson('legacy-pre-state-build-10.json'),
      actions: () => ({ ...fixtureJson('legacy-actions-build-10.json'), jenkins_build: -10 }),
      name: 'StateRecordInvalid',
      message: /jenkins_build/,
    },
  ])('refuses up over $title', async ({ pre, actions, name, message }) => {
    const p = pre();
    if (p) w.bucket.put(PRE_STATE_10, p);
    w.bucket.put(`${P}/history/10/actions.json`, fixtureJson('legacy-actions-build-10.json'));
    w.bucket.put(ACTIONS, actions());
    const run = await expectRefusal(
      () => runWorkflow(w, { action: 'up', build: '11' }),
      [name],
      message,
      ExitCode.Refused,
    );
    expect(run.error?.Cause).toMatch(NOTHING);
  });

  it('refuses up when a legacy status on top hides a history record of another environment', async () => {
    // A legacy get_env_state record has no last_change: the history is scanned for the last down.
    const status = {
      ...fixtureJson('legacy-actions-build-10.json'),
      jenkins_build: '12',
      desired_state: 'get_env_state',
    };
    w.bucket.put(PRE_STATE_10, fixtureJson('legacy-pre-state-build-10.json'));
    w.bucket.put(`${P}/history/10/actions.json`, {
      ...fixtureJson('legacy-actions-build-10.json'),
      customer: 'beta',
    });
    w.bucket.put(`${P}/history/12/actions.json`, status);
    w.bucket.put(ACTIONS, status);
    await expectRefusal(
      () => runWorkflow(w, { action: 'up', build: '13' }),
      ['StateRecordInvalid'],
      /history\/10\/actions\.json" is the record of beta\/dev.*nothing was changed/,
      ExitCode.Refused,
    );
  });
});
