import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type LocalQueue } from '../../local/aws/emulator';
import { Journal } from '../../local/control/journal';
import type { SqsPoller } from '../../local/triggers/poller';
import type { InvokeOutcome } from '../../local/functions/host';
import { mappingSpec, ok, recordingHost, startPoller, until as waitUntil } from '../helpers/poller';

/*
 * The local SQS poller over a FIFO queue with the patched emulator (patches/fauxqs+1.9.2.patch):
 * like AWS, one batch holds several messages of one message group, and records a batch leaves
 * in flight come back in their order.
 */

describe('SQS poller over a FIFO queue: several messages per group', () => {
  let emulator: Emulator;
  let poller: SqsPoller | undefined;
  let queueCounter = 0;
  const events: SQSEvent[] = [];

  const mapping = mappingSpec();

  const fifoQueue = async (visibilityTimeout: number): Promise<LocalQueue> => {
    const name = `poller-fifo-${++queueCounter}.fifo`;
    const { QueueUrl } = await emulator.sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { FifoQueue: 'true', VisibilityTimeout: String(visibilityTimeout) },
      }),
    );
    const attrs = await emulator.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    return { logicalId: 'Queue', name, url: QueueUrl!, arn: attrs.Attributes!.QueueArn!, fifo: true };
  };
  const send = async (queue: LocalQueue, group: string, body: string) => {
    await emulator.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: body,
      }),
    );
  };
  const start = (queue: LocalQueue, respond: (event: SQSEvent) => InvokeOutcome) => {
    poller = startPoller({
      mapping,
      queue,
      host: recordingHost(events, respond),
      sqs: emulator.sqs,
      journal: new Journal(100),
      concurrency: 2,
    });
  };
  const until = (check: () => boolean) => waitUntil(check, 10_000);
  const bodies = (event: SQSEvent | undefined) => event?.Records.map((r) => r.body);

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, region: 'us-east-1' });
  });
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
    events.length = 0;
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('delivers four messages of one group in one batch of a mapping with batch size 10, in order', async () => {
    const queue = await fifoQueue(30);
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(queue, 'A', b);
    start(queue, () => ok({ batchItemFailures: [] }));
    await until(() => events.length > 0);
    expect(bodies(events[0])).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(events[0]!.Records.every((r) => r.attributes.MessageGroupId === 'A')).toBe(true);
  });

  it('redelivers the held-back rest of a group (second failed, third and fourth skipped) in order, in one batch', async () => {
    const queue = await fifoQueue(1);
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(queue, 'A', b);
    // The first invocation fails the second record and, as Powertools' FIFO processor does,
    // every record of its group after it; later invocations succeed.
    start(queue, (event) =>
      events.length === 1
        ? ok({ batchItemFailures: event.Records.slice(1).map((r) => ({ itemIdentifier: r.messageId })) })
        : ok({ batchItemFailures: [] }),
    );
    await until(() => events.length >= 2);
    expect(bodies(events[0])).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(bodies(events[1])).toEqual(['a2', 'a3', 'a4']);
    expect(events[1]!.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['2', '2', '2']);
  });

  it('keeps each group in order across batches and fills a batch group by group', async () => {
    const queue = await fifoQueue(30);
    for (const [g, b] of [
      ['A', 'a1'],
      ['A', 'a2'],
      ['B', 'b1'],
      ['B', 'b2'],
    ] as const) {
      await send(queue, g, b);
    }
    start(queue, () => ok({ batchItemFailures: [] }));
    await until(() => events.flatMap((e) => e.Records).length >= 4);
    const seen = events.flatMap((e) => e.Records.map((r) => r.body));
    expect(seen.filter((b) => b!.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(seen.filter((b) => b!.startsWith('b'))).toEqual(['b1', 'b2']);
    for (const e of events) {
      const groups = e.Records.map((r) => r.attributes.MessageGroupId);
      // SQS fills a receive group by group: here A (sent first), then B.
      expect(groups).toEqual([...groups].sort());
    }
  });
});
