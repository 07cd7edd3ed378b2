import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StoredResult } from '../jobs/result';
import type { Context } from 'aws-lambda';
import { RetryableError } from '../errors';
import {
  PROCESSING,
  SUCCEEDED,
  statusTransition,
  type DynamoStatusStore,
  type StatusTransition,
} from '../status/dynamodb-store';
import { STATUS_TABLE_KEYS, statusKey } from '../status/keys';
import type { StatusSubject } from '../status/types';

/** Key prefix Powertools hashes the records' keys under (unused as a table key: see the layer). */
export const IDEMPOTENCY_KEY_PREFIX = 'run';

/** What a guarded run did. */
export type RunOutcome = 'ran' | 'duplicate';

/** Runs a record's work at most once per envelope id (within a window); injectable for tests. */
export interface RecordIdempotency {
  /**
   * True when `run` also writes the status row's `processing` (before `work`) and `succeeded`
   * (after it) transitions, so the consumer does not write them again.
   */
  readonly writesStatus: boolean;
  /**
   * Runs `work` unless `subject.id` already completed (`'duplicate'`, `work` not run). Throws
   * {@link InProgressElsewhere} when another delivery of it is running now, and what `work`
   * throws otherwise (then the id is free again, so a retry runs it).
   */
  run(
    subject: StatusSubject,
    work: () => Promise<StoredResult | undefined | void>,
    context?: Context,
  ): Promise<RunOutcome>;
}

/** Another delivery of the same message is being processed: retry this one later. */
export class InProgressElsewhere extends RetryableError {}

/** The status row's attributes that hold the Powertools idempotency record of its message. */
export const RUN_ATTRIBUTES = {
  status: 'runStatus',
  expiry: 'runExpiry',
  inProgressExpiry: 'runInProgressExpiry',
  data: 'runData',
} as const;

/** Options of {@link PowertoolsRecordIdempotency}. */
export interface PowertoolsRecordIdempotencyOptions {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long a completed run is remembered. */
  readonly windowSeconds: number;
  /** The status rows' retention (their TTL), as the status store writes it. */
  readonly retentionDays: number;
  /** Appends a new SQS message id to a row (redrive, replay), as the status store does. */
  readonly store: Pick<DynamoStatusStore, 'appendIdIfNew'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * A Powertools persistence layer (the library's extension point, `BasePersistenceLayer`) that keeps
 * the idempotency record of one message **on its status row** (`msg#<envelope id>`, attributes
 * {@link RUN_ATTRIBUTES}), and writes the row's status transition in the same `UpdateItem`:
 * `INPROGRESS` with `processing`, `COMPLETED` with `succeeded`. A processed message thus costs the
 * consumer two writes instead of four (Powertools' `PutItem` + `UpdateItem` on a row of its own,
 * and the status row's two updates). The conditions are Powertools' own (`DynamoDBPersistenceLayer`
 * in `@aws-lambda-powertools/idempotency`): no record, an expired one, or an `INPROGRESS` one
 * whose in-progress expiry (the invocation's remaining time) has passed — and the row's own: a
 * `succeeded` message never runs again, even after the window. A failed run removes the
 * record's attributes, not the row. One instance per run: it is bound to its message.
 */
export class StatusRowPersistenceLayer extends BasePersistenceLayer {
  /** The run's result, set by the run before Powertools completes the record (`_updateRecord`). */
  result: StoredResult | undefined;

  constructor(
    private readonly subject: StatusSubject,
    private readonly options: PowertoolsRecordIdempotencyOptions,
  ) {
    super();
  }

  #key() {
    return { [STATUS_TABLE_KEYS.partitionKey]: statusKey(this.subject.id) };
  }

  #transition(state: 'processing' | 'succeeded'): StatusTransition {
    const now = this.options.now?.() ?? new Date();
    return statusTransition(
      this.subject,
      state,
      state === 'processing' ? PROCESSING : { ...SUCCEEDED, ...(this.result ? { result: this.result } : {}) },
      now,
      this.options.retentionDays,
    );
  }

  #recordOf(item: Record<string, unknown>, idempotencyKey: string): IdempotencyRecord {
    return new IdempotencyRecord({
      idempotencyKey,
      status: item[RUN_ATTRIBUTES.status] as IdempotencyRecord['status'],
      expiryTimestamp: item[RUN_ATTRIBUTES.expiry] as number | undefined,
      inProgressExpiryTimestamp: item[RUN_ATTRIBUTES.inProgressExpiry] as number | undefined,
      responseData: item[RUN_ATTRIBUTES.data] as IdempotencyRecord['responseData'],
    });
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const out = await this.options.db.send(
      new GetCommand({ TableName: this.options.tableName, Key: this.#key(), ConsistentRead: true }),
    );
    const item = out.Item;
    // `succeeded` is final: a row that says so is a completed run, whatever its record says (its
    // window may have passed, or the run predates records on the row).
    if (item?.status === 'succeeded') {
      // Stryker disable next-line ArithmeticOperator: equivalent: Powertools only asks whether this record has expired, which no time a window (at least 1 h, settings.ts) ahead of now has; `* 1000` is later still
      const nowSeconds = Math.floor(Date.now() / 1000);
      return new IdempotencyRecord({
        idempotencyKey,
        status: IdempotencyRecordStatus.COMPLETED,
        expiryTimestamp: nowSeconds + this.options.windowSeconds,
        // A row from before records on the row: any response without this run's token is an
        // earlier run's (run() compares the token only).
        // Stryker disable next-line ObjectLiteral: equivalent: `{}` has no token either
        responseData: (item[RUN_ATTRIBUTES.data] as IdempotencyRecord['responseData']) ?? {
          // Stryker disable next-line StringLiteral: equivalent: no fresh token is '' either
          token: 'succeeded',
        },
      });
    }
    if (!item || item[RUN_ATTRIBUTES.status] === undefined) throw new IdempotencyItemNotFoundError();
    return this.#recordOf(item, idempotencyKey);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const t = this.#transition('processing');
    const now = Date.now();
    const set = [...t.set, '#runStatus = :runStatus', '#runExpiry = :runExpiry'];
    const values: Record<string, unknown> = {
      ...t.values,
      ':runStatus': record.getStatus(),
      ':runExpiry': record.expiryTimestamp,
      ':nowSeconds': now / 1000,
      ':nowMillis': now,
      ':inProgress': IdempotencyRecordStatus.INPROGRESS,
    };
    if (record.inProgressExpiryTimestamp !== undefined) {
      set.push('#runInProgressExpiry = :runInProgressExpiry');
      values[':runInProgressExpiry'] = record.inProgressExpiryTimestamp;
    }
    try {
      const out = await this.options.db.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.#key(),
          UpdateExpression: `SET ${set.join(', ')}`,
          // Powertools' conditions, and the status row's own: a `succeeded` message never runs again.
          ConditionExpression: `(${[
            'attribute_not_exists(#runStatus)',
            '#runExpiry < :nowSeconds',
            '(#runStatus = :inProgress AND attribute_exists(#runInProgressExpiry) AND #runInProgressExpiry < :nowMillis)',
          ].join(' OR ')}) AND (${t.condition!})`,
          ExpressionAttributeNames: {
            ...t.names,
            '#runStatus': RUN_ATTRIBUTES.status,
            '#runExpiry': RUN_ATTRIBUTES.expiry,
            '#runInProgressExpiry': RUN_ATTRIBUTES.inProgressExpiry,
          },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      // A redrive or replay delivers under a new SQS message id; a failed append only loses the
      // id from the row's list (the run goes on).
      await this.options.store.appendIdIfNew(this.subject, out.Attributes).catch(() => undefined);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        // Powertools reads the existing record itself (`_getRecord`) when none is attached.
        throw new IdempotencyItemAlreadyExistsError(
          // Stryker disable next-line StringLiteral: equivalent: Powertools catches this error by its name and reads the record; the message is never shown
          `Message ${this.subject.id} already has an idempotency record`,
        );
      throw error;
    }
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const t = this.#transition('succeeded');
    await this.options.db.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.#key(),
        UpdateExpression: `SET ${[...t.set, '#runStatus = :runStatus', '#runExpiry = :runExpiry', '#runData = :runData'].join(', ')}`,
        ExpressionAttributeNames: {
          ...t.names,
          '#runStatus': RUN_ATTRIBUTES.status,
          '#runExpiry': RUN_ATTRIBUTES.expiry,
          '#runData': RUN_ATTRIBUTES.data,
        },
        ExpressionAttributeValues: {
          ...t.values,
          ':runStatus': record.getStatus(),
          ':runExpiry': record.expiryTimestamp,
          ':runData': record.responseData ?? null,
        },
      }),
    );
  }

