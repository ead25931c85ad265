// Owns the fleet: one request that runs the environment workflow for every selected
// environment. Selecting (validate, resolve the selection, name each child execution),
// classifying each child's outcome (succeeded / skipped / refused / failed), and the
// fleet's own write-once record fleet/history/{build}/summary.json.
import * as z from 'zod';
import { type Config, type Environment, resolveEnvironment } from './config.ts';
import { CimError, ErrorNames, errorName, REFUSAL_ERRORS, USAGE_ERRORS } from './errors.ts';
import {
  defaultConcurrency,
  fleetTimeoutSeconds,
  fleetTooLong,
  fleetWorstCaseSeconds,
  MAP_LIMITS,
  type StartPace,
} from './fleet-capacity.ts';
import { Holidays, holidayAt } from './holidays.ts';
import { causeMessage } from './recording.ts';
import { type Deps, generateBuildId, issuesText, RunRequest } from './run-context.ts';
import { parseSelection, parseSelectionArg, type Selection, selectEnvironments } from './selection.ts';
import { BUILD_PATTERN } from './state-model.ts';
import { putOnce } from './state-store.ts';

/** A Distributed Map's limit of child executions at once; the default comes from fleet-capacity.ts. */
export const MAX_CONCURRENCY_LIMIT = MAP_LIMITS.distributed;
/** A scheduled tick that reaches Select later than this is refused (the schedule can say otherwise). */
export const DEFAULT_MAX_LATENESS_SECONDS = 3600;

export const FleetRequest = z
  .object({
    action: RunRequest.shape.action,
    selection: z.union([
      z.string().min(1, 'selection must not be empty'),
      z
        .object({ patterns: z.array(z.string()).optional(), labels: z.string().nullable().optional() })
        .strict(),
    ]),
    build: RunRequest.shape.build,
    user: RunRequest.shape.user,
    dryRun: RunRequest.shape.dryRun,
    maxConcurrency: z
      .number({ message: 'maxConcurrency must be a number' })
      .int('maxConcurrency must be an integer')
      .min(1, 'maxConcurrency must be at least 1')
      .max(MAX_CONCURRENCY_LIMIT, `maxConcurrency must be at most ${MAX_CONCURRENCY_LIMIT}`)
      .optional(),
    /** Scheduled runs: the schedule's name and the tick (EventBridge Scheduler's scheduled time). */
    schedule: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    scheduledTime: z.string().optional(),
    /** Scheduled runs: refuse a tick that arrives later than this (a retried or delayed delivery). */
    maxLatenessSeconds: z.number().int().min(60).max(86_400).optional(),
    /** Scheduled runs: the schedule's skip dates (put there by the stack from the configuration). */
    holidays: Holidays.optional(),
  })
  .strict();
export type FleetRequest = z.output<typeof FleetRequest>;

export interface FleetItem {
  customer: string;
  environment: string;
  /** Step Functions execution name of the child: one history per environment in the console. */
  executionName: string;
  input: {
    action: string;
    customer: string;
    environment: string;
    build: string;
    user: string;
    dryRun: boolean;
  };
}

export interface FleetPlan {
  action: FleetRequest['action'];
  build: string;
  user: string;
  dryRun: boolean;
  selection: Selection;
  maxConcurrency: number;
  /** How fast children may start (fleet-capacity.ts startAt): the RDS budget's refill rate. */
  pace?: StartPace;
  startedAt: string;
  items: FleetItem[];
  /** A tick on a skip date: no environment runs, and this says why. */
  holiday?: { date: string; timeZone: string; why: string; reason: string };
  /** Where the summary of a run with no items is recorded: the first selected environment. */
  recordIn?: { customer: string; environment: string };
}

/** A scheduled tick's build id: the same tick delivered twice gets the same id, so the second is refused. */
export function scheduledBuild(schedule: string, scheduledTime: string): string {
  const t = Date.parse(scheduledTime);
  if (!Number.isFinite(t))
    throw new CimError(ErrorNames.InvalidInput, `scheduledTime "${scheduledTime}" is not a timestamp`);
  const stamp = new Date(t).toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `${schedule}-${stamp}Z`.slice(0, 64);
}

