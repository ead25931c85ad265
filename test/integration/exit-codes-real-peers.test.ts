// What `cim` tells a CI job is what happened, under the interleavings a CI job produces:
// two SIGTERMs 50 ms apart at each phase of a down, a SIGTERM after the printed result, the
// same build started twice at once (20 times), and a third signal that forces the exit. Each
// spawned run (bin/cim.mjs, --json) is checked against the table in cli/exit-codes.ts: its
// exit code, its --json fields, and the lock and records left in S3. Phases are found by
// watching the peers (S3 connections through a proxy, actions.json, the lock's step, the
// deployments), never by sleeping.
import { connect, createServer, type Socket } from 'node:net';
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RUN_OUTCOMES, type RunOutcome } from '#cli/exit-codes';
import { resetSandbox, SANDBOX_ENVIRONMENTS, waitFor } from '../../sandbox/sandbox.ts';
import {
  apps,
  cim,
  exists,
  indexRuns,
  json,
  recordKeys,
  s3,
  sandbox,
  cimProcess as startCim,
  tcpProxy,
  waitForReplicas,
} from './peers.ts';
import type { CimExit } from './property-cycle.ts';

const names = ['frontend-deployment', 'backend-deployment'];
const said = (r: CimExit) => `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function env(environment: 'term' | 'twin' | 'kill') {
  const where = ['--customer', 'trust', '--env', environment];
  const P = `${sandbox.cluster}/trust/${environment}`;
  return {
    namespace: `trust-${environment}`,
    P,
    lock: `${P}/lock.json`,
    actions: `${P}/actions.json`,
    down: (build: string) => ['down', ...where, '--build', build, '--json'],
    unlock: ['unlock', ...where],
    seeded: SANDBOX_ENVIRONMENTS[`trust/${environment}`].deployments,
  };
}
type Env = ReturnType<typeof env>;

/** The environment as if never run: no records, no lock, deployments at their seeded counts. */
async function fresh(t: Env) {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: sandbox.bucket, Prefix: `${t.P}/` }));
  const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
    Key: v.Key as string,
    VersionId: v.VersionId as string,
  }));
  if (objects.length)
    await s3.send(new DeleteObjectsCommand({ Bucket: sandbox.bucket, Delete: { Objects: objects } }));
  for (const [name, value] of Object.entries(t.seeded))
    await apps.patchNamespacedDeploymentScale({
      namespace: t.namespace,
      name,
      body: [{ op: 'replace', path: '/spec/replicas', value }],
    });
  await waitFor(
    `${t.namespace} back at ${JSON.stringify(t.seeded)}`,
    async () => {
      for (const [name, n] of Object.entries(t.seeded)) {
        const d = await apps.readNamespacedDeployment({ namespace: t.namespace, name });
        if ((d.status?.availableReplicas ?? 0) !== n || (d.status?.replicas ?? 0) !== n) return false;
      }
      return true;
    },
    90_000,
  );
}

/**
 * The run against the table: the exit code is its outcome's, the --json fields are the row's,
 * and S3 says the same: a lock object exactly when the lock was not released, and actions.json
 * naming this run's result when it recorded one.
 */
async function checkAgainstTable(t: Env, exit: CimExit, build: string, allowed: RunOutcome[]) {
  expect(exit.signal, said(exit)).toBeNull();
  const out = JSON.parse(exit.stdout);
  const outcome = out.outcome as RunOutcome;
  expect(allowed, said(exit)).toContain(outcome);
  const row = RUN_OUTCOMES[outcome];
  expect(exit.code, said(exit)).toBe(row.code);
  expect(out).toMatchObject({ exitCode: row.code, result: row.result });
  if (row.recorded !== null) expect(out.recorded).toBe(row.recorded);
  if (row.lockReleased !== null) expect(out.lockReleased).toBe(row.lockReleased);
  const lock = (await exists(t.lock)) ? await json(t.lock) : null;
  if (out.lockReleased) expect(lock?.build === build ? lock : null).toBeNull();
  else expect(lock).toMatchObject({ build });
  const latest = (await exists(t.actions)) ? await json(t.actions) : null;
  const ours = latest?.jenkins_build === build ? latest : null;
  if (outcome === 'succeeded') expect(ours).toMatchObject({ result: 'succeeded' });
  if (outcome === 'interrupted') {
    if (out.output?.recorded === 'nothing-changed') expect(ours).toBeNull();
    else expect(ours).toMatchObject({ result: 'interrupted', error: { name: 'Interrupted' } });
  }
  if (outcome === 'refused' || outcome === 'lock-lost-before-change')
    expect(ours?.result).not.toBe('running');
  return { out, outcome };
}

const started: ReturnType<typeof startCim>[] = [];
const cimProcess = (args: string[], e?: Record<string, string>) => {
  const p = startCim(args, e);
  started.push(p);
  return p;
};
afterEach(() => {
  for (const p of started.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

beforeAll(async () => {
  await resetSandbox(sandbox);
});

/** Two SIGTERMs 50 ms apart, as many CI systems send them; whether each reached a live process. */
async function twoSigterms(p: ReturnType<typeof startCim>) {
  const alive = () => p.child.exitCode === null && p.child.signalCode === null;
  const first = alive() && p.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 50));
  const second = alive() && p.child.kill('SIGTERM');
  return { first, second };
}

describe('two SIGTERMs 50 ms apart during a cim down --json', () => {
  const t = env('term');
  const phases: [
    string,
    string,
    (p: ReturnType<typeof startCim>, build: string) => Promise<void>,
    RunOutcome[],
  ][] = [
    [
      'in preflight (its first S3 request, before the lock)',
      'pre',
      async () => undefined, // the proxy watch below
      ['interrupted'],
    ],
    [
      'after the intent record',
      'intent',
      async (_p, build) =>
        waitFor(
          'the intent record',
          async () => (await jsonOrNull(t.actions))?.jenkins_build === build,
          60_000,
          5,
        ),
      ['interrupted'],
    ],
    [
      'while changing (deployments scaled to 0)',
      'changing',
      async () => waitForReplicas(t.namespace, names, 0),
      ['interrupted'],
    ],
    [
      'while recording (the lock names Record result)',
      'recording',
      async () =>
        waitFor(
          'the lock at Record result',
          async () => (await jsonOrNull(t.lock))?.step === 'Record result',
          90_000,
          5,
        ),
      ['succeeded'],
    ],
    [
      'after the result is printed',
      'after',
      async (p) => {
        await p.waitForLine(/^}$/, 120_000);
      },
      ['succeeded'],
    ],
  ];

  it.each(phases)(
    '%s: exit, --json, lock and records agree with the table',
    async (_, phase, reach, allowed) => {
      await fresh(t);
      const build = `sig-${phase}`;
      const proxy = await tcpProxy(sandbox.awsEndpoint);
      try {
        const p = cimProcess(t.down(build), { AWS_ENDPOINT_URL: proxy.url });
        if (phase === 'pre') await waitFor('cim talking to S3', async () => proxy.open > 0, 60_000, 2);
        else await reach(p, build);
        const landed = await twoSigterms(p);
        const exit = await p.exited;
        process.stdout.write(
          `[exit-codes] ${phase}: signals landed ${JSON.stringify(landed)}, exit ${exit.code ?? exit.signal}\n`,
        );
        expect(landed.first, said(exit)).toBe(true);
        const { out } = await checkAgainstTable(t, exit, build, allowed);
        // Before Record result the run is far from its end 50 ms later: the second signal is handled.
        if (landed.second && phase !== 'after' && phase !== 'recording')
          expect(exit.stderr).toMatch(/SIGTERM again: still stopping at the next safe point and recording/);
        // At Record result the run may finish inside those 50 ms: `kill` succeeds on a process that is
        // already exiting (seen in CI: no second line). Whatever it saw, the second signal is either noted
        // as such or after the result, never anything else, and the exit stays the table's (checked above).
        if (phase === 'recording') {
          const lines = exit.stderr.split('\n').filter((l) => /SIGTERM/.test(l));
          expect(lines[0], said(exit)).toMatch(/SIGTERM: stopping at the next safe point/);
          for (const l of lines.slice(1))
            expect(l, said(exit)).toMatch(
              /SIGTERM (again: still stopping at the next safe point|after the result was final: ignored)/,
            );
          expect(lines.length, said(exit)).toBeLessThanOrEqual(landed.second ? 2 : 1);
        }
        // Handled (the note) or landing while the process already exits: either way not killed.
        if (phase === 'after' && exit.stderr)
          expect(exit.stderr).toMatch(/SIGTERM after the result was final: ignored/);
        if (phase === 'pre') expect(out.output).toMatchObject({ recorded: 'nothing-changed' });
        if (phase === 'pre') {
          // Interrupted before the lock: no record; at most the run's own row in the report's index.
          expect(await recordKeys(t.P)).toEqual([]);
          expect([[], [`${build}-down`]]).toContainEqual(await indexRuns(t.P));
        }
      } finally {
        await proxy.stop();
      }
    },
  );

  it('a SIGTERM after the printed result changes nothing: exit 0, not killed (143)', async () => {
    await fresh(t);
    const build = 'sig-after-one';
    const p = cimProcess(t.down(build).filter((a) => a !== '--json'));
    await p.waitForLine(/✔ down trust\/term succeeded/, 120_000);
    const landed = p.child.exitCode === null && p.child.signalCode === null && p.child.kill('SIGTERM');
    const exit = await p.exited;
    process.stdout.write(
      `[exit-codes] one SIGTERM after the result: landed ${landed}, exit ${exit.code ?? exit.signal}\n`,
    );
    expect(exit.signal, said(exit)).toBeNull();
    expect(exit.code, said(exit)).toBe(0);
    if (landed && exit.stderr)
      expect(exit.stderr).toMatch(/SIGTERM after the result was final: ignored, exiting 0/);
    expect(await json(t.actions)).toMatchObject({ jenkins_build: build, result: 'succeeded' });
    expect(await exists(t.lock)).toBe(false);
  });
});

async function jsonOrNull(key: string) {
  try {
    return await json(key);
  } catch {
    return null;
  }
}

/**
 * A proxy to S3 that can hold every request (a hung peer): requests sent while held get no
 * answer until `resume`, so the run stays inside the Task that sent them.
 */
async function holdingProxy(target: string) {
  const { hostname, port } = new URL(target);
  let held = false;
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      if (held) waiting.push(() => upstream.write(d));
      else upstream.write(d);
    });
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hold: () => {
      held = true;
    },
    resume: () => {
      held = false;
      for (const w of waiting.splice(0)) w();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((res) => server.close(res));
    },
  };
}

describe('a third SIGTERM during a cim down', () => {
  it('exits 4 at once, says NOT recorded with the exact unlock command; that command then clears the lock', async () => {
    const t = env('kill');
    await fresh(t);
    const build = 'sig-third';
    const proxy = await holdingProxy(sandbox.awsEndpoint);
    try {
      const p = cimProcess(t.down(build), { AWS_ENDPOINT_URL: proxy.url });
      await waitFor(
        'the intent record',
        async () => (await jsonOrNull(t.actions))?.jenkins_build === build,
        60_000,
        5,
      );
      // S3 hangs: the run cannot reach its next safe point, so every signal finds it mid-Task.
      proxy.hold();
      // One at a time, each once the previous one was answered: signals sent back to back can
      // merge into one in the kernel.
      let stderr = '';
      p.child.stderr?.on('data', (chunk: string) => {
        stderr += chunk;
      });
      const answered = (what: string) =>
        waitFor(`"${what}" on stderr`, async () => stderr.includes(what), 30_000, 5);
      p.child.kill('SIGTERM');
      await answered('stopping at the next safe point');
      p.child.kill('SIGTERM');
      await answered('SIGTERM again');
      p.child.kill('SIGTERM');
      const exit = await p.exited;
      proxy.resume();
      expect(exit.code, said(exit)).toBe(4);
      const out = JSON.parse(exit.stdout);
      expect(out).toMatchObject({
        outcome: 'interrupted-not-recorded',
        exitCode: 4,
        recorded: false,
        lockReleased: false,
      });
      expect(exit.stderr).toContain('`cim unlock --customer trust --env kill`');
      // What the message warns of is what S3 says: the lock held, the intent "running".
      expect(await json(t.lock)).toMatchObject({ build });
      expect(await json(t.actions)).toMatchObject({ jenkins_build: build, result: 'running' });
      const unlocked = await cim(t.unlock);
      expect(unlocked.code, said(unlocked)).toBe(0);
      expect(await exists(t.lock)).toBe(false);
    } finally {
      proxy.resume();
      await proxy.stop();
    }
  });
});

describe('the same build started twice at once, 20 times', () => {
  it('one succeeds (0), the other is refused (2) whatever the interleaving; --json, lock and records agree', async () => {
    const t = env('twin');
    const seen: Record<string, number> = {};
    for (let i = 1; i <= 20; i++) {
      await fresh(t);
      const build = `twin-${i}`;
      const [a, b] = [cimProcess(t.down(build)), cimProcess(t.down(build))];
      const exits = await Promise.all([a.exited, b.exited]);
      const codes = exits.map((e) => e.code).sort();
      expect(codes, exits.map(said).join('\n')).toEqual([0, 2]);
      for (const exit of exits) {
        const { outcome } = await checkAgainstTable(t, exit, build, [
          'succeeded',
          'refused',
          'lock-lost-before-change',
        ]);
        seen[outcome] = (seen[outcome] ?? 0) + 1;
      }
      expect(await json(t.actions)).toMatchObject({ jenkins_build: build, result: 'succeeded' });
      expect(await exists(t.lock)).toBe(false);
      for (const name of names)
        expect((await apps.readNamespacedDeployment({ namespace: t.namespace, name })).spec?.replicas).toBe(
          0,
        );
    }
    process.stdout.write(`[exit-codes] 20 twin pairs: ${JSON.stringify(seen)}\n`);
    expect(seen.succeeded).toBe(20);
  });
});
