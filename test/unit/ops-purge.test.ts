import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandInput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type ChangeMessageVisibilityBatchCommandInput,
  type DeleteMessageBatchCommandInput,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { archiveKey, type ArchiveRecord } from '../../lambda/shared/archive';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// `purge` deletes only messages that have an archive record: while one lacks it, it refuses,
// saying how many and what to do; `--archive-missing` writes the record the DLQ sweeper writes
// (lambda/shared/sweeper.ts) first.

const REGION = 'eu-west-1';
const ref = (name: string): QueueRef => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
  name,
  fifo: false,
});
const STANDARD: QueuePair = { key: 'standard', source: ref('std-queue'), dlq: ref('std-dlq') };

const sqs = new SQSClient({ region: REGION });
const s3 = new S3Client({ region: REGION });
const sqsMock = mockClient(sqs);
const s3Mock = mockClient(s3);
afterAll(() => {
  sqsMock.restore();
  s3Mock.restore();
});

const target: Target = {
  kind: 'local',
  name: 'local',
  region: REGION,
  queues: [STANDARD],
  bucket: 'archive',
  apiUrl: 'http://127.0.0.1:3000',
  sqs,
  s3,
  moveTasks: false,
  alarms: async () => [],
  oldestAges: async () => new Map(),
  close: () => undefined,
};

const body = (n: number) =>
  JSON.stringify({
    v: 1,
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: 'probe',
    payload: { mode: 'crash' },
    createdAt: '2026-11-22T10:00:00.000Z',
    correlationId: `req-${n}`,
  });
/** Message `m-<n>` as the redrive policy leaves it in the DLQ (a crash: no failure attributes). */
const message = (n: number): Message => ({
  MessageId: `m-${n}`,
  Body: body(n),
  Attributes: { SentTimestamp: String(Date.parse('2026-11-22T10:00:01Z')), ApproximateReceiveCount: '4' },
  MessageAttributes: { type: { DataType: 'String', StringValue: 'probe' } },
});
const keyOf = (n: number) => `failed/std-queue/2026/11/22/m-${n}.json`;

/**
 * A DLQ as SQS keeps it: a received message is hidden until it is made visible again or deleted;
 * `unreadable` more are counted in its depth but never handed out (FIFO: behind their group's head).
 */
let dlq: { messages: Map<string, Message>; hidden: Set<string>; unreadable: number; handles: number };
/** The archive bucket: key → record. */
let bucket: Map<string, ArchiveRecord>;

function stage(o: { messages: number[]; archived: number[]; unreadable?: number }): void {
  sqsMock.reset();
  s3Mock.reset();
  dlq = {
    messages: new Map(o.messages.map((n) => [`m-${n}`, message(n)])),
    hidden: new Set(),
    unreadable: o.unreadable ?? 0,
    handles: 0,
  };
  bucket = new Map(
    o.archived.map((n) => [
      keyOf(n),
      {
        v: 1,
        messageId: `m-${n}`,
        queue: { name: 'std-queue', arn: STANDARD.source.arn },
        body: body(n),
        attributes: {},
        messageAttributes: {},
        receiveCount: 4,
        sentAt: null,
        firstReceivedAt: null,
        archivedAt: '2026-11-22T10:05:00.000Z',
        failure: { kind: 'unknown', errorName: 'UnknownFailure', errorMessage: 'swept' },
      } satisfies ArchiveRecord,
    ]),
  );
  sqsMock.on(GetQueueAttributesCommand).callsFake(async () => ({
    Attributes: {
      ApproximateNumberOfMessages: String(dlq.messages.size - dlq.hidden.size + dlq.unreadable),
      ApproximateNumberOfMessagesNotVisible: String(dlq.hidden.size),
    },
  }));
  sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
    const visible = [...dlq.messages.values()].filter((m) => !dlq.hidden.has(m.MessageId!)).slice(0, 10);
    for (const m of visible) dlq.hidden.add(m.MessageId!);
    return {
      Messages: visible.map((m) => ({ ...m, ReceiptHandle: `${m.MessageId}|${++dlq.handles}` })),
    };
  });
  sqsMock
    .on(ChangeMessageVisibilityBatchCommand)
    .callsFake(async (input: ChangeMessageVisibilityBatchCommandInput) => {
      for (const e of input.Entries ?? [])
        if (e.VisibilityTimeout === 0) dlq.hidden.delete(e.ReceiptHandle!.split('|')[0]!);
      return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })) };
    });
  sqsMock.on(DeleteMessageBatchCommand).callsFake(async (input: DeleteMessageBatchCommandInput) => {
    for (const e of input.Entries ?? []) {
      const id = e.ReceiptHandle!.split('|')[0]!;
      dlq.messages.delete(id);
      dlq.hidden.delete(id);
    }
    return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })) };
  });
  s3Mock
    .on(ListObjectsV2Command)
    .callsFake(async () => ({ Contents: [...bucket.keys()].map((Key) => ({ Key })) }));
  s3Mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const r = bucket.get(input.Key!);
    if (!r) throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => JSON.stringify(r) } };
  });
  s3Mock.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
    if (!bucket.has(input.Key))
      throw new NotFound({ message: 'not found', $metadata: { httpStatusCode: 404 } });
    return {};
  });
  s3Mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    bucket.set(input.Key!, JSON.parse(String(input.Body)) as ArchiveRecord);
    return {};
  });
}