export const executionName = (customer: string, environment: string, action: string, build: string) =>
  `${customer}-${environment}-${action}-${build}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);

/** Select environments: validate the fleet request and name one child run per environment. */
export function selectFleet(deps: Deps, raw: unknown): FleetPlan {
  const parsed = FleetRequest.safeParse(raw);
  if (!parsed.success)
    throw new CimError(ErrorNames.InvalidInput, `invalid fleet request: ${issuesText(parsed.error)}`);
  const req = parsed.data;
  const selection =
    typeof req.selection === 'string'
      ? parseSelectionArg(req.selection)
      : parseSelection({
          ...(req.selection.patterns ? { patterns: req.selection.patterns } : {}),
          ...(req.selection.labels !== undefined ? { labels: req.selection.labels } : {}),
        });
  const keys = selectEnvironments(deps.config, selection, deps.configSource);
  const now = deps.now();
  refuseLateTick(req, now);
  const build =
    req.build ??
    (req.schedule && req.scheduledTime
      ? scheduledBuild(req.schedule, req.scheduledTime)
      : generateBuildId(now));
  if (!BUILD_PATTERN.test(build))
    throw new CimError(ErrorNames.InvalidInput, `build "${build}" is not a valid build id`);
  const envs: Environment[] = [];
  const items = keys.map((key) => {
    const [customer = '', environment = ''] = key.split('/');
    envs.push(resolveEnvironment(deps.config, customer, environment, deps.configSource));
    return {
      customer,
      environment,
      executionName: executionName(customer, environment, req.action, build),
      input: { action: req.action, customer, environment, build, user: req.user, dryRun: req.dryRun },
    };
  });
  const plan: FleetPlan = {
    action: req.action,
    build,
    user: req.user,
    dryRun: req.dryRun,
    selection,
    ...concurrencyFor(deps, req, envs),
    startedAt: now.toISOString(),
    items,
  };
  const tick = req.scheduledTime !== undefined ? new Date(Date.parse(req.scheduledTime)) : null;
  const holiday =
    req.holidays && tick && Number.isFinite(tick.getTime()) ? holidayAt(req.holidays, tick) : null;
  if (holiday && items[0]) {
    const reason = `${holiday.date} (${holiday.timeZone}) is a skip date (${holiday.why}): the scheduled ${req.action} of ${items.length} environment(s) does not run`;
    return {
      ...plan,
      items: [],
      holiday: { ...holiday, reason },
      recordIn: { customer: items[0].customer, environment: items[0].environment },
    };
  }
  return plan;
}

/** A tick delivered late (Scheduler's retries, a paused account) would start a night's work in the morning. */
function refuseLateTick(req: FleetRequest, now: Date): void {
  if (req.scheduledTime === undefined) return;
  const tick = Date.parse(req.scheduledTime);
  if (!Number.isFinite(tick))
    throw new CimError(ErrorNames.InvalidInput, `scheduledTime "${req.scheduledTime}" is not a timestamp`);
  const limit = req.maxLatenessSeconds ?? DEFAULT_MAX_LATENESS_SECONDS;
  const late = Math.round((now.getTime() - tick) / 1000);
  if (late > limit)
    throw new CimError(
      ErrorNames.ActionRefused,
      `the ${req.action} tick of ${req.schedule ? `schedule "${req.schedule}"` : 'a schedule'} for ${new Date(tick).toISOString()} arrived ${Math.round(late / 60)} min late, more than its maxLatenessSeconds (${limit} s): nothing was started or changed. Run it by hand if it is still wanted, or raise the schedule's maxLatenessSeconds.`,
    );
}

/** The deployed fleet's timeout, computed from the configuration exactly as the stack does. */
export const configuredFleetTimeoutSeconds = (config: Config): number =>
  fleetTimeoutSeconds(Object.keys(config.environments).length);

/**
 * The request's concurrency, or the capacity model's default for these environments (raised
 * if needed so the fleet ends inside its timeout); a given one that cannot is refused.
 */
function concurrencyFor(
  deps: Deps,
  req: FleetRequest,
  envs: Environment[],
): { maxConcurrency: number; pace?: StartPace } {
  const timeout = configuredFleetTimeoutSeconds(deps.config);
  if (envs.length === 0) return { maxConcurrency: req.maxConcurrency ?? 1 };
  const model = defaultConcurrency(envs, req.action === 'up' ? 'up' : 'down', Boolean(deps.databaseEvents));
  const pace = { burstStarts: model.burstStarts, startIntervalSeconds: model.startIntervalSeconds };
  if (req.maxConcurrency !== undefined) {
    const why = fleetTooLong(envs.length, req.maxConcurrency, timeout);
    if (why) throw new CimError(ErrorNames.InvalidInput, `invalid fleet request: ${why}`);
    return { maxConcurrency: req.maxConcurrency, pace };
  }
  let c = model.maxConcurrency;
  while (c < envs.length && fleetWorstCaseSeconds(envs.length, c) > timeout) c++;
  return { maxConcurrency: c, pace };
}

export type FleetResult = 'succeeded' | 'skipped' | 'refused' | 'failed';

export interface FleetItemOutcome {
  environment: string;
  result: FleetResult;
  /** The child's exit meaning, as the CLI would exit for it alone. */
  exitCode: number;
  executionArn: string | null;
  durationSeconds: number | null;
  error?: { name: string; message: string };
}

/** What the Map gives back for one item: the child's description, or the error that ended it. */
export interface ChildRun {
  customer: string;
  environment: string;
  run?: { status?: string; executionArn?: string; startDate?: string | number; stopDate?: string | number };
  error?: { Error: string; Cause: string };
}

