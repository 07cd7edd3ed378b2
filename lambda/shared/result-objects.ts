import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ResultObjects } from './consumer/children';

/**
 * Results too large for the status row, as S3 objects `results/<envelope id>.json` in the stage's
 * result bucket (`./jobs/result.ts`): written by the consumers, read by the producer for
 * `GET /v1/messages/{id}/result`. They expire with the status rows (the bucket's lifecycle rule,
 * `lib/constructs/result-bucket.ts`).
 */
export class S3ResultObjects implements ResultObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, json: string): Promise<void> {
    // Overwritten by a run that returned again (a retry after a lost `succeeded` write): same key.
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: json, ContentType: 'application/json' }),
    );
  }

  async read(key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return out.Body.transformToString('utf8');
  }
}
