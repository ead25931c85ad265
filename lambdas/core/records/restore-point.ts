// Owns the restore point: the pre-state record whose counts `up` brings back. It comes from
// S3, so it is untrusted: it must belong to this environment and this build, name the
// configured deployments, and hold integer counts within the environment's maxReplicas.
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { NodegroupScaling } from '../gateways/nodegroups.ts';
import { TARGET_KINDS } from '../workloads/kinds.ts';
import { type IngressState, validateIngressRecords } from './ingress-state.ts';
import { LegacyState } from './legacy-state.ts';
import { validateNodegroupRecords } from './nodegroup-state.ts';
import { type RestoredWorkloads, validateWorkloadRecords } from './workload-restore-point.ts';

export interface RestorePoint {
  fromBuild: string;
  key: string;
  /**
   * The record as stored (legacy shape), for the audit output. Not carried in the run
   * context (it is as large as the environment and stays at `key` in S3).
   */
  record?: unknown;
  /** Counts to restore, by deployment name (configured deployments that existed at the down). */
  replicas: Record<string, number>;
  /** Deployments the record names that are no longer configured: reported, not restored. */
  notConfigured: string[];
  /** What up restores of the other workload kinds, by kind (empty for a legacy record). */
  workloads?: RestoredWorkloads;
  /** Scaling config to restore by node group name (none in a legacy record). */
  nodegroups?: Record<string, NodegroupScaling>;
  /** Ingresses a down pointed at the sleeping backend, with their specs to restore (issue 19). */
  ingresses?: IngressState[];
}

function refuse(key: string, why: string): CimError {
  return new CimError(
    ErrorNames.StateRecordInvalid,
    `the restore point ${key} cannot be trusted: ${why}. Nothing was changed. Inspect it (the bucket is versioned: an earlier version may be intact), or bring the environment up by hand and run down again to record a new one.`,
  );
}

export function validateRestorePoint(
  json: unknown,
  key: string,
  env: Environment,
  fromBuild: string,
): RestorePoint {
  const parsed = LegacyState.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw refuse(key, `it is not a state record (${detail})`);
  }
  const rec = parsed.data;
  if (rec.jenkins_build !== fromBuild)
    throw refuse(key, `it says it belongs to build "${rec.jenkins_build}", not ${fromBuild}`);
  if (rec.aws_rds.rds_identifier !== env.database.identifier) {
    throw refuse(
      key,
      `it describes database "${rec.aws_rds.rds_identifier}", but ${env.customer}/${env.environment} uses "${env.database.identifier}"`,
    );
  }
  const entries = Object.entries(rec.k8s_deployments);
  // A discovered environment may hold only other target kinds (StatefulSets, CronJobs): its
  // record then names no deployment, and the other kinds are checked below.
  const otherKinds = TARGET_KINDS.some((k) => Object.keys(rec[k.recordKey] ?? {}).length > 0);
  const deploymentsOptional = env.discover !== null && otherKinds;
  if (entries.length === 0 && !deploymentsOptional) throw refuse(key, 'it records no deployments');
  const configured = new Map(env.deployments.map((d) => [d.name, d]));
  const replicas: Record<string, number> = {};
  const notConfigured: string[] = [];
  for (const [name, d] of entries) {
    const target = configured.get(name);
    if (!target) {
      notConfigured.push(name);
      continue;
    }
    if (d.deployment_namespace !== target.namespace) {
      throw refuse(
        key,
        `deployment ${name} is recorded in namespace "${d.deployment_namespace}", configured in "${target.namespace}"`,
      );
    }
    if (!d.deployment_exists) {
      // A record that contradicts itself was not written by a snapshot: trusting either half
      // would leave the deployment at 0 (and up reporting success) or restore a guess.
      if (d.deployment_available || d.app_status === 'up' || (d.deployment_replicas ?? 0) > 0)
        throw refuse(
          key,
          `deployment ${name} contradicts itself: recorded as not existing, yet ${d.deployment_available ? 'available' : d.app_status === 'up' ? 'up' : `at ${d.deployment_replicas} replicas`}`,
        );
      continue;
    }
    const n = d.deployment_replicas;
    if (n === null || !Number.isInteger(n) || n < 0)
      throw refuse(key, `deployment ${name} has no valid replica count (${JSON.stringify(n)})`);
    if (n > env.maxReplicas) {
      throw refuse(
        key,
        `deployment ${name} would be restored to ${n} replicas, above maxReplicas ${env.maxReplicas} (raise maxReplicas in the configuration if that is real)`,
      );
    }
    // A deployment recorded as serving cannot have been at 0: restoring 0 would lose it.
    if (n === 0 && (d.deployment_available || d.app_status === 'up')) {
      throw refuse(key, `deployment ${name} is recorded as running but with 0 replicas`);
    }
    replicas[name] = n;
  }
  if (entries.length > 0 && notConfigured.length === entries.length) {
    throw refuse(
      key,
      `it names none of the configured deployments of ${env.customer}/${env.environment} (it names ${notConfigured.slice(0, 3).join(', ')}${notConfigured.length > 3 ? ', ...' : ''})`,
    );
  }
  const workloads = validateWorkloadRecords(rec, env, (why) => refuse(key, why));
  const nodegroups = validateNodegroupRecords(rec, env, (why) => refuse(key, why));
  const ingresses = validateIngressRecords(rec, env, (why) => refuse(key, why));
  return {
    fromBuild,
    key,
    record: json,
    replicas,
    notConfigured,
    workloads,
    nodegroups,
    ...(ingresses?.length ? { ingresses } : {}),
  };
}
