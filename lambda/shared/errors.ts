/**
 * One error hierarchy for the pipeline. Whether a failure is retried is decided by the
 * error's class, never by matching its message.
 */

/** Base class of every error the pipeline raises on purpose. */
export class PipelineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure that may succeed on a later attempt (throttling, a downstream outage, a timeout). */
export class RetryableError extends PipelineError {}

/** A failure that will never succeed: retrying only delays the DLQ. */
export class PermanentError extends PipelineError {}

/** The message body is not a valid envelope, or its payload fails the type's schema. */
export class InvalidMessageError extends PermanentError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The envelope names a type the registry does not know. */
export class UnknownJobTypeError extends PermanentError {
  constructor(readonly jobType: string) {
    super(`Unknown job type "${jobType}"`);
  }
}

/** A record did not finish before its share of the invocation's remaining time ran out. */
export class DeadlineExceededError extends RetryableError {
  constructor(readonly deadlineMs: number) {
    super(`Record did not finish within its ${deadlineMs} ms deadline`);
  }
}

/**
 * The invocation had no time left for a record when its turn came: it did not run, and is
 * delivered again without that counting as an attempt.
 */
export class NoTimeLeft extends RetryableError {
  constructor(readonly budgetMs: number) {
    super(`Record not started: ${budgetMs} ms left for it in the invocation`);
  }
}

/** When a deferred message may run again: seconds from now, or an absolute time. */
export interface RetryLater {
  /** Seconds from now (`>= 0`, whole or not), or the moment itself. */
  readonly after: number | Date;
}

/**
 * "Not now, come back at T": a downstream's rate limit or quota (a `429` with `Retry-After`), a
 * maintenance window, a partner that accepts calls only later. Thrown by a handler, it **defers**
 * the message instead of failing it: it does not spend an attempt, its status is `deferred` with
 * `notBefore`, and it comes back no earlier than that time (on FIFO its group waits behind it).
 * Deferring past the lane's deferral cap gives the message up (`deferral-exhausted`).
 *
 * @example
 * const res = await fetch(url);
 * if (res.status === 429) throw new RetryLaterError(retryAfter(res.headers.get('retry-after')) ?? { after: 60 });
 */
export class RetryLaterError extends RetryableError {
  readonly after: number | Date;

  constructor(when: RetryLater, message?: string, options?: { cause?: unknown }) {
    const { after } = when;
    const valid =
      after instanceof Date ? !Number.isNaN(after.getTime()) : Number.isFinite(after) && after >= 0;
    if (!valid) throw new TypeError('RetryLaterError: after must be seconds >= 0 or a valid Date');
    super(
      message ?? `retry later: ${after instanceof Date ? `at ${after.toISOString()}` : `after ${after} s`}`,
      options,
    );
    this.after = after;
  }

  /** The moment the message may run again, as seen at `now`. */
  notBefore(now: Date): Date {
    return this.after instanceof Date ? this.after : new Date(now.getTime() + this.after * 1000);
  }
}

/**
 * A message could not be deferred any longer: the time it asked for is past its lane's deferral
 * cap (`maxDeferralSeconds`, counted from when it was enqueued), or its queue has too few receives
 * left (`maxReceiveCount`) to wait and still have its remaining attempts. It is given up on like
 * any exhausted failure (archived, dead-lettered, status `failed`), kind `deferral-exhausted`.
 */
export class DeferralExhausted extends PipelineError {}

/** Writing the failure archive record failed; the message must stay where it is. */
export class ArchiveWriteError extends RetryableError {}

/** The HTTP status an AWS SDK service error carries (`$metadata.httpStatusCode`), without the SDK's classes. */
export const httpStatusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** True for errors that must not be retried. Anything not known to be permanent is retried. */
export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

/**
 * A function's environment does not match its configuration contract (`lambda/<function>/config.ts`).
 * Thrown at cold start; the message is one line naming the variable.
 */
export class ConfigError extends PipelineError {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Environment variable ${variable} ${problem}`);
  }
}

/**
 * The error archived provisionally for a final-attempt record before it runs: it stands in the
 * archive if the runtime crashes or times out before the record's outcome is known.
 */
export class FinalAttemptInterrupted extends PipelineError {
  constructor() {
    super('The final attempt did not complete (crash or timeout of the runtime)');
  }
}

/**
 * A record delivered again after its handler had all its runs (`maxAttempts`), the last of which
 * never returned (the runtime crashed, or the function timed out, while it ran): it is given up on
 * without running again.
 */
export class AttemptsUsedUp extends PipelineError {
  constructor(
    readonly runs: number,
    readonly maxAttempts: number,
  ) {
    super(
      `its handler ran ${runs} of ${maxAttempts} times and the last run never returned ` +
        '(the runtime crashed or the function timed out)',
    );
  }
}

/**
 * A failure of unknown kind: something not raised as a {@link PipelineError} (a `TypeError`, a
 * thrown string), or a message found in a DLQ with no recorded cause. Retried, as anything not
 * known to be permanent is.
 */
export class UnknownFailure extends RetryableError {
  /** Wraps any thrown value, keeping it as the `cause`. */
  static from(thrown: unknown): UnknownFailure {
    return new UnknownFailure(String((thrown as Error)?.message ?? thrown), { cause: thrown });
  }
}
