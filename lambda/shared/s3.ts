import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * `@aws-sdk/client-s3`, imported when a function first needs it, not at its cold start.
 *
 * The consumers and the producer reach S3 only on rare paths (the archive record of a failed
 * message, a result too large for its status row), and importing the S3 client is 50–70 ms of
 * every cold start, about a quarter of a consumer's init (bench/README.md, "Cold start"): they
 * pay it on first use, once per sandbox. The functions' bundles keep it a dynamic import of the
 * Lambda runtime's SDK (`@aws-sdk/*` is not bundled).
 */
let sdk: Promise<typeof S3Sdk> | undefined;
export const s3Sdk = (): Promise<typeof S3Sdk> => (sdk ??= import('@aws-sdk/client-s3'));

/** An S3 client, or a function that gives one (made on first use: {@link lazyS3Client}). */
export type S3Source = S3Client | (() => Promise<S3Client>);

/** One client per call site, made on the first call from the SDK imported then; the same one after. */
export function lazyS3Client(config: S3ClientConfig = {}): () => Promise<S3Client> {
  let client: Promise<S3Client> | undefined;
  return () => (client ??= s3Sdk().then(({ S3Client: Client }) => new Client(config)));
}

/** The client of `source`. */
export const clientOf = async (source: S3Source): Promise<S3Client> =>
  typeof source === 'function' ? source() : source;

/** The client of `source` and the SDK's module (its command classes), both loaded on first use. */
export const s3With = (source: S3Source): Promise<[S3Client, typeof S3Sdk]> =>
  Promise.all([clientOf(source), s3Sdk()]);
