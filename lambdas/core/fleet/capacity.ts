// Owns the fleet's capacity model (issue 15, "nights that end on time"): how many environments
// a fleet runs at once, how fast it starts them, how long it should take, and how long its
// execution may last. The binding limit is the account's RDS API budget (a token bucket of
// 300 requests burst, 12 per second sustained, shared by every caller in the account), not
// Step Functions: a Distributed Map runs up to 10,000 child executions at once, an inline Map
// 40. One environment run makes a handful of RDS requests (counted below from the environment
// definition, and checked against a real run in test/workflow/fleet-capacity.test.ts) spread
// over minutes of waiting, so the fleet can run hundreds at once if it starts them at the
// pace the budget refills rather than all in the same second.
import { MAX_DISTRIBUTED_MAP_CONCURRENCY, MAX_INLINE_MAP_CONCURRENCY } from '../aws-limits.ts';
import type { Environment } from '../config/schema.ts';
import { nextWaitSeconds } from '../waits.ts';

/** The account's RDS API budget and the share of it a fleet may use (the guard, the console and other tools use the rest). */
export interface RdsBudget {
  requestsPerSecond: number;
  burst: number;
  share: number;
}

/** AWS's documented RDS API throttle per account and region (token bucket), with 20 % left to other callers. */
export const RDS_BUDGET: RdsBudget = { requestsPerSecond: 12, burst: 300, share: 0.8 };

/** Child executions Step Functions runs at once: inline Map iterations, Distributed Map children. */
export const MAP_LIMITS = {
  inline: MAX_INLINE_MAP_CONCURRENCY,
  distributed: MAX_DISTRIBUTED_MAP_CONCURRENCY,
} as const;

/** The environment workflow's own execution timeout: no child of a fleet runs longer. */
export const ENVIRONMENT_RUN_TIMEOUT_SECONDS = 6 * 3600;
/**
 * Children at once, in usual run times per start interval: runs that take up to this many
 * times their usual duration (a database slower than configured) do not hold up the pace.
 * The pace, not the slots, keeps the request rate inside the budget.
 */
export const RUN_TIME_SLACK = 2;
/** Select, the Map's start and the summary: a bound on what the fleet does besides its children. */
export const FLEET_OVERHEAD_SECONDS = 15 * 60;
/** Step Functions Standard workflows: an execution lasts at most one year. */
export const MAX_EXECUTION_SECONDS = 365 * 86_400;

/**
 * RDS requests one run makes outside its wait, by Task (environment definition, database
 * events on or off): Prepare describes (1); Start/Stop database describes and acts (2);
 * Record result describes (1). The wait then adds one describe per check when polling, or
 * two with database events (Await database … event looks once; the check after the event).
 * An Aurora cluster's Prepare also reads its members' classes for the pre-state (1).
 */
export const RUN_REQUESTS = { outsideWait: 4, eventWait: 2, auroraMembers: 1 } as const;
/**
 * Most requests one run sends within a second: Start/Stop database and the first look of the
 * wait (3); an up also runs Prepare right before (4).
 */
export const PEAK_REQUESTS = { down: 3, up: 4 } as const;

type Wait = { expectedSeconds: number; timeoutSeconds: number };

/** Checks a polling wait makes until a resource that takes `seconds` is seen there (polling.ts's schedule). */
export function checksUntil(seconds: number, wait: Wait): number {
  let elapsed = 0;
  let checks = 1;
  while (elapsed < seconds && elapsed < wait.timeoutSeconds) {
    elapsed += nextWaitSeconds(elapsed, wait.expectedSeconds, wait.timeoutSeconds);
    checks++;
  }
  return checks;
}

export interface RunCost {
  /** RDS requests of the whole run. */
  requests: number;
  /** Most RDS requests within one second of the run. */
  peakRequests: number;
  /** Usual duration (the configured expected durations of its waits). */
  seconds: number;
}

/**
 * What one up or down of `env` costs, with its database taking `databaseSeconds` (default:
 * the configured usual duration). Database events serve central-account databases only.
 */
export function runCost(
  env: Pick<Environment, 'waits' | 'nodegroups' | 'target'> & {
    database?: Pick<Environment['database'], 'kind'>;
  },
  action: 'up' | 'down',
  o: { databaseEvents: boolean; databaseSeconds?: number },
): RunCost {
  const w = env.waits;
  const dbWait = action === 'down' ? w.databaseStop : w.databaseStart;
  const db = o.databaseSeconds ?? dbWait.expectedSeconds;
  const events = o.databaseEvents && !env.target;
  const waitRequests = events ? RUN_REQUESTS.eventWait : checksUntil(db, dbWait);
  const nodegroups = env.nodegroups.length ? w.nodegroups.expectedSeconds : 0;
  const seconds =
    action === 'down'
      ? w.deployments.expectedSeconds + db + nodegroups
      : nodegroups + db + w.deployments.expectedSeconds + w.health.expectedSeconds;
  const members = env.database?.kind === 'cluster' ? RUN_REQUESTS.auroraMembers : 0;
  return {
    requests: RUN_REQUESTS.outsideWait + members + waitRequests,
    // An up runs Prepare right before it starts the database: its members' read is in the peak.
    peakRequests: PEAK_REQUESTS[action] + (action === 'up' ? members : 0),
    seconds,
  };
}

export interface FleetCapacity {
  environments: number;
  /** Children at once: enough that the start pace, not the slots, sets the speed. */
  maxConcurrency: number;
  /** Started together at the beginning: what the burst allowance pays for. */
  burstStarts: number;
  /** Between two later starts: one run's requests at the fleet's share of the refill rate. */
  startIntervalSeconds: number;
  /** Expected wall time: the last start plus one usual run. */
  expectedSeconds: number;
  /** Sustained RDS request rate the fleet should stay under. */
  requestsPerSecond: number;
}

