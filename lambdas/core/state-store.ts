// Owns S3 access: JSON objects with conditional writes (If-None-Match / If-Match), the
// legacy key layout of an environment, and the environment lock object.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Environment } from './config.ts';
import { CimError, ErrorNames, errorName, wrapAwsError } from './errors.ts';

export interface StoredJson {
  json: unknown;
  etag: string;
}

export interface PutCondition {
  ifNoneMatch?: true;
  ifMatch?: string;
}

/** The storage operations the domain needs; S3 in production, a fake in some unit tests. */
export interface StateStore {
  readonly bucket: string;
  getJson(key: string): Promise<StoredJson | null>;
  putJson(key: string, value: unknown, cond?: PutCondition): Promise<{ etag: string }>;
  deleteObject(key: string, ifMatch?: string): Promise<void>;
  /** Keys under a prefix, up to `limit`. */
  listKeys(prefix: string, limit?: number): Promise<string[]>;
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

export const recordKeys = (env: Environment, build: string) => ({
  preState: `${env.keyPrefix}/history/${build}/pre-state.json`,
  postState: `${env.keyPrefix}/history/${build}/post-state.json`,
  historyActions: `${env.keyPrefix}/history/${build}/actions.json`,
  buildPrefix: `${env.keyPrefix}/history/${build}/`,
  historyPrefix: `${env.keyPrefix}/history/`,
  actions: `${env.keyPrefix}/actions.json`,
  lock: `${env.keyPrefix}/lock.json`,
});

export function s3ClientFor(region: string): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  // Emulators (moto) answer on one host name: virtual-host addressing cannot reach them.
  return new S3Client({
    region,
    forcePathStyle: Boolean(endpoint) || process.env.CIM_S3_FORCE_PATH_STYLE === 'true',
  });
}

export class S3StateStore implements StateStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async getJson(key: string): Promise<StoredJson | null> {
    let text: string;
    let etag: string;
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await out.Body?.transformToString('utf8')) ?? '';
      etag = out.ETag ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound') return null;
      throw wrapAwsError(err, `reading s3://${this.bucket}/${key}`);
    }
    try {
      return { json: JSON.parse(text), etag };
    } catch (err) {
      throw new CimError(
        ErrorNames.StateRecordInvalid,
        `s3://${this.bucket}/${key} is not valid JSON (${(err as Error).message}). Restore an earlier version of it (the bucket is versioned); nothing was changed.`,
      );
    }
  }

  async putJson(key: string, value: unknown, cond: PutCondition = {}): Promise<{ etag: string }> {
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(value, null, 2)}\n`,
          ContentType: 'application/json',
          ...(cond.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          ...(cond.ifMatch ? { IfMatch: cond.ifMatch } : {}),
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (err) {
      const name = errorName(err);
      if (name === 'PreconditionFailed') throw new PreconditionFailed(key);
      if (name === 'ConditionalRequestConflict') {
        throw new CimError(
          ErrorNames.ConditionalWriteConflict,
          `s3://${this.bucket}/${key}: concurrent write, retry`,
          {
            cause: err,
          },
        );
      }
      throw wrapAwsError(err, `writing s3://${this.bucket}/${key}`);
    }
  }

  async deleteObject(key: string, ifMatch?: string): Promise<void> {
    try {
      await this.s3.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
      );
    } catch (err) {
      if (errorName(err) === 'PreconditionFailed') throw new PreconditionFailed(key);
      throw wrapAwsError(err, `deleting s3://${this.bucket}/${key}`);
    }
  }

  async listKeys(prefix: string, limit = 1000): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: Math.min(1000, limit - keys.length),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token && keys.length < limit);
    } catch (err) {
      throw wrapAwsError(err, `listing s3://${this.bucket}/${prefix}`);
    }
    return keys;
  }
}

export interface LockInfo {
  owner: string;
  build: string;
  execution_id: string;
  acquired_at: string;
  expires_at: string;
}

export interface HeldLock {
  key: string;
  etag: string;
  owner: string;
  tookOverFrom?: LockInfo;
}

/**
 * Takes the environment lock: create-if-absent; a lock past its expiry is taken over
 * with If-Match on the etag read, so two runs racing for a stale lock cannot both win.
 */
export async function acquireLock(
  store: StateStore,
  key: string,
  info: Omit<LockInfo, 'acquired_at' | 'expires_at'>,
  now: Date,
  ttlSeconds: number,
): Promise<HeldLock> {
  const body: LockInfo = {
    ...info,
    acquired_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
  };
  try {
    const { etag } = await store.putJson(key, body, { ifNoneMatch: true });
    return { key, etag, owner: info.owner };
  } catch (err) {
    if (!(err instanceof PreconditionFailed)) throw err;
  }
  const current = await store.getJson(key);
  if (!current) {
    // Released between our write and our read: one more try, then report as locked.
    const { etag } = await store.putJson(key, body, { ifNoneMatch: true }).catch((e) => {
      throw e instanceof PreconditionFailed ? lockedError(store, key, undefined) : e;
    });
    return { key, etag, owner: info.owner };
  }
  const held = current.json as Partial<LockInfo>;
  // A retried Prepare of the same execution finds its own lock: it is still ours.
  if (held.owner === info.owner) return { key, etag: current.etag, owner: info.owner };
  const expires = Date.parse(held.expires_at ?? '');
  if (Number.isFinite(expires) && expires < now.getTime()) {
    try {
      const { etag } = await store.putJson(key, body, { ifMatch: current.etag });
      return { key, etag, owner: info.owner, tookOverFrom: held as LockInfo };
    } catch (err) {
      if (err instanceof PreconditionFailed) throw lockedError(store, key, held);
      throw err;
    }
  }
  throw lockedError(store, key, held);
}

function lockedError(store: StateStore, key: string, held: Partial<LockInfo> | undefined): CimError {
  const who = held
    ? `build ${held.build ?? '?'} (execution ${held.execution_id ?? '?'}) since ${held.acquired_at ?? '?'}, until ${held.expires_at ?? '?'}`
    : 'another run';
  return new CimError(
    ErrorNames.EnvironmentLocked,
    `environment is locked by ${who}. Wait for that run to finish; if it died, delete s3://${store.bucket}/${key} after checking its execution.`,
  );
}

/** Releases the lock if we still own it; never deletes someone else's lock. */
export async function releaseLock(
  store: StateStore,
  key: string,
  owner: string,
): Promise<'released' | 'absent' | 'not-ours'> {
  const current = await store.getJson(key);
  if (!current) return 'absent';
  if ((current.json as Partial<LockInfo>).owner !== owner) return 'not-ours';
  await store.deleteObject(key, current.etag);
  return 'released';
}
