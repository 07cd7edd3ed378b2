import { describe, expect, it } from 'vitest';
import {
  attemptsUsedUp,
  decideFailure,
  isFinalAttempt,
  retryAfterSeconds,
} from '../../lambda/shared/consumer/failure-policy';
import {
  DeadlineExceededError,
  PermanentError,
  RetryableError,
  UnknownFailure,
} from '../../lambda/shared/errors';

describe('consumer failure policy', () => {
  const backoff = { baseSeconds: 10, capSeconds: 600 };
  /** Every earlier receive ran (what the consumer assumes without a status row). */
  const attempt = (receiveCount: number, runsBefore = receiveCount - 1) => ({
    receiveCount,
    runsBefore,
    maxAttempts: 5,
    maxReceiveCount: 15,
    backoff,
    random: () => 0,
  });

  it('acknowledges a record whose job succeeded', () => {
    expect(decideFailure({ ok: true }, attempt(5))).toEqual({ action: 'ack' });
  });

  it('dead-letters a permanent failure on any attempt', () => {
    for (const n of [1, 4, 5, 9]) {
      expect(decideFailure({ ok: false, error: new PermanentError('no') }, attempt(n))).toEqual({
        action: 'dead-letter',
      });
    }
  });

  it('retries anything not known to be permanent after the backoff, until the final attempt', () => {
    for (const error of [
      new RetryableError('later'),
      new DeadlineExceededError(5),
      new TypeError('x'),
      'thrown',
    ]) {
      expect(decideFailure({ ok: false, error }, attempt(3))).toEqual({ action: 'retry', afterSeconds: 20 });
      expect(decideFailure({ ok: false, error }, attempt(5))).toEqual({ action: 'exhausted' });
    }
  });

  it('retries at once on the final attempt so the next delivery or the redrive policy moves it', () => {
    const limits = { maxAttempts: 5, maxReceiveCount: 15 };
    expect(isFinalAttempt({ receiveCount: 5, runsBefore: 4 }, limits)).toBe(true);
    expect(isFinalAttempt({ receiveCount: 4, runsBefore: 3 }, limits)).toBe(false);
    expect(retryAfterSeconds(attempt(6))).toBe(0);
    expect(retryAfterSeconds(attempt(1))).toBe(5);
  });

  it('counts handler runs, not receives: receives that did not run the handler use up nothing', () => {
    // Prepare: the 9th receive, but the handler ran only twice before (hand-backs, a batch-mate's crash)
    const handedBack = attempt(9, 2);

    // Act
    const decision = decideFailure({ ok: false, error: new RetryableError('later') }, handedBack);

    // Assess: its 3rd run of 5 backs off as a 3rd attempt (10 s · 2² = 40, lower half 20)
    expect(decision).toEqual({ action: 'retry', afterSeconds: 20 });
    expect(decideFailure({ ok: false, error: new RetryableError('x') }, attempt(9, 4))).toEqual({
      action: 'exhausted',
    });
  });

  it('takes the redrive receive as the final attempt when runs are still left (the backstop)', () => {
    const limits = { maxAttempts: 5, maxReceiveCount: 15 };
    expect(isFinalAttempt({ receiveCount: 15, runsBefore: 1 }, limits)).toBe(true);
    expect(decideFailure({ ok: false, error: new RetryableError('x') }, attempt(15, 1))).toEqual({
      action: 'exhausted',
    });
  });

  it('tells a record whose runs are used up', () => {
    expect(attemptsUsedUp(5, { maxAttempts: 5 })).toBe(true);
    expect(attemptsUsedUp(4, { maxAttempts: 5 })).toBe(false);
  });

  it('wraps thrown values that are not errors as UnknownFailure, keeping the cause', () => {
    const wrapped = UnknownFailure.from('boom');

    expect(wrapped).toBeInstanceOf(RetryableError);
    expect(wrapped.name).toBe('UnknownFailure');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBe('boom');
  });
});
