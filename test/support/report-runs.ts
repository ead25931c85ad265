// Real runs for the report's tests (issue 18): a scheduled down, a person's up 10 hours
// later, a second up refused, and another scheduled down 12 hours after that, each run on the
// local engine against the test world, so the index rows and records are the ones a run
// writes. Returns what the test knows from its own actions, to compare the report with.
import { resolveEnvironment } from '#core/config/catalog';
import type { Environment } from '#core/config/schema';
import { buildReport } from '#core/report/build';
import type { ReportModel } from '#core/report/model';
import { reportPrices } from '#core/report/prices';
import { runWorkflow } from './run-workflow.ts';
import type { World } from './world.ts';

export const SLEEP_HOURS = 10;
export const AWAKE_HOURS = 12;
/** How long after the last down ends the report is made. */
export const REPORT_AFTER_HOURS = 3;

export interface ReportRuns {
  env: Environment;
  statuses: string[];
  /** Hours asleep in the report's range, from the test's own clock moves. */
  expectedHoursAsleep: number;
  model: ReportModel;
}

export async function reportFromRealRuns(w: World): Promise<ReportRuns> {
  const env = resolveEnvironment(w.config, 'alpha', 'dev', 'test/fixtures/environments.yaml');
  const statuses: string[] = [];
  statuses.push((await runWorkflow(w, { action: 'down', build: 'r1', user: 'schedule:nightly' })).status);
  w.clock.advance(SLEEP_HOURS * 3600);
  statuses.push((await runWorkflow(w, { action: 'up', build: 'r2', user: 'alice' })).status);
  statuses.push((await runWorkflow(w, { action: 'up', build: 'r3', user: 'alice' })).status);
  w.clock.advance(AWAKE_HOURS * 3600);
  statuses.push((await runWorkflow(w, { action: 'down', build: 'r4', user: 'schedule:nightly' })).status);
  w.clock.advance(REPORT_AFTER_HOURS * 3600);
  const model = await buildReport({
    environments: [{ env, store: w.deps.store(env) }],
    days: 7,
    now: w.clock.now(),
    prices: reportPrices(),
  });
  return { env, statuses, expectedHoursAsleep: SLEEP_HOURS + REPORT_AFTER_HOURS, model };
}
