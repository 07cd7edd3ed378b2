/**
 * A lane's rate limit across all its concurrent consumers (issue 22, item 3): at most `perSecond`
 * handler runs per second, with bursts of up to `burst`, however many sandboxes run the lane.
 *
 * **Algorithm.** GCRA (the generic cell rate algorithm, a token bucket written as one number): the
 * row holds the bucket's theoretical arrival time `tat` (epoch ms). A run at time `t` is allowed
 * when `tat - (burst - 1) * T <= t` (`T = 1000 / perSecond` ms), and moves `tat` to
 * `max(tat, t) + T`. Each admission is one conditional `UpdateItem`, atomic in DynamoDB, so two
 * consumers can never both take the last token: `max` is not an update expression, so the two
 * cases are two conditional writes (`tat <= t`: start from `t`; `t < tat <= t + (burst - 1) * T`:
 * add `T`), tried in the order the last known `tat` makes likely (one request in the common case).
 * When neither applies the bucket is empty: one consistent `GetItem` reads `tat`, and the wait is
 * `tat - (burst - 1) * T - t`. `tat` never decreases, so a sandbox that already knows a `tat` that
 * refuses `t` answers without a request.
 *
 * **Reservations.** A take may look ahead `L` ms (`lookaheadMs`): a token due within `L` is
 * reserved at once (the second write's condition becomes `tat <= t + (burst - 1) * T + L`) and the
 * caller runs when it is due, `tat - (burst - 1) * T - t` from now (`waitMs` of an admission). The
 * slot `s = max(t, tat - (burst - 1) * T)` is then a conforming GCRA arrival and `tat` moves exactly
 * as for an arrival at `s`, so the slots keep GCRA's bound (`gcraAdmit`): any window of `W` ms
 * holds at most `ceil((W + (burst - 1) * T) / T)` of them. The consumer holds a record that gets a
 * reservation in-process instead of deferring it (a deferral hides it for whole seconds and a
 * redelivery: short waits would leave tokens unused; `./index.ts`).
 *
 * **Where.** One row per lane on the status table, key `msg#~rate#<lane>`: under the status rows'
 * prefix, so the consumer's existing row-scoped grant covers it (`~` never starts an envelope id,
 * a UUID, so no message's row and no API id can name it). It expires like a status row (TTL).
 *
 * **Cost.** One `UpdateItem` per admitted run when the guess is right, two when the bucket turned
 * from idle to busy (or back) since this sandbox last looked; a record that finds no token costs
 * none when this sandbox already knows the bucket is empty, else two `UpdateItem`s and a `GetItem`
 * (it is then deferred, `./deferral.ts`, without spending an attempt).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EnvValueError } from '../env-contract';
import { STATUS_TABLE_KEYS } from '../status/keys';
import { quotaOf, type Quota } from './quota';

/**
 * A lane's rate limit: `perSecond` runs per second, bursts of up to `burst` (at least 1), and
 * optionally a quota per window (`./quota.ts`).
 */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
  readonly quota?: Quota;
}

/**
 * A take's answer: `admitted` (a token is this caller's: run in `waitMs`, 0 for at once), or not
 * (do not run: a token may be had in `waitMs`).
 */
export interface Admission {
  readonly admitted: boolean;
  readonly waitMs: number;
  /**
   * Epoch ms by which the admitted run must start (a quota's window end: the run was counted in
   * that window). A consumer that cannot start the handler by then does not run it (`./quota.ts`).
   */
  readonly startBy?: number;
}

/** Takes a token for one handler run. */
export interface RateLimiter {
  /**
   * Takes a token at `now`, or reserves one due within `lookaheadMs` (@default 0: only a token
   * due now).
   */
  take(now: Date, lookaheadMs?: number): Promise<Admission>;
}

/**
 * GCRA with reservations, the arithmetic every {@link RateLimiter} here follows: a bucket whose
 * theoretical arrival time is `tat` (`undefined`: never used), asked at `t` with a look-ahead of
 * `lookaheadMs`, admits (the new `tat`, and the wait until the token's slot) or refuses (the wait
 * until a token is due). `interval` is `1000 / perSecond`, `tolerance` `(burst - 1) * interval`.
 */
export function gcraAdmit(
  tat: number | undefined,
  t: number,
  interval: number,
  tolerance: number,
  lookaheadMs = 0,
):
  | { readonly admitted: true; readonly tat: number; readonly waitMs: number }
  | { readonly admitted: false; readonly waitMs: number } {
  if (tat === undefined || tat <= t) return { admitted: true, tat: t + interval, waitMs: 0 };
  const due = tat - tolerance - t;
  if (due <= lookaheadMs) return { admitted: true, tat: tat + interval, waitMs: Math.max(0, due) };
  return { admitted: false, waitMs: Math.ceil(due) };
}

/** The key of a lane's bucket row. */
export function rateLimitKey(lane: string): string {
  return `${STATUS_TABLE_KEYS.statusPrefix}~rate#${lane}`;
}

/** How long a bucket row is kept after its last use (its TTL), in seconds. */
const ROW_TTL_SECONDS = 86_400;

