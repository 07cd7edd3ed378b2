import type { MessageState, MessageStatus } from '../../lambda/shared/status/types';
import { outcomeOf } from './invocations-query';
import type { InvocationRecord } from './journal';

/** The fields of a status row (`GET /v1/messages/{id}`'s body) the timeline reads. */
export type TimelineStatus = Pick<
  MessageStatus,
  | 'id'
  | 'type'
  | 'lane'
  | 'status'
  | 'attempts'
  | 'acceptedAt'
  | 'updatedAt'
  | 'lastError'
  | 'failure'
  | 'messageIds'
> &
  Partial<
    Pick<
      MessageStatus,
      'result' | 'resultRef' | 'correlationId' | 'parentId' | 'children' | 'notBefore' | 'deferrals'
    >
  >;

/** A completion event of the message, as local mode's events log keeps it. */
export interface CompletionEventFacts {
  /** When the bus accepted it (ISO). */
  readonly at: string;
  readonly bus: string;
  /** `Message Succeeded` / `Message Failed`. */
  readonly detailType: string;
  /** The EventBridge event's id. */
  readonly eventBridgeId: string;
  /** The event's stable id (`detail.eventId`). */
  readonly eventId: string | null;
  /** Log group targets it reached. */
  readonly logGroups: readonly string[];
}

/** What the message's handler returned: the value (kept on the row), or where a larger one is. */
export type ResultFacts =
  | { readonly kind: 'inline'; readonly value: unknown }
  | { readonly kind: 'stored'; readonly url: string; readonly bytes: number };

/** One step of a message's life, as the console draws it. */
export interface TimelineEvent {
  /** ISO time; `null` for what has no time (where the message is now). */
  readonly at: string | null;
  readonly kind: 'accepted' | 'run' | 'status' | 'waiting' | 'dlq' | 'archive' | 'action';
  /** One line: what happened. */
  readonly title: string;
  /** What else is known (function, duration, error), one line each. */
  readonly detail: readonly string[];
  /** How it went. */
  readonly tone: 'ok' | 'failed' | 'info';
}

/** A copy of the message in a queue now, as the emulator holds it. */
export interface QueuedCopy {
  readonly queue: string;
  readonly role: 'queue' | 'dlq';
  readonly messageId: string;
  readonly state: 'visible' | 'in flight' | 'delayed';
  readonly receiveCount: number;
  readonly sentAt: string;
  /** The envelope's `notBefore` (a message sent to run later), if it has one. */
  readonly notBefore?: string;
  /** DLQ copies: the consumer's annotations (`failure-kind`, `failure-error`). */
  readonly failureKind?: string;
  readonly errorName?: string;
}

/** What the console knows of one archive record of the message (no body: payloads stay out). */
export interface ArchiveFacts {
  readonly key: string;
  readonly archivedAt: string;
  readonly kind: string;
  readonly errorName: string;
  readonly errorMessage: string;
  readonly receiveCount: number;
}

/** Something the console did to the message (a redrive or a replay). */
export interface ConsoleAction {
  readonly at: string;
  readonly action: 'redrive' | 'replay';
  readonly envelopeId: string | null;
  readonly messageId: string;
  readonly outcome: string;
  readonly newMessageId?: string;
}

/** The status row's internal logs: the SQS message id of each handler run, of each run that deferred, of each delivery hidden again unrun. */
export interface RowLogs {
  readonly runs: readonly string[];
  readonly deferrals: readonly string[];
  readonly waits: readonly string[];
}

/**
 * One change of the message's status as the console can know it. The consumer keeps only the
 * current state on the row, so most are derived: `row` (a time the status row holds), `journal`
 * (a handler run's start or end, which the journal times: the consumer writes `processing` just
 * before the handler and the outcome just after), `derived` (the journal's outcome of a delivery,
 * told apart by the row's counts of runs, deferrals and unrun deliveries).
 */
export interface StatusTransition {
  readonly at: string | null;
  /** The state entered; `waiting` where the row's counts cannot tell a retry, a deferral and an unrun delivery apart. */
  readonly state: MessageState | 'waiting';
  readonly source: 'row' | 'journal' | 'derived';
  /** How it is known, one line. */
  readonly how: string;
  /** The SQS message id of the delivery, where there is one. */
  readonly messageId?: string;
}

