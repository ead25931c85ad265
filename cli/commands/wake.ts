// `cim wake`: wake a sleeping environment on demand for a while (issue 19). A wake is an up
// run by the ordinary run path (cli/commands/run.ts) as `wake:<user>`, and a wake record
// (records/wake.ts) saying until when. The conditional write of that record decides which of
// several concurrent wakes runs the up; the others answer with it. `--extend` moves its
// until, `--end` puts the environment to sleep now (the ordinary down), and `--sweep` (from
// cron) runs the downs of the wakes whose time is up. Every input is checked before the first
// write: a bad command line changes nothing.

import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { Environment } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import { generateBuildId } from '#core/contracts';
import { CimError, ErrorNames, errorName, unprintableCharacter } from '#core/errors';
import type { StateStore } from '#core/gateways/store';
import { readLastChange } from '#core/records/actions';
import { readHold } from '#core/records/hold';
import type { LastChange } from '#core/records/legacy-state';
import {
  claimWake,
  clearWake,
  clockTime,
  DEFAULT_WAKE_MINUTES,
  describeWake,
  MAX_WAKE_MINUTES,
  parseWakeDuration,
  readWake,
  replaceWake,
  type Wake,
} from '#core/records/wake';
import { wakeUser } from '#core/run/trigger';
import type { WakeRequest } from '#core/run/wake-request';
import { decideWake, extendedUntil, sweepDecision, wakeInEffect } from '#core/run/wake-rules';
import { countWake as countInLedgers, wakeRateRefusal } from '#core/run/wake-run';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';
import { type RunInvocation, runCommand } from './run.ts';
import { refuseRemoteMode, wakeRemote } from './wake-remote.ts';

export interface WakeInvocation {
  command: 'wake';
  configPath: string;
  json: boolean;
  color: boolean;
  mode: 'wake' | 'extend' | 'end' | 'sweep';
  customer: string | undefined;
  environment: string | undefined;
  select: string | undefined;
  /** `--for` (mode wake) or `--extend`'s duration, as given: checked by the command (exit 64). */
  duration: string | undefined;
  user: string;
  kubeconfig: string | undefined;
  context: string | undefined;
  /** Through the deployed environment workflow (cli/commands/wake-remote.ts). */
  remote: boolean;
  stateMachineArn: string | undefined;
}

/** The user goes into the wake record and, as `wake:<user>`, into the run's records: printable, and short enough for both. */
const MAX_WAKE_USER = 128 - 'wake:'.length;
function checkUser(user: string): void {
  const bad = unprintableCharacter(user);
  if (bad || user.trim() === '' || user.length > MAX_WAKE_USER)
    throw new CimError(
      ErrorNames.InvalidInput,
      `user must be 1-${MAX_WAKE_USER} characters without control, bidirectional or invisible characters${bad ? `: it contains ${bad}` : ''} (--user or BUILD_USER)`,
    );
}

function selected(inv: WakeInvocation, config: ReturnType<typeof loadConfigFile>): Environment[] {
  if (inv.customer && inv.environment)
    return [resolveEnvironment(config, inv.customer, inv.environment, inv.configPath)];
  const keys = selectEnvironments(config, parseSelectionArg(inv.select ?? '*'), inv.configPath);
  return keys.map((k) => {
    const [c = '', e = ''] = k.split('/');
    return resolveEnvironment(config, c, e, inv.configPath);
  });
}

const storeOf = (env: Environment) => new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
const where = (env: Environment) => `${env.customer}/${env.environment}`;

/** What a wake decision reads: the hold, the wake (with its etag) and the last change. */
async function readFacts(store: StateStore, env: Environment) {
  const [hold, wake, last] = await Promise.all([
    readHold(store, env),
    readWake(store, env),
    readLastChange(store, env),
  ]);
  return { hold: hold?.hold ?? null, wake, last };
}

/**
 * The ordinary run path, on the local engine, as the wake's run. A wake's up carries its wake
 * in the request, as the deployed endpoint's does: the run records it (its own claim, already
 * made here), with the requester in its action record.
 */
