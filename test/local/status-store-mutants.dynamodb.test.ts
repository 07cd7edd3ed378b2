import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import { DEFER_LOG_ATTRIBUTE, statusKey, WAIT_LOG_ATTRIBUTE } from '../../lambda/shared/status/keys';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// The status store's reads and writes that the mutation run (docs/MUTATION.md) showed no test
// told apart from a mutant: what `get` answers for a row (its lane, its owner, a row that is not
// there) and what `accepted` leaves unset. Against the embedded DynamoDB emulator, as
// status-store.dynamodb.test.ts.

let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

const store = () =>
  new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 7, now: () => T0 });

const subject = (extra: Partial<StatusSubject> = {}): StatusSubject => ({
  id: randomUUID(),
  type: 'probe',
  queue: 'standard',
  messageId: 'sqs-1',
  acceptedAt: T0.toISOString(),
  ...extra,
});

async function rowOf(id: string): Promise<Record<string, unknown> | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: statusKey(id) }, ConsistentRead: true }),
  );
  return out.Item;
}

describe('status store on the emulator: what get answers', () => {
  it('answers the lane the message was written with when it is not its queue’s default lane', async () => {
    const s = subject({ lane: 'bulk' });

    await store().processing(s);

    expect(await store().get(s.id)).toMatchObject({ queue: 'standard', lane: 'bulk' });
  });

  it('answers the queue’s default lane for a row written before lanes existed (no lane attribute)', async () => {
    // Prepare: a row as a release before lanes wrote it
    const id = randomUUID();
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: statusKey(id),
          id,
          type: 'probe',
          queue: 'fifo',
          status: 'succeeded',
          attempts: 1,
          acceptedAt: T0.toISOString(),
          updatedAt: T0.toISOString(),
          messageIds: ['sqs-1'],
        },
      }),
    );

    // Act
    const got = await store().get(id);

    // Assess
    expect(got).toMatchObject({
      queue: 'fifo',
      lane: 'fifo',
      status: 'succeeded',
      owner: undefined,
      deferrals: 0,
      notBefore: null,
    });
  });

  it('answers a deferred run’s count of deferrals and its notBefore, and no notBefore once it runs again', async () => {
    // Prepare: a run that deferred itself (its attempt given back), then its next run
    const s = subject();
    const notBefore = new Date(T0.getTime() + 3_600_000).toISOString();
    await store().processing(s);

    // Act
    await store().deferred(s, { notBefore, ran: true });
    const deferred = await store().get(s.id);
    await store().processing(s);

    // Assess
    expect(deferred).toMatchObject({ status: 'deferred', attempts: 0, deferrals: 1, notBefore });
    expect(await store().get(s.id)).toMatchObject({
      status: 'processing',
      attempts: 1,
      deferrals: 1,
      notBefore: null,
    });
  });

  it('answers no notBefore for a row accepted without one (the attribute is absent)', async () => {
    const s = subject();

    await store().accepted(s);

    expect(await rowOf(s.id)).not.toHaveProperty('notBefore');
    expect(await store().get(s.id)).toMatchObject({ status: 'accepted', notBefore: null, deferrals: 0 });
  });

  it('answers undefined for a message it has no row of', async () => {
    await expect(store().get(randomUUID())).resolves.toBeUndefined();
  });

  it('answers the owner the producer’s accepted stored, and none for a row without one', async () => {
    const [owned, unowned] = [subject({ tenant: 'team-billing' }), subject()];

    await store().accepted(owned);
    await store().accepted(unowned);

    expect((await store().get(owned.id))?.owner).toBe('team-billing');
    expect(await rowOf(unowned.id)).not.toHaveProperty('owner');
    expect((await store().get(unowned.id))?.owner).toBeUndefined();
  });

  it('reads a row whose owner is not a string (not written by accepted) as unowned', async () => {
    const s = subject();
    await store().processing(s);
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: statusKey(s.id) },
        UpdateExpression: 'SET #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': 42 },
      }),
    );

    expect((await store().get(s.id))?.owner).toBeUndefined();
  });
});

