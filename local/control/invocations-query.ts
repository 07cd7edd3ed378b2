import type { InvocationRecord } from './journal';

/** Outcomes `GET /_local/invocations?outcome=` selects. */
export const INVOCATION_OUTCOMES = ['ok', 'failed'] as const;
/** One of {@link INVOCATION_OUTCOMES}. */
export type InvocationOutcome = (typeof INVOCATION_OUTCOMES)[number];

/** The filters of `GET /_local/invocations`; every one given must hold. */
export interface InvocationQuery {
  /** The function's logical id. */
  readonly function?: string;
  /** `ok`: no error and no batch item failure; `failed`: an error or at least one failed record. */
  readonly outcome?: InvocationOutcome;
  /** SQS message ids: an invocation that had any of them in its event. */
  readonly messageIds?: readonly string[];
  /** Only the newest `limit` matches (still oldest first). */
  readonly limit?: number;
}

/** A query parameter that cannot be used: the answer is 400 naming it. */
export class InvocationQueryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvocationQueryError';
  }
}

/** The outcome of an invocation as {@link InvocationQuery.outcome} sees it. */
export function outcomeOf(r: InvocationRecord): InvocationOutcome {
  return r.error === null && r.batchItemFailures.length === 0 ? 'ok' : 'failed';
}

const PARAMETERS = new Set(['function', 'outcome', 'messageId', 'envelopeId', 'limit']);

/**
 * Reads the query of `GET /_local/invocations` (`function`, `outcome`, `messageId`, `limit`;
 * `envelopeId` is resolved by the caller, through the status table). `functions` are the
 * template's function logical ids: an unknown name is refused rather than answered with nothing.
 * Throws {@link InvocationQueryError} naming the parameter.
 */
export function parseInvocationQuery(params: URLSearchParams, functions: readonly string[]): InvocationQuery {
  for (const name of params.keys()) {
    if (!PARAMETERS.has(name))
      throw new InvocationQueryError(
        name,
        `unknown parameter ${name} (use ${[...PARAMETERS].map((p) => `${p}=`).join(', ')})`,
      );
  }
  const fn = params.get('function') ?? undefined;
  if (fn !== undefined && !functions.includes(fn))
    throw new InvocationQueryError('function', `no function ${fn} (functions: ${functions.join(', ')})`);
  const outcome = params.get('outcome') ?? undefined;
  if (outcome !== undefined && !(INVOCATION_OUTCOMES as readonly string[]).includes(outcome))
    throw new InvocationQueryError(
      'outcome',
      `outcome must be ${INVOCATION_OUTCOMES.join(' or ')}, not ${outcome}`,
    );
  const messageId = params.get('messageId') ?? undefined;
  if (messageId !== undefined && messageId.trim() === '')
    throw new InvocationQueryError('messageId', 'messageId must not be empty');
  const rawLimit = params.get('limit') ?? undefined;
  const limit = rawLimit === undefined ? undefined : Number(rawLimit);
  if (limit !== undefined && (!/^\d+$/.test(rawLimit!) || limit < 1))
    throw new InvocationQueryError('limit', `limit must be a positive integer, not ${rawLimit}`);
  return {
    ...(fn !== undefined ? { function: fn } : {}),
    ...(outcome !== undefined ? { outcome: outcome as InvocationOutcome } : {}),
    ...(messageId !== undefined ? { messageIds: [messageId.trim()] } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** The records of `records` (oldest first) that match `q`, oldest first. */
export function filterInvocations(
  records: readonly InvocationRecord[],
  q: InvocationQuery,
): InvocationRecord[] {
  const ids = q.messageIds ? new Set(q.messageIds) : undefined;
  const out = records.filter(
    (r) =>
      (q.function === undefined || r.function === q.function) &&
      (q.outcome === undefined || outcomeOf(r) === q.outcome) &&
      (ids === undefined || r.messageIds.some((id) => ids.has(id))),
  );
  return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
}
