// The optional CloudWatch dashboard (`stack.dashboard: true`): runs by result and their
// duration for the environment workflow and the fleet, and, from the functions' structured
// logs, runs and step durations by environment and action (Logs Insights).
import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, LogQueryWidget, type Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

const byResult = (sm: StateMachine): Metric[] => [
  sm.metricSucceeded({ label: 'succeeded', statistic: Stats.SUM }),
  sm.metricFailed({ label: 'failed', statistic: Stats.SUM }),
  sm.metricAborted({ label: 'aborted', statistic: Stats.SUM }),
  sm.metricTimedOut({ label: 'timed out', statistic: Stats.SUM }),
];

export function buildDashboard(
  scope: Construct,
  name: string,
  workflow: StateMachine,
  fleet: StateMachine,
  recordResult: NodejsFunction,
): Dashboard {
  const period = Duration.hours(1);
  const dashboard = new Dashboard(scope, 'Dashboard', {
    dashboardName: name,
    defaultInterval: Duration.days(7),
  });
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Environment runs by result',
      left: byResult(workflow),
      period,
      stacked: true,
      width: 12,
    }),
    new GraphWidget({
      title: 'Environment run duration (ms)',
      left: [
        workflow.metricTime({ label: 'p50', statistic: Stats.percentile(50) }),
        workflow.metricTime({ label: 'p90', statistic: Stats.percentile(90) }),
        workflow.metricTime({ label: 'max', statistic: Stats.MAXIMUM }),
      ],
      period,
      width: 12,
    }),
    new GraphWidget({
      title: 'Fleet runs by result',
      left: byResult(fleet),
      period,
      stacked: true,
      width: 12,
    }),
    new GraphWidget({
      title: 'Fleet run duration (ms)',
      left: [fleet.metricTime({ label: 'max', statistic: Stats.MAXIMUM })],
      period,
      width: 12,
    }),
  );
  const logGroup = recordResult.logGroup.logGroupName;
  dashboard.addWidgets(
    new LogQueryWidget({
      title: 'Up/down runs by environment (recorded results)',
      logGroupNames: [logGroup],
      queryLines: [
        'fields @timestamp, environmentKey, action, executionArn',
        'filter ispresent(environmentKey) and action in ["up", "down"]',
        'stats count(*) as runs, latest(@timestamp) as last by environmentKey, action',
        'sort runs desc',
        'limit 100',
      ],
      width: 24,
    }),
  );
  return dashboard;
}
