/**
 * Follow-up jobs (issue 18, item 4; docs/DESIGN.md §3.5): `ctx.enqueue(type, payload, options)`
 * from a handler sends another message through the same validation as `POST /v1/messages`
 * (`validateEntry` over the app's catalog), with the parent's correlation id and tenant, under an
 * id derived from the parent's id and the call's position in the run ({@link childId}). A parent
 * that is run again (a retry, a redelivery after a crash) therefore sends the same ids: a child
 * that already ran is acknowledged as a duplicate by the consumers' idempotency on envelope ids,
 * and on FIFO the id is also the `MessageDeduplicationId`. The child's status row (`accepted`,
 * owned by the parent's tenant, `parentId`) and the parent's `children` list are written after
 * the send.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { JobCatalog } from '../../producer/catalog';
import { messageGroupIdOf } from '../../producer/group-id';
import { ApiError } from '../../producer/http';
import type { ProbePolicy } from '../../producer/probe-policy';
import { sendOne, type LaneQueues } from '../../producer/send';
import { validateEntry } from '../../producer/validation';
import type { Envelope } from '../envelope';
import { PermanentError, RetryableError } from '../errors';
import type { ProbeMode } from '../jobs/probe-modes';
import type { EnqueueOptions, Enqueued, JobContext } from '../jobs/types';
import { encodeMessage, MessageTooLargeError } from '../message-codec';
import type { StatusStore } from '../status/types';

/** Keeps the S3 objects of results too large for the status row. */
export interface ResultObjects {
  put(key: string, json: string): Promise<void>;
}

/** Builds each run's `ctx.enqueue`. */
export interface ChildEnqueuer {
  /** The `enqueue` of one run of `parent`'s handler (its calls are numbered from 0). */
  forParent(parent: Envelope, log: Logger): JobContext['enqueue'];
}

/**
 * The envelope id of `parent`'s `n`-th follow-up job (0-based): a UUID (version 8, RFC 9562's
 * custom layout) from the SHA-256 of the parent's id and `n`. The same parent and position always
 * give the same id; two parents never share one.
 */
export function childId(parentId: string, n: number): string {
  const b = createHash('sha256').update(`event-pipeline/child/${parentId}/${n}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A follow-up job the API would refuse: the handler's mistake, so its run fails permanently. */
export class InvalidFollowUpJob extends PermanentError {
  constructor(
    message: string,
    readonly details: readonly { readonly field: string; readonly message: string }[] = [],
  ) {
    super(message);
  }
}

/** The queue could not take a follow-up job: the parent's run fails and is retried. */
export class FollowUpJobNotSent extends RetryableError {}

/** What {@link SqsChildEnqueuer} needs. */
export interface SqsChildEnqueuerDeps {
  /** Every job type of the app, with its lane and payload validator. */
  readonly catalog: JobCatalog;
  readonly sqs: SQSClient;
  /** Every lane's queue. */
  readonly queues: LaneQueues;
  /** The stage's probe modes and policy, as the API checks them. */
  readonly allowedProbeModes: readonly ProbeMode[];
  readonly probePolicy?: ProbePolicy;
  /** Each lane's deferral cap in seconds (the bound of `notBefore`). @default no bound */
  readonly maxNotBeforeSeconds?: Readonly<Record<string, number>>;
  /** The child's `accepted` row and the parent's `children` (wrap in `SafeStatusStore`). */
  readonly status?: Pick<StatusStore, 'accepted' | 'childEnqueued'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** {@link ChildEnqueuer} over SQS: validation as the API's, one `SendMessage` per child. */
export class SqsChildEnqueuer implements ChildEnqueuer {
  constructor(private readonly deps: SqsChildEnqueuerDeps) {}

  forParent(parent: Envelope, log: Logger): JobContext['enqueue'] {
    let calls = 0;
    return (type, payload, options) => this.#enqueue(parent, calls++, type, payload, options ?? {}, log);
  }

  async #enqueue(
    parent: Envelope,
    n: number,
    type: string,
    payload: Record<string, unknown>,
    options: EnqueueOptions,
    log: Logger,
  ): Promise<Enqueued> {
    const { deps } = this;
    const now = deps.now?.() ?? new Date();
    const notBefore = options.notBefore instanceof Date ? options.notBefore.toISOString() : options.notBefore;
    const body = {
      type,
      payload,
      ...(options.orderingKey !== undefined ? { orderingKey: options.orderingKey } : {}),
      ...(notBefore !== undefined ? { notBefore } : {}),
      ...(options.delaySeconds !== undefined ? { delaySeconds: options.delaySeconds } : {}),
    };
    const id = childId(parent.id, n);
    let entry;
    let msg;
    try {
      entry = validateEntry(body, {
        catalog: deps.catalog,
        allowedProbeModes: deps.allowedProbeModes,
        ...(deps.probePolicy ? { probePolicy: deps.probePolicy } : {}),
        // Stryker disable next-line ConditionalExpression: equivalent: `{ tenant: undefined }` is no tenant to validateEntry (it only hands ctx.tenant to probeRefusal)
        ...(parent.tenant !== undefined ? { tenant: parent.tenant } : {}),
        requestTime: now.getTime(),
        ...(deps.maxNotBeforeSeconds ? { maxNotBeforeSeconds: deps.maxNotBeforeSeconds } : {}),
      });
      msg = encodeMessage(entry, {
        correlationId: parent.correlationId,
        now,
        id,
        parentId: parent.id,
        // Stryker disable next-line ConditionalExpression: equivalent: encodeMessage writes a tenant only when `meta.tenant !== undefined`
        ...(parent.tenant !== undefined ? { tenant: parent.tenant } : {}),
        ...(parent.tenant !== undefined
          ? { messageGroupId: messageGroupIdOf(parent.tenant, entry.orderingKey) }
          : {}),
        // FIFO: a retried parent's copy is dropped by SQS within its 5-minute window.
        deduplicationId: id,
      });
    } catch (error) {
      if (error instanceof ApiError)
        throw new InvalidFollowUpJob(`ctx.enqueue("${type}"): ${error.message}`, error.details);
      if (error instanceof MessageTooLargeError)
        throw new InvalidFollowUpJob(`ctx.enqueue("${type}"): ${error.message}`);
      throw error;
    }
    let out;
    try {
      out = await sendOne(
        { sqs: deps.sqs, queues: deps.queues, logger: log, onAccepted: () => undefined },
        { lane: entry.lane, fifo: msg.fifo },
        msg.params,
      );
    } catch (error) {
      throw new FollowUpJobNotSent(`ctx.enqueue("${type}"): the queue did not take the message`, {
        cause: error,
      });
    }
    log.info('follow-up job enqueued', { childId: id, childType: type, lane: entry.lane });
    await deps.status?.accepted(
      {
        id,
        type,
        queue: msg.fifo ? 'fifo' : 'standard',
        lane: entry.lane,
        messageId: out.MessageId,
        acceptedAt: msg.envelope.createdAt,
        correlationId: parent.correlationId,
        parentId: parent.id,
        ...(parent.tenant !== undefined ? { tenant: parent.tenant } : {}),
      },
      msg.envelope.notBefore !== undefined ? { notBefore: msg.envelope.notBefore } : {},
    );
    await deps.status?.childEnqueued(parent.id, id);
    return { id, lane: entry.lane };
  }
}
