import { ConfigError } from './errors';
import { assertAttemptsFit, LAMBDA_LIMITS, SQS_LIMITS } from './limits';
import { QUEUE_DEFAULTS } from './defaults';
import type { ConsumerSettings, StageConfig } from './types';
import {
  DEFERRAL_RETENTION_MARGIN_SECONDS,
  defaultMaxDeferralSeconds,
} from '../../lambda/shared/consumer/deferral';

/** The lane of unordered job types that name none. */
export const DEFAULT_STANDARD_LANE = 'standard';
/** The lane of ordered job types that name none (and of unordered ones sent with an `orderingKey`). */
export const DEFAULT_FIFO_LANE = 'fifo';
/** Not a lane: what `ops --lane` calls the webhooks' notifications DLQ, so no lane may take it. */
export const NOTIFICATIONS_LANE = 'notifications';
/**
 * What a lane name may be: lower-case words of letters and digits joined by single dashes, at
 * most 24 characters; it appears in construct ids (`thumbnails` → `LaneThumbnails`), outputs and logs.
 */
export const LANE_NAME_PATTERN = /^(?=.{1,24}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The longest batching window of an SQS event source mapping, in seconds. */
const MAX_BATCHING_WINDOW_SECONDS = 300;

/** What a lane's environment variable name may be (Lambda's rule). */
const ENV_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]*$/;

/**
 * One custom lane: its own queue, DLQ, consumer function, event source mapping, alarms and
 * dashboard widgets. Every setting left out comes from the pipeline's settings for the default
 * lane of the same kind (`consumer` for standard lanes, `fifoConsumer` for FIFO lanes).
 *
 * @example
 * lanes: { thumbnails: { timeoutSeconds: 120, memoryMb: 2048, maxConcurrency: 5 } }
 */
export interface LaneProps {
  /** A FIFO lane (ordered per `orderingKey`); its types must be sent with one. @default false */
  readonly fifo?: boolean;
  /** Consumer timeout in seconds (1–900); the queue's visibility follows it. @default the pipeline's */
  readonly timeoutSeconds?: number;
  /** Consumer memory in MB (128–10240). @default the pipeline's */
  readonly memoryMb?: number;
  /** Event source mapping `MaximumConcurrency` (2–1000). @default the pipeline's */
  readonly maxConcurrency?: number;
  /** Records per invocation (standard 1–10000, FIFO 1–10). @default the pipeline's */
  readonly batchSize?: number;
  /** Batching window in seconds (standard lanes only). @default the pipeline's */
  readonly maxBatchingWindowSeconds?: number;
  /** Handler runs a message gets before it is dead-lettered. @default the pipeline's `maxAttempts` */
  readonly maxAttempts?: number;
  /** Retry backoff, first delay and cap in seconds. @default the pipeline's `backoff` */
  readonly backoff?: { readonly baseSeconds: number; readonly capSeconds: number };
  /** Extra environment variables of the lane's consumer (names the pipeline or Lambda set are refused). @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Deferral (a job's `RetryLaterError`, a caller's `notBefore`): `maxSeconds` is the cap, how long
   * after it was enqueued a message may be held back (a later time gives it up as
   * `deferral-exhausted`), at most the queue retention less 2 hours; `maxSteps` the deferral steps
   * (each costs an SQS receive) its queue's `maxReceiveCount` must leave room for, beyond
   * `maxAttempts` × 10 (a lane under a tight rate limit defers often).
   * @default { maxSeconds: queue retention − 2 h, maxSteps: 0 }
   */
  readonly deferral?: { readonly maxSeconds?: number; readonly maxSteps?: number };
  /**
   * At most `perSecond` handler runs per second across all the lane's consumers, in bursts of up to
   * `burst` (a shared token bucket on the status table, `lambda/shared/consumer/rate-limit.ts`). A
   * record that finds no token is deferred to the next one (no attempt spent): size
   * `deferral.maxSteps` for the waits. @default no limit
   */
  readonly rateLimit?: {
    readonly perSecond: number;
    readonly burst?: number;
    /**
     * At most `count` runs in each window of `windowSeconds`, windows aligned to the epoch (a
     * day's starts at 00:00 UTC): a downstream's daily quota. A record past it is deferred to the
     * next window (`lambda/shared/consumer/quota.ts`); `windowSeconds` is at most the lane's
     * deferral cap. @default no quota
     */
    readonly quota?: { readonly count: number; readonly windowSeconds: number };
  };
}

