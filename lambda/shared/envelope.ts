import { randomUUID } from 'node:crypto';
import { TENANT_MAX_BYTES } from './constants';

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
  /**
   * Who sent it: the tenant the API authenticated (`tenantOf` in `lambda/producer/tenant.ts`).
   * Absent on a message that entered a queue without the API.
   */
  readonly tenant?: string;
  /** Not run before this time (ISO 8601): a message its caller scheduled. @default run at once */
  readonly notBefore?: string;
  /** The message whose handler enqueued this one (`ctx.enqueue`). @default none */
  readonly parentId?: string;
}

/** Control characters (C0, DEL, C1) and lone surrogates: never in a tenant name. */
const NOT_IN_TENANT = /[\p{Cc}\p{Cs}]/u;

/**
 * True for a valid tenant name: a non-empty string without control characters or lone
 * surrogates, at most {@link TENANT_MAX_BYTES} bytes as JSON text (so that it fits the envelope's
 * reserve). Tenant names key idempotency records and status rows and appear in log lines.
 */
export function isTenantName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    !NOT_IN_TENANT.test(value) &&
    Buffer.byteLength(JSON.stringify(value)) <= TENANT_MAX_BYTES
  );
}

/** Message attribute names set by the producer. */
export const ATTR = {
  type: 'type',
  correlationId: 'correlation-id',
  idempotencyKey: 'idempotency-key',
} as const;

/** Builds a new envelope; `now` and `id` are injectable for tests. */
export function createEnvelope(
  input: {
    type: string;
    payload: Record<string, unknown>;
    correlationId: string;
    tenant?: string;
    notBefore?: string;
    parentId?: string;
  },
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
    ...(input.tenant !== undefined ? { tenant: input.tenant } : {}),
    ...(input.notBefore !== undefined ? { notBefore: input.notBefore } : {}),
    ...(input.parentId !== undefined ? { parentId: input.parentId } : {}),
  };
}
