import { PROBE_MODES } from '../../lambda/shared/jobs/probe';
import type { StageConfig, StageName } from './types';
import { STAGE_NAMES } from './types';

type Overrides = Partial<Omit<StageConfig, 'stage'>>;

/** Defaults shared by every stage; each stage overrides only what differs. */
export const DEFAULTS: Omit<StageConfig, 'stage'> = {
  env: {},
  retainArchive: false,
  archiveExpirationDays: 90,
  archiveNoncurrentVersionDays: 30,
  logRetentionDays: 30,
  queueRetentionDays: 4,
  maxReceiveCount: 5,
  backoff: { baseSeconds: 10, capSeconds: 600 },
  consumer: {
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    maxConcurrency: 10,
    timeoutSeconds: 30,
    memoryMb: 512,
  },
  fifoConsumer: {
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 5,
    timeoutSeconds: 30,
    memoryMb: 512,
  },
  fifoHighThroughput: false,
  api: { rateLimit: 50, burstLimit: 100, quotaPerDay: 500_000, maxBodyBytes: 256 * 1024 },
  allowedProbeModes: PROBE_MODES,
  sweepEveryMinutes: 15,
  maxMessageAgeSeconds: 900,
};

const STAGES: Record<StageName, Overrides> = {
  dev: { logRetentionDays: 7, archiveExpirationDays: 14 },
  staging: { logRetentionDays: 30, archiveExpirationDays: 30 },
  prod: {
    retainArchive: true,
    archiveExpirationDays: 400,
    archiveNoncurrentVersionDays: 90,
    logRetentionDays: 90,
    queueRetentionDays: 7,
    maxReceiveCount: 6,
    backoff: { baseSeconds: 15, capSeconds: 900 },
    consumer: { ...DEFAULTS.consumer, maxConcurrency: 50 },
    fifoConsumer: { ...DEFAULTS.fifoConsumer, maxConcurrency: 20 },
    fifoHighThroughput: true,
    api: { ...DEFAULTS.api, rateLimit: 500, burstLimit: 1000, quotaPerDay: 10_000_000 },
    allowedProbeModes: ['succeed', 'sleep'],
    maxMessageAgeSeconds: 600,
  },
  // Short timings so a retried message reaches its DLQ within about a minute locally, while
  // still honouring visibility >= 6 x timeout + batching window.
  local: {
    logRetentionDays: 1,
    archiveExpirationDays: 1,
    archiveNoncurrentVersionDays: 1,
    queueRetentionDays: 1,
    maxReceiveCount: 3,
    backoff: { baseSeconds: 1, capSeconds: 4 },
    consumer: {
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 4,
      timeoutSeconds: 3,
      memoryMb: 256,
    },
    fifoConsumer: {
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 4,
      timeoutSeconds: 3,
      memoryMb: 256,
    },
    sweepEveryMinutes: 1,
    maxMessageAgeSeconds: 120,
  },
};

/** Thrown when a stage name or a stage setting is invalid; the message says what to do. */
export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

/** True when `name` is one of the known stages. */
export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/**
 * Resolves a stage's configuration: defaults, then the stage's overrides, then `extra`
 * (e.g. an alarm email given as context), validated.
 *
 * @example
 * const config = loadStageConfig('dev', { env: { region: 'eu-west-1' } });
 */
export function loadStageConfig(name: string, extra: Overrides = {}): StageConfig {
  if (!isStageName(name)) {
    throw new StageConfigError(
      `Unknown stage "${name}". Valid stages: ${STAGE_NAMES.join(', ')} (choose with -c stage=<name>).`,
    );
  }
  const config: StageConfig = { ...DEFAULTS, ...STAGES[name], ...definedOnly(extra), stage: name };
  validateStageConfig(config);
  return config;
}

function definedOnly(o: Overrides): Overrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Overrides;
}

/** Throws {@link StageConfigError} naming the first invalid setting. */
export function validateStageConfig(c: StageConfig): void {
  const fail = (msg: string): never => {
    throw new StageConfigError(`Stage "${c.stage}": ${msg}`);
  };
  if (!Number.isInteger(c.maxReceiveCount) || c.maxReceiveCount < 1 || c.maxReceiveCount > 1000)
    fail(`maxReceiveCount must be an integer 1–1000, got ${c.maxReceiveCount}`);
  if (
    c.backoff.baseSeconds < 0 ||
    c.backoff.capSeconds < c.backoff.baseSeconds ||
    c.backoff.capSeconds > 43200
  )
    fail('backoff needs 0 <= baseSeconds <= capSeconds <= 43200');
  if (c.fifoConsumer.batchSize > 10) fail(`fifoConsumer.batchSize must be <= 10 for FIFO queues`);
  for (const [label, s] of [
    ['consumer', c.consumer],
    ['fifoConsumer', c.fifoConsumer],
  ] as const) {
    if (s.batchSize < 1 || s.batchSize > 10000) fail(`${label}.batchSize must be 1–10000`);
    if (s.batchSize > 10 && s.maxBatchingWindowSeconds < 1)
      fail(`${label}.batchSize > 10 needs maxBatchingWindowSeconds >= 1`);
    if (s.maxConcurrency < 2 || s.maxConcurrency > 1000) fail(`${label}.maxConcurrency must be 2–1000`);
    if (s.timeoutSeconds < 1 || s.timeoutSeconds > 900) fail(`${label}.timeoutSeconds must be 1–900`);
  }
  if (c.fifoConsumer.maxBatchingWindowSeconds !== 0)
    fail('fifoConsumer.maxBatchingWindowSeconds must be 0 (Lambda does not batch FIFO queues by window)');
  if (c.queueRetentionDays < 1 || c.queueRetentionDays >= 14)
    fail('queueRetentionDays must be 1–13 so the DLQ (14 days) keeps messages longer than its source');
  if (c.api.maxBodyBytes < 1024 || c.api.maxBodyBytes > 10 * 1024 * 1024)
    fail('api.maxBodyBytes must be 1 KiB – 10 MiB');
  if (c.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c.alarmEmail))
    fail(`alarmEmail "${c.alarmEmail}" is not an email address`);
  if (c.sweepEveryMinutes < 1) fail('sweepEveryMinutes must be >= 1');
}
