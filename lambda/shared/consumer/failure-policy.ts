/**
 * The consumer's failure policy: what happens to a record after its job ran. Pure; the consumer
 * (`./index.ts`) carries the decision out.
 *
 * | outcome                          | decision       | carried out as                                   |
 * | -------------------------------- | -------------- | ------------------------------------------------ |
 * | success                          | `ack`          | resolve: the event source mapping deletes it     |
 * | permanent error (any attempt)    | `dead-letter`  | archive, send to the DLQ, resolve                |
 * | retryable error, final attempt   | `exhausted`    | archive, send to the DLQ, resolve (FIFO: the     |
 * |                                  |                | group's later records run now); if the send      |
 * |                                  |                | fails, report failed (the next delivery, or the  |
 * |                                  |                | redrive policy, moves it)                        |
 * | retryable error, earlier attempt | `retry`        | visibility = backoff, report failed              |
 * | `RetryLaterError` (any attempt)  | (deferral)     | not a failure: `./deferral.ts` plans it (no      |
 * |                                  |                | attempt spent; visibility = time to notBefore,   |
 * |                                  |                | report failed), or gives it up past the cap or   |
 * |                                  |                | the queue's receives (`deferral-exhausted`)      |
 *
 * Anything not known to be permanent is retryable (`isPermanent` in `../errors.ts`). A record's
 * final attempt is its `maxAttempts`-th handler run (counted on its status row), or its
 * `maxReceiveCount`-th receive (the redrive policy's backstop), whichever comes first: receives
 * that did not run the handler (hand-backs of crash isolation, a batch-mate's crash) do not use
 * up its attempts, and neither do runs that deferred (the row's `deferLog`, `./run-state.ts`).
 * Deferrals do use receives: `planDeferral` keeps enough of them for the remaining attempts, so
 * the redrive backstop never moves a deferred message early.
 */
import { backoffSeconds, type BackoffSettings } from '../backoff';
import { isPermanent } from '../errors';

/** What to do with a record once its job has run. */
export type FailureDecision =
  | { readonly action: 'ack' }
  | { readonly action: 'dead-letter' }
  | { readonly action: 'retry'; readonly afterSeconds: number }
  | { readonly action: 'exhausted' };

/** Where a record is in its life: its handler runs, and its receives (the redrive backstop). */
export interface Attempt {
  /** `ApproximateReceiveCount` of the record (1 on the first delivery). */
  readonly receiveCount: number;
  /**
   * Handler runs of this SQS message before this delivery, from its status row
   * (`./run-state.ts`); `receiveCount - 1` when the row could not be read (every earlier
   * delivery is taken to have run).
   */
  readonly runsBefore: number;
  /** Handler runs a message gets before it is given up on (`MAX_ATTEMPTS`). */
  readonly maxAttempts: number;
  /** The source queue's redrive `maxReceiveCount`, the backstop. */
  readonly maxReceiveCount: number;
  readonly backoff: BackoffSettings;
  /** @default Math.random */
  readonly random?: () => number;
}

/** The outcome of a record's job. */
export type RecordOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** The limits {@link isFinalAttempt} compares with. */
export type AttemptLimits = Pick<Attempt, 'maxAttempts' | 'maxReceiveCount'>;

/**
 * True on a record's final attempt: the run that uses up its `maxAttempts`, or the receive after
 * which the redrive policy moves it to its DLQ (the backstop), whichever comes first.
 */
export function isFinalAttempt(
  attempt: Pick<Attempt, 'receiveCount' | 'runsBefore'>,
  limits: AttemptLimits,
): boolean {
  return attempt.runsBefore + 1 >= limits.maxAttempts || isRedriveReceive(attempt.receiveCount, limits);
}

/** True on the receive after which the redrive policy moves the record (its visibility ends). */
export function isRedriveReceive(receiveCount: number, limits: Pick<Attempt, 'maxReceiveCount'>): boolean {
  return receiveCount >= limits.maxReceiveCount;
}

/** True when a record's handler has had all its runs (`runsBefore >= maxAttempts`). */
export function attemptsUsedUp(runsBefore: number, limits: Pick<Attempt, 'maxAttempts'>): boolean {
  return runsBefore >= limits.maxAttempts;
}

/**
 * Seconds before a failed record is seen again: 0 on its final attempt (the consumer gives it up
 * on its next delivery, or the redrive policy moves it), the backoff (`../backoff.ts`) of its
 * attempt number (`runsBefore + 1`) otherwise.
 */
export function retryAfterSeconds(attempt: Attempt): number {
  return isFinalAttempt(attempt, attempt)
    ? 0
    : backoffSeconds(attempt.runsBefore + 1, attempt.backoff, attempt.random);
}

/** Decides what happens to a record after its job ran. */
export function decideFailure(outcome: RecordOutcome, attempt: Attempt): FailureDecision {
  if (outcome.ok) return { action: 'ack' };
  if (isPermanent(outcome.error)) return { action: 'dead-letter' };
  if (isFinalAttempt(attempt, attempt)) return { action: 'exhausted' };
  return { action: 'retry', afterSeconds: retryAfterSeconds(attempt) };
}