function dateOf(v: string | number | undefined): number | null {
  if (v === undefined) return null;
  const t = typeof v === 'number' ? v : Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

/** "already down" or "already up" is skipped, other refusals are refused, the rest failed. */
export function classifyChild(child: ChildRun): FleetItemOutcome {
  const environment = `${child.customer}/${child.environment}`;
  let error: { name: string; message: string } | undefined;
  let executionArn = child.run?.executionArn ?? null;
  let start = dateOf(child.run?.startDate);
  let stop = dateOf(child.run?.stopDate);
  if (child.error) {
    // startExecution.sync reports a failed child as States.TaskFailed with the child's
    // description (Error, Cause, ExecutionArn, dates) as a JSON cause.
    let inner: {
      Error?: string;
      Cause?: string;
      ExecutionArn?: string;
      StartDate?: number;
      StopDate?: number;
    } = {};
    try {
      inner = JSON.parse(child.error.Cause);
    } catch {
      // not the child's description: the start itself failed
    }
    error = {
      name: inner.Error ?? child.error.Error,
      message: causeMessage(inner.Cause ?? child.error.Cause),
    };
    executionArn = inner.ExecutionArn ?? executionArn;
    start = dateOf(inner.StartDate) ?? start;
    stop = dateOf(inner.StopDate) ?? stop;
  }
  const durationSeconds = start !== null && stop !== null ? Math.round((stop - start) / 100) / 10 : null;
  if (!error) return { environment, result: 'succeeded', exitCode: 0, executionArn, durationSeconds };
  const name = error.name;
  const result: FleetResult =
    name === ErrorNames.ActionRefused || name === ErrorNames.EnvironmentOnHold
      ? 'skipped'
      : (REFUSAL_ERRORS as readonly string[]).includes(name) ||
          (USAGE_ERRORS as readonly string[]).includes(name)
        ? 'refused'
        : 'failed';
  const exitCode =
    result === 'skipped' || (REFUSAL_ERRORS as readonly string[]).includes(name)
      ? 2
      : (USAGE_ERRORS as readonly string[]).includes(name)
        ? 64
        : name === ErrorNames.Interrupted
          ? 130
          : 1;
  return { environment, result, exitCode, executionArn, durationSeconds, error };
}

export interface FleetSummary extends Omit<FleetPlan, 'items'> {
  finishedAt: string;
  counts: Record<FleetResult, number>;
  environments: FleetItemOutcome[];
  record: string | null;
  /** A second run of the same build (a schedule tick delivered twice): the first run's record, kept as it is. */
  alreadyRecorded?: string;
  /** A tick on a skip date (holidays): nothing ran, and why. */
  holiday?: NonNullable<FleetPlan['holiday']>;
}

/** Record fleet summary: classify every child, write fleet/history/{build}/summary.json once. */
export async function recordFleet(
  deps: Deps,
  input: { plan: FleetPlan; results: ChildRun[]; executionId?: string },
): Promise<FleetSummary> {
  const { plan } = input;
  const environments = input.results.map(classifyChild);
  const counts: Record<FleetResult, number> = { succeeded: 0, skipped: 0, refused: 0, failed: 0 };
  for (const e of environments) counts[e.result]++;
  const summary: FleetSummary = {
    action: plan.action,
    build: plan.build,
    user: plan.user,
    dryRun: plan.dryRun,
    selection: plan.selection,
    maxConcurrency: plan.maxConcurrency,
    startedAt: plan.startedAt,
    finishedAt: deps.now().toISOString(),
    counts,
    environments,
    record: null,
    ...(plan.holiday ? { holiday: plan.holiday } : {}),
  };
  const first = plan.items[0] ?? plan.recordIn;
  if (!first || plan.dryRun) return summary;
  // The fleet's record lives in the bucket of its first environment, beside the environments' prefixes.
  const env = resolveEnvironment(deps.config, first.customer, first.environment, deps.configSource);
  const key = `fleet/history/${plan.build}/summary.json`;
  try {
    await putOnce(
      deps.store(env),
      key,
      { ...summary, record: key },
      input.executionId ?? `fleet:${plan.build}`,
    );
  } catch (err) {
    if (errorName(err) !== ErrorNames.RecordConflict) throw err;
    return { ...summary, alreadyRecorded: `s3://${env.bucket}/${key}` };
  }
  return { ...summary, record: `s3://${env.bucket}/${key}` };
}

/**
 * The fleet's exit code: 0 when every environment succeeded or was skipped (already in the
 * asked state), 1 when any failed, otherwise 2 (some or all were refused: locked, bad record,
 * preflight), so that a CI job notices environments that were not handled.
 */
export function fleetExitCode(s: Pick<FleetSummary, 'counts'>): number {
  if (s.counts.failed > 0) return 1;
  if (s.counts.refused > 0) return 2;
  return 0;
}
