/**
 * Crash isolation's verdict on a FIFO queue (`./crash-isolation.ts`): a suspect that crashed the
 * runtime while it ran alone is the **culprit**. When records of its group wait behind it in the
 * batch, it is given up on at once instead of running again: SQS FIFO delivers a group's later
 * records with its head, so each further crash would charge them a receive too, and with the
 * head's last one they would follow it to the DLQ. A culprit with nothing of its group behind it
 * keeps its remaining attempts (alone). Standard queues do not need this: there a suspect's
 * batch-mates are handed back or run before it, and its crashes are its own.
 *
 * Before a suspect's lone run the consumer writes a marker on its status row ("running alone
 * since <time>, delivery <n>") and clears it when the run returns, whether it succeeded or
 * failed. A marker still set on a later delivery means that run never returned: the runtime
 * crashed, or hung until the function timeout killed it (the same thing here). The marker comes
 * with the consumer's one read of a batch's redelivered rows (`./run-state.ts`); a suspect whose
 * row that read missed is read alone (`GetItem`); fresh records never are. A marker write that fails leaves the
 * record to plain crash isolation.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { PipelineError } from '../errors';
import { STATUS_TABLE_KEYS, statusKey } from '../status/keys';
import { receiveCountOf } from './crash-isolation';

/** The marker of a lone run, on the status row of the record's envelope id. */
export interface IsolatedRunMarker {
  /** When the lone run started (ISO 8601). */
  readonly since: string;
  /** The SQS message id of the delivery that ran alone. */
  readonly messageId: string;
  /** Its `ApproximateReceiveCount`. */
  readonly receiveCount: number;
}

/** The error a culprit is archived and dead-lettered with. */
export class CrashedRuntime extends PipelineError {}

/** True when `record` is a later delivery of the one whose lone run left `marker` behind. */
export function isCulprit(marker: IsolatedRunMarker | undefined, record: SQSRecord): boolean {
  return (
    marker !== undefined &&
    marker.messageId === record.messageId &&
    marker.receiveCount < receiveCountOf(record)
  );
}

/** The error of a culprit, naming the lone run it crashed. */
export function crashedRuntimeError(marker: IsolatedRunMarker): CrashedRuntime {
  return new CrashedRuntime(
    `delivery ${marker.receiveCount} ran alone since ${marker.since} and never returned ` +
      '(the runtime crashed or the function timed out)',
  );
}

/** Where markers are kept, by envelope id. Every method may throw. */
export interface MarkerStore {
  mark(envelopeId: string, marker: IsolatedRunMarker): Promise<void>;
  read(envelopeId: string): Promise<IsolatedRunMarker | undefined>;
  clear(envelopeId: string): Promise<void>;
}

/** The attribute of a status row that holds its marker. */
export const MARKER_ATTRIBUTE = 'isolatedRun';

/**
 * {@link MarkerStore} on the status table: attribute {@link MARKER_ATTRIBUTE} of row
 * `msg#<envelope id>`. Writes only touch an existing row (a row is made by a status transition,
 * never by a marker alone); marking a message without a row throws, so it runs unmarked.
 */
export class DynamoMarkerStore implements MarkerStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async mark(envelopeId: string, marker: IsolatedRunMarker): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(envelopeId) },
        UpdateExpression: 'SET #m = :m',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#m': MARKER_ATTRIBUTE, '#pk': STATUS_TABLE_KEYS.partitionKey },
        ExpressionAttributeValues: { ':m': marker },
      }),
    );
  }

  async read(envelopeId: string): Promise<IsolatedRunMarker | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(envelopeId) },
        ProjectionExpression: '#m',
        ExpressionAttributeNames: { '#m': MARKER_ATTRIBUTE },
        ConsistentRead: true,
      }),
    );
    return out.Item?.[MARKER_ATTRIBUTE] as IsolatedRunMarker | undefined;
  }

  async clear(envelopeId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(envelopeId) },
          UpdateExpression: 'REMOVE #m',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#m': MARKER_ATTRIBUTE, '#pk': STATUS_TABLE_KEYS.partitionKey },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

/** What {@link createCulpritCheck} needs. */
export interface CulpritCheckDeps {
  readonly store: MarkerStore;
  /** The envelope id of a record, or `undefined` (no envelope: never marked). */
  readonly envelopeIdOf: (record: SQSRecord) => string | undefined;
  readonly logger: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /**
   * The marker of a record whose status row the invocation has read already (the consumer's one
   * `BatchGetItem` of its redeliveries, `./run-state.ts`); `undefined` when that row was not read
   * (then the store is asked). @default none (the store is asked for each suspect)
   */
  readonly known?: (record: SQSRecord) => { readonly marker: IsolatedRunMarker | undefined } | undefined;
}

/** Marks lone runs and finds culprits; a store error never fails a record. */
export function createCulpritCheck(deps: CulpritCheckDeps) {
  const now = deps.now ?? (() => new Date());

  /** The suspects among `suspects` that are culprits, with their markers (one read each, unless known). */
  async function find(suspects: readonly SQSRecord[]): Promise<Map<SQSRecord, IsolatedRunMarker>> {
    const found = new Map<SQSRecord, IsolatedRunMarker>();
    await Promise.all(
      suspects.map(async (record) => {
        const id = deps.envelopeIdOf(record);
        if (id === undefined) return;
        try {
          const known = deps.known?.(record);
          const marker = known ? known.marker : await deps.store.read(id);
          if (isCulprit(marker, record)) found.set(record, marker!);
        } catch (error) {
          deps.logger.warn('could not read the lone-run marker; the suspect stays a suspect', {
            messageId: record.messageId,
            error,
          });
        }
      }),
    );
    return found;
  }

  /** Runs a suspect's lone run between a marker write and its removal. */
  async function runAlone(record: SQSRecord, run: () => Promise<void>): Promise<void> {
    const id = deps.envelopeIdOf(record);
    let marked = false;
    if (id !== undefined) {
      try {
        await deps.store.mark(id, {
          since: now().toISOString(),
          messageId: record.messageId,
          receiveCount: receiveCountOf(record),
        });
        marked = true;
      } catch (error) {
        deps.logger.warn('could not mark the lone run; it runs unmarked', {
          messageId: record.messageId,
          error,
        });
      }
    }
    try {
      await run();
    } finally {
      if (marked) {
        try {
          await deps.store.clear(id!);
        } catch (error) {
          // A marker left behind makes the next delivery a culprit; log it loudly.
          deps.logger.error('could not clear the lone-run marker', { messageId: record.messageId, error });
        }
      }
    }
  }

  return { find, runAlone };
}

/** The culprit check of a consumer (`./isolated-batch.ts`). */
export type CulpritCheck = ReturnType<typeof createCulpritCheck>;
