// Owns wiring: builds the collaborators of the workflow steps (S3 store, RDS, Kubernetes,
// health checks, clock) once per process, for the Lambdas (EKS) and for the CLI (kubeconfig).
import type { Config, Environment } from './config.ts';
import { type DatabaseGateway, RdsDatabaseGateway, rdsClientFor } from './database.ts';
import { type HealthChecker, httpHealthChecker } from './health.ts';
import { type KubeGateway, kubeGatewayForEks, kubeGatewayFromKubeconfig } from './kube.ts';
import { S3StateStore, type StateStore, s3ClientFor } from './state-store.ts';
import type { Deps, Logger } from './workflow-steps.ts';

export interface DepsOptions {
  config: Config;
  configSource: string;
  /** 'eks' in Lambda; 'kubeconfig' for local runs (path and context from options, config or KUBECONFIG). */
  kubeAccess: 'eks' | 'kubeconfig';
  kubeconfig?: string | undefined;
  kubeContext?: string | undefined;
  health?: HealthChecker;
  now?: () => Date;
  log: Logger;
}

function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = make(key);
      cache.set(key, v);
    }
    return v;
  };
}

export function makeDeps(o: DepsOptions): Deps {
  const stores = memo((k) => {
    const [bucket = '', region = ''] = k.split('|');
    return new S3StateStore(s3ClientFor(region), bucket);
  });
  const rds = memo((region) => new RdsDatabaseGateway(rdsClientFor(region)));
  const kubes = memo((k) => {
    if (o.kubeAccess === 'kubeconfig') {
      return kubeGatewayFromKubeconfig(
        o.kubeconfig ?? o.config.kubernetes.kubeconfig,
        o.kubeContext ?? o.config.kubernetes.context,
      );
    }
    const [cluster = '', region = ''] = k.split('|');
    return kubeGatewayForEks(cluster, region);
  });
  return {
    config: o.config,
    configSource: o.configSource,
    store: (env: Environment): StateStore => stores(`${env.bucket}|${env.bucketRegion}`),
    db: (env: Environment): DatabaseGateway => rds(env.region),
    kube: (env: Environment): KubeGateway => kubes(`${env.cluster}|${env.region}`),
    health: o.health ?? httpHealthChecker,
    now: o.now ?? (() => new Date()),
    log: o.log,
  };
}
