// Owns publishing notifications to the SNS topic the stack gives the deployed functions.
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../gateways/notifier.ts';

export function snsNotifier(sns: SNSClient, topicArn: string): Notifier {
  return {
    async publish(n) {
      await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: n.subject, Message: n.message }));
    },
  };
}

/** The deployed functions publish to the topic the stack gives them (CIM_NOTIFY_TOPIC_ARN). */
export function notifierFromEnvironment(env: NodeJS.ProcessEnv = process.env): Notifier | undefined {
  const arn = env.CIM_NOTIFY_TOPIC_ARN;
  return arn ? snsNotifier(new SNSClient({}), arn) : undefined;
}
