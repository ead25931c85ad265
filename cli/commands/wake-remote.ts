// `cim wake --remote`: the wake through the deployed environment workflow, as the deployed
// wake page starts it (#core/wake/start): the CLI reads the records, decides with cim wake's
// rules, and starts (or joins) the one execution of the wake's up carrying the wake; the
// workflow records the wake and schedules its time to live. It prints the outcome and the
// execution's ARN and returns at once (follow it in the console or with cim status).
// `--end --remote` is the ordinary down through the deployed workflow, which ends the wake.
// `--extend` and `--sweep` have no remote form: a deployed wake's end is its schedule, which
// the workflow places (and the expired wake's schedule does the sweep's work).
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { SfnExecutions } from '#core/clients/sfn-executions';
import type { Config, Environment } from '#core/config/schema';
import { CimError, ErrorNames } from '#core/errors';
import { describeWake } from '#core/records/wake';
import type { WakeRequest } from '#core/run/wake-request';
import { type StartWakeDeps, startWake, type WakeStartOutcome } from '#core/wake/start';
import { ExitCode } from '../exit-codes.ts';

/** The CLI's answer for each outcome: its exit code and the line it prints. */
export function remoteWakeLine(where: string, o: WakeStartOutcome): { code: number; text: string } {
  switch (o.outcome) {
    case 'started':
      return {
        code: ExitCode.Done,
        text: `${where}: wake started (build ${o.build}): execution ${o.executionArn}`,
      };
    case 'joined':
      return {
        code: ExitCode.Done,
        text: `${where}: joined the wake already starting (build ${o.build}): execution ${o.executionArn}`,
      };
    case 'existing':
      return {
        code: ExitCode.Done,
        text: `${where} is already ${describeWake(o.wake)} (build ${o.wake.build}): no second up${o.executionArn ? `; execution ${o.executionArn}` : ''}`,
      };
    case 'refused':
      return { code: ExitCode.Refused, text: `wake refused: ${o.why}. Nothing was started.` };
  }
}

/** Test seams: the executions client and the state machine's ARN resolution. */
export interface RemoteWakeOptions {
  executions?: StartWakeDeps['executions'];
  stateMachineArn?: (explicit: string | undefined, config: Config) => Promise<string>;
  now?: () => Date;
}

async function machineArn(explicit: string | undefined, config: Config): Promise<string> {
  const { resolveStateMachineArn } = await import('../engine/remote-target.ts');
  return resolveStateMachineArn({ explicit, stackName: config.stack.stackName });
}

/** Wakes each environment through the deployed workflow; the first non-zero exit code wins. */
export async function wakeRemote(
  inv: { json: boolean; user: string; stateMachineArn: string | undefined },
  config: Config,
  envs: readonly Environment[],
  minutes: number,
  o: RemoteWakeOptions = {},
): Promise<number> {
  const stateMachineArn = await (o.stateMachineArn ?? machineArn)(inv.stateMachineArn, config);
  const { withCredentialsHint } = await import('../engine/remote-target.ts');
  const stores = new Map<string, S3StateStore>();
  const deps: StartWakeDeps = {
    store: (env) => {
      const k = `${env.bucketRegion}/${env.bucket}`;
      const s = stores.get(k) ?? new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
      stores.set(k, s);
      return s;
    },
    executions: o.executions ?? new SfnExecutions(),
    stateMachineArn,
    now: o.now ?? (() => new Date()),
  };
  const request: WakeRequest = { minutes, source: 'cli', requester: { user: inv.user } };
  const codes: number[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const env of envs) {
    const where = `${env.customer}/${env.environment}`;
    const out = await withCredentialsHint(() => startWake(deps, env, request));
    const { code, text } = remoteWakeLine(where, out);
    codes.push(code);
    if (inv.json) rows.push({ environment: where, ...out });
    else if (code === ExitCode.Done) process.stdout.write(`${text}\n`);
    else process.stderr.write(`cim: ${where}: ${text}\n`);
  }
  if (inv.json) process.stdout.write(`${JSON.stringify(rows.length === 1 ? rows[0] : rows, null, 2)}\n`);
  return codes.find((c) => c !== ExitCode.Done) ?? ExitCode.Done;
}

/** --extend and --sweep with --remote: refused before anything is read. */
export function refuseRemoteMode(mode: 'extend' | 'sweep'): never {
  throw new CimError(
    ErrorNames.InvalidInput,
    mode === 'extend'
      ? 'wake --extend has no --remote form: a deployed wake ends by its schedule, which only the workflow places; end it (--end --remote) and wake it again with --for, or extend a local wake without --remote'
      : 'wake --sweep has no --remote form: deployed wakes go back to sleep by their own one-time schedules; run --sweep without --remote for wakes made locally',
  );
}
