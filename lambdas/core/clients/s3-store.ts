// Owns the S3 calls of the state store: JSON objects with conditional writes (If-None-Match /
// If-Match) and the writer's execution as metadata, read within the record bounds.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AWS_REQUEST_TIMEOUTS, CimError, ErrorNames, errorName, wrapAwsError } from '../errors.ts';
import type { ReportFiles } from '../gateways/report-files.ts';
import {
  MAX_RECORD_BYTES,
  PreconditionFailed,
  type PutCondition,
  parseRecord,
  type ReadBounds,
  type StateStore,
  type StoredJson,
  tooLarge,
  WRITTEN_BY,
} from '../gateways/store.ts';

export function s3ClientFor(region: string): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  // Emulators (moto) answer on one host name: virtual-host addressing cannot reach them.
  return new S3Client({
    region,
    requestHandler: AWS_REQUEST_TIMEOUTS,
    forcePathStyle: Boolean(endpoint) || process.env.CIM_S3_FORCE_PATH_STYLE === 'true',
  });
}

export class S3StateStore implements StateStore, ReportFiles {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async getJson(key: string, bounds: ReadBounds = {}): Promise<StoredJson | null> {
    const maxBytes = bounds.maxBytes ?? MAX_RECORD_BYTES;
    let text: string;
    let etag: string;
    let writtenBy: string | undefined;
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if ((out.ContentLength ?? 0) > maxBytes) {
        // Not read at all: a huge object would cost memory and time before being refused.
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw tooLarge(this.bucket, key, out.ContentLength ?? 0, maxBytes);
      }
      text = (await out.Body?.transformToString('utf8')) ?? '';
      etag = out.ETag ?? '';
      writtenBy = out.Metadata?.[WRITTEN_BY];
    } catch (err) {
      if (err instanceof CimError) throw err;
      if (await this.missing(key, err)) return null;
      throw this.wrap(err, `reading s3://${this.bucket}/${key}`);
    }
    return {
      json: parseRecord(text, `s3://${this.bucket}/${key}`, maxBytes),
      etag,
      ...(writtenBy ? { writtenBy } : {}),
    };
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
          ...(cond.writtenBy ? { Metadata: { [WRITTEN_BY]: cond.writtenBy } } : {}),
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
      throw this.wrap(err, `writing s3://${this.bucket}/${key}`);
    }
  }

  /** A whole text object (the deployed report's files), overwritten unconditionally. */
  async putText(key: string, body: string, contentType: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
      );
    } catch (err) {
      throw this.wrap(err, `writing s3://${this.bucket}/${key}`);
    }
  }

  /** A whole text object (the refreshed price table), or null when there is none. */
  async getText(key: string, maxBytes: number): Promise<string | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if ((out.ContentLength ?? 0) > maxBytes) {
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw tooLarge(this.bucket, key, out.ContentLength ?? 0, maxBytes);
      }
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      // A body longer than its announced length (or none announced) is refused all the same.
      if (Buffer.byteLength(text) > maxBytes)
        throw tooLarge(this.bucket, key, Buffer.byteLength(text), maxBytes);
      return text;
    } catch (err) {
      if (err instanceof CimError) throw err;
      if (await this.missing(key, err)) return null;
      throw this.wrap(err, `reading s3://${this.bucket}/${key}`);
    }
  }

  /**
   * Did this read fail because the object does not exist? S3 answers a missing key with 404
   * only to a caller allowed to list the bucket; the stack grants s3:ListBucket under an
   * s3:prefix condition (infra/iam/scope.ts), which a GetObject's context does not carry, so
   * deployed a missing record (no hold, no wake yet) can come back as 403. Then one listing of
   * exactly that key, which the prefix condition allows, tells missing from denied: a key that
   * is there but unreadable stays an access error, and so does a listing that is denied too.
   */
  private async missing(key: string, err: unknown): Promise<boolean> {
    const name = errorName(err);
    if (name === 'NoSuchKey' || name === 'NotFound') return true;
    if (name !== 'AccessDenied' && name !== 'Forbidden') return false;
    try {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }),
      );
      return out.Contents?.[0]?.Key !== key;
    } catch {
      return false;
    }
  }

  async deleteObject(key: string, ifMatch?: string): Promise<void> {
    try {
      await this.s3.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
      );
    } catch (err) {
      if (errorName(err) === 'PreconditionFailed') throw new PreconditionFailed(key);
      throw this.wrap(err, `deleting s3://${this.bucket}/${key}`);
    }
  }

  /** A missing or forbidden bucket is a setup problem: say which bucket and what to fix. */
  private wrap(err: unknown, what: string): Error {
    const name = errorName(err);
    if (name === 'NoSuchBucket') {
      return new CimError(
        ErrorNames.PreflightFailed,
        `${what}: bucket "${this.bucket}" does not exist (in this account and region). Create it (stack.createBucket: true deploys it) or fix "bucket"/"bucketRegion" in the configuration.`,
        { cause: err },
      );
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || name === 'AllAccessDisabled') {
      return new CimError(
        ErrorNames.PreflightFailed,
        `${what}: access denied by S3 (${name}). Grant this identity s3:GetObject/PutObject/DeleteObject under the environment's key prefix and s3:ListBucket on "${this.bucket}".`,
        { cause: err },
      );
    }
    return wrapAwsError(err, what);
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
      throw this.wrap(err, `listing s3://${this.bucket}/${prefix}`);
    }
    return keys;
  }
}

/** The deployed report's writer for one state bucket (the report function's only S3 writes). */
export function reportFilesFor(bucket: string, region: string): ReportFiles {
  return new S3StateStore(s3ClientFor(region), bucket);
}
