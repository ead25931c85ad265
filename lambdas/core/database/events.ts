// Owns the event-driven database wait (deployed form): the waiting Task stores its task token
// next to the environment's records, then looks at the database once itself (the event may
// have come before the token was stored); the function on the RDS "started"/"stopped" events
// finds the token of the event's database and completes the Task. A missed event ends in the
// Task's timeout, after which the workflow polls as without events.
import * as z from 'zod';
import { listEnvironments, resolveEnvironment } from '../config/catalog.ts';
import type { Environment } from '../config/schema.ts';
import { type Deps, envOf, type RunContext } from '../contracts.ts';
import type { DatabaseWait } from '../gateways/task-tokens.ts';
import { fence } from '../run/fence.ts';
import { classifyDatabaseState, type DatabaseGoal, label } from './rules.ts';

/** The RDS events that end a wait, per database kind: started (→ available), stopped. */
export const DATABASE_EVENTS = {
  instance: { 'RDS-EVENT-0088': 'available', 'RDS-EVENT-0087': 'stopped' },
  cluster: { 'RDS-EVENT-0151': 'available', 'RDS-EVENT-0150': 'stopped' },
} as const satisfies Record<'instance' | 'cluster', Record<string, DatabaseGoal>>;

/** Where the waiting Task's token is kept: next to the environment's records. */
export const DATABASE_WAIT_RECORD = 'database-wait.json';
export const waitRecordKey = (env: Environment) => `${env.keyPrefix}/${DATABASE_WAIT_RECORD}`;

/** Step Functions' task tokens are 1 to 2,048 characters (SendTaskSuccess, API reference). */
export const TASK_TOKEN_MAX_LENGTH = 2048;

const WaitRecord = z
  .object({
    token: z.string().min(1).max(TASK_TOKEN_MAX_LENGTH),
    goal: z.enum(['available', 'stopped']),
    kind: z.enum(['instance', 'cluster']),
    identifier: z.string().min(1),
    executionId: z.string(),
    storedAt: z.string(),
  })
  .strict();
type WaitRecord = z.infer<typeof WaitRecord>;

/**
 * Events are used when the deployment wires them (the stack sets `databaseEvents`) for
 * databases in the central account: a target account's events reach its own default bus.
 * The fallback waits twice the usual duration (at least 5 minutes, at most the deadline).
 */
export function databaseWait(
  deps: Deps,
  env: Environment,
  goal: DatabaseGoal,
  pending: boolean,
): DatabaseWait {
  const wait = goal === 'stopped' ? env.waits.databaseStop : env.waits.databaseStart;
  return {
    events: Boolean(deps.databaseEvents) && pending && !env.target,
    fallbackSeconds: Math.max(1, Math.min(wait.timeoutSeconds, Math.max(300, 2 * wait.expectedSeconds))),
  };
}

/**
 * The waiting Task: store the token (overwriting an earlier attempt's), then look once; a
 * database already at the goal, or in an error state, completes the Task at once (the
 * check that follows reports it).
 */
export async function awaitDatabaseEvent(
  deps: Deps,
  ctx: RunContext,
  token: string,
  step: string,
): Promise<{ stored: string; selfCompleted: boolean }> {
  if (!deps.taskTokens) throw new Error('internal: no task token service for the database event wait');
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const goal: DatabaseGoal = ctx.request.action === 'down' ? 'stopped' : 'available';
  const key = waitRecordKey(env);
  const record: WaitRecord = {
    token,
    goal,
    kind: env.database.kind,
    identifier: env.database.identifier,
    executionId: ctx.executionId,
    storedAt: deps.now().toISOString(),
  };
  await deps.store(env).putJson(key, record);
  const state = await deps.db(env).describe(env.database);
  const done = state.state === goal || classifyDatabaseState(state.state) === 'error';
  if (done) await deps.taskTokens.succeed(token, { by: 'self-check', state: state.state });
  deps.log.info(done ? 'database already there' : `waiting for the ${goal} event of ${label(env.database)}`, {
    state: state.state,
  });
  return { stored: key, selfCompleted: done };
}

// What EventBridge always sets on an RDS event: the account and region it comes from and
// when it happened. An event without them was not delivered by EventBridge.
const RdsEvent = z.looseObject({
  source: z.literal('aws.rds'),
  'detail-type': z.enum(['RDS DB Instance Event', 'RDS DB Cluster Event']),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
  time: z.string().refine((t) => Number.isFinite(Date.parse(t))),
  detail: z.looseObject({
    SourceIdentifier: z.string().regex(/^[A-Za-z0-9-]{1,63}$/),
    SourceType: z.enum(['DB_INSTANCE', 'CLUSTER']),
    SourceArn: z.string().optional(),
    EventID: z.string().regex(/^RDS-EVENT-\d{4}$/),
  }),
});

/** Clocks of RDS and of the waiting Task may differ a little; an event older than this before the wait is stale. */
export const EVENT_CLOCK_SKEW_SECONDS = 60;

