// Holidays in the stack: each schedule's input carries its resolved skip dates (own and
// from the shared calendars) with its time zone, so the fleet's Select step decides
// without the configuration; a schedule without any carries none.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { synthesizeStack } from '../support/synthesized.ts';

const dir = mkdtempSync(join(tmpdir(), 'cim-holidays-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('schedules with skip dates', () => {
  it('put the resolved dates and the time zone into the schedule input', () => {
    const config = parse(readFileSync('environments.yaml', 'utf8'));
    config.calendars = { 'de-holidays': ['2026-12-24', '2026-12-25'] };
    config.schedules[0].calendars = ['de-holidays'];
    config.schedules[0].skipDates = ['2026-12-31'];
    const file = join(dir, 'environments.yaml');
    writeFileSync(file, stringify(config));
    const { template } = synthesizeStack(file);
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as any[];
    const input = (name: string) =>
      JSON.parse(
        schedules.find((s) => s.Properties.Description.endsWith(`(${name})`)).Properties.Target.Input,
      );
    expect(input('weeknights-down').holidays).toEqual({
      timeZone: 'Europe/Berlin',
      dates: {
        '2026-12-24': 'calendar de-holidays',
        '2026-12-25': 'calendar de-holidays',
        '2026-12-31': 'skipDates of schedule weeknights-down',
      },
    });
    expect(input('mornings-up').holidays).toBeUndefined();
  });
});