/** A lane with every setting resolved. */
export interface ResolvedLane {
  readonly name: string;
  readonly fifo: boolean;
  /** One of the two lanes every pipeline has. */
  readonly isDefault: boolean;
  readonly consumer: ConsumerSettings;
  readonly maxAttempts: number;
  readonly maxReceiveCount: number;
  readonly backoff: { readonly baseSeconds: number; readonly capSeconds: number };
  readonly environment: Readonly<Record<string, string>>;
  /** The deferral cap, in seconds after a message was enqueued (`lambda/shared/consumer/deferral.ts`). */
  readonly maxDeferralSeconds: number;
  /** The lane's rate limit across its consumers; `null` for none. */
  readonly rateLimit: {
    readonly perSecond: number;
    readonly burst: number;
    readonly quota?: { readonly count: number; readonly windowSeconds: number };
  } | null;
}

/** Variable names the consumer's own contract uses; a lane's `environment` may not set them. */
const RESERVED_ENV = /^(AWS_|LAMBDA_|_|POWERTOOLS_|NODE_OPTIONS$)/;

/**
 * The pipeline's lanes: the default standard and FIFO lanes (from `settings`), then each custom
 * lane over the defaults of its kind, validated. Throws {@link ConfigError} naming the lane and
 * the setting.
 */
export function resolveLanes(
  settings: StageConfig,
  lanes: Readonly<Record<string, LaneProps>> = {},
  reservedEnv: readonly string[] = [],
): ResolvedLane[] {
  const retentionSeconds = settings.queueRetentionDays * 86_400;
  const base = (fifo: boolean) => ({
    consumer: fifo ? settings.fifoConsumer : settings.consumer,
    maxAttempts: settings.maxAttempts,
    maxReceiveCount: settings.maxReceiveCount,
    backoff: settings.backoff,
    maxDeferralSeconds: defaultMaxDeferralSeconds(retentionSeconds),
    rateLimit: null,
  });
  const out: ResolvedLane[] = [
    { name: DEFAULT_STANDARD_LANE, fifo: false, isDefault: true, environment: {}, ...base(false) },
    { name: DEFAULT_FIFO_LANE, fifo: true, isDefault: true, environment: {}, ...base(true) },
  ];
  for (const [name, p] of Object.entries(lanes)) {
    const fail = (msg: string): never => {
      throw new ConfigError(`Lane "${name}": ${msg}`);
    };
    if (name === DEFAULT_STANDARD_LANE || name === DEFAULT_FIFO_LANE)
      fail(`"${name}" is a default lane; its settings are the pipeline's (consumer / fifoConsumer)`);
    if (name === NOTIFICATIONS_LANE)
      fail(`"${name}" names the webhooks' DLQ in ops (--lane ${NOTIFICATIONS_LANE}); choose another name`);
    if (!LANE_NAME_PATTERN.test(name))
      fail(
        'the name must be lower-case words of letters and digits joined by single dashes, 1–24 characters',
      );
    const pascal = name
      .split('-')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join('');
    const clash = out.find(
      (l) =>
        l.name
          .split('-')
          .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
          .join('') === pascal,
    );
    if (clash) fail(`its construct ids (Lane${pascal}) would be those of lane "${clash.name}"; rename one`);
    const fifo = p.fifo ?? false;
    const d = base(fifo);
    const consumer: ConsumerSettings = {
      batchSize: p.batchSize ?? d.consumer.batchSize,
      maxBatchingWindowSeconds: fifo
        ? 0
        : (p.maxBatchingWindowSeconds ?? d.consumer.maxBatchingWindowSeconds),
      maxConcurrency: p.maxConcurrency ?? d.consumer.maxConcurrency,
      timeoutSeconds: p.timeoutSeconds ?? d.consumer.timeoutSeconds,
      memoryMb: p.memoryMb ?? d.consumer.memoryMb,
    };
    if (fifo && p.maxBatchingWindowSeconds !== undefined && p.maxBatchingWindowSeconds !== 0)
      fail('maxBatchingWindowSeconds must be 0 on a FIFO lane (Lambda does not batch FIFO queues by window)');
    assertConsumerSettings(`Lane "${name}"`, consumer, fifo);
    if (
      p.memoryMb !== undefined &&
      (p.memoryMb < 128 || p.memoryMb > 10_240 || !Number.isInteger(p.memoryMb))
    )
      fail('memoryMb must be an integer 128–10240');
    const maxAttempts = p.maxAttempts ?? d.maxAttempts;
    const maxSteps = p.deferral?.maxSteps ?? 0;
    if (!Number.isInteger(maxSteps) || maxSteps < 0 || maxSteps > SQS_LIMITS.maxReceiveCount)
      fail(`deferral.maxSteps must be an integer 0–${SQS_LIMITS.maxReceiveCount}`);
    const maxDeferralSeconds = p.deferral?.maxSeconds ?? d.maxDeferralSeconds;
    const deferralCeiling = retentionSeconds - DEFERRAL_RETENTION_MARGIN_SECONDS;
    if (
      !Number.isInteger(maxDeferralSeconds) ||
      maxDeferralSeconds < 1 ||
      maxDeferralSeconds > deferralCeiling
    )
      fail(
        `deferral.maxSeconds must be an integer 1–${deferralCeiling} (the queue retention less ` +
          `${DEFERRAL_RETENTION_MARGIN_SECONDS / 3600} hours, so a deferred message never expires)`,
      );
    const quota = p.rateLimit?.quota;
    const rateLimit = p.rateLimit
      ? { perSecond: p.rateLimit.perSecond, burst: p.rateLimit.burst ?? 1, ...(quota ? { quota } : {}) }
      : null;
    if (
      quota &&
      (!Number.isInteger(quota.count) ||
        quota.count < 1 ||
        !Number.isInteger(quota.windowSeconds) ||
        quota.windowSeconds < 1 ||
        quota.windowSeconds > maxDeferralSeconds)
    )
      fail(
        `rateLimit.quota needs an integer count >= 1 and an integer windowSeconds 1–${maxDeferralSeconds} ` +
          '(the deferral cap: a record past the quota waits for the next window)',
      );
    if (
      rateLimit &&
      (!(rateLimit.perSecond > 0) ||
        rateLimit.perSecond > 10_000 ||
        !Number.isInteger(rateLimit.burst) ||
        rateLimit.burst < 1 ||
        rateLimit.burst > 10_000)
    )
      fail('rateLimit needs 0 < perSecond <= 10000 and an integer burst 1–10000');
    // Keeps the pipeline's receives-per-attempt backstop when the lane gives more attempts, and
    // room for the deferral steps the lane expects (each costs a receive).
    const maxReceiveCount = Math.min(
      SQS_LIMITS.maxReceiveCount,
      Math.max(d.maxReceiveCount, maxAttempts * QUEUE_DEFAULTS.receivesPerAttempt + maxSteps),
    );
    assertAttemptsFit(`Lane "${name}"`, maxAttempts, maxReceiveCount);
    const backoff = p.backoff ?? d.backoff;
    if (backoff.baseSeconds < 0 || backoff.capSeconds < backoff.baseSeconds || backoff.capSeconds > 43_200)
      fail('backoff needs 0 <= baseSeconds <= capSeconds <= 43200');
    const environment = p.environment ?? {};
    for (const key of Object.keys(environment)) {
      if (!ENV_NAME_PATTERN.test(key))
        fail(
          `environment variable name "${key}" is not one Lambda accepts (letters, digits, _; a letter first)`,
        );
      if (RESERVED_ENV.test(key) || reservedEnv.includes(key))
        fail(`environment variable ${key} is set by the pipeline or by Lambda; choose another name`);
    }
    out.push({
      name,
      fifo,
      isDefault: false,
      consumer,
      maxAttempts,
      maxReceiveCount,
      backoff,
      environment,
      maxDeferralSeconds,
      rateLimit,
    });
  }
  return out;
}

