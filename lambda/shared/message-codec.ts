import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { MAX_ENQUEUED_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES } from './constants';
import { ATTR, createEnvelope, type Envelope } from './envelope';
import { PermanentError } from './errors';

export { MAX_ENQUEUED_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES };

/**
 * A message's size as SQS counts it against `MaximumMessageSize`, over-estimated: the body's
 * UTF-8 bytes plus the attributes' JSON (SQS counts names, types and values only).
 */
export function messageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  return Buffer.byteLength(body) + Buffer.byteLength(JSON.stringify(attributes));
}

/** SQS's longest per-message delay (`DelaySeconds`), 15 minutes. */
export const SQS_MAX_DELAY_SECONDS = 900;

/** A message is larger than one queue message once wrapped in its envelope. */
export class MessageTooLargeError extends PermanentError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`Message is ${size} bytes once wrapped; the queue limit is ${limit}`);
  }
}

/** What a queue message is encoded from (a validated request entry). */
export interface MessageInput {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  /** Present: the message goes to the FIFO queue with this message group. */
  readonly orderingKey?: string;
  readonly delaySeconds?: number;
  /**
   * Not run before this time (ISO 8601, in the future): carried in the envelope; a standard queue
   * also delays it by up to SQS's 15 minutes, the consumer holds it the rest of the way.
   */
  readonly notBefore?: string;
}

/** The SQS send parameters of one message, without its queue. */
export interface MessageParams {
  readonly MessageBody: string;
  readonly MessageAttributes: Record<string, MessageAttributeValue>;
  readonly MessageGroupId?: string;
  readonly MessageDeduplicationId?: string;
  readonly DelaySeconds?: number;
}

/** A message ready to send. */
export interface EncodedMessage {
  /** True when it goes to the FIFO queue. */
  readonly fifo: boolean;
  /** Its size ({@link messageBytes}); a `SendMessageBatch` call holds at most 1 MiB in total. */
  readonly bytes: number;
  readonly envelope: Envelope;
  readonly params: MessageParams;
}

/** What a message is sent with besides its content. */
export interface MessageMeta {
  readonly correlationId: string;
  /** Carried as the `idempotency-key` attribute. */
  readonly idempotencyKey?: string | undefined;
  readonly now: Date;
  /** The envelope id. @default a random UUID */
  readonly id?: string;
  /** The tenant that sent it, carried in the envelope. @default none (a message not from the API) */
  readonly tenant?: string;
  /**
   * `MessageGroupId`: on a FIFO queue the ordering group, on a standard queue the tenant's group
   * for SQS fair queues. @default FIFO: the `orderingKey`; standard: none
   */
  readonly messageGroupId?: string;
  /** FIFO `MessageDeduplicationId`. @default the idempotency key, else the envelope id */
  readonly deduplicationId?: string;
  /** The message whose handler enqueued this one (`ctx.enqueue`), carried in the envelope. */
  readonly parentId?: string;
}

/**
 * Encodes a message as the consumers read it (`parseEnvelope` in `./envelope.ts`): the v1
 * envelope as body, the producer's attributes ({@link ATTR}), the message group (see
 * {@link MessageMeta}) and for FIFO the deduplication id. Throws {@link MessageTooLargeError}
 * above {@link MAX_ENQUEUED_MESSAGE_BYTES} (SQS's 1 MiB less the room kept for the consumer's DLQ
 * attributes).
 */
export function encodeMessage(input: MessageInput, meta: MessageMeta): EncodedMessage {
  const envelope = createEnvelope(
    {
      type: input.type,
      payload: input.payload,
      correlationId: meta.correlationId,
      ...(meta.tenant !== undefined ? { tenant: meta.tenant } : {}),
      ...(input.notBefore !== undefined ? { notBefore: input.notBefore } : {}),
      ...(meta.parentId !== undefined ? { parentId: meta.parentId } : {}),
    },
    meta.now,
    meta.id,
  );
  // U+FFFE and U+FFFF are valid in JSON strings but not in SQS message bodies: escape them.
  const body = JSON.stringify(envelope).replace(
    /[\ufffe\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
  const attributes: Record<string, MessageAttributeValue> = {
    [ATTR.type]: { DataType: 'String', StringValue: input.type },
    [ATTR.correlationId]: { DataType: 'String', StringValue: meta.correlationId },
    ...(meta.idempotencyKey
      ? { [ATTR.idempotencyKey]: { DataType: 'String', StringValue: meta.idempotencyKey } }
      : {}),
  };
  const size = messageBytes(body, attributes);
  if (size > MAX_ENQUEUED_MESSAGE_BYTES) throw new MessageTooLargeError(size, MAX_ENQUEUED_MESSAGE_BYTES);
  const fifo = input.orderingKey !== undefined;
  return {
    fifo,
    bytes: size,
    envelope,
    params: {
      MessageBody: body,
      MessageAttributes: attributes,
      ...(fifo
        ? {
            MessageGroupId: meta.messageGroupId ?? input.orderingKey,
            MessageDeduplicationId: meta.deduplicationId ?? meta.idempotencyKey ?? envelope.id,
          }
        : {
            ...(meta.messageGroupId !== undefined ? { MessageGroupId: meta.messageGroupId } : {}),
            DelaySeconds:
              input.notBefore !== undefined
                ? Math.min(
                    SQS_MAX_DELAY_SECONDS,
                    Math.max(0, Math.ceil((Date.parse(input.notBefore) - meta.now.getTime()) / 1000)),
                  )
                : input.delaySeconds,
          }),
    },
  };
}
