// Owns the fleet: one request that runs the environment workflow for every selected
// environment. Selecting (validate, resolve the selection, claim the build, name each child
// execution, write the item list to S3 for the Distributed Map), classifying each child's
// outcome (succeeded / skipped / refused / failed) from the map run's exported results, and
// the fleet's own write-once record fleet/history/{build}/summary.json.
//
// Step Functions limits every state input and output to 262,144 bytes: the item list and the
// per-environment results stay in S3 (ItemReader / ResultWriter), and the states carry only
// their locations and counts, so a state's size does not grow with the fleet.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { resolveEnvironment } from '../config/catalog.ts';
import { Holidays, holidayAt } from '../config/holidays.ts';
import type { Config, Environment } from '../config/schema.ts';
import {
  parseSelection,
  parseSelectionArg,
  type Selection,
  selectEnvironments,
} from '../config/selection.ts';
import { type Deps, generateBuildId, issuesText, RunRequest } from '../contracts.ts';
import { CimError, ErrorNames, errorName, REFUSAL_ERRORS, USAGE_ERRORS } from '../errors.ts';
import { putOnce } from '../gateways/store.ts';
import { BUILD_PATTERN } from '../records/legacy-state.ts';
import { causeMessage } from '../run/record.ts';
import {
  defaultConcurrency,
  fleetTimeoutSeconds,
  fleetTooLong,
  fleetWorstCaseSeconds,
  MAP_LIMITS,
  type StartPace,
  startAt,
} from './capacity.ts';
import { isMapRunOutput, type MapRunOutput, readMapResults, storeForBucket } from './map-results.ts';

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

/**
 * Select's output, the state the Distributed Map and the summary see: small and of constant
 * size. The items themselves are in S3 (`itemReader`), the results go to `resultWriter`.
 */
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
  /** How many environments the Map runs. */
  itemCount: number;
  /** The JSON array of FleetItem the Map reads (ItemReader, s3:getObject). */
  itemReader: { bucket: string; key: string };
  /** Where the Map exports its results (ResultWriter): {prefix}/{map run id}/manifest.json. */
  resultWriter: { bucket: string; prefix: string };
  /** A tick on a skip date: no environment runs, and this says why. */
  holiday?: { date: string; timeZone: string; why: string; reason: string };
  /** Where the fleet's summary is recorded: the bucket of the first selected environment. */
  recordIn: { customer: string; environment: string };
}

const shortHash = (parts: readonly string[], length: number) =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);

/**
 * A scheduled tick's build id: the same tick delivered twice gets the same id, so the second
 * is refused. The tick's time is never cut: a long schedule name is shortened instead, with a
 * hash of the whole name, so two days (or two long names) never share a build id.
 */
export function scheduledBuild(schedule: string, scheduledTime: string): string {
  const t = Date.parse(scheduledTime);
  if (!Number.isFinite(t))
    throw new CimError(ErrorNames.InvalidInput, `scheduledTime "${scheduledTime}" is not a timestamp`);
  const stamp = `${new Date(t).toISOString().replace(/[-:]/g, '').slice(0, 13)}Z`;
  const full = `${schedule}-${stamp}`;
  if (full.length <= 64) return full;
  // 64 = name part + "-" + 8 hash + "-" + 14 stamp
  return `${schedule.slice(0, 64 - 1 - 8 - 1 - stamp.length)}-${shortHash([schedule], 8)}-${stamp}`;
}

/** Step Functions: execution names are 1-80 characters of [A-Za-z0-9_-] (others break logging). */
export const EXECUTION_NAME_MAX = 80;
const NAME_HASH_LENGTH = 10;

/**
 * A child execution's name: readable ({customer}-{environment}-{action}-{build}, cut to fit)
 * plus a hash of the four parts, so the name stays unique per environment, action and build
 * however long the parts are (AWS refuses a reused name for 90 days).
 */
export function executionName(customer: string, environment: string, action: string, build: string): string {
  const readable = `${customer}-${environment}-${action}-${build}`.replace(/[^A-Za-z0-9_-]/g, '-');
  const hash = shortHash([customer, environment, action, build], NAME_HASH_LENGTH);
  return `${readable.slice(0, EXECUTION_NAME_MAX - NAME_HASH_LENGTH - 1)}-${hash}`;
}

/** The fleet's files in the state bucket of its first environment. */
export const fleetKeys = (build: string, executionId: string, dryRun: boolean) => {
  // A dry run claims nothing: its files are per execution, so it never blocks the real run.
  const base = dryRun ? `fleet/${build}/dry-run/${shortHash([executionId], 12)}` : `fleet/${build}`;
  return {
    claim: `fleet/${build}/claim.json`,
    items: `${base}/items.json`,
    results: `${base}/results`,
    summary: `fleet/history/${build}/summary.json`,
  };
};

/**
 * Claims the build for this fleet execution (write-once, If-None-Match: *). The same
 * execution retrying Select finds its own claim and goes on; any other run is refused before
 * a child starts, so two fleets never run under one build id.
 */
