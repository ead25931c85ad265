// The environment workflow as deployed: one function per Task function of the catalog, each
// granted its NEEDS, and the state machine (infra/workflows/environment.ts) with its log
// group and failure alarm. Two steps: the database events are wired to the functions before
// the state machine is made (the order CDK's analytics metadata records, kept as deployed).
import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { ENVIRONMENT_RUN_TIMEOUT_SECONDS } from '#core/fleet/capacity';
import { type TaskFunctionId, TaskFunctions } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import { NEEDS } from '../iam/needs.ts';
import { buildWorkflow } from '../workflows/environment.ts';
import type { MakeFunction } from './function.ts';
import { type WorkflowStateMachine, workflowStateMachine } from './workflow-state-machine.ts';

/** One function per Task function of the environment workflow, each granted its NEEDS. */
export function addEnvironmentFunctions(o: {
  makeFunction: MakeFunction;
  grants: ScopedGrants;
}): Record<TaskFunctionId, NodejsFunction> {
  const functions = {} as Record<TaskFunctionId, NodejsFunction>;
  for (const fid of Object.keys(TaskFunctions) as TaskFunctionId[]) {
    functions[fid] = o.makeFunction(fid);
    o.grants.grant(functions[fid], NEEDS[fid]);
  }
  return functions;
}

/** The environment workflow's name: fixed by the stack's id, so that an ARN can be made from it. */
export const environmentWorkflowName = (id: string) => `customer-infra-manager-${id}`;

/** `id` is the stack's id: the state machine is customer-infra-manager-<id>. */
export function addEnvironmentWorkflow(
  scope: Construct,
  id: string,
  o: { functions: Record<TaskFunctionId, NodejsFunction>; key: IKey | undefined },
): WorkflowStateMachine {
  return workflowStateMachine(scope, {
    ids: { stateMachine: 'Workflow', logs: 'WorkflowLogs', alarm: 'WorkflowFailures' },
    name: environmentWorkflowName(id),
    definition: buildWorkflow(scope, o.functions),
    timeout: Duration.seconds(ENVIRONMENT_RUN_TIMEOUT_SECONDS),
    key: o.key,
    alarmDescription: 'An environment up/down failed: see the failed execution and the action record in S3.',
  });
}