/** The answer of `GET /_local/console/message?id=`. */
export interface MessageLife {
  /** The id searched for. */
  readonly query: string;
  readonly envelopeId: string | null;
  /** Every SQS message id the message has had. */
  readonly messageIds: readonly string[];
  readonly status: TimelineStatus | null;
  readonly events: readonly TimelineEvent[];
  /** `succeeded`: its result, or where it is (`null`: none, or not succeeded). */
  readonly result: ResultFacts | null;
  /** Its completion events on the stage's bus, oldest first. */
  readonly completionEvents: readonly CompletionEventFacts[];
  readonly correlationId: string | null;
  /** The message whose handler enqueued it. */
  readonly parentId: string | null;
  /** The messages its handler enqueued. */
  readonly children: readonly string[];
  /** Each status transition the console can know, in order ({@link statusTransitions}). */
  readonly transitions: readonly StatusTransition[];
}

/** Inputs of {@link buildTimeline}. */
export interface TimelineFacts {
  readonly query: string;
  readonly envelopeId: string | null;
  readonly status: TimelineStatus | null;
  /** Message ids known without the status row (a copy in a queue, the id searched for). */
  readonly messageIds: readonly string[];
  /** The journal, oldest first (only records that name one of the message ids are read). */
  readonly journal: readonly InvocationRecord[];
  readonly copies: readonly QueuedCopy[];
  readonly archive: ArchiveFacts | null;
  readonly actions: readonly ConsoleAction[];
  /** Its completion events (local mode's events log). @default none */
  readonly completionEvents?: readonly CompletionEventFacts[];
  /** The API's base URL, for the link of a result kept in S3. @default a path (`/v1/messages/<id>/result`) */
  readonly apiUrl?: string;
  /** The status row's run, deferral and wait logs. @default unknown (deliveries are not told apart) */
  readonly logs?: RowLogs;
  /** The envelope's `notBefore`, where the console saw it on a queue (sent to run later). @default unknown */
  readonly sentNotBefore?: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The message's status transitions, oldest first: accepted (or scheduled) from the row; for each
 * delivery in the journal, `processing` at the run's start and its outcome at its end (a failed
 * delivery is a retry, a deferral by the handler or a delivery hidden again unrun: the row counts
 * each kind per SQS message id, not their order, so a delivery is named only where the counts
 * leave one kind; else `waiting`); the row's state now (with its time) when the journal does not
 * end on it.
 */
