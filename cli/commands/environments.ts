// `cim environments`: the configured environments, resolved; `cim schema`: the configuration's
// JSON Schema. Both read only the configuration.
import { errorName } from '#core/errors';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export async function environments(inv: { configPath: string; json: boolean }): Promise<number> {
  try {
    const [{ loadConfigFile }, { resolveEnvironment }] = await Promise.all([
      import('#core/config/file'),
      import('#core/config/catalog'),
    ]);
    const config = loadConfigFile(inv.configPath);
    const list = Object.keys(config.environments).map((k) => {
      const [c = '', e = ''] = k.split('/');
      return resolveEnvironment(config, c, e, inv.configPath);
    });
    process.stdout.write(
      inv.json
        ? `${JSON.stringify(list, null, 2)}\n`
        : `${list.map((e) => `${e.customer}/${e.environment}\tnamespace ${e.namespace}\t${e.database.kind} ${e.database.identifier}\tdeployments ${e.deployments.map((d) => d.name).join(',')}\ts3://${e.bucket}/${e.keyPrefix}/`).join('\n')}\n`,
    );
    return ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}

export async function printSchema(): Promise<number> {
  const { configJsonSchema } = await import('#core/config/file');
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return ExitCode.Done;
}
