// Owns the savings arithmetic of the report: facts first (hours asleep and what they freed,
// measured from the records), then money as an estimate priced from a dated table, with every
// assumption said in words. Pure: the caller gives the facts, the range, the prices and `now`.
// Full precision throughout: rounding is the page's business, so totals add up.
import type {
  DatabaseFacts,
  DatabaseSaving,
  EnvironmentFacts,
  Interval,
  NodegroupSaving,
  PriceTable,
  RunRow,
  Savings,
  ToolUsage,
  UsedPrice,
  WorkloadSaving,
} from './model.ts';
import { hoursIn, sleepIntervals } from './sleep.ts';

/** The hours in a month AWS prorates monthly prices by (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;

/**
 * What one run is assumed to cost the tool when its records do not say (EnvironmentFacts
 * .toolUsage absent). Transitions: 36, measured for one `up` (database 8 min, deployments
 * 2 min, adaptive checks) by `npm run bench -- transitions`; a down is shorter, so this errs
 * high. Lambda: the same bench's 17 invocations × 0.25 GB (the functions' 256 MB,
 * infra/constructs/function.ts) × 1 s each, an assumed duration (not measured) = 4.25 GB-s.
 */
export const ESTIMATED_TOOL_USAGE_PER_RUN: ToolUsage = { stateTransitions: 36, lambdaGbSeconds: 4.25 };

type Deployment = 'single-az' | 'multi-az';

/** Runs that ran in the range (started in it): each costs the tool transitions and Lambda time. */
function runsIn(runs: readonly RunRow[], range: Interval): number {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  return runs.filter((r) => {
    const at = Date.parse(r.startedAt);
    return r.action !== 'get_env_state' && at >= from && at < to;
  }).length;
}

/** One billed instance and what an hour of it costs, or why it has no price. */
interface Billed {
  identifier: string;
  instanceClass: string | null;
  deployment: Deployment;
  /** USD per hour asleep; null when the table has no price for it. */
  hourly: number | null;
  /** How the page names it when unpriced: class, engine, deployment, region. */
  label: string;
}

/** Notes each price the estimate takes, by `databaseHours|${key}` or `storage|${key}`. */
type Use = (key: string) => void;

function billedInstances(db: DatabaseFacts, region: string, prices: PriceTable, use: Use): Billed[] {
  const engine = db.engine ?? 'unknown engine';
  const lookup = (instanceClass: string | null, deployment: Deployment) => {
    if (db.engine === null || instanceClass === null) return null;
    const key = `${region}|${db.engine}|${instanceClass}|${deployment}`;
    const p = prices.databaseHours[key] ?? null;
    if (p) use(`databaseHours|${key}`);
    return p;
  };
  const label = (instanceClass: string | null, deployment: Deployment) =>
    `${instanceClass ?? 'unknown class'} (${engine}, ${deployment}, ${region})`;

  if (db.kind === 'instance') {
    // Multi-AZ is priced from its own Multi-AZ price, which covers the standby; never the
    // single-AZ price doubled (AWS prices the two apart, and not always at exactly ×2).
    const deployment: Deployment = db.multiAz ? 'multi-az' : 'single-az';
    const p = lookup(db.instanceClass, deployment);
    return [
      {
        identifier: db.identifier,
        instanceClass: db.instanceClass,
        deployment,
        hourly: p?.unit === 'hour' ? p.usd : null,
        label: label(db.instanceClass, deployment),
      },
    ];
  }
  // A cluster recorded without its members (a legacy pre-state): its instances are unknown,
  // so it shows as one unpriced line rather than a saving of 0.
  if (db.members.length === 0)
    return [
      {
        identifier: db.identifier,
        instanceClass: null,
        deployment: 'single-az',
        hourly: null,
        label: `members not recorded (${engine}, ${region})`,
      },
    ];
  // Aurora: every member is billed by its own class (a writer and its readers); a cluster
  // counted as one instance would understate the savings of a 15-member cluster 15 times.
  return db.members.map((m) => {
    if (m.serverlessV2) {
      // A Serverless v2 member stopped with its cluster saves at least its minimum capacity:
      // what it ran at when idle is unknown, so the floor is the honest figure.
      const p = lookup('db.serverless', 'single-az');
      return {
        identifier: m.identifier,
        instanceClass: m.instanceClass,
        deployment: 'single-az' as const,
        hourly: p?.unit === 'acu-hour' ? m.serverlessV2.minAcu * p.usd : null,
        label: `${m.instanceClass} Serverless v2 at ${m.serverlessV2.minAcu} ACU (${engine}, ${region})`,
      };
    }
    const p = lookup(m.instanceClass, 'single-az');
    return {
      identifier: m.identifier,
      instanceClass: m.instanceClass,
      deployment: 'single-az' as const,
      hourly: p?.unit === 'hour' ? p.usd : null,
      label: label(m.instanceClass, 'single-az'),
    };
  });
}

