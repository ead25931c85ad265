// Owns what a state record says about the database's bill (issue 18): engine, class,
// Multi-AZ, storage and, for Aurora, every member instance, as additive keys of `aws_rds`
// (rds_engine, rds_instance_class, rds_multi_az, rds_storage, rds_members,
// rds_serverless_v2). Legacy records have none of them: they read as unknown (null). Records
// are untrusted: a key of the wrong type or out of bounds is ignored (read as unknown) with a
// reason, never a refused restore, because nothing an up does depends on it.
import * as z from 'zod';

export interface DatabaseMember {
  identifier: string;
  instanceClass: string | null;
  writer: boolean;
}

export interface DatabaseFactsState {
  /** e.g. postgres, mysql, aurora-postgresql. */
  engine: string | null;
  /** Instances: their class (db.t3.medium). Clusters: null (see members). */
  instanceClass: string | null;
  multiAz: boolean | null;
  storage: { allocatedGb: number | null; type: string | null; iops: number | null } | null;
  /** Aurora: every member instance; absent for an instance, and when they were not read. */
  members?: DatabaseMember[];
  /** Aurora Serverless v2 capacity range of the cluster (ACUs), when it has one. */
  serverlessV2?: { minAcu: number; maxAcu: number } | null;
}

// Bounds: RDS allows up to 64 TiB of storage and 256,000 provisioned IOPS; Aurora 15 readers
// (16 members); Serverless v2 0 to 256 ACUs. Generous, so that only nonsense is ignored.
const MAX_STORAGE_GB = 1_048_576;
const MAX_IOPS = 10_000_000;
const MAX_MEMBERS = 64;
const MAX_ACU = 1_024;
const text = z.string().min(1).max(100);

const Storage = z.object({
  allocated_gb: z.number().int().min(0).max(MAX_STORAGE_GB).nullable(),
  type: text.nullable(),
  iops: z.number().int().min(0).max(MAX_IOPS).nullable(),
});
const Member = z.object({
  identifier: text,
  instance_class: text.nullable(),
  writer: z.boolean(),
});
const ServerlessV2 = z
  .object({ min_acu: z.number().min(0).max(MAX_ACU), max_acu: z.number().min(0).max(MAX_ACU) })
  .refine((s) => s.min_acu <= s.max_acu, 'min_acu must not exceed max_acu');

/** The keys each validated apart, so that one bad key loses only itself. */
const FACT_KEYS = {
  rds_engine: text.nullable(),
  rds_instance_class: text.nullable(),
  rds_multi_az: z.boolean().nullable(),
  rds_storage: Storage.nullable(),
  rds_members: z.array(Member).max(MAX_MEMBERS),
  rds_serverless_v2: ServerlessV2.nullable(),
} as const;
type FactKey = keyof typeof FACT_KEYS;

/** For the reader's schema (and the published JSON Schema): optional, and a bad value reads as absent. */
export const LegacyDatabaseFactKeys = Object.fromEntries(
  Object.entries(FACT_KEYS).map(([k, s]) => [k, (s as z.ZodType).optional().catch(undefined)]),
) as { [K in FactKey]: z.ZodCatch<z.ZodOptional<(typeof FACT_KEYS)[K]>> };

export function databaseFactsToLegacy(f: DatabaseFactsState | undefined): Record<string, unknown> {
  if (!f) return {};
  return {
    rds_engine: f.engine,
    rds_instance_class: f.instanceClass,
    rds_multi_az: f.multiAz,
    rds_storage: f.storage && {
      allocated_gb: f.storage.allocatedGb,
      type: f.storage.type,
      iops: f.storage.iops,
    },
    ...(f.members
      ? {
          rds_members: f.members.map((m) => ({
            identifier: m.identifier,
            instance_class: m.instanceClass,
            writer: m.writer,
          })),
        }
      : {}),
    ...(f.serverlessV2 !== undefined
      ? {
          rds_serverless_v2: f.serverlessV2 && {
            min_acu: f.serverlessV2.minAcu,
            max_acu: f.serverlessV2.maxAcu,
          },
        }
      : {}),
  };
}

export interface ReadFacts<T> {
  /** Null: the record does not say (a legacy record), or what it said was ignored. */
  facts: T | null;
  /** Why keys were ignored: printable, naming the key. */
  ignored: string[];
}

const issues = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');

/** Reads the facts of a raw `aws_rds` object; bad keys are left out with a reason. */
export function databaseFactsFromLegacy(awsRds: unknown): ReadFacts<DatabaseFactsState> {
  const raw = awsRds && typeof awsRds === 'object' ? (awsRds as Record<string, unknown>) : {};
  if (!Object.keys(FACT_KEYS).some((k) => k in raw)) return { facts: null, ignored: [] };
  const ignored: string[] = [];
  const read = <K extends FactKey>(k: K): z.output<(typeof FACT_KEYS)[K]> | undefined => {
    if (!(k in raw)) return undefined;
    const p = FACT_KEYS[k].safeParse(raw[k]);
    if (p.success) return p.data as z.output<(typeof FACT_KEYS)[K]>;
    ignored.push(`aws_rds.${k} ignored (${issues(p.error)})`);
    return undefined;
  };
  const storage = read('rds_storage');
  const members = read('rds_members');
  const v2 = read('rds_serverless_v2');
  const facts: DatabaseFactsState = {
    engine: read('rds_engine') ?? null,
    instanceClass: read('rds_instance_class') ?? null,
    multiAz: read('rds_multi_az') ?? null,
    storage: storage ? { allocatedGb: storage.allocated_gb, type: storage.type, iops: storage.iops } : null,
    ...(members
      ? {
          members: members.map((m) => ({
            identifier: m.identifier,
            instanceClass: m.instance_class,
            writer: m.writer,
          })),
        }
      : {}),
    ...(v2 !== undefined ? { serverlessV2: v2 && { minAcu: v2.min_acu, maxAcu: v2.max_acu } } : {}),
  };
  return { facts, ignored };
}

/** The run context's copy (checked at each Task's boundary: unknown keys would be dropped). */
export const DatabaseFactsSchema = z.object({
  engine: z.string().nullable(),
  instanceClass: z.string().nullable(),
  multiAz: z.boolean().nullable(),
  storage: z
    .object({
      allocatedGb: z.number().nullable(),
      type: z.string().nullable(),
      iops: z.number().nullable(),
    })
    .nullable(),
  members: z
    .array(z.object({ identifier: z.string(), instanceClass: z.string().nullable(), writer: z.boolean() }))
    .optional(),
  serverlessV2: z.object({ minAcu: z.number(), maxAcu: z.number() }).nullable().optional(),
});
