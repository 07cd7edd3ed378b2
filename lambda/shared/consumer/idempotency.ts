import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { RetryableError } from '../errors';
import { STATUS_TABLE_KEYS } from '../status/keys';

/** Key prefix of the consumers' Powertools idempotency records: `run#<md5 of the envelope id>`. */
export const IDEMPOTENCY_KEY_PREFIX = 'run';

/** What a guarded run did. */
export type RunOutcome = 'ran' | 'duplicate';

/** Runs a record's work at most once per envelope id (within a window); injectable for tests. */
export interface RecordIdempotency {
  /**
   * Runs `work` unless `id` already completed (`'duplicate'`, `work` not run). Throws
   * {@link InProgressElsewhere} when another delivery of `id` is running now, and what `work`
   * throws otherwise (then `id` is free again, so a retry runs it).
   */
  run(id: string, work: () => Promise<void>, context?: Context): Promise<RunOutcome>;
}

/** Another delivery of the same message is being processed: retry this one later. */
export class InProgressElsewhere extends RetryableError {}

/**
 * {@link RecordIdempotency} with Powertools idempotency (`makeIdempotent`, DynamoDB persistence
 * layer on the status table, key attribute `pk`, TTL attribute `expiration`), keyed on `{ id }`
 * (`eventKeyJmesPath: 'id'`). The in-progress record expires with the invocation's remaining time
 * (`registerLambdaContext`), so a crashed run frees the id for the next delivery.
 */
export class PowertoolsRecordIdempotency implements RecordIdempotency {
  readonly #config: IdempotencyConfig;
  readonly #run: (
    input: { id: string },
    token: string,
    work: () => Promise<void>,
  ) => Promise<{ token: string }>;

  constructor(options: { client: DynamoDBClient; tableName: string; windowSeconds: number }) {
    this.#config = new IdempotencyConfig({
      eventKeyJmesPath: 'id',
      expiresAfterSeconds: options.windowSeconds,
      throwOnNoIdempotencyKey: true,
    });
    const persistenceStore = new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      keyAttr: STATUS_TABLE_KEYS.partitionKey,
      expiryAttr: STATUS_TABLE_KEYS.ttlAttribute,
      awsSdkV3Client: options.client,
    });
    this.#run = makeIdempotent(
      async (_input: { id: string }, token: string, work: () => Promise<void>) => {
        await work();
        return { token };
      },
      { persistenceStore, config: this.#config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
    );
  }

  async run(id: string, work: () => Promise<void>, context?: Context): Promise<RunOutcome> {
    if (context) this.#config.registerLambdaContext(context);
    // A fresh token per call: a stored result with another token is the first run's.
    const token = `${Date.now()}-${Math.random()}`;
    try {
      const out = await this.#run({ id }, token, work);
      return out.token === token ? 'ran' : 'duplicate';
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError)
        throw new InProgressElsewhere(`Message ${id} is being processed by another delivery`, {
          cause: error,
        });
      throw error;
    }
  }
}
