import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
  type GetObjectCommandInput,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveRecord } from '../../lambda/shared/archive';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// Clients hold the envelope id (`id` in the 202, the v1 envelope's `id` in the DLQ copy's body and
// in the archive record's body); the tool takes it wherever it takes an id, as well as SQS message
// ids, and an id that names nothing is a failed operation, not an empty success.

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
  // No status rows: nothing has succeeded since it was archived.
  messageStatus: async () => undefined,
  close: () => undefined,
};

const envelopeId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const body = (n: number) =>
  JSON.stringify({
    v: 1,
    id: envelopeId(n),
    type: 'probe',
    payload: { mode: 'fail-permanent' },
    createdAt: '2026-11-22T10:00:00.000Z',
    correlationId: `req-${n}`,
  });

/** The DLQ copy of message `src-<n>` (the consumer sent it: `original-message-id`), DLQ id `dlq-<n>`. */
function dlqCopy(n: number): Message {
  const attr = (v: string) => ({ DataType: 'String', StringValue: v });
  return {
    MessageId: `dlq-${n}`,
    ReceiptHandle: `rh-${n}`,
    Body: body(n),
    Attributes: { SentTimestamp: String(Date.parse('2026-11-22T10:00:01Z')), ApproximateReceiveCount: '1' },
    MessageAttributes: {
      type: attr('probe'),
      'failure-kind': attr('permanent'),
      'original-message-id': attr(`src-${n}`),
    },
  };
}

/** The archive record of message `src-<n>`, and its key. */
function record(n: number): { key: string; record: ArchiveRecord } {
  return {
    key: `failed/std-queue/2026/11/22/src-${n}.json`,
    record: {
      v: 1,
      messageId: `src-${n}`,
      queue: { name: 'std-queue', arn: STANDARD.source.arn },
      body: body(n),
      attributes: { SentTimestamp: String(Date.parse('2026-11-22T10:00:00Z')) },
      messageAttributes: { type: { stringValue: 'probe', dataType: 'String' } },
      receiveCount: 1,
      sentAt: '2026-11-22T10:00:00.000Z',
      firstReceivedAt: '2026-11-22T10:00:00.500Z',
      archivedAt: `2026-11-22T10:00:0${n}.000Z`,
      failure: { kind: 'permanent', errorName: 'ProbePermanentError', errorMessage: 'asked to' },
    },
  };
}

/** The DLQ holds copies 1 and 2; the archive holds records 1, 2 and 3 (3 left the DLQ: purged). */
function stage(): void {
  sqsMock.reset();
  s3Mock.reset();
  sqsMock
    .on(ReceiveMessageCommand)
    .resolvesOnce({ Messages: [dlqCopy(1), dlqCopy(2)] })
    .resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'new-1' });
  sqsMock.on(DeleteMessageCommand).resolves({});
  const records = [record(1), record(2), record(3)];
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: records.map((r) => ({ Key: r.key })) });
  s3Mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const found = records.find((r) => r.key === input.Key);
    if (!found) throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => JSON.stringify(found.record) } };
  });
}
beforeEach(stage);

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

describe('ops takes the envelope id wherever it takes an id', () => {
  it('dlq show <envelope id> shows the dead-lettered message, its archive record and its ids', async () => {
    // Act
    const out = await ops('dlq', 'show', envelopeId(2), '--json');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout) as {
      message: { messageId: string; dlqMessageId: string; envelopeId: string };
      archive: { key: string };
    };
    expect(doc.message).toMatchObject({
      messageId: 'src-2',
      dlqMessageId: 'dlq-2',
      envelopeId: envelopeId(2),
    });
    expect(doc.archive.key).toBe(record(2).key);
  });

  it('dlq show <envelope id> of a message that is no longer in a DLQ finds its archive record', async () => {
    const out = await ops('dlq', 'show', envelopeId(3));

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`archive record ${record(3).key}:`);
    expect(out.stdout).toContain(`envelope id ${envelopeId(3)}, message id src-3`);
  });

  it('dlq redrive --ids <envelope id> selects that message, and the table shows its envelope id', async () => {
    // Act
    const out = await ops('dlq', 'redrive', '--ids', envelopeId(1), '--dry-run');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const [header, row, , summary] = out.stdout.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual([
      'lane',
      'message id',
      'type',
      'envelope id',
      'kind',
      'outcome',
      'new message id',
      'error',
    ]);
    expect(row!.split(/\s{2,}/)).toEqual([
      'standard',
      'src-1',
      'probe',
      envelopeId(1),
      'permanent',
      'would-move',
      '–',
      '–',
    ]);
    expect(summary).toBe('would move 1, skipped 1, failed 0');
  });

  it('replay --ids <envelope id> selects its archive record', async () => {
    const out = await ops('replay', '--ids', envelopeId(3), '--dry-run', '--json');

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout) as {
      items: { messageId: string; envelopeId: string; outcome: string }[];
    };
    expect(doc.items).toEqual([
      expect.objectContaining({ messageId: 'src-3', envelopeId: envelopeId(3), outcome: 'would-replay' }),
    ]);
  });

  it('shows the envelope id in dlq list and archive list', async () => {
    const dlq = await ops('dlq', 'list');
    const archive = await ops('archive', 'list');

    expect(
      dlq.stdout
        .split('\n')[0]!
        .split(/\s{2,}/)
        .slice(0, 5),
    ).toEqual(['lane', 'message id', 'type', 'envelope id', 'kind']);
    expect(dlq.stdout).toMatch(
      new RegExp(`^standard\\s+src-1\\s+probe\\s+${envelopeId(1)}\\s+permanent`, 'm'),
    );
    expect(
      archive.stdout
        .split('\n')[0]!
        .split(/\s{2,}/)
        .slice(0, 6),
    ).toEqual(['archived at', 'lane', 'message id', 'type', 'envelope id', 'kind']);
    expect(archive.stdout).toMatch(new RegExp(`\\s+src-3\\s+probe\\s+${envelopeId(3)}\\s+permanent`));
  });
});

describe('an id that names nothing', () => {
  it.each([
    [['dlq', 'show', envelopeId(9)], `error: no message ${envelopeId(9)} in a DLQ or in the archive\n`],
    [
      ['dlq', 'redrive', '--ids', `${envelopeId(9)},nope`, '--dry-run'],
      `error: --ids: no dead-lettered message has the id ${envelopeId(9)}, nope (an envelope id or an SQS message id; dlq list shows them)\n`,
    ],
    [
      ['replay', '--ids', envelopeId(9), '--dry-run'],
      `error: --ids: no archive record matches ${envelopeId(9)} (an envelope id or an SQS message id; archive list shows them)\n`,
    ],
  ])('%j fails (exit 1) in one line, printing nothing on stdout', async (argv, line) => {
    const out = await ops(...argv);

    expect(out.stderr).toBe(line);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
  });

  it('moves nothing when one of the ids given names nothing, even if the others do', async () => {
    // Act
    const out = await ops('dlq', 'redrive', '--ids', `${envelopeId(1)},nope`);

    // Assess
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^error: --ids: no dead-lettered message has the id nope /);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    // Both copies were made visible again.
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => e.ReceiptHandle);
    expect(released.sort()).toEqual(['rh-1', 'rh-2']);
  });

  it('replays nothing when one of the ids given names nothing', async () => {
    const out = await ops('replay', '--ids', `${envelopeId(3)},nope`);

    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^error: --ids: no archive record matches nope /);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});
