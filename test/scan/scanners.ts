// Runs the pinned template scanners (installed by sandbox/build-scanners.sh into the
// peers' cache) and reduces their reports to what the scan tests assert on.
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/** Installs the scanners on first use; returns the directory holding checkov and cfn-lint. */
export function scannersBin(): string {
  const out = execFileSync('bash', [join(root, 'sandbox/build-scanners.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').at(-1) ?? '';
}

export interface Finding {
  id: string;
  resource: string;
  comment?: string;
}
export interface CheckovReport {
  passed: number;
  failed: Finding[];
  skipped: Finding[];
  parsingErrors: number;
}

interface CheckovJson {
  summary: { passed: number; parsing_errors: number };
  results: {
    failed_checks?: { check_id: string; resource: string }[];
    skipped_checks?: { check_id: string; resource: string; suppress_comment?: string }[];
  };
}

/** checkov, CloudFormation framework, offline (no guideline download). */
export function checkov(bin: string, templateFile: string): CheckovReport {
  const r = spawnSync(
    join(bin, 'checkov'),
    [
      '-f',
      templateFile,
      '--framework',
      'cloudformation',
      '--quiet',
      '--compact',
      '--skip-download',
      '-o',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`checkov exited ${r.status}: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as CheckovJson | CheckovJson[];
  const json = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!json?.results) throw new Error(`checkov: no report for ${templateFile}: ${r.stdout.slice(0, 500)}`);
  const failed = (json.results.failed_checks ?? []).map((f) => ({ id: f.check_id, resource: f.resource }));
  if ((r.status === 1) !== failed.length > 0)
    throw new Error(`checkov exited ${r.status} with ${failed.length} failed`);
  return {
    passed: json.summary.passed,
    failed,
    skipped: (json.results.skipped_checks ?? []).map((f) => ({
      id: f.check_id,
      resource: f.resource,
      ...(f.suppress_comment ? { comment: f.suppress_comment } : {}),
    })),
    parsingErrors: json.summary.parsing_errors,
  };
}

export interface CfnLintReport {
  errors: Finding[];
  warnings: Finding[];
}

/**
 * cfn-lint with its default rules. W3005 (a DependsOn that a GetAtt already implies) is
 * ignored: the CDK adds those on purpose so that a function's role policy exists before it.
 */
export function cfnLint(bin: string, templateFile: string): CfnLintReport {
  const r = spawnSync(
    join(bin, 'cfn-lint'),
    ['--format', 'json', '--ignore-checks', 'W3005', '--', templateFile],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status === null || (r.status & 1) === 1)
    throw new Error(`cfn-lint failed to run (${r.status}): ${r.stderr}`);
  const matches = JSON.parse(r.stdout || '[]') as {
    Level: string;
    Rule: { Id: string };
    Message: string;
    Location: { Path: (string | number)[] };
  }[];
  const as = (level: string) =>
    matches
      .filter((m) => m.Level === level)
      .map((m) => ({ id: m.Rule.Id, resource: m.Location.Path.slice(0, 2).join('/'), comment: m.Message }));
  return { errors: as('Error'), warnings: as('Warning') };
}
