import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
  type GetObjectCommandInput,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveRecord } from '../../lambda/shared/archive';
import type { MessageStatus } from '../../lambda/shared/status/types';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { replay, REPLAY_OF_ATTR } from '../../ops/lib/replay';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// `replay` of an archived message whose status row says `succeeded`: the consumer's idempotency is
// keyed by the envelope id and a succeeded message never runs again, so a replay under the same
// envelope id would only be skipped as a duplicate. The tool skips it, saying why; `--force` sends
// a copy under a new envelope id, which the consumer runs.

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

const envelopeId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const envelope = (n: number) => ({
  v: 1,
  id: envelopeId(n),
  type: 'email.send',
  payload: { to: `user-${n}@example.com` },
  createdAt: '2026-11-22T10:00:00.000Z',
  correlationId: `req-${n}`,
});

/** The archive record of SQS message `messageId`, a failure of envelope `n` archived at `archivedAt`. */
function record(n: number, messageId: string, archivedAt: string): { key: string; record: ArchiveRecord } {
  return {
    key: `failed/std-queue/2026/11/22/${messageId}.json`,
    record: {
      v: 1,
      messageId,
      queue: { name: 'std-queue', arn: STANDARD.source.arn },
      body: JSON.stringify(envelope(n)),
      attributes: {},
      messageAttributes: {
        type: { stringValue: 'email.send', dataType: 'String' },
        'correlation-id': { stringValue: `req-${n}`, dataType: 'String' },
      },
      receiveCount: 3,
      sentAt: null,
      firstReceivedAt: null,
      archivedAt,
      failure: { kind: 'exhausted', errorName: 'SmtpDown', errorMessage: 'connection refused' },
    },
  };
}

/** Status rows by envelope id. */
let rows: Map<string, MessageStatus['status']>;
const statusOf = (id: string, status: MessageStatus['status']): MessageStatus => ({
  id,
  type: 'email.send',
  queue: 'standard',
  lane: 'standard',
  status,
  attempts: 4,
  deferrals: 0,
  notBefore: null,
  acceptedAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T10:07:00.000Z',
  lastError: null,
  failure: null,
  messageIds: [],
  correlationId: null,
  result: null,
  resultRef: null,
  parentId: null,
  children: [],
});

function targetWith(options: { status?: boolean } = {}): Target {
  return {
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
    ...(options.status === false
      ? {}
      : {
          messageStatus: async (id: string) => {
            const s = rows.get(id);
            return s ? statusOf(id, s) : undefined;
          },
        }),
    close: () => undefined,
  };
}

/**
 * The archive holds envelope 1 (status succeeded: redriven since, and processed), envelope 2
 * (status failed) and envelope 3 twice (it failed, was replayed, failed again: two records).
 */
function archiveHolds(records: { key: string; record: ArchiveRecord }[]): void {
  sqsMock.reset();
  s3Mock.reset();
  sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  let n = 0;
  sqsMock.on(SendMessageCommand).callsFake(async () => ({ MessageId: `new-${++n}` }));
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: records.map((r) => ({ Key: r.key })) });
  s3Mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const found = records.find((r) => r.key === input.Key);
    if (!found) throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => JSON.stringify(found.record) } };
  });
}
beforeEach(() => {
  rows = new Map([
    [envelopeId(1), 'succeeded'],
    [envelopeId(2), 'failed'],
    [envelopeId(3), 'failed'],
  ]);
  archiveHolds([
    record(1, 'm-1', '2026-11-22T10:01:00.000Z'),
    record(2, 'm-2', '2026-11-22T10:02:00.000Z'),
    record(3, 'm-3a', '2026-11-22T10:03:00.000Z'),
    record(3, 'm-3b', '2026-11-22T10:04:00.000Z'),
  ]);
});

