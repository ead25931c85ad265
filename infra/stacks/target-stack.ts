// The small stack deployed into each target account (CustomerInfraManagerTarget): the role
// the central functions assume there, with exactly what the workflow does in that account
// (RDS describe/start/stop of the configured databases, EKS DescribeCluster of the
// configured clusters; no S3: the state bucket stays central), trusting only the central
// stack's function roles that talk to RDS or EKS, with the external id; and the EKS access
// entries for it. `cdk synth` needs no credentials: the central account and stack name are
// given, the function roles are matched by the IAM path the central stack gives each of them.
import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { AccountPrincipal, Effect, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { WRITERS_GROUP } from '#core/config/rbac';
import type { Config } from '#core/config/schema';
import { TARGET_ROLE_NAME } from '#core/config/targets';
import { NODE_READERS_GROUP } from '#core/nodegroups/rules';
import { type ArnFormat, grantStatements, iamScope, type Needs, scopedEnvironments } from '../iam/scope.ts';

export interface TargetStackProps extends StackProps {
  config: Config;
  configSource: string;
  /** Account and name of the central stack whose function roles may assume the target role. */
  centralAccount: string;
  centralStackName: string;
  /** The account this stack is deployed into: it serves the environments configured there. */
  targetAccount: string;
  /** The central functions that call RDS or EKS, and what they need. */
  needs: Record<string, Needs>;
}

/**
 * The IAM path of a central function's role. CloudFormation names a role
 * `<stack>-<logicalId>-<suffix>` and truncates that to 64 characters, so a pattern on the
 * name breaks with a long stack name; the path is ours, up to 512 characters, and part of
 * the role's ARN (and of `aws:PrincipalArn`).
 */
export function functionRolePath(stackName: string, functionId: string): string {
  return `/customer-infra-manager/${stackName}/${functionId}/`;
}

/** The ARN patterns of the central function roles that call RDS or EKS (one path each, plus the pre-path name). */
export function centralRolePatterns(
  partition: string,
  account: string,
  stackName: string,
  needs: Record<string, Needs>,
) {
  return Object.entries(needs)
    .filter(([, n]) => n.eks || n.rdsDescribe || n.rdsStartStop || n.nodegroupsDescribe || n.nodegroupsUpdate)
    .flatMap(([id]) => [
      `arn:${partition}:iam::${account}:role${functionRolePath(stackName, id)}*`,
      // Until the central stack is redeployed with the role paths: its roles still have the
      // names (and no path) of earlier versions. Deploy the target stacks first, then the
      // central one; a later release drops this pattern.
      `arn:${partition}:iam::${account}:role/${stackName}-Role${id.replace(/[^A-Za-z0-9]/g, '')}*`,
    ]);
}

export class CimTargetStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, props);
    const scoped = scopedEnvironments(props.config, props.configSource).filter(
      (s) => s.env.target?.account === props.targetAccount,
    );
    const externalIds = [...new Set(scoped.map((s) => s.env.target?.externalId ?? ''))];
    this.role = new Role(this, 'TargetRole', {
      roleName: TARGET_ROLE_NAME,
      description: `customer-infra-manager: assumed by the function roles of ${props.centralStackName} in ${props.centralAccount}`,
      assumedBy: new AccountPrincipal(props.centralAccount).withConditions({
        StringEquals: { 'sts:ExternalId': externalIds },
        ArnLike: {
          'aws:PrincipalArn': centralRolePatterns(
            this.partition,
            props.centralAccount,
            props.centralStackName,
            props.needs,
          ),
        },
      }),
    });
    const all: Needs = {
      rdsDescribe: true,
      rdsStartStop: true,
      eks: true,
      nodegroupsDescribe: true,
      nodegroupsUpdate: true,
    };
    const arns: ArnFormat = {
      bucketArn: () => {
        throw new Error('internal: the target stack grants no S3');
      },
      arn: (service, region, resource) =>
        `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`,
    };
    for (const s of grantStatements(iamScope(scoped), all, arns)) {
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: s.actions,
          resources: s.resources,
          ...(s.condition ? { conditions: s.condition } : {}),
        }),
      );
    }
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5',
      reason:
        'RDS access in the target account is scoped to the identifier template of the configured databases (its placeholders become "*"), as in the central stack.',
    });
    if (props.config.stack.eksAccessEntry) {
      // One role for every step here: the writer group (bound per namespace by `cim rbac`),
      // no access policy and so no namespace list in the template.
      const clusters = [...new Set(scoped.map((s) => s.env.cluster))].sort();
      for (const cluster of clusters)
        new CfnAccessEntry(this, `Access-${cluster}`, {
          clusterName: cluster,
          principalArn: this.role.roleArn,
          type: 'STANDARD',
          // Nodes are cluster-wide (see NODE_READERS_GROUP): bound by the operator once per cluster.
          kubernetesGroups: [
            WRITERS_GROUP,
            ...(scoped.some((s) => s.env.cluster === cluster && s.env.nodegroups.length)
              ? [NODE_READERS_GROUP]
              : []),
          ],
        });
    }
  }
}
