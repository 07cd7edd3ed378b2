import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type Message,
  type ReceiveMessageResult,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQueue, startEmulator, type Emulator, type LocalQueue } from '../../local/aws/emulator';
import { Journal } from '../../local/control/journal';
import { compileFilterCriteria } from '../../local/triggers/filter-criteria';
import { GroupGate } from '../../local/triggers/group-gate';
import { MAX_INVOKE_PAYLOAD_BYTES, takeWithinPayload } from '../../local/triggers/payload-limit';
import type { SqsPoller } from '../../local/triggers/poller';
import { toLambdaRecord } from '../../local/triggers/poller';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import type { TemplateResource } from '../../local/template/reader';
import type { MappingSpec } from '../../local/template/topology';
import type { InvokeOutcome } from '../../local/functions/host';
import { mappingSpec, ok, recordingHost, startPoller, until as waitUntil } from '../helpers/poller';

const ARN = 'arn:aws:sqs:us-east-1:000000000000:q';

describe('Lambda SQS record shape', () => {
  it('shapes a standard message like Lambda: attribute order, lower-camel attributes, base64 binary', () => {
    const message: Message = {
      MessageId: 'm-1',
      ReceiptHandle: 'rh',
      Body: '{"a":1}',
      MD5OfBody: 'md5b',
      MD5OfMessageAttributes: 'md5a',
      Attributes: {
        SenderId: 'AID',
        ApproximateFirstReceiveTimestamp: '3',
        SentTimestamp: '2',
        ApproximateReceiveCount: '1',
      },
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'probe' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    };
    const record = toLambdaRecord(message, ARN, 'us-east-1');
    expect(record).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh',
      body: '{"a":1}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '2',
        SenderId: 'AID',
        ApproximateFirstReceiveTimestamp: '3',
      },
      messageAttributes: {
        type: { stringValue: 'probe', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5b',
      md5OfMessageAttributes: 'md5a',
      eventSource: 'aws:sqs',
      eventSourceARN: ARN,
      awsRegion: 'us-east-1',
    });
    expect(Object.keys(record.attributes)).toEqual([
      'ApproximateReceiveCount',
      'SentTimestamp',
      'SenderId',
      'ApproximateFirstReceiveTimestamp',
    ]);
  });

  it('orders FIFO attributes like Lambda and omits md5OfMessageAttributes without attributes', () => {
    const record = toLambdaRecord(
      {
        MessageId: 'm',
        ReceiptHandle: 'r',
        Body: 'b',
        MD5OfBody: 'x',
        Attributes: {
          MessageDeduplicationId: 'd',
          ApproximateFirstReceiveTimestamp: '3',
          SenderId: 's',
          MessageGroupId: 'g',
          SequenceNumber: '1',
          SentTimestamp: '2',
          ApproximateReceiveCount: '1',
        },
      },
      ARN,
      'us-east-1',
    );
    expect(Object.keys(record.attributes)).toEqual([
      'ApproximateReceiveCount',
      'SentTimestamp',
      'SequenceNumber',
      'MessageGroupId',
      'SenderId',
      'MessageDeduplicationId',
      'ApproximateFirstReceiveTimestamp',
    ]);
    expect(record.messageAttributes).toEqual({});
    expect('md5OfMessageAttributes' in record).toBe(false);
  });

  it('sends md5OfMessageAttributes null for a message without attributes when the batching window is > 0', () => {
    const message: Message = { MessageId: 'm', ReceiptHandle: 'r', Body: 'b', MD5OfBody: 'x' };
    const record = toLambdaRecord(message, ARN, 'us-east-1', 1);
    expect('md5OfMessageAttributes' in record).toBe(true);
    expect(record.md5OfMessageAttributes).toBeNull();
    expect(toLambdaRecord({ ...message, MD5OfMessageAttributes: 'm5' }, ARN, 'us-east-1', 1)).toMatchObject({
      md5OfMessageAttributes: 'm5',
    });
  });
});

describe('FIFO group gate', () => {
  it('runs batches that share a group one after another, in arrival order, and others at once', async () => {
    const gate = new GroupGate();
    const log: string[] = [];
    const run = async (name: string, groups: string[], ms: number) => {
      const release = await gate.enter(groups);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      release();
    };
    await Promise.all([
      run('A', ['g1', 'g2'], 50),
      run('B', ['g2'], 10),
      run('C', ['g3'], 10),
      run('D', ['g1', 'g2'], 10),
    ]);
    expect(log.indexOf('start C')).toBeLessThan(log.indexOf('end A'));
    expect(log.indexOf('end A')).toBeLessThan(log.indexOf('start B'));
    expect(log.indexOf('end B')).toBeLessThan(log.indexOf('start D'));
    expect(gate.held).toBe(0);
  });
});

