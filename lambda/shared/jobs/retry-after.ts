import type { RetryLater } from '../errors';

/** delta-seconds: one or more digits (RFC 9110 §10.2.3). */
const DELTA_SECONDS = /^\d+$/;

/**
 * Reads an HTTP `Retry-After` header (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) into what
 * {@link RetryLaterError}'s constructor takes: `{ after: seconds }` or `{ after: Date }`. An absent,
 * empty or unreadable value gives `undefined` (choose your own wait then); a date in the past
 * gives `{ after: 0 }`.
 *
 * @example
 * if (res.status === 429 || res.status === 503)
 *   throw new RetryLaterError(retryAfter(res.headers.get('retry-after')) ?? { after: 60 });
 */
export function retryAfter(
  headerValue: string | null | undefined,
  now: Date = new Date(),
): RetryLater | undefined {
  const value = headerValue?.trim();
  if (!value) return undefined;
  if (DELTA_SECONDS.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds) ? { after: seconds } : undefined;
  }
  // HTTP-date (IMF-fixdate; the obsolete RFC 850 and asctime forms Date.parse also reads).
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return at <= now.getTime() ? { after: 0 } : { after: new Date(at) };
}
