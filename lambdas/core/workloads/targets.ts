// Owns the targets of an environment with `discover`: the workloads a run acts on, carried
// in the run context so that every step sees the same list. Apart from discovery so that the
// run context can apply them without importing how they are found.
import type { DeploymentTarget, Environment, WorkloadTarget } from '../config/schema.ts';

export interface Targets {
  deployments: DeploymentTarget[];
  workloads: WorkloadTarget[];
}

/** The environment with these targets instead of its configured lists. */
export function withTargets(env: Environment, t: Targets): Environment {
  return { ...env, deployments: t.deployments, workloads: t.workloads };
}