async function ops(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: '/nowhere',
  };
  const code = await runCli(argv, io, COMMANDS, { local: async () => target });
  return { code, ...out };
}

const deleted = () =>
  sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []).length +
  sqsMock.commandCalls(DeleteMessageCommand).length +
  sqsMock.commandCalls(PurgeQueueCommand).length;

describe('purge and the archive', () => {
  beforeEach(() => stage({ messages: [1, 2, 3], archived: [1] }));

  it.each([[['--yes']], [['--dry-run']]])(
    'refuses (%j) while messages lack an archive record, saying how many and what to do; deletes nothing',
    async (extra) => {
      // Act
      const out = await ops('purge', '--lane', 'standard', ...extra);

      // Assess
      expect(out.stderr).toBe(
        'error: 2 of the 3 messages in std-dlq have no archive record, and purging would lose them: add --archive-missing to archive them first (the record the DLQ sweeper writes), or redrive them\n',
      );
      expect(out.code).toBe(1);
      expect(out.stdout).toBe('');
      expect(deleted()).toBe(0);
      expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
      expect(dlq.messages.size).toBe(3);
      expect(dlq.hidden.size).toBe(0); // every message made visible again
    },
  );

  it('with --archive-missing writes the record the DLQ sweeper writes for each, then purges, and says so', async () => {
    // Act
    const out = await ops('purge', '--lane', 'standard', '--yes', '--archive-missing');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      'purged std-dlq: 3 message(s), 2 of them archived first (the record the DLQ sweeper writes); archive records stay\n',
    );
    expect(dlq.messages.size).toBe(0);
    const written = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(written.map((p) => p.Key).sort()).toEqual([keyOf(2), keyOf(3)]);
    expect(written.every((p) => p.IfNoneMatch === '*')).toBe(true);
    const record = JSON.parse(String(written.find((p) => p.Key === keyOf(2))!.Body)) as ArchiveRecord;
    expect(record).toMatchObject({
      v: 1,
      messageId: 'm-2',
      queue: { name: 'std-queue', arn: STANDARD.source.arn },
      body: body(2),
      receiveCount: 4,
      failure: {
        kind: 'unknown',
        errorName: 'UnknownFailure',
        errorMessage:
          'Message reached its DLQ without an archive record (crash, timeout or failed archive write)',
      },
    });
    expect(archiveKey(record)).toBe(keyOf(2));
  });

  it('with --archive-missing --dry-run says what it would archive and purge, and changes nothing', async () => {
    const out = await ops('purge', '--lane', 'standard', '--archive-missing', '--dry-run');

    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      'would purge std-dlq: 3 message(s), 2 of them archived first (the record the DLQ sweeper writes); archive records stay\n',
    );
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(deleted()).toBe(0);
  });
});

describe('purge of a DLQ whose messages are all archived', () => {
  it('deletes exactly the messages it checked, by receipt handle', async () => {
    // Prepare
    stage({ messages: [1, 2], archived: [1, 2] });

    // Act
    const out = await ops('purge', '--queue', 'standard', '--yes', '--json');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      queue: 'std-dlq',
      dryRun: false,
      purged: 2,
      archived: 0,
      unread: 0,
    });
    expect(dlq.messages.size).toBe(0);
    expect(sqsMock.commandCalls(PurgeQueueCommand)).toHaveLength(0);
  });

  it('leaves the messages it could not read, and says so', async () => {
    stage({ messages: [1], archived: [1], unreadable: 2 });

    const out = await ops('purge', '--lane', 'standard', '--yes');

    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      "purged std-dlq: 1 message(s); archive records stay; 2 could not be read (FIFO: behind their group's head, or held by another reader) and stay: run purge again\n",
    );
  });
});
