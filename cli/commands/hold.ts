// `cim hold`: place, list and clear holds on the selected environments. Every input is
// checked (time, reason, selection, each environment resolved) before the first write, so a
// bad command line changes nothing.

import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { Environment } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import { CimError, ErrorNames, errorName, unprintableCharacter } from '#core/errors';
import {
  checkReason,
  clearHold,
  type Hold,
  type HoldPlan,
  holdActive,
  holdScope,
  parseUntil,
  placeHold,
  planHold,
  readHold,
  undoHold,
} from '#core/records/hold';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface HoldInvocation {
  command: 'hold';
  configPath: string;
  json: boolean;
  mode: 'place' | 'list' | 'clear';
  select: string | undefined;
  until: string | undefined;
  reason: string | undefined;
  skipNext: string | undefined;
  user: string;
  /** Check and read everything, print what would change, write nothing. */
  dryRun?: boolean;
}

function selected(inv: HoldInvocation, config: ReturnType<typeof loadConfigFile>): Environment[] {
  const sel = parseSelectionArg(inv.select ?? '*');
  const keys = selectEnvironments(config, sel, inv.configPath);
  return keys.map((k) => {
    const [c = '', e = ''] = k.split('/');
    return resolveEnvironment(config, c, e, inv.configPath);
  });
}

/** The user goes into every hold record: printable only. */
function checkUser(user: string): void {
  const bad = unprintableCharacter(user);
  if (bad || user.trim() === '' || user.length > 128)
    throw new CimError(
      ErrorNames.InvalidInput,
      `user must be 1-128 characters and must not contain control characters, bidirectional marks or invisible characters${bad ? `: it contains ${bad}` : ''} (--user or BUILD_USER)`,
    );
}

const storeOf = (env: Environment) => new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);

function line(env: Environment, hold: Hold, now: Date): string {
  const state = hold.consumed ? 'ended' : holdActive(hold, now) ? 'active' : 'expired';
  const until = hold.consumed ? hold.consumed.untilBefore : hold.until;
  return `${env.customer}/${env.environment}\t${state}\tuntil ${until}\tby ${hold.user}\tsince ${hold.created}\t${holdScope(hold)}${hold.reason ? `\t${hold.reason}` : ''}`;
}

