import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidMessageError } from './errors';

/** Pattern every job type name matches. */
export const JOB_TYPE_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The versioned envelope carried as the body of every SQS message (docs/DESIGN.md §4).
 * `schemas/envelope.v1.schema.json` is generated from this schema (`npm run schema`).
 */
export const EnvelopeV1 = z
  .object({
    v: z.literal(1),
    id: z.uuid(),
    type: z.string().regex(JOB_TYPE_PATTERN),
    payload: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
    correlationId: z.string().min(1).max(256),
  })
  .strict()
  .meta({
    title: 'Event pipeline message envelope v1',
    description: 'Body of every message on the pipeline queues.',
  });

/** A parsed v1 envelope. */
export type Envelope = z.infer<typeof EnvelopeV1>;

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

/** Parses a message body into an envelope or throws {@link InvalidMessageError} (permanent). */
export function parseEnvelope(body: string): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidMessageError('Message body is not JSON');
  }
  const result = EnvelopeV1.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidMessageError(`Message body is not a v1 envelope: ${issues.join('; ')}`, issues);
  }
  return result.data;
}
