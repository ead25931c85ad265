// Turns the resolved environments into IAM resource scopes whose size does not grow with
// the fleet: S3 object access per bucket under the static start of the keyPrefix template,
// RDS access by the identifier template made a wildcard, EKS by cluster. Pure functions:
// the stack renders the statements with its tokens, the tests call them directly.
import { DEFAULT_SETTINGS, fillTemplate, listEnvironments, resolveEnvironment } from '#core/config/catalog';
import type { Config, Environment } from '#core/config/schema';
import { PERSON_LEDGER_PREFIX } from '#core/records/wake-ledger';
import { REPORT_PREFIX, REPORT_READS } from '#core/report/publish';

/** What a function touches; IAM is granted from this and nothing else. */
export interface Needs {
  s3?: boolean;
  /** Read-only: s3:GetObject under the environments' prefixes and listing them (the report). */
  s3Read?: boolean;
  /** s3:PutObject on the deployed report's objects (report/*) in the state buckets, nothing else. */
  reportWrite?: boolean;
  /** s3:GetObject on the per-person wake ledgers (wake-ledger/users/*) in the state buckets: the rate limits. */
  wakeLedgerRead?: boolean;
  rdsDescribe?: boolean;
  rdsStartStop?: boolean;
  eks?: boolean;
  /** eks:DescribeNodegroup on the configured node groups. */
  nodegroupsDescribe?: boolean;
  /** eks:UpdateNodegroupConfig on the configured node groups. */
  nodegroupsUpdate?: boolean;
  /**
   * Wakes on demand: read and write the per-person wake ledgers (wake-ledger/users/*), which
   * are beside the environments' prefixes in each state bucket (a person's limit is per bucket).
   * `read`: s3:GetObject only (Prepare counts them).
   */
  wakeLedgers?: 'read' | 'write';
}

/** An environment and the templates its names were resolved from. */
export interface ScopedEnvironment {
  env: Environment;
  templates: { keyPrefix: string; identifier: string };
}

export interface IamScope {
  /** Per bucket, key prefixes (never empty): objects `${prefix}*`, listing with `s3:prefix` `${prefix}*`. */
  s3: { bucket: string; prefixes: string[] }[];
  /** Per region and kind, identifiers: literal, or `prefix*suffix` from a template. */
  rds: { region: string; kind: 'instance' | 'cluster'; identifiers: string[] }[];
  /** Per region, EKS cluster names. */
  eks: { region: string; clusters: string[] }[];
  /** Per region and cluster, the configured node group names. */
  nodegroups: { region: string; cluster: string; names: string[] }[];
}

export interface GrantStatement {
  actions: string[];
  resources: string[];
  condition?: Record<string, Record<string, string[]>>;
}

/** How ARNs are written: with CloudFormation tokens in the stack, literally in estimates. */
export interface ArnFormat {
  bucketArn(bucket: string): string;
  arn(service: string, region: string, resource: string): string;
}

/** IAM: the inline policies of one role total at most this many characters (white space excluded). */
export const ROLE_POLICY_LIMIT = 10_240;
/** Room kept for the logs statement, longer partitions (aws-us-gov) and CDK's rendering. */
const ROLE_POLICY_BUDGET = 9_000;

/** Placeholders that differ between environments; {cluster} and {region} are filled in. */
const VARIABLE = /\{(customer|environment|namespace)\}/g;
const IAM_SPECIAL = /[*?$]/;

/** Resolves every environment and keeps the keyPrefix and identifier templates it came from. */
export function scopedEnvironments(config: Config, source = 'configuration'): ScopedEnvironment[] {
  return listEnvironments(config).map((key) => {
    const [customer = '', environment = ''] = key.split('/');
    const o = config.environments[key] ?? {};
    const d = config.defaults;
    return {
      env: resolveEnvironment(config, customer, environment, source),
      templates: {
        keyPrefix: o.keyPrefix ?? d.keyPrefix ?? DEFAULT_SETTINGS.keyPrefix,
        identifier: o.database?.identifier ?? d.database?.identifier ?? DEFAULT_SETTINGS.database.identifier,
      },
    };
  });
}

