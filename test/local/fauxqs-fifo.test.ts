import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

/*
 * The embedded emulator's FIFO and attribute behaviour after `patches/fauxqs+1.9.2.patch`
 * (upstream `src/sqs/sqsStore.ts`), through the real SDK against a real fauxqs server started the
 * way local mode starts it (`buildApp` bound to 127.0.0.1). What SQS does, per the SQS Developer
 * Guide ("FIFO queue delivery logic", "Message ordering"): one receive returns as many messages of
 * one message group as it can, in order; no other message of that group is returned while any is
 * in flight; returned messages keep their order.
 */

const REGION = 'us-east-1';
/** Visibility timeout (s) for the expiry cases; the smallest SQS accepts above 0. */
const SHORT_VISIBILITY = 1;

/*
 * The emulator runs in this process and reads the time with Date.now(), so its clock is the test's
 * fake Date: it stands still while a test runs (a message stays in flight however slow the machine
 * is) and moves only when a test says so.
 */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-22T10:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock past a {@link SHORT_VISIBILITY} timeout (just past: 1 ms after it ends). */
function pastVisibility(): void {
  vi.setSystemTime(Date.now() + SHORT_VISIBILITY * 1000 + 1);
}

let close: () => Promise<void>;
let sqs: SQSClient;
let queueCounter = 0;

