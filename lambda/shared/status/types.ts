import type { FailureKind } from '../archive';
import type { ResultRef, StoredResult } from '../jobs/result';

/** The states of a message (docs/DESIGN.md §3). */
export const MESSAGE_STATES = [
  'accepted',
  'scheduled',
  'processing',
  'retrying',
  'deferred',
  'succeeded',
  'failed',
] as const;
/** One of {@link MESSAGE_STATES}. */
export type MessageState = (typeof MESSAGE_STATES)[number];

/** The body of `GET /v1/messages/{id}`. */
export interface MessageStatus {
  readonly id: string;
  readonly type: string;
  readonly queue: 'standard' | 'fifo';
  /** The lane that runs it (`standard` or `fifo` for the default lanes). */
  readonly lane: string;
  readonly status: MessageState;
  /** Handler runs so far that counted against its attempts (a run that deferred does not). */
  readonly attempts: number;
  /** Times its handler deferred it (`RetryLaterError`). */
  readonly deferrals: number;
  /**
   * `scheduled` or `deferred`: the time before which it does not run (ISO 8601); `null` otherwise.
   */
  readonly notBefore: string | null;
  readonly acceptedAt: string;
  readonly updatedAt: string;
  readonly lastError: { readonly name: string; readonly message: string } | null;
  readonly failure: { readonly kind: FailureKind; readonly archiveKey: string | null } | null;
  /** The SQS message ids the message has had, oldest first. */
  readonly messageIds: readonly string[];
  /** The envelope's correlation id (`null` on rows written before it was kept). */
  readonly correlationId: string | null;
  /** `succeeded`: the JSON value its handler returned, when kept on the row; `null` otherwise. */
  readonly result: unknown;
  /** `succeeded`: where a result too large for the row is kept; `null` otherwise. */
  readonly resultRef: ResultRef | null;
  /** The message whose handler enqueued this one (`ctx.enqueue`), if any. */
  readonly parentId: string | null;
  /** The ids of the messages its handler enqueued (`ctx.enqueue`), in call order. */
  readonly children: readonly string[];
}

/** What identifies a message in a status write; a write creates the row when there is none. */
export interface StatusSubject {
  readonly id: string;
  readonly type: string;
  readonly queue: 'standard' | 'fifo';
  /** The lane that runs it. @default the default lane of `queue` */
  readonly lane?: string;
  /** The SQS message id of this delivery (or of the send, for `accepted`). */
  readonly messageId: string;
  /** When the message was accepted (the envelope's `createdAt`). */
  readonly acceptedAt: string;
  /**
   * The tenant that sent it (the envelope's `tenant`), for log lines. Only `accepted` stores it,
   * as the row's owner: see {@link StatusStore.accepted}.
   */
  readonly tenant?: string;
  /** The envelope's correlation id, kept on the row (for completion events). */
  readonly correlationId?: string;
  /** The message whose handler enqueued this one. */
  readonly parentId?: string;
}

/**
 * A status row as the store reads it: the body of `GET /v1/messages/{id}` and the row's owner
 * (the tenant whose request the API accepted), which the API checks and does not return.
 */
export type StoredStatus = MessageStatus & {
  /** `undefined` for a row nobody owns: see {@link StatusStore.accepted}. */
  readonly owner: string | undefined;
};

/**
 * Writes and reads status rows. Every transition is an upsert of its own fields (identity fields
 * only where absent), so the row exists after any one of them and a lost write is superseded by
 * the next. `succeeded` is final: later `processing`/`retrying`/`failed` writes do not undo it.
 */
export interface StatusStore {
  /**
   * The producer: the message is on its queue. Sets the row's owner to `subject.tenant` where the
   * row has none (`if_not_exists`); no other transition writes it, so consumers never change it.
   * A row written without an owner (before tenants existed, or by a consumer for a message that
   * entered without the API, or whose `accepted` write was lost) keeps none. With `notBefore` (a
   * message the caller scheduled) the state is `scheduled` and the row holds that time.
   */
  accepted(subject: StatusSubject, options?: { readonly notBefore?: string }): Promise<void>;
  /** A consumer is about to run the handler (`attempts` + 1). */
  processing(subject: StatusSubject): Promise<void>;
  /** The handler succeeded, returning `result` (kept on the row, or a reference to it in S3). */
  succeeded(subject: StatusSubject, result?: StoredResult): Promise<void>;
  /** The handler failed and the message will be retried. */
  retrying(subject: StatusSubject, error: unknown): Promise<void>;
  /**
   * The message waits until `notBefore` without spending an attempt: its handler deferred it
   * (`ran`: the run's attempt is given back, `deferrals` + 1), or the consumer hid it again without
   * running it (its time had not come; `state` keeps `scheduled` for a message that never ran).
   */
  deferred(
    subject: StatusSubject,
    deferral: {
      readonly notBefore: string;
      readonly ran: boolean;
      readonly state?: 'deferred' | 'scheduled';
    },
  ): Promise<void>;
  /**
   * The message was given up on (dead-lettered and archived). With `unlessFinal` (the DLQ
   * sweeper) a row that is already `failed` or `succeeded` is left as it is.
   */
  failed(
    subject: StatusSubject,
    failure: { readonly kind: FailureKind; readonly archiveKey: string | null },
    error: unknown,
    options?: { readonly unlessFinal?: boolean },
  ): Promise<void>;
  /**
   * The handler of `parentId` enqueued `childId` (`ctx.enqueue`): appended to the parent's
   * `children` unless listed already (a retried parent enqueues the same ids).
   */
  childEnqueued(parentId: string, childId: string): Promise<void>;
  /** The status row of `id` with its owner, or `undefined` when there is none. */
  get(id: string): Promise<StoredStatus | undefined>;
}
