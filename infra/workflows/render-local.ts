// A workflow's ASL without a deployment, for the local engine and the tests: the same
// construct in a throwaway stack, with placeholder function ARNs.
import { App, Stack } from 'aws-cdk-lib';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type State, StateGraph } from 'aws-cdk-lib/aws-stepfunctions';

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';
export const localFunctionArn = (id: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:cim-${id}`;

/**
 * Renders a workflow without a deployment: the same construct in a throwaway stack, with
 * placeholder function ARNs (the local engine maps every Task to its handler).
 */
export function renderLocal<F extends string>(
  stackName: string,
  functionIds: readonly F[],
  comment: string,
  build: (stack: Stack, fns: Record<F, IFunction>) => State,
): Record<string, unknown> {
  const stack = new Stack(new App(), stackName, { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const fns = Object.fromEntries(
    functionIds.map((id) => [id, LambdaFunction.fromFunctionArn(stack, `fn-${id}`, localFunctionArn(id))]),
  ) as Record<F, IFunction>;
  const graph = new StateGraph(build(stack, fns), comment);
  return withPartition(stack.resolve(graph.toGraphJson())) as Record<string, unknown>;
}

/**
 * The local stack knows its account and region but not its partition: service integration
 * ARNs (e.g. `.waitForTaskToken`) come out as Fn::Join over `Ref: AWS::Partition`. Joined
 * here with "aws", as the synthesized template resolves them for the local engine.
 */
function withPartition(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withPartition);
  if (!value || typeof value !== 'object') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join && Object.keys(value).length === 1)
    return join[1]
      .map((part) => {
        if (typeof part === 'string') return part;
        if ((part as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
        throw new Error(`internal: unresolved token in a rendered definition: ${JSON.stringify(part)}`);
      })
      .join(join[0]);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPartition(v)]));
}
