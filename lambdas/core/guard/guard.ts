// Owns the seven-day guard. AWS starts a stopped RDS instance or Aurora cluster by itself
// after 7 days; an environment parked by `down` would silently come back to full cost. The
// guard (its own small state machine, triggered by the RDS events and a daily sweep) finds
// the environments of the database, and for each one whose last change is a successful
// down and that no active hold covers (a hold of scheduled ups only keeps it asleep, so it
// does not count): takes the lock, waits until the database can be
// stopped (not while `starting`), stops it, waits until `stopped`, and writes a new record
// history/{build}/keep-stopped.json. It never touches actions.json, so `last_change` still
// names the down and the next `up` restores the down's counts. An environment that is up,
// on hold, locked by a run, or whose database is already stopped: nothing done, nothing
// recorded.
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { listEnvironments, resolveEnvironment } from '../config/catalog.ts';
import type { Environment } from '../config/schema.ts';
import type { Deps } from '../contracts.ts';
import { classifyDatabaseState, label } from '../database/rules.ts';
import { CimError, ErrorNames, errorMessage, errorName, unprintableCharacter } from '../errors.ts';
import { isMapRunOutput, type MapRunOutput, readMapResults, storeForBucket } from '../fleet/map-results.ts';
import { putOnce, recordKeys } from '../gateways/store.ts';
import { readLastChange } from '../records/actions.ts';
import { guardRecordKey, guardRecordToLegacy } from '../records/guard-record.ts';
import { describeHold, holdActive, readHold } from '../records/hold.ts';
import { acquireLock, fenceLock, type HeldLock, readLock, releaseLock } from '../records/lock.ts';
import { GuardSteps } from '../steps.ts';

/** The RDS events that mean "a stopped database is starting (or started) again". */
export const GUARD_EVENTS = {
  instance: ['RDS-EVENT-0154', 'RDS-EVENT-0088'],
  cluster: ['RDS-EVENT-0153', 'RDS-EVENT-0151'],
} as const;

/** Between two looks at the database while it starts or stops. */
export const GUARD_WAIT_SECONDS = 30;

export interface GuardItem {
  customer: string;
  environment: string;
  build: string;
  user: string;
  trigger: string;
}

export interface GuardSelection {
  trigger: string;
  items: GuardItem[];
  /** Why nothing is guarded (an event for a database that is not configured). */
  ignored?: string;
}

/**
 * "Find guarded environments"'s state output: the items are in S3 for the Distributed Map
 * (a daily sweep of 2,000 environments would not fit the 262,144 bytes of a state).
 */
export interface GuardPlan {
  trigger: string;
  ignored?: string;
  itemCount: number;
  itemReader: { bucket: string; key: string };
  resultWriter: { bucket: string; prefix: string };
}

/**
 * Writes the selection's items (each with the guard execution that owns its lock) to
 * guard/{build}/items.json in the state bucket of the first configured environment; the
 * build is new per execution, so a retry rewrites the same file.
 */
export async function writeGuardItems(
  deps: Deps,
  selection: GuardSelection,
  executionId: string,
): Promise<GuardPlan> {
  const [first = ''] = listEnvironments(deps.config);
  const [customer = '', environment = ''] = first.split('/');
  const store = deps.store(resolveEnvironment(deps.config, customer, environment, deps.configSource));
  const build = selection.items[0]?.build ?? guardBuild(deps.now());
  const base = `guard/${build}`;
  await store.putJson(
    `${base}/items.json`,
    selection.items.map((i) => ({ ...i, executionId })),
  );
  return {
    trigger: selection.trigger,
    ...(selection.ignored ? { ignored: selection.ignored } : {}),
    itemCount: selection.items.length,
    itemReader: { bucket: store.bucket, key: `${base}/items.json` },
    resultWriter: { bucket: store.bucket, prefix: `${base}/results` },
  };
}

