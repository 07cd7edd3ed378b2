import {
  defineEnvironment,
  integer,
  text,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';

/**
 * The environment contract of both consumers (standard `lambda/consumer`, FIFO
 * `lambda/fifo-consumer`): `ConsumerFunction` writes it with {@link toEnvironment}, the entry
 * points read it with {@link fromEnvironment}. The queue kind is not part of it: each entry point
 * knows its own.
 */
const contract = defineEnvironment({
  /** URL of the source queue (for visibility changes). */
  queueUrl: text('QUEUE_URL'),
  /** URL of the source queue's DLQ, where permanent failures are sent. */
  dlqUrl: text('DLQ_URL'),
  /** The source queue's redrive `maxReceiveCount`: the attempt with this count is the last. */
  maxReceiveCount: integer('MAX_RECEIVE_COUNT'),
  backoffBaseSeconds: integer('BACKOFF_BASE_SECONDS'),
  backoffCapSeconds: integer('BACKOFF_CAP_SECONDS'),
  /** The failure archive bucket. */
  archiveBucket: text('ARCHIVE_BUCKET'),
});

/** A consumer's configuration, as parsed from its environment. */
export type ConsumerConfig = ConfigOf<typeof contract.spec>;
/** What `ConsumerFunction` gives {@link toEnvironment} (CDK tokens are strings or numbers). */
export type ConsumerEnvironmentInput = EnvironmentInput<typeof contract.spec>;

/** The consumer's environment variables, for the construct that sets them. */
export const toEnvironment = contract.toEnvironment;
/** Parses a consumer's environment at cold start; throws `ConfigError` naming the variable. */
export const fromEnvironment = contract.fromEnvironment;
/** The names of the variables this contract reads. */
export const variables = contract.variables;
