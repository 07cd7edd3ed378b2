import { DEFAULTS, QUEUE_DEFAULTS } from './defaults';
import { ConfigError } from './errors';
import { API_BODY_LIMITS, assertAttemptsFit, LAMBDA_LIMITS, SQS_LIMITS } from './limits';
import type { StageConfig, StageName } from './types';
import { STAGE_NAMES } from './types';

type Overrides = Partial<Omit<StageConfig, 'stage'>>;

/**
 * Each stage's settings where they differ from {@link DEFAULTS}. Settings that must survive from
 * one deploy to the next (such as `alarmEmail`, the address subscribed to the alarm topic) belong
 * here, not on the command line: a context value applies to the deploy that passes it only.
 */
const STAGES: Record<StageName, Overrides> = {
  dev: { logRetentionDays: 7, archiveExpirationDays: 14 },
  staging: {
    logRetentionDays: 30,
    archiveExpirationDays: 30,
    status: { ...DEFAULTS.status, retentionDays: 14 },
  },
  prod: {
    retainArchive: true,
    archiveExpirationDays: 400,
    archiveNoncurrentVersionDays: 90,
    logRetentionDays: 90,
    queueRetentionDays: 7,
    maxAttempts: 6,
    backoff: { baseSeconds: 15, capSeconds: 900 },
    consumer: { ...DEFAULTS.consumer, maxConcurrency: 50 },
    fifoConsumer: { ...DEFAULTS.fifoConsumer, maxConcurrency: 20 },
    fifoHighThroughput: true,
    api: { ...DEFAULTS.api, rateLimit: 500, burstLimit: 1000, quotaPerDay: 10_000_000 },
    allowedProbeModes: ['succeed', 'sleep'],
    maxMessageAgeSeconds: 600,
    status: { retentionDays: 30, idempotencyWindowHours: 24, pointInTimeRecovery: true, retain: true },
    // alarmEmail: 'oncall@example.com',  ← set your on-call address here so every deploy keeps it
  },
  // Short timings so a retried message reaches its DLQ within about a minute locally, while
  // still honouring visibility >= 6 x timeout + batching window.
  local: {
    logRetentionDays: 1,
    archiveExpirationDays: 1,
    archiveNoncurrentVersionDays: 1,
    queueRetentionDays: 1,
    maxAttempts: 3,
    backoff: { baseSeconds: 1, capSeconds: 4 },
    consumer: {
      ...DEFAULTS.consumer,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 4,
      timeoutSeconds: 3,
      memoryMb: 256,
    },
    fifoConsumer: { ...DEFAULTS.fifoConsumer, maxConcurrency: 4, timeoutSeconds: 3, memoryMb: 256 },
    sweepEveryMinutes: 1,
    maxMessageAgeSeconds: 120,
    // Not reproduced locally (no X-Ray); off so the local template carries no tracing settings.
    tracing: false,
    status: { ...DEFAULTS.status, retentionDays: 1 },
  },
};

/** True when `name` is one of the known stages. */
export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/**
 * Resolves a stage's configuration: {@link DEFAULTS}, then the stage's overrides, then `extra`
 * (e.g. an alarm email given as context for one deploy), validated. A missing or unknown stage
 * throws {@link ConfigError} listing the valid stages: there is no default stage.
 *
 * @example
 * const config = loadStageConfig('dev', { env: { region: 'eu-west-1' } });
 */
export function loadStageConfig(name: string | undefined, extra: Overrides = {}): StageConfig {
  const choose = `Valid stages: ${STAGE_NAMES.join(', ')} (choose with -c stage=<name>).`;
  if (name === undefined || name === '') throw new ConfigError(`No stage given. ${choose}`);
  if (!isStageName(name)) throw new ConfigError(`Unknown stage "${name}". ${choose}`);
  const merged = { ...DEFAULTS, ...STAGES[name], ...definedOnly(extra), stage: name };
  const config: StageConfig = {
    ...merged,
    maxReceiveCount: merged.maxReceiveCount ?? merged.maxAttempts * QUEUE_DEFAULTS.receivesPerAttempt,
  };
  validateStageConfig(config);
  return config;
}

