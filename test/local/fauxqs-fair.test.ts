import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/*
 * SQS fair queues in the embedded emulator after `patches/fauxqs+1.9.2.patch` (upstream
 * `src/sqs/sqsStore.ts`, `src/sqs/actions/sendMessage*.ts`), through the real SDK against a real
 * fauxqs server. What SQS does ("How Amazon SQS fair queues work"): a standard queue's
 * `MessageGroupId` names the message's tenant; a tenant with more than 10 % of the queue's
 * in-flight messages and at least 30 of its own is noisy, and while other tenants' messages wait
 * a receive returns those first. The emulator reproduces that concurrency-share rule (not the
 * processing-time rule, nor the five minutes a noisy tenant stays noisy).
 */

const REGION = 'us-east-1';
const NOISY = 'tenant-noisy';
const QUIET = 'tenant-quiet';

let close: () => Promise<void>;
let sqs: SQSClient;
let fairQueues: { enabled: boolean; minInFlight: number; inFlightShare: number };
let queueCounter = 0;

beforeAll(async () => {
  const { buildApp } = await import('fauxqs');
  // The same module instance the server uses (the package's own store module).
  const store = pathToFileURL(
    join(__dirname, '..', '..', 'node_modules', 'fauxqs', 'dist', 'sqs', 'sqsStore.js'),
  );
  ({
    SqsQueue: { fairQueues },
  } = (await import(store.href)) as { SqsQueue: { fairQueues: typeof fairQueues } });
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
afterAll(async () => close());
afterEach(() => {
  fairQueues.enabled = true;
});

async function standardQueue(): Promise<string> {
  const out = await sqs.send(
    new CreateQueueCommand({ QueueName: `fair-${++queueCounter}`, Attributes: { VisibilityTimeout: '300' } }),
  );
  return out.QueueUrl!;
}

/** Sends `n` messages of `tenant` in batches of 10, bodies `<tenant>-<i>`. */
async function send(url: string, tenant: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const entries = Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
      Id: String(i + j),
      MessageBody: `${tenant}-${i + j}`,
      MessageGroupId: tenant,
    }));
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    expect(out.Failed ?? []).toEqual([]);
  }
}

/** The bodies of one receive of up to 10 (left in flight). */
async function receive(url: string): Promise<string[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
  return (out.Messages ?? []).map((m) => m.Body!);
}

describe('SQS fair queues in the emulator (standard queue)', () => {
  it("keeps a standard message's MessageGroupId and returns it on receive", async () => {
    const url = await standardQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one', MessageGroupId: QUIET }));

    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['MessageGroupId'] }),
    );

    expect(out.Messages?.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([['one', QUIET]]);
  });

  it("returns a quiet tenant's waiting messages first once a tenant holds 30 in flight", async () => {
    // Prepare: 100 of the noisy tenant, then 3 of the quiet one behind them.
    const url = await standardQueue();
    await send(url, NOISY, 100);
    await send(url, QUIET, 3);

    // Act: three receives put 30 of the noisy tenant in flight (100 % of the queue's in flight).
    const first = [...(await receive(url)), ...(await receive(url)), ...(await receive(url))];
    const fourth = await receive(url);

    // Assess
    expect(first).toEqual(Array.from({ length: 30 }, (_, i) => `${NOISY}-${i}`));
    expect(fourth).toEqual([
      `${QUIET}-0`,
      `${QUIET}-1`,
      `${QUIET}-2`,
      ...Array.from({ length: 7 }, (_, i) => `${NOISY}-${30 + i}`),
    ]);
  });

  it('does not reorder below 30 in flight of one tenant', async () => {
    const url = await standardQueue();
    await send(url, NOISY, 40);
    await send(url, QUIET, 2);

    const first = [...(await receive(url)), ...(await receive(url))];
    const third = await receive(url);

    expect(first).toEqual(Array.from({ length: 20 }, (_, i) => `${NOISY}-${i}`));
    expect(third).toEqual(Array.from({ length: 10 }, (_, i) => `${NOISY}-${20 + i}`));
  });

  it('prefers, among noisy tenants, the one with fewer in flight', async () => {
    // Prepare: A has 40 in flight, B 30; then each has more waiting (A's first).
    const url = await standardQueue();
    await send(url, 'A', 40);
    for (let i = 0; i < 4; i++) await receive(url);
    await send(url, 'B', 30);
    for (let i = 0; i < 3; i++) await receive(url);
    await send(url, 'A', 5);
    await send(url, 'B', 5);

    // Act
    const next = await receive(url);

    // Assess: B (30 in flight) before A (40)
    expect(next).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `B-${i}`),
      ...Array.from({ length: 5 }, (_, i) => `A-${i}`),
    ]);
  });

  it('leaves arrival order with fair queues turned off (the bench baseline)', async () => {
    const url = await standardQueue();
    await send(url, NOISY, 100);
    await send(url, QUIET, 3);
    fairQueues.enabled = false;

    for (let i = 0; i < 3; i++) await receive(url);
    const fourth = await receive(url);

    expect(fourth).toEqual(Array.from({ length: 10 }, (_, i) => `${NOISY}-${30 + i}`));
  });
});
