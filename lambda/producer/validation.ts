import { z } from 'zod';
import type { ProbeMode } from '../shared/jobs/probe';
import { JOB_TYPE_PATTERN } from '../shared/envelope';
import type { JobCatalog } from './catalog';
import { laneFor } from './routing';
import { ApiError, type ErrorDetail } from './http';

/** Largest number of entries in one batch request. */
export const MAX_BATCH_ENTRIES = 100;

/** Idempotency keys double as FIFO deduplication ids: 1–128 printable ASCII characters. */
const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, '1–128 printable ASCII characters, no spaces');

/** Ordering keys become FIFO message group ids, which SQS limits to the same character set. */
const OrderingKey = z.string().regex(/^[\x21-\x7e]{1,128}$/, '1–128 printable ASCII characters, no spaces');

const Entry = z
  .object({
    type: z.string().regex(JOB_TYPE_PATTERN, 'a job type: 1–128 of A-Z a-z 0-9 . _ : -'),
    // Passed through as parsed, not copied: zod's record copy drops a "__proto__" key (by design),
    // which would accept with 202 a payload whose own key the type's strict schema refuses.
    payload: z.custom<Record<string, unknown>>(
      (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
      'a JSON object',
    ),
    orderingKey: OrderingKey.optional(),
    delaySeconds: z.number().int().min(0).max(900).optional(),
  })
  .strict();

const BatchEntry = Entry.extend({ idempotencyKey: IdempotencyKey.optional() }).strict();

const BatchRequest = z.object({ messages: z.array(z.unknown()).min(1).max(MAX_BATCH_ENTRIES) }).strict();

/** A validated request entry, ready to enqueue. */
export interface ValidEntry {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly orderingKey?: string;
  readonly delaySeconds?: number;
  readonly idempotencyKey?: string;
  /** The lane the message goes to (`./routing.ts`). */
  readonly lane: string;
}

function detailsOf(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: i.message,
  }));
}

function summary(details: readonly ErrorDetail[]): string {
  return details.map((d) => `${d.field}: ${d.message}`).join('; ');
}

/** Validates the `Idempotency-Key` header. */
export function validateIdempotencyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const r = IdempotencyKey.safeParse(value);
  if (!r.success) {
    const details = [{ field: 'Idempotency-Key', message: r.error.issues[0]?.message ?? 'invalid' }];
    throw new ApiError('ValidationError', summary(details), details);
  }
  return r.data;
}

/**
 * Validates one message entry: shape, registered type, payload schema, ordering and delay
 * rules, and the stage's allowed probe modes. Throws {@link ApiError} naming the field.
 */
export function validateEntry(
  raw: unknown,
  ctx: { catalog: JobCatalog; allowedProbeModes: readonly ProbeMode[]; batch?: boolean; prefix?: string },
): ValidEntry {
  const prefix = ctx.prefix ?? '';
  const parsed = (ctx.batch ? BatchEntry : Entry).safeParse(raw);
  if (!parsed.success) {
    const details = detailsOf(parsed.error, prefix);
    throw new ApiError('ValidationError', summary(details), details);
  }
  const e = parsed.data as Omit<ValidEntry, 'lane'>;
  const field = (f: string) => [prefix, f].filter(Boolean).join('.');
  if (!ctx.catalog.has(e.type)) {
    throw new ApiError(
      'UnknownType',
      `Unknown message type "${e.type}". Registered types: ${ctx.catalog.types().join(', ')}`,
      [{ field: field('type'), message: 'not a registered type' }],
    );
  }
  const checked = ctx.catalog.validate(e.type, e.payload);
  if (!checked.ok) {
    const details = checked.issues.map((i) => ({ field: field(i.field), message: i.message }));
    throw new ApiError('ValidationError', summary(details), details);
  }
  const payload = checked.payload;
  const route = laneFor(e.type, ctx.catalog.get(e.type), e.orderingKey);
  if (!route.ok) {
    const details = [{ field: field(route.field), message: route.message }];
    throw new ApiError('ValidationError', summary(details), details);
  }
  if (e.orderingKey !== undefined && e.delaySeconds !== undefined && e.delaySeconds > 0) {
    const details = [
      {
        field: field('delaySeconds'),
        message: 'not supported with orderingKey (FIFO queues have no per-message delay)',
      },
    ];
    throw new ApiError('ValidationError', summary(details), details);
  }
  if (e.type === 'probe') {
    const mode = (payload as { mode: ProbeMode }).mode;
    if (!ctx.allowedProbeModes.includes(mode)) {
      const details = [
        {
          field: field('payload.mode'),
          message: `probe mode "${mode}" is not allowed on this stage (allowed: ${ctx.allowedProbeModes.join(', ')})`,
        },
      ];
      throw new ApiError('ValidationError', summary(details), details);
    }
  }
  return { ...e, payload, lane: route.lane };
}

/** Validates the outer shape of a batch request; entries are validated one by one afterwards. */
export function validateBatchShape(raw: unknown): unknown[] {
  const r = BatchRequest.safeParse(raw);
  if (!r.success) {
    const details = detailsOf(r.error);
    throw new ApiError('ValidationError', summary(details), details);
  }
  return r.data.messages;
}
