import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoRateLimiter, gcraAdmit } from '../../lambda/shared/consumer/rate-limit';

// The lane rate limit's arithmetic (GCRA with reservations) under any arrivals, and the shared
// bucket's conditional writes under concurrency: however many sandboxes take or reserve tokens,
// the runs' slots never exceed the limit in any window. (On DynamoDB itself:
// test/local/rate-limit.dynamodb.test.ts.)

/**
 * The most of `times` within any window of `windowMs` (a window [a, a + W)). Slots are sums of
 * `1000 / perSecond` in floating point: two a whole window apart may differ by W less a rounding
 * error (nanoseconds), which does not make them one window.
 */
function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs - 1e-6) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** GCRA's bound: runs within any window of `windowMs`, with interval T and tolerance (burst - 1) T. */
const bound = (windowMs: number, interval: number, burst: number) =>
  Math.ceil((windowMs + (burst - 1) * interval) / interval - 1e-9);

const limitArb = fc.record({
  perSecond: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.5, max: 60, noNaN: true })),
  burst: fc.integer({ min: 1, max: 5 }),
});

describe('rate limit arithmetic (properties)', () => {
  it('admits slots that never exceed the limit in any window, whatever the arrivals and look-aheads', () => {
    fc.assert(
      fc.property(
        limitArb,
        // Arrivals: gaps (ms) and each one's look-ahead; clocks may also step back a little (skew).
        fc.array(
          fc.record({
            gap: fc.integer({ min: -50, max: 400 }),
            lookahead: fc.constantFrom(0, 0, 100, 1000, 2500),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.constantFrom(100, 1000, 2500),
        (limit, arrivals, windowMs) => {
          const interval = 1000 / limit.perSecond;
          const tolerance = (limit.burst - 1) * interval;
          let tat: number | undefined;
          let t = 1_000_000;
          const slots: number[] = [];
          for (const a of arrivals) {
            t += a.gap;
            const answer = gcraAdmit(tat, t, interval, tolerance, a.lookahead);
            if (answer.admitted) {
              // A reservation never waits past its look-ahead, and tat moves one interval.
              expect(answer.waitMs).toBeGreaterThanOrEqual(0);
              expect(answer.waitMs).toBeLessThanOrEqual(a.lookahead);
              expect(answer.tat).toBeGreaterThan(tat ?? -Infinity);
              tat = answer.tat;
              slots.push(t + answer.waitMs);
            } else {
              // Refused: the wait is past the look-ahead, and a token is there once it is over.
              expect(answer.waitMs).toBeGreaterThan(a.lookahead);
              expect(gcraAdmit(tat, t + answer.waitMs, interval, tolerance).admitted).toBe(true);
            }
          }
          expect(mostInWindow(slots, windowMs)).toBeLessThanOrEqual(bound(windowMs, interval, limit.burst));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('uses the whole rate when asked often enough: a look-ahead of one interval loses no token', () => {
    fc.assert(
      fc.property(limitArb, fc.integer({ min: 20, max: 200 }), (limit, n) => {
        // Prepare: a caller asks again as soon as its previous token's slot has come.
        const interval = 1000 / limit.perSecond;
        const tolerance = (limit.burst - 1) * interval;
        let tat: number | undefined;
        let t = 0;
        const slots: number[] = [];

        // Act
        for (let i = 0; i < n; i++) {
          const answer = gcraAdmit(tat, t, interval, tolerance, interval + 1e-6); // float sums
          expect(answer.admitted).toBe(true);
          if (!answer.admitted) return;
          tat = answer.tat;
          t += answer.waitMs;
          slots.push(t);
        }

        // Assess: after the burst, exactly one slot per interval.
        const steady = slots.slice(limit.burst);
        for (let i = 1; i < steady.length; i++) expect(steady[i]! - steady[i - 1]!).toBeCloseTo(interval, 6);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * The bucket row in memory with DynamoDB's semantics for the limiter's requests: each
 * conditional `UpdateItem` checks and writes atomically (or throws
 * `ConditionalCheckFailedException`), answers `UPDATED_NEW`; a consistent `GetItem` reads it.
 * Each request first yields a seeded number of ticks, so concurrent takers interleave.
 */
function memoryBucket(ticks: () => number) {
  let tat: number | undefined;
  let requests = 0;
  const yieldTicks = async () => {
    for (let i = ticks(); i > 0; i--) await Promise.resolve();
  };
  const db = {
    async send(command: unknown) {
      requests++;
      await yieldTicks();
      if (command instanceof GetCommand) return { Item: tat === undefined ? undefined : { tat } };
      if (!(command instanceof UpdateCommand)) throw new Error('unexpected command');
      const v = command.input.ExpressionAttributeValues as Record<string, number>;
      const condition = command.input.ConditionExpression!;
      const holds = condition.startsWith('attribute_not_exists(tat)')
        ? tat === undefined || tat <= v[':t']!
        : tat !== undefined && tat > v[':t']! && tat <= v[':max']!;
      if (!holds) throw new ConditionalCheckFailedException({ message: 'condition', $metadata: {} });
      tat = ':next' in v ? v[':next']! : tat! + v[':interval']!;
      return { Attributes: { tat } };
    },
  };
  return { db: db as unknown as DynamoDBDocumentClient, requests: () => requests };
}

describe('shared bucket under concurrency (properties)', () => {
  it('several sandboxes taking and reserving together never exceed the limit in any window', async () => {
    await fc.assert(
      fc.asyncProperty(
        limitArb,
        fc.integer({ min: 2, max: 5 }),
        fc.array(
          fc.record({
            sandbox: fc.nat(),
            gap: fc.integer({ min: 0, max: 300 }),
            lookahead: fc.constantFrom(0, 250, 1000),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        fc.infiniteStream(fc.integer({ min: 0, max: 3 })),
        async (limit, sandboxes, arrivals, tickStream) => {
          // Prepare: one limiter per sandbox (each with its own guess of the row), one row.
          const ticks = tickStream[Symbol.iterator]();
          const bucket = memoryBucket(() => ticks.next().value as number);
          const limiters = Array.from(
            { length: sandboxes },
            () => new DynamoRateLimiter(bucket.db, 'status', 'lane', limit),
          );
          const interval = 1000 / limit.perSecond;
          let t = 5_000_000;

          // Act: every arrival takes at once (all in flight together), each at its own time.
          const answers = await Promise.all(
            arrivals.map(async (a) => {
              t += a.gap;
              const at = t;
              const answer = await limiters[a.sandbox % sandboxes]!.take(new Date(at), a.lookahead);
              return { at, lookahead: a.lookahead, ...answer };
            }),
          );

          // Assess
          const slots = answers.filter((a) => a.admitted).map((a) => a.at + a.waitMs);
          for (const a of answers) {
            if (a.admitted) expect(a.waitMs).toBeLessThanOrEqual(a.lookahead);
            else expect(a.waitMs).toBeGreaterThan(0);
          }
          for (const windowMs of [100, 1000, 3000])
            expect(mostInWindow(slots, windowMs)).toBeLessThanOrEqual(bound(windowMs, interval, limit.burst));
          // At most two writes and a read per round, three rounds.
          expect(bucket.requests()).toBeLessThanOrEqual(arrivals.length * 9);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('shared bucket: one take at a time per sandbox', () => {
  it("refuses a batch's other records without a request once it has seen the bucket booked", async () => {
    // Prepare: one sandbox, 10/s, burst 1; its batch of 10 records asks at once.
    const bucket = memoryBucket(() => 1);
    const limiter = new DynamoRateLimiter(bucket.db, 'status', 'lane', { perSecond: 10, burst: 1 });
    const t = new Date(1_000_000);

    // Act
    const answers = await Promise.all(Array.from({ length: 10 }, () => limiter.take(t)));

    // Assess: one admitted (one write); the nine others are refused from the bucket's time that
    // write returned, without a request (taking together, each would spend two writes and a read).
    expect(answers.map((a) => a.admitted)).toEqual([true, ...Array<boolean>(9).fill(false)]);
    expect(answers.slice(1).map((a) => a.waitMs)).toEqual(Array<number>(9).fill(100));
    expect(bucket.requests()).toBe(1);
  });
});
