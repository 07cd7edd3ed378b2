import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStatusStore, statusTransition } from '../../lambda/shared/status/dynamodb-store';
import { statusKey } from '../../lambda/shared/status/keys';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// Status transitions executed by the real DynamoStatusStore, through the real AWS SDK, against the
// embedded DynamoDB emulator local mode runs (dynalite), on the table the StatusTable construct
// synthesizes: the conditions are evaluated by DynamoDB, not compared as strings.

let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

/** A store whose clock the test moves (`tick`), so a write that went through shows in `updatedAt`. */
function storeWithClock() {
  let now = T0.getTime();
  const store = new DynamoStatusStore(table.db, {
    tableName: table.tableName,
    retentionDays: 7,
    now: () => new Date(now),
  });
  return { store, tick: () => (now += 60_000) };
}

const subject = (messageId = 'sqs-1'): StatusSubject => ({
  id: randomUUID(),
  type: 'probe',
  queue: 'standard',
  messageId,
  acceptedAt: T0.toISOString(),
});

/** The whole stored row (every attribute, not only the GET body's). */
async function rowOf(id: string): Promise<Record<string, unknown> | undefined> {
  const out = await table.db.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: statusKey(id) }, ConsistentRead: true }),
  );
  return out.Item;
}

describe('status transitions on the emulator: succeeded is final', () => {
  it('keeps a succeeded row as it is through every later transition a consumer or the sweeper writes', async () => {
    // Prepare: one run that succeeded
    const { store, tick } = storeWithClock();
    const s = subject();
    await store.processing(s);
    tick();
    await store.succeeded(s);
    const succeeded = await rowOf(s.id);

    // Act: a late run of a duplicate delivery, its failure, its give-up, and the sweeper
    tick();
    await store.processing(s);
    tick();
    await store.retrying(s, new Error('late failure'));
    tick();
    await store.failed(s, { kind: 'exhausted', archiveKey: 'failed/standard/x.json' }, new Error('given up'));
    tick();
    await store.failed(s, { kind: 'unknown', archiveKey: 'failed/standard/y.json' }, new Error('swept'), {
      unlessFinal: true,
    });

    // Assess: nothing changed, not even updatedAt or the run count
    expect(succeeded).toMatchObject({ status: 'succeeded', attempts: 1, failure: null, lastError: null });
    expect(await rowOf(s.id)).toEqual(succeeded);
    expect(await store.get(s.id)).toMatchObject({ status: 'succeeded', attempts: 1, failure: null });
  });

  it.each([
    ['processing', 'processing', { attempt: true, clearError: true }],
    ['retrying', 'retrying', { error: new Error('late') }],
    [
      'failed (consumer)',
      'failed',
      { error: new Error('late'), failure: { kind: 'exhausted', archiveKey: 'k' } },
    ],
    [
      'failed (sweeper)',
      'failed',
      { error: new Error('late'), failure: { kind: 'unknown', archiveKey: 'k' }, unlessFinal: true },
    ],
  ] as const)('refuses a %s write after succeeded by its condition', async (_name, state, options) => {
    // Prepare
    const { store } = storeWithClock();
    const s = subject();
    await store.succeeded(s);
    const t = statusTransition(s, state, options, T0, 7);

    // Act: the transition's own UpdateItem, as the store sends it
    const write = table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: statusKey(s.id) },
        UpdateExpression: `SET ${t.set.join(', ')}`,
        ...(t.condition ? { ConditionExpression: t.condition } : {}),
        ExpressionAttributeNames: t.names,
        ExpressionAttributeValues: t.values,
      }),
    );

    // Assess
    await expect(write).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect((await rowOf(s.id))?.status).toBe('succeeded');
  });

  it('lets the transitions before succeeded through: processing, retrying, processing, succeeded', async () => {
    // Prepare
    const { store, tick } = storeWithClock();
    const s = subject();
    const states: unknown[] = [];

    // Act
    await store.accepted(s);
    states.push((await rowOf(s.id))?.status);
    tick();
    await store.processing(s);
    states.push((await rowOf(s.id))?.status);
    tick();
    await store.retrying(s, new TypeError('first run failed'));
    const retrying = await store.get(s.id);
    tick();
    await store.processing(s);
    states.push((await rowOf(s.id))?.status);
    tick();
    await store.succeeded(s);

    // Assess
    expect(states).toEqual(['accepted', 'processing', 'processing']);
    expect(retrying).toMatchObject({
      status: 'retrying',
      attempts: 1,
      lastError: { name: 'TypeError', message: 'first run failed' },
    });
    expect(await store.get(s.id)).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      lastError: { name: 'TypeError', message: 'first run failed' },
      failure: null,
      updatedAt: new Date(T0.getTime() + 4 * 60_000).toISOString(),
    });
    expect((await rowOf(s.id))?.runLog).toEqual(['sqs-1', 'sqs-1']);
  });

  it('records a duplicate delivery that catches up with succeeded: its SQS message id, nothing else', async () => {
    // Prepare
    const { store, tick } = storeWithClock();
    const s = subject('sqs-1');
    await store.processing(s);
    await store.succeeded(s);

    // Act
    tick();
    await store.succeeded({ ...s, messageId: 'sqs-2' });

    // Assess
    expect(await store.get(s.id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      messageIds: ['sqs-1', 'sqs-2'],
    });
  });

  it('keeps the state a consumer wrote when the producer’s accepted arrives late', async () => {
    const { store, tick } = storeWithClock();
    const s = subject();
    await store.processing(s);
    const before = await rowOf(s.id);

    tick();
    await store.accepted(s);

    expect(await rowOf(s.id)).toMatchObject({ status: 'processing', updatedAt: before?.updatedAt });
  });
});

