// What an operator can trust when a `cim` run goes wrong, against the real peers: a run
// SIGKILLed or SIGTERMed half-way, S3 going away mid-run, two runs of the same build, and
// many status commands while a down holds the lock. Each scenario has its own environment
// (trust/* in sandbox/sandbox.ts) and runs the CLI as a CI job would: bin/cim.mjs in a
// child process with the sandbox's exports.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetSandbox, SANDBOX_ENVIRONMENTS } from '../../sandbox/sandbox.ts';
import {
  apps,
  cim,
  exists,
  indexRuns,
  json,
  recordKeys,
  replicas,
  sandbox,
  cimProcess as startCim,
  tcpProxy,
  versions,
  waitForReplicas,
} from './peers.ts';
import type { CimExit } from './property-cycle.ts';

const names = ['frontend-deployment', 'backend-deployment'];
const seeded = (key: keyof typeof SANDBOX_ENVIRONMENTS) => SANDBOX_ENVIRONMENTS[key].deployments;

function trust(environment: 'kill' | 'term' | 's3' | 'twin' | 'watch') {
  const where = ['--customer', 'trust', '--env', environment];
  const P = `${sandbox.cluster}/trust/${environment}`;
  return {
    namespace: `trust-${environment}`,
    P,
    lock: `${P}/lock.json`,
    down: (build: string) => ['down', ...where, '--build', build],
    up: (build: string) => ['up', ...where, '--build', build],
    unlock: ['unlock', ...where],
    status: ['status', ...where, '--json'],
    records: (...builds: string[]) =>
      [
        `${P}/actions.json`,
        ...builds.flatMap((b) =>
          ['actions', 'post-state', 'pre-state'].map((f) => `${P}/history/${b}/${f}.json`),
        ),
      ].sort(),
  };
}