export async function hold(inv: HoldInvocation, now = new Date()): Promise<number> {
  try {
    const config = loadConfigFile(inv.configPath);
    if (inv.mode === 'list') return await listHolds(inv, selected(inv, config), now);
    if (!inv.select) {
      throw new CimError(
        ErrorNames.InvalidInput,
        `hold --${inv.mode === 'clear' ? 'clear' : 'until'} needs --select`,
      );
    }
    const envs = selected(inv, config);
    if (inv.dryRun) return await dryRun(inv, envs, now);
    if (inv.mode === 'clear') return await clearHolds(inv, envs);
    return await placeHolds(inv, envs, now);
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}

async function listHolds(inv: HoldInvocation, envs: Environment[], now: Date): Promise<number> {
  const found: { environment: string; active: boolean; hold: Hold }[] = [];
  const lines: string[] = [];
  for (const env of envs) {
    const h = await readHold(storeOf(env), env);
    if (!h) continue;
    found.push({
      environment: `${env.customer}/${env.environment}`,
      active: holdActive(h.hold, now),
      hold: h.hold,
    });
    lines.push(line(env, h.hold, now));
  }
  process.stdout.write(
    inv.json ? `${JSON.stringify(found, null, 2)}\n` : lines.length ? `${lines.join('\n')}\n` : 'no holds\n',
  );
  return ExitCode.Done;
}

/** Everything a real command reads, nothing it writes. */
async function dryRun(inv: HoldInvocation, envs: Environment[], now: Date): Promise<number> {
  if (inv.mode === 'place') {
    // The same checks as the real command (--skip-next included), before any read.
    const h = requestedHold(inv, now);
    const plans = await Promise.all(envs.map((env) => planHold(storeOf(env), env)));
    process.stdout.write(
      `${envs.map((env, i) => `dry run: would place a hold on ${env.customer}/${env.environment} until ${h.until} (${holdScope(h)})${plans[i]?.existing ? ` (replacing one until ${plans[i]?.existing?.until})` : ''}`).join('\n')}\nNothing was changed.\n`,
    );
  } else {
    const found = await Promise.all(envs.map((env) => readHold(storeOf(env), env).catch(() => null)));
    process.stdout.write(
      `${envs.map((env, i) => `dry run: ${env.customer}/${env.environment}\t${found[i] ? `would clear the hold until ${found[i]?.hold.until}` : 'no hold'}`).join('\n')}\nNothing was changed.\n`,
    );
  }
  return ExitCode.Done;
}

async function clearHolds(inv: HoldInvocation, envs: Environment[]): Promise<number> {
  const out: { environment: string; cleared: Hold | null }[] = [];
  for (const env of envs) {
    const { cleared } = await clearHold(storeOf(env), env);
    out.push({ environment: `${env.customer}/${env.environment}`, cleared });
  }
  process.stdout.write(
    inv.json
      ? `${JSON.stringify(out, null, 2)}\n`
      : `${out.map((o) => `${o.environment}\t${o.cleared ? `hold cleared (was until ${o.cleared.until} by ${o.cleared.user})` : 'no hold'}`).join('\n')}\n`,
  );
  return ExitCode.Done;
}

/** The hold the command line asks for, every input checked. */
function requestedHold(inv: HoldInvocation, now: Date): Hold {
  if (!inv.until) throw new CimError(ErrorNames.InvalidInput, 'hold needs --until (or --list, --clear)');
  const until = parseUntil(inv.until, now);
  const reason = checkReason(inv.reason);
  if (inv.skipNext !== undefined && inv.skipNext !== 'down' && inv.skipNext !== 'up') {
    throw new CimError(ErrorNames.InvalidInput, `--skip-next "${inv.skipNext}" must be down or up`);
  }
  const h: Hold = {
    user: inv.user,
    reason,
    created: now.toISOString(),
    until: until.toISOString(),
    skipNext: (inv.skipNext as 'down' | 'up' | undefined) ?? null,
    // --skip-next skips exactly the next scheduled run of that action, then the hold ends.
    ...(inv.skipNext ? { endsAfterSkip: true } : {}),
  };
  checkUser(inv.user);
  return h;
}

async function placeHolds(inv: HoldInvocation, envs: Environment[], now: Date): Promise<number> {
  const h = requestedHold(inv, now);
  // All or nothing: read every environment's hold first (a missing bucket, a denied read
  // stops here, before any write), then write; if a write fails, undo the ones before it.
  const plans: HoldPlan[] = [];
  for (const env of envs) plans.push(await planHold(storeOf(env), env));
  const out: { environment: string; hold: Hold; replaced: Hold | null }[] = [];
  const written: { env: Environment; plan: HoldPlan; etag: string }[] = [];
  for (const [i, env] of envs.entries()) {
    const plan = plans[i] as HoldPlan;
    try {
      const { replaced, etag } = await placeHold(storeOf(env), env, h, plan);
      written.push({ env, plan, etag });
      out.push({ environment: `${env.customer}/${env.environment}`, hold: h, replaced });
    } catch (err) {
      throw await undoWritten(err, env, written);
    }
  }
  process.stdout.write(
    inv.json
      ? `${JSON.stringify(out, null, 2)}\n`
      : `${out.map((o) => `${line(envs.find((e) => `${e.customer}/${e.environment}` === o.environment) as Environment, o.hold, now)}${o.replaced ? `\t(replaced a hold until ${o.replaced.until} by ${o.replaced.user})` : ''}`).join('\n')}\n${placedMeaning(h, out.length)}\n`,
  );
  return ExitCode.Done;
}

function placedMeaning(h: Hold, n: number): string {
  const which = n === 1 ? 'this environment' : `these ${n} environments`;
  if (h.skipNext && h.endsAfterSkip)
    return `The next scheduled ${h.skipNext} of ${which} is skipped, then the hold ends (at the latest at ${h.until}); manual runs go ahead.`;
  return `Scheduled ${h.skipNext ?? 'up and down'} runs of ${which} are skipped until ${h.until}; manual runs go ahead.`;
}

/** A write failed: undo the holds placed before it; the error says which could not be. */
async function undoWritten(
  err: unknown,
  env: Environment,
  written: { env: Environment; plan: HoldPlan; etag: string }[],
): Promise<CimError> {
  const undone = await Promise.all(
    written.map((x) =>
      undoHold(storeOf(x.env), x.env, x.plan, x.etag).then(
        () => true,
        () => false,
      ),
    ),
  );
  const left = written.filter((_, j) => !undone[j]).map((x) => `${x.env.customer}/${x.env.environment}`);
  return new CimError(
    errorName(err) as never,
    `${cliMessage(err)} (at ${env.customer}/${env.environment}); ${left.length ? `could NOT undo the holds just placed on ${left.join(', ')}: clear them with cim hold --clear` : `the ${written.length} hold(s) placed before it were undone, so nothing changed`}`,
    { cause: err },
  );
}
