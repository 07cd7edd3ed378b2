import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FailureKind } from '../archive';
import type { ResultRef, StoredResult } from '../jobs/result';
import {
  DEFER_LOG_ATTRIBUTE,
  RUN_LOG_ATTRIBUTE,
  STATUS_TABLE_KEYS,
  WAIT_LOG_ATTRIBUTE,
  statusKey,
} from './keys';
import type { MessageState, MessageStatus, StatusStore, StatusSubject, StoredStatus } from './types';

/** Options of {@link DynamoStatusStore}. */
export interface DynamoStatusStoreOptions {
  readonly tableName: string;
  /** Days a row is kept after its last write (its TTL). */
  readonly retentionDays: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

function errorOf(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 1000) };
  return { name: 'Error', message: String(error).slice(0, 1000) };
}

/** How a transition writes the row (see {@link statusTransition}). */
export interface TransitionOptions {
  /** Keep an existing state (the producer's `accepted` after a consumer got there first). */
  readonly keepState?: boolean;
  /** Count a handler run. */
  readonly attempt?: boolean;
  /** `succeeded`: no condition, nothing but another `succeeded` changes it afterwards. */
  readonly final?: boolean;
  readonly clearError?: boolean;
  readonly error?: unknown;
  readonly failure?: { kind: FailureKind; archiveKey: string | null };
  /** The sweeper: leave a row that is already `failed` or `succeeded`. */
  readonly unlessFinal?: boolean;
  /** `accepted`: set the row's owner to this tenant where it has none. */
  readonly owner?: string;
  /** `scheduled`/`deferred`: the time before which the message does not run (else cleared). */
  readonly notBefore?: string;
  /**
   * `deferred`: `ran` gives back the attempt of the run that deferred (`attempts` - 1,
   * `deferrals` + 1, the id appended to the defer log); `waited` records a delivery hidden again
   * without running (the id appended to the wait log).
   */
  readonly deferral?: 'ran' | 'waited';
  /** `succeeded`: the handler's result (its JSON text, or where it is kept in S3). */
  readonly result?: StoredResult;
}

/** The options of the `processing` transition. */
export const PROCESSING: TransitionOptions = {
  attempt: true,
  // Stryker disable next-line BooleanLiteral: equivalent: clearError only creates an absent lastError as null (if_not_exists), and every reader (get, the API, the console) reads an absent lastError as null
  clearError: true,
};
/** The options of the `succeeded` transition. */
export const SUCCEEDED: TransitionOptions = {
  final: true,
  // Stryker disable next-line BooleanLiteral: equivalent: as PROCESSING's clearError (an absent lastError reads as null)
  clearError: true,
};

/** The parts of one transition's `UpdateItem` on a status row. */
export interface StatusTransition {
  /** `SET` clauses. */
  readonly set: string[];
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
  /** The condition that keeps `succeeded` final, when the transition has one. */
  readonly condition: string | undefined;
}

/**
 * The `UpdateItem` parts of moving status row `s` to `state` (placeholders `#type #queue #status
 * #exp`, and `#owner` for `accepted` and `:`-values prefixed by nothing else), so that another writer of the same row (the
 * consumers' idempotency records, `../consumer/idempotency.ts`) can add its own clauses to the
 * same write.
 */
