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
