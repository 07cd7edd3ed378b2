/**
 * The consumer's failure policy: what happens to a record after its job ran. Pure; the record
 * handler (`./record-handler.ts`) carries the decision out.
 *
 * | outcome                          | decision       | carried out as                                   |
 * | -------------------------------- | -------------- | ------------------------------------------------ |
 * | success                          | `ack`          | resolve: the event source mapping deletes it     |
 * | permanent error (any attempt)    | `dead-letter`  | archive, send to the DLQ, resolve                |
 * | retryable error, final attempt   | `exhausted`    | standard: archive, visibility 0, report failed   |
 * |                                  |                | (redrive); FIFO: archive, send to the DLQ,       |
 * |                                  |                | resolve (the group's later records run now)      |
 * | retryable error, earlier attempt | `retry`        | visibility = backoff, report failed              |
 *
 * Anything not known to be permanent is retryable (`isPermanent` in `../errors.ts`).
 */
import { backoffSeconds, type BackoffSettings } from '../backoff';
import { isPermanent } from '../errors';

/** What to do with a record once its job has run. */
export type FailureDecision =
  | { readonly action: 'ack' }
  | { readonly action: 'dead-letter' }
  | { readonly action: 'retry'; readonly afterSeconds: number }
  | { readonly action: 'exhausted' };

/** Where a record is in its redrive life. */
export interface Attempt {
  /** `ApproximateReceiveCount` of the record (1 on the first attempt). */
  readonly receiveCount: number;
  /** The source queue's redrive `maxReceiveCount`. */
  readonly maxReceiveCount: number;
  readonly backoff: BackoffSettings;
  /** @default Math.random */
  readonly random?: () => number;
}

/** The outcome of a record's job. */
export type RecordOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** True on the attempt after which the redrive policy moves the record to its DLQ. */
export function isFinalAttempt(receiveCount: number, maxReceiveCount: number): boolean {
  return receiveCount >= maxReceiveCount;
}

/**
 * Seconds before a failed record is seen again: 0 on its final attempt (the redrive policy
 * should move it at once), the backoff (`../backoff.ts`) otherwise.
 */
export function retryAfterSeconds(attempt: Attempt): number {
  return isFinalAttempt(attempt.receiveCount, attempt.maxReceiveCount)
    ? 0
    : backoffSeconds(attempt.receiveCount, attempt.backoff, attempt.random);
}

/** Decides what happens to a record after its job ran. */
export function decideFailure(outcome: RecordOutcome, attempt: Attempt): FailureDecision {
  if (outcome.ok) return { action: 'ack' };
  if (isPermanent(outcome.error)) return { action: 'dead-letter' };
  if (isFinalAttempt(attempt.receiveCount, attempt.maxReceiveCount)) return { action: 'exhausted' };
  return { action: 'retry', afterSeconds: retryAfterSeconds(attempt) };
}
