// Owns reading the configuration file (YAML or JSON) and the JSON Schema for editors: used
// by the CLI, the CDK app and the tests, kept out of the Lambda bundles.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { CimError, ErrorNames } from '../errors.ts';
import { type Config, ConfigSchema, parseConfig } from './schema.ts';

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `cannot read configuration file ${path}: ${(err as Error).message}. Pass --config FILE or set CIM_CONFIG_FILE.`,
    );
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new CimError(ErrorNames.ConfigInvalid, `${path} does not parse: ${(err as Error).message}`);
  }
  return parseConfig(data, path);
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}
