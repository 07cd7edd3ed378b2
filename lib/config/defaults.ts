/**
 * Every default, stated once: what a construct uses when a prop is left out, and the stage
 * defaults that each stage in `stages.ts` overrides only where it differs. Resolution order:
 * these defaults → the stage's overrides → values the construct requires.
 */
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/shared/constants';
import { PROBE_MODES } from '../../lambda/shared/jobs/probe';
import type { StageConfig } from './types';

/** Defaults of {@link QueueWithDlq} props. */
export const QUEUE_DEFAULTS = {
  /** Receives before SQS moves a message to its DLQ. */
  maxReceiveCount: 5,
  /**
   * A stage's `maxReceiveCount` when it sets none: this many receives per handler run it allows
   * (`maxAttempts`), so hand-backs and batch-mates' crashes leave the redrive policy a backstop.
   */
  receivesPerAttempt: 10,
  /** Source queue message retention, in days (shorter than the DLQ's 14). */
  retentionDays: 4,
} as const;

/** Defaults of {@link PipelineFunction} props and of the functions with fixed settings. */
export const FUNCTION_DEFAULTS = {
  /** Memory of a function that does not set its own, in MB. */
  memoryMb: 256,
  /** Timeout of the producer (API Gateway waits at most 29 s). */
  producerTimeoutSeconds: 10,
  /** Timeout of the DLQ sweeper. */
  sweeperTimeoutSeconds: 120,
} as const;

/** Defaults of {@link FailureArchive} props. */
export const ARCHIVE_DEFAULTS = {
  /** Days after which noncurrent record versions expire. */
  noncurrentVersionDays: 30,
} as const;

/** Consumer settings shared by the cloud stages. */
const CONSUMER = {
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
  maxConcurrency: 10,
  timeoutSeconds: 30,
  memoryMb: 512,
} as const;

/** Defaults shared by every stage; each stage in `stages.ts` overrides only what differs. */
export const DEFAULTS: Omit<StageConfig, 'stage' | 'maxReceiveCount'> & { maxReceiveCount?: number } = {
  env: {},
  retainArchive: false,
  archiveReaders: [],
  archiveExpirationDays: 90,
  archiveNoncurrentVersionDays: ARCHIVE_DEFAULTS.noncurrentVersionDays,
  logRetentionDays: 30,
  retainLogs: false,
  queueRetentionDays: QUEUE_DEFAULTS.retentionDays,
  maxAttempts: 5,
  backoff: { baseSeconds: 10, capSeconds: 600 },
  consumer: CONSUMER,
  // Lambda does not batch FIFO queues by window: 0 is the only accepted value.
  fifoConsumer: { ...CONSUMER, maxBatchingWindowSeconds: 0, maxConcurrency: 5 },
  fifoHighThroughput: false,
  // 1 MiB less the envelope's and the DLQ attributes' reserve (lambda/shared/constants.ts).
  api: { rateLimit: 50, burstLimit: 100, quotaPerDay: 500_000, maxBodyBytes: DEFAULT_MAX_BODY_BYTES },
  // Services call with their IAM identity (SigV4): no shared secret to hand out or rotate.
  auth: { mode: 'iam', tenants: [], allowedPrincipals: [] },
  allowedProbeModes: PROBE_MODES,
  // The probe schema's own limits and a day: every mode works on a stage that allows it.
  probes: { senders: 'any', maxFailTimes: 1000, maxSleepMs: 900_000, maxFailUntilSeconds: 86_400 },
  sweepEveryMinutes: 15,
  maxMessageAgeSeconds: 900,
  dashboard: true,
  completionEvents: { enabled: true, webhooks: [] },
  tracing: true,
  status: { retentionDays: 7, idempotencyWindowHours: 24, pointInTimeRecovery: false, retain: false },
};
