// The one place where deliberate findings of the template scanners are acknowledged.
// checkov reads `Metadata.checkov.skip: [{ id, comment }]` on the resource itself, so a
// reviewer sees the reason next to the resource in the template; an Aspect writes it on
// every matching resource of a stack, only where the finding applies (a function in a VPC
// gets no CKV_AWS_117 acknowledgement). A finding not listed here fails `npm run scan`.
import { Aspects, CfnResource, type IAspect, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface ScanAcknowledgement {
  /** The checkov check id. */
  id: string;
  /** CloudFormation resource type the acknowledgement applies to. */
  type: string;
  /** One line: why this finding is deliberate here. */
  reason: string;
  /** Applies only where this holds for the resource (default: always). */
  when?: (resource: CfnResource, props: Record<string, unknown>) => boolean;
}

const has = (props: Record<string, unknown>, key: string) => props[key] !== undefined && props[key] !== null;

export const SCAN_ACKNOWLEDGEMENTS: readonly ScanAcknowledgement[] = [
  {
    id: 'CKV_AWS_115',
    type: 'AWS::Lambda::Function',
    reason:
      'Concurrency is bounded by the workflows (one lock per environment, fleet Map MaxConcurrency); reserving it per function would take from the account pool and fails in accounts with low limits.',
  },
  {
    id: 'CKV_AWS_116',
    type: 'AWS::Lambda::Function',
    reason:
      'Invoked synchronously by Step Functions only: failures go to the Retry/Catch of the state machine and the failure record; a DLQ applies to asynchronous invocations only.',
    // The function EventBridge invokes asynchronously (database-event) has its DLQ instead.
    when: (_r, p) => !has(p, 'deadLetterConfig'),
  },
  {
    id: 'CKV_AWS_117',
    type: 'AWS::Lambda::Function',
    reason:
      'stack.vpc is not set: the functions reach public EKS endpoints and AWS APIs; set stack.vpc to run them in your subnets.',
    when: (_r, p) => !has(p, 'vpcConfig'),
  },
  {
    id: 'CKV_AWS_173',
    type: 'AWS::Lambda::Function',
    reason:
      "stack.kms is none: the environment holds no secrets (service name, NODE_OPTIONS; the configuration is in the bundle) but the wake page's CSRF key, and is encrypted with the AWS-managed key; set stack.kms for a customer key.",
    when: (_r, p) => !has(p, 'kmsKeyArn'),
  },
  {
    id: 'CKV_AWS_158',
    type: 'AWS::Logs::LogGroup',
    reason:
      'stack.kms is none (the default, for cost): CloudWatch Logs encrypts with its own keys; set stack.kms to create or to a key ARN for a customer-managed key.',
    when: (_r, p) => !has(p, 'kmsKeyId'),
  },
  {
    id: 'CKV_AWS_27',
    type: 'AWS::SQS::Queue',
    reason:
      'Dead-letter queues of rule targets, encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which EventBridge delivers to without a KMS key policy (the AWS-managed aws/sqs key policy cannot allow it); checkov recognises only KmsMasterKeyId.',
    when: (_r, p) => p.sqsManagedSseEnabled === true && !has(p, 'kmsMasterKeyId'),
  },
  {
    id: 'CKV_AWS_149',
    type: 'AWS::SecretsManager::Secret',
    reason:
      "stack.kms is none: the wake page's CSRF secret is encrypted with the AWS-managed key (aws/secretsmanager); set stack.kms for a customer key.",
    when: (_r, p) => !has(p, 'kmsKeyId'),
  },
  {
    id: 'CKV_AWS_18',
    type: 'AWS::S3::Bucket',
    reason:
      'The state bucket is an audit trail of small versioned JSON records; use CloudTrail S3 data events for access auditing instead of server access logs.',
  },
];

/** Writes `Metadata.checkov.skip` on every resource of the scope a listed finding applies to. */
export class ScanAcknowledgements implements IAspect {
  constructor(private readonly list: readonly ScanAcknowledgement[] = SCAN_ACKNOWLEDGEMENTS) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource)) return;
    const props = cfnProperties(node);
    const skip = this.list
      .filter((a) => a.type === node.cfnResourceType && (a.when?.(node, props) ?? true))
      .map((a) => ({ id: a.id, comment: a.reason }));
    if (skip.length === 0) return;
    const existing = (node.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)
      ?.skip;
    const ids = new Set((existing ?? []).map((s) => s.id));
    node.addMetadata('checkov', { skip: [...(existing ?? []), ...skip.filter((s) => !ids.has(s.id))] });
  }
}

/** The L1 properties as set on the construct (camelCase), without resolving tokens. */
function cfnProperties(node: CfnResource): Record<string, unknown> {
  return node as unknown as Record<string, unknown>;
}

export function acknowledgeScanFindings(stack: Stack): void {
  Aspects.of(stack).add(new ScanAcknowledgements());
}
