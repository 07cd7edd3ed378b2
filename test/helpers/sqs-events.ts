/**
 * Record factories for SQS-triggered Lambda tests: realistic standard and FIFO records (every
 * system attribute Lambda delivers, lower-camel message attributes, MD5 digests), envelope
 * bodies built with the production `createEnvelope`, SDK `Message`s as `ReceiveMessage`
 * returns them (for the DLQ sweeper), and a fake Lambda `Context` whose remaining time the
 * test controls.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { ATTR, createEnvelope } from '../../lambda/shared/envelope';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

/** Name, ARN and URL of a queue in the test account. */
export interface QueueRef {
  readonly name: string;
  readonly arn: string;
  readonly url: string;
}

/** The name, ARN and URL of queue `name` in the test account and region. */
export function queueRef(name: string): QueueRef {
  return {
    name,
    arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
    url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
  };
}

export const STANDARD_QUEUE = queueRef('EventPipeline-dev-StandardQueue4A1B2C3D-AbCdEfGh1234');
export const STANDARD_DLQ = queueRef('EventPipeline-dev-StandardDlq5E6F7A8B-IjKlMnOp5678');
export const FIFO_QUEUE = queueRef('EventPipeline-dev-FifoQueue9C0D1E2F-QrStUvWx9012.fifo');
export const FIFO_DLQ = queueRef('EventPipeline-dev-FifoDlq3A4B5C6D-YzAbCdEf3456.fifo');

/** A fixed instant, so archive keys and timestamps are predictable. */
export const T0 = new Date('2026-11-22T10:00:00.000Z');

const SENDER_ID = 'AROAEXAMPLEROLEID1234:producer-function';
let sequence = 18_849_496_460_467_696_128n;

/** Options shared by standard and FIFO records. */
export interface RecordOptions {
  /** @default a random UUID */
  readonly messageId?: string;
  /** @default an envelope of a `probe` job in `succeed` mode */
  readonly body?: string;
  /** `ApproximateReceiveCount`. @default 1 */
  readonly receiveCount?: number;
  /** `SentTimestamp`. @default {@link T0} */
  readonly sentAt?: Date;
  /** `ApproximateFirstReceiveTimestamp`. @default one second after `sentAt` */
  readonly firstReceivedAt?: Date;
  /** String message attributes, name → value. @default none */
  readonly messageAttributes?: Readonly<Record<string, string>>;
  /** @default {@link STANDARD_QUEUE} (standard) or {@link FIFO_QUEUE} (FIFO) */
  readonly queue?: QueueRef;
  /** @default a random receipt handle */
  readonly receiptHandle?: string;
}

/** Options of a FIFO record. */
export interface FifoRecordOptions extends RecordOptions {
  readonly messageGroupId: string;
  /** @default the next of an increasing counter */
  readonly sequenceNumber?: string;
  /** @default the message id */
  readonly deduplicationId?: string;
}

/** Lambda's (lower-camel) form of string message attributes. */
export function lambdaAttributes(attrs: Readonly<Record<string, string>>): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attrs)) {
    out[name] = { stringValue: value, stringListValues: [], binaryListValues: [], dataType: 'String' };
  }
  return out;
}

/** The SDK's form of string message attributes. */
export function sdkAttributes(
  attrs: Readonly<Record<string, string>>,
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attrs).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