const said = (r: CimExit) => `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const lastLine = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .at(-1) ?? '';

async function countsOf(namespace: string) {
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await replicas(namespace, n)])));
}

beforeAll(async () => {
  await resetSandbox(sandbox);
});

// A failed assertion must not leave a stopped or running cim behind.
const started: ReturnType<typeof startCim>[] = [];
const cimProcess = (args: string[], env?: Record<string, string>) => {
  const p = startCim(args, env);
  started.push(p);
  return p;
};
afterEach(() => {
  for (const p of started.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
});

describe('a cim down killed with SIGKILL once its deployments are at 0', () => {
  it('unlock is refused while the holder lives, clears it once dead; down then up bring back 1 and 2', async () => {
    const t = trust('kill');
    const down = cimProcess(t.down('1'));
    await waitForReplicas(t.namespace, names, 0);
    // Frozen, not dead: the lock's holder still exists on this host.
    down.child.kill('SIGSTOP');
    const alive = await cim(t.unlock);
    expect(alive.code, said(alive)).toBe(2);
    expect(alive.stderr).toMatch(/refused to unlock trust\/kill: it is held by down build 1 /);
    expect(alive.stderr).toContain(`pid ${down.pid}`);
    expect(alive.stderr).toContain(`process ${down.pid} on `);
    expect(await exists(t.lock)).toBe(true);

    down.child.kill('SIGKILL');
    expect((await down.exited).signal).toBe('SIGKILL');
    expect(await json(`${t.P}/actions.json`)).toMatchObject({
      desired_state: 'down',
      jenkins_build: '1',
      result: 'running',
      last_change: { desired_state: 'down', jenkins_build: '1', result: 'running', restore_point_build: '1' },
    });
    // What the operator sees first: the next down is refused and says how to unlock.
    const blocked = await cim(t.down('2'));
    expect(blocked.code, said(blocked)).toBe(2);
    expect(blocked.stdout + blocked.stderr).toContain('cim unlock --customer trust --env kill');

    const unlocked = await cim(t.unlock);
    expect(unlocked.code, said(unlocked)).toBe(0);
    expect(unlocked.stdout).toMatch(
      new RegExp(
        `cleared the lock of trust/kill: it was held by down build 1 .*process ${down.pid} on \\S+ is gone`,
      ),
    );
    expect(await exists(t.lock)).toBe(false);

    const again = await cim(t.down('2'));
    expect(again.code, said(again)).toBe(0);
    const up = await cim(t.up('3'));
    expect(up.code, said(up)).toBe(0);

    expect(await countsOf(t.namespace)).toEqual(seeded('trust/kill'));
    expect(await json(`${t.P}/actions.json`)).toMatchObject({
      desired_state: 'up',
      jenkins_build: '3',
      result: 'succeeded',
      restored_from_build: '1',
    });
    expect(await recordKeys(t.P)).toEqual([...t.records('2', '3'), `${t.P}/history/1/pre-state.json`].sort());
    expect(await indexRuns(t.P)).toEqual(['2-down', '3-up']);
    expect(await json(`${t.P}/history/2/actions.json`)).toMatchObject({
      result: 'succeeded',
      last_change: { restore_point_build: '1' },
    });
    expect(await exists(t.lock)).toBe(false);
  });
});

describe('a cim down sent SIGTERM mid-run', () => {
  it('exits 130, records the run as interrupted with its restore point and releases the lock', async () => {
    const t = trust('term');
    const down = cimProcess(t.down('1'));
    await waitForReplicas(t.namespace, names, 0);
    down.child.kill('SIGTERM');
    const exit = await down.exited;
    expect(exit.code, said(exit)).toBe(130);
    expect(exit.stdout).toContain('recorded as interrupted');
    const record = await json(`${t.P}/actions.json`);
    expect(record).toMatchObject({
      desired_state: 'down',
      jenkins_build: '1',
      result: 'interrupted',
      error: { name: 'Interrupted' },
      last_change: { desired_state: 'down', jenkins_build: '1', restore_point_build: '1' },
    });
    expect(await json(`${t.P}/history/1/actions.json`)).toMatchObject({ result: 'interrupted' });
    expect(await exists(t.lock)).toBe(false);

    const again = await cim(t.down('2'));
    expect(again.code, said(again)).toBe(0);
    const up = await cim(t.up('3'));
    expect(up.code, said(up)).toBe(0);
    expect(await countsOf(t.namespace)).toEqual(seeded('trust/term'));
    expect(await json(`${t.P}/actions.json`)).toMatchObject({
      result: 'succeeded',
      restored_from_build: '1',
    });
    expect(await exists(t.lock)).toBe(false);
  });
});

describe('S3 unreachable in the middle of a cim down', () => {
  it('ends failed and says when the failure could not be recorded; once S3 is back, unlock, down, up restore', async () => {
    const t = trust('s3');
    const proxy = await tcpProxy(sandbox.awsEndpoint);
    try {
      const down = cimProcess(t.down('1'), { AWS_ENDPOINT_URL: proxy.url });
      await waitForReplicas(t.namespace, names, 0);
      await proxy.stop();
      const exit = await down.exited;
      process.stdout.write(
        `[trust] S3 cut off: exit ${exit.code} after ${((exit.endedAt - exit.startedAt) / 1000).toFixed(1)} s, last line: ${lastLine(exit.stdout)}\n--- stderr\n${exit.stderr}\n`,
      );
      expect([1, 3], said(exit)).toContain(exit.code);
      if (exit.code === 3) expect(lastLine(exit.stdout)).toMatch(/could NOT be recorded/);
      await proxy.start();

      // The intent written before the first change keeps the restore point.
      expect(await json(`${t.P}/actions.json`)).toMatchObject({
        jenkins_build: '1',
        last_change: { restore_point_build: '1' },
      });
      const unlocked = await cim(t.unlock, { AWS_ENDPOINT_URL: proxy.url });
      expect(unlocked.code, said(unlocked)).toBe(0);
      if (exit.code === 3) expect(unlocked.stdout).toMatch(/cleared the lock of trust\/s3/);
      const again = await cim(t.down('2'), { AWS_ENDPOINT_URL: proxy.url });
      expect(again.code, said(again)).toBe(0);
      const up = await cim(t.up('3'), { AWS_ENDPOINT_URL: proxy.url });
      expect(up.code, said(up)).toBe(0);
      expect(await countsOf(t.namespace)).toEqual(seeded('trust/s3'));
      expect(await json(`${t.P}/actions.json`)).toMatchObject({
        result: 'succeeded',
        restored_from_build: '1',
      });
      expect(await exists(t.lock)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});

describe('two cim down --build 77 at the same time', () => {
  it('one runs (exit 0), the other is refused (exit 2) naming the holder or the build; scaled and recorded once', async () => {
    const t = trust('twin');
    const generation = async () =>
      Promise.all(
        names.map(
          async (name) =>
            (await apps.readNamespacedDeployment({ namespace: t.namespace, name })).metadata?.generation ?? 0,
        ),
      );
    const before = await generation();
    const results = await Promise.all([cim(t.down('77')), cim(t.down('77'))]);
    expect(results.map((r) => r.code).sort(), results.map(said).join('\n')).toEqual([0, 2]);
    const loser = results.find((r) => r.code === 2) as CimExit;
    // Which refusal depends on where the second run was when the first took the lock: the
    // lock held, the build already recorded, or (the second still in Prepare while the first
    // recorded its result) actions.json changed under it: each refused with nothing changed.
    const message = loser.stdout + loser.stderr;
    expect(message).toMatch(
      /locked by down build 77 |build "77" already has records|changed while this run prepared \(another run recorded a result\); nothing was changed/,
    );
    process.stdout.write(
      `[trust] twin builds: the second was refused: ${lastLine(loser.stdout.split('\n  Nothing')[0] ?? '')}\n`,
    );

    expect(await countsOf(t.namespace)).toEqual({ 'frontend-deployment': 0, 'backend-deployment': 0 });
    // One scale call per deployment: the spec changed once.
    expect(await generation()).toEqual(before.map((g) => g + 1));
    expect(await recordKeys(t.P)).toEqual(t.records('77'));
    expect(await indexRuns(t.P)).toEqual(['77-down']);
    const written = (await versions(t.P)).filter(
      (v) => !v.key.endsWith('/lock.json') && !v.key.includes('/index/'),
    );
    const count = (key: string) => written.filter((v) => v.key === key).length;
    for (const f of ['pre-state', 'post-state', 'actions'])
      expect(count(`${t.P}/history/77/${f}.json`)).toBe(1);
    // The intent, then the result: nothing from the refused run.
    expect(count(`${t.P}/actions.json`)).toBe(2);
    expect(written).toHaveLength(5);
    expect(await exists(t.lock)).toBe(false);
  });
});

describe('20 cim status --json while a cim down runs', () => {
  it('all exit 0, write nothing, and those that read while the down held the lock report it in progress', async () => {
    const t = trust('watch');
    const down = cimProcess(t.down('1'));
    // Watch the lock from here: between two looks that both found it, it was held throughout.
    const looks: { sentAt: number; answeredAt: number; present: boolean }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const sentAt = Date.now();
        const present = await exists(t.lock);
        looks.push({ sentAt, answeredAt: Date.now(), present });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Twenty node processes need about a minute to start on two cores, far longer than a down
    // takes here. So the down is held (SIGSTOP) in its first Wait, where nothing is in flight
    // (held inside a Task, the engine's task timeout would fail it). Without a Wait (its pods
    // were gone at the first check) it is not held, and only the statuses that happened to
    // read during the run are checked for it.
    const inWait = await down.waitForLine(/Check deployments stopped: .*next check in/, 60_000).then(
      () => true,
      () => false,
    );
    if (inWait) down.child.kill('SIGSTOP');
    const statuses = Array.from({ length: 20 }, () => cimProcess(t.status));
    const exits = await Promise.all(statuses.map((s) => s.exited));
    if (inWait) {
      expect(await exists(t.lock)).toBe(true);
      down.child.kill('SIGCONT');
    }
    const downExit = await down.exited;
    watching = false;
    await watcher;
    expect(downExit.code, said(downExit)).toBe(0);

    for (const e of exits) expect(e.code, said(e)).toBe(0);
    const outputs = exits.map((e) => JSON.parse(e.stdout));
    for (const o of outputs) {
      expect(o).toMatchObject({
        result: 'succeeded',
        output: { action: 'get_env_state', records: [], lock: 'none' },
      });
    }
    // Nothing but what the down alone writes: its records, the intent then the result.
    expect(await recordKeys(t.P)).toEqual(t.records('1'));
    expect(await indexRuns(t.P)).toEqual(['1-down']);
    const written = (await versions(t.P)).filter(
      (v) => !v.key.endsWith('/lock.json') && !v.key.includes('/index/'),
    );
    expect(written.map((v) => v.key).sort()).toEqual([`${t.P}/actions.json`, ...t.records('1')].sort());
    expect(written.every((v) => !v.deleteMarker)).toBe(true);

    const present = looks.filter((l) => l.present);
    const heldFrom = present[0]?.answeredAt ?? Number.POSITIVE_INFINITY;
    const heldTo = present.at(-1)?.sentAt ?? 0;
    const during = outputs.filter((_, i) => {
      const e = exits[i] as CimExit;
      return e.startedAt >= heldFrom && e.endedAt <= heldTo;
    });
    process.stdout.write(
      `[trust] down ${inWait ? 'held in its Wait' : 'not held (no Wait)'}; ${during.length} of 20 status commands ran while it held the lock, ${outputs.filter((o) => o.output.inProgress).length} reported it\n`,
    );
    if (inWait) expect(during).toHaveLength(20);
    for (const o of during) expect(o.output.inProgress).toMatchObject({ action: 'down', build: '1' });
    expect(await exists(t.lock)).toBe(false);
  });
});
