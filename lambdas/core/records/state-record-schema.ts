// Owns the JSON Schema of a state record (pre-state.json / post-state.json), generated from
// the same zod schema that reads records back: schemas/state-record.schema.json.
import * as z from 'zod';
import { LegacyState } from './legacy-state.ts';

export function stateRecordJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(LegacyState, { io: 'input', unrepresentable: 'any' }),
    title: 'customer-infra-manager state record',
    description:
      'history/{build}/pre-state.json and post-state.json. k8s_deployments, aws_rds, timestamp and jenkins_build are the legacy shape; k8s_statefulsets, k8s_cronjobs, keda_scaledobjects and k8s_hpas are written only for environments that configure such workloads (workloads, discover or keda); eks_nodegroups only for environments with nodegroups; k8s_ingresses only in the pre-state of a down of an environment with sleepingBackend.',
  };
}
