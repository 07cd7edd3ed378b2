import type { ProbeMode } from '../shared/jobs/probe-modes';
import { JOB_TYPE_PATTERN } from '../shared/envelope';
import { ApiError, type ErrorDetail } from './http';
import type { JobCatalog } from './catalog';
import { laneFor } from './routing';
import { dueTime, isNotBeforeShape, NOT_BEFORE_RULE, notBeforeProblem } from './not-before';
import { OPEN_PROBE_POLICY, probeRefusal, type ProbePolicy } from './probe-policy';

/** Largest number of entries in one batch request. */
export const MAX_BATCH_ENTRIES = 100;

/**
 * Idempotency keys double as FIFO deduplication ids, ordering keys become FIFO message group
 * ids: SQS limits both to 1–128 printable ASCII characters.
 */
const SQS_ID = /^[\x21-\x7e]{1,128}$/;
const SQS_ID_RULE = '1–128 printable ASCII characters, no spaces';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The fields of a message entry and what each must be. Hand-written rather than a schema
 * library's: the producer's bundle carries none (the payload schemas are compiled at synth).
 */
const ENTRY_FIELDS: Readonly<
  Record<string, { required: boolean; rule: string; ok: (v: unknown) => boolean }>
> = {
  type: {
    required: true,
    rule: 'a job type: 1–128 of A-Z a-z 0-9 . _ : -',
    ok: (v) => typeof v === 'string' && JOB_TYPE_PATTERN.test(v),
  },
  // Passed through as parsed, not copied: a payload's own "__proto__" key stays for the type's
  // schema to refuse.
  payload: { required: true, rule: 'a JSON object', ok: isObject },
  orderingKey: { required: false, rule: SQS_ID_RULE, ok: (v) => typeof v === 'string' && SQS_ID.test(v) },
  delaySeconds: {
    required: false,
    rule: 'an integer 0–900',
    ok: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 900,
  },
  notBefore: { required: false, rule: NOT_BEFORE_RULE, ok: isNotBeforeShape },
};
const BATCH_ENTRY_FIELDS = {
  ...ENTRY_FIELDS,
  idempotencyKey: {
    required: false,
    rule: SQS_ID_RULE,
    ok: (v: unknown) => typeof v === 'string' && SQS_ID.test(v),
  },
};

/** The problems of an entry's shape (unknown fields, missing and malformed ones), by field. */
function shapeIssues(raw: unknown, batch: boolean, prefix: string): ErrorDetail[] {
  const at = (f: string) => [prefix, f].filter(Boolean).join('.');
  if (!isObject(raw)) return [{ field: prefix || '(body)', message: 'a JSON object' }];
  const fields = batch ? BATCH_ENTRY_FIELDS : ENTRY_FIELDS;
  const issues: ErrorDetail[] = [];
  for (const [name, f] of Object.entries(fields)) {
    if (!Object.prototype.hasOwnProperty.call(raw, name)) {
      if (f.required) issues.push({ field: at(name), message: `required: ${f.rule}` });
    } else if (!f.ok(raw[name])) issues.push({ field: at(name), message: f.rule });
  }
  for (const key of Object.keys(raw))
    if (!Object.prototype.hasOwnProperty.call(fields, key))
      issues.push({ field: at(key), message: `not a field of a message${batch ? ' entry' : ''}` });
  return issues;
}

/** A validated request entry, ready to enqueue. */
export interface ValidEntry {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly orderingKey?: string;
  readonly delaySeconds?: number;
  /** Not run before this time (ISO 8601, UTC); absent when it asked for none or a past one (`./not-before.ts`). */
  readonly notBefore?: string;
  readonly idempotencyKey?: string;
  /** The lane the message goes to (`./routing.ts`). */
  readonly lane: string;
}

function summary(details: readonly ErrorDetail[]): string {
  return details.map((d) => `${d.field}: ${d.message}`).join('; ');
}

/** Validates the `Idempotency-Key` header. */
export function validateIdempotencyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SQS_ID.test(value)) {
    const details = [{ field: 'Idempotency-Key', message: SQS_ID_RULE }];
    throw new ApiError('ValidationError', summary(details), details);
  }
  return value;
}

/**
 * Validates one message entry: shape, registered type, payload schema, ordering and delay
 * rules, and the stage's allowed probe modes. Throws {@link ApiError} naming the field.
 */
export function validateEntry(
  raw: unknown,
  ctx: {
    catalog: JobCatalog;
    allowedProbeModes: readonly ProbeMode[];
    /** The stage's probe senders and limits. @default {@link OPEN_PROBE_POLICY} */
    probePolicy?: ProbePolicy;
    /** The caller (`./tenant.ts`), for the probe senders. */
    tenant?: string;
    /** The request's time (ms), for a probe's `failUntil` and `notBefore`. @default Date.now() */
    requestTime?: number;
    /** Each lane's deferral cap in seconds, the bound of `notBefore`. @default no bound */
    maxNotBeforeSeconds?: Readonly<Record<string, number>>;
    batch?: boolean;
    prefix?: string;
  },
): ValidEntry {
  const prefix = ctx.prefix ?? '';
  const problems = shapeIssues(raw, ctx.batch ?? false, prefix);
  if (problems.length > 0) throw new ApiError('ValidationError', summary(problems), problems);
  const e = raw as Omit<ValidEntry, 'lane'>;
  const field = (f: string) => [prefix, f].filter(Boolean).join('.');
  if (!ctx.catalog.has(e.type)) {
    // Names only the caller's own input: the catalog is not listed to any caller.
    throw new ApiError('UnknownType', `Unknown message type "${e.type}"`, [
      { field: field('type'), message: 'not a registered type' },
    ]);
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
  if (e.notBefore !== undefined) {
    const problem =
      e.delaySeconds !== undefined
        ? 'not with delaySeconds (give one of them)'
        : notBeforeProblem(e.notBefore, ctx.maxNotBeforeSeconds?.[route.lane], ctx.requestTime ?? Date.now());
    if (problem) {
      const details = [{ field: field('notBefore'), message: problem }];
      throw new ApiError('ValidationError', summary(details), details);
    }
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
    const refusal = probeRefusal(
      payload,
      ctx.tenant,
      ctx.probePolicy ?? OPEN_PROBE_POLICY,
      ctx.requestTime ?? Date.now(),
      field,
    );
    if (refusal) throw new ApiError(refusal.code, summary(refusal.details), refusal.details);
  }
  const { notBefore: asked, ...rest } = e;
  const notBefore = dueTime(asked, ctx.requestTime ?? Date.now());
  return { ...rest, payload, lane: route.lane, ...(notBefore !== undefined ? { notBefore } : {}) };
}

/** Validates the outer shape of a batch request; entries are validated one by one afterwards. */
export function validateBatchShape(raw: unknown): unknown[] {
  const fail = (field: string, message: string): never => {
    const details = [{ field, message }];
    throw new ApiError('ValidationError', summary(details), details);
  };
  if (!isObject(raw)) return fail('(body)', 'a JSON object with "messages"');
  const extra = Object.keys(raw).find((k) => k !== 'messages');
  if (extra !== undefined) fail(extra, 'not a field of a batch request (only "messages")');
  const messages = raw.messages;
  if (!Array.isArray(messages))
    return fail('messages', `required: an array of 1–${MAX_BATCH_ENTRIES} messages`);
  if (messages.length < 1) fail('messages', 'at least 1 message');
  if (messages.length > MAX_BATCH_ENTRIES) fail('messages', `at most ${MAX_BATCH_ENTRIES} messages`);
  return messages;
}
