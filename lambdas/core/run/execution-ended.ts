// Owns what happens when an environment execution ends without its Catch: stopped from the
// console or the API (ABORTED), past the state machine's timeout (TIMED_OUT), or failed in a
// way no Catch catches (FAILED, e.g. States.DataLimitExceeded). Step Functions runs no state
// then, so "Record failure" never runs: the lock would stay until its TTL and actions.json
// would keep saying "running". An EventBridge rule on the execution status change delivers
// the event here, and this records the run as ended and releases its lock.
//
// The event is untrusted input: its execution input is parsed like a run request (only the
// customer and environment are used) and nothing is done for an execution that does not own
// the records. Every write is conditional and the whole thing is safe to run again: a second
// delivery, or a run whose Catch already recorded, finds nothing to do.
import * as z from 'zod';
import { resolveEnvironment } from '../config/catalog.ts';
import { type Environment, NAME_PATTERN } from '../config/schema.ts';
import { type Deps, issuesText } from '../contracts.ts';
import { CimError, ErrorNames, errorMessage } from '../errors.ts';
import { PreconditionFailed, putOnce, recordKeys, type StateStore } from '../gateways/store.ts';
import { readActionRecord, writtenByExecution } from '../records/actions.ts';
import { type ActionRecord, actionToLegacy } from '../records/legacy-state.ts';
import { type LockInfo, readLock, releaseLock } from '../records/lock.ts';

/** The execution statuses that may end a run without its Catch. */
export const ENDED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;
export type EndedStatus = (typeof ENDED_STATUSES)[number];
export const STATUS_CHANGE_DETAIL_TYPE = 'Step Functions Execution Status Change';

/** Who writes the lock while recording a dead run whose lock is already gone (so no run starts in between). */
const RECORDER_LOCK_SECONDS = 300;

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_.:-]{1,160}$/;

const StatusChange = z.object({
  source: z.literal('aws.states', { message: 'source must be aws.states' }),
  'detail-type': z.literal(STATUS_CHANGE_DETAIL_TYPE, {
    message: `detail-type must be "${STATUS_CHANGE_DETAIL_TYPE}"`,
  }),
  detail: z.looseObject({
    executionArn: z
      .string()
      .regex(EXECUTION_ARN, 'detail.executionArn must be a Step Functions execution ARN'),
    stateMachineArn: z.string().optional(),
    status: z.enum(ENDED_STATUSES, { message: `detail.status must be one of ${ENDED_STATUSES.join(', ')}` }),
    input: z.string({ message: 'detail.input must be the execution input as a JSON string' }).nullable(),
    inputDetails: z.looseObject({ included: z.boolean() }).optional(),
    error: z.string().nullable().optional(),
  }),
});

/** Only what locates the records; the rest of the input is Prepare's business (and may be anything). */
const ExecutionInput = z.looseObject({
  customer: z.string().regex(NAME_PATTERN, 'customer must be a configured customer name'),
  environment: z.string().regex(NAME_PATTERN, 'environment must be a configured environment name'),
});

export interface EndedExecution {
  executionArn: string;
  stateMachineArn?: string;
  status: EndedStatus;
  customer: string;
  environment: string;
  /** FAILED only: the error name Step Functions reports (never the cause: it may carry data). */
  error?: string;
}

/**
 * Validates an execution status change event. Throws InvalidInput for something that is not
 * one (a misrouted or forged event); returns null for an execution whose input names no
 * environment (Prepare refused it: it never took a lock or wrote a record).
 */
