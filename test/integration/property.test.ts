// Randomized, seeded, replayable property of down/up against the real peers (the cycle is in
// property-cycle.ts): after every up each deployment is back at the count recorded before the
// cycle's first down, even when that down was SIGKILLed at a random point; a deployment scaled
// by hand while down is left alone and reported in `skipped`.
//   CIM_PROPERTY_SEED=N CIM_PROPERTY_CYCLES=M npx vitest run --project integration test/integration/property.test.ts
// Longer runs: npx tsx bench/property.ts --cycles 80 --seed N
import { beforeAll, expect, it } from 'vitest';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { sandbox } from './peers.ts';
import { type CycleReport, formatReports, propertyWorld, runCycle, seededRandom } from './property-cycle.ts';

const DEFAULT_SEED = 20261126;
const seed = Number(process.env.CIM_PROPERTY_SEED ?? DEFAULT_SEED);
const cycles = Number(process.env.CIM_PROPERTY_CYCLES ?? 3);

beforeAll(async () => {
  await resetSandbox(sandbox);
});

it(
  `after every up each deployment is at its recorded count or its drift, reported (seed ${seed}, ${cycles} cycles)`,
  async () => {
    expect(Number.isInteger(seed) && Number.isInteger(cycles) && cycles > 0).toBe(true);
    process.stdout.write(
      `[property] seed ${seed}, ${cycles} cycles (replay: CIM_PROPERTY_SEED=${seed} CIM_PROPERTY_CYCLES=${cycles})\n`,
    );
    const world = propertyWorld(sandbox);
    const random = seededRandom(seed);
    const reports: CycleReport[] = [];
    for (let i = 1; i <= cycles; i++) {
      const report = await runCycle(world, random, i);
      reports.push(report);
      if (report.violations.length) break;
    }
    process.stdout.write(`[property]\n${formatReports(reports, seed)}`);
    expect(reports.flatMap((c) => c.violations.map((v) => `seed ${seed} cycle ${c.cycle}: ${v}`))).toEqual(
      [],
    );
    expect(reports).toHaveLength(cycles);
  },
  cycles * 90_000,
);