beforeAll(async () => {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false, defaultRegion: REGION });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${new URL(address).port}`,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  close = async () => {
    sqs.destroy();
    await app.close();
  };
});

afterAll(async () => {
  await close();
});

async function fifoQueue(attributes: Record<string, string> = {}): Promise<string> {
  const res = await sqs.send(
    new CreateQueueCommand({
      QueueName: `fifo-${++queueCounter}.fifo`,
      Attributes: { FifoQueue: 'true', VisibilityTimeout: '30', ...attributes },
    }),
  );
  return res.QueueUrl!;
}

async function arnOf(url: string): Promise<string> {
  const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return res.Attributes!.QueueArn!;
}

async function send(url: string, group: string, body: string, dedup = body): Promise<string> {
  const res = await sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: dedup,
    }),
  );
  return res.SequenceNumber!;
}

async function receive(url: string, max = 10, visibility?: number): Promise<Message[]> {
  const res = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      VisibilityTimeout: visibility,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return res.Messages ?? [];
}

async function remove(url: string, message: Message): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
}

async function counts(url: string): Promise<{ visible: number; inFlight: number }> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes!.ApproximateNumberOfMessages),
    inFlight: Number(res.Attributes!.ApproximateNumberOfMessagesNotVisible),
  };
}

const bodies = (messages: readonly Message[]) => messages.map((m) => m.Body);

describe('fauxqs FIFO delivery (patched)', () => {
  it('returns four messages of one group in one receive of 10, in order, with ascending sequence numbers', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(url, 'A', b);
    const got = await receive(url, 10);
    expect(bodies(got)).toEqual(['a1', 'a2', 'a3', 'a4']);
    const seqs = got.map((m) => m.Attributes!.SequenceNumber!);
    expect([...seqs].sort()).toEqual(seqs);
    expect(new Set(seqs).size).toBe(4);
    expect(got.every((m) => m.Attributes!.MessageGroupId === 'A')).toBe(true);
  });

  it('keeps a group locked while any of its messages is in flight', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(url, 'A', b);
    const first = await receive(url, 2);
    expect(bodies(first)).toEqual(['a1', 'a2']);
    expect(await receive(url)).toEqual([]);
    await remove(url, first[0]!);
    expect(await receive(url)).toEqual([]);
    await remove(url, first[1]!);
    expect(bodies(await receive(url))).toEqual(['a3', 'a4']);
  });

  it('returns several expired in-flight messages of a group in their original order, before the ones never received', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3', 'a4', 'a5']) await send(url, 'A', b);
    expect(bodies(await receive(url, 4, SHORT_VISIBILITY))).toEqual(['a1', 'a2', 'a3', 'a4']);
    pastVisibility();
    const again = await receive(url, 10);
    expect(bodies(again)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(again.map((m) => m.Attributes!.ApproximateReceiveCount)).toEqual(['2', '2', '2', '2', '1']);
  });

  it('keeps the order when the first is deleted and the others expire', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(url, 'A', b);
    const got = await receive(url, 10, SHORT_VISIBILITY);
    await remove(url, got[0]!);
    pastVisibility();
    expect(bodies(await receive(url, 10))).toEqual(['a2', 'a3', 'a4']);
  });

  it('keeps the order when one message is made visible early while later ones of its group are still in flight', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3', 'a4']) await send(url, 'A', b);
    const got = await receive(url, 10, SHORT_VISIBILITY);
    await remove(url, got[0]!);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: got[1]!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    // a3 and a4 are still in flight: a2 must not be delivered ahead of them being settled.
    expect(await receive(url)).toEqual([]);
    pastVisibility();
    expect(bodies(await receive(url, 10))).toEqual(['a2', 'a3', 'a4']);
  });

  it('serves other groups while one is locked, each group in order', async () => {
    const url = await fifoQueue();
    await send(url, 'A', 'a1');
    await send(url, 'B', 'b1');
    await send(url, 'A', 'a2');
    await send(url, 'B', 'b2');
    await send(url, 'A', 'a3');
    const first = await receive(url, 2);
    expect(bodies(first)).toEqual(['a1', 'a2']);
    // A is locked (a1, a2 in flight): only B is available.
    const second = await receive(url, 10);
    expect(bodies(second)).toEqual(['b1', 'b2']);
    expect(await receive(url, 10)).toEqual([]);
    for (const m of first) await remove(url, m);
    expect(bodies(await receive(url, 10))).toEqual(['a3']);
  });

  it('fills one receive from several groups, each group contiguous and in order', async () => {
    const url = await fifoQueue();
    await send(url, 'A', 'a1');
    await send(url, 'B', 'b1');
    await send(url, 'A', 'a2');
    await send(url, 'C', 'c1');
    await send(url, 'B', 'b2');
    const got = bodies(await receive(url, 10));
    expect(got).toHaveLength(5);
    for (const group of ['a', 'b', 'c']) {
      const of = got.filter((b) => b!.startsWith(group));
      const at = got.indexOf(of[0]);
      expect(got.slice(at, at + of.length)).toEqual(of);
      expect(of).toEqual([...of].sort());
    }
  });

  it('still deduplicates: a repeated deduplication ID returns the first sequence number and delivers once', async () => {
    const url = await fifoQueue();
    const s1 = await send(url, 'A', 'a1', 'd1');
    const s2 = await send(url, 'A', 'a1 again', 'd1');
    const s3 = await send(url, 'A', 'a2', 'd2');
    expect(s2).toBe(s1);
    expect(s3 > s1).toBe(true);
    expect(bodies(await receive(url, 10))).toEqual(['a1', 'a2']);
  });

  it('still deduplicates by content when ContentBasedDeduplication is on', async () => {
    const url = await fifoQueue({ ContentBasedDeduplication: 'true' });
    for (const b of ['x', 'x', 'y']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: b, MessageGroupId: 'A' }));
    }
    expect(bodies(await receive(url, 10))).toEqual(['x', 'y']);
  });

  it('moves expired messages of a group past maxReceiveCount to the FIFO DLQ in order', async () => {
    const dlq = await fifoQueue();
    const url = await fifoQueue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 1 }),
    });
    for (const b of ['a1', 'a2', 'a3']) await send(url, 'A', b);
    expect(bodies(await receive(url, 10, SHORT_VISIBILITY))).toEqual(['a1', 'a2', 'a3']);
    pastVisibility();
    expect(await receive(url, 10)).toEqual([]);
    expect(bodies(await receive(dlq, 10))).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('fauxqs GetQueueAttributes (patched)', () => {
  it('counts expired in-flight messages of a standard queue as visible without a receive', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `std-${++queueCounter}` }));
    const url = QueueUrl!;
    for (const b of ['m1', 'm2']) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: b }));
    expect(await receive(url, 10, SHORT_VISIBILITY)).toHaveLength(2);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 2 });
    pastVisibility();
    expect(await counts(url)).toEqual({ visible: 2, inFlight: 0 });
  });

  it('counts expired in-flight messages of a FIFO queue as visible without a receive', async () => {
    const url = await fifoQueue();
    for (const b of ['a1', 'a2', 'a3']) await send(url, 'A', b);
    expect(await receive(url, 10, SHORT_VISIBILITY)).toHaveLength(3);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 3 });
    pastVisibility();
    expect(await counts(url)).toEqual({ visible: 3, inFlight: 0 });
  });
});
