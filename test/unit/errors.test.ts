import { describe, expect, it } from 'vitest';
import {
  ArchiveWriteError,
  DeadlineExceededError,
  InvalidMessageError,
  isPermanent,
  PermanentError,
  PipelineError,
  RetryableError,
  UnknownJobTypeError,
} from '../../lambda/shared/errors';

describe('error hierarchy', () => {
  it.each([
    [new RetryableError('r'), 'RetryableError', false],
    [new DeadlineExceededError(50), 'DeadlineExceededError', false],
    [new ArchiveWriteError('a'), 'ArchiveWriteError', false],
    [new PermanentError('p'), 'PermanentError', true],
    [new InvalidMessageError('i', ['x: y']), 'InvalidMessageError', true],
    [new UnknownJobTypeError('t'), 'UnknownJobTypeError', true],
  ])('%s is named %s and permanent = %s', (error, name, permanent) => {
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.name).toBe(name);
    expect(isPermanent(error)).toBe(permanent);
  });

  it('treats anything not known to be permanent as retryable', () => {
    expect(isPermanent(new Error('x'))).toBe(false);
    expect(isPermanent('a string')).toBe(false);
    expect(isPermanent(undefined)).toBe(false);
  });

  it('keeps the cause and reports the deadline', () => {
    const cause = new Error('root');

    expect(new ArchiveWriteError('w', { cause }).cause).toBe(cause);
    expect(new DeadlineExceededError(1234).message).toBe('Record did not finish within its 1234 ms deadline');
  });
});
