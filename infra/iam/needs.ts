// What each Task function touches: IAM (infra/iam/grants.ts) and the EKS access
// entries are granted from this and nothing else.
import type { GuardFunctionId, TaskFunctionId } from '#core/steps';
import type { Needs } from './scope.ts';

/** What each function touches; IAM is granted from this and nothing else. */
export const NEEDS: Record<TaskFunctionId, Needs> = {
  // Reads the wake ledgers too (a wake's rate limits): wakeLedgers.
  prepare: { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true, wakeLedgers: 'read' },
  'record-intent': { s3: true },
  'plan-dry-run': {},
  'scale-down': { s3: true, eks: true },
  'stop-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  'start-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  'check-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  // Stores its task token next to the records (S3), looks at the database once; SendTaskSuccess in database-events.ts.
  'await-database': { s3: true, rdsDescribe: true },
  'restore-replicas': { s3: true, eks: true },
  'check-deployments': { eks: true },
  'check-health': {},
  'suspend-cronjobs': { s3: true, eks: true },
  'scale-statefulsets-down': { s3: true, eks: true },
  'restore-statefulsets': { s3: true, eks: true },
  'check-statefulsets': { eks: true },
  'resume-cronjobs': { s3: true, eks: true },
  'check-autoscalers': { eks: true },
  'scale-nodegroups-down': { s3: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'restore-nodegroups': { s3: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'check-nodegroups': { s3: true, eks: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'pause-keda': { s3: true, eks: true },
  'restore-keda': { s3: true, eks: true },
  ingresses: { s3: true, eks: true },
  'record-result': { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true },
  'record-failure': { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true },
  // wake.json and the ledgers (the person's ledger is in the bucket, beside the environments);
  // its schedule (scheduler:CreateSchedule/UpdateSchedule, iam:PassRole) in constructs/wake-ttl.ts.
  'wake-run': { s3: true, wakeLedgers: 'write' },
};

/**
 * The functions that change workloads in Kubernetes (Prepare's permission check is a
 * server-side dry-run patch, which RBAC authorizes as a patch); every other function with
 * `eks` only reads and gets the reader group.
 */
export const KUBERNETES_WRITERS: ReadonlySet<TaskFunctionId> = new Set<TaskFunctionId>([
  'prepare',
  'scale-down',
  'restore-replicas',
  'suspend-cronjobs',
  'scale-statefulsets-down',
  'restore-statefulsets',
  'resume-cronjobs',
  'pause-keda',
  'restore-keda',
  'ingresses',
]);

/** The guard's functions: only guard-step touches S3 and RDS. */
export const GUARD_NEEDS: Record<GuardFunctionId, Needs> = {
  'guard-select': {},
  'guard-step': { s3: true, rdsDescribe: true, rdsStartStop: true },
  'guard-summary': {},
};

/**
 * The report function (after each fleet run): reads the records and the run index under the
 * environments' prefixes, never changes them; writes only the deployed report (report/*).
 */
export const REPORT_NEEDS: Needs = { s3Read: true, reportWrite: true };

/**
 * The wake TTL function (a wake's one-time schedule): reads the wake and the records under the
 * environments' prefixes, writes nothing; its one other permission, starting the environment
 * workflow, is granted on that state machine alone (constructs/wake-ttl.ts).
 */
export const WAKE_TTL_NEEDS: Needs = { s3Read: true };

/**
 * The wake endpoint function (the deployed wake page): reads the hold, the wake, the last
 * change and the run index under the environments' prefixes, and the per-person ledgers of
 * the rate limits; writes nothing. Starting the environment workflow and reading its
 * executions are granted on that state machine alone (constructs/wake-endpoint.ts).
 */
export const WAKE_ENDPOINT_NEEDS: Needs = { s3Read: true, wakeLedgerRead: true };
