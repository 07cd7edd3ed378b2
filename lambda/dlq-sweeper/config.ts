import { z } from 'zod';
import { defineEnvironment, json, text, type ConfigOf, type EnvironmentInput } from '../shared/env-contract';
import type { SweptQueue } from '../shared/sweeper';

const SweptQueues: z.ZodType<SweptQueue[]> = z
  .array(
    z
      .object({
        dlqUrl: z.string().min(1),
        sourceQueueName: z.string().min(1),
        sourceQueueArn: z.string().min(1),
      })
      .strict(),
    'must be a JSON array of { dlqUrl, sourceQueueName, sourceQueueArn }',
  )
  .min(1, 'must list at least one queue');

/**
 * The DLQ sweeper's environment contract: `DlqSweeper` writes it with {@link toEnvironment}
 * (passing `Stack.toJsonString` so queue tokens resolve), the entry point reads it with
 * {@link fromEnvironment}.
 */
const contract = defineEnvironment({
  /** The failure archive bucket. */
  archiveBucket: text('ARCHIVE_BUCKET'),
  /** The DLQs to sweep and the queues they belong to (JSON). */
  sweptQueues: json('SWEPT_QUEUES', SweptQueues),
});

/** The sweeper's configuration, as parsed from its environment. */
export type SweeperConfig = ConfigOf<typeof contract.spec>;
/** What `DlqSweeper` gives {@link toEnvironment}. */
export type SweeperEnvironmentInput = EnvironmentInput<typeof contract.spec>;

/** The sweeper's environment variables, for the construct that sets them. */
export const toEnvironment = contract.toEnvironment;
/** Parses the sweeper's environment at cold start; throws `ConfigError` naming the variable. */
export const fromEnvironment = contract.fromEnvironment;
/** The names of the variables this contract reads. */
export const variables = contract.variables;
