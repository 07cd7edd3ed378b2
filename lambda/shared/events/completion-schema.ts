import { z } from '../jobs/zod';
import { FAILURE_KINDS } from '../failure-kinds';
import { COMPLETION_DETAIL_TYPES, COMPLETION_EVENT_SOURCE } from './completion';

const isoTime = z.iso.datetime({ offset: true });

/**
 * The `detail` of a completion event (docs/DESIGN.md §3.6): `schemas/completion-event.v1.schema.json`
 * is generated from it (`npm run schema`). The relay builds it without this schema
 * (`./completion.ts`, no zod in its bundle); a unit test checks that every detail it builds passes.
 */
export const CompletionDetailV1 = z
  .object({
    eventId: z.string().meta({
      description:
        'Stable id of this event: "<id>:<status>:<finishedAt>". Delivery is at least once: de-duplicate on it.',
    }),
    id: z.uuid().meta({ description: "The message's envelope id (the 202's id)." }),
    type: z.string(),
    lane: z.string(),
    queue: z.enum(['standard', 'fifo']),
    status: z.enum(['succeeded', 'failed']),
    tenant: z
      .string()
      .nullable()
      .meta({ description: 'Who sent it; null for a message that entered without the API.' }),
    correlationId: z.string().nullable(),
    attempts: z.number().int().min(0),
    deferrals: z.number().int().min(0),
    acceptedAt: isoTime,
    finishedAt: isoTime.meta({ description: 'When the terminal status was written.' }),
    result: z.json().nullable().meta({
      description: 'succeeded: the JSON value the handler returned, when at most 16 KiB; else null.',
    }),
    resultPath: z.string().nullable().meta({
      description:
        'succeeded with a larger result: GET this path under the API base URL (/v1/messages/<id>/result).',
    }),
    resultBytes: z.number().int().min(0).nullable(),
    failure: z
      .object({
        kind: z.enum(FAILURE_KINDS),
        archiveKey: z.string().nullable(),
        error: z.object({ name: z.string(), message: z.string() }).strict().nullable(),
      })
      .strict()
      .nullable(),
    parentId: z
      .uuid()
      .nullable()
      .meta({ description: 'The message whose handler enqueued this one (ctx.enqueue).' }),
    children: z
      .array(z.uuid())
      .meta({ description: 'The follow-up jobs its handler enqueued, in call order.' }),
  })
  .strict()
  .meta({
    title: 'Event pipeline completion event detail v1',
    description: `The detail of the "${COMPLETION_DETAIL_TYPES.succeeded}" and "${COMPLETION_DETAIL_TYPES.failed}" events (source "${COMPLETION_EVENT_SOURCE}") on the stage's bus.`,
  });
