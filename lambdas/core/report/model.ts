// Owns the shapes of the fleet report (issue 18): what `cim report` reads (one summary per
// run, from the date-partitioned index), the facts the savings are computed from, and the
// model the page, report.json and savings.csv are rendered from. Types only: the arithmetic
// is in savings.ts, the page in page.ts. Times are ISO 8601 UTC strings; durations seconds.

export const REPORT_SCHEMA_VERSION = 1;

/** How a run was started. Legacy records (no trigger recorded) read as `unknown`. */
export type Trigger = 'schedule' | 'cli' | 'fleet' | 'guard' | 'wake' | 'unknown';
export type RunAction = 'up' | 'down' | 'get_env_state';
export type RunOutcome = 'succeeded' | 'failed' | 'refused' | 'skipped';

/** One run, as the index keeps it (one small write-once object per run). */
export interface RunRow {
  customer: string;
  environment: string;
  action: RunAction;
  build: string;
  trigger: Trigger;
  /** Who: the CLI user, `schedule:<name>`, the fleet's user, `guard`. */
  user: string;
  startedAt: string;
  /** Null while running (or a run that died without its result record). */
  endedAt: string | null;
  outcome: RunOutcome;
  /** Why it failed or was refused: printable, at most 500 characters. */
  reason?: string;
  /** The S3 key of the run's action record (…/history/{build}/actions.json). */
  recordKey: string;
}

/** [from, to) in UTC; from < to. */
export interface Interval {
  from: string;
  to: string;
}

/** A database as the pre-state of a down records it (additive keys of `aws_rds`). */
export interface DatabaseFacts {
  identifier: string;
  kind: 'instance' | 'cluster';
  /** e.g. postgres, mysql, aurora-postgresql. */
  engine: string | null;
  /** Instances: their class (db.t3.medium). Aurora: see members. */
  instanceClass: string | null;
  multiAz: boolean;
  storage: { allocatedGb: number; type: string; iops: number | null } | null;
  /** Aurora: every member instance (a writer and its readers), each billed by its class. */
  members: { identifier: string; instanceClass: string; serverlessV2?: { minAcu: number; maxAcu: number } }[];
}

/** A workload's pods as recorded before a down: replicas and each pod's requests. */
export interface WorkloadFacts {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
  replicas: number;
  /** Requests of one pod (the sum over its containers); null when none are set. */
  cpuCores: number | null;
  memoryGiB: number | null;
}

export interface NodegroupFacts {
  name: string;
  instanceTypes: string[];
  /** Desired size recorded before the down. */
  desiredSize: number;
}

/** What savings.ts needs about one environment over the report's range. */
export interface EnvironmentFacts {
  customer: string;
  environment: string;
  region: string;
  /** The runs in the range (and the last one before it), oldest first. */
  runs: RunRow[];
  /** From the most recent pre-state of a successful down; null when none is recorded. */
  database: DatabaseFacts | null;
  workloads: WorkloadFacts[];
  nodegroups: NodegroupFacts[];
  /**
   * What this tool itself used for the runs in the range (Step Functions state transitions and
   * Lambda GB-seconds), when the records tell it; absent: the tool's cost is unknown for it.
   */
  toolUsage?: ToolUsage;
}

/** The tool's own consumption, priced with PriceTable.tool and subtracted from the savings. */
export interface ToolUsage {
  stateTransitions: number;
  lambdaGbSeconds: number;
}

/** One price, per hour unless the unit says otherwise (`acu-hour`: Aurora Serverless v2, per ACU). */
export interface Price {
  usd: number;
  unit: 'hour' | 'acu-hour' | 'gb-month' | 'iops-month';
}

/** A dated price table (shipped, refreshed from the Price List API, or an override file). */
export interface PriceTable {
  source: string;
  /** The day the prices were taken (YYYY-MM-DD). */
  date: string;
  currency: 'USD';
  /**
   * Database instance hours, by `${region}|${engine}|${instanceClass}|${deployment}` with
   * deployment `single-az` or `multi-az` (Aurora members: `single-az`; Serverless v2: class
   * `db.serverless`, unit `acu-hour`).
   */
  databaseHours: Record<string, Price>;
  /**
   * Storage and IOPS while stopped: `${region}|${storageType}` (and `…|multi-az`) in gb-month,
   * `${region}|${storageType}|iops` in iops-month.
   */
  storage: Record<string, Price>;
  /** Kubernetes requests freed: $/vCPU-hour and $/GiB-hour (an assumption, shown as such). */
  kubernetes: { vcpuHour: number; gibHour: number } | null;
  /** The tool's own cost: per state transition and per GB-second of Lambda. */
  tool: { stateTransition: number; lambdaGbSecond: number } | null;
  /** Set when an override file (negotiated rates) replaced some prices: its source and date. */
  overrides?: string;
  /**
   * Set when the table is layered (a refreshed table from the bucket under an override file,
   * over the shipped table): the table its prices fall back to, as `source (date)`.
   */
  fallback?: string;
  /**
   * Set when the table is layered: where each price came from, by `databaseHours|${key}` or
   * `storage|${key}`, so the page can say the source and date of every price it used.
   */
  origins?: Record<string, PriceOrigin>;
}