export function statusTransition(
  s: StatusSubject,
  state: MessageState,
  o: TransitionOptions,
  now: Date,
  retentionDays: number,
): StatusTransition {
  const values: Record<string, unknown> = {
    ':id': s.id,
    ':type': s.type,
    ':queue': s.queue,
    ':lane': s.lane ?? s.queue,
    ':acceptedAt': s.acceptedAt,
    ':ids': [s.messageId],
    ':state': state,
    ':now': now.toISOString(),
    ':exp': Math.floor(now.getTime() / 1000) + retentionDays * 86_400,
    ':zero': 0,
  };
  const set = [
    'id = if_not_exists(id, :id)',
    '#type = if_not_exists(#type, :type)',
    '#queue = if_not_exists(#queue, :queue)',
    '#lane = if_not_exists(#lane, :lane)',
    'acceptedAt = if_not_exists(acceptedAt, :acceptedAt)',
    'messageIds = if_not_exists(messageIds, :ids)',
    o.keepState ? '#status = if_not_exists(#status, :state)' : '#status = :state',
    o.keepState ? 'updatedAt = if_not_exists(updatedAt, :now)' : 'updatedAt = :now',
    '#exp = :exp',
  ];
  if (o.deferral === 'ran') {
    // The run that deferred spent no attempt: its count is given back, its id logged as deferred.
    set.push('attempts = if_not_exists(attempts, :one) - :one');
    set.push('deferrals = if_not_exists(deferrals, :zero) + :one');
    set.push(`${DEFER_LOG_ATTRIBUTE} = list_append(if_not_exists(${DEFER_LOG_ATTRIBUTE}, :noRuns), :ids)`);
    values[':one'] = 1;
    values[':noRuns'] = [];
  } else if (o.attempt) {
    set.push('attempts = if_not_exists(attempts, :zero) + :one');
    // Which SQS message ran: the consumer counts a message's runs by its id (a redrive or replay
    // starts a new count under a new id).
    set.push(`${RUN_LOG_ATTRIBUTE} = list_append(if_not_exists(${RUN_LOG_ATTRIBUTE}, :noRuns), :ids)`);
    values[':one'] = 1;
    values[':noRuns'] = [];
  } else set.push('attempts = if_not_exists(attempts, :zero)');
  if (o.deferral === 'waited') {
    set.push(`${WAIT_LOG_ATTRIBUTE} = list_append(if_not_exists(${WAIT_LOG_ATTRIBUTE}, :noWaits), :ids)`);
    values[':noWaits'] = [];
  }
  if (o.deferral !== 'ran') set.push('deferrals = if_not_exists(deferrals, :zero)');
  if (o.notBefore !== undefined) {
    set.push(o.keepState ? 'notBefore = if_not_exists(notBefore, :notBefore)' : 'notBefore = :notBefore');
    values[':notBefore'] = o.notBefore;
  } else if (!o.keepState) {
    // Only a waiting message has a notBefore.
    set.push('notBefore = :noNotBefore');
    values[':noNotBefore'] = null;
  }
  if (o.error !== undefined) {
    set.push('lastError = :err');
    values[':err'] = errorOf(o.error);
  } else if (
    // Stryker disable next-line ConditionalExpression: equivalent: `if_not_exists(lastError, :null)` never changes a stored error, and an absent lastError reads as null
    o.clearError
  ) {
    set.push('lastError = if_not_exists(lastError, :null)');
    values[':null'] = null;
  }
  if (s.correlationId !== undefined) {
    set.push('correlationId = if_not_exists(correlationId, :correlationId)');
    values[':correlationId'] = s.correlationId;
  }
  if (s.parentId !== undefined) {
    set.push('parentId = if_not_exists(parentId, :parentId)');
    values[':parentId'] = s.parentId;
  }
  if (o.result?.json !== undefined) {
    set.push('resultJson = :resultJson');
    values[':resultJson'] = o.result.json;
  } else if (o.result?.ref !== undefined) {
    set.push('resultRef = :resultRef');
    values[':resultRef'] = o.result.ref;
  }
  if (o.owner !== undefined) {
    // OWNER is a DynamoDB reserved word: `#owner`.
    set.push('#owner = if_not_exists(#owner, :owner)');
    values[':owner'] = o.owner;
  }
  if (o.failure) {
    set.push('failure = :failure');
    values[':failure'] = o.failure;
  } else if (!o.keepState) {
    set.push('failure = :nofailure');
    values[':nofailure'] = null;
  }
  // `succeeded` is final: nothing but another `succeeded` (a duplicate catching up) changes it.
  const guarded = !o.final && !o.keepState;
  if (guarded) values[':succeeded'] = 'succeeded';
  if (o.unlessFinal) values[':failed'] = 'failed';
  const condition = o.unlessFinal
    ? 'attribute_not_exists(#status) OR (#status <> :succeeded AND #status <> :failed)'
    : 'attribute_not_exists(#status) OR #status <> :succeeded';
  return {
    set,
    names: {
      '#type': 'type',
      '#queue': 'queue',
      '#lane': 'lane',
      '#status': 'status',
      '#exp': STATUS_TABLE_KEYS.ttlAttribute,
      ...(o.owner !== undefined ? { '#owner': 'owner' } : {}),
    },
    values,
    condition: guarded ? condition : undefined,
  };
}

/**
 * {@link StatusStore} on the status table, one `UpdateItem` per transition (no reads). The
 * identity fields (`type`, `queue`, `acceptedAt`, `messageIds`) are set with `if_not_exists`, so
 * whichever writer comes first (the producer, or a consumer for a message that did not pass the
 * API) creates the row. A delivery under a new SQS message id (redrive, replay) appends its id
 * with one more conditional update. Throws what DynamoDB throws; wrap it in `SafeStatusStore`.
 */
