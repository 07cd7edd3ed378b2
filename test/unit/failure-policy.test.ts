import { describe, expect, it } from 'vitest';
import {
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
  const attempt = (receiveCount: number) => ({ receiveCount, maxReceiveCount: 5, backoff, random: () => 0 });

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

  it('retries at once on the final attempt so the redrive policy moves the record', () => {
    expect(isFinalAttempt(5, 5)).toBe(true);
    expect(isFinalAttempt(4, 5)).toBe(false);
    expect(retryAfterSeconds(attempt(6))).toBe(0);
    expect(retryAfterSeconds(attempt(1))).toBe(5);
  });

  it('wraps thrown values that are not errors as UnknownFailure, keeping the cause', () => {
    const wrapped = UnknownFailure.from('boom');

    expect(wrapped).toBeInstanceOf(RetryableError);
    expect(wrapped.name).toBe('UnknownFailure');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBe('boom');
  });
});