/** Throws {@link ConfigError} when consumer settings are outside what SQS and Lambda accept. */
export function assertConsumerSettings(where: string, s: ConsumerSettings, fifo: boolean): void {
  const fail = (msg: string): never => {
    throw new ConfigError(`${where}: ${msg}`);
  };
  const maxBatch = fifo ? SQS_LIMITS.maxFifoBatchSize : SQS_LIMITS.maxStandardBatchSize;
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1 || s.batchSize > maxBatch)
    fail(`batchSize must be an integer 1–${maxBatch}${fifo ? ' on a FIFO queue' : ''}`);
  if (s.batchSize > SQS_LIMITS.maxBatchSizeWithoutWindow && s.maxBatchingWindowSeconds < 1)
    fail(`batchSize > ${SQS_LIMITS.maxBatchSizeWithoutWindow} needs maxBatchingWindowSeconds >= 1`);
  if (
    !Number.isInteger(s.maxBatchingWindowSeconds) ||
    s.maxBatchingWindowSeconds < 0 ||
    s.maxBatchingWindowSeconds > MAX_BATCHING_WINDOW_SECONDS
  )
    fail(`maxBatchingWindowSeconds must be an integer 0–${MAX_BATCHING_WINDOW_SECONDS}`);
  if (
    !Number.isInteger(s.maxConcurrency) ||
    s.maxConcurrency < SQS_LIMITS.minMaxConcurrency ||
    s.maxConcurrency > SQS_LIMITS.maxMaxConcurrency
  )
    fail(`maxConcurrency must be an integer ${SQS_LIMITS.minMaxConcurrency}–${SQS_LIMITS.maxMaxConcurrency}`);
  if (
    !Number.isInteger(s.timeoutSeconds) ||
    s.timeoutSeconds < LAMBDA_LIMITS.minTimeoutSeconds ||
    s.timeoutSeconds > LAMBDA_LIMITS.maxTimeoutSeconds
  )
    fail(
      `timeoutSeconds must be an integer ${LAMBDA_LIMITS.minTimeoutSeconds}–${LAMBDA_LIMITS.maxTimeoutSeconds}`,
    );
}
