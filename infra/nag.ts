// The cdk-nag (AwsSolutions) findings of the central stack that are deliberate, each with
// its reason; acknowledged by finding id, so a new finding still fails the synth.
import { type Stack, Token, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';

export interface NagSubjects {
  /** Every function of the stack. */
  functions: readonly IFunction[];
  environmentWorkflow: IStateMachine;
  fleetWorkflow: IStateMachine;
  guardWorkflow: IStateMachine;
  buckets: Iterable<IBucket>;
  /** The wildcard resources granted (ScopedGrants.wildcardResources). */
  wildcardResources: Iterable<string>;
  /** The wakes' schedule group (constructs/wake-ttl.ts), whose schedules "Schedule wake down" creates. */
  wakeScheduleGroup?: string;
}

/** cdk-nag (AwsSolutions) findings that are deliberate, each with its reason. */
export function acknowledgeNagFindings(stack: Stack, o: NagSubjects): void {
  const v = Validations.of(stack);
  v.acknowledge({
    id: 'AwsSolutions::AwsSolutions-L1',
    reason:
      'nodejs22.x on purpose: the local engine (aws-local-stepfunctions) and the tests run on Node 22, so the Lambdas run what is tested.',
  });
  v.acknowledge({
    id: 'AwsSolutions::AwsSolutions-S1',
    reason:
      'The state bucket is an audit trail of small JSON records, versioned; use CloudTrail data events for access auditing instead of server access logs.',
  });
  v.acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason:
      'Step Functions log delivery (logs:*LogDelivery*) and X-Ray (xray:Put*) only accept "*" as resource.',
  });
  for (const fn of o.functions) {
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
      reason:
        'The state machine may invoke the versions of its own functions (lambda:InvokeFunction on the function ARN and ARN:*).',
    });
  }
  v.acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(o.environmentWorkflow.node.defaultChild as never)}"}]}]}*]`,
    reason:
      'The fleet workflow follows and stops the executions it starts (startExecution.sync:2): DescribeExecution/StopExecution on executions of the environment workflow only.',
  });
  // The Distributed Map's child executions are executions of the fleet state machine itself
  // (named {fleet}/{label}:{id}): it follows, stops and redrives only those.
  const fleetExecutions = `arn:<AWS::Partition>:states:${stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(o.fleetWorkflow.node.defaultChild as never)}"}]}]}`;
  for (const suffix of [':*', '/Fleet:*'])
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${fleetExecutions}${suffix}]`,
      reason:
        "The fleet's Distributed Map runs each environment as a child execution of the fleet state machine: DescribeExecution/StopExecution/RedriveExecution on the fleet's own executions only.",
    });
  const guardExecutions = fleetExecutions.replace(
    stack.getLogicalId(o.fleetWorkflow.node.defaultChild as never),
    stack.getLogicalId(o.guardWorkflow.node.defaultChild as never),
  );
  for (const suffix of [':*', '/Guard:*'])
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${guardExecutions}${suffix}]`,
      reason:
        "The guard's Distributed Map runs each environment as a child execution of the guard state machine: DescribeExecution/StopExecution/RedriveExecution on the guard's own executions only.",
    });
  for (const bucket of o.buckets) {
    const cfn = bucket.node.defaultChild;
    if (!cfn) continue;
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(cfn as never)}.Arn>/fleet/*]`,
      reason:
        "The fleet writes new keys per run under fleet/ (its build's claim and item list, the map run's results, the write-once summary) and reads them back.",
    });
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(cfn as never)}.Arn>/guard/*]`,
      reason:
        "The guard writes a new item list per execution under guard/ and its Distributed Map's results beside it, and reads them back.",
    });
  }
  if (o.wakeScheduleGroup)
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:${stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:schedule/${o.wakeScheduleGroup}/*]`,
      reason:
        "A wake's schedule is named per environment at run time: CreateSchedule/UpdateSchedule on the schedules of the stack's own wake group only.",
    });
  for (const bucket of o.buckets) {
    const cfn = bucket.node.defaultChild;
    if (!cfn) continue;
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(cfn as never)}.Arn>/wake-ledger/users/*]`,
      reason:
        "A person's wake ledger is named by a hash of the person, beside the environments: Get/PutObject under wake-ledger/users/ only (Prepare: GetObject).",
    });
  }
  for (const resource of o.wildcardResources) {
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(resource))}]`,
      reason: resource.includes(':rds:')
        ? 'RDS access is scoped to the identifier template of the configured databases (its placeholders become "*"), per region and kind, so the policy does not grow with the fleet.'
        : resource.includes(':nodegroup/')
          ? 'A managed node group ARN ends in an id EKS generates: access is scoped to the configured node groups by cluster and name (nodegroup/<cluster>/<name>/*).'
          : resource.includes('/wake-ledger/users/')
            ? 'The wake page reads the per-person wake ledgers (one object per person, named by a hash) of the rate limits; it writes nothing.'
            : "S3 object access is scoped to the literal start of the environments' key prefixes in the state bucket: each build writes new keys under them.",
    });
  }
}

/** The deployed wake page's deliberate findings (constructs/wake-endpoint.ts). */
export function acknowledgeWakeEndpointNagFindings(stack: Stack, environmentWorkflow: IStateMachine): void {
  const v = Validations.of(stack);
  v.acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(environmentWorkflow.node.defaultChild as never)}"}]}]}:*]`,
    reason:
      'The wake page reads back the execution of a wake it started (is it still running?): DescribeExecution on executions of the environment workflow only, whose names are made per wake.',
  });
  v.acknowledge({
    id: 'AwsSolutions::AwsSolutions-SMG4',
    reason:
      "The wake page's CSRF key: CloudFormation resolves it into the function's environment at deploy, so a rotation would only take effect at the next deploy; replace it by redeploying after changing the secret (open pages then reload).",
  });
}

/** A resolved CloudFormation value written as cdk-nag writes it in finding ids. */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenForNag).join(sep);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [res, att] = v['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenForNag(res)}.${flattenForNag(att)}>`;
    }
    if ('Ref' in v) return `<${flattenForNag(v.Ref)}>`;
  }
  return JSON.stringify(value);
}
