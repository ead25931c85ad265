// Owns which resources an environment changes: each belongs to one environment alone, so a
// run of one environment never changes another's. Checked by parseConfig over the catalog.
import { CimError, ErrorNames } from '../errors.ts';
import type { Environment } from './schema.ts';

/**
 * Every resource an environment changes belongs to it alone: a down of one environment must
 * never stop another's database, scale its workloads or node groups, or read its records.
 * Resources are compared where AWS and Kubernetes make names unique: databases per account,
 * region and kind; namespaces and node groups per cluster (account and region); workloads by
 * namespace, kind and name (listed twice, even within one environment, is refused); records
 * by bucket and key prefix, where a prefix inside another's prefix also overlaps (listing one
 * environment's history would list the other's).
 */
export function checkOwnership(list: readonly { key: string; env: Environment }[], source: string): void {
  const owners = new Map<string, { key: string; what: string }>();
  const claim = (id: string, key: string, what: string) => {
    const other = owners.get(id);
    if (other === undefined) {
      owners.set(id, { key, what });
      return;
    }
    const both =
      other.key === key
        ? `environment "${key}" lists ${what} twice`
        : `environments "${other.key}" and "${key}" both own ${what}`;
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: ${both}; a run of one would change it for the other. Give each environment its own ${what.split(' ')[0]} (fix the entry under environments["${key}"] or the template under "defaults").`,
    );
  };
  for (const { key, env } of list) {
    const account = env.target?.account ?? 'default-account';
    const cluster = `${account}/${env.region}/${env.cluster}`;
    claim(
      `db:${account}/${env.region}/${env.database.kind}/${env.database.identifier}`,
      key,
      `database ${env.database.kind} "${env.database.identifier}" (${env.region}${env.target ? `, account ${env.target.account}` : ''})`,
    );
    const namespaces = new Set([
      env.namespace,
      ...env.deployments.map((d) => d.namespace),
      ...env.workloads.map((w) => w.namespace),
      ...(env.discover?.namespaces ?? []),
    ]);
    for (const ns of namespaces)
      claim(`ns:${cluster}/${ns}`, key, `namespace "${ns}" (cluster ${env.cluster})`);
    const workloads = [
      ...env.deployments.map((d) => ({ kind: 'Deployment', name: d.name, namespace: d.namespace })),
      ...env.workloads,
    ];
    for (const w of workloads)
      claim(`wl:${cluster}/${w.namespace}/${w.kind}/${w.name}`, key, `${w.kind} "${w.namespace}/${w.name}"`);
    for (const ng of env.nodegroups)
      claim(`ng:${cluster}/${ng}`, key, `node group "${ng}" (cluster ${env.cluster})`);
  }
  // Key prefixes: equal ones are refused by parseConfig already; a nested one overlaps too.
  const places = list
    .map(({ key, env }) => ({ key, bucket: env.bucket, prefix: `${env.keyPrefix}/` }))
    .sort((a, b) => (`${a.bucket}\u0000${a.prefix}` < `${b.bucket}\u0000${b.prefix}` ? -1 : 1));
  for (let i = 1; i < places.length; i++) {
    const a = places[i - 1];
    const b = places[i];
    if (a && b && a.bucket === b.bucket && b.prefix.startsWith(a.prefix))
      throw new CimError(
        ErrorNames.ConfigInvalid,
        `${source}: environments "${a.key}" and "${b.key}" overlap in bucket "${a.bucket}": keyPrefix "${b.prefix.slice(0, -1)}" lies inside "${a.prefix.slice(0, -1)}", so one environment's history and lock listings would include the other's records. Give each environment a keyPrefix that is not inside another's.`,
      );
  }
}