/** SQS's `MD5OfMessageAttributes` algorithm (names sorted; length-prefixed name, type, transport byte, value). */
export function md5OfMessageAttributes(attrs: SQSMessageAttributes): string | undefined {
  const names = Object.keys(attrs).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of names) {
    const a = attrs[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.dataType, 'utf8'));
    if (a.binaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      field(Buffer.from(a.binaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      field(Buffer.from(a.stringValue ?? '', 'utf8'));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const receiptHandle = () => `AQEB${randomBytes(96).toString('base64')}`;

function baseRecord(opts: RecordOptions, queue: QueueRef): SQSRecord {
  const body = opts.body ?? envelopeBody({ type: 'probe', payload: { mode: 'succeed' } });
  const sentAt = opts.sentAt ?? T0;
  const firstReceivedAt = opts.firstReceivedAt ?? new Date(sentAt.getTime() + 1000);
  const messageAttributes = lambdaAttributes(opts.messageAttributes ?? {});
  const md5Attrs = md5OfMessageAttributes(messageAttributes);
  return {
    messageId: opts.messageId ?? randomUUID(),
    receiptHandle: opts.receiptHandle ?? receiptHandle(),
    body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: String(sentAt.getTime()),
      SenderId: SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(firstReceivedAt.getTime()),
    },
    messageAttributes,
    md5OfBody: md5(body),
    ...(md5Attrs ? { md5OfMessageAttributes: md5Attrs } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: REGION,
  };
}

/** A record of a standard queue, as Lambda's SQS event source delivers it. */
export function sqsRecord(opts: RecordOptions = {}): SQSRecord {
  return baseRecord(opts, opts.queue ?? STANDARD_QUEUE);
}

/** A record of a FIFO queue: adds `MessageGroupId`, `SequenceNumber` and `MessageDeduplicationId`. */
export function fifoRecord(opts: FifoRecordOptions): SQSRecord {
  const record = baseRecord(opts, opts.queue ?? FIFO_QUEUE);
  sequence += 1n;
  record.attributes = {
    ...record.attributes,
    SequenceNumber: opts.sequenceNumber ?? sequence.toString(),
    MessageGroupId: opts.messageGroupId,
    MessageDeduplicationId: opts.deduplicationId ?? record.messageId,
  };
  return record;
}

/** An SQS event of `records`, in the given order. */
export function sqsEvent(records: readonly SQSRecord[]): SQSEvent {
  return { Records: [...records] };
}

/** What an envelope body is built from. */
export interface EnvelopeOptions {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  /** @default `'req-' + a random UUID` */
  readonly correlationId?: string;
  /** @default {@link T0} */
  readonly createdAt?: Date;
  /** @default a random UUID */
  readonly id?: string;
  /** The tenant that sent it. @default none (a message that entered without the API) */
  readonly tenant?: string;
}

/** A v1 envelope serialized as a message body, built with the production `createEnvelope`. */
export function envelopeBody(opts: EnvelopeOptions): string {
  return JSON.stringify(
    createEnvelope(
      {
        type: opts.type,
        payload: opts.payload,
        correlationId: opts.correlationId ?? `req-${randomUUID()}`,
        ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
      },
      opts.createdAt ?? T0,
      opts.id ?? randomUUID(),
    ),
  );
}

/** Options of {@link jobRecord}: the envelope, the record, and a group id for FIFO. */
export type JobRecordOptions = EnvelopeOptions &
  Omit<RecordOptions, 'body' | 'messageAttributes'> & { readonly messageGroupId?: string };

/**
 * A record carrying a job the way the producer enqueues it: envelope body plus the `type` and
 * `correlation-id` message attributes. A FIFO record when `messageGroupId` is given.
 */
export function jobRecord(opts: JobRecordOptions): SQSRecord {
  const correlationId = opts.correlationId ?? `req-${randomUUID()}`;
  const body = envelopeBody({ ...opts, correlationId });
  const messageAttributes = { [ATTR.type]: opts.type, [ATTR.correlationId]: correlationId };
  return opts.messageGroupId !== undefined
    ? fifoRecord({ ...opts, body, messageAttributes, messageGroupId: opts.messageGroupId })
    : sqsRecord({ ...opts, body, messageAttributes });
}

/** Payload of the synthetic `probe` job (docs/DESIGN.md §4). */
export interface ProbeInput {
  readonly mode: 'succeed' | 'sleep' | 'fail-permanent' | 'fail-always' | 'timeout' | 'crash';
  readonly failTimes?: number;
  readonly sleepMs?: number;
  readonly tag?: string;
}

/** A record carrying a `probe` job. */
export function probeRecord(
  payload: ProbeInput,
  opts: Omit<JobRecordOptions, 'type' | 'payload'> = {},
): SQSRecord {
  return jobRecord({ ...opts, type: 'probe', payload: { ...payload } });
}

/** Options of {@link dlqMessage}. */
export interface DlqMessageOptions {
  /** @default a random UUID */
  readonly messageId?: string;
  readonly body: string;
  /** String message attributes. @default none */
  readonly messageAttributes?: Readonly<Record<string, string>>;
  /** `ApproximateReceiveCount` in the DLQ. @default 1 */
  readonly receiveCount?: number;
  /** @default {@link T0} */
  readonly sentAt?: Date;
}

/** A DLQ message as `ReceiveMessage` (all system and message attributes) returns it. */
export function dlqMessage(opts: DlqMessageOptions): Message {
  const sentAt = opts.sentAt ?? T0;
  const attrs = opts.messageAttributes ?? {};
  return {
    MessageId: opts.messageId ?? randomUUID(),
    ReceiptHandle: receiptHandle(),
    MD5OfBody: md5(opts.body),
    Body: opts.body,
    Attributes: {
      SenderId: SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(sentAt.getTime() + 1000),
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: String(sentAt.getTime()),
    },
    ...(Object.keys(attrs).length
      ? {
          MessageAttributes: sdkAttributes(attrs),
          MD5OfMessageAttributes: md5OfMessageAttributes(lambdaAttributes(attrs)),
        }
      : {}),
  };
}

/** A Lambda context whose remaining time the test controls. */
export interface FakeContext extends Context {
  /** Sets the time left from now on (it then counts down, unless the context is frozen). */
  setRemainingTimeInMillis(ms: number): void;
}

/** Options of {@link fakeContext}. */
export interface FakeContextOptions {
  /** Time left at creation. @default 30_000 */
  readonly remainingMs?: number;
  /** A frozen context always reports `remainingMs` (deterministic per-record budgets). @default false */
  readonly frozen?: boolean;
  /** @default 'consumer' */
  readonly functionName?: string;
}

/** A fake Lambda context: realistic fields and a controllable `getRemainingTimeInMillis`. */
export function fakeContext(opts: FakeContextOptions = {}): FakeContext {
  const functionName = opts.functionName ?? 'consumer';
  let remaining = opts.remainingMs ?? 30_000;
  let setAt = Date.now();
  const unsupported = () => {
    throw new Error('legacy callback API is not used by these handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/11/22/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => (opts.frozen ? remaining : Math.max(0, remaining - (Date.now() - setAt))),
    setRemainingTimeInMillis(ms: number) {
      remaining = ms;
      setAt = Date.now();
    },
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