const RdsEvent = z.looseObject({
  source: z.literal('aws.rds'),
  region: z.string().optional(),
  detail: z.looseObject({
    SourceIdentifier: z.string().min(1),
    SourceType: z.string(),
    EventID: z.string(),
  }),
});

const GuardRequest = z.union([
  z
    .object({
      sweep: z.literal(true),
      // `cim guard --select`: sweep these configured environments only ("customer/environment").
      environments: z.array(z.string()).optional(),
      // `cim guard`: who started the sweep, said in its trigger (printable, short).
      by: z
        .string()
        .min(1)
        .max(128)
        .refine((s) => !unprintableCharacter(s), 'by must be printable')
        .optional(),
    })
    .loose(),
  z.object({ customer: z.string(), environment: z.string() }).strict(),
]);

const guardBuild = (now: Date) =>
  `guard-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;

/** Find guarded environments: the environments of the event's database, every one for a sweep. */
export function guardSelect(deps: Deps, raw: unknown): GuardSelection {
  const now = deps.now();
  const build = guardBuild(now);
  const item = (key: string, user: string, trigger: string): GuardItem => {
    const [customer = '', environment = ''] = key.split('/');
    return { customer, environment, build, user, trigger };
  };
  const event = RdsEvent.safeParse(raw);
  if (event.success) {
    const d = event.data.detail;
    const kind = d.SourceType === 'CLUSTER' ? 'cluster' : d.SourceType === 'DB_INSTANCE' ? 'instance' : null;
    const trigger = `${d.EventID} ${d.SourceType} ${d.SourceIdentifier}`;
    if (!kind || !(GUARD_EVENTS[kind] as readonly string[]).includes(d.EventID)) {
      return {
        trigger,
        items: [],
        ignored: `event ${d.EventID} for ${d.SourceType} is not one the guard acts on`,
      };
    }
    const keys = listEnvironments(deps.config).filter((key) => {
      const [c = '', e = ''] = key.split('/');
      const env = resolveEnvironment(deps.config, c, e, deps.configSource);
      return (
        env.database.kind === kind &&
        env.database.identifier === d.SourceIdentifier &&
        (event.data.region === undefined || env.region === event.data.region)
      );
    });
    if (keys.length === 0) {
      return {
        trigger,
        items: [],
        ignored: `${kind} "${d.SourceIdentifier}" is not the database of any configured environment: nothing to guard`,
      };
    }
    return { trigger, items: keys.map((k) => item(k, `guard:${d.EventID}`, trigger)) };
  }
  const req = GuardRequest.safeParse(raw);
  if (!req.success) {
    throw new CimError(
      ErrorNames.InvalidInput,
      'invalid guard request: expected an RDS event (source aws.rds), {"sweep":true} or {"customer":..,"environment":..}',
    );
  }
  if ('sweep' in req.data) {
    const configured = listEnvironments(deps.config);
    const wanted = req.data.environments;
    const unknown = (wanted ?? []).filter((k) => !configured.includes(k));
    if (unknown.length)
      throw new CimError(
        ErrorNames.InvalidInput,
        `guard sweep: ${unknown.slice(0, 5).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not configured`,
      );
    const trigger = req.data.by ? `sweep by ${req.data.by} (cim guard)` : 'daily sweep';
    const keys = wanted ? configured.filter((k) => wanted.includes(k)) : configured;
    return { trigger, items: keys.map((k) => item(k, 'guard:sweep', trigger)) };
  }
  const env = resolveEnvironment(deps.config, req.data.customer, req.data.environment, deps.configSource);
  return { trigger: 'manual', items: [item(`${env.customer}/${env.environment}`, 'guard:manual', 'manual')] };
}

export interface GuardContext extends GuardItem {
  executionId: string;
  phase: 'start' | 'wait' | 'noop' | 'done' | 'failed';
  why?: string;
  lock?: HeldLock | null;
  stateBefore?: string | null;
  stopIssued?: boolean;
  downBuild?: string;
  deadline?: string;
  waitSeconds: number;
  record?: string;
  error?: { Error: string; Cause: string };
}

const GuardContextSchema = z.looseObject({
  customer: z.string(),
  environment: z.string(),
  build: z.string(),
  user: z.string(),
  trigger: z.string(),
  executionId: z.string().min(1),
  phase: z.enum(['start', 'wait', 'noop', 'done', 'failed']).default('start'),
  waitSeconds: z.number().default(0),
});

function parseGuard(raw: unknown): GuardContext {
  const p = GuardContextSchema.safeParse(raw);
  if (!p.success)
    throw new CimError(
      ErrorNames.InvalidInput,
      `guard step expects a guard item: ${p.error.issues[0]?.message}`,
    );
  return p.data as unknown as GuardContext;
}

async function record(
  deps: Deps,
  env: Environment,
  ctx: GuardContext,
  result: 'succeeded' | 'failed',
  state: string | null,
) {
  const key = guardRecordKey(env, ctx.build);
  await putOnce(
    deps.store(env),
    key,
    guardRecordToLegacy(
      {
        build: ctx.build,
        user: ctx.user,
        customer: env.customer,
        environment: env.environment,
        result,
        executionId: ctx.executionId,
        trigger: ctx.trigger,
        keptDownSinceBuild: ctx.downBuild ?? null,
        database: env.database,
        stateBefore: ctx.stateBefore ?? null,
        stateAfter: state,
        stopIssued: Boolean(ctx.stopIssued),
        ...(ctx.error ? { error: { name: ctx.error.Error, message: ctx.error.Cause } } : {}),
      },
      deps.now(),
    ),
    ctx.executionId,
  );
  return key;
}

/**
 * The guard's reads before it acts on an environment, in its order (the last change, the
 * hold, the database): why it leaves the environment alone, or the down it keeps and the
 * database's state. Reads only; `cim guard --dry-run` stops here (with a look at the lock).
 */
export async function parkedDatabase(
  deps: Deps,
  env: Environment,
  now: Date,
): Promise<
  | { why: string; skip: 'up' | 'on-hold' | 'missing' | 'stopped' }
  | { last: { build: string }; first: { state: string | null } }
> {
  const store = deps.store(env);
  const last = await readLastChange(store, env);
  if (last?.action !== 'down' || last.result !== 'succeeded') {
    return {
      skip: 'up',
      why: `not parked: the last change is ${last ? `${last.action} build ${last.build} (${last.result})` : 'none'}`,
    };
  }
  const held = (await readHold(store, env))?.hold;
  // A hold that holds back only scheduled ups keeps the environment asleep: AWS's restart of
  // its database goes against the hold as much as against the down, so the guard still acts.
  if (held && holdActive(held, now) && held.skipNext !== 'up')
    return { skip: 'on-hold', why: `${describeHold(held)}; left as it is` };
  const first = await deps.db(env).describe(env.database);
  if (!first.exists) return { skip: 'missing', why: `${label(env.database)} does not exist` };
  if (first.state === 'stopped') return { skip: 'stopped', why: `${label(env.database)} is stopped` };
  return { last, first };
}

/**
 * Keep database stopped: one look at the environment per call; the state machine waits
 * `waitSeconds` and calls again while `phase` is `wait`.
 */
export async function guardStep(deps: Deps, raw: unknown): Promise<GuardContext> {
  const ctx = parseGuard(raw);
  const env = resolveEnvironment(deps.config, ctx.customer, ctx.environment, deps.configSource);
  const store = deps.store(env);
  const db = deps.db(env);
  const now = deps.now();
  const keys = recordKeys(env, ctx.build);
  const noop = (why: string): GuardContext => ({ ...ctx, phase: 'noop', why, waitSeconds: 0 });

  if (ctx.phase === 'start') {
    const parked = await parkedDatabase(deps, env, now);
    if ('why' in parked) return noop(parked.why);
    const { last, first } = parked;
    let lock: HeldLock;
    try {
      lock = await acquireLock(
        store,
        keys.lock,
        {
          owner: ctx.executionId,
          build: ctx.build,
          execution_id: ctx.executionId,
          action: 'keep_stopped',
          user: ctx.user,
        },
        now,
        env.lockTtlSeconds,
        { customer: env.customer, environment: env.environment },
      );
    } catch (err) {
      if (errorName(err) !== ErrorNames.EnvironmentLocked) throw err;
      return noop(`another run holds the lock, left to it: ${errorMessage(err)}`);
    }
    const budget = env.waits.databaseStart.timeoutSeconds + env.waits.databaseStop.timeoutSeconds;
    // The lock goes into the context before anything else can fail, so that a failure
    // record and the release find it.
    return {
      ...ctx,
      phase: 'wait',
      lock,
      stateBefore: first.state,
      downBuild: last.build,
      deadline: new Date(now.getTime() + budget * 1000).toISOString(),
      waitSeconds: 0,
    };
  }
  if (!ctx.lock) throw new CimError(ErrorNames.InvalidInput, 'guard step in phase wait without a lock');
  await fenceLock(store, ctx.lock, GuardSteps.step, now);
  const state = (await db.describe(env.database)).state;
  if (state === 'stopped') {
    const key = await record(deps, env, ctx, 'succeeded', state);
    await releaseLock(store, ctx.lock);
    return { ...ctx, phase: 'done', lock: null, record: `s3://${store.bucket}/${key}`, waitSeconds: 0 };
  }
  if (classifyDatabaseState(state) === 'error') {
    throw new CimError(
      ErrorNames.DatabaseErrorState,
      `${label(env.database)} is in error state '${state}': it cannot be stopped; fix it in the RDS console`,
    );
  }
  if (ctx.deadline && now.getTime() > Date.parse(ctx.deadline)) {
    throw new CimError(
      ErrorNames.WaitTimedOut,
      `${label(env.database)} is still '${state}' after the start and stop timeouts; stop it by hand`,
    );
  }
  if (state === 'available' && !ctx.stopIssued) {
    await db.stop(env.database);
    return { ...ctx, phase: 'wait', stopIssued: true, waitSeconds: GUARD_WAIT_SECONDS };
  }
  // starting, stopping, backing-up, ...: it cannot be stopped yet, or is on its way.
  return { ...ctx, phase: 'wait', waitSeconds: GUARD_WAIT_SECONDS };
}

