/**
 * A lane's quota per window across all its consumers (issue 22, item 3): at most `count` handler
 * runs in each window of `windowSeconds` (a downstream's daily quota: `{ count: 10000,
 * windowSeconds: 86400 }`), besides its rate (`./rate-limit.ts`).
 *
 * **Windows** are fixed and aligned to the epoch (a day's window starts at 00:00 UTC, as most
 * daily quotas reset): window `i` is `[i * W, (i + 1) * W)`. So at most `count` runs in each
 * window; a span of `W` that straddles two windows can hold up to `2 * count` (the end of one,
 * the start of the next). A downstream that counts over any sliding span needs its rate too:
 * `perSecond` and `burst` bound every span (`./rate-limit.ts`).
 *
 * **Where.** One row per lane and window on the status table, key `msg#~quota#<lane>#<i>`
 * (under the status rows' prefix, as the rate bucket's row), expiring a day after its window.
 * Each admission is one conditional `UpdateItem` (`ADD used 1` if `used < count`), atomic in
 * DynamoDB, so the consumers together never pass the count. A sandbox that saw a window full
 * refuses in it without a request; a refused record is deferred to the next window's start.
 *
 * **Counted where it runs.** An admission says by when its run must start (`startBy`, the end of
 * the window that counted it). The consumer checks right before the handler: a run whose
 * bookkeeping on a loaded machine took it past its window's end does not start (it would be the
 * next window's `count + 1`-th); it waits for the next window without spending an attempt
 * (`QuotaWindowMissed`), and its unit in the earlier window goes unused.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RetryLaterError } from '../errors';
import { STATUS_TABLE_KEYS } from '../status/keys';
import type { Admission, RateLimiter } from './rate-limit';

/**
 * A run admitted in a quota window that could not start before the window ended: not run, it
 * waits for the next window (`nextWindow`) like a handler's deferral, its attempt given back.
 */
export class QuotaWindowMissed extends RetryLaterError {
  constructor(nextWindow: Date) {
    super(
      { after: nextWindow },
      `its quota window ended before its handler could start: waits for the next window`,
    );
  }
}

/** A lane's quota: at most `count` runs in each window of `windowSeconds`. */
export interface Quota {
  readonly count: number;
  readonly windowSeconds: number;
}

/** The key of a lane's quota row for window `index`. */
export function quotaKey(lane: string, index: number): string {
  return `${STATUS_TABLE_KEYS.statusPrefix}~quota#${lane}#${index}`;
}

/** {@link RateLimiter} over fixed windows: a counter row per window on the status table. */
export class DynamoQuota implements RateLimiter {
  readonly #windowMs: number;
  /** The window this sandbox saw full. */
  #full: number | undefined;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lane: string,
    private readonly quota: Quota,
  ) {
    this.#windowMs = quota.windowSeconds * 1000;
  }

  /** Admits at once while the window of `now` has room, else refuses until the next window. */
  async take(now: Date): Promise<Admission> {
    const t = now.getTime();
    const index = Math.floor(t / this.#windowMs);
    const untilNext = (index + 1) * this.#windowMs - t;
    if (this.#full === index) return { admitted: false, waitMs: untilNext };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [STATUS_TABLE_KEYS.partitionKey]: quotaKey(this.lane, index) },
          UpdateExpression: 'ADD used :one SET #exp = :exp',
          ConditionExpression: 'attribute_not_exists(used) OR used < :count',
          ExpressionAttributeNames: { '#exp': STATUS_TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: {
            ':one': 1,
            ':count': this.quota.count,
            ':exp': Math.floor(((index + 1) * this.#windowMs) / 1000) + 86_400,
          },
        }),
      );
      // Counted in this window: the handler must start in it too (`startBy`).
      return { admitted: true, waitMs: 0, startBy: (index + 1) * this.#windowMs };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      this.#full = index;
      return { admitted: false, waitMs: untilNext };
    }
  }
}

/**
 * A rate and a quota together: the rate first (a reservation's slot), then the quota at that
 * slot's time. A run counts against the quota only once its rate admitted it; when the quota is
 * spent the rate's token goes unused (no run can happen before the next window anyway), and the
 * record waits for the next window.
 */
export function rateThenQuota(rate: RateLimiter, quota: RateLimiter): RateLimiter {
  return {
    async take(now, lookaheadMs) {
      const first = await rate.take(now, lookaheadMs);
      if (!first.admitted) return first;
      const second = await quota.take(new Date(now.getTime() + first.waitMs));
      if (!second.admitted) return { admitted: false, waitMs: first.waitMs + second.waitMs };
      return second.startBy === undefined ? first : { ...first, startBy: second.startBy };
    },
  };
}

/** Checks a quota as a consumer's environment carries it (inside `RATE_LIMIT`); `undefined`: none. */
export function quotaOf(value: unknown): Quota | undefined | null {
  if (value === undefined) return undefined;
  const v = value as Partial<Quota> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.count !== 'number' ||
    !Number.isInteger(v.count) ||
    v.count < 1 ||
    typeof v.windowSeconds !== 'number' ||
    !Number.isInteger(v.windowSeconds) ||
    v.windowSeconds < 1
  )
    return null;
  return { count: v.count, windowSeconds: v.windowSeconds };
}