/**
 * What is still billed while the database is stopped, over `hours`: allocated storage and
 * provisioned IOPS at their monthly prices prorated by hours / 730. Null when any part has no
 * price or the storage is not recorded (Aurora's cluster volume is billed by use, not recorded).
 */
function stillPaying(
  db: DatabaseFacts,
  region: string,
  prices: PriceTable,
  hours: number,
  use: Use,
): number | null {
  const s = db.storage;
  if (s === null) return null;
  const gbKey = db.kind === 'instance' && db.multiAz ? `${region}|${s.type}|multi-az` : `${region}|${s.type}`;
  const gb = prices.storage[gbKey];
  if (gb?.unit !== 'gb-month') return null;
  use(`storage|${gbKey}`);
  let monthly = s.allocatedGb * gb.usd;
  // Provisioned IOPS are billed apart for io1/io2 only. gp2's IOPS come with its size, and the
  // figure RDS reports for gp3 includes its free baseline (3,000 IOPS): pricing it would invent
  // a charge, so gp3 IOPS above the baseline are left out (said in the assumptions).
  if (s.type.startsWith('io') && s.iops !== null && s.iops > 0) {
    const iops = prices.storage[`${region}|${s.type}|iops`];
    if (iops?.unit !== 'iops-month') return null;
    use(`storage|${region}|${s.type}|iops`);
    monthly += s.iops * iops.usd;
  }
  return (monthly * hours) / HOURS_PER_MONTH;
}

function usedPrices(prices: PriceTable, keys: readonly string[]): UsedPrice[] {
  return keys.flatMap((key) => {
    const [section, ...rest] = key.split('|');
    const p = (section === 'storage' ? prices.storage : prices.databaseHours)[rest.join('|')];
    const origin = prices.origins?.[key];
    return p && origin ? [{ key, ...p, ...origin }] : [];
  });
}

/** What the environments add up to, past their own lines. */
interface Tally {
  unpricedLabels: string[];
  unpricedCount: number;
  databasesUsd: number;
  stillPayingUsd: number;
  stillPayingUnknown: number;
  missingRequests: number;
  stateTransitions: number;
  lambdaGbSeconds: number;
  estimatedRuns: number;
}

type Who = { customer: string; environment: string };

function databaseSaving(
  env: EnvironmentFacts & { database: NonNullable<EnvironmentFacts['database']> },
  who: Who,
  hours: number,
  prices: PriceTable,
  use: Use,
  t: Tally,
): DatabaseSaving {
  const billed = billedInstances(env.database, env.region, prices, use);
  for (const b of billed)
    if (b.hourly === null) {
      t.unpricedCount += 1;
      t.unpricedLabels.push(b.label);
    }
  const priced = billed.every((b) => b.hourly !== null);
  const known = billed.reduce((sum, b) => sum + (b.hourly ?? 0) * hours, 0);
  // Priced members still count when a sibling has no price: the total takes what is known,
  // and the unpriced ones are named; the database's own line says null (incomplete).
  t.databasesUsd += known;
  const still = stillPaying(env.database, env.region, prices, hours, use);
  if (still === null) t.stillPayingUnknown += 1;
  else t.stillPayingUsd += still;
  return {
    ...who,
    identifier: env.database.identifier,
    engine: env.database.engine,
    instances: billed.map((b) => ({
      identifier: b.identifier,
      instanceClass: b.instanceClass,
      deployment: b.deployment,
    })),
    hoursAsleep: hours,
    instanceHours: hours * billed.length,
    usd: priced ? known : null,
    stillPayingUsd: still,
  };
}