/** Record guard failure: the failed record (when the guard got as far as the lock) and the lock released. */
export async function guardFailure(deps: Deps, raw: unknown): Promise<GuardContext> {
  const ctx = parseGuard(raw);
  const env = resolveEnvironment(deps.config, ctx.customer, ctx.environment, deps.configSource);
  const out: GuardContext = { ...ctx, phase: 'failed', waitSeconds: 0 };
  const lockKey = recordKeys(env, ctx.build).lock;
  // A step that failed right after taking the lock did not hand it on: find it by owner.
  const held = ctx.lock ?? (await readLock(deps.store(env), lockKey).catch(() => null));
  const lock =
    held && 'info' in held
      ? held.info.owner === ctx.executionId
        ? { key: lockKey, owner: ctx.executionId }
        : null
      : held;
  ctx.lock = lock;
  if (ctx.lock) {
    const store = deps.store(env);
    try {
      out.record = `s3://${store.bucket}/${await record(deps, env, ctx, 'failed', null)}`;
    } finally {
      await releaseLock(store, ctx.lock).catch(() => undefined);
    }
    out.lock = null;
  }
  return out;
}

export interface GuardEnvironmentOutcome {
  environment: string;
  phase: GuardContext['phase'];
  why?: string;
  record?: string;
  error?: string;
}

