// `cim rbac`: the RoleBindings (and minimal Roles) that give the stack's Kubernetes groups
// access to the configured namespaces of one cluster, for `kubectl apply -f -`. The stack's
// access entries only name the groups, so the template does not grow with the fleet; these
// namespaced objects are what grant the access (README "Kubernetes access").
import { CimError, ErrorNames } from '#core/errors';

export interface RbacInvocation {
  command: 'rbac';
  configPath: string;
  json: boolean;
  /** Required when the configuration uses more than one cluster. */
  cluster?: string | undefined;
}

/** The manifests as text: YAML documents, or a Kubernetes List in JSON. */
export async function rbacManifests(inv: RbacInvocation): Promise<string> {
  const [{ loadConfigFile }, { resolveEnvironment }, { clusterRbac }, { stringify }] = await Promise.all([
    import('#core/config/file'),
    import('#core/config/catalog'),
    import('#core/config/rbac'),
    import('yaml'),
  ]);
  const config = loadConfigFile(inv.configPath);
  const envs = Object.keys(config.environments).map((k) => {
    const [c = '', e = ''] = k.split('/');
    return resolveEnvironment(config, c, e, inv.configPath);
  });
  const byCluster = clusterRbac(envs);
  const clusters = [...byCluster.keys()];
  const cluster = inv.cluster ?? (clusters.length === 1 ? clusters[0] : undefined);
  if (cluster === undefined)
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${inv.configPath} configures environments on ${clusters.length} clusters (${clusters.join(', ')}): choose one with --cluster NAME and apply the output with that cluster's kubectl context`,
    );
  const items = byCluster.get(cluster);
  if (!items)
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${inv.configPath} configures no environment on cluster "${cluster}"; its clusters: ${clusters.join(', ') || 'none'}`,
    );
  if (inv.json) return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n`;
  const header = `# customer-infra-manager RBAC for cluster ${cluster} (${config.stack.stackName}): kubectl apply -f -\n`;
  return header + items.map((m) => `---\n${stringify(m)}`).join('');
}
