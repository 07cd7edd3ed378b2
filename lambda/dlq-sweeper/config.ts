import { z } from 'zod';
import { defineEnvironment, json, type ConfigOf, type EnvironmentInput } from '../shared/env-contract';
import { SHARED_VARIABLES } from '../shared/shared-environment';
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
  archiveBucket: SHARED_VARIABLES.archiveBucket,
  /** The DLQs to sweep and the queues they belong to (JSON). */
  sweptQueues: json('SWEPT_QUEUES', SweptQueues),
  /** Where swept messages are marked failed. */
  statusTable: SHARED_VARIABLES.statusTable,
  statusRetentionDays: SHARED_VARIABLES.statusRetentionDays,
});

/** The parsed configuration (`fromEnvironment`). */
export type SweeperConfig = ConfigOf<typeof contract>;
/** What `DlqSweeper` gives `toEnvironment`. */
export type SweeperEnvironmentInput = EnvironmentInput<typeof contract>;

/**
 * `toEnvironment(input)`: the variables for the construct; `fromEnvironment(env)`: parses them at
 * cold start, throwing `ConfigError` naming the variable; `variables`: their names.
 */
export const { toEnvironment, fromEnvironment, variables } = contract;