function workloadSavings(env: EnvironmentFacts, who: Who, hours: number, t: Tally): WorkloadSaving[] {
  return env.workloads.map((w) => {
    if (w.cpuCores === null || w.memoryGiB === null) t.missingRequests += 1;
    return {
      ...who,
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      replicas: w.replicas,
      hoursAsleep: hours,
      vcpuHours: w.replicas * (w.cpuCores ?? 0) * hours,
      gibHours: w.replicas * (w.memoryGiB ?? 0) * hours,
    };
  });
}

/** The tool's own usage: recorded, else estimated per run in range (and counted as estimated). */
function tallyToolUsage(env: EnvironmentFacts, range: Interval, t: Tally): void {
  if (env.toolUsage) {
    t.stateTransitions += env.toolUsage.stateTransitions;
    t.lambdaGbSeconds += env.toolUsage.lambdaGbSeconds;
    return;
  }
  const n = runsIn(env.runs, range);
  t.estimatedRuns += n;
  t.stateTransitions += n * ESTIMATED_TOOL_USAGE_PER_RUN.stateTransitions;
  t.lambdaGbSeconds += n * ESTIMATED_TOOL_USAGE_PER_RUN.lambdaGbSeconds;
}

/** The page's assumptions: every number of the estimate says what it rests on. */
function assumptionsOf(prices: PriceTable, t: Tally, toolUsd: number | null, classes: string[]): string[] {
  const out = [
    `Prices: on-demand, ${prices.currency}, from ${prices.source} (taken ${prices.date})${
      prices.fallback ? `, where it has none from ${prices.fallback}` : ''
    }${prices.overrides ? `, with negotiated rates from ${prices.overrides}` : ''}.`,
    'Hours asleep are measured from the end of a successful down to the start of the next up (any trigger), in real elapsed time (UTC); a failed or refused down saves nothing.',
    'Reserved instances and Savings Plans save nothing when stopped: their hours are paid whether the database runs or not. The estimate assumes on-demand databases.',
    'Database money: hours asleep × the hourly price of the class, engine, region and deployment; Multi-AZ from its own Multi-AZ price; Aurora: every member by its class; Serverless v2 members at their minimum ACU.',
    `Still paying while asleep: allocated storage and provisioned IOPS at their monthly prices × hours asleep / ${HOURS_PER_MONTH}; backup storage, Aurora's cluster volume and gp3 IOPS above the baseline are billed too and are not included.`,
    'Kubernetes: freed requests × the assumed $/vCPU-hour and $/GiB-hour. This saves money only when the cluster autoscaler (or a node group scaled down) removes nodes; it is kept out of the net total.',
    toolUsd === null
      ? 'The tool’s own cost (state transitions, Lambda time) has no price in the table: not subtracted.'
      : `The tool’s own cost: ${t.stateTransitions} state transitions × $${prices.tool?.stateTransition} and ${t.lambdaGbSeconds} Lambda GB-seconds × $${prices.tool?.lambdaGbSecond}, subtracted (free tiers ignored).`,
  ];
  if (t.estimatedRuns > 0)
    out.push(
      `${t.estimatedRuns} run(s) did not record the tool's usage: each estimated at ${ESTIMATED_TOOL_USAGE_PER_RUN.stateTransitions} state transitions (measured for one up) and ${ESTIMATED_TOOL_USAGE_PER_RUN.lambdaGbSeconds} Lambda GB-seconds (17 invocations × 0.25 GB × an assumed 1 s).`,
    );
  if (t.unpricedCount > 0)
    out.push(
      `${t.unpricedCount} database instance(s) have no price (${classes.join(', ')}): left out of the total, not counted as 0.`,
    );
  if (t.stillPayingUnknown > 0)
    out.push(
      `${t.stillPayingUnknown} database(s) have storage with no price or not recorded: their still-paying cost is not included.`,
    );
  if (t.missingRequests > 0)
    out.push(`${t.missingRequests} workload(s) set no CPU or memory requests: they free nothing countable.`);
  return out;
}