export interface GuardSummary {
  trigger: string;
  ignored?: string;
  /**
   * In the state output: at most GUARD_SUMMARY_ENVIRONMENTS, failed and re-stopped first
   * (`environmentsOmitted` says how many more); every one is in the map run's `results`.
   */
  environments: GuardEnvironmentOutcome[];
  environmentsOmitted?: number;
  guarded: number;
  restopped: number;
  failed: number;
  /** The map run's manifest (ResultWriter). */
  results?: { bucket: string; key: string } | null;
}

/** At most this many environments in the summary's state output (262,144 bytes per state). */
export const GUARD_SUMMARY_ENVIRONMENTS = 25;

/** Every environment's outcome, from the map run's results (or a list of contexts). */
export async function guardOutcomes(
  deps: Deps,
  results: MapRunOutput | GuardContext[] | undefined,
): Promise<GuardEnvironmentOutcome[]> {
  let contexts: GuardContext[];
  if (Array.isArray(results)) contexts = results;
  else if (isMapRunOutput(results)) {
    const store = storeForBucket(deps, results.ResultWriterDetails.Bucket);
    contexts = (await readMapResults(store, results.ResultWriterDetails.Key)).map((r) =>
      r.status === 'SUCCEEDED'
        ? (r.output as GuardContext)
        : // The item's own execution failed outside its Catch: a failure of that environment.
          {
            ...(r.item as GuardContext),
            phase: 'failed' as const,
            error: r.error as { Error: string; Cause: string },
          },
    );
  } else contexts = [];
  return contexts
    .map((c) => ({
      environment: `${c.customer}/${c.environment}`,
      phase: c.phase,
      ...(c.why ? { why: c.why } : {}),
      ...(c.record ? { record: c.record } : {}),
      ...(c.error ? { error: `${c.error.Error}: ${c.error.Cause}` } : {}),
    }))
    .sort((a, b) => a.environment.localeCompare(b.environment));
}

