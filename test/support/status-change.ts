// The EventBridge event Step Functions sends when an execution ends, as the rule on the
// environment state machine delivers it to the execution-status function.
import type { EndedStatus } from '#core/run/execution-ended';

export const SM_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:customer-infra-manager-Test';

export function statusChange(executionArn: string, status: EndedStatus, input: unknown, error?: string) {
  return {
    version: '0',
    id: 'e1',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    account: '123456789012',
    region: 'us-east-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: SM_ARN,
      name: executionArn.split(':').pop(),
      status,
      startDate: 1_700_000_000_000,
      stopDate: 1_700_000_060_000,
      input: JSON.stringify(input),
      inputDetails: { included: true },
      output: null,
      ...(error ? { error, cause: 'not read: may carry data' } : {}),
    },
  };
}
