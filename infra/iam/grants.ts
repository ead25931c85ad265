// Grants a function what its Needs say, on the resources of the IAM scope (scope.ts), and
// keeps the wildcard resources it granted: the stack acknowledges exactly those to cdk-nag.
import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { type ArnFormat, grantStatements, type IamScope, type Needs } from './scope.ts';

export class ScopedGrants {
  /** Wildcard resources granted, for the cdk-nag acknowledgements. */
  readonly wildcardResources = new Set<string>();
  private readonly stack: Stack;

  constructor(
    scope: Construct,
    readonly iam: IamScope,
    readonly buckets: ReadonlyMap<string, IBucket>,
  ) {
    this.stack = Stack.of(scope);
  }

  /** The ARN of a state bucket of the scope (every scoped bucket has a construct). */
  bucketArn(name: string): string {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`internal: no bucket construct for ${name}`);
    return bucket.bucketArn;
  }

  /** Resources with "*" that the stack grants outside `grant`, acknowledged the same way. */
  addWildcards(resources: readonly string[]): void {
    for (const r of resources) this.wildcardResources.add(r);
  }

  grant(fn: NodejsFunction, needs: Needs): void {
    const arns: ArnFormat = {
      bucketArn: (name) => this.bucketArn(name),
      arn: (service, region, resource) =>
        `arn:${this.stack.partition}:${service}:${region}:${this.stack.account}:${resource}`,
    };
    for (const s of grantStatements(this.iam, needs, arns)) {
      for (const r of s.resources) if (r.includes('*')) this.wildcardResources.add(r);
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: s.actions,
          resources: s.resources,
          ...(s.condition ? { conditions: s.condition } : {}),
        }),
      );
    }
  }
}
