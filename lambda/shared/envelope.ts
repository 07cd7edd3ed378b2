import { randomUUID } from 'node:crypto';

/** Pattern every job type name matches. */
export const JOB_TYPE_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A v1 envelope (docs/DESIGN.md §4): the body of every message on the queues. Its schema, which
 * consumers parse with, is `EnvelopeV1` in `./envelope-schema.ts` (kept apart so the producer's
 * bundle carries no schema library).
 */
export interface Envelope {
  readonly v: 1;
  readonly id: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly createdAt: string;
  readonly correlationId: string;
}

/** Message attribute names set by the producer. */
export const ATTR = {
  type: 'type',
  correlationId: 'correlation-id',
  idempotencyKey: 'idempotency-key',
} as const;

/** Builds a new envelope; `now` and `id` are injectable for tests. */
export function createEnvelope(
  input: { type: string; payload: Record<string, unknown>; correlationId: string },
  now: Date = new Date(),
  id: string = randomUUID(),
): Envelope {
  return {
    v: 1,
    id,
    type: input.type,
    payload: input.payload,
    createdAt: now.toISOString(),
    correlationId: input.correlationId,
  };
}