export class DynamoStatusStore implements StatusStore {
  readonly #now: () => Date;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: DynamoStatusStoreOptions,
  ) {
    this.#now = options.now ?? (() => new Date());
  }

  async accepted(s: StatusSubject, options: { readonly notBefore?: string } = {}): Promise<void> {
    await this.#update(s, options.notBefore !== undefined ? 'scheduled' : 'accepted', {
      keepState: true,
      // Stryker disable next-line ConditionalExpression: equivalent: `{ owner: undefined }` writes no owner (statusTransition tests `o.owner !== undefined`)
      ...(s.tenant !== undefined ? { owner: s.tenant } : {}),
      ...(options.notBefore !== undefined ? { notBefore: options.notBefore } : {}),
    });
  }

  async processing(s: StatusSubject): Promise<void> {
    await this.appendIdIfNew(s, await this.#update(s, 'processing', { ...PROCESSING, returnRow: true }));
  }

  async succeeded(s: StatusSubject, result?: StoredResult): Promise<void> {
    // A duplicate delivery (new SQS message id, handler not run) records its id here.
    await this.appendIdIfNew(
      s,
      await this.#update(s, 'succeeded', { ...SUCCEEDED, ...(result ? { result } : {}), returnRow: true }),
    );
  }

  async retrying(s: StatusSubject, error: unknown): Promise<void> {
    await this.#update(s, 'retrying', { error });
  }

  async deferred(
    s: StatusSubject,
    d: { readonly notBefore: string; readonly ran: boolean; readonly state?: 'deferred' | 'scheduled' },
  ): Promise<void> {
    await this.#update(s, d.state ?? 'deferred', {
      notBefore: d.notBefore,
      deferral: d.ran ? 'ran' : 'waited',
    });
  }

  async failed(
    s: StatusSubject,
    failure: { readonly kind: FailureKind; readonly archiveKey: string | null },
    error: unknown,
    options: { readonly unlessFinal?: boolean } = {},
  ): Promise<void> {
    await this.#update(s, 'failed', { error, failure, unlessFinal: options.unlessFinal ?? false });
  }

  async childEnqueued(parentId: string, childId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(parentId) },
          UpdateExpression: 'SET children = list_append(if_not_exists(children, :none), :ids)',
          ConditionExpression: 'attribute_not_exists(children) OR NOT contains(children, :id)',
          ExpressionAttributeValues: { ':none': [], ':ids': [childId], ':id': childId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async get(id: string): Promise<StoredStatus | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(id) },
      }),
    );
    const i = out.Item;
    if (!i) return undefined;
    return {
      id: i.id as string,
      type: i.type as string,
      queue: i.queue as 'standard' | 'fifo',
      // Rows written before lanes existed have none: their lane is their queue's default lane.
      lane: (i.lane as string | undefined) ?? (i.queue as string),
      status: i.status as MessageState,
      attempts: Number(i.attempts ?? 0),
      deferrals: Number(i.deferrals ?? 0),
      notBefore: typeof i.notBefore === 'string' ? i.notBefore : null,
      acceptedAt: i.acceptedAt as string,
      updatedAt: i.updatedAt as string,
      lastError: (i.lastError as MessageStatus['lastError']) ?? null,
      failure: (i.failure as MessageStatus['failure']) ?? null,
      messageIds: (i.messageIds as string[] | undefined) ?? [],
      result: typeof i.resultJson === 'string' ? (JSON.parse(i.resultJson) as unknown) : null,
      resultRef: (i.resultRef as ResultRef | undefined) ?? null,
      correlationId: typeof i.correlationId === 'string' ? i.correlationId : null,
      parentId: typeof i.parentId === 'string' ? i.parentId : null,
      children: (i.children as string[] | undefined) ?? [],
      owner: typeof i.owner === 'string' ? i.owner : undefined,
    };
  }

  async #update(
    s: StatusSubject,
    state: MessageState,
    o: TransitionOptions & {
      /** Return the row after the write (from the write itself: no read). */
      returnRow?: boolean;
    },
  ): Promise<Record<string, unknown> | undefined> {
    const t = statusTransition(s, state, o, this.#now(), this.options.retentionDays);
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(s.id) },
          UpdateExpression: `SET ${t.set.join(', ')}`,
          ...(t.condition ? { ConditionExpression: t.condition } : {}),
          ExpressionAttributeNames: t.names,
          ExpressionAttributeValues: t.values,
          ReturnValues: o.returnRow ? 'ALL_NEW' : 'NONE',
        }),
      );
      return out.Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Appends this delivery's SQS message id to the row when `row` does not list it yet. */
  async appendIdIfNew(s: StatusSubject, row: Record<string, unknown> | undefined): Promise<void> {
    if (row && !(row.messageIds as string[] | undefined)?.includes(s.messageId)) await this.#appendId(s);
  }

  async #appendId(s: StatusSubject): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(s.id) },
          UpdateExpression: 'SET messageIds = list_append(messageIds, :ids)',
          ConditionExpression: 'NOT contains(messageIds, :id)',
          ExpressionAttributeValues: { ':ids': [s.messageId], ':id': s.messageId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
