import { EnvValueError } from '../shared/env-contract';
import type { ErrorDetail, ErrorCode } from './http';

/**
 * Who may send the `probe` canary on this stage and how hard it may fail (the stage's
 * `probes` setting, docs/DESIGN.md §4). The producer reads it from `PROBE_LIMITS`.
 */
export interface ProbePolicy {
  /** Tenants allowed to send probes; `'any'`: every caller; `[]`: probes are off. */
  readonly senders: 'any' | readonly string[];
  /** Largest `failTimes`. */
  readonly maxFailTimes: number;
  /** Largest `sleepMs`. */
  readonly maxSleepMs: number;
  /** Latest `failUntil`, in seconds after the request. */
  readonly maxFailUntilSeconds: number;
}

/** A policy that refuses nothing the probe's schema accepts (tests and tools). */
export const OPEN_PROBE_POLICY: ProbePolicy = {
  senders: 'any',
  maxFailTimes: 1000,
  maxSleepMs: 900_000,
  maxFailUntilSeconds: 31_536_000,
};

const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A check for the `PROBE_LIMITS` variable (`json(...)`): a {@link ProbePolicy}. */
export function probePolicyOf(value: unknown): ProbePolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EnvValueError(
      'must be a JSON object { senders, maxFailTimes, maxSleepMs, maxFailUntilSeconds }',
    );
  const v = value as Record<string, unknown>;
  const senders = v.senders;
  if (
    senders !== 'any' &&
    !(Array.isArray(senders) && senders.every((s) => typeof s === 'string' && s !== ''))
  )
    throw new EnvValueError('must be "any" or an array of tenant names', 'senders');
  for (const k of ['maxFailTimes', 'maxSleepMs', 'maxFailUntilSeconds'] as const)
    if (!count(v[k])) throw new EnvValueError('must be an integer >= 0', k);
  return {
    senders: senders as ProbePolicy['senders'],
    maxFailTimes: v.maxFailTimes as number,
    maxSleepMs: v.maxSleepMs as number,
    maxFailUntilSeconds: v.maxFailUntilSeconds as number,
  };
}

/** Why a probe is refused: the API error code and the fields at fault. */
export interface ProbeRefusal {
  readonly code: Extract<ErrorCode, 'Forbidden' | 'ValidationError'>;
  readonly details: readonly ErrorDetail[];
}

/**
 * Whether this stage refuses a `probe` (its payload already valid against the probe's schema)
 * from `tenant` at `now`: `Forbidden` (naming `type`) for a caller that is not one of the
 * stage's probe senders, else a `ValidationError` naming each of `failTimes`, `sleepMs` and
 * `failUntil` over the stage's limit; `undefined` when the probe is accepted.
 *
 * @example probeRefusal({ mode: 'succeed', failTimes: 1000 }, 'ops', prodPolicy, Date.now())
 * // { code: 'ValidationError', details: [{ field: 'payload.failTimes', message: 'at most 2 on this stage' }] }
 */
export function probeRefusal(
  payload: { readonly failTimes?: number; readonly sleepMs?: number; readonly failUntil?: string },
  tenant: string | undefined,
  policy: ProbePolicy,
  now: number,
  field: (f: string) => string = (f) => f,
): ProbeRefusal | undefined {
  if (policy.senders !== 'any' && (tenant === undefined || !policy.senders.includes(tenant)))
    return {
      code: 'Forbidden',
      details: [
        {
          field: field('type'),
          message:
            policy.senders.length === 0
              ? 'probes are off on this stage'
              : 'this caller may not send probes on this stage (it is not one of its probe senders)',
        },
      ],
    };
  const details: ErrorDetail[] = [];
  if ((payload.failTimes ?? 0) > policy.maxFailTimes)
    details.push({
      field: field('payload.failTimes'),
      message: `at most ${policy.maxFailTimes} on this stage`,
    });
  if ((payload.sleepMs ?? 0) > policy.maxSleepMs)
    details.push({ field: field('payload.sleepMs'), message: `at most ${policy.maxSleepMs} on this stage` });
  if (
    payload.failUntil !== undefined &&
    Date.parse(payload.failUntil) > now + policy.maxFailUntilSeconds * 1000
  )
    details.push({
      field: field('payload.failUntil'),
      message: `at most ${policy.maxFailUntilSeconds} s after the request on this stage`,
    });
  return details.length > 0 ? { code: 'ValidationError', details } : undefined;
}
