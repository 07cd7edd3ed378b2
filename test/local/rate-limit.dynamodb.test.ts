import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoQuota, quotaKey } from '../../lambda/shared/consumer/quota';
import { DynamoRateLimiter, rateLimitKey } from '../../lambda/shared/consumer/rate-limit';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// The lane rate limit's shared bucket (GCRA on a status-table row) on the embedded DynamoDB
// emulator (dynalite), through the real AWS SDK: consumers in separate sandboxes share only the row.
let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});

/** The most admissions within any window of `windowMs` (admission times sorted). */
function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('lane rate limit (shared token bucket)', () => {
  it('admits at most perSecond (plus the burst) across two consumers taking tokens together', async () => {
    // Prepare: two consumers of one lane, each with its own limiter (own sandbox), 10/s, burst 2.
    const limit = { perSecond: 10, burst: 2 };
    const lane = `rl-${Date.now()}`;
    const consumers = [0, 1].map(() => new DynamoRateLimiter(table.db, table.tableName, lane, limit));
    const admitted: number[] = [];
    let refused = 0;
    const until = Date.now() + 3000;

    // Act: each consumer runs 3 workers that take a token, and on a refusal wait as told.
    await Promise.all(
      consumers.flatMap((limiter) =>
        [0, 1, 2].map(async () => {
          while (Date.now() < until) {
            const now = new Date();
            const { admitted: ok, waitMs } = await limiter.take(now);
            if (ok) admitted.push(now.getTime());
            else {
              refused++;
              await new Promise((r) => setTimeout(r, Math.min(waitMs, until - Date.now() + 1)));
            }
          }
        }),
      ),
    );

    // Assess: GCRA's bound, any window of W ms holds at most burst + W * perSecond / 1000.
    const span = Math.max(...admitted) - Math.min(...admitted);
    expect(admitted.length).toBeLessThanOrEqual(limit.burst + Math.floor((span * limit.perSecond) / 1000));
    expect(mostInWindow(admitted, 1000)).toBeLessThanOrEqual(limit.perSecond + limit.burst);
    expect(mostInWindow(admitted, 100)).toBeLessThanOrEqual(limit.burst);
    // It was really contended, and tokens kept coming (at least a second's worth over the run;
    // the rate reached depends on the emulator's latency on a shared machine).
    expect(refused).toBeGreaterThan(0);
    expect(admitted.length).toBeGreaterThanOrEqual(limit.perSecond);
    const row = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: rateLimitKey(lane) }, ConsistentRead: true }),
    );
    expect(typeof row.Item?.tat).toBe('number');
  }, 30_000);

  it('tells a refused caller how long until the next token, and admits it then', async () => {
    // Prepare: 2/s, burst 1: one token every 500 ms.
    const lane = `rl-wait-${Date.now()}`;
    const limiter = new DynamoRateLimiter(table.db, table.tableName, lane, { perSecond: 2, burst: 1 });
    const t0 = new Date(Date.now());

    // Act / Assess
    expect(await limiter.take(t0)).toEqual({ admitted: true, waitMs: 0 });
    expect(await limiter.take(new Date(t0.getTime() + 100))).toEqual({ admitted: false, waitMs: 400 });
    expect(await limiter.take(new Date(t0.getTime() + 500))).toEqual({ admitted: true, waitMs: 0 });
    // Another sandbox (no guess of the row) is told the same.
    const other = new DynamoRateLimiter(table.db, table.tableName, lane, {
      perSecond: 2,
      burst: 1,
    });
    expect(await other.take(new Date(t0.getTime() + 600))).toEqual({ admitted: false, waitMs: 400 });
  });

  it('reserves a token due within the look-ahead, each one interval after the last', async () => {
    // Prepare: 2/s, burst 1, one token taken at t0 (the next is due at t0 + 500).
    const lane = `rl-reserve-${Date.now()}`;
    const limit = { perSecond: 2, burst: 1 };
    const limiter = new DynamoRateLimiter(table.db, table.tableName, lane, limit);
    const other = new DynamoRateLimiter(table.db, table.tableName, lane, limit);
    const t0 = new Date(Date.now());
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await limiter.take(t0)).toEqual({ admitted: true, waitMs: 0 });

    // Act / Assess: at t0 + 100 with 1 s ahead, the t0 + 500 token is reserved (wait 400 ms); the
    // other sandbox, at the same time, gets the one after it (t0 + 1000, wait 900 ms); a third
    // (t0 + 1500) is past the look-ahead: refused with its wait.
    expect(await limiter.take(at(100), 1000)).toEqual({ admitted: true, waitMs: 400 });
    expect(await other.take(at(100), 1000)).toEqual({ admitted: true, waitMs: 900 });
    expect(await limiter.take(at(100), 1000)).toEqual({ admitted: false, waitMs: 1400 });
  });

  it('two consumers reserving ahead together: their slots never exceed the limit', async () => {
    // Prepare: two sandboxes, 10/s, burst 1; each of their 4 workers reserves up to 1 s ahead,
    // waits for its slot, and asks again (a refusal waits as told).
    const limit = { perSecond: 10, burst: 1 };
    const lane = `rl-ahead-${Date.now()}`;
    const consumers = [0, 1].map(() => new DynamoRateLimiter(table.db, table.tableName, lane, limit));
    const slots: number[] = [];
    const until = Date.now() + 3000;

    // Act
    await Promise.all(
      consumers.flatMap((limiter) =>
        [0, 1, 2, 3].map(async () => {
          while (Date.now() < until) {
            const now = Date.now();
            const { admitted, waitMs } = await limiter.take(new Date(now), 1000);
            if (admitted) slots.push(now + waitMs);
            await new Promise((r) => setTimeout(r, Math.min(Math.ceil(waitMs), until - Date.now() + 1)));
          }
        }),
      ),
    );

    // Assess: any window of W ms holds at most ceil(W / 100) slots (burst 1).
    expect(mostInWindow(slots, 1000)).toBeLessThanOrEqual(10);
    expect(mostInWindow(slots, 100)).toBeLessThanOrEqual(1);
    expect(slots.length).toBeGreaterThanOrEqual(limit.perSecond);
  }, 30_000);

  it('a quota per window: the consumers together never pass its count in a window', async () => {
    // Prepare: 5 runs per 60 s window; three sandboxes, each with 4 records asking at once.
    const lane = `quota-${Date.now()}`;
    const quota = { count: 5, windowSeconds: 60 };
    const sandboxes = [0, 1, 2].map(() => new DynamoQuota(table.db, table.tableName, lane, quota));
    const t = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);

    // Act
    const answers = await Promise.all(sandboxes.flatMap((q) => [0, 1, 2, 3].map(() => q.take(t))));

    // Assess: exactly 5 admitted; the others wait 59 s, for the next window; the row says 5.
    expect(answers.filter((a) => a.admitted)).toHaveLength(5);
    expect(answers.filter((a) => !a.admitted).map((a) => a.waitMs)).toEqual(Array<number>(7).fill(59_000));
    const index = Math.floor(t.getTime() / 60_000);
    const row = await table.db.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: quotaKey(lane, index) },
        ConsistentRead: true,
      }),
    );
    expect(row.Item?.used).toBe(5);
    // The next window admits again, its run to start before that window ends.
    expect(await sandboxes[0]!.take(new Date((index + 1) * 60_000))).toEqual({
      admitted: true,
      waitMs: 0,
      startBy: (index + 2) * 60_000,
    });
  });
});