/**
 * The fleet's pace for `runs` (one cost per environment): a fleet that starts a run every
 * (requests per run / budget rate) seconds asks RDS, once warmed up, for as many requests as
 * the budget refills; it needs (run duration / start interval) children at once (Little's law),
 * times RUN_TIME_SLACK; the burst allowance pays for the first runs' peaks. Capped by the
 * Map's limit.
 */
export function fleetCapacity(
  runs: readonly RunCost[],
  o: { budget?: RdsBudget; mapLimit?: number } = {},
): FleetCapacity {
  const budget = o.budget ?? RDS_BUDGET;
  const limit = o.mapLimit ?? MAP_LIMITS.distributed;
  const n = runs.length;
  const rate = budget.requestsPerSecond * budget.share;
  if (n === 0)
    return {
      environments: 0,
      maxConcurrency: 1,
      burstStarts: 0,
      startIntervalSeconds: 0,
      expectedSeconds: 0,
      requestsPerSecond: rate,
    };
  const mean = (f: (r: RunCost) => number) => runs.reduce((s, r) => s + f(r), 0) / n;
  const requests = mean((r) => r.requests);
  const seconds = mean((r) => r.seconds);
  const longest = Math.max(...runs.map((r) => r.seconds));
  const peak = Math.max(...runs.map((r) => r.peakRequests));
  const startIntervalSeconds = requests / rate;
  const maxConcurrency = Math.max(
    1,
    Math.min(limit, n, Math.floor((RUN_TIME_SLACK * seconds) / startIntervalSeconds)),
  );
  const burstStarts = Math.max(1, Math.min(n, Math.floor((budget.burst * budget.share) / peak)));
  // Past the burst, starts follow the pace, or the slots if a full set of runs is still going.
  const paced = (n - burstStarts) * startIntervalSeconds;
  const slotted = (Math.ceil(n / maxConcurrency) - 1) * seconds;
  return {
    environments: n,
    maxConcurrency,
    burstStarts,
    startIntervalSeconds: Math.round(startIntervalSeconds * 1000) / 1000,
    expectedSeconds: Math.round(Math.max(paced, slotted) + longest),
    requestsPerSecond: rate,
  };
}

/**
 * The longest a fleet of `environments` at `maxConcurrency` can take when every child runs to
 * its own timeout: a fleet's execution must outlast that, because a timed-out fleet stops its
 * children mid-run (their locks stay held until their TTL).
 */
export function fleetWorstCaseSeconds(environments: number, maxConcurrency: number): number {
  const waves = Math.ceil(Math.max(1, environments) / Math.max(1, maxConcurrency));
  return waves * ENVIRONMENT_RUN_TIMEOUT_SECONDS + FLEET_OVERHEAD_SECONDS;
}

/**
 * The fleet state machine's timeout for a deployment of `environments`: the worst case of
 * the largest fleet (every environment) run one at a time, at most a year (Step Functions'
 * limit). A fleet's children each end within their own timeout, so this bound is only a
 * backstop, and one that never stops a child mid-run; a request that could outlast it (only
 * with a tiny maxConcurrency for thousands of environments) is refused by Select.
 */
export function fleetTimeoutSeconds(environments: number): number {
  return Math.min(MAX_EXECUTION_SECONDS, fleetWorstCaseSeconds(environments, 1));
}

/** Why a fleet request cannot end inside the fleet's timeout, or null when it can. */
export function fleetTooLong(
  environments: number,
  maxConcurrency: number,
  timeoutSeconds: number,
): string | null {
  const worst = fleetWorstCaseSeconds(environments, maxConcurrency);
  if (worst <= timeoutSeconds) return null;
  const waves = Math.floor((timeoutSeconds - FLEET_OVERHEAD_SECONDS) / ENVIRONMENT_RUN_TIMEOUT_SECONDS);
  const needed = waves >= 1 ? Math.ceil(environments / waves) : environments;
  const h = (s: number) => `${Math.round((s / 3600) * 10) / 10} h`;
  return `${environments} environment(s) at maxConcurrency ${maxConcurrency} could take up to ${h(worst)} (${Math.ceil(environments / maxConcurrency)} wave(s) of runs of up to ${h(ENVIRONMENT_RUN_TIMEOUT_SECONDS)}), longer than the fleet's timeout of ${h(timeoutSeconds)}, which would stop runs mid-way and leave their locks held; give maxConcurrency ${needed} or more, or select fewer environments`;
}

/** A fleet's start pace: the first `burstStarts` at once, then one every `startIntervalSeconds`. */
export type StartPace = Pick<FleetCapacity, 'burstStarts' | 'startIntervalSeconds'>;

/**
 * When the fleet's `index`-th child may start at the earliest (a Wait on this timestamp
 * before the child start; one already past does not wait), so that the children's first
 * requests reach RDS at the pace its budget refills instead of all in the same second.
 */
export function startAt(startedAt: string, index: number, pace: StartPace): string {
  return new Date(Date.parse(startedAt) + Math.round(startOffsetSeconds(index, pace) * 1000)).toISOString();
}

export const startOffsetSeconds = (index: number, pace: StartPace): number =>
  Math.max(0, index - pace.burstStarts + 1) * pace.startIntervalSeconds;

/** Default concurrency of a fleet of these environments: the slower of its down and up paces. */
export function defaultConcurrency(
  envs: readonly Pick<Environment, 'waits' | 'nodegroups' | 'target'>[],
  action: 'up' | 'down',
  databaseEvents: boolean,
): FleetCapacity {
  return fleetCapacity(envs.map((e) => runCost(e, action, { databaseEvents })));
}
