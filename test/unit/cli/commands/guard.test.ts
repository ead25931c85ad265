// `cim guard`: the seven-day guard's sweep from the CLI. --dry-run says per environment what
// the guard would do (stop the database of a parked one AWS restarted; skip one that is up,
// on hold, locked or already stopped) and changes nothing: no S3 write, no RDS call but
// Describe. Without it, the guard's own definition runs on the local engine over the
// selection, with the real handlers, and stops and records what it must.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardWith } from '#cli/commands/guard';
import { ExitCode } from '#cli/exit-codes';
import { resolveEnvironment } from '#core/config/catalog';
import { placeHold } from '#core/records/hold';
import { capture } from '../../../support/capture.ts';
import { runWorkflow, warmUp } from '../../../support/run-workflow.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  warmUp();
}, 180_000);

let w: World;
beforeEach(() => {
  w = makeWorld({ perDatabase: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

const cim = (...argv: string[]) => main([...argv, ...CONFIG], {});
const env = (c: string, e: string) => resolveEnvironment(w.deps.config, c, e, 'test');

/** Down (recorded), then AWS starts the database again by itself. */
async function parkedAndRestarted(customer: string, environment: string, build: string, db: string) {
  const down = await runWorkflow(w, { action: 'down', customer, environment, build } as never);
  expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
  expect(w.dbStateOf(db)).toBe('stopped');
  w.setDbStateOf(db, 'available');
}

const rdsCommands = () => w.rds.calls().map((c) => c.args[0].constructor.name);

describe('cim guard --dry-run', () => {
  it('says it would stop a restarted parked database, and skips one that is up or locked; changes nothing', async () => {
    await parkedAndRestarted('alpha', 'dev', '10', 'alpha-dev-rds');
    await parkedAndRestarted('beta', 'staging', '11', 'beta-staging-aurora');
    // A run of someone else holds beta/staging's lock.
    w.bucket.put('eks-dev-cluster/beta/staging/lock.json', {
      owner: 'exec-x',
      build: '12',
      execution_id: 'exec-x',
      action: 'up',
      user: 'jenkins',
      acquired_at: '2026-11-26T20:00:00Z',
      expires_at: '2099-01-01T00:00:00Z',
    });
    const writes = w.bucket.writes.length;
    w.rds.resetHistory();
    const io = capture();
    expect(await cim('guard', '--all', '--dry-run')).toBe(ExitCode.Done);
    expect(io.out()).toContain(
      "dry run: would stop the database of alpha/dev: asleep since build 10, RDS instance 'alpha-dev-rds' is available",
    );
    expect(io.out()).toContain('dry run: skip beta/staging (locked): locked by up build 12 by jenkins');
    expect(io.out()).toContain('dry run: skip gamma/dev (up): not parked: the last change is none');
    expect(io.out()).toContain('1 of 3 database(s) would be stopped. Nothing was changed.');
    expect(w.bucket.writes.length).toBe(writes);
    expect(rdsCommands().length).toBeGreaterThan(0);
    expect(rdsCommands().every((name) => name.startsWith('Describe'))).toBe(true);
    expect(w.dbStateOf('alpha-dev-rds')).toBe('available');
  });

  it('skips an environment on hold and one whose database is stopped, for --select only', async () => {
    await parkedAndRestarted('alpha', 'dev', '10', 'alpha-dev-rds');
    const down = await runWorkflow(w, {
      action: 'down',
      customer: 'beta',
      environment: 'staging',
      build: '11',
    } as never);
    expect(down.status).toBe('SUCCEEDED');
    const now = new Date();
    await placeHold(w.deps.store(env('alpha', 'dev')), env('alpha', 'dev'), {
      user: 'alice',
      reason: 'db migration',
      created: now.toISOString(),
      until: new Date(now.getTime() + 3600_000).toISOString(),
      skipNext: null,
    });
    const writes = w.bucket.writes.length;
    const io = capture();
    expect(await cim('guard', '--select', 'alpha/dev,beta/staging', '--dry-run', '--json')).toBe(
      ExitCode.Done,
    );
    const out = JSON.parse(io.out().slice(io.out().indexOf('{')));
    expect(out).toEqual({
      dryRun: true,
      environments: [
        expect.objectContaining({ environment: 'alpha/dev', would: 'skip', skip: 'on-hold' }),
        expect.objectContaining({ environment: 'beta/staging', would: 'skip', skip: 'stopped' }),
      ],
    });
    expect(out.environments[0].why).toContain('by alice (db migration)');
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('refuses --select with --all, and an unknown environment, with exit 64', async () => {
    const io = capture();
    expect(await cim('guard', '--all', '--select', 'alpha/dev')).toBe(ExitCode.Usage);
    expect(io.err()).toContain('guard takes --select or --all, not both');
    expect(await cim('guard', '--select', 'zeta/dev', '--dry-run')).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/zeta\/dev/);
    expect(await cim('guard', '--customer', 'alpha')).toBe(ExitCode.Usage);
    expect(w.bucket.writes).toEqual([]);
  });
});

describe('cim guard', () => {
  it('runs the guard over the selection on the local engine: stops and records the restarted database, leaves the rest', async () => {
    await parkedAndRestarted('alpha', 'dev', '10', 'alpha-dev-rds');
    await parkedAndRestarted('beta', 'staging', '11', 'beta-staging-aurora');
    const io = capture();
    const inv = {
      command: 'guard' as const,
      configPath: 'test/fixtures/environments.yaml',
      json: false,
      select: 'alpha/dev,gamma/dev',
      dryRun: false,
      user: 'carol',
    };
    expect(await guardWith(inv, w.deps, { waitMs: 0 })).toBe(ExitCode.Done);
    expect(w.dbStateOf('alpha-dev-rds')).toBe('stopped');
    // Not selected: left as AWS restarted it.
    expect(w.dbStateOf('beta-staging-aurora')).toBe('available');
    const records = w.bucket.keys().filter((k) => k.endsWith('/keep-stopped.json'));
    expect(records).toEqual([expect.stringMatching(/^eks-dev-cluster\/alpha\/dev\/history\/guard-/)]);
    expect(w.bucket.json(records[0] as string)).toMatchObject({
      result: 'succeeded',
      kept_down_since_build: '10',
      jenkins_user: 'guard:sweep',
    });
    expect(io.out()).toMatch(/alpha\/dev\tstopped its database again; recorded in s3:\/\//);
    expect(io.out()).toContain('gamma/dev\tleft alone: not parked');
    expect(io.out()).toContain('guard: 2 environment(s) looked at, 1 database(s) stopped again, 0 failed');
  });

  it('exits 1 and names the environment when a database cannot be stopped, its failure recorded', async () => {
    await parkedAndRestarted('alpha', 'dev', '10', 'alpha-dev-rds');
    w.setDbStateOf('alpha-dev-rds', 'incompatible-network');
    const io = capture();
    const inv = {
      command: 'guard' as const,
      configPath: 'test/fixtures/environments.yaml',
      json: false,
      select: 'alpha/dev',
      dryRun: false,
      user: 'carol',
    };
    expect(await guardWith(inv, w.deps, { waitMs: 0 })).toBe(ExitCode.Failed);
    expect(io.err()).toMatch(
      /GuardHadFailures: .*the guard could not keep 1 database\(s\) stopped: alpha\/dev .*incompatible-network/,
    );
    const records = w.bucket.keys().filter((k) => k.endsWith('/keep-stopped.json'));
    expect(records.map((k) => (w.bucket.json(k) as { result: string }).result)).toEqual(['failed']);
    expect(w.bucket.objects.has('eks-dev-cluster/alpha/dev/lock.json')).toBe(false);
  });
});