/** Why an event that parsed is still not trustworthy, or null. */
function eventMismatch(e: z.infer<typeof RdsEvent>, account: string | undefined): string | null {
  const d = e.detail;
  const instance = e['detail-type'] === 'RDS DB Instance Event';
  if (instance !== (d.SourceType === 'DB_INSTANCE'))
    return `"${e['detail-type']}" does not match SourceType ${d.SourceType}`;
  if (account !== undefined && e.account !== account)
    return `it comes from account ${e.account}, not this deployment's account ${account}`;
  if (d.SourceArn !== undefined) {
    const want = `:rds:${e.region}:${e.account}:${instance ? 'db' : 'cluster'}:${d.SourceIdentifier}`;
    if (!/^arn:aws[a-z-]*:rds:/.test(d.SourceArn) || !d.SourceArn.endsWith(want))
      return `its SourceArn ${d.SourceArn} does not name ${want.slice(1)}`;
  }
  return null;
}

export interface DatabaseEventResult {
  event: string;
  /** Waits completed, by environment key. */
  completed: string[];
  /** Why nothing (more) was done. */
  ignored: string[];
}

/** The function on the RDS events: complete the waits of the configured environments on this database. */
export async function handleDatabaseEvent(
  deps: Deps,
  raw: unknown,
  /** This deployment's account (the function's CIM_ACCOUNT_ID): events from any other are ignored. */
  expected: { account?: string | undefined } = {},
): Promise<DatabaseEventResult> {
  if (!deps.taskTokens) throw new Error('internal: no task token service for database events');
  const parsed = RdsEvent.safeParse(raw);
  if (!parsed.success)
    return {
      event: 'invalid',
      completed: [],
      ignored: [
        `not an RDS instance or cluster event from EventBridge (${parsed.error.issues
          .slice(0, 2)
          .map((i) => i.path.join('.') || '(top)')
          .join(', ')}); ignored`,
      ],
    };
  const d = parsed.data.detail;
  const mismatch = eventMismatch(parsed.data, expected.account);
  if (mismatch)
    return {
      event: `${d.EventID} ${d.SourceType} ${d.SourceIdentifier}`,
      completed: [],
      ignored: [`${mismatch}; ignored`],
    };
  const eventTime = Date.parse(parsed.data.time);
  const kind = d.SourceType === 'CLUSTER' ? 'cluster' : 'instance';
  const event = `${d.EventID} ${d.SourceType} ${d.SourceIdentifier}`;
  const goal = (DATABASE_EVENTS[kind] as Record<string, DatabaseGoal>)[d.EventID];
  if (!goal) return { event, completed: [], ignored: [`${d.EventID} does not end a database wait`] };
  const out: DatabaseEventResult = { event, completed: [], ignored: [] };
  for (const key of listEnvironments(deps.config)) {
    const [c = '', e = ''] = key.split('/');
    const env = resolveEnvironment(deps.config, c, e, deps.configSource);
    if (env.database.kind !== kind || env.database.identifier !== d.SourceIdentifier) continue;
    if (env.region !== parsed.data.region) continue;
    const store = deps.store(env);
    // Without s3:ListBucket (this function may only read and delete wait records), S3 answers
    // a missing record with 403, not 404: most events (manual starts, RDS's 7-day auto-start,
    // duplicates) find none. Either way nothing waits that this call could complete; a run
    // that did wait falls back to polling, so this never fails the event or the other environments.
    let stored: Awaited<ReturnType<typeof store.getJson>>;
    try {
      stored = await store.getJson(waitRecordKey(env));
    } catch (err) {
      deps.log.warn('no readable wait record', { environment: key, error: (err as Error).message });
      out.ignored.push(`${key}: no run is waiting (its wait record is absent or not readable)`);
      continue;
    }
    if (!stored) {
      out.ignored.push(`${key}: no run is waiting`);
      continue;
    }
    const record = WaitRecord.safeParse(stored.json);
    if (
      !record.success ||
      record.data.kind !== kind ||
      record.data.identifier !== d.SourceIdentifier ||
      record.data.goal !== goal
    ) {
      out.ignored.push(`${key}: the stored wait is not for ${goal} of this database`);
      continue;
    }
    // An event from before the wait began (a replayed or delayed one) says nothing about
    // the change this run made: the wait and its record stay.
    if (eventTime < Date.parse(record.data.storedAt) - EVENT_CLOCK_SKEW_SECONDS * 1000) {
      out.ignored.push(
        `${key}: the event (${parsed.data.time}) is older than the wait (${record.data.storedAt})`,
      );
      continue;
    }
    const sent = await deps.taskTokens.succeed(record.data.token, { by: 'event', event: d.EventID });
    // Only the record this call read: a newer run's token is left for its own event.
    await store.deleteObject(waitRecordKey(env), stored.etag).catch(() => undefined);
    if (sent === 'sent') out.completed.push(key);
    else out.ignored.push(`${key}: the run no longer waits`);
  }
  if (!out.completed.length && !out.ignored.length)
    out.ignored.push(`${kind} "${d.SourceIdentifier}" is not the database of any configured environment`);
  return out;
}
