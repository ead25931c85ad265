// Randomized, seeded, replayable property of down/up against the real peers (the cycle is in
// property-cycle.ts): after every up each deployment is back at the count recorded before the
// cycle's first down, even when that down was SIGKILLed at a random point; a deployment scaled
// by hand while down is left alone and reported in `skipped`. Some ups are wakes on demand, and
// some of those expire: the TTL's down, then an up that brings the counts back.
//   CIM_PROPERTY_SEED=N CIM_PROPERTY_CYCLES=M npx vitest run --project integration test/integration/property.test.ts
// Longer runs: npx tsx bench/property.ts --cycles 80 --seed N
import { beforeAll, expect, it } from 'vitest';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { sandbox } from './peers.ts';
import {
  type CycleReport,
  formatReports,
  propertyWorld,
  runCycle,
  seededRandom,
  summarize,
} from './property-cycle.ts';

const DEFAULT_SEED = 20261126;
const seed = Number(process.env.CIM_PROPERTY_SEED ?? DEFAULT_SEED);
// The default seed's first 6 cycles: 4 with a killed down, 3 whose up is a wake, 2 of those
// expiring (the TTL's down, then an up); asserted below so a change of the draws is noticed.
const cycles = Number(process.env.CIM_PROPERTY_CYCLES ?? 6);

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
    if (seed === DEFAULT_SEED && cycles === 6)
      expect(summarize(reports)).toMatchObject({ wakes: 3, ttlDowns: 2, failures: 0 });
  },
  cycles * 90_000,
);
