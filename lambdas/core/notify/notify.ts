// Owns notifications: short, human-readable messages (a failed run, a guard re-stop, a fleet
// run with failures), each with a link to the execution in the Step Functions console, and
// publishing them (SNS in clients/sns.ts). Publishing is best effort: a notification that cannot
// be sent is logged, never the reason a run fails.
import type { Deps } from '../contracts.ts';
import { errorMessage } from '../errors.ts';
import type { FleetSummary } from '../fleet/fleet.ts';
import type { Notification } from '../gateways/notifier.ts';
import type { GuardContext } from '../guard/guard.ts';
import type { RunSummary } from '../run/record.ts';

/** The execution in the Step Functions console, or where a local run ran. */
export function executionLink(executionId: string): string {
  const m = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:/.exec(executionId);
  if (!m) return `local run ${executionId}`;
  const region = m[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionId}`;
}

const subject = (s: string) => (s.length > 100 ? `${s.slice(0, 99)}…` : s);

export function failedRunNotification(s: RunSummary): Notification {
  const where = `${s.customer}/${s.environment}`;
  const word = s.result === 'interrupted' ? 'interrupted' : 'FAILED';
  const lines = [
    `${s.action} of ${where} ${word} (build ${s.build}).`,
    `Error: ${s.error?.name ?? 'unknown'}${s.error?.step ? ` in "${s.error.step}"` : ''}: ${s.error?.message ?? ''}`,
    s.recorded === false
      ? 'The failure could NOT be recorded in S3; the intent record keeps the restore point.'
      : `Lock: ${s.lock}.`,
    `Execution: ${executionLink(s.executionId)}`,
    `Next: cim status --customer ${s.customer} --env ${s.environment}, then run ${s.action} again.`,
  ];
  return {
    subject: subject(`cim: ${s.action} ${where} ${word} (build ${s.build})`),
    message: lines.join('\n'),
  };
}

export function guardNotification(c: GuardContext, database: string): Notification {
  const where = `${c.customer}/${c.environment}`;
  return {
    subject: subject(`cim: re-stopped the database of ${where}`),
    message: [
      `${database} of ${where} had started again (${c.trigger}; it was '${c.stateBefore ?? 'unknown'}') while the environment is down since build ${c.downBuild ?? 'unknown'}.`,
      `The seven-day guard stopped it again${c.record ? ` and recorded it in ${c.record}` : ''}.`,
      `Execution: ${executionLink(c.executionId)}`,
    ].join('\n'),
  };
}

export function fleetNotification(s: FleetSummary, executionId: string): Notification {
  const failed = s.environments.filter((e) => e.result === 'failed');
  return {
    subject: subject(`cim: fleet ${s.action} build ${s.build}: ${failed.length} failed`),
    message: [
      `Fleet ${s.action} (build ${s.build}, ${s.user}): ${s.counts.succeeded} succeeded, ${s.counts.skipped} skipped, ${s.counts.refused} refused, ${s.counts.failed} failed.`,
      ...failed
        .slice(0, 10)
        .map(
          (e) =>
            `- ${e.environment}: ${e.error?.name ?? ''}: ${e.error?.message ?? ''}${e.executionArn ? ` ${executionLink(e.executionArn)}` : ''}`,
        ),
      ...(failed.length > 10 ? [`... and ${failed.length - 10} more (see the summary record)`] : []),
      `Summary: ${s.record ?? s.alreadyRecorded ?? 'not recorded'}`,
      `Execution: ${executionLink(executionId)}`,
    ].join('\n'),
  };
}

export async function notify(deps: Deps, n: Notification): Promise<void> {
  if (!deps.notify) return;
  try {
    await deps.notify.publish(n);
  } catch (err) {
    deps.log.warn('notification not sent', { subject: n.subject, error: errorMessage(err) });
  }
}
