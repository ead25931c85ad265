// `npm run demo`: the legacy README's scenario on the sandbox, through the real CLI.
// Starts the real peers, runs `cim down`, `cim status` and `cim up` for alpha/dev as a
// Jenkins job would (builds 10, 11, 12), writes the fleet report of those runs (cim report)
// and prints where it is, then stops everything. Exits non-zero if any
// step does not end as expected.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from './sandbox.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sb = await startSandbox();
let failed = false;
try {
  const steps: [string, string[], string?][] = [
    ['down: scale alpha/dev to 0 and stop alpha-dev-rds', ['down', '--build', '10']],
    ['status: report without changing anything (read-only: no lock, no record)', ['status', '--build', '11']],
    ['up: start the database, restore 1 and 2 replicas, wait for health', ['up', '--build', '12']],
    ['up again: refused, nothing changes (exit code 2)', ['up', '--build', '13']],
    [
      'omega/dev, a whole environment: suspend CronJobs, pause KEDA, deployments then the StatefulSet to 0, stop the database, node group to 0',
      ['down', '--build', '20'],
      'omega',
    ],
    [
      'omega/dev up: node group back and its nodes Ready, database, KEDA annotations back, StatefulSet ready, deployments, HPA active, health, CronJobs resumed',
      ['up', '--build', '21'],
      'omega',
    ],
  ];
  for (const [title, args, customer = 'alpha'] of steps) {
    process.stdout.write(
      `\n\u001b[1m### ${title}\u001b[0m\n$ cim ${args.join(' ')} --customer ${customer} --env dev --user jenkins-user\n`,
    );
    // Not spawnSync: the sandbox's health endpoints answer from this process's event loop.
    const child = spawn(
      process.execPath,
      [
        resolve(root, 'bin/cim.mjs'),
        ...args,
        '--customer',
        customer,
        '--env',
        'dev',
        '--user',
        'jenkins-user',
      ],
      {
        stdio: 'inherit',
        env: { ...process.env, ...sb.env },
      },
    );
    const r = { status: await new Promise<number | null>((res) => child.once('exit', res)) };
    const expected = args[0] === 'up' && args[2] === '13' ? 2 : 0;
    if (r.status !== expected) {
      process.stderr.write(`demo: "cim ${args.join(' ')}" exited ${r.status}, expected ${expected}\n`);
      failed = true;
      break;
    }
  }
  if (!failed) {
    // The report of the demo's own runs (issue 18), from the index rows they wrote.
    const out = resolve(root, '.cache', 'demo-report');
    const args = ['report', '--select', 'alpha/dev,omega/dev', '--days', '1', '--out', out];
    process.stdout.write(
      `\n\u001b[1m### report: the fleet report of these runs\u001b[0m\n$ cim ${args.join(' ')}\n`,
    );
    const child = spawn(process.execPath, [resolve(root, 'bin/cim.mjs'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, ...sb.env },
    });
    const status = await new Promise<number | null>((res) => child.once('exit', res));
    if (status !== 0) {
      process.stderr.write(`demo: "cim ${args.join(' ')}" exited ${status}, expected 0\n`);
      failed = true;
    } else process.stdout.write(`\nthe report: ${resolve(out, 'index.html')}\n`);
  }
} finally {
  await sb.stop();
}
process.stdout.write(failed ? '\ndemo failed\n' : '\ndemo finished: the sandbox is stopped and removed\n');
process.exitCode = failed ? 1 : 0;
