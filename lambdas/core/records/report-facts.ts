// Owns reading back what issue 18 added to the records, for the report: a state record's
// facts (database, workloads, node groups) and an action record's trigger and phase times,
// in the report's shapes (report/model.ts). Records are untrusted: a legacy record reads as
// unknown (null, empty, `unknown`), and a new key of the wrong type or out of bounds is left
// out with a reason naming the record's key and the field, never a crash or a silent 0.
import * as z from 'zod';
import type { DatabaseFacts, NodegroupFacts, Trigger, WorkloadFacts } from '../report/model.ts';
import { RUN_TRIGGERS } from '../run/trigger.ts';
import { LegacyPodRequests } from '../workloads/requests.ts';
import { databaseFactsFromLegacy } from './database-facts.ts';
import { LegacyPhaseTimes, type RecordedPhaseTimes } from './legacy-state.ts';

/** A member whose class the record does not say: priced as "no price", never as 0. */
export const UNKNOWN_CLASS = 'unknown';

export interface StateFacts {
  database: DatabaseFacts | null;
  workloads: WorkloadFacts[];
  nodegroups: NodegroupFacts[];
  /** What was left out, and why (printable). */
  ignored: string[];
}

export interface RunFacts {
  trigger: Trigger;
  phaseTimes: RecordedPhaseTimes | null;
  ignored: string[];
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const issues = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
const GIB = 2 ** 30;

const InstanceTypes = z.array(z.string().min(1).max(64)).max(64);
const Replicas = z.number().int().min(0).max(1_000_000);

export function stateFacts(json: unknown, key: string): StateFacts {
  const ignored: string[] = [];
  const rec = obj(json);
  const rds = obj(rec.aws_rds);
  const db = databaseFactsFromLegacy(rds);
  ignored.push(...db.ignored.map((why) => `${key}: ${why}`));
  let database: DatabaseFacts | null = null;
  if (db.facts && typeof rds.rds_identifier === 'string') {
    const f = db.facts;
    database = {
      identifier: rds.rds_identifier,
      kind: rds.rds_kind === 'cluster' ? 'cluster' : 'instance',
      engine: f.engine,
      instanceClass: f.instanceClass,
      multiAz: f.multiAz === true,
      storage:
        f.storage && f.storage.allocatedGb !== null && f.storage.type !== null
          ? { allocatedGb: f.storage.allocatedGb, type: f.storage.type, iops: f.storage.iops }
          : null,
      members: (f.members ?? []).map((m) => ({
        identifier: m.identifier,
        instanceClass: m.instanceClass ?? UNKNOWN_CLASS,
        ...(m.instanceClass === 'db.serverless' && f.serverlessV2 ? { serverlessV2: f.serverlessV2 } : {}),
      })),
    };
  }

  const workloads: WorkloadFacts[] = [];
  const readWorkloads = (recordKey: string, kind: WorkloadFacts['kind'], prefix: string) => {
    for (const [name, raw] of Object.entries(obj(rec[recordKey]))) {
      const e = obj(raw);
      const ns = e[`${prefix}_namespace`];
      const replicas = Replicas.safeParse(e[`${prefix}_replicas`]);
      if (typeof ns !== 'string' || !replicas.success) continue; // the legacy reader refuses these
      let cpuCores: number | null = null;
      let memoryGiB: number | null = null;
      if ('pod_requests' in e) {
        const r = LegacyPodRequests.safeParse(e.pod_requests);
        if (r.success) {
          cpuCores = r.data.cpu_cores;
          memoryGiB = r.data.memory_bytes === null ? null : r.data.memory_bytes / GIB;
        } else ignored.push(`${key}: ${recordKey}.${name}.pod_requests ignored (${issues(r.error)})`);
      }
      workloads.push({ kind, namespace: ns, name, replicas: replicas.data, cpuCores, memoryGiB });
    }
  };
  readWorkloads('k8s_deployments', 'Deployment', 'deployment');
  readWorkloads('k8s_statefulsets', 'StatefulSet', 'statefulset');

  const nodegroups: NodegroupFacts[] = [];
  for (const [name, raw] of Object.entries(obj(rec.eks_nodegroups))) {
    const g = obj(raw);
    const desired = Replicas.safeParse(g.desired_size);
    if (!desired.success) continue;
    let instanceTypes: string[] = [];
    if ('instance_types' in g) {
      const t = InstanceTypes.safeParse(g.instance_types);
      if (t.success) instanceTypes = t.data;
      else ignored.push(`${key}: eks_nodegroups.${name}.instance_types ignored (${issues(t.error)})`);
    }
    nodegroups.push({ name, instanceTypes, desiredSize: desired.data });
  }
  return { database, workloads, nodegroups, ignored };
}

export function runFacts(json: unknown, key: string): RunFacts {
  const rec = obj(json);
  const ignored: string[] = [];
  let trigger: Trigger = 'unknown';
  if ('trigger' in rec) {
    if ((RUN_TRIGGERS as readonly unknown[]).includes(rec.trigger)) trigger = rec.trigger as Trigger;
    else
      ignored.push(
        `${key}: trigger ignored (${JSON.stringify(rec.trigger)?.slice(0, 40)} is not one of ${RUN_TRIGGERS.join(', ')})`,
      );
  }
  let phaseTimes: RecordedPhaseTimes | null = null;
  if ('phase_times' in rec) {
    const p = LegacyPhaseTimes.safeParse(rec.phase_times);
    if (p.success) phaseTimes = p.data as RecordedPhaseTimes;
    else ignored.push(`${key}: phase_times ignored (${issues(p.error)})`);
  }
  return { trigger, phaseTimes, ignored };
}
