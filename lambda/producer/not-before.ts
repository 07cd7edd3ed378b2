/**
 * A message's `notBefore` (issue 22: run later): the time before which its consumer does not run
 * it. Standard lanes send it with the SQS delay up to 15 minutes; past that, and on FIFO lanes
 * (no per-message delay: the message holds its group's place), the consumer hides it again
 * without running it until it is due (`lambda/shared/consumer/deferral.ts`). Its row says
 * `scheduled` with `notBefore` until then.
 */

/** An RFC 3339 date-time with a time zone (`Z` or `±hh:mm`), seconds and fractions optional. */
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

/** The shape rule of the `notBefore` field. */
export const NOT_BEFORE_RULE = 'an RFC 3339 date-time with a time zone, e.g. 2026-12-05T10:00:00Z';

/** True for a value of `notBefore`'s shape (its bound is checked once the lane is known). */
export function isNotBeforeShape(value: unknown): value is string {
  return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * The problem of a `notBefore` for a message of `lane` requested at `requestTime` (ms), or
 * `undefined`: it may be at most the lane's deferral cap ahead (`maxSeconds`), so the message is
 * never held past its queue's retention. A time already past is accepted (the message runs at once).
 */
export function notBeforeProblem(
  value: string,
  maxSeconds: number | undefined,
  requestTime: number,
): string | undefined {
  if (maxSeconds === undefined) return undefined;
  const ahead = (Date.parse(value) - requestTime) / 1000;
  if (ahead > maxSeconds)
    return `at most ${maxSeconds} s after the request (this lane's deferral cap), got ${Math.ceil(ahead)} s`;
  return undefined;
}

/** The `notBefore` to enqueue: normalized to UTC, or none when it has already come. */
export function dueTime(value: string | undefined, requestTime: number): string | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  return at > requestTime ? new Date(at).toISOString() : undefined;
}
