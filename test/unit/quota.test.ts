import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { spec } from '../../lambda/consumer/config';
import { DynamoQuota, quotaKey, rateThenQuota } from '../../lambda/shared/consumer/quota';
import { rateLimitOf, type RateLimiter } from '../../lambda/shared/consumer/rate-limit';

// A lane's quota per window (issue 22): fixed windows aligned to the epoch, one counter row per
// window, composed after the lane's rate. (On DynamoDB itself: test/local/rate-limit.dynamodb.test.ts.)

/** Counter rows in memory with DynamoDB's semantics for the quota's conditional `ADD`. */
function memoryCounters() {
  const used = new Map<string, number>();
  let requests = 0;
  const db = {
    async send(command: unknown) {
      requests++;
      if (!(command instanceof UpdateCommand)) throw new Error('unexpected command');
      const key = command.input.Key!.pk as string;
      const v = command.input.ExpressionAttributeValues as Record<string, number>;
      const n = used.get(key);
      if (n !== undefined && !(n < v[':count']!))
        throw new ConditionalCheckFailedException({ message: 'condition', $metadata: {} });
      used.set(key, (n ?? 0) + v[':one']!);
      return {};
    },
  };
  return { db: db as unknown as DynamoDBDocumentClient, used, requests: () => requests };
}

describe('lane quota per window', () => {
  it('admits count runs per window across sandboxes, then refuses until the next window starts', async () => {
    // Prepare: 3 runs per 10 s window; two sandboxes share the rows.
    const rows = memoryCounters();
    const quota = { count: 3, windowSeconds: 10 };
    const [a, b] = [0, 1].map(() => new DynamoQuota(rows.db, 'status', 'fitness', quota));
    const at = (ms: number) => new Date(1_000_000_000 + ms); // a window starts at 1_000_000_000

    // Act
    const first = await Promise.all([a!.take(at(0)), b!.take(at(100)), a!.take(at(200)), b!.take(at(300))]);
    const again = await a!.take(at(9_000));
    const requestsBefore = rows.requests();
    const knownFull = await a!.take(at(9_500));
    const requestsAfter = rows.requests();
    const next = await b!.take(at(10_000));

    // Assess: three admitted, the fourth told to wait for the window's end (9.7 s); a sandbox
    // that saw the window full refuses without a request; the next window admits again.
    expect(first.map((x) => x.admitted)).toEqual([true, true, true, false]);
    expect(first[3]).toEqual({ admitted: false, waitMs: 9_700 });
    expect(again).toEqual({ admitted: false, waitMs: 1_000 });
    expect(knownFull).toEqual({ admitted: false, waitMs: 500 });
    expect(requestsAfter).toBe(requestsBefore);
    // An admission says by when its run must start: the end of the window that counted it.
    expect(next).toEqual({ admitted: true, waitMs: 0, startBy: 1_000_020_000 });
    expect((await a!.take(at(0))).startBy).toBeUndefined();
    expect([...rows.used]).toEqual([
      [quotaKey('fitness', 100_000), 3],
      [quotaKey('fitness', 100_001), 1],
    ]);
  });

  it('counts a run against the window of its slot, after the rate admitted it', async () => {
    // Prepare: the rate reserves a slot 400 ms ahead; the quota is spent in the slot's window.
    const asked: number[] = [];
    const rate: RateLimiter = { take: async () => ({ admitted: true, waitMs: 400 }) };
    const spent: RateLimiter = {
      take: async (now) => {
        asked.push(now.getTime());
        return { admitted: false, waitMs: 2_000 };
      },
    };
    const refusedRate: RateLimiter = { take: async () => ({ admitted: false, waitMs: 1_500 }) };
    const open: RateLimiter = {
      take: async (now) => {
        asked.push(now.getTime());
        return { admitted: true, waitMs: 0, startBy: 10_000 };
      },
    };

    // Act / Assess: quota refuses at the slot: wait until its window ends, counted from now.
    expect(await rateThenQuota(rate, spent).take(new Date(5_000), 1_000)).toEqual({
      admitted: false,
      waitMs: 2_400,
    });
    // Admitted at the rate's slot, to start before the quota's window ends.
    expect(await rateThenQuota(rate, open).take(new Date(5_000), 1_000)).toEqual({
      admitted: true,
      waitMs: 400,
      startBy: 10_000,
    });
    // The rate refused: the quota is not asked (nothing counted).
    expect(await rateThenQuota(refusedRate, open).take(new Date(5_000), 1_000)).toEqual({
      admitted: false,
      waitMs: 1_500,
    });
    expect(asked).toEqual([5_400, 5_400]);
    // A limiter with no window (a rate alone) sets no start-by.
    expect(await rateThenQuota(rate, rate).take(new Date(5_000), 1_000)).toEqual({
      admitted: true,
      waitMs: 400,
    });
  });

  it("travels in the consumer's RATE_LIMIT and is checked there", () => {
    const limit = { perSecond: 2, burst: 1, quota: { count: 1000, windowSeconds: 86_400 } };

    expect(spec.rateLimit.parse(spec.rateLimit.format(limit, {}))).toEqual(limit);
    expect(rateLimitOf({ perSecond: 2, burst: 1 })).toEqual({ perSecond: 2, burst: 1 });
    for (const quota of [{ count: 0, windowSeconds: 10 }, { count: 5, windowSeconds: 1.5 }, null, 'x'])
      expect(() => rateLimitOf({ perSecond: 2, burst: 1, quota }), JSON.stringify(quota)).toThrow(/quota/);
  });
});