  protected async _deleteRecord(): Promise<void> {
    await this.options.db.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.#key(),
        UpdateExpression: 'REMOVE #runStatus, #runExpiry, #runInProgressExpiry, #runData',
        ExpressionAttributeNames: {
          '#runStatus': RUN_ATTRIBUTES.status,
          '#runExpiry': RUN_ATTRIBUTES.expiry,
          '#runInProgressExpiry': RUN_ATTRIBUTES.inProgressExpiry,
          '#runData': RUN_ATTRIBUTES.data,
        },
      }),
    );
  }
}

/**
 * {@link RecordIdempotency} with Powertools idempotency (`makeIdempotent`), keyed on `{ id }`
 * (`eventKeyJmesPath: 'id'`), its records on the status rows ({@link StatusRowPersistenceLayer}).
 * The in-progress record expires with the invocation's remaining time (`registerLambdaContext`),
 * so a crashed run frees the id for the next delivery.
 */
export class PowertoolsRecordIdempotency implements RecordIdempotency {
  readonly writesStatus = true;
  readonly #config: IdempotencyConfig;

  constructor(private readonly options: PowertoolsRecordIdempotencyOptions) {
    this.#config = new IdempotencyConfig({
      eventKeyJmesPath: 'id',
      expiresAfterSeconds: options.windowSeconds,
      throwOnNoIdempotencyKey: true,
    });
  }

  async run(
    subject: StatusSubject,
    work: () => Promise<StoredResult | undefined | void>,
    context?: Context,
  ): Promise<RunOutcome> {
    if (context) this.#config.registerLambdaContext(context);
    // A fresh token per call: a stored result with another token is the first run's.
    const token = `${Date.now()}-${Math.random()}`;
    const layer = new StatusRowPersistenceLayer(subject, this.options);
    const guarded = makeIdempotent(
      async (_input: { id: string }) => {
        // Written with `succeeded`, in the same UpdateItem that completes the record.
        layer.result = (await work()) ?? undefined;
        return { token };
      },
      {
        persistenceStore: layer,
        config: this.#config,
        keyPrefix: IDEMPOTENCY_KEY_PREFIX,
      },
    );
    try {
      const out = await guarded({ id: subject.id });
      return out.token === token ? 'ran' : 'duplicate';
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError)
        throw new InProgressElsewhere(`Message ${subject.id} is being processed by another delivery`, {
          cause: error,
        });
      throw error;
    }
  }
}
