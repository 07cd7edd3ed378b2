/**
 * Limits of AWS services that the synth-time checks enforce, and the visibility rule, stated once.
 * Stage validation (`stages.ts`) and the constructs import them.
 */
import { SQS_MAX_MESSAGE_BYTES, SQS_MAX_VISIBILITY_SECONDS } from '../../lambda/shared/constants';
import { ConfigError } from './errors';

/** Limits of SQS queues and of Lambda's SQS event source mappings. */
export const SQS_LIMITS = {
  /** Largest message (body + attributes), 1 MiB: every queue's `MaximumMessageSize`. */
  maxMessageBytes: SQS_MAX_MESSAGE_BYTES,
  /** Largest visibility timeout (12 hours). */
  maxVisibilitySeconds: SQS_MAX_VISIBILITY_SECONDS,
  /** Largest message retention; every DLQ uses it so it outlives its source's messages. */
  maxRetentionDays: 14,
  /** `maxReceiveCount` of a redrive policy. */
  minReceiveCount: 1,
  maxReceiveCount: 1000,
  /** Records per invocation from a standard queue. */
  maxStandardBatchSize: 10_000,
  /** Records per invocation from a FIFO queue. */
  maxFifoBatchSize: 10,
  /** A batch size above this needs a batching window of at least 1 s. */
  maxBatchSizeWithoutWindow: 10,
  /** `ScalingConfig.MaximumConcurrency` of a mapping. */
  minMaxConcurrency: 2,
  maxMaxConcurrency: 1000,
} as const;

/** Limits of Lambda functions and API Gateway requests. */
export const LAMBDA_LIMITS = {
  minTimeoutSeconds: 1,
  maxTimeoutSeconds: 900,
} as const;

/** Accepted range of the API's request body limit, in bytes. */
export const API_BODY_LIMITS = { minBytes: 1024, maxBytes: 10 * 1024 * 1024 } as const;

/** AWS guidance for Lambda consumers: queue visibility ≥ this × function timeout (+ batching window). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The smallest visibility timeout a queue needs for a consumer with this timeout and batching window. */
export function minVisibilitySeconds(consumerTimeoutSeconds: number, batchingWindowSeconds = 0): number {
  return consumerTimeoutSeconds * VISIBILITY_TIMEOUT_FACTOR + batchingWindowSeconds;
}

/**
 * Throws {@link ConfigError} when `visibilitySeconds` breaks the visibility rule for a consumer
 * with this timeout and batching window, or exceeds SQS's 12 hours. `where` prefixes the message
 * (a construct path).
 */
export function assertVisibilityFits(
  where: string,
  visibilitySeconds: number,
  consumerTimeoutSeconds: number,
  batchingWindowSeconds = 0,
): void {
  const needed = minVisibilitySeconds(consumerTimeoutSeconds, batchingWindowSeconds);
  if (visibilitySeconds < needed) {
    throw new ConfigError(
      `${where}: visibilityTimeout ${visibilitySeconds}s is shorter than ${VISIBILITY_TIMEOUT_FACTOR} × consumer timeout ` +
        `(${consumerTimeoutSeconds}s) + batching window (${batchingWindowSeconds}s) = ${needed}s. ` +
        'Raise the visibility timeout or lower the function timeout.',
    );
  }
  if (visibilitySeconds > SQS_LIMITS.maxVisibilitySeconds) {
    throw new ConfigError(
      `${where}: visibility timeout ${visibilitySeconds}s exceeds SQS's 12 hours (${SQS_LIMITS.maxVisibilitySeconds}s)`,
    );
  }
}

/**
 * Throws {@link ConfigError} unless `maxAttempts` (handler runs per message) is an integer from 1
 * to the queue's `maxReceiveCount` (the redrive backstop behind it). `where` prefixes the message
 * (a stage or a construct path).
 */
export function assertAttemptsFit(where: string, maxAttempts: number, maxReceiveCount: number): void {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > maxReceiveCount)
    throw new ConfigError(
      `${where}: maxAttempts must be an integer 1–maxReceiveCount (${maxReceiveCount}), got ${maxAttempts}`,
    );
}
