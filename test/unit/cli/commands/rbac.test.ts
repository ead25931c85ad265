// `cim rbac`: the namespaced Roles and RoleBindings that give the stack's Kubernetes groups
// (its EKS access entries name only the groups) access to the configured namespaces of one
// cluster, read-only for the readers, never Secrets or exec.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ExitCode } from '#cli/exit-codes';
import { READERS_GROUP, WRITERS_GROUP } from '#core/config/rbac';
import { capture } from '../../../support/capture.ts';

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});
afterEach(() => vi.restoreAllMocks());

type Manifest = {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string }[];
};

async function rbac(argv: string[]) {
  const io = capture();
  const code = await main(['rbac', ...argv], {});
  return { code, out: io.out(), err: io.err() };
}

/** environments.yaml with gamma/dev on a second cluster, with a node group. */
function twoClusters(): string {
  const doc = parse(readFileSync('environments.yaml', 'utf8')) as Record<string, any>;
  doc.environments['gamma/dev'] = { cluster: 'eks-other-cluster', nodegroups: ['gamma-workers'] };
  const file = join(mkdtempSync(join(tmpdir(), 'cim-rbac-')), 'environments.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

describe('cim rbac', () => {
  it('binds the writer and reader groups to their Roles in every configured namespace', async () => {
    const { code, out } = await rbac([]);
    expect(code).toBe(ExitCode.Done);
    expect(out).toMatch(/^# customer-infra-manager RBAC for cluster eks-dev-cluster/);
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Manifest);
    const bindings = docs.filter((d) => d.kind === 'RoleBinding');
    expect(bindings.map((b) => [b.metadata.namespace, b.roleRef?.name, b.subjects]).sort()).toEqual(
      ['alpha-dev', 'beta-staging']
        .flatMap((ns) => [
          [
            ns,
            'customer-infra-manager-reader',
            [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: READERS_GROUP }],
          ],
          [
            ns,
            'customer-infra-manager-writer',
            [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: WRITERS_GROUP }],
          ],
        ])
        .sort(),
    );
    // No node groups configured: no cluster-wide object at all.
    expect(docs.filter((d) => d.kind.startsWith('Cluster'))).toEqual([]);
  });

  it('gives the readers only get, list and watch, and nobody Secrets, pods or a wildcard', async () => {
    const docs = parseAllDocuments((await rbac([])).out).map((d) => d.toJS() as Manifest);
    const roles = docs.filter((d) => d.kind === 'Role');
    expect(roles).toHaveLength(4);
    for (const role of roles)
      for (const rule of role.rules ?? []) {
        expect(rule.resources.join()).not.toMatch(/secrets|pods|\*/);
        expect(rule.verbs).not.toContain('*');
        if (role.metadata.name === 'customer-infra-manager-reader')
          expect(
            rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v)),
            JSON.stringify(rule),
          ).toBe(true);
      }
    const writer = roles.find((r) => r.metadata.name === 'customer-infra-manager-writer');
    expect(writer?.rules).toContainEqual({
      apiGroups: ['apps'],
      resources: ['deployments/scale'],
      verbs: ['get', 'patch'],
    });
  });

  it('prints a Kubernetes List with --json', async () => {
    const { code, out } = await rbac(['--json']);
    expect(code).toBe(ExitCode.Done);
    const list = JSON.parse(out) as { kind: string; items: Manifest[] };
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(8);
  });

  it('asks for --cluster when the environments live on several clusters, and prints only that one', async () => {
    const file = twoClusters();
    const refused = await rbac(['--config', file]);
    expect(refused.code).toBe(ExitCode.Usage);
    expect(refused.err).toMatch(
      /2 clusters \(eks-dev-cluster, eks-other-cluster\): choose one with --cluster NAME/,
    );
    expect(refused.out).toBe('');
    const other = await rbac(['--config', file, '--cluster', 'eks-other-cluster']);
    expect(other.code).toBe(ExitCode.Done);
    const namespaces = new Set(
      parseAllDocuments(other.out).map((d) => (d.toJS() as Manifest).metadata.namespace),
    );
    expect([...namespaces]).toEqual(['gamma-dev', undefined]);
    // Its node group: the node reader ClusterRole, bound to the group the access entries name.
    const binding = parseAllDocuments(other.out)
      .map((d) => d.toJS() as Manifest)
      .find((d) => d.kind === 'ClusterRoleBinding');
    expect(binding?.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'customer-infra-manager-node-readers' },
    ]);
    const unknown = await rbac(['--config', file, '--cluster', 'nope']);
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(unknown.err).toMatch(
      /no environment on cluster "nope"; its clusters: eks-dev-cluster, eks-other-cluster/,
    );
  });
});
