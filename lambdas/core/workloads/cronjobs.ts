// Owns the CronJob kind: suspended first on a down, so nothing starts against a stopping
// environment, and given its recorded suspend flag back last on an up. A down waits, up to
// jobsGraceSeconds, for the Jobs it still runs; past that they are left running and reported.
import * as z from 'zod';
import type { PlannedCronJob, TargetKind } from './kind.ts';

export interface CronJobState {
  kind: 'CronJob';
  name: string;
  namespace: string;
  exists: boolean;
  /** spec.suspend before this tool touched it (down restores exactly this on up). */
  suspend: boolean;
  schedule: string | null;
  /** Jobs running when the state was read (a down reports those still running after its grace). */
  activeJobs: number;
}

export const LegacyCronJob = z.looseObject({
  cronjob_namespace: z.string(),
  cronjob_exists: z.boolean(),
  cronjob_suspend: z.boolean(),
  cronjob_schedule: z.string().nullable().optional(),
  cronjob_active_jobs: z.number().int().min(0).optional(),
});
type Legacy = z.output<typeof LegacyCronJob>;

const planned = (c: CronJobState, suspend: boolean): PlannedCronJob => ({
  kind: 'cronjob',
  namespace: c.namespace,
  name: c.name,
  suspend,
  from: c.suspend,
});

export const cronJobs: TargetKind<CronJobState, Legacy, boolean, 'cronJobs'> = {
  sort: 'target',
  kind: 'CronJob',
  recordKey: 'k8s_cronjobs',
  legacy: LegacyCronJob,
  state: z.object({
    kind: z.literal('CronJob'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    suspend: z.boolean(),
    schedule: z.string().nullable(),
    activeJobs: z.number().int().min(0),
  }),
  toLegacy: (w) => ({
    cronjob_namespace: w.namespace,
    cronjob_exists: w.exists,
    cronjob_suspend: w.suspend,
    cronjob_schedule: w.schedule,
    cronjob_active_jobs: w.activeJobs,
  }),
  fromLegacy: (name, c) => ({
    kind: 'CronJob',
    name,
    namespace: c.cronjob_namespace,
    exists: c.cronjob_exists,
    suspend: c.cronjob_suspend,
    schedule: c.cronjob_schedule ?? null,
    activeJobs: c.cronjob_active_jobs ?? 0,
  }),
  restoreKey: 'cronJobs',
  scalable: false,
  phase: 'outer',
  namespaceOf: (c) => c.cronjob_namespace,
  async read(gw, w) {
    const c = await gw.readCronJob(w.namespace, w.name);
    return {
      kind: 'CronJob',
      name: w.name,
      namespace: w.namespace,
      exists: c.exists,
      suspend: c.suspend,
      schedule: c.schedule,
      activeJobs: c.activeJobs,
    };
  },
  restoreValue: (_name, c) => (c.cronjob_exists ? c.cronjob_suspend : undefined),
  valueOf: (c) => c.suspend,
  down: (c) => ({ to: true, apply: (gw) => gw.setCronJobSuspend(c.namespace, c.name, true) }),
  describeNow: (now) => `suspend ${now.suspend}`,
  apply: (gw, t, to) => gw.setCronJobSuspend(t.namespace, t.name, to),
  settlesOnDownOnly: true,
  async settle(gw, c, when) {
    const running = (await gw.readCronJob(c.namespace, c.name)).activeJobs;
    if (running === 0) return null;
    const what = `CronJob ${c.name} (${running} Job(s) running)`;
    return when.graceOver ? { note: `${what} left running after ${when.graceSeconds} s` } : { pending: what };
  },
  planDown: (c) => (c.exists ? planned(c, true) : undefined),
  planUp: (c, want) => (c.exists && want !== undefined ? planned(c, want) : undefined),
};
