import { SQS_MAX_VISIBILITY_SECONDS } from './constants';

/** Exponential backoff settings, in seconds. */
export interface BackoffSettings {
  readonly baseSeconds: number;
  readonly capSeconds: number;
}

/** SQS's largest visibility timeout (12 hours): no delay can exceed it. */
export { SQS_MAX_VISIBILITY_SECONDS as MAX_VISIBILITY_SECONDS } from './constants';

/**
 * The delay before attempt `receiveCount + 1`: exponential in the attempt number, capped, with
 * "equal jitter" (a random point in the upper half) so retries of one outage spread out without
 * ever retrying sooner than half the nominal delay.
 *
 * Bounds: `ceil(d / 2) <= result <= d`, where `d = min(cap, base * 2^(receiveCount - 1))`.
 *
 * @example backoffSeconds(3, { baseSeconds: 10, capSeconds: 600 }) // 20–40
 */
export function backoffSeconds(
  receiveCount: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const attempt = Math.max(1, Math.floor(receiveCount));
  const nominal = Math.min(settings.capSeconds, settings.baseSeconds * 2 ** Math.min(attempt - 1, 30));
  const half = Math.ceil(nominal / 2);
  const delay = half + Math.floor(random() * (nominal - half + 1));
  return Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(0, Math.min(nominal, delay)));
}