/** An emulator of its own with one standard queue (visibility timeout 30 s). */
async function emulatorWithQueue(): Promise<{ emulator: Emulator; queue: LocalQueue }> {
  const emulator = await startEmulator({ port: 0, region: 'us-east-1' });
  const resource: TemplateResource = {
    logicalId: 'Queue',
    type: 'AWS::SQS::Queue',
    properties: { VisibilityTimeout: 30 },
    metadata: {},
    dependsOn: [],
    stackName: 'S',
  };
  const resolver = new Resolver({
    pseudo: localPseudoParameters('S'),
    resources: new Map([['Queue', resource]]),
  });
  return { emulator, queue: await createQueue(emulator, resource, resolver) };
}

describe('SQS poller', () => {
  let emulator: Emulator;
  let queue: LocalQueue;
  let poller: SqsPoller | undefined;
  let respond: (event: SQSEvent) => InvokeOutcome;
  const events: SQSEvent[] = [];
  /** Each test's own journal: what one test's poller recorded never shows in another's. */
  let journal: Journal;

  const mapping = mappingSpec;
  const host = recordingHost(events, (event) => respond(event));

  const start = (m: MappingSpec, concurrency = 1, sqs: SQSClient = emulator.sqs) => {
    poller = startPoller({ mapping: m, queue, host, sqs, journal, concurrency });
  };
  /** The emulator's client, noting every message a ReceiveMessage returned, in the order returned. */
  const receiving = (received: Message[]): SQSClient =>
    ({
      send: async (command: Parameters<SQSClient['send']>[0]) => {
        const out = await emulator.sqs.send(command as never);
        if (command instanceof ReceiveMessageCommand)
          received.push(...((out as ReceiveMessageResult).Messages ?? []));
        return out;
      },
    }) as unknown as SQSClient;
  const counts = async () => {
    const a = (
      await emulator.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
    ).Attributes!;
    return {
      visible: Number(a.ApproximateNumberOfMessages),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
    };
  };
  const until = (check: () => boolean, ms = 5000) => waitUntil(check, ms);
  const send = async (n: number) => {
    const entries = Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: `body-${i}` }));
    for (let i = 0; i < n; i += 10) {
      await emulator.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries.slice(i, i + 10) }),
      );
    }
  };

  beforeAll(async () => {
    ({ emulator, queue } = await emulatorWithQueue());
  });
  beforeEach(() => {
    journal = new Journal(100);
  });
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
    events.length = 0;
    // Purge whatever is left so tests stay independent.
    await emulator.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('deletes the records that succeeded and leaves the reported failures in flight', async () => {
    respond = (event) => ok({ batchItemFailures: [{ itemIdentifier: event.Records[1]!.messageId }] });
    await send(3);
    start(mapping());
    await until(() => journal.length > 0);
    expect(await counts()).toEqual({ visible: 0, inFlight: 1 });
    const [entry, ...more] = journal.list();
    expect(more).toEqual([]);
    expect(events).toHaveLength(1);
    expect(entry!.messageIds).toEqual(events[0]!.Records.map((r) => r.messageId));
    expect(entry!.batchItemFailures).toEqual([events[0]!.Records[1]!.messageId]);
    expect(events[0]!.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
    });
  });

  it('keeps the whole batch when the response names a message that is not in it', async () => {
    respond = () => ok({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] });
    await send(2);
    start(mapping());
    await until(() => journal.length > 0);
    expect(await counts()).toEqual({ visible: 0, inFlight: 2 });
    const [entry, ...more] = journal.list();
    expect(more).toEqual([]);
    expect(entry!.batchItemFailures).toEqual(events[0]!.Records.map((r) => r.messageId));
  });

  it('keeps the whole batch and records the error when the invocation fails', async () => {
    respond = () => ({
      requestId: 'r',
      startedAt: new Date(),
      durationMs: 3000,
      ok: false,
      error: { name: 'Sandbox.Timedout', message: 't' },
    });
    await send(1);
    start(mapping());
    await until(() => journal.length > 0);
    expect(await counts()).toEqual({ visible: 0, inFlight: 1 });
    const [entry, ...more] = journal.list();
    expect(more).toEqual([]);
    expect(entry!.error).toEqual({ name: 'Sandbox.Timedout', message: 't' });
    expect(entry!.batchItemFailures).toEqual(events[0]!.Records.map((r) => r.messageId));
  });

  it('deletes the records the filter criteria reject without invoking, and batches the rest', async () => {
    respond = () => ok(null);
    const bodies = [
      '{"kind":"order","n":1}',
      '{"kind":"refund","n":2}',
      'not json',
      '{"kind":"order","n":3}',
      '{"n":4}',
    ];
    await emulator.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
    const filter = compileFilterCriteria({ Filters: [{ Pattern: '{"body":{"kind":["order"]}}' }] });
    start(mapping({ filter }));
    await until(() => poller!.filteredRecords === 3);
    await until(() => events.reduce((n, e) => n + e.Records.length, 0) === 2);
    expect(events.flatMap((e) => e.Records.map((r) => r.body)).sort()).toEqual([bodies[0], bodies[3]]);
    await until(() => journal.list().flatMap((e) => e.messageIds).length === 2);
    expect(await counts()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('gathers up to the batch size within the batching window', async () => {
    respond = () => ok(null);
    await send(25);
    start(mapping({ batchSize: 25, maxBatchingWindowSeconds: 1 }));
    await until(() => events.reduce((n, e) => n + e.Records.length, 0) === 25);
    expect(events).toHaveLength(1);
    expect(events[0]!.Records.map((r) => r.body).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `body-${i}`).sort(),
    );
    await until(() => journal.length > 0);
    expect(journal.list().map((e) => e.messageIds)).toEqual([events[0]!.Records.map((r) => r.messageId)]);
    expect(await counts()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('keeps every batch within Lambda 6 MB, carrying the rest to the next batch in order', async () => {
    respond = () => ok(null);
    // Eight messages of 1,000,000 bytes: one batch of ten would be an 8 MB event.
    for (let i = 0; i < 8; i++) {
      await emulator.sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: String(i).repeat(1_000_000) }),
      );
    }
    const received: Message[] = [];
    start(mapping({ batchSize: 10, maxBatchingWindowSeconds: 1 }), 1, receiving(received));
    await until(() => events.reduce((n, e) => n + e.Records.length, 0) === 8, 15_000);
    await until(() => journal.list().reduce((n, e) => n + e.messageIds.length, 0) >= 8, 5000);

    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) {
      expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(MAX_INVOKE_PAYLOAD_BYTES);
    }
    // In order: what did not fit is carried, in the order it was received, to the next batch.
    const bodies = events.flatMap((e) => e.Records.map((r) => r.body[0]));
    expect(bodies).toEqual(received.map((m) => m.Body![0]));
    expect([...bodies].sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(await counts()).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe('SQS poller with 20 s long polls (local mode stage)', () => {
  it('receives a message sent during a long poll at once, and stops without waiting the poll out', async () => {
    // Prepare: its own emulator (a stopped poller's aborted receive stays waiting in it).
    const { emulator, queue } = await emulatorWithQueue();
    const events: SQSEvent[] = [];
    const journal = new Journal(100);
    const host = recordingHost(events, () => ok(null));
    const received: number[] = [];
    const sqs = {
      send: async (command: Parameters<SQSClient['send']>[0], options?: { abortSignal?: AbortSignal }) => {
        const out = await emulator.sqs.send(command as never, options);
        if (command instanceof ReceiveMessageCommand) received.push(command.input.WaitTimeSeconds ?? -1);
        return out;
      },
    } as unknown as SQSClient;
    const poller = startPoller({
      mapping: mappingSpec(),
      queue,
      host,
      sqs,
      journal,
      concurrency: 1,
      waitTimeSeconds: 20,
    });
    try {
      // Act: a message while the poller's first receive waits; then stop while the next one waits.
      await new Promise((r) => setTimeout(r, 300));
      await emulator.sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'during the poll' }),
      );
      await waitUntil(() => journal.length > 0, 5000);
      await new Promise((r) => setTimeout(r, 300));
      // A stop that waited the 20 s receive out would fail the test's own 10 s timeout.
      await poller.stop(60_000);

      // Assess: the waiting receive returned the message (one invocation); every receive asked
      // for 20 s.
      expect(events.map((e) => e.Records.map((r) => r.body))).toEqual([['during the poll']]);
      expect(new Set(received)).toEqual(new Set([20]));
    } finally {
      await poller.stop();
      await emulator.stop();
    }
  }, 10_000);
});

describe('Lambda payload limit', () => {
  it('takes the longest prefix within the limit, at least one item, and keeps the rest in order', () => {
    const size = (n: number) => n;
    expect(takeWithinPayload([5, 5, 5], size, 14 + 10)).toEqual({ batch: [5, 5], rest: [5] });
    expect(takeWithinPayload([50, 1], size, 20)).toEqual({ batch: [50], rest: [1] });
    expect(takeWithinPayload([], size, 20)).toEqual({ batch: [], rest: [] });
  });
});