function commonPrefix(values: string[]): string {
  let p = values[0] ?? '';
  for (const v of values) while (!v.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** Sorted, without duplicates and without entries another entry's wildcard already covers. */
function minimal(values: Iterable<string>, covers: (general: string, specific: string) => boolean): string[] {
  const all = [...new Set(values)].sort();
  return all.filter((v) => !all.some((g) => g !== v && covers(g, v)));
}

function refuseSpecial(what: string, value: string, e: Environment) {
  if (IAM_SPECIAL.test(value))
    throw new Error(
      `environment "${e.customer}/${e.environment}": ${what} "${value}" contains "*", "?" or "$", which IAM would read as a wildcard or a variable; remove it from the template`,
    );
}

/** The template filled with the environment's cluster and region; null if nothing varies. */
function filled(template: string, e: Environment): { text: string; first: number; end: number } | null {
  const text = fillTemplate(template, { cluster: e.cluster, region: e.region });
  const matches = [...text.matchAll(VARIABLE)];
  const first = matches[0];
  const last = matches.at(-1);
  if (!first || !last) return null;
  return { text, first: first.index, end: last.index + last[0].length };
}

/** The literal start of an environment's key prefix: the same for all environments of a template. */
export function keyPrefixStaticPart(template: string, e: Environment): string {
  const f = filled(template, e);
  return f ? f.text.slice(0, f.first) : `${e.keyPrefix}/`;
}

/**
 * The identifier as IAM matches it: literal when the template has no per-environment
 * placeholder, else its literal start and end around one `*` (`{customer}-{environment}-rds`
 * → `*-rds`); null when the template has neither (a bare `*` is never granted).
 */
export function identifierPattern(template: string, e: Environment): string | null {
  const f = filled(template, e);
  if (!f) return e.database.identifier;
  const start = f.text.slice(0, f.first);
  const end = f.text.slice(f.end);
  return start || end ? `${start}*${end}` : null;
}

const wildcardMatches = (pattern: string, value: string) =>
  new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`).test(value);
function escapeRegExp(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Groups the environments' resources into the scopes granted; throws if they cannot fit IAM. */
export function iamScope(envs: readonly ScopedEnvironment[]): IamScope {
  const byBucket = new Map<string, Map<string, string[]>>();
  const byDb = new Map<string, Set<string>>();
  const byRegion = new Map<string, Set<string>>();
  const byCluster = new Map<string, Set<string>>();
  /** Templates without a literal part, whose resources are listed one by one. */
  const listed = new Set<string>();
  for (const { env: e, templates } of envs) {
    const prefix = `${e.keyPrefix}/`;
    refuseSpecial('keyPrefix', prefix, e);
    const start = keyPrefixStaticPart(templates.keyPrefix, e);
    if (!prefix.startsWith(start))
      throw new Error(`internal: key prefix "${prefix}" does not start with "${start}"`);
    if (!start) listed.add(`keyPrefix "${templates.keyPrefix}"`);
    const groups = byBucket.get(e.bucket) ?? new Map<string, string[]>();
    groups.set(start, [...(groups.get(start) ?? []), prefix]);
    byBucket.set(e.bucket, groups);

    refuseSpecial('database.identifier', e.database.identifier, e);
    const wildcard = identifierPattern(templates.identifier, e);
    if (wildcard === null) listed.add(`database.identifier "${templates.identifier}"`);
    const pattern = wildcard ?? e.database.identifier;
    if (!wildcardMatches(pattern, e.database.identifier))
      throw new Error(`internal: "${pattern}" does not match "${e.database.identifier}"`);
    const dbKey = `${e.region}|${e.database.kind}`;
    byDb.set(dbKey, (byDb.get(dbKey) ?? new Set()).add(pattern));

    byRegion.set(e.region, (byRegion.get(e.region) ?? new Set()).add(e.cluster));
    if (e.nodegroups.length) {
      const key = `${e.region}|${e.cluster}`;
      const names = byCluster.get(key) ?? new Set<string>();
      for (const n of e.nodegroups) names.add(n);
      byCluster.set(key, names);
    }
  }

  const s3 = [...byBucket]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([bucket, groups]) => ({
      bucket,
      // An empty static part would grant the whole bucket: list the prefixes instead.
      prefixes: minimal(
        [...groups].flatMap(([start, prefixes]) => (start ? [commonPrefix(prefixes)] : prefixes)),
        (g, v) => v.startsWith(g),
      ),
    }));
  const rds = [...byDb]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, patterns]) => {
      const [region = '', kind] = key.split('|');
      return {
        region,
        kind: kind as 'instance' | 'cluster',
        identifiers: minimal(patterns, (g, v) => g.includes('*') && wildcardMatches(g, v)),
      };
    });
  const eks = [...byRegion]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([region, clusters]) => ({ region, clusters: [...clusters].sort() }));
  const nodegroups = [...byCluster]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, names]) => {
      const [region = '', cluster = ''] = key.split('|');
      return { region, cluster, names: [...names].sort() };
    });
  const scope = { s3, rds, eks, nodegroups };
  checkPolicySize(scope, envs.length, listed);
  return scope;
}

/** The Allow statements for a function with these needs. */
export function grantStatements(scope: IamScope, needs: Needs, arns: ArnFormat): GrantStatement[] {
  const out: GrantStatement[] = [];
  if (needs.s3) {
    for (const { bucket, prefixes } of scope.s3) {
      const bucketArn = arns.bucketArn(bucket);
      out.push({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: prefixes.map((p) => `${bucketArn}/${p}*`),
      });
      out.push({
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      });
    }
  }
  if (needs.s3Read && !needs.s3) {
    for (const { bucket, prefixes } of scope.s3) {
      const bucketArn = arns.bucketArn(bucket);
      out.push({ actions: ['s3:GetObject'], resources: prefixes.map((p) => `${bucketArn}/${p}*`) });
      out.push({
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      });
    }
  }
  // Objects outside the environments' prefixes that a function reads and that may not exist
  // yet (a person's first wake, a bucket without refreshed prices): S3 answers a missing key
  // with 404 only to a caller allowed to list it, else 403, which S3StateStore tells apart
  // from a denial by listing exactly that key. So each gets a listing of its own prefix.
  const listOwn = (prefixes: string[]) => {
    for (const { bucket } of scope.s3)
      out.push({
        actions: ['s3:ListBucket'],
        resources: [arns.bucketArn(bucket)],
        condition: { StringLike: { 's3:prefix': prefixes } },
      });
  };
  if (needs.wakeLedgers) {
    const resources = scope.s3.map(({ bucket }) => `${arns.bucketArn(bucket)}/${PERSON_LEDGER_PREFIX}*`);
    const actions = needs.wakeLedgers === 'write' ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'];
    if (resources.length) out.push({ actions, resources });
  }
  if (needs.wakeLedgers || needs.wakeLedgerRead) listOwn([`${PERSON_LEDGER_PREFIX}*`]);
  if (needs.reportWrite) {
    const resources = scope.s3.map(({ bucket }) => `${arns.bucketArn(bucket)}/${REPORT_PREFIX}*`);
    if (resources.length) out.push({ actions: ['s3:PutObject'], resources });
    // It reads back only what it keeps for itself: the day seals and the refreshed prices.
    const own = scope.s3.flatMap(({ bucket }) => REPORT_READS.map((k) => `${arns.bucketArn(bucket)}/${k}`));
    if (own.length) out.push({ actions: ['s3:GetObject'], resources: own });
    listOwn([...REPORT_READS]);
  }
  if (needs.wakeLedgerRead) {
    const resources = scope.s3.map(({ bucket }) => `${arns.bucketArn(bucket)}/${PERSON_LEDGER_PREFIX}*`);
    if (resources.length) out.push({ actions: ['s3:GetObject'], resources });
  }
  const dbArns = (kind: 'instance' | 'cluster') =>
    scope.rds
      .filter((r) => r.kind === kind)
      .flatMap((r) =>
        r.identifiers.map((id) =>
          arns.arn('rds', r.region, `${kind === 'instance' ? 'db' : 'cluster'}:${id}`),
        ),
      );
  const rds = (actions: string[], resources: string[]) => {
    if (resources.length) out.push({ actions, resources });
  };
  if (needs.rdsDescribe) {
    rds(['rds:DescribeDBInstances'], dbArns('instance'));
    rds(['rds:DescribeDBClusters'], dbArns('cluster'));
  }
  if (needs.rdsStartStop) {
    rds(['rds:StartDBInstance', 'rds:StopDBInstance'], dbArns('instance'));
    rds(['rds:StartDBCluster', 'rds:StopDBCluster'], dbArns('cluster'));
  }
  if (needs.eks) {
    const resources = scope.eks.flatMap((e) =>
      e.clusters.map((c) => arns.arn('eks', e.region, `cluster/${c}`)),
    );
    if (resources.length) out.push({ actions: ['eks:DescribeCluster'], resources });
  }
  // Node groups: only the configured ones (their ARN ends in a generated id, hence "/*").
  const nodegroupArns = scope.nodegroups.flatMap((g) =>
    g.names.map((n) => arns.arn('eks', g.region, `nodegroup/${g.cluster}/${n}/*`)),
  );
  if (nodegroupArns.length && needs.nodegroupsDescribe)
    out.push({ actions: ['eks:DescribeNodegroup'], resources: nodegroupArns });
  if (nodegroupArns.length && needs.nodegroupsUpdate)
    out.push({ actions: ['eks:UpdateNodegroupConfig'], resources: nodegroupArns });
  return out;
}

/** Characters of a policy document as IAM counts them (JSON without white space). */
export function policyChars(statements: GrantStatement[]): number {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Effect: 'Allow',
      Action: s.actions,
      Resource: s.resources,
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  }).length;
}