export function parseStatusChange(raw: unknown): EndedExecution | null {
  const parsed = StatusChange.safeParse(raw);
  if (!parsed.success)
    throw new CimError(
      ErrorNames.InvalidInput,
      `not a Step Functions execution status change of an ended execution: ${issuesText(parsed.error)}`,
    );
  const d = parsed.data.detail;
  if (d.inputDetails && !d.inputDetails.included)
    throw new CimError(
      ErrorNames.InvalidInput,
      `the event of ${d.executionArn} does not include the execution input (too large for EventBridge); run \`cim unlock\` for its environment and check its action record`,
    );
  let input: unknown;
  try {
    input = d.input === null ? null : JSON.parse(d.input);
  } catch {
    return null;
  }
  const req = ExecutionInput.safeParse(input);
  if (!req.success) return null;
  return {
    executionArn: d.executionArn,
    ...(d.stateMachineArn ? { stateMachineArn: d.stateMachineArn } : {}),
    status: d.status,
    customer: req.data.customer,
    environment: req.data.environment,
    ...(d.status === 'FAILED' && d.error ? { error: d.error.slice(0, 128) } : {}),
  };
}

export interface EndedOutcome {
  executionArn: string;
  status: EndedStatus;
  environment: string | null;
  /** What happened to the action record. */
  record:
    | 'recorded'
    | 'already-ended'
    | 'not-this-execution'
    | 'no-record'
    | 'locked-by-another-run'
    | 'ignored';
  /** The result now in actions.json, when this execution's record was written or adopted. */
  result?: string;
  lock: 'released' | 'absent' | 'not-ours';
  why?: string;
}

const WHY: Record<EndedStatus, string> = {
  ABORTED: 'it was stopped (console, API or a fleet that stopped its children)',
  TIMED_OUT: "it ran past the state machine's timeout",
  FAILED: 'it failed with an error no Catch handles',
};

const ERROR_NAME: Record<EndedStatus, string> = {
  ABORTED: 'ExecutionAborted',
  TIMED_OUT: 'ExecutionTimedOut',
  FAILED: 'ExecutionFailed',
};

/** The record of the run, ended: its intent record with the result and the error. */
function endedRecord(
  rec: ActionRecord,
  ended: EndedExecution,
  step: string | undefined,
): Record<string, unknown> {
  const message = `the execution ended ${ended.status} without running its Catch: ${WHY[ended.status]}${ended.error ? ` (${ended.error})` : ''}; recorded by the execution status-change rule. Run the same action again to finish it (the restore point is kept).`;
  return actionToLegacy({
    ...rec,
    result: ended.status === 'FAILED' ? 'failed' : 'interrupted',
    error: { name: ERROR_NAME[ended.status], message, ...(step ? { step } : {}) },
    // An unfinished change keeps the restore point of its streak (see nextLastChange).
    ...(rec.lastChange ? { lastChange: { ...rec.lastChange, result: 'failed' as const } } : {}),
  });
}

/**
 * Records the end of `ended` and releases its lock, each only if it is that execution's:
 *  - actions.json is rewritten only while it says "running" for this execution, and only
 *    under the lock (this execution's, or one taken for it here when the lock is gone);
 *  - the history record is write-once (a record the run wrote itself before it died is
 *    adopted, as Record failure does);
 *  - the lock is deleted with If-Match, only when this execution owns it.
 */
export async function recordEndedExecution(deps: Deps, raw: unknown): Promise<EndedOutcome> {
  const ended = parseStatusChange(raw);
  const arn = (raw as { detail?: { executionArn?: string } }).detail?.executionArn ?? '';
  const status = (raw as { detail?: { status?: EndedStatus } }).detail?.status ?? 'ABORTED';
  if (!ended)
    return {
      executionArn: arn,
      status,
      environment: null,
      record: 'ignored',
      lock: 'absent',
      why: 'the execution input names no environment (Prepare refused it: no lock, no record)',
    };
  let env: Environment;
  try {
    env = resolveEnvironment(deps.config, ended.customer, ended.environment, deps.configSource);
  } catch (err) {
    return {
      executionArn: arn,
      status,
      environment: `${ended.customer}/${ended.environment}`,
      record: 'ignored',
      lock: 'absent',
      why: errorMessage(err),
    };
  }
  const store = deps.store(env);
  const keys = recordKeys(env, '_');
  const where = `${env.customer}/${env.environment}`;

  const lockBefore = await readLock(store, keys.lock);
  const owned = lockBefore?.info.owner === ended.executionArn;
  const { record, result } = await recordIfRunning(deps, store, env, ended, lockBefore?.info, owned);
  const lock = owned
    ? await releaseLock(store, { key: keys.lock, owner: ended.executionArn })
    : lockBefore
      ? 'not-ours'
      : 'absent';
  const outcome: EndedOutcome = {
    executionArn: ended.executionArn,
    status: ended.status,
    environment: where,
    record,
    ...(result ? { result } : {}),
    lock,
  };
  deps.log.info('execution ended without its Catch', { ...outcome });
  return outcome;
}

