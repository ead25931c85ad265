// Security scans of the synthesized templates (npm run scan, and in CI): checkov with the
// CloudFormation framework and cfn-lint, both pinned. Every deliberate checkov finding is
// acknowledged next to its resource (infra/scan-acknowledgements.ts); anything else fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCAN_ACKNOWLEDGEMENTS } from '#infra/scan-acknowledgements';
import { cfnLint, checkov, scannersBin } from './scanners.ts';
import { synthesizeForScan } from './synth.ts';

const root = resolve(import.meta.dirname, '..', '..');
const out = join(root, '.cache', 'scan');
const VARIANTS: Record<string, string> = {
  default: join(root, 'environments.yaml'),
  // VPC, a customer-managed key, the dashboard, an environment in another account (two templates).
  organization: join(root, 'test', 'fixtures', 'organization.yaml'),
  // The deployed wake page: its HTTP API, custom domains, function and secret, with a customer key.
  wake: join(root, 'test', 'fixtures', 'wake-endpoint.yaml'),
};

let bin = '';
const templates: Record<string, string[]> = {};
beforeAll(() => {
  bin = scannersBin();
  for (const [name, file] of Object.entries(VARIANTS))
    templates[name] = synthesizeForScan(file, join(out, name));
}, 600_000);

describe.each(Object.keys(VARIANTS))('the %s configuration', (variant) => {
  it('has no failed checkov check, and every skipped one carries its acknowledged reason', () => {
    for (const file of templates[variant] ?? []) {
      const report = checkov(bin, file);
      expect(report.parsingErrors, file).toBe(0);
      expect(report.failed, file).toEqual([]);
      expect(report.passed, file).toBeGreaterThan(0);
      const reasons = new Map(SCAN_ACKNOWLEDGEMENTS.map((a) => [a.id, a.reason]));
      for (const s of report.skipped) expect(s.comment, `${s.id} on ${s.resource}`).toBe(reasons.get(s.id));
    }
  });

  it('has no cfn-lint error', () => {
    for (const file of templates[variant] ?? []) expect(cfnLint(bin, file).errors, file).toEqual([]);
  });
});

describe('an unacknowledged finding', () => {
  it('fails the checkov scan, naming the check and the resource', () => {
    const [file] = templates.default ?? [];
    if (!file) throw new Error('no default template');
    const template = JSON.parse(readFileSync(file, 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
    };
    const [logicalId, fn] =
      Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function') ?? [];
    if (!logicalId || !fn?.Metadata) throw new Error('no function with metadata');
    delete fn.Metadata.checkov;
    const stripped = join(out, 'unacknowledged.template.json');
    writeFileSync(stripped, JSON.stringify(template));

    const report = checkov(bin, stripped);

    expect(report.failed).toEqual(
      expect.arrayContaining([
        { id: 'CKV_AWS_116', resource: `AWS::Lambda::Function.${logicalId}` },
        { id: 'CKV_AWS_115', resource: `AWS::Lambda::Function.${logicalId}` },
      ]),
    );
    expect(report.failed.every((f) => f.resource.endsWith(`.${logicalId}`))).toBe(true);
  });
});