/** {@link RateLimiter} on a row of the status table (GCRA with conditional writes). */
export class DynamoRateLimiter implements RateLimiter {
  readonly #interval: number;
  readonly #tolerance: number;
  /** The bucket's `tat` as this sandbox last saw it. */
  #tat: number | undefined;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lane: string,
    limit: RateLimit,
  ) {
    this.#interval = 1000 / limit.perSecond;
    this.#tolerance = (Math.max(1, Math.floor(limit.burst)) - 1) * this.#interval;
  }

  /** The take in progress in this sandbox: takes run one at a time (see {@link take}). */
  #last: Promise<unknown> = Promise.resolve();

  /**
   * One take at a time per sandbox: the records of a batch ask together, and each answer
   * updates this sandbox's `tat`, so once the bucket is seen empty the others are refused
   * without a request (instead of each spending two writes and a read).
   */
  take(now: Date, lookaheadMs = 0): Promise<Admission> {
    const answer = this.#last.then(() => this.#take(now, lookaheadMs));
    this.#last = answer.catch(() => undefined);
    return answer;
  }

  async #take(now: Date, lookaheadMs: number): Promise<Admission> {
    const t = now.getTime();
    const lookahead = Math.max(0, lookaheadMs);
    // `tat` only grows: a known one past the tolerance and the look-ahead refuses without asking.
    if (this.#tat !== undefined && this.#tat - this.#tolerance - t > lookahead)
      return { admitted: false, waitMs: Math.ceil(this.#tat - this.#tolerance - t) };
    // A few rounds: a write can lose a race to another consumer between the two conditions.
    for (let round = 0; round < 3; round++) {
      const busyFirst = this.#tat !== undefined && this.#tat > t;
      const admitted =
        (await (busyFirst ? this.#advance(t, lookahead) : this.#start(t))) ??
        (await (busyFirst ? this.#start(t) : this.#advance(t, lookahead)));
      if (admitted !== undefined) return { admitted: true, waitMs: admitted };
      const tat = await this.#read();
      if (tat === undefined) continue;
      this.#tat = tat;
      const wait = tat - this.#tolerance - t;
      if (wait > lookahead) return { admitted: false, waitMs: Math.ceil(wait) };
    }
    // Contended all along: try again after one interval.
    return { admitted: false, waitMs: Math.ceil(this.#interval) };
  }

  #key() {
    return { [STATUS_TABLE_KEYS.partitionKey]: rateLimitKey(this.lane) };
  }

  /** An idle bucket (`tat <= t`, or none yet): `tat = t + T`; the wait (0), or none when it was not idle. */
  async #start(t: number): Promise<number | undefined> {
    const next = t + this.#interval;
    const done = await this.#update(
      'SET tat = :next, #exp = :exp',
      'attribute_not_exists(tat) OR tat <= :t',
      {
        ':next': next,
        ':t': t,
      },
    );
    if (done === undefined) return undefined;
    this.#tat = next;
    return 0;
  }

  /**
   * A busy bucket with a token due within the look-ahead (`t < tat <= t + (burst - 1) * T + L`):
   * `tat = tat + T`; the wait until the token's slot, or none when it had no such token.
   */
  async #advance(t: number, lookahead: number): Promise<number | undefined> {
    const done = await this.#update('SET tat = tat + :interval, #exp = :exp', 'tat > :t AND tat <= :max', {
      ':interval': this.#interval,
      ':t': t,
      ':max': t + this.#tolerance + lookahead,
    });
    if (done === undefined) return undefined;
    this.#tat = done;
    // The `tat` this admission moved on from: its slot is `tat - tolerance`.
    return Math.max(0, done - this.#interval - this.#tolerance - t);
  }

  /** The conditional write; the bucket's new `tat`, or `undefined` when its condition failed. */
  async #update(
    expression: string,
    condition: string,
    values: Record<string, number>,
  ): Promise<number | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.#key(),
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#exp': STATUS_TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: {
            ...values,
            ':exp': Math.floor(Date.now() / 1000) + ROW_TTL_SECONDS,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const tat = out.Attributes?.tat;
      if (typeof tat !== 'number') throw new Error('the rate limit bucket did not return its tat');
      return tat;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async #read(): Promise<number | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: this.#key(), ConsistentRead: true }),
    );
    const tat = out.Item?.tat;
    return typeof tat === 'number' ? tat : undefined;
  }
}

/** Checks a lane's rate limit as its consumer's environment carries it (`null`: none). */
export function rateLimitOf(value: unknown): RateLimit | null {
  if (value === null) return null;
  const v = value as Partial<RateLimit> | undefined;
  const quota = typeof v === 'object' ? quotaOf(v.quota) : undefined;
  if (
    typeof v !== 'object' ||
    typeof v.perSecond !== 'number' ||
    !(v.perSecond > 0) ||
    typeof v.burst !== 'number' ||
    !Number.isInteger(v.burst) ||
    v.burst < 1 ||
    quota === null
  )
    throw new EnvValueError(
      'must be null or { "perSecond": > 0, "burst": an integer >= 1, "quota"?: { "count": an integer >= 1, ' +
        '"windowSeconds": an integer >= 1 } }',
    );
  return { perSecond: v.perSecond, burst: v.burst, ...(quota ? { quota } : {}) };
}