async function recordIfRunning(
  deps: Deps,
  store: StateStore,
  env: Environment,
  ended: EndedExecution,
  lock: Partial<LockInfo> | undefined,
  owned: boolean,
): Promise<{ record: EndedOutcome['record']; result?: string }> {
  const keys = recordKeys(env, '_');
  for (let attempt = 0; attempt < 3; attempt++) {
    const latest = await store.getJson(keys.actions);
    if (!latest) return { record: 'no-record' };
    if (writtenByExecution(latest.json) !== ended.executionArn) return { record: 'not-this-execution' };
    const result = (latest.json as { result?: unknown }).result;
    if (result !== 'running') return { record: 'already-ended', result: String(result) };
    // The record says this run is still going: only the lock holder may replace it. If the
    // lock is gone, take it for the dead execution while recording, so that no new run reads
    // actions.json in between; if another run holds it, that run recovers from "running".
    let tookLock = false;
    if (!owned) {
      if (lock) return { record: 'locked-by-another-run' };
      tookLock = await takeLockFor(store, keys.lock, ended, deps.now());
      if (!tookLock) return { record: 'locked-by-another-run' };
    }
    try {
      const rec = readActionRecord(latest.json, keys.actions, env);
      const history = recordKeys(env, rec.build).historyActions;
      const next = endedRecord(rec, ended, owned ? lock?.step : undefined);
      // Written as the dead execution's record: a run that got as far as writing its own
      // (Record result or Record failure died after it) keeps what it wrote.
      const adopted = (await putOnce(store, history, next, ended.executionArn)).adopted as Record<
        string,
        unknown
      > | null;
      const final = adopted ?? next;
      readActionRecord(final, history, env);
      try {
        await store.putJson(keys.actions, final, { ifMatch: latest.etag });
      } catch (err) {
        if (err instanceof PreconditionFailed) continue; // changed since read: look again
        throw err;
      }
      return { record: 'recorded', result: String(final.result) };
    } finally {
      if (tookLock) await releaseLock(store, { key: keys.lock, owner: ended.executionArn });
    }
  }
  throw new CimError(
    ErrorNames.ConditionalWriteConflict,
    `s3://${store.bucket}/${keys.actions} kept changing while recording the end of ${ended.executionArn}; retrying`,
  );
}

async function takeLockFor(
  store: StateStore,
  key: string,
  ended: EndedExecution,
  now: Date,
): Promise<boolean> {
  const body: LockInfo = {
    owner: ended.executionArn,
    build: '',
    execution_id: ended.executionArn,
    action: 'record-ended-execution',
    user: 'execution-status-rule',
    acquired_at: now.toISOString(),
    expires_at: new Date(now.getTime() + RECORDER_LOCK_SECONDS * 1000).toISOString(),
    heartbeat_at: now.toISOString(),
    step: `recording ${ended.status}`,
  };
  try {
    await store.putJson(key, body, { ifNoneMatch: true });
    return true;
  } catch (err) {
    if (!(err instanceof PreconditionFailed)) throw err;
    // A redelivery of this event may have taken it a moment ago.
    return (await readLock(store, key))?.info.owner === ended.executionArn;
  }
}