function definedOnly(o: Overrides): Overrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Overrides;
}

/** Throws {@link ConfigError} naming the first invalid setting. */
function validateStageConfig(c: StageConfig): void {
  const fail = (msg: string): never => {
    throw new ConfigError(`Stage "${c.stage}": ${msg}`);
  };
  const { minReceiveCount, maxReceiveCount, maxVisibilitySeconds, maxRetentionDays } = SQS_LIMITS;
  if (
    !Number.isInteger(c.maxReceiveCount) ||
    c.maxReceiveCount < minReceiveCount ||
    c.maxReceiveCount > maxReceiveCount
  )
    fail(
      `maxReceiveCount must be an integer ${minReceiveCount}–${maxReceiveCount}, got ${c.maxReceiveCount}`,
    );
  assertAttemptsFit(`Stage "${c.stage}"`, c.maxAttempts, c.maxReceiveCount);
  if (
    c.backoff.baseSeconds < 0 ||
    c.backoff.capSeconds < c.backoff.baseSeconds ||
    c.backoff.capSeconds > maxVisibilitySeconds
  )
    fail(`backoff needs 0 <= baseSeconds <= capSeconds <= ${maxVisibilitySeconds}`);
  if (c.fifoConsumer.batchSize > SQS_LIMITS.maxFifoBatchSize)
    fail(`fifoConsumer.batchSize must be <= ${SQS_LIMITS.maxFifoBatchSize} for FIFO queues`);
  for (const [label, s] of [
    ['consumer', c.consumer],
    ['fifoConsumer', c.fifoConsumer],
  ] as const) {
    if (s.batchSize < 1 || s.batchSize > SQS_LIMITS.maxStandardBatchSize)
      fail(`${label}.batchSize must be 1–${SQS_LIMITS.maxStandardBatchSize}`);
    if (s.batchSize > SQS_LIMITS.maxBatchSizeWithoutWindow && s.maxBatchingWindowSeconds < 1)
      fail(
        `${label}.batchSize > ${SQS_LIMITS.maxBatchSizeWithoutWindow} needs maxBatchingWindowSeconds >= 1`,
      );
    if (s.maxConcurrency < SQS_LIMITS.minMaxConcurrency || s.maxConcurrency > SQS_LIMITS.maxMaxConcurrency)
      fail(`${label}.maxConcurrency must be ${SQS_LIMITS.minMaxConcurrency}–${SQS_LIMITS.maxMaxConcurrency}`);
    if (
      s.timeoutSeconds < LAMBDA_LIMITS.minTimeoutSeconds ||
      s.timeoutSeconds > LAMBDA_LIMITS.maxTimeoutSeconds
    )
      fail(
        `${label}.timeoutSeconds must be ${LAMBDA_LIMITS.minTimeoutSeconds}–${LAMBDA_LIMITS.maxTimeoutSeconds}`,
      );
  }
  if (c.fifoConsumer.maxBatchingWindowSeconds !== 0)
    fail('fifoConsumer.maxBatchingWindowSeconds must be 0 (Lambda does not batch FIFO queues by window)');
  if (c.queueRetentionDays < 1 || c.queueRetentionDays >= maxRetentionDays)
    fail(
      `queueRetentionDays must be 1–${maxRetentionDays - 1} so the DLQ (${maxRetentionDays} days) keeps messages longer than its source`,
    );
  if (c.api.maxBodyBytes < API_BODY_LIMITS.minBytes || c.api.maxBodyBytes > API_BODY_LIMITS.maxBytes)
    fail('api.maxBodyBytes must be 1 KiB – 10 MiB');
  if (c.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c.alarmEmail))
    fail(`alarmEmail "${c.alarmEmail}" is not an email address`);
  if (c.sweepEveryMinutes < 1) fail('sweepEveryMinutes must be >= 1');
  if (!Number.isInteger(c.status.retentionDays) || c.status.retentionDays < 1)
    fail('status.retentionDays must be an integer >= 1');
  if (c.status.idempotencyWindowHours < 1 || c.status.idempotencyWindowHours > c.status.retentionDays * 24)
    fail('status.idempotencyWindowHours must be 1 h up to status.retentionDays');
}