/** Where one price came from: its table's source and the day it was taken. */
export interface PriceOrigin {
  source: string;
  date: string;
}

/** A price the estimate used, with where it came from (shown on the page). */
export interface UsedPrice extends Price, PriceOrigin {
  /** `databaseHours|${key}` or `storage|${key}`. */
  key: string;
}

export interface DatabaseSaving {
  customer: string;
  environment: string;
  identifier: string;
  engine: string | null;
  /** One line per billed instance (an Aurora cluster: one per member). */
  instances: { identifier: string; instanceClass: string | null; deployment: 'single-az' | 'multi-az' }[];
  hoursAsleep: number;
  /** Instance hours not run: hoursAsleep × billed instances. */
  instanceHours: number;
  /** Estimate; null when any instance has no price (then counted in `unpriced`). */
  usd: number | null;
  /** Still billed while stopped (storage, provisioned IOPS); null when unknown. */
  stillPayingUsd: number | null;
}

export interface WorkloadSaving {
  customer: string;
  environment: string;
  kind: WorkloadFacts['kind'];
  namespace: string;
  name: string;
  replicas: number;
  hoursAsleep: number;
  vcpuHours: number;
  gibHours: number;
}

export interface NodegroupSaving {
  customer: string;
  environment: string;
  name: string;
  instanceTypes: string[];
  hoursAsleep: number;
  instanceHours: number;
}

export interface Savings {
  /** Facts measured from the records: hours asleep and what they freed. */
  facts: {
    databases: DatabaseSaving[];
    workloads: WorkloadSaving[];
    nodegroups: NodegroupSaving[];
    totals: { databaseInstanceHours: number; vcpuHours: number; gibHours: number; nodeInstanceHours: number };
  };
  /** Money, an estimate, with what it assumes. */
  estimate: {
    currency: 'USD';
    prices: {
      source: string;
      date: string;
      overrides: string | null;
      /** Layered tables: the table missing prices fell back to. */
      fallback?: string;
      /** Layered tables: each price used, with its source and date. */
      used?: UsedPrice[];
    };
    databasesUsd: number;
    /** Instances with no price: left out of the total, counted and named. */
    unpriced: { count: number; classes: string[] };
    stillPayingUsd: number;
    /** Freed requests × the assumed $/vCPU-h and $/GiB-h; saves money only if nodes are removed. */
    kubernetesUsd: number | null;
    toolCost: { stateTransitions: number; lambdaGbSeconds: number; usd: number | null };
    /** databasesUsd − toolCost.usd (Kubernetes apart, as it is conditional). */
    netUsd: number;
    assumptions: string[];
  };
}

export type EnvironmentNow = 'asleep' | 'awake' | 'waking' | 'failed' | 'drifted' | 'held';

export interface EnvironmentNowRow {
  customer: string;
  environment: string;
  state: EnvironmentNow;
  since: string | null;
  detail?: string;
}

export interface DriftRow {
  customer: string;
  environment: string;
  kind: 'database-available-while-asleep' | 'workloads-changed-while-down' | 'on-hold';
  detail: string;
  since: string | null;
  /** The S3 key of the record that shows it (report/drift.ts); absent for a hold. */
  recordKey?: string;
  /** Set when a later step already put it right (the guard stopped the database again). */
  resolvedAt?: string;
}

export interface TimelineRow {
  customer: string;
  environment: string;
  asleep: Interval[];
  runs: { at: string; action: RunAction; trigger: Trigger; outcome: RunOutcome }[];
}

/** An index object or record left out of the report, and why (shown on the page, counted). */
export interface Exclusion {
  key: string;
  reason: string;
}

/** Everything the page, report.json and savings.csv show. */
export interface ReportModel {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  generatedAt: string;
  range: Interval & { days: number };
  fleet: { counts: Record<EnvironmentNow, number>; environments: EnvironmentNowRow[] };
  lastNight: {
    window: Interval;
    counts: Record<RunOutcome, number>;
    p50Seconds: number | null;
    p95Seconds: number | null;
    slowest: RunRow[];
  };
  /** Failures and refusals in the range, newest first. */
  problems: RunRow[];
  drift: DriftRow[];
  timelines: TimelineRow[];
  savings: Savings;
  exclusions: Exclusion[];
}
