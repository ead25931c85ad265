// `cim up|down|status --select`: the CLI drives the fleet workflow on the local engine (real
// handlers, test world behind the AWS SDK mocks, Kubernetes through the test world's).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '#cli/exit-codes';
import { makeWorld, type World } from '../../../support/world.ts';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  kubeconfigKube: () => () => fake.kube,
}));

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});

const dir = mkdtempSync(join(tmpdir(), 'cim-fleet-cli-'));
const config = join(dir, 'fleet.yaml');
writeFileSync(
  config,
  `defaults:
  cluster: eks-dev-cluster
  region: us-east-1
  bucket: customer-infra-manager
  deployments: [{ name: web }]
  labels: { tier: dev }
environments:
  f1/dev: {}
  f2/dev: {}
  f3/dev: {}
  f4/prod: { labels: { tier: prod } }
`,
);

let w: World;
beforeEach(() => {
  w = makeWorld({ perDatabase: true });
  for (const ns of ['f1-dev', 'f2-dev', 'f3-dev', 'f4-prod']) w.kube.add(ns, 'web', 3);
  fake.kube = w.kube;
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

async function cim(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  const code = await main([...argv, '--config', config, '--user', 'ci'], {});
  vi.restoreAllMocks();
  return { code, out: out.join(''), err: err.join('') };
}

describe('cim --select', () => {
  it('takes a label selection down and up, one run per environment, and says how each went', async () => {
    const down = await cim('down', '--select', 'tier=dev', '--build', '7', '--max-concurrency', '2');
    expect(down.code, down.err + down.out).toBe(ExitCode.Done);
    expect(down.out).toMatch(/✔ f1\/dev down succeeded/);
    expect(down.out).toMatch(/fleet down tier=dev \(build 7\): 3 succeeded, 0 skipped, 0 refused, 0 failed/);
    for (const ns of ['f1-dev', 'f2-dev', 'f3-dev']) expect(w.kube.replicas(ns, 'web')).toBe(0);
    expect(w.kube.replicas('f4-prod', 'web')).toBe(3);

    const status = await cim('status', '--select', '*/dev', '--json');
    expect(status.code).toBe(ExitCode.Done);
    const rows = JSON.parse(status.out).environments;
    expect(rows.map((r: { environment: string; state: string }) => [r.environment, r.state])).toEqual([
      ['f1/dev', 'down'],
      ['f2/dev', 'down'],
      ['f3/dev', 'down'],
    ]);
    expect(rows[0].deployments).toEqual([{ name: 'web', now: 0, recorded: 3, exists: true }]);

    const again = await cim('down', '--all', '--build', '8', '--json');
    const s = JSON.parse(again.out);
    expect(again.code).toBe(ExitCode.Done); // three already down (skipped), f4 taken down
    expect(s.summary.counts).toEqual({ succeeded: 1, skipped: 3, refused: 0, failed: 0 });

    const up = await cim('up', '--select', '*/dev', '--build', '9');
    expect(up.code, up.out).toBe(ExitCode.Done);
    for (const ns of ['f1-dev', 'f2-dev', 'f3-dev']) expect(w.kube.replicas(ns, 'web')).toBe(3);
  });

  it.each([
    [['down', '--select', 'zz/dev'], /not found/],
    [['down', '--select', 'tier in (dev'], /selector|\(/],
    [
      ['down', '--select', '*/dev', '--max-concurrency', '0'],
      /--max-concurrency must be an integer from 1 to 10000,/,
    ],
    [
      ['down', '--select', '*/dev', '--max-concurrency', '10001'],
      /--max-concurrency must be an integer from 1 to 10000, got "10001"/,
    ],
    [['down', '--select', '*/dev', '--customer', 'f1'], /leave out --customer/],
    [['down', '--select', '*/dev', '--all'], /not both/],
  ])('refuses %j with exit 64 before anything runs', async (argv, message) => {
    const r = await cim(...argv);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.err).toMatch(message);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
  });
});
