import { s3With, type S3Source } from './s3';
import type { ResultObjects } from './consumer/children';

/**
 * Results too large for the status row, as S3 objects `results/<envelope id>.json` in the stage's
 * result bucket (`./jobs/result.ts`): written by the consumers, read by the producer for
 * `GET /v1/messages/{id}/result`. They expire with the status rows (the bucket's lifecycle rule,
 * `lib/constructs/result-bucket.ts`).
 */
export class S3ResultObjects implements ResultObjects {
  constructor(
    /** A client, or a function that makes one on first use (`lazyS3Client`: no S3 SDK at cold start). */
    private readonly s3: S3Source,
    private readonly bucket: string,
  ) {}

  async put(key: string, json: string): Promise<void> {
    // Overwritten by a run that returned again (a retry after a lost `succeeded` write): same key.
    const [s3, { PutObjectCommand }] = await s3With(this.s3);
    await s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: json, ContentType: 'application/json' }),
    );
  }

  async read(key: string): Promise<string> {
    const [s3, { GetObjectCommand }] = await s3With(this.s3);
    const out = await s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return out.Body.transformToString('utf8');
  }
}
