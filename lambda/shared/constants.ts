/**
 * Facts both the infrastructure (`lib/`) and the functions (`lambda/`) need. Plain values only:
 * this module must not import aws-cdk-lib (or anything else), so importing it keeps function
 * bundles small and lets `lib/` depend on it without pulling CDK into a bundle.
 */

/** CloudWatch namespace of the pipeline's own (EMF) metrics. */
export const METRICS_NAMESPACE = 'EventPipeline';

/** SQS's largest visibility timeout, in seconds (12 hours). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Key prefix of every failure archive record (`failed/<queue>/<yyyy>/<mm>/<dd>/<messageId>.json`). */
export const ARCHIVE_PREFIX = 'failed/';

/**
 * SQS's largest message, body plus attributes: 1 MiB. Every queue (sources and DLQs) is created
 * with this `MaximumMessageSize`, and it is also the largest total of one `SendMessageBatch` call.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * Room kept free in every message the producer enqueues for the attributes the consumer adds to
 * a permanently failed message's DLQ copy (`failure-kind`, `failure-error`, `original-message-id`,
 * `source-queue`: about 200 bytes with an 80-character queue name and a 256-character error name),
 * so that copy always fits the DLQ.
 */
export const DLQ_ATTRIBUTE_RESERVE_BYTES = 2048;

/** The largest message the producer enqueues (envelope body + attributes): 1 MiB − 2 KiB. */
export const MAX_ENQUEUED_MESSAGE_BYTES = SQS_MAX_MESSAGE_BYTES - DLQ_ATTRIBUTE_RESERVE_BYTES;

/**
 * Room the API's default body limit leaves for what wrapping a request in its envelope adds
 * (`v`, `id`, `createdAt`, `correlationId` ≤ 256) and the producer's attributes (`type` ≤ 128,
 * `correlation-id`, `idempotency-key`): under 1 KiB, rounded up to 2 KiB.
 */
export const ENVELOPE_RESERVE_BYTES = 2048;

/** The API's default request body limit: 1 MiB − 4 KiB (1,044,480 bytes). */
export const DEFAULT_MAX_BODY_BYTES = MAX_ENQUEUED_MESSAGE_BYTES - ENVELOPE_RESERVE_BYTES;

/**
 * The largest tenant name (`isTenantName` in `./envelope.ts`), in bytes as JSON text (the way the
 * envelope carries it): the longest IAM principal ARN in practice (a user with a 512-character
 * path, about 620 bytes) fits, and so does the envelope of a request at the default body limit,
 * within {@link ENVELOPE_RESERVE_BYTES}.
 */
export const TENANT_MAX_BYTES = 768;
