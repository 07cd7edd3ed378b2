/**
 * Completion events (issue 18, item 2; docs/DESIGN.md §3.6): one EventBridge event per terminal
 * outcome of a message, built from its status row as the table's stream delivers it
 * (`lambda/completion-relay`). The row is the outbox: the consumer's terminal status write is the
 * only write on the hot path, and the stream keeps it 24 hours for the relay, whatever happens to
 * the consumer's runtime afterwards.
 *
 * At least once: a relay retry can publish an event twice; `detail.eventId` is the same on both
 * (the message id, the outcome and the time of the terminal write), so receivers de-duplicate on it.
 */
import { FAILURE_KINDS, type FailureKind } from '../failure-kinds';

/** The `source` of every completion event. */
export const COMPLETION_EVENT_SOURCE = 'event-pipeline';

/** `detail-type` by outcome. */
export const COMPLETION_DETAIL_TYPES = {
  succeeded: 'Message Succeeded',
  failed: 'Message Failed',
} as const;

/** The terminal states that publish an event. */
export type TerminalState = keyof typeof COMPLETION_DETAIL_TYPES;

/** The `detail` of a completion event (`schemas/completion-event.v1.schema.json`). */
export interface CompletionDetail {
  /** The event's stable id: `<id>:<status>:<finishedAt>`; equal on every copy of one event. */
  readonly eventId: string;
  /** The envelope id (the 202's `id`). */
  readonly id: string;
  readonly type: string;
  readonly lane: string;
  readonly queue: 'standard' | 'fifo';
  readonly status: TerminalState;
  /** The tenant whose request the API accepted (`null` for a message that entered without the API). */
  readonly tenant: string | null;
  readonly correlationId: string | null;
  /** Handler runs that counted against the message's attempts. */
  readonly attempts: number;
  readonly deferrals: number;
  readonly acceptedAt: string;
  /** When the terminal status was written. */
  readonly finishedAt: string;
  /** `succeeded`: the result when it is kept on the row (else `null`: none, or see `resultUrl`). */
  readonly result: unknown;
  /**
   * `succeeded` with a result too large for the row: its path under the API's base URL
   * (`/v1/messages/<id>/result`); `null` otherwise.
   */
  readonly resultPath: string | null;
  readonly resultBytes: number | null;
  /** `failed`: its kind, archive record and last error. */
  readonly failure: {
    readonly kind: FailureKind;
    readonly archiveKey: string | null;
    readonly error: { readonly name: string; readonly message: string } | null;
  } | null;
  /** The message whose handler enqueued this one. */
  readonly parentId: string | null;
  /** The follow-up jobs its handler enqueued. */
  readonly children: readonly string[];
}

/** A completion event as `PutEvents` takes it (without the bus name). */
export interface CompletionEntry {
  readonly Source: typeof COMPLETION_EVENT_SOURCE;
  readonly DetailType: (typeof COMPLETION_DETAIL_TYPES)[TerminalState];
  readonly Detail: string;
  readonly detail: CompletionDetail;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The completion event of a status row's change, or `undefined` when the change is not a
 * terminal transition: the new row is `succeeded` or `failed` and the old one (none on an insert)
 * was in another state. A terminal row written again (a duplicate delivery catching up, a sweeper
 * pass) publishes nothing. Rows are plain objects (the stream images, unmarshalled).
 */
export function completionEventOf(
  oldRow: Record<string, unknown> | undefined,
  newRow: Record<string, unknown> | undefined,
): CompletionEntry | undefined {
  const status = newRow?.status;
  if (status !== 'succeeded' && status !== 'failed') return undefined;
  if (oldRow?.status === status) return undefined;
  const row = newRow!;
  const id = String(row.id);
  const finishedAt = String(row.updatedAt);
  const ref = row.resultRef as { key?: unknown; bytes?: unknown } | undefined;
  const failure = row.failure as { kind?: unknown; archiveKey?: unknown } | null | undefined;
  const lastError = row.lastError as { name?: unknown; message?: unknown } | null | undefined;
  let result: unknown = null;
  if (typeof row.resultJson === 'string') {
    try {
      result = JSON.parse(row.resultJson);
    } catch {
      // A result the row cannot give back as JSON is no result (it stays null).
    }
  }
  const detail: CompletionDetail = {
    eventId: `${id}:${status}:${finishedAt}`,
    id,
    type: String(row.type),
    lane: str(row.lane) ?? String(row.queue),
    queue: row.queue === 'fifo' ? 'fifo' : 'standard',
    status,
    tenant: str(row.owner),
    correlationId: str(row.correlationId),
    attempts: Number(row.attempts ?? 0),
    deferrals: Number(row.deferrals ?? 0),
    acceptedAt: String(row.acceptedAt),
    finishedAt,
    result: status === 'succeeded' ? result : null,
    resultPath: status === 'succeeded' && ref ? `/v1/messages/${id}/result` : null,
    resultBytes: status === 'succeeded' && ref ? Number(ref.bytes) : null,
    failure:
      status === 'failed'
        ? {
            kind: (FAILURE_KINDS as readonly unknown[]).includes(failure?.kind)
              ? (failure!.kind as FailureKind)
              : 'exhausted',
            archiveKey: str(failure?.archiveKey),
            error: lastError
              ? { name: String(lastError.name ?? 'Error'), message: String(lastError.message ?? '') }
              : null,
          }
        : null,
    parentId: str(row.parentId),
    children: Array.isArray(row.children) ? (row.children as unknown[]).map(String) : [],
  };
  return {
    Source: COMPLETION_EVENT_SOURCE,
    DetailType: COMPLETION_DETAIL_TYPES[status],
    Detail: JSON.stringify(detail),
    detail,
  };
}
