import {
  defineEnvironment,
  EnvValueError,
  json,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';
import { SHARED_VARIABLES } from '../shared/shared-environment';
import type { SweptQueue } from '../shared/sweeper';

const FIELDS = ['dlqUrl', 'sourceQueueName', 'sourceQueueArn'] as const;

/** SWEPT_QUEUES: a non-empty JSON array of `{ dlqUrl, sourceQueueName, sourceQueueArn }`. */
function sweptQueues(value: unknown): SweptQueue[] {
  if (!Array.isArray(value))
    throw new EnvValueError('must be a JSON array of { dlqUrl, sourceQueueName, sourceQueueArn }');
  if (value.length === 0) throw new EnvValueError('must list at least one queue');
  value.forEach((q: unknown, i) => {
    const o = q as Record<string, unknown>;
    if (typeof q !== 'object' || q === null || Array.isArray(q))
      throw new EnvValueError(
        'must be a JSON array of { dlqUrl, sourceQueueName, sourceQueueArn }',
        String(i),
      );
    for (const f of FIELDS)
      if (typeof o[f] !== 'string' || o[f] === '')
        throw new EnvValueError('must be a non-empty string', `${i}.${f}`);
    const extra = Object.keys(o).find((k) => !(FIELDS as readonly string[]).includes(k));
    if (extra) throw new EnvValueError(`unknown field "${extra}"`, String(i));
  });
  return value as SweptQueue[];
}

/**
 * The DLQ sweeper's environment contract: `DlqSweeper` writes it with {@link toEnvironment}
 * (passing `Stack.toJsonString` so queue tokens resolve), the entry point reads it with
 * {@link fromEnvironment}.
 */
const contract = defineEnvironment({
  archiveBucket: SHARED_VARIABLES.archiveBucket,
  /** The DLQs to sweep and the queues they belong to (JSON). */
  sweptQueues: json('SWEPT_QUEUES', sweptQueues),
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