describe('status store on the emulator: appending a delivery’s id', () => {
  it('takes a row that lists no ids as not listing this one (and throws what DynamoDB answers)', async () => {
    // No row exists: the append has no list to append to, DynamoDB refuses it (not a condition).
    const s = subject();

    const append = store().appendIdIfNew(s, {});

    await expect(append).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('sends nothing for a row that already lists the id, nor for a write that returned no row', async () => {
    const s = subject();
    await store().processing(s);
    const before = await rowOf(s.id);

    await store().appendIdIfNew(s, { messageIds: ['sqs-1'] });
    await store().appendIdIfNew({ ...s, messageId: 'sqs-2' }, undefined);

    expect(await rowOf(s.id)).toEqual(before);
  });
});

describe('status store on the emulator: a parent row lists its follow-up jobs (childEnqueued)', () => {
  it('appends each child once, in order, to a row that had none; a repeat leaves the list as it is', async () => {
    // Prepare
    const parent = subject();
    await store().processing(parent);
    const [a, b] = [randomUUID(), randomUUID()];

    // Act: a retried parent records its first child again
    await store().childEnqueued(parent.id, a);
    await store().childEnqueued(parent.id, b);
    await store().childEnqueued(parent.id, a);

    // Assess
    expect((await rowOf(parent.id))?.children).toEqual([a, b]);
    expect((await store().get(parent.id))?.children).toEqual([a, b]);
  });

  it('writes only the parent’s own row', async () => {
    // Prepare
    const [parent, other] = [subject(), subject()];
    await store().processing(parent);
    await store().processing(other);

    // Act
    const child = randomUUID();
    await store().childEnqueued(parent.id, child);

    // Assess
    expect((await rowOf(parent.id))?.children).toEqual([child]);
    expect((await rowOf(other.id))?.children).toBeUndefined();
  });

  it('throws what DynamoDB throws other than the repeat’s refused condition', async () => {
    // A table that is not there: the write fails, and the caller must hear of it.
    const missing = new DynamoStatusStore(table.db, {
      tableName: 'no-such-table',
      retentionDays: 7,
      now: () => T0,
    });

    await expect(missing.childEnqueued(randomUUID(), randomUUID())).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

// The whole-store mutation re-run of 2026-12-05 (docs/MUTATION.md, run O) left these unseen: the
// subject's correlation id and parent, a scheduled message's notBefore, a result kept in S3, and
// the first entry of a row's deferral and wait logs.
describe('status store on the emulator: what the transitions keep (run O)', () => {
  it('keeps the correlation id and the parent a message was accepted with; a row without them answers null', async () => {
    // Arrange
    const child = subject({ correlationId: 'corr-7', parentId: 'parent-1' });
    const plain = subject();

    // Act
    await store().accepted(child);
    await store().accepted(plain);

    // Assert
    expect(await store().get(child.id)).toMatchObject({ correlationId: 'corr-7', parentId: 'parent-1' });
    expect(await store().get(plain.id)).toMatchObject({ correlationId: null, parentId: null, children: [] });
  });

  it('keeps a scheduled message’s notBefore from its acceptance', async () => {
    // Arrange
    const s = subject();
    const notBefore = new Date(T0.getTime() + 3_600_000).toISOString();

    // Act
    await store().accepted(s, { notBefore });

    // Assert
    expect(await store().get(s.id)).toMatchObject({ status: 'scheduled', notBefore });
  });

  it('keeps the reference of a result kept in the result bucket, and no inline result', async () => {
    // Arrange
    const s = subject();
    const ref = { key: `results/${s.id}.json`, bytes: 20_000 };

    // Act
    await store().processing(s);
    await store().succeeded(s, { ref });

    // Assert
    expect(await store().get(s.id)).toMatchObject({ status: 'succeeded', resultRef: ref, result: null });
  });

  it('starts a row’s deferral log and wait log with the delivery’s id alone', async () => {
    // Arrange
    const ran = subject({ messageId: 'sqs-ran' });
    const waited = subject({ messageId: 'sqs-waited' });
    const notBefore = new Date(T0.getTime() + 60_000).toISOString();

    // Act: a run that deferred (RetryLaterError), and a delivery hidden again unrun
    await store().processing(ran);
    await store().deferred(ran, { notBefore, ran: true });
    await store().deferred(waited, { notBefore, ran: false });

    // Assert
    expect((await rowOf(ran.id))?.[DEFER_LOG_ATTRIBUTE]).toEqual(['sqs-ran']);
    expect((await rowOf(waited.id))?.[WAIT_LOG_ATTRIBUTE]).toEqual(['sqs-waited']);
    expect(await store().get(waited.id)).toMatchObject({
      status: 'deferred',
      notBefore,
      deferrals: 0,
      attempts: 0,
    });
  });
});