/** Literal ARNs in the longest partition, for size estimates. */
export const ESTIMATE_ARNS: ArnFormat = {
  bucketArn: (bucket) => `arn:aws-us-gov:s3:::${bucket}`,
  arn: (service, region, resource) => `arn:aws-us-gov:${service}:${region}:123456789012:${resource}`,
};

function checkPolicySize(scope: IamScope, environments: number, listed: Set<string>) {
  const all = {
    s3: true,
    rdsDescribe: true,
    rdsStartStop: true,
    eks: true,
    nodegroupsDescribe: true,
    nodegroupsUpdate: true,
  };
  const chars = policyChars(grantStatements(scope, all, ESTIMATE_ARNS));
  if (chars <= ROLE_POLICY_BUDGET) return;
  const s3 = scope.s3.map((b) => `${b.prefixes.length} key prefix(es) in bucket ${b.bucket}`);
  const rds = scope.rds.map((r) => `${r.identifiers.length} ${r.kind} identifier(s) in ${r.region}`);
  const why = listed.size
    ? ` ${[...listed].join(' and ')} ${listed.size > 1 ? 'have' : 'has'} no literal part, so each environment is listed.`
    : '';
  throw new Error(
    `the IAM grants for ${environments} environments need about ${chars} characters in one role's policy; IAM allows ${ROLE_POLICY_LIMIT} per role (${[...s3, ...rds].join(', ')}).${why} ` +
      'Grants are grouped by the literal start of keyPrefix and by the database.identifier template: ' +
      'start keyPrefix with a literal or {cluster} (e.g. "{cluster}/{customer}/{environment}") and give identifiers a template with a literal part ' +
      '(e.g. "{customer}-{environment}-rds") instead of many literal identifiers.',
  );
}
