// Owns wiring: builds the collaborators of the workflow steps (S3 store, RDS, health checks,
// clock) once per process. Kubernetes access comes in as a factory (EKS in Lambda, a
// kubeconfig for the CLI), so that steps which never talk to Kubernetes do not bundle its client.
import { assumeRoleCredentials, currentExecution } from './clients/assume-role.ts';
import { EksNodegroupGateway, eksClientFor } from './clients/eks-nodegroups.ts';
import { httpHealthChecker } from './clients/http-health.ts';
import { memo } from './clients/memo.ts';
import { RdsDatabaseGateway, rdsClientFor } from './clients/rds.ts';
import { S3StateStore, s3ClientFor } from './clients/s3-store.ts';
import type { Config, Environment } from './config/schema.ts';
import type { Deps, Logger } from './contracts.ts';
import { CimError, ErrorNames } from './errors.ts';
import type { DatabaseGateway } from './gateways/database.ts';
import type { HealthChecker } from './gateways/health.ts';
import type { KubeGateway } from './gateways/kubernetes.ts';
import type { NodegroupGateway } from './gateways/nodegroups.ts';
import type { StateStore } from './gateways/store.ts';

export type KubeFactory = (env: Environment) => KubeGateway;

export interface DepsOptions {
  config: Config;
  configSource: string;
  /** How to reach Kubernetes; null for steps that do not (a call then fails loudly). */
  kube: KubeFactory | null;
  health?: HealthChecker;
  now?: () => Date;
  log: Logger;
}

export function makeDeps(o: DepsOptions): Deps {
  const stores = memo((k) => {
    const [bucket = '', region = ''] = k.split('|');
    return new S3StateStore(s3ClientFor(region), bucket);
  });
  const rds = memo((region) => new RdsDatabaseGateway(rdsClientFor(region)));
  // An environment in another account: RDS with the target role's credentials (assumed
  // per execution, cached until shortly before they expire).
  const credentialsFor = assumeRoleCredentials();
  const assumed = (env: Environment) => async () => {
    const c = await credentialsFor(env, currentExecution());
    if (!c) throw new Error(`internal: no credentials for ${env.target?.roleArn}`);
    return c;
  };
  const targetRds = new Map<string, DatabaseGateway>();
  const db = (env: Environment): DatabaseGateway => {
    if (!env.target) return rds(env.region);
    const key = `${env.region}|${env.target.roleArn}|${env.target.externalId}`;
    let gateway = targetRds.get(key);
    if (!gateway) {
      gateway = new RdsDatabaseGateway(rdsClientFor(env.region, assumed(env)));
      targetRds.set(key, gateway);
    }
    return gateway;
  };
  // EKS node groups: the same, with the target role's credentials in another account.
  const eks = memo((region) => new EksNodegroupGateway(eksClientFor(region)));
  const targetEks = new Map<string, NodegroupGateway>();
  const nodegroups = (env: Environment): NodegroupGateway => {
    if (!env.target) return eks(env.region);
    const key = `${env.region}|${env.target.roleArn}|${env.target.externalId}`;
    let gateway = targetEks.get(key);
    if (!gateway) {
      gateway = new EksNodegroupGateway(eksClientFor(env.region, assumed(env)));
      targetEks.set(key, gateway);
    }
    return gateway;
  };
  const kube =
    o.kube ??
    (() => {
      throw new CimError(ErrorNames.ConfigInvalid, 'this step was built without Kubernetes access');
    });
  return {
    config: o.config,
    configSource: o.configSource,
    store: (env: Environment): StateStore => stores(`${env.bucket}|${env.bucketRegion}`),
    db,
    nodegroups,
    kube,
    health: o.health ?? httpHealthChecker,
    now: o.now ?? (() => new Date()),
    log: o.log,
  };
}