describe('status transitions on the emulator: the sweeper', () => {
  it('marks a row that is not final failed (unknown) with its archive key', async () => {
    const { store } = storeWithClock();
    const s = subject();
    await store.processing(s);
    await store.retrying(s, new Error('run failed'));

    await store.failed(
      s,
      { kind: 'unknown', archiveKey: 'failed/standard/z.json' },
      new Error('in the DLQ'),
      {
        unlessFinal: true,
      },
    );

    expect(await store.get(s.id)).toMatchObject({
      status: 'failed',
      failure: { kind: 'unknown', archiveKey: 'failed/standard/z.json' },
      lastError: { name: 'Error', message: 'in the DLQ' },
    });
  });

  it("leaves a failed row's kind and archive key as the consumer wrote them", async () => {
    // Prepare: the consumer gave the message up (exhausted)
    const { store, tick } = storeWithClock();
    const s = subject();
    await store.processing(s);
    await store.failed(s, { kind: 'exhausted', archiveKey: 'failed/standard/e.json' }, new Error('last run'));
    const failed = await rowOf(s.id);

    // Act: the sweeper finds its DLQ copy
    tick();
    await store.failed(s, { kind: 'unknown', archiveKey: 'failed/standard/u.json' }, new Error('swept'), {
      unlessFinal: true,
    });

    // Assess
    expect(await rowOf(s.id)).toEqual(failed);
    expect(failed).toMatchObject({ failure: { kind: 'exhausted', archiveKey: 'failed/standard/e.json' } });
  });

  it('creates the row of a message it never saw before (no producer, no consumer wrote one)', async () => {
    const { store } = storeWithClock();
    const s = subject();

    await store.failed(s, { kind: 'unknown', archiveKey: null }, new Error('swept'), { unlessFinal: true });

    expect(await store.get(s.id)).toMatchObject({
      id: s.id,
      status: 'failed',
      attempts: 0,
      failure: { kind: 'unknown', archiveKey: null },
      messageIds: ['sqs-1'],
    });
  });
});