export function statusTransitions(
  status: TimelineStatus,
  journal: readonly InvocationRecord[],
  ids: ReadonlySet<string>,
  copies: readonly QueuedCopy[],
  logs: RowLogs | undefined,
  sentNotBefore?: string,
): StatusTransition[] {
  const out: StatusTransition[] = [];
  const scheduledAtAccept =
    sentNotBefore !== undefined ||
    copies.some((c) => c.notBefore !== undefined) ||
    (status.status === 'scheduled' && status.attempts === 0);
  out.push({
    at: status.acceptedAt,
    state: scheduledAtAccept ? 'scheduled' : 'accepted',
    source: 'row',
    how: scheduledAtAccept
      ? `the row's acceptedAt; sent to run at ${sentNotBefore ?? copies.find((c) => c.notBefore)?.notBefore ?? status.notBefore ?? 'a later time'}`
      : "the row's acceptedAt (the producer's write)",
  });
  const deliveries = journal
    .map((r) => ({ r, id: r.messageIds.find((m) => ids.has(m)) }))
    .filter((d): d is { r: InvocationRecord; id: string } => d.id !== undefined);
  const count = (list: readonly string[] | undefined, id: string) =>
    list?.filter((x) => x === id).length ?? 0;
  const failedAt = (i: number) =>
    deliveries[i]!.r.error !== null || deliveries[i]!.r.batchItemFailures.includes(deliveries[i]!.id);
  let lastOk = -1;
  let lastFailed = -1;
  deliveries.forEach((_, i) => (failedAt(i) ? (lastFailed = i) : (lastOk = i)));
  const terminalFailed = status.status === 'failed' && lastFailed > lastOk ? lastFailed : -1;
  // Per SQS message id: how many of its failed deliveries were each kind, by the row's counts.
  const kinds = new Map<string, { waits: number; deferrals: number; retries: number }>();
  for (const id of new Set(deliveries.map((d) => d.id))) {
    const failed = deliveries.filter(
      (d, i) =>
        d.id === id && i !== terminalFailed && (d.r.error !== null || d.r.batchItemFailures.includes(id)),
    ).length;
    const waits = count(logs?.waits, id);
    const deferrals = count(logs?.deferrals, id);
    kinds.set(id, { waits, deferrals, retries: Math.max(0, failed - waits - deferrals) });
  }
  const end = (r: InvocationRecord) => new Date(Date.parse(r.startedAt) + r.durationMs).toISOString();
  deliveries.forEach(({ r, id }, i) => {
    const failed = r.error !== null || r.batchItemFailures.includes(id);
    const k = kinds.get(id)!;
    const known = logs !== undefined;
    const only =
      !failed || i === terminalFailed
        ? 'run'
        : !known
          ? null
          : k.waits && !k.deferrals && !k.retries
            ? 'wait'
            : !k.waits && k.deferrals && !k.retries
              ? 'deferral'
              : !k.waits && !k.deferrals
                ? 'retry'
                : null;
    if (only === 'wait') {
      out.push({
        at: end(r),
        state: status.attempts === 0 && scheduledAtAccept ? 'scheduled' : 'deferred',
        source: 'derived',
        how: `delivered before its notBefore and hidden again without running (the row counts ${plural(k.waits, 'such delivery', 'such deliveries')})`,
        messageId: id,
      });
      return;
    }
    if (only === null) {
      out.push({
        at: end(r),
        state: 'waiting',
        source: 'derived',
        how: known
          ? `a failed delivery: the row counts ${plural(k.retries, 'retry', 'retries')}, ${plural(k.deferrals, 'deferral')} and ${plural(k.waits, 'unrun delivery', 'unrun deliveries')} of ${id}, not their order`
          : 'a failed delivery (no row logs to tell a retry from a deferral)',
        messageId: id,
      });
      return;
    }
    out.push({
      at: r.startedAt,
      state: 'processing',
      source: 'journal',
      how: `the run's start (${r.function})`,
      messageId: id,
    });
    const state: StatusTransition['state'] = !failed
      ? 'succeeded'
      : i === terminalFailed
        ? 'failed'
        : only === 'deferral'
          ? 'deferred'
          : 'retrying';
    out.push({
      at: end(r),
      state,
      source: failed && i !== terminalFailed ? 'derived' : 'journal',
      how:
        state === 'deferred'
          ? `the run's end; its handler deferred it (the row counts ${plural(k.deferrals, 'deferral')})`
          : state === 'retrying'
            ? `the run's end; it failed and will be retried${known ? ` (the row counts no deferral of ${id})` : ''}`
            : `the run's end (${r.durationMs} ms)`,
      messageId: id,
    });
  });
  const last = out.at(-1)!;
  if (last.state !== status.status)
    out.push({
      at: status.updatedAt,
      state: status.status,
      source: 'row',
      how: `the row's state now, written at its updatedAt${status.notBefore ? `; not before ${status.notBefore}` : ''}`,
    });
  return out;
}

/** The result of a status row, as {@link MessageLife.result}. */
function resultOf(s: TimelineStatus | null, apiUrl: string | undefined): ResultFacts | null {
  if (!s || s.status !== 'succeeded') return null;
  if (s.resultRef)
    return { kind: 'stored', url: `${apiUrl ?? ''}/v1/messages/${s.id}/result`, bytes: s.resultRef.bytes };
  return s.result === null || s.result === undefined ? null : { kind: 'inline', value: s.result };
}

const when = (e: TimelineEvent) => e.at ?? '\uffff';

/**
 * One message's life in time order: accepted (status row), each handler run that had one of its
 * message ids (from the journal: function, duration, outcome, error), its archive record, the
 * console's redrives, where its copies are now (queue or DLQ), and its status now. A run whose
 * record the event source mapping reported as a batch item failure is failed; the error of one
 * record is the status row's `lastError` (the journal has errors of whole invocations only).
 */
