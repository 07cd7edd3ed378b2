import {
  defineEnvironment,
  integer,
  oneOfList,
  text,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';
import { PROBE_MODES } from '../shared/jobs/probe';

/**
 * The producer's environment contract: `IngestApi` writes it with {@link toEnvironment}, the entry
 * point reads it with {@link fromEnvironment}.
 */
const contract = defineEnvironment({
  standardQueueUrl: text('STANDARD_QUEUE_URL'),
  fifoQueueUrl: text('FIFO_QUEUE_URL'),
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: integer('MAX_BODY_BYTES'),
  /** Probe modes this stage accepts; an unknown mode fails the cold start. */
  allowedProbeModes: oneOfList('ALLOWED_PROBE_MODES', PROBE_MODES),
});

/** The producer's configuration, as parsed from its environment. */
export type ProducerConfig = ConfigOf<typeof contract.spec>;
/** What `IngestApi` gives {@link toEnvironment} (CDK tokens are strings or numbers). */
export type ProducerEnvironmentInput = EnvironmentInput<typeof contract.spec>;

/** The producer's environment variables, for the construct that sets them. */
export const toEnvironment = contract.toEnvironment;
/** Parses the producer's environment at cold start; throws `ConfigError` naming the variable. */
export const fromEnvironment = contract.fromEnvironment;
/** The names of the variables this contract reads. */
export const variables = contract.variables;
