// Notifications in the stack: the SNS topic (encrypted with its own KMS key, TLS only, and a
// policy that lets only the publishing functions and CloudWatch alarms of this account
// publish), or an existing topic from `stack.notificationTopicArn`; the functions that
// announce failed runs, guard re-stops and fleet failures get its ARN and may publish; the
// failure alarms get it as their action. Subscriptions are not created here (docs/operations.md "Notifications").
import { Stack, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export function addNotifications(
  scope: Construct,
  o: {
    topicArn: string | undefined;
    publishers: NodejsFunction[];
    alarms: Alarm[];
    /** stack.kms: the customer key encrypts the topic too (otherwise a key of its own). */
    key?: IKey | undefined;
  },
): ITopic {
  let topic: ITopic;
  if (o.topicArn) {
    topic = Topic.fromTopicArn(scope, 'Notifications', o.topicArn);
  } else {
    const account = Stack.of(scope).account;
    const key =
      o.key ??
      new Key(scope, 'NotificationsKey', {
        enableKeyRotation: true,
        description: 'customer-infra-manager notifications topic',
      });
    // CloudWatch alarms publish to an encrypted topic only if they may use its key.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    const created = new Topic(scope, 'Notifications', {
      displayName: 'customer-infra-manager',
      masterKey: key,
      enforceSSL: true,
    });
    created.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyThePublishers',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [created.topicArn],
        conditions: {
          ArnNotEquals: { 'aws:PrincipalArn': o.publishers.map((f) => f.role?.roleArn as string) },
          StringNotEquals: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' },
        },
      }),
    );
    created.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [created.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    topic = created;
    Validations.of(Stack.of(scope)).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the encrypted notifications topic needs kms:GenerateDataKey* on its own key only (Topic.grantPublish).',
    });
  }
  for (const fn of o.publishers) {
    topic.grantPublish(fn);
    fn.addEnvironment('CIM_NOTIFY_TOPIC_ARN', topic.topicArn);
  }
  for (const a of o.alarms) a.addAlarmAction(new SnsAction(topic));
  return topic;
}
