/**
 * The floor's requests (issue 20, item 4): what every message must cost, one message or one
 * received record at a time, through the functions' own SDK clients and status code. Shared by
 * the floor that `local-throughput.ts` makes in its own isolate and by the floor functions it runs
 * in local mode's sandboxes (`floor-functions.ts`), so that both make exactly the same requests.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { randomUUID } from 'node:crypto';
import { StatusRowPersistenceLayer } from '../lambda/shared/consumer/idempotency';
import { encodeMessage } from '../lambda/shared/message-codec';
import { DynamoStatusStore } from '../lambda/shared/status/dynamodb-store';
import type { StatusSubject } from '../lambda/shared/status/types';

const RETENTION_DAYS = 7;
const WINDOW_SECONDS = 3600;

/**
 * A floor message's consumer-side writes, through the consumer's own persistence layer
 * (`StatusRowPersistenceLayer`): `_putRecord` is the `processing` transition with the in-progress
 * record, `_updateRecord` the `succeeded` transition with the completed record, exactly the two
 * `UpdateItem`s a processed message costs the consumer, without Powertools' `makeIdempotent`
 * around them (hashing the key, reading the config), which is the pipeline's, not the floor's.
 */
class FloorRunWrites extends StatusRowPersistenceLayer {
  processing(record: IdempotencyRecord): Promise<void> {
    return this._putRecord(record);
  }
  succeeded(record: IdempotencyRecord): Promise<void> {
    return this._updateRecord(record);
  }
}

/** The clients and status table one floor isolate writes through. */
interface FloorClients {
  readonly sqs: SQSClient;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly store: DynamoStatusStore;
}

function floorClients(sqs: SQSClient, db: DynamoDBDocumentClient, table: string): FloorClients {
  return {
    sqs,
    db,
    table,
    store: new DynamoStatusStore(db, { tableName: table, retentionDays: RETENTION_DAYS }),
  };
}

/**
 * The producer's side of one message: its `SendMessage` (the body and attributes `encodeMessage`
 * makes, as the producer sends them) and its `accepted` write (`DynamoStatusStore.accepted`).
 */
async function sendAndAccept(c: FloorClients, queueUrl: string, tag: string): Promise<void> {
  const msg = encodeMessage(
    { type: 'probe', payload: { mode: 'succeed', tag } },
    { correlationId: randomUUID(), now: new Date(), tenant: 'tenant-a' },
  );
  const out = await c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...msg.params }));
  await c.store.accepted({
    id: msg.envelope.id,
    type: msg.envelope.type,
    queue: 'standard',
    lane: 'standard',
    messageId: out.MessageId!,
    acceptedAt: msg.envelope.createdAt,
    correlationId: msg.envelope.correlationId,
    tenant: 'tenant-a',
  });
}

/** A received record: what the consumer's side needs of an SQS message. */
export interface FloorRecord {
  readonly MessageId?: string;
  readonly Body?: string;
}

/** The consumer's side of one received record: its `processing` and `succeeded` writes ({@link FloorRunWrites}). */
async function processRecord(c: FloorClients, m: FloorRecord): Promise<void> {
  // The consumer's subject (`consumer/status-subject.ts`), without its zod parse.
  const envelope = JSON.parse(m.Body!) as {
    id: string;
    type: string;
    createdAt: string;
    correlationId: string;
    tenant: string;
  };
  const subject: StatusSubject = {
    id: envelope.id,
    type: envelope.type,
    queue: 'standard',
    lane: 'standard',
    messageId: m.MessageId!,
    acceptedAt: envelope.createdAt,
    correlationId: envelope.correlationId,
    tenant: envelope.tenant,
  };
  const writes = new FloorRunWrites(subject, {
    db: c.db,
    tableName: c.table,
    windowSeconds: WINDOW_SECONDS,
    retentionDays: RETENTION_DAYS,
    store: c.store,
  });
  const nowSeconds = Math.floor(Date.now() / 1000);
  await writes.processing(
    new IdempotencyRecord({
      idempotencyKey: `floor#${envelope.id}`,
      status: IdempotencyRecordStatus.INPROGRESS,
      expiryTimestamp: nowSeconds + WINDOW_SECONDS,
      inProgressExpiryTimestamp: Date.now() + 30_000,
    }),
  );
  await writes.succeeded(
    new IdempotencyRecord({
      idempotencyKey: `floor#${envelope.id}`,
      status: IdempotencyRecordStatus.COMPLETED,
      expiryTimestamp: nowSeconds + WINDOW_SECONDS,
      responseData: { token: 'floor' },
    }),
  );
}

/**
 * Who makes a floor run's per-message requests: the bench's own isolate (the floor proper) or
 * bare functions in local mode's sandboxes (`floor-functions.ts`).
 */
export interface FloorMaker {
  /** The producer's side of one message. */
  produce(queueUrl: string, table: string, tag: string): Promise<void>;
  /** The consumer's side of one received batch. */
  consume(table: string, records: readonly FloorRecord[]): Promise<void>;
}

/** The floor's requests through these clients, to any status table. */
export function floorMaker(sqs: SQSClient, db: DynamoDBDocumentClient): FloorMaker {
  const byTable = new Map<string, FloorClients>();
  const clients = (table: string) => {
    let c = byTable.get(table);
    if (!c) byTable.set(table, (c = floorClients(sqs, db, table)));
    return c;
  };
  return {
    produce: (queueUrl, table, tag) => sendAndAccept(clients(table), queueUrl, tag),
    consume: async (table, records) => {
      const c = clients(table);
      await Promise.all(records.map((m) => processRecord(c, m)));
    },
  };
}
