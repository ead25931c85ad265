// The deployed fleet is a Distributed Map (issue 15): items from S3, results to S3, every
// environment tried, and the map's S3 and Step Functions access scoped to the fleet's own.

import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FleetSteps } from '#core/steps';
import { renderFleetDefinition } from '#infra/workflows/fleet';
import { synthesizeStack } from '../support/synthesized.ts';

let template: Template;
beforeAll(() => {
  template = synthesizeStack().template;
});

const fleetMachine = () => {
  const [id, machine] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(
    ([k]) => k.startsWith('FleetWorkflow'),
  ) as [string, { Properties: { RoleArn: { 'Fn::GetAtt': [string, string] } } }];
  return { id, role: machine.Properties.RoleArn['Fn::GetAtt'][0] };
};

describe('the fleet as a Distributed Map', () => {
  it('reads its items with ItemReader, writes results with ResultWriter and tolerates every failure', () => {
    const map = (renderFleetDefinition().States as Record<string, Record<string, any>>)[FleetSteps.runEach];
    expect(map?.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map?.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { 'Bucket.$': '$.itemReader.bucket', 'Key.$': '$.itemReader.key' },
    });
    expect(map?.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { 'Bucket.$': '$.resultWriter.bucket', 'Prefix.$': '$.resultWriter.prefix' },
    });
    expect(map?.ToleratedFailurePercentage).toBe(100);
    expect(map?.MaxConcurrencyPath).toBe('$.maxConcurrency');
    // Children stay environment executions, with a failed one a result (Catch), not the end.
    // Each child waits for its start slot (the RDS budget's pace) before it starts.
    expect(map?.ItemProcessor.StartAt).toBe(FleetSteps.waitStart);
    expect(map?.ItemProcessor.States[FleetSteps.waitStart]).toEqual({
      Type: 'Wait',
      TimestampPath: '$.startAt',
      Next: FleetSteps.runEnvironment,
    });
    const child = map?.ItemProcessor.States[FleetSteps.runEnvironment];
    expect(child.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(child.Catch[0].ErrorEquals).toEqual(['States.ALL']);
    // The summary gets the plan once (no second copy of the results).
    const record = (renderFleetDefinition().States as Record<string, Record<string, any>>)[FleetSteps.record];
    expect(Object.keys(record?.Parameters)).toEqual(['plan.$', 'executionId.$']);
  });

  it("grants the fleet's state machine S3 only under fleet/ and Step Functions only on the environment workflow and its own executions", () => {
    const { role } = fleetMachine();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(role),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Record<string, any>[],
    );
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3.length).toBeGreaterThan(0);
    for (const s of s3) expect(JSON.stringify(s.Resource)).toMatch(/"\/fleet\/\*"\]\]\}$/);
    const states = statements.filter((s) => JSON.stringify(s.Action).includes('states:'));
    expect(states.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'states:DescribeExecution',
      'states:DescribeExecution',
      'states:RedriveExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StopExecution',
      'states:StopExecution',
    ]);
    for (const s of states) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
  });
});
