import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRateLimiter } from '../../lambda/shared/consumer/rate-limit';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { countWaiting } from '../../ops/lib/waiting';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// `ops status --waiting` counts each lane's deferred and scheduled messages with a scan of the
// status table: here on the embedded DynamoDB emulator (dynalite), rows written by the status
// store itself, through the real AWS SDK.
let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

const subject = (lane: string, queue: 'standard' | 'fifo' = 'standard'): StatusSubject => ({
  id: randomUUID(),
  type: 'probe',
  queue,
  lane,
  messageId: randomUUID(),
  acceptedAt: new Date().toISOString(),
  correlationId: randomUUID(),
});

describe('waiting messages per lane (status table scan)', () => {
  it('counts the rows deferred and scheduled per lane, and nothing else', async () => {
    // Prepare: per lane, rows in every waiting and non-waiting state, and other kinds of rows.
    const store = new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 1 });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = async (lane: string) => store.accepted(subject(lane), { notBefore: later });
    const deferred = async (lane: string, queue: 'standard' | 'fifo' = 'standard') => {
      const s = subject(lane, queue);
      await store.accepted(s);
      await store.deferred(s, { notBefore: later, ran: false });
    };
    await Promise.all([
      scheduled('standard'),
      scheduled('standard'),
      deferred('standard'),
      deferred('fitness', 'fifo'),
      deferred('fitness', 'fifo'),
      deferred('fitness', 'fifo'),
      scheduled('fitness'),
      store.accepted(subject('standard')),
      store.accepted(subject('fitness')),
    ]);
    const done = subject('thumbnails');
    await store.accepted(done);
    await store.processing(done);
    await store.succeeded(done);
    // A lane's rate-limit bucket row lives on the same table.
    await new DynamoRateLimiter(table.db, table.tableName, 'fitness', { perSecond: 1, burst: 1 }).take(
      new Date(),
    );

    // Act
    const counts = await countWaiting(table.dynamo.client, table.tableName);

    // Assess
    expect(counts.lanes).toEqual({
      standard: { deferred: 1, scheduled: 2 },
      fitness: { deferred: 3, scheduled: 1 },
    });
    // Every row was read: the nine status rows, the succeeded one and the bucket.
    expect(counts.scannedRows).toBe(11);
  });
});
