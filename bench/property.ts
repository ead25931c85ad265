// The randomized down/up property (test/integration/property-cycle.ts) for many cycles:
//   npx tsx bench/property.ts --cycles 80 --seed 7
// Starts its own sandbox of real peers, prints one line per cycle and a summary table
// (cycles, kills, drifts, wakes, TTL downs, restored deployments, failures), exits 1 on the
// first violation.
import { parseArgs } from 'node:util';
import { startSandbox } from '../sandbox/sandbox.ts';
import {
  type CycleReport,
  formatReports,
  propertyWorld,
  runCycle,
  seededRandom,
} from '../test/integration/property-cycle.ts';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '80' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});
const cycles = Number(values.cycles);
const seed = Number(values.seed);
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npx tsx bench/property.ts [--cycles N] [--seed N]\n');
  process.exit(64);
}

const sandbox = await startSandbox();
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await sandbox.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(130));
process.on('SIGTERM', () => void stop(130));

process.stdout.write(
  `property: seed ${seed}, ${cycles} cycles (replay: --seed ${seed} --cycles ${cycles})\n`,
);
const t0 = Date.now();
const reports: CycleReport[] = [];
let code = 0;
try {
  const world = propertyWorld(sandbox.info);
  const random = seededRandom(seed);
  for (let i = 1; i <= cycles; i++) {
    const report = await runCycle(world, random, i);
    reports.push(report);
    const k = report.kill;
    process.stdout.write(
      `cycle ${i}/${cycles} ${report.seconds.toFixed(1)} s: ${k ? (k.landed ? `killed after "${k.lastLine}"` : 'kill missed') : 'no kill'}${report.effectiveDrift ? ', drift' : ''} -> ${report.violations.join('; ') || 'ok'}\n`,
    );
    if (report.violations.length) {
      code = 1;
      break;
    }
  }
} catch (err) {
  process.stderr.write(`property: ${(err as Error).stack}\n`);
  code = 2;
}
process.stdout.write(`\n${formatReports(reports, seed)}\n${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
if (code === 1) process.stdout.write(`VIOLATION: replay with --seed ${seed} --cycles ${reports.length}\n`);
await stop(code);
