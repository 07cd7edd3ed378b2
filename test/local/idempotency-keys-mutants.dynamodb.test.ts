import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deduplicationIdFor,
  DynamoIdempotencyKeys,
  requestHash,
  type StoredResponse,
} from '../../lambda/producer/idempotency-keys';
import { idempotencyKeyKey } from '../../lambda/shared/status/keys';
import { T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// What the mutation run (docs/MUTATION.md) showed no test told apart from a mutant of
// lambda/producer/idempotency-keys.ts: a key row that holds a response but is not completed, and
// the FIFO deduplication id of two tenants whose names and keys run together. Against the
// embedded DynamoDB emulator, as idempotency-keys.dynamodb.test.ts.

let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

const TENANT = 'tenant-a';
const nowS = Math.floor(T0.getTime() / 1000);
const keys = () =>
  new DynamoIdempotencyKeys(table.db, { tableName: table.tableName, windowSeconds: 3_600, now: () => T0 });
const hash = requestHash('single', { type: 'probe', payload: { mode: 'succeed' } });
const RESPONSE: StoredResponse = { statusCode: 202, body: '{"id":"x"}', headers: {} };

describe('Idempotency-Key claims on the emulator: only a completed key replays', () => {
  it('answers in progress, never the response, for a row in flight that still holds one', async () => {
    // Prepare: a key claimed again in flight (lock 20 s ahead) whose row still carries a response
    const key = `k-${randomUUID()}`;
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: idempotencyKeyKey(TENANT, key),
          tenant: TENANT,
          state: 'in-flight',
          requestHash: hash,
          lockUntil: nowS + 20,
          response: RESPONSE,
          expiration: nowS + 3_600,
        },
      }),
    );

    // Act
    const claim = await keys().claim(TENANT, key, hash);

    // Assess
    expect(claim).toEqual({ outcome: 'in-progress', retryAfterSeconds: 20 });
  });
});

describe('FIFO deduplication ids of keyed requests', () => {
  it('differ for two tenants whose name and key run together the same way', () => {
    // "ab" + "c" and "a" + "bc": the separator keeps them apart
    expect(deduplicationIdFor('ab', 'c')).not.toBe(deduplicationIdFor('a', 'bc'));
    expect(deduplicationIdFor('a', 'bc')).toMatch(/^[0-9a-f]{64}$/);
  });
});
