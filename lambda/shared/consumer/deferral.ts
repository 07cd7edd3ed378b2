/**
 * Deferral: a record that must not run before a time (`notBefore`), because its handler said so
 * ({@link RetryLaterError}) or its caller asked for it (the envelope's `notBefore`). Pure; the
 * consumer (`./index.ts`) carries the plan out.
 *
 * **Mechanism.** The record stays the same SQS message: its visibility is set to the time left
 * (`ChangeMessageVisibility`), at most {@link MAX_DEFERRAL_STEP_SECONDS} per step (SQS allows a
 * visibility of 12 h from the receive; the step keeps room for the poller's batching window and
 * the invocation before the change). A wait longer than a step takes several: on each redelivery
 * before `notBefore` the consumer hides it again without running its handler. Being the same
 * message keeps its place: on FIFO, its group's later messages wait behind it (SQS delivers none
 * of a group while one is in flight) and other groups flow.
 *
 * **Attempts.** A deferral spends no attempt: the status row's `deferLog` lists the SQS message
 * id of each handler run that deferred, and those runs are not counted against `maxAttempts`
 * (`./run-state.ts`). The row's `deferrals` counts them for the API; `attempts` is unchanged.
 *
 * **Receives.** Every deferral step costs one SQS receive, and the redrive policy moves a message
 * after `maxReceiveCount` receives whatever the consumer counts. So a step is taken only when the
 * receives left after all the steps the wait needs still cover the record's remaining attempts;
 * otherwise the deferral is refused ({@link DeferralExhausted}) and the record is given up on by
 * the consumer itself (archived, dead-lettered, status `failed`, kind `deferral-exhausted`), never
 * silently by the redrive policy. A lane that expects many steps (a tight rate limit) raises its
 * queue's `maxReceiveCount` with its `deferral.maxSteps` setting (`lib/config/lanes.ts`).
 *
 * **Cap.** A record may be held back until at most `maxDeferralSeconds` after it was enqueued on
 * its queue (`SentTimestamp`): by default the queue's retention less a margin for its run and
 * retries, so a deferred message never expires on its queue. A later `notBefore` is refused the
 * same way.
 */
import { SQS_MAX_VISIBILITY_SECONDS } from '../constants';
import { RetryableError } from '../errors';

/**
 * Room the deferral cap leaves before a message's queue retention ends: its run and its retries
 * after the last deferral (backoff caps are 10–15 minutes, attempts 5–6).
 */
export const DEFERRAL_RETENTION_MARGIN_SECONDS = 2 * 3600;

/** The deferral cap of a queue that keeps messages `retentionSeconds`: the retention less the margin. */
export function defaultMaxDeferralSeconds(retentionSeconds: number): number {
  return Math.max(0, retentionSeconds - DEFERRAL_RETENTION_MARGIN_SECONDS);
}

/** The deferral cap with the default queue retention (4 days): 4 days less 2 hours. */
export const DEFAULT_MAX_DEFERRAL_SECONDS = defaultMaxDeferralSeconds(4 * 86_400);

/**
 * A record delivered before its `notBefore`: hidden again without running its handler (no
 * attempt), and reported failed so the event source mapping leaves it on its queue.
 */
export class NotYetDue extends RetryableError {
  constructor(readonly notBefore: Date) {
    super(`not due before ${notBefore.toISOString()}: hidden again without running`);
  }
}

/** The `notBefore` of an envelope body (a message its caller scheduled), if it has a valid one. */
export function notBeforeOfBody(body: string): Date | undefined {
  try {
    const value = (JSON.parse(body) as { notBefore?: unknown }).notBefore;
    if (typeof value !== 'string') return undefined;
    const at = new Date(value);
    return Number.isNaN(at.getTime()) ? undefined : at;
  } catch {
    return undefined;
  }
}

/**
 * Longest visibility of one deferral step: SQS's 12 hours less 10 minutes (the batching window,
 * at most 5 minutes, and the invocation before the change happen after the receive).
 */
export const MAX_DEFERRAL_STEP_SECONDS = SQS_MAX_VISIBILITY_SECONDS - 600;

/** What a record's deferral is checked against. */
export interface DeferralContext {
  readonly now: Date;
  /** When the message was enqueued on this queue (its `SentTimestamp`). */
  readonly sentAt: Date;
  /** `ApproximateReceiveCount` of this delivery. */
  readonly receiveCount: number;
  /** The queue's redrive `maxReceiveCount`. */
  readonly maxReceiveCount: number;
  /** Handler runs the record still has (`maxAttempts - runsBefore`, at least 1). */
  readonly attemptsLeft: number;
  /** The lane's deferral cap, from `sentAt`. */
  readonly maxDeferralSeconds: number;
}

/** What to do with a record that must not run before a time. */
export type DeferralPlan =
  | {
      readonly action: 'defer';
      /** The visibility of this step. */
      readonly visibilitySeconds: number;
      /** Steps the whole wait takes from now (1 when it fits one step). */
      readonly steps: number;
    }
  | { readonly action: 'exhausted'; readonly reason: string }
  | { readonly action: 'run' };

/** Whole seconds from `now` until `notBefore` (rounded up), 0 when it has come. */
export function secondsUntil(notBefore: Date, now: Date): number {
  return Math.max(0, Math.ceil((notBefore.getTime() - now.getTime()) / 1000));
}

/**
 * Plans the deferral of a record until `notBefore`: `run` when that time has come, `defer` with
 * this step's visibility, or `exhausted` (with the reason) when the cap or the queue's receives
 * do not allow the wait.
 */
export function planDeferral(notBefore: Date, c: DeferralContext): DeferralPlan {
  const wait = secondsUntil(notBefore, c.now);
  if (wait === 0) return { action: 'run' };
  const capAt = c.sentAt.getTime() + c.maxDeferralSeconds * 1000;
  if (notBefore.getTime() > capAt)
    return {
      action: 'exhausted',
      reason:
        `deferred until ${notBefore.toISOString()}, past the lane's deferral cap ` +
        `(${c.maxDeferralSeconds} s after it was enqueued: ${new Date(capAt).toISOString()})`,
    };
  const steps = Math.ceil(wait / MAX_DEFERRAL_STEP_SECONDS);
  // After the steps, the receive that runs it and those of its remaining retries must come
  // before the redrive policy's limit.
  const receivesNeeded = c.receiveCount + steps - 1 + Math.max(1, c.attemptsLeft);
  if (receivesNeeded > c.maxReceiveCount)
    return {
      action: 'exhausted',
      reason:
        `its queue's receives would run out (receive ${c.receiveCount} of ${c.maxReceiveCount}, ` +
        `${steps} deferral step(s) and ${Math.max(1, c.attemptsLeft)} attempt(s) to go); ` +
        `raise the lane's deferral.maxSteps`,
    };
  return { action: 'defer', visibilitySeconds: Math.min(wait, MAX_DEFERRAL_STEP_SECONDS), steps };
}

/** The later of two optional times. */
export function laterOf(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}
