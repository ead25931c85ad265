// `cim unlock --customer C --env E`: clear the lock of a run that is provably gone (its
// process dead on this host, or its execution ended); refused while that run is alive.
import { hostname } from 'node:os';
import { errorName } from '#core/errors';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface UnlockInvocation {
  command: 'unlock';
  configPath: string;
  json: boolean;
  dryRun: boolean;
  customer: string;
  environment: string;
}

/** Whether a process of this host is alive (EPERM: alive, someone else's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A Step Functions execution's status; null when it cannot be read. */
async function executionStatus(arn: string): Promise<string | null> {
  try {
    const { SFNClient, DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
    const out = await new SFNClient({}).send(new DescribeExecutionCommand({ executionArn: arn }));
    return out.status ?? null;
  } catch {
    return null;
  }
}

export async function unlock(inv: UnlockInvocation): Promise<number> {
  try {
    const [{ loadConfigFile }, { resolveEnvironment }, { recordKeys }, { S3StateStore, s3ClientFor }, lock] =
      await Promise.all([
        import('#core/config/file'),
        import('#core/config/catalog'),
        import('#core/gateways/store'),
        import('#core/clients/s3-store'),
        import('#core/records/lock'),
      ]);
    const { describeHolder, unlockEnvironment } = lock;
    const config = loadConfigFile(inv.configPath);
    const env = resolveEnvironment(config, inv.customer, inv.environment, inv.configPath);
    const store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
    const key = recordKeys(env, '_').lock;
    const outcome = await unlockEnvironment(
      store,
      key,
      { host: hostname(), processAlive, executionStatus },
      new Date(),
      { dryRun: inv.dryRun },
    );
    const where = `${inv.customer}/${inv.environment}`;
    if (inv.json) process.stdout.write(`${JSON.stringify({ environment: where, ...outcome }, null, 2)}\n`);
    if (outcome.status === 'absent') {
      if (!inv.json)
        process.stdout.write(`${where} is not locked (s3://${env.bucket}/${key} does not exist)\n`);
      return ExitCode.Done;
    }
    if (outcome.status === 'would-clear') {
      if (!inv.json)
        process.stdout.write(
          `dry run: would clear the lock of ${where}: it is held by ${describeHolder(outcome.held)}; ${outcome.why}. Nothing was changed.\n`,
        );
      return ExitCode.Done;
    }
    if (outcome.status === 'cleared') {
      if (!inv.json)
        process.stdout.write(
          `cleared the lock of ${where}: it was held by ${describeHolder(outcome.held)}; ${outcome.why}.\nIts intent record keeps the restore point: run down or up as usual.\n`,
        );
      return ExitCode.Done;
    }
    if (!inv.json)
      process.stderr.write(
        `cim: refused to unlock ${where}: it is held by ${describeHolder(outcome.held)}, and ${outcome.why}. Wait for it to end (cim status --customer ${inv.customer} --env ${inv.environment}).\n`,
      );
    return ExitCode.Refused;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}
