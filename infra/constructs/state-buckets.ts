// The state buckets, one per bucket name the environments use: created (versioned, TLS only,
// private, kept on delete, encrypted with the customer key when there is one) when
// stack.createBucket, otherwise imported by name.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { Config, Environment } from '#core/config/schema';

/** Bucket name -> its construct (StateBucket-<name>, a child of `scope`, the stack). */
export function stateBuckets(
  scope: Construct,
  config: Config,
  envs: readonly Environment[],
  key: IKey | undefined,
): Map<string, IBucket> {
  const buckets = new Map<string, IBucket>();
  for (const name of new Set(envs.map((e) => e.bucket))) {
    buckets.set(
      name,
      config.stack.createBucket
        ? (new Bucket(scope, `StateBucket-${name}`, {
            bucketName: name,
            ...(key
              ? { encryption: BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
              : { encryption: BucketEncryption.S3_MANAGED }),
            versioned: true,
            enforceSSL: true,
            minimumTLSVersion: 1.2,
            blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
            objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removalPolicy: RemovalPolicy.RETAIN,
            lifecycleRules: stateBucketLifecycle(config.stack.noncurrentVersionDays),
          }) as IBucket)
        : Bucket.fromBucketName(scope, `StateBucket-${name}`, name),
    );
  }
  return buckets;
}

/**
 * The state bucket keeps versions (an overwritten record can be recovered), but not forever:
 * every lock taken and released leaves a noncurrent version and a delete marker. Noncurrent
 * versions expire after `days`; delete markers left with no version are removed.
 */
export function stateBucketLifecycle(days: number): LifecycleRule[] {
  return [
    {
      id: 'ExpireNoncurrentVersions',
      enabled: true,
      noncurrentVersionExpiration: Duration.days(days),
      expiredObjectDeleteMarker: true,
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    },
  ];
}