export function buildTimeline(f: TimelineFacts): MessageLife {
  const ids = [...new Set([...(f.status?.messageIds ?? []), ...f.messageIds])];
  const idSet = new Set(ids);
  const events: TimelineEvent[] = [];
  if (f.status) {
    events.push({
      at: f.status.acceptedAt,
      kind: 'accepted',
      title: `accepted: ${f.status.type} on lane ${f.status.lane}`,
      detail: [`envelope id ${f.status.id}`, `SQS message id ${f.status.messageIds[0] ?? '–'}`],
      tone: 'info',
    });
  }
  let run = 0;
  for (const r of f.journal) {
    const mine = r.messageIds.filter((id) => idSet.has(id));
    if (mine.length === 0) continue;
    run++;
    const failed = r.error !== null || r.batchItemFailures.some((id) => idSet.has(id));
    const others = r.messageIds.length - mine.length;
    events.push({
      at: r.startedAt,
      kind: 'run',
      title: `run ${run}: ${r.function} ${failed ? 'failed' : 'succeeded'}`,
      detail: [
        `message id ${mine.join(', ')}`,
        `${r.durationMs} ms${others ? `, in a batch with ${others} other${others === 1 ? '' : 's'}` : ''}`,
        ...(r.error ? [`${r.error.name}: ${r.error.message}`] : []),
        ...(!r.error && failed && outcomeOf(r) === 'failed' ? ['reported as a batch item failure'] : []),
      ],
      tone: failed ? 'failed' : 'ok',
    });
  }
  if (f.archive) {
    events.push({
      at: f.archive.archivedAt,
      kind: 'archive',
      title: `archived (${f.archive.kind})`,
      detail: [
        f.archive.key,
        `${f.archive.errorName}: ${f.archive.errorMessage}`,
        `received ${f.archive.receiveCount} time${f.archive.receiveCount === 1 ? '' : 's'}`,
      ],
      tone: 'failed',
    });
  }
  for (const a of f.actions) {
    events.push({
      at: a.at,
      kind: 'action',
      title: `${a.action} from the console: ${a.outcome}`,
      detail: [
        `${a.action === 'redrive' ? 'from DLQ copy' : 'of message id'} ${a.messageId}`,
        ...(a.newMessageId ? [`new message id ${a.newMessageId}`] : []),
      ],
      tone: a.outcome === 'moved' || a.outcome === 'replayed' ? 'info' : 'failed',
    });
  }
  for (const c of f.copies) {
    events.push({
      at: c.role === 'dlq' ? c.sentAt : null,
      kind: c.role === 'dlq' ? 'dlq' : 'waiting',
      title:
        c.role === 'dlq'
          ? `dead-lettered in ${c.queue}`
          : `on ${c.queue}: ${c.state}, received ${c.receiveCount} time${c.receiveCount === 1 ? '' : 's'}`,
      detail: [
        `message id ${c.messageId}`,
        ...(c.failureKind ? [`failure ${c.failureKind}${c.errorName ? ` (${c.errorName})` : ''}`] : []),
      ],
      tone: c.role === 'dlq' ? 'failed' : 'info',
    });
  }
  events.sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0));
  if (f.status) {
    const s = f.status;
    events.push({
      at: s.updatedAt,
      kind: 'status',
      title: `status ${s.status}`,
      detail: [
        `${s.attempts} run${s.attempts === 1 ? '' : 's'}`,
        ...(s.lastError ? [`last error ${s.lastError.name}: ${s.lastError.message}`] : []),
        ...(s.failure ? [`failure ${s.failure.kind}`] : []),
      ],
      tone: s.status === 'succeeded' ? 'ok' : s.status === 'failed' ? 'failed' : 'info',
    });
  }
  return {
    query: f.query,
    envelopeId: f.envelopeId,
    messageIds: ids,
    status: f.status,
    events,
    result: resultOf(f.status, f.apiUrl),
    completionEvents: f.completionEvents ?? [],
    correlationId: f.status?.correlationId ?? null,
    parentId: f.status?.parentId ?? null,
    children: f.status?.children ?? [],
    transitions: f.status
      ? statusTransitions(f.status, f.journal, idSet, f.copies, f.logs, f.sentNotBefore)
      : [],
  };
}