async function claimBuild(
  store: ReturnType<Deps['store']>,
  key: string,
  build: string,
  executionId: string,
  now: Date,
): Promise<void> {
  try {
    await putOnce(store, key, { build, executionId, claimedAt: now.toISOString() }, executionId);
  } catch (err) {
    if (errorName(err) !== ErrorNames.RecordConflict) throw err;
    const owner = ((await store.getJson(key))?.json as { executionId?: string } | undefined)?.executionId;
    throw new CimError(
      ErrorNames.BuildAlreadyRecorded,
      `build "${build}" is already claimed by fleet execution ${owner ?? '(unknown)'} (s3://${store.bucket}/${key}); nothing was started. A duplicate delivery of a schedule tick needs nothing (the first one runs it); otherwise start the fleet with a new build id.`,
    );
  }
}

/**
 * Select environments: validate the fleet request, claim its build, write one item per
 * environment (with its child execution name) to S3, and return where they are.
 */
export async function selectFleet(deps: Deps, raw: unknown, executionId?: string): Promise<FleetPlan> {
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
  const first = items[0];
  if (!first) throw new CimError(ErrorNames.SelectionInvalid, 'the selection matches no environment');
  const tick = req.scheduledTime !== undefined ? new Date(Date.parse(req.scheduledTime)) : null;
  const holiday =
    req.holidays && tick && Number.isFinite(tick.getTime()) ? holidayAt(req.holidays, tick) : null;
  const runs = holiday ? [] : items;

  const env = resolveEnvironment(deps.config, first.customer, first.environment, deps.configSource);
  const store = deps.store(env);
  const id = executionId ?? `fleet:${build}`;
  const files = fleetKeys(build, id, req.dryRun);
  // Every check before the first write: a refused request leaves nothing behind.
  const concurrency = concurrencyFor(deps, req, envs);
  const pace = concurrency.pace ?? { burstStarts: runs.length, startIntervalSeconds: 0 };
  if (!req.dryRun) await claimBuild(store, files.claim, build, id, now);
  // Unconditional: only the claim's owner writes here, and its retry writes the same list.
  await store.putJson(
    files.items,
    runs.map((item, i) => ({ ...item, startAt: startAt(now.toISOString(), i, pace) })),
  );
  return {
    action: req.action,
    build,
    user: req.user,
    dryRun: req.dryRun,
    selection,
    ...concurrency,
    startedAt: now.toISOString(),
    itemCount: runs.length,
    itemReader: { bucket: store.bucket, key: files.items },
    resultWriter: { bucket: store.bucket, prefix: files.results },
    ...(holiday
      ? {
          holiday: {
            ...holiday,
            reason: `${holiday.date} (${holiday.timeZone}) is a skip date (${holiday.why}): the scheduled ${req.action} of ${items.length} environment(s) does not run`,
          },
        }
      : {}),
    recordIn: { customer: first.customer, environment: first.environment },
  };
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
  /**
   * Local fleets: the child's row in the CLI's exit-code table (cli/exit-codes.ts) and what it
   * says of the records and the lock. A deployed child reports only its error: the code then
   * comes from the error name, which the table maps the same way.
   */
  outcome?: string;
  recorded?: boolean;
  lockReleased?: boolean;
}

/** What a local child run adds to its result: its row of the CLI's exit-code table. */
export interface ChildOutcome {
  outcome: string;
  exitCode: number;
  recorded: boolean;
  lockReleased: boolean;
}