async function ops(target: Target, ...argv: string[]) {
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

type Item = { messageId: string; outcome: string; detail?: string; newEnvelopeId?: string };
const sentBodies = () =>
  sqsMock
    .commandCalls(SendMessageCommand)
    .map((c) => JSON.parse(c.args[0].input.MessageBody!) as { id: string });

describe('replay and the status rows', () => {
  it('skips a message whose status says succeeded, saying why, and replays the others under their envelope id', async () => {
    // Act
    const out = await ops(targetWith(), 'replay', '--type', 'email.send', '--json');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout) as { replayed: number; skipped: number; items: Item[] };
    expect(doc.items.map((i) => [i.messageId, i.outcome])).toEqual([
      ['m-1', 'skipped-succeeded'],
      ['m-2', 'replayed'],
      ['m-3a', 'skipped-superseded'],
      ['m-3b', 'replayed'],
    ]);
    expect(doc.items[0]!.detail).toBe(
      `status succeeded (2026-11-22T10:07:00.000Z): the consumer would skip it as a duplicate (it keys runs by envelope id); --force sends a copy under a new envelope id`,
    );
    expect(doc.items[2]!.detail).toBe(
      `an older failure of ${envelopeId(3)}: only its newest record (m-3b) is replayed`,
    );
    expect(doc).toMatchObject({ replayed: 2, skipped: 2 });
    // The others keep their envelope: their status rows carry on.
    expect(sentBodies().map((b) => b.id)).toEqual([envelopeId(2), envelopeId(3)]);
  });

  it('says in the summary how many had succeeded, and what --force does', async () => {
    const out = await ops(targetWith(), 'replay', '--ids', envelopeId(1));

    expect(out.code).toBe(0);
    expect(out.stdout.trimEnd().split('\n').at(-1)).toBe(
      'replayed 0, skipped 1, failed 0; 1 had succeeded already (--force replays a copy under a new envelope id)',
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('with --force, replays a succeeded message as a copy under a new envelope id (the rest of the envelope kept)', async () => {
    // Act
    const out = await ops(targetWith(), 'replay', '--ids', envelopeId(1), '--force', '--json');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout) as { items: Item[] };
    const [item] = doc.items;
    expect(item).toMatchObject({ messageId: 'm-1', outcome: 'replayed', newMessageId: 'new-1' });
    expect(item!.newEnvelopeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(item!.newEnvelopeId).not.toBe(envelopeId(1));
    const [sent] = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    const body = JSON.parse(sent!.MessageBody!) as ReturnType<typeof envelope>;
    const { id, createdAt, ...rest } = body;
    const { id: _id, createdAt: _createdAt, ...original } = envelope(1);
    expect(id).toBe(item!.newEnvelopeId);
    expect(rest).toEqual(original);
    expect(Date.parse(createdAt)).toBeGreaterThan(Date.parse('2026-11-22T10:00:00.000Z'));
    expect(sent!.MessageAttributes![REPLAY_OF_ATTR]).toEqual({ DataType: 'String', StringValue: 'm-1' });
  });

  it('leaves --force without effect on a message that did not succeed: it keeps its envelope id', async () => {
    const out = await ops(targetWith(), 'replay', '--ids', envelopeId(2), '--force', '--json');

    expect(out.code).toBe(0);
    expect(sentBodies().map((b) => b.id)).toEqual([envelopeId(2)]);
  });

  it('refuses on AWS when the stack has no status table output, saying what to deploy', async () => {
    const target: Target = { ...targetWith({ status: false }), kind: 'aws', name: 'dev' };

    await expect(replay(target, { ids: [envelopeId(2)] })).rejects.toThrow(
      'replay reads the status table to skip messages that succeeded since, and dev has none it can read (the stack has no StatusTableName output: deploy this version of the app)',
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers the ids the archive does not hold, and nothing else, without reading a status (not a dry run)', async () => {
    const reads: string[] = [];
    const target: Target = { ...targetWith(), messageStatus: async (id) => void reads.push(id) };

    const result = await replay(target, { ids: ['m-2', 'no-such-id'] });

    expect(result).toStrictEqual({
      dryRun: false,
      replayed: 0,
      skipped: 0,
      failed: 0,
      items: [],
      unmatchedIds: ['no-such-id'],
    });
    expect(reads).toEqual([]);
  });

  it('reads each envelope’s status once (envelope 3 has two records), and gives it on each item', async () => {
    const reads: string[] = [];
    const base = targetWith();
    const target: Target = {
      ...base,
      messageStatus: async (id) => (reads.push(id), base.messageStatus!(id)),
    };
    rows.delete(envelopeId(2));

    const result = await replay(target, {}, { dryRun: true, force: true });

    expect(reads).toEqual([envelopeId(1), envelopeId(2), envelopeId(3)]);
    expect(result.items.map((i) => [i.messageId, i.status, i.outcome])).toEqual([
      ['m-1', 'succeeded', 'would-replay'],
      ['m-2', null, 'would-replay'],
      ['m-3a', 'failed', 'skipped-superseded'],
      ['m-3b', 'failed', 'would-replay'],
    ]);
    // Only the succeeded one is replayed as a copy, and the dry run says so.
    expect(result.items[0]).toMatchObject({ detail: 'it had succeeded: a copy under a new envelope id' });
    expect(Object.keys(result.items[1]!)).not.toContain('detail');
  });

  it('refuses to replay when it cannot read the status rows', async () => {
    const out = await ops(targetWith({ status: false }), 'replay', '--ids', envelopeId(2));

    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      'error: replay reads the status table to skip messages that succeeded since, and local has none it can read (no status table in the env file: restart local mode)\n',
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});