function runOf(
  inv: WakeInvocation,
  env: Environment,
  action: 'up' | 'down',
  user: string,
  build?: string,
  wake?: WakeRequest,
) {
  const run: RunInvocation = {
    command: 'run',
    request: {
      action,
      customer: env.customer,
      environment: env.environment,
      build,
      user: user.slice(0, 128),
      dryRun: false,
      record: false,
      ...(wake ? { wake } : {}),
    },
    configPath: inv.configPath,
    legacy: {},
    json: inv.json,
    remote: inv.remote,
    stateMachineArn: inv.stateMachineArn,
    kubeconfig: inv.kubeconfig,
    context: inv.context,
    color: inv.color,
  };
  return run;
}

const say = (inv: WakeInvocation, text: string, json: Record<string, unknown>) =>
  process.stdout.write(inv.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);

export async function wake(inv: WakeInvocation, now = () => new Date()): Promise<number> {
  try {
    // Every input before anything is read or written.
    const minutes =
      inv.mode === 'wake'
        ? parseWakeDuration(inv.duration ?? `${DEFAULT_WAKE_MINUTES}m`, '--for')
        : inv.mode === 'extend'
          ? parseWakeDuration(inv.duration ?? '', '--extend')
          : 0;
    checkUser(inv.user);
    if (inv.remote && (inv.mode === 'extend' || inv.mode === 'sweep')) refuseRemoteMode(inv.mode);
    const config = loadConfigFile(inv.configPath);
    const envs = selected(inv, config);
    if (inv.remote && inv.mode === 'wake') return await wakeRemote(inv, config, envs, minutes);
    if (inv.mode === 'sweep') return await sweep(inv, envs, now);
    if (inv.mode === 'extend') return await extendAll(inv, envs, minutes, now());
    const codes: number[] = [];
    for (const env of envs)
      codes.push(
        inv.mode === 'end' ? await endOne(inv, env, now()) : await wakeOne(inv, env, minutes, now()),
      );
    return codes.find((c) => c !== ExitCode.Done) ?? ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}

/**
 * Counts the claimed wake in both ledgers (run/wake-run.ts, the run's own count). When that
 * fails before its up, the claim is taken back: a wake the limits do not see must not run. (A
 * renewal runs no up and is kept: clearing it would leave the environment up with no wake to
 * put it to sleep.)
 */
async function countWake(
  store: StateStore,
  env: Environment,
  w: Wake,
  etag: string,
  renewal = false,
): Promise<void> {
  try {
    await countInLedgers(store, env, w, renewal);
  } catch (err) {
    if (!renewal) await clearWake(store, env, etag).catch(() => undefined);
    throw err;
  }
}

function answerExisting(inv: WakeInvocation, env: Environment, w: Wake): number {
  say(inv, `${where(env)} is already ${describeWake(w)} (build ${w.build}): no second up`, {
    environment: where(env),
    outcome: 'already-awake',
    wake: w,
  });
  return ExitCode.Done;
}

/** Where a wake came from, as recorded: the CLI, or the wake page (`cim serve`) with its request's address and user agent. */
export type WakeOrigin = Pick<Wake, 'source' | 'address' | 'userAgent'>;

/**
 * One environment's wake; also the wake page's (cli/commands/serve.ts), with its origin and
 * told as soon as the wake is decided (claimed, answered by the one in effect, or refused),
 * long before the up ends.
 */
export async function wakeOne(
  inv: WakeInvocation,
  env: Environment,
  minutes: number,
  now: Date,
  origin: WakeOrigin = { source: 'cli' },
  decided: (d: { kind: 'claimed' | 'existing' } | { kind: 'refused'; why: string }) => void = () => {},
): Promise<number> {
  const store = storeOf(env);
  const facts = await readFacts(store, env);
  const decision = decideWake({ now, where: where(env), ...facts, wake: facts.wake?.wake ?? null });
  if (decision.kind === 'refused') {
    decided({ kind: 'refused', why: decision.why });
    process.stderr.write(`cim: wake refused: ${decision.why}. Nothing was changed.\n`);
    return ExitCode.Refused;
  }
  if (decision.kind === 'existing') {
    decided({ kind: 'existing' });
    return answerExisting(inv, env, decision.wake);
  }
  // A new wake (an up, or a renewal): within the limits, before anything is written.
  const limited = await wakeRateRefusal(store, env, inv.user, now);
  if (limited) {
    decided({ kind: 'refused', why: limited });
    process.stderr.write(`cim: wake refused: ${limited}. Nothing was changed.\n`);
    return ExitCode.Refused;
  }
  const until = new Date(now.getTime() + minutes * 60_000).toISOString();
  if (decision.kind === 'renew') decided({ kind: 'claimed' });
  if (decision.kind === 'renew')
    return renew(inv, env, store, decision.wake, facts.wake?.etag ?? '', now, until, origin);
  const w: Wake = {
    user: inv.user,
    created: now.toISOString(),
    until,
    build: generateBuildId(now),
    wokeFrom: facts.last?.build ?? null,
    ...origin,
  };
  // The conditional write decides: one claim of many wins and runs the up.
  const claimed = await claimWake(store, env, w, facts.wake?.etag ?? null);
  decided({ kind: claimed ? 'claimed' : 'existing' });
  if (!claimed) {
    const winner = await readWake(store, env);
    if (winner) return answerExisting(inv, env, winner.wake);
    throw new CimError(
      ErrorNames.ConditionalWriteConflict,
      `the wake of ${where(env)} changed while this one was placed; nothing was changed, wake it again`,
    );
  }
  await countWake(store, env, w, claimed.etag);
  const asked: WakeRequest = {
    minutes,
    source: w.source,
    requester: {
      user: inv.user,
      ...(w.address !== undefined ? { address: w.address } : {}),
      ...(w.userAgent !== undefined ? { userAgent: w.userAgent } : {}),
    },
  };
  const code = await runCommand(runOf(inv, env, 'up', wakeUser(inv.user), w.build, asked), {
    wake: { environment: where(env), ...w },
  });
  if (code !== ExitCode.Done) {
    // The up did not succeed: the claim must not keep later wakes from trying again.
    await clearWake(store, env, claimed.etag).catch(() => undefined);
    if (!inv.json)
      process.stderr.write(`cim: the wake of ${where(env)} was not kept: its up did not succeed\n`);
    return code;
  }
  if (!inv.json)
    process.stdout.write(
      `${where(env)} is ${describeWake(w)}; then it goes back to sleep (cim wake --sweep, run from cron, puts it down). Extend: cim wake --customer ${env.customer} --env ${env.environment} --extend 1h; end now: --end\n`,
    );
  return code;
}

/** Still up from an expired wake: a new wake over the same up, no run. */
async function renew(
  inv: WakeInvocation,
  env: Environment,
  store: StateStore,
  old: Wake,
  etag: string,
  now: Date,
  until: string,
  origin: WakeOrigin,
): Promise<number> {
  const w: Wake = {
    user: inv.user,
    created: now.toISOString(),
    until,
    build: old.build,
    wokeFrom: old.wokeFrom,
    ...origin,
  };
  const claimed = await claimWake(store, env, w, etag);
  if (!claimed) {
    const winner = await readWake(store, env);
    if (winner) return answerExisting(inv, env, winner.wake);
    throw new CimError(
      ErrorNames.ConditionalWriteConflict,
      `the wake of ${where(env)} changed while this one was placed; nothing was changed, wake it again`,
    );
  }
  await countWake(store, env, w, claimed.etag, true);
  say(
    inv,
    `${where(env)} is ${describeWake(w)} (still up from the wake by ${old.user}, build ${old.build}: no up needed)`,
    {
      environment: where(env),
      outcome: 'renewed',
      wake: w,
    },
  );
  return ExitCode.Done;
}

/** Extends every selected wake, or none: each must be in effect and its new until within the maximum. */
async function extendAll(inv: WakeInvocation, envs: Environment[], minutes: number, now: Date) {
  const plans: { env: Environment; store: StateStore; wake: Wake; etag: string; until: string }[] = [];
  for (const env of envs) {
    const store = storeOf(env);
    const { wake: stored, last } = await readFacts(store, env);
    if (!stored || !wakeInEffect(stored.wake, last, now))
      throw new CimError(
        ErrorNames.InvalidInput,
        `${where(env)} has no wake in effect to extend${stored ? ` (the last one, until ${stored.wake.until}, has ${Date.parse(stored.wake.until) <= now.getTime() ? 'expired' : 'ended'})` : ''}; nothing was changed`,
      );
    const moved = extendedUntil(stored.wake, minutes, MAX_WAKE_MINUTES, now);
    if ('refused' in moved)
      throw new CimError(ErrorNames.InvalidInput, `${where(env)}: ${moved.refused}; nothing was changed`);
    plans.push({ env, store, wake: stored.wake, etag: stored.etag, until: moved.until });
  }
  const out: Wake[] = [];
  for (const p of plans) {
    const w: Wake = { ...p.wake, until: p.until, extended: now.toISOString() };
    await replaceWake(p.store, p.env, w, p.etag);
    out.push(w);
    if (!inv.json)
      process.stdout.write(
        `${where(p.env)} is ${describeWake(w)} (extended from ${clockTime(p.wake.until)} by ${inv.user})\n`,
      );
  }
  if (inv.json) process.stdout.write(`${JSON.stringify({ outcome: 'extended', wakes: out }, null, 2)}\n`);
  return ExitCode.Done;
}

/** `--end`: the ordinary down now, as the wake's end; then the wake is cleared. */
async function endOne(inv: WakeInvocation, env: Environment, now: Date): Promise<number> {
  const store = storeOf(env);
  const { wake: stored, last } = await readFacts(store, env);
  if (!stored || !wakeInEffect(stored.wake, last, now))
    throw new CimError(
      ErrorNames.InvalidInput,
      `${where(env)} has no wake in effect to end; nothing was changed`,
    );
  const code = await runCommand(runOf(inv, env, 'down', wakeUser(inv.user)), {
    wakeEnded: { environment: where(env), ...stored.wake, endedBy: inv.user },
  });
  if (code === ExitCode.Done) {
    // Recorded after the wake's up, the down has ended the wake already; the record goes too.
    await clearWake(store, env, stored.etag);
    if (!inv.json)
      process.stdout.write(
        `${where(env)}: the wake by ${stored.wake.user} was ended by ${inv.user}; asleep\n`,
      );
  }
  return code;
}

/**
 * `--sweep` (cron, every few minutes): each expired wake that still keeps its environment up
 * gets its down (as `wake:ttl:<user>`), then is cleared; an expired wake whose environment was
 * already put down by someone else is just cleared. Wakes still running are left alone.
 */
async function sweep(inv: WakeInvocation, envs: Environment[], now: () => Date): Promise<number> {
  const codes: number[] = [];
  const rows: { environment: string; outcome: string; wake?: Wake; error?: string }[] = [];
  for (const env of envs) {
    const store = storeOf(env);
    // From cron over the whole fleet: one read per environment without a wake.
    let facts: { wake: Awaited<ReturnType<typeof readWake>>; last: LastChange | null };
    try {
      const found = await readWake(store, env);
      facts = { wake: found, last: found ? await readLastChange(store, env) : null };
    } catch (err) {
      // One unreadable record does not keep the other environments from sleeping.
      rows.push({ environment: where(env), outcome: 'unreadable', error: cliMessage(err) });
      codes.push(exitCodeFor(errorName(err)));
      continue;
    }
    if (!facts.wake) continue;
    const { wake: w, etag } = facts.wake;
    const decision = sweepDecision(w, facts.last, now());
    if (decision.kind === 'keep') {
      rows.push({ environment: where(env), outcome: 'kept', wake: w });
      continue;
    }
    if (decision.kind === 'down') {
      const code = await runCommand(runOf(inv, env, 'down', `wake:ttl:${w.user}`));
      codes.push(code);
      if (code !== ExitCode.Done) {
        rows.push({ environment: where(env), outcome: 'down-failed', wake: w });
        continue;
      }
    }
    await clearWake(store, env, etag);
    rows.push({
      environment: where(env),
      outcome: decision.kind === 'down' ? 'put-to-sleep' : 'cleared',
      wake: w,
    });
  }
  const said: Record<string, string> = {
    kept: 'awake on demand: kept',
    'put-to-sleep': 'wake expired: put to sleep, wake cleared',
    cleared: 'wake expired and the environment was already asleep (or its up failed): cleared',
    'down-failed': 'wake expired, but its down did not succeed: kept for the next sweep',
    unreadable: 'wake record unreadable',
  };
  process.stdout.write(
    inv.json
      ? `${JSON.stringify(rows, null, 2)}\n`
      : rows.length
        ? `${rows.map((r) => `${r.environment}\t${said[r.outcome]}${r.wake ? `\tuntil ${clockTime(r.wake.until)} by ${r.wake.user}` : ''}${r.error ? `\t${r.error}` : ''}`).join('\n')}\n`
        : 'no wakes\n',
  );
  return codes.find((c) => c !== ExitCode.Done) ?? ExitCode.Done;
}