/** What the Map gives back for one item: the child's description, or the error that ended it. */
export interface ChildRun {
  customer: string;
  environment: string;
  run?: { status?: string; executionArn?: string; startDate?: string | number; stopDate?: string | number };
  error?: { Error: string; Cause: string };
  /** A local child that succeeded: its row (a failed one carries it in its Cause, as Outcome). */
  outcome?: ChildOutcome;
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
  if (child.error?.Error === 'StepFunctions.ExecutionAlreadyExistsException') {
    // AWS keeps an execution name for 90 days: this environment already ran (or runs) this
    // action under this build. A duplicate, not a failure of the environment.
    return {
      environment,
      result: 'refused',
      exitCode: 2,
      executionArn,
      durationSeconds: null,
      error: {
        name: ErrorNames.BuildAlreadyRecorded,
        message: `a child execution for ${environment} with this action and build already exists (${causeMessage(child.error.Cause)}); it was not started again. Look at that execution, or run with a new build id.`,
      },
    };
  }
  if (child.error) {
    // startExecution.sync reports a failed child as States.TaskFailed with the child's
    // description (Error, Cause, ExecutionArn, dates) as a JSON cause.
    let inner: {
      Error?: string;
      Cause?: string;
      ExecutionArn?: string;
      StartDate?: number;
      StopDate?: number;
      Outcome?: ChildOutcome;
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
  const row = child.outcome ?? outcomeOf(child.error?.Cause);
  const fields = row ? { outcome: row.outcome, recorded: row.recorded, lockReleased: row.lockReleased } : {};
  if (!error)
    return {
      environment,
      result: 'succeeded',
      exitCode: row?.exitCode ?? 0,
      executionArn,
      durationSeconds,
      ...fields,
    };
  const name = error.name;
  const result: FleetResult =
    name === ErrorNames.ActionRefused || name === ErrorNames.EnvironmentOnHold
      ? 'skipped'
      : (REFUSAL_ERRORS as readonly string[]).includes(name) ||
          (USAGE_ERRORS as readonly string[]).includes(name)
        ? 'refused'
        : 'failed';
  const exitCode =
    row?.exitCode ??
    (result === 'skipped' || (REFUSAL_ERRORS as readonly string[]).includes(name)
      ? 2
      : (USAGE_ERRORS as readonly string[]).includes(name)
        ? 64
        : name === ErrorNames.Interrupted
          ? 130
          : 1);
  // The row decides: a lost lock before any change is a refusal (2), not a failure.
  const ruled: FleetResult = result !== 'skipped' && (exitCode === 2 || exitCode === 64) ? 'refused' : result;
  return { environment, result: ruled, exitCode, executionArn, durationSeconds, error, ...fields };
}

function outcomeOf(cause: string | undefined): ChildOutcome | undefined {
  if (!cause) return undefined;
  try {
    const o = (JSON.parse(cause) as { Outcome?: ChildOutcome }).Outcome;
    return o && typeof o.outcome === 'string' && typeof o.exitCode === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

export interface FleetSummary
  extends Omit<FleetPlan, 'itemCount' | 'itemReader' | 'resultWriter' | 'recordIn'> {
  finishedAt: string;
  counts: Record<FleetResult, number>;
  environments: FleetItemOutcome[];
  record: string | null;
  /** A second run of the same build (a schedule tick delivered twice): the first run's record, kept as it is. */
  alreadyRecorded?: string;
  /** A tick on a skip date (holidays): nothing ran, and why. */
  holiday?: NonNullable<FleetPlan['holiday']>;
}

/** At most this many not-succeeded environments in Record's state output; all are in the record. */
export const SUMMARY_OUTPUT_ENVIRONMENTS = 25;

/**
 * Record's state output: the summary without the per-environment list (that is in the
 * record and the map run's results), plus the first environments that did not succeed.
 */
export interface FleetSummaryOutput extends Omit<FleetSummary, 'environments'> {
  notSucceeded: FleetItemOutcome[];
  /** How many not-succeeded environments are left out of `notSucceeded`. */
  notSucceededOmitted: number;
  /** The map run's manifest (ResultWriter), where every environment's outcome is. */
  results: { bucket: string; key: string } | null;
}

/** Each environment's outcome from a map run's exported results, sorted by environment. */
export async function fleetOutcomes(
  deps: Deps,
  results: MapRunOutput | ChildRun[] | undefined,
): Promise<FleetItemOutcome[]> {
  let runs: ChildRun[];
  if (Array.isArray(results)) runs = results;
  else if (isMapRunOutput(results)) {
    const store = storeForBucket(deps, results.ResultWriterDetails.Bucket);
    runs = (await readMapResults(store, results.ResultWriterDetails.Key)).map((r) => {
      const item = (r.item ?? {}) as Partial<FleetItem>;
      const out = (r.output ?? {}) as Partial<ChildRun>;
      return {
        customer: out.customer ?? item.customer ?? '?',
        environment: out.environment ?? item.environment ?? '?',
        ...(out.run ? { run: out.run } : {}),
        ...(r.error ? { error: r.error } : out.error ? { error: out.error } : {}),
      };
    });
  } else runs = [];
  return runs.map(classifyChild).sort((a, b) => a.environment.localeCompare(b.environment));
}

/** Record fleet summary: classify every child, write fleet/history/{build}/summary.json once. */
export async function recordFleet(
  deps: Deps,
  input: { plan: FleetPlan; results: MapRunOutput | ChildRun[]; executionId?: string },
): Promise<FleetSummary> {
  const { plan } = input;
  const environments = await fleetOutcomes(deps, input.results);
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
  const first = plan.recordIn;
  if (!first || plan.dryRun) return summary;
  // The fleet's record lives in the bucket of its first environment, beside the environments' prefixes.
  const env = resolveEnvironment(deps.config, first.customer, first.environment, deps.configSource);
  const key = fleetKeys(plan.build, input.executionId ?? '', false).summary;
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

/** The summary as Record's state output: constant in size, whatever the fleet's size. */
export function summaryOutput(s: FleetSummary, results: unknown): FleetSummaryOutput {
  const { environments, ...rest } = s;
  const notSucceeded = environments.filter((e) => e.result !== 'succeeded');
  return {
    ...rest,
    notSucceeded: notSucceeded.slice(0, SUMMARY_OUTPUT_ENVIRONMENTS).map((e) => ({
      ...e,
      ...(e.error ? { error: { name: e.error.name, message: e.error.message.slice(0, 500) } } : {}),
    })),
    notSucceededOmitted: Math.max(0, notSucceeded.length - SUMMARY_OUTPUT_ENVIRONMENTS),
    results: isMapRunOutput(results)
      ? { bucket: results.ResultWriterDetails.Bucket, key: results.ResultWriterDetails.Key }
      : null,
  };
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
