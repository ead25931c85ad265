// Owns what the domain knows of the state store: the StateStore interface (conditional
// writes, the writer's execution as metadata), the bounds a record read back is held to,
// write-once records, and the legacy key layout. S3 implements it in clients/s3-store.ts.
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';

export interface StoredJson {
  json: unknown;
  etag: string;
  /** The execution that wrote the object (S3 user metadata), when it was written by this tool. */
  writtenBy?: string;
}

export interface PutCondition {
  ifNoneMatch?: true;
  ifMatch?: string;
  /** Recorded as S3 user metadata, so a retried write can recognise its own object. */
  writtenBy?: string;
}

/** The storage operations the domain needs; S3 in production, a fake in some unit tests. */
export interface StateStore {
  readonly bucket: string;
  getJson(key: string, bounds?: ReadBounds): Promise<StoredJson | null>;
  putJson(key: string, value: unknown, cond?: PutCondition): Promise<{ etag: string }>;
  deleteObject(key: string, ifMatch?: string): Promise<void>;
  /** Keys under a prefix, up to `limit`. */
  listKeys(prefix: string, limit?: number): Promise<string[]>;
}

/**
 * Bounds of a record read back from S3, checked before JSON.parse: records are untrusted.
 * Bytes: records no longer ride in the states (Prepare carries counts, not the records), and
 * Prepare refuses an environment whose run context could outgrow 262,144 bytes (about 615
 * deployments), whose pre-state is about 180 KiB; 1 MiB leaves room for long names and the
 * other workload kinds while bounding what one read may cost.
 * Depth: records nest 4 levels (k8s_deployments.name.field, node group scaling); parsing
 * and validating a record nested 10,000 deep overflows the stack.
 */
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_RECORD_DEPTH = 16;
/**
 * A Distributed Map's exported results (one entry of ~1 KiB per environment, Input and Output
 * as JSON strings) and a fleet's item list are written by this tool and Step Functions, not
 * by hand, and grow with the fleet: 10,000 environments are about 12 MiB.
 */
export const MAX_MAP_FILE_BYTES = 64 * 1024 * 1024;

/** How much of an object one read may take. */
export interface ReadBounds {
  maxBytes?: number;
}

function untrusted(where: string, why: string): CimError {
  return new CimError(
    ErrorNames.StateRecordInvalid,
    `${where} ${why}. Restore an earlier version of it (the bucket is versioned); nothing was changed.`,
  );
}

export const tooLarge = (bucket: string, key: string, bytes: number, max: number) =>
  untrusted(
    `s3://${bucket}/${key}`,
    `is ${bytes} bytes, more than a record may be (${max}); it was not read`,
  );

/** How deeply `text` nests arrays and objects (strings skipped), stopping once past `max`. */
export function jsonDepth(text: string, max = MAX_RECORD_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Parses a record's text within the bounds above; `where` names it in messages (never its content). */
export function parseRecord(text: string, where: string, maxBytes = MAX_RECORD_BYTES): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw untrusted(where, `is ${bytes} bytes, more than a record may be (${maxBytes})`);
  if (jsonDepth(text) > MAX_RECORD_DEPTH)
    throw untrusted(where, `nests deeper than ${MAX_RECORD_DEPTH} levels; no record does`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw untrusted(where, `is not valid JSON (${(err as Error).message.slice(0, 200)})`);
  }
}

export class PreconditionFailed extends CimError {
  constructor(key: string) {
    super(
      ErrorNames.ConditionalWriteConflict,
      `s3 object "${key}" changed or exists already (conditional write refused)`,
    );
    this.name = 'PreconditionFailed';
  }
}

/** The S3 user metadata key that names the execution that wrote an object. */
export const WRITTEN_BY = 'cim-execution';

/**
 * Writes a record that must never be overwritten. A retry that meets its own earlier
 * object (same execution) adopts it: the first write wins and the retry succeeds.
 */
export async function putOnce(
  store: StateStore,
  key: string,
  value: unknown,
  executionId: string,
): Promise<{ adopted: unknown | null }> {
  try {
    await store.putJson(key, value, { ifNoneMatch: true, writtenBy: executionId });
    return { adopted: null };
  } catch (err) {
    if (!(err instanceof PreconditionFailed)) throw err;
  }
  const existing = await store.getJson(key);
  if (existing && existing.writtenBy === executionId) return { adopted: existing.json };
  throw new CimError(
    ErrorNames.RecordConflict,
    `s3://${store.bucket}/${key} was already written by ${existing?.writtenBy ? `execution ${existing.writtenBy}` : 'another run'}; audit records are never overwritten. Use a new build id.`,
  );
}

export const recordKeys = (env: Environment, build: string) => ({
  preState: `${env.keyPrefix}/history/${build}/pre-state.json`,
  postState: `${env.keyPrefix}/history/${build}/post-state.json`,
  historyActions: `${env.keyPrefix}/history/${build}/actions.json`,
  buildPrefix: `${env.keyPrefix}/history/${build}/`,
  historyPrefix: `${env.keyPrefix}/history/`,
  actions: `${env.keyPrefix}/actions.json`,
  lock: `${env.keyPrefix}/lock.json`,
});