/**
 * The savings over `range` (clipped at `now`) of every environment given. Money is an estimate:
 * an instance without a price is left out of the total and counted in `unpriced`, never taken
 * as 0; Kubernetes money is kept apart from the net (it saves only when nodes are removed).
 */
export function computeSavings(
  envs: readonly EnvironmentFacts[],
  range: Interval,
  prices: PriceTable,
  now: string,
): Savings {
  const databases: DatabaseSaving[] = [];
  const workloads: WorkloadSaving[] = [];
  const nodegroups: NodegroupSaving[] = [];
  const t: Tally = {
    unpricedLabels: [],
    unpricedCount: 0,
    databasesUsd: 0,
    stillPayingUsd: 0,
    stillPayingUnknown: 0,
    missingRequests: 0,
    stateTransitions: 0,
    lambdaGbSeconds: 0,
    estimatedRuns: 0,
  };
  const usedKeys = new Set<string>();
  const use: Use = (key) => usedKeys.add(key);

  for (const env of envs) {
    const hours = hoursIn(sleepIntervals(env.runs, range, now));
    const who = { customer: env.customer, environment: env.environment };
    if (env.database)
      databases.push(databaseSaving({ ...env, database: env.database }, who, hours, prices, use, t));
    workloads.push(...workloadSavings(env, who, hours, t));
    for (const n of env.nodegroups)
      nodegroups.push({
        ...who,
        name: n.name,
        instanceTypes: n.instanceTypes,
        hoursAsleep: hours,
        instanceHours: n.desiredSize * hours,
      });
    tallyToolUsage(env, range, t);
  }

  const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((s, r) => s + f(r), 0);
  const totals = {
    databaseInstanceHours: sum(databases, (d) => d.instanceHours),
    vcpuHours: sum(workloads, (w) => w.vcpuHours),
    gibHours: sum(workloads, (w) => w.gibHours),
    nodeInstanceHours: sum(nodegroups, (n) => n.instanceHours),
  };
  const kubernetesUsd = prices.kubernetes
    ? totals.vcpuHours * prices.kubernetes.vcpuHour + totals.gibHours * prices.kubernetes.gibHour
    : null;
  const toolUsd = prices.tool
    ? t.stateTransitions * prices.tool.stateTransition + t.lambdaGbSeconds * prices.tool.lambdaGbSecond
    : null;
  const classes = [...new Set(t.unpricedLabels)].sort();

  return {
    facts: { databases, workloads, nodegroups, totals },
    estimate: {
      currency: 'USD',
      prices: {
        source: prices.source,
        date: prices.date,
        overrides: prices.overrides ?? null,
        ...(prices.fallback ? { fallback: prices.fallback } : {}),
        // A layered table says where each price it used came from (the page lists them).
        ...(prices.origins ? { used: usedPrices(prices, [...usedKeys].sort()) } : {}),
      },
      databasesUsd: t.databasesUsd,
      unpriced: { count: t.unpricedCount, classes },
      stillPayingUsd: t.stillPayingUsd,
      kubernetesUsd,
      toolCost: { stateTransitions: t.stateTransitions, lambdaGbSeconds: t.lambdaGbSeconds, usd: toolUsd },
      netUsd: t.databasesUsd - (toolUsd ?? 0),
      assumptions: assumptionsOf(prices, t, toolUsd, classes),
    },
  };
}
