import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoIdempotencyKeys,
  requestHash,
  type StoredResponse,
} from '../../lambda/producer/idempotency-keys';
import { T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// `Idempotency-Key` claims by the real DynamoIdempotencyKeys, through the real AWS SDK, against
// the embedded DynamoDB emulator local mode runs: the claim's condition and the reading of a
// conflict are evaluated on stored rows.

let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

const WINDOW_SECONDS = 3_600;
const LOCK_SECONDS = 30;
/** The tenant whose keys these are (keys are per tenant). */
const TENANT = 'tenant-a';

/** The producer's key records on the emulator, with a clock the test moves (`advance`, seconds). */
function keysWithClock() {
  let now = T0.getTime();
  const keys = new DynamoIdempotencyKeys(table.db, {
    tableName: table.tableName,
    windowSeconds: WINDOW_SECONDS,
    lockSeconds: LOCK_SECONDS,
    now: () => new Date(now),
  });
  return { keys, advance: (seconds: number) => (now += seconds * 1000) };
}

const first = requestHash('single', { type: 'probe', payload: { mode: 'succeed', n: 1 } });
const other = requestHash('single', { type: 'probe', payload: { mode: 'succeed', n: 2 } });
const RESPONSE: StoredResponse = {
  statusCode: 202,
  body: '{"id":"00000000-0000-4000-8000-000000000001","messageId":"m-1","queue":"standard"}',
  headers: { location: 'http://127.0.0.1:3000/v1/messages/00000000-0000-4000-8000-000000000001' },
};

describe('Idempotency-Key claims on the emulator', () => {
  it('answers a repeat of the same request after completion with the stored response', async () => {
    // Prepare
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'claimed' });
    await keys.complete(TENANT, key, RESPONSE);

    // Act
    advance(5);
    const repeat = await keys.claim(TENANT, key, first);

    // Assess
    expect(repeat).toEqual({ outcome: 'replay', response: RESPONSE });
  });

  it('answers reused, never the stored response, for a different request under a completed key', async () => {
    // Prepare: completed, with its response stored
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);
    await keys.complete(TENANT, key, RESPONSE);

    // Act
    advance(5);
    const reuse = await keys.claim(TENANT, key, other);
    const repeat = await keys.claim(TENANT, key, first);

    // Assess: the reuse did not disturb the record either
    expect(reuse).toEqual({ outcome: 'reused' });
    expect(repeat).toEqual({ outcome: 'replay', response: RESPONSE });
  });

  it('answers in-progress with the seconds left of the lock while the first request is in flight', async () => {
    // Prepare
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);

    // Act
    advance(12);
    const repeat = await keys.claim(TENANT, key, first);
    const reuse = await keys.claim(TENANT, key, other);

    // Assess
    expect(repeat).toEqual({ outcome: 'in-progress', retryAfterSeconds: LOCK_SECONDS - 12 });
    expect(reuse).toEqual({ outcome: 'reused' });
  });

  it('answers at least one second of retry-after when the lock runs out this second', async () => {
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);

    advance(LOCK_SECONDS);

    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'in-progress', retryAfterSeconds: 1 });
  });

  it('lets a repeat claim the key once the lock of a request that never completed ran out', async () => {
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);

    advance(LOCK_SECONDS + 1);

    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'claimed' });
  });

  it('lets a repeat claim a released key (the first request got a 503) at once', async () => {
    const { keys } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);

    await keys.release(TENANT, key);

    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'claimed' });
  });

  it('never releases a completed key', async () => {
    const { keys } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);
    await keys.complete(TENANT, key, RESPONSE);

    await expect(keys.release(TENANT, key)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });

    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'replay', response: RESPONSE });
  });

  it('lets a new request claim a completed key after the window, before TTL deleted the row', async () => {
    const { keys, advance } = keysWithClock();
    const key = `k-${randomUUID()}`;
    await keys.claim(TENANT, key, first);
    await keys.complete(TENANT, key, RESPONSE);

    advance(WINDOW_SECONDS - 1);
    const within = await keys.claim(TENANT, key, other);
    advance(2);
    const after = await keys.claim(TENANT, key, other);

    expect(within).toEqual({ outcome: 'reused' });
    expect(after).toEqual({ outcome: 'claimed' });
  });
});

describe('Idempotency-Key records of two tenants (against the emulator)', () => {
  it("keeps one tenant's key apart from another's: neither replays, probes nor blocks the other", async () => {
    const { keys } = keysWithClock();
    const key = `shared-${Date.now()}`;

    await keys.claim(TENANT, key, first);
    await keys.complete(TENANT, key, RESPONSE);

    // Another tenant with the same key and body claims its own record (no replay of A's answer),
    // with another body (no 'reused': B cannot tell that A used the key).
    expect(await keys.claim('tenant-b', key, first)).toEqual({ outcome: 'claimed' });
    expect(await keys.claim('tenant-c', key, other)).toEqual({ outcome: 'claimed' });
    expect(await keys.claim(TENANT, key, first)).toEqual({ outcome: 'replay', response: RESPONSE });
  });
});
