// Owns the presigned links (the CLI's `cim report --url`): apart from s3-store.ts so that the
// functions' bundles, which import the store, never carry the presigner.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { wrapAwsError } from '../errors.ts';
import { s3ClientFor } from './s3-store.ts';

/** A GET link to one object, signed locally with this identity's credentials, valid `seconds`. */
export async function signedGetUrl(
  bucket: string,
  region: string,
  key: string,
  seconds: number,
): Promise<string> {
  try {
    return await getSignedUrl(s3ClientFor(region), new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: seconds,
    });
  } catch (err) {
    throw wrapAwsError(err, `signing a link to s3://${bucket}/${key}`);
  }
}
