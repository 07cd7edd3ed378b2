import { z } from './jobs/zod';
import { TENANT_MAX_BYTES } from './constants';
import { type Envelope, isTenantName, JOB_TYPE_PATTERN } from './envelope';
import { InvalidMessageError } from './errors';

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
    tenant: z
      .string()
      .min(1)
      .max(TENANT_MAX_BYTES)
      .refine(isTenantName, {
        message: `a tenant name: no control characters, at most ${TENANT_MAX_BYTES} bytes as JSON`,
      })
      .meta({
        description:
          'Who sent the message: the tenant the API authenticated. Absent on a message that entered a queue without the API. ' +
          `No control characters; at most ${TENANT_MAX_BYTES} bytes as JSON text.`,
      })
      .optional(),
    notBefore: z.iso
      .datetime({ offset: true })
      .meta({
        description:
          'Not run before this time: a message its caller scheduled (POST /v1/messages notBefore). Absent: run at once.',
      })
      .optional(),
    parentId: z
      .uuid()
      .meta({
        description:
          'The message whose job handler enqueued this one (ctx.enqueue); it shares its correlationId and tenant. Absent: sent through the API.',
      })
      .optional(),
  })
  .strict()
  .meta({
    title: 'Event pipeline message envelope v1',
    description: 'Body of every message on the pipeline queues.',
  });

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
  return result.data as Envelope;
}
