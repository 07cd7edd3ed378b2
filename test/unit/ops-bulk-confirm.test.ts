import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// A redrive or replay without a filter moves a whole DLQ or the whole archive: it needs --yes, or
// a "y" to the question it asks when stdin is a terminal. A lane alone is no filter (it is a whole
// DLQ). Filtered runs and dry runs go ahead as before.

const REGION = 'eu-west-1';
const ref = (name: string): QueueRef => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
  name,
  fifo: false,
});
const LANES: QueuePair[] = [
  { key: 'standard', source: ref('std-queue'), dlq: ref('std-dlq') },
  { key: 'thumbnails', source: ref('thumbs-queue'), dlq: ref('thumbs-dlq') },
];

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
  queues: LANES,
  bucket: 'archive',
  apiUrl: 'http://127.0.0.1:3000',
  sqs,
  s3,
  moveTasks: false,
  alarms: async () => [],
  oldestAges: async () => new Map(),
  messageStatus: async () => undefined,
  close: () => undefined,
};

/** Each DLQ holds 3 messages (none read here: the DLQs answer nothing); the archive is empty. */
beforeEach(() => {
  sqsMock.reset();
  s3Mock.reset();
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
  sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: [] });
  s3Mock.on(GetObjectCommand).rejects(new Error('no records'));
});

/** Runs the tool; `answer` is what the operator types when asked (stdin a terminal), or none. */
async function ops(argv: string[], answer?: string) {
  const out = { stdout: '', stderr: '', asked: [] as string[] };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: '/nowhere',
    stdinIsTTY: answer !== undefined,
    ask: async (question) => {
      out.asked.push(question);
      return answer ?? '';
    },
  };
  const code = await runCli(argv, io, COMMANDS, { local: async () => target });
  return { code, ...out };
}

describe('unfiltered redrive and replay ask for confirmation', () => {
  it.each([
    [
      ['dlq', 'redrive'],
      "error: dlq redrive without --type, --kind or --ids moves every message of every lane's DLQ (6 messages) back to its queue: add --yes (or --dry-run)\n",
    ],
    [
      ['dlq', 'redrive', '--lane', 'thumbnails'],
      'error: dlq redrive without --type, --kind or --ids moves every message of the thumbnails DLQ (3 messages) back to its queue: add --yes (or --dry-run)\n',
    ],
    [
      ['replay'],
      'error: replay without --type, --kind, --since, --until or --ids re-enqueues every archived message of every lane: add --yes (or --dry-run)\n',
    ],
    [
      ['replay', '--queue', 'standard'],
      'error: replay without --type, --kind, --since, --until or --ids re-enqueues every archived message of the standard lane: add --yes (or --dry-run)\n',
    ],
  ])('refuses %j without --yes when stdin is not a terminal (exit 2, one line)', async (argv, line) => {
    const out = await ops(argv);

    expect(out.stderr).toBe(line);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.asked).toEqual([]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });

  it.each([
    [['dlq', 'redrive', '--yes'], 'moved 0, skipped 0, failed 0'],
    [['dlq', 'redrive', '--dry-run'], 'would move 0, skipped 0, failed 0'],
    [['dlq', 'redrive', '--kind', 'exhausted'], 'moved 0, skipped 0, failed 0'],
    [['replay', '--yes'], 'replayed 0, skipped 0, failed 0'],
    [['replay', '--dry-run'], 'would replay 0, skipped 0, failed 0'],
    [['replay', '--since', '2026-11-22'], 'replayed 0, skipped 0, failed 0'],
  ])('runs %j without asking', async (argv, summary) => {
    const out = await ops(argv, 'n');

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.asked).toEqual([]);
    expect(out.stdout.trimEnd().split('\n').at(-1)).toBe(summary);
  });

  it('asks on the terminal, and goes ahead on y', async () => {
    const out = await ops(['dlq', 'redrive', '--lane', 'standard'], 'y');

    expect(out.asked).toEqual([
      'move every message of the standard DLQ (3 messages) back to its queue? [y/N] ',
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout.trimEnd().split('\n').at(-1)).toBe('moved 0, skipped 0, failed 0');
    expect(sqsMock.commandCalls(ReceiveMessageCommand).length).toBeGreaterThan(0);
  });

  it('does nothing on any other answer (exit 1, one line)', async () => {
    const out = await ops(['replay'], '');

    expect(out.asked).toEqual(['re-enqueue every archived message of every lane? [y/N] ']);
    expect(out.stderr).toBe('error: not confirmed: nothing was replayed\n');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(s3Mock.commandCalls(ListObjectsV2Command)).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('still names an unknown lane first', async () => {
    const out = await ops(['dlq', 'redrive', '--lane', 'thumbs']);

    expect(out.stderr).toBe('error: no lane thumbs in local (lanes: standard, thumbnails)\n');
    expect(out.code).toBe(2);
  });
});