const ORDER: Record<GuardContext['phase'], number> = { failed: 0, done: 1, wait: 2, start: 3, noop: 4 };

/** Summarize guard: counts and the first environments; a failure fails the execution (and its alarm). */
export async function guardSummary(deps: Deps, raw: unknown): Promise<GuardSummary> {
  const r = (raw ?? {}) as { trigger?: string; ignored?: string; results?: MapRunOutput | GuardContext[] };
  const all = await guardOutcomes(deps, r.results);
  const shown = [...all]
    .sort((a, b) => ORDER[a.phase] - ORDER[b.phase] || a.environment.localeCompare(b.environment))
    .slice(0, GUARD_SUMMARY_ENVIRONMENTS)
    .map((e) => (e.error ? { ...e, error: e.error.slice(0, 500) } : e));
  const failed = all.filter((e) => e.phase === 'failed');
  const summary: GuardSummary = {
    trigger: r.trigger ?? 'unknown',
    ...(r.ignored ? { ignored: r.ignored } : {}),
    environments: shown,
    ...(all.length > shown.length ? { environmentsOmitted: all.length - shown.length } : {}),
    guarded: all.length,
    restopped: all.filter((e) => e.phase === 'done').length,
    failed: failed.length,
    results: isMapRunOutput(r.results)
      ? { bucket: r.results.ResultWriterDetails.Bucket, key: r.results.ResultWriterDetails.Key }
      : null,
  };
  if (failed.length > 0) {
    throw new CimError(
      ErrorNames.GuardHadFailures,
      `the guard could not keep ${failed.length} database(s) stopped: ${failed
        .slice(0, 10)
        .map((e) => `${e.environment} (${(e.error ?? 'unknown').slice(0, 300)})`)
        .join(
          '; ',
        )}${failed.length > 10 ? `; and ${failed.length - 10} more (see the map run's results${summary.results ? ` in s3://${summary.results.bucket}/${summary.results.key}` : ''})` : ''}`,
    );
  }
  return summary;
}
