import {
  defineEnvironment,
  integer,
  json,
  oneOfList,
  stringRecord,
  text,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';
import { rateLimitOf } from '../shared/consumer/rate-limit';
import { SHARED_VARIABLES } from '../shared/shared-environment';
import { PROBE_MODES } from '../shared/jobs/probe-modes';
import { probePolicyOf } from '../producer/probe-policy';

/**
 * The environment contract of both consumers (standard `lambda/consumer`, FIFO
 * `lambda/fifo-consumer`): `ConsumerFunction` writes it with {@link toEnvironment}, the entry
 * points read it with {@link fromEnvironment}. The queue kind is not part of it: each entry point
 * knows its own.
 */
const contract = defineEnvironment({
  /** The lane this consumer runs (`standard`, `fifo`, or a custom lane's name). */
  lane: text('LANE'),
  /** URL of the source queue (for visibility changes). */
  queueUrl: text('QUEUE_URL'),
  /** URL of the source queue's DLQ, where permanent failures are sent. */
  dlqUrl: text('DLQ_URL'),
  /** The source queue's redrive `maxReceiveCount`: the backstop behind `maxAttempts`. */
  maxReceiveCount: integer('MAX_RECEIVE_COUNT'),
  /** Handler runs a message gets (counted on its status row) before the consumer gives up on it. */
  maxAttempts: integer('MAX_ATTEMPTS'),
  backoffBaseSeconds: integer('BACKOFF_BASE_SECONDS'),
  backoffCapSeconds: integer('BACKOFF_CAP_SECONDS'),
  /** The lane's deferral cap: how long after it was enqueued a message may be held back, in seconds. */
  maxDeferralSeconds: integer('MAX_DEFERRAL_SECONDS'),
  /** The lane's rate limit across its consumers, `null` for none: `{ "perSecond": n, "burst": n }`. */
  rateLimit: json('RATE_LIMIT', rateLimitOf),
  /** Follow-up jobs (`ctx.enqueue`) go to any lane: the default lanes' queues… */
  standardQueueUrl: text('STANDARD_QUEUE_URL'),
  fifoQueueUrl: text('FIFO_QUEUE_URL'),
  /** …and each custom lane's queue URL by lane name (`{}` when the app has none). */
  laneQueueUrls: json('LANE_QUEUE_URLS', stringRecord),
  /** Probe modes a follow-up `probe` may use, as the API allows them. */
  allowedProbeModes: oneOfList('ALLOWED_PROBE_MODES', PROBE_MODES),
  /** Who may send probes and how hard they may fail, as the API checks them. */
  probePolicy: json('PROBE_LIMITS', probePolicyOf),
  archiveBucket: SHARED_VARIABLES.archiveBucket,
  resultBucket: SHARED_VARIABLES.resultBucket,
  statusTable: SHARED_VARIABLES.statusTable,
  statusRetentionDays: SHARED_VARIABLES.statusRetentionDays,
  idempotencyWindowSeconds: SHARED_VARIABLES.idempotencyWindowSeconds,
});

/** The parsed configuration (`fromEnvironment`). */
export type ConsumerConfig = ConfigOf<typeof contract>;
/** What `ConsumerFunction` gives `toEnvironment`. */
export type ConsumerEnvironmentInput = EnvironmentInput<typeof contract>;

/**
 * `toEnvironment(input)`: the variables for the construct; `fromEnvironment(env)`: parses them at
 * cold start, throwing `ConfigError` naming the variable; `variables`: their names; `spec`: each
 * variable by configuration key (`spec.maxAttempts.name` is `MAX_ATTEMPTS`).
 */
export const { toEnvironment, fromEnvironment, variables, spec } = contract;
