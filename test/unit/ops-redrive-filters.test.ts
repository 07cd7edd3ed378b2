import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isFiltered, redrive } from '../../ops/lib/dlq';
import { parseSelection } from '../../ops/lib/filters';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// `dlq redrive` selects with --lane, --type, --kind and --ids (ops/commands/dlq-redrive.ts:
// parseSelection, then redrive). Each filter alone must leave out exactly what it does not name;
// the DLQs here hold messages that differ in one respect at a time.

const REGION = 'eu-west-1';
const queue = (name: string, fifo = false): QueueRef => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
  name,
  fifo,
});
const pair = (key: string): QueuePair => ({
  key,
  source: queue(`EventPipeline-dev-${key}-queue`),
  dlq: queue(`EventPipeline-dev-${key}-dlq`),
});
const LANES = [pair('standard'), pair('thumbnails')] as const;

const sqs = new SQSClient({ region: REGION });
const s3 = new S3Client({ region: REGION });
const sqsMock = mockClient(sqs);
const s3Mock = mockClient(s3);
afterAll(() => {
  sqsMock.restore();
  s3Mock.restore();
});

/** A target of two lanes, message by message (as in local mode: no move tasks). */
const target: Target = {
  kind: 'local',
  name: 'local',
  region: REGION,
  queues: LANES,
  bucket: 'archive',
  apiUrl: 'http://127.0.0.1:3000/',
  sqs,
  s3,
  moveTasks: false,
  alarms: async () => [],
  oldestAges: async () => new Map(),
  close: () => undefined,
};

/**
 * A DLQ copy: `id` its DLQ message id; `source` the id it had on its source queue when the
 * consumer sent it (attribute `original-message-id`), absent when the redrive policy moved it.
 */
function dlqCopy(id: string, type: string, o: { kind?: string; source?: string } = {}): Message {
  const attr = (v: string) => ({ DataType: 'String', StringValue: v });
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({
      v: 1,
      id: `00000000-0000-4000-8000-${id.padStart(12, '0')}`,
      type,
      payload: {},
      createdAt: '2026-11-22T10:00:00.000Z',
      correlationId: `req-${id}`,
    }),
    Attributes: { SentTimestamp: String(Date.parse('2026-11-22T10:00:01Z')), ApproximateReceiveCount: '1' },
    MessageAttributes: {
      type: attr(type),
      ...(o.kind ? { 'failure-kind': attr(o.kind) } : {}),
      ...(o.source ? { 'original-message-id': attr(o.source) } : {}),
    },
  };
}

/** What each lane's DLQ holds. */
const DLQS: Record<string, Message[]> = {
  standard: [
    dlqCopy('1', 'probe', { kind: 'permanent', source: 'src-1' }),
    dlqCopy('2', 'email.send', { kind: 'permanent', source: 'src-2' }),
    dlqCopy('3', 'probe', { kind: 'exhausted', source: 'src-3' }),
    // Moved by the redrive policy: no failure attributes, its own id
    dlqCopy('4', 'probe'),
  ],
  thumbnails: [dlqCopy('5', 'probe', { kind: 'permanent', source: 'src-5' })],
};

/**
 * Fresh mocks: each lane's DLQ answers its messages once, then nothing (the walker holds what it
 * received); sends succeed; no archive records (the DLQ copies' attributes tell type and kind).
 */
function dlqsHold(dlqs: Record<string, Message[]>) {
  sqsMock.reset();
  s3Mock.reset();
  for (const p of LANES)
    sqsMock
      .on(ReceiveMessageCommand, { QueueUrl: p.dlq.url })
      .resolvesOnce({ Messages: dlqs[p.key] })
      .resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqsMock
    .on(SendMessageCommand)
    .callsFake(async (input) => ({ MessageId: `new-${input.MessageBody.length}` }));
  s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no such key', $metadata: {} }));
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: [] });
}

beforeEach(() => dlqsHold(DLQS));

/** The source message ids a dry run of `dlq redrive <options>` would move, by lane. */
async function wouldMove(options: Record<string, string>): Promise<string[]> {
  dlqsHold(DLQS);
  const filter = parseSelection(options, ['lane', 'type', 'kind', 'ids']);
  const result = await redrive(target, filter, { dryRun: true });
  expect(result.items.every((i) => i.outcome === 'would-move')).toBe(true);
  expect(result.skipped + result.items.length).toBe(
    filter.lane ? DLQS[filter.lane]!.length : Object.values(DLQS).flat().length,
  );
  return result.items.map((i) => `${i.lane}:${i.messageId}`);
}

describe('dlq redrive: each filter alone', () => {
  it('moves everything of every lane without a filter', async () => {
    expect(await wouldMove({})).toEqual([
      'standard:src-1',
      'standard:src-2',
      'standard:src-3',
      'standard:4',
      'thumbnails:src-5',
    ]);
  });

  it('--kind keeps only that kind (a copy without failure attributes is unknown)', async () => {
    expect(await wouldMove({ kind: 'permanent' })).toEqual([
      'standard:src-1',
      'standard:src-2',
      'thumbnails:src-5',
    ]);
    expect(await wouldMove({ kind: 'exhausted' })).toEqual(['standard:src-3']);
    expect(await wouldMove({ kind: 'unknown' })).toEqual(['standard:4']);
  });

  it('--type keeps only that job type', async () => {
    expect(await wouldMove({ type: 'email.send' })).toEqual(['standard:src-2']);
  });

  it('--ids keeps only the messages named, by source id or by DLQ copy id', async () => {
    expect(await wouldMove({ ids: 'src-3' })).toEqual(['standard:src-3']);
    expect(await wouldMove({ ids: '1, 4' })).toEqual(['standard:src-1', 'standard:4']);
    expect(await wouldMove({ ids: 'nothing-like-it' })).toEqual([]);
  });

  it("--lane reads only that lane's DLQ", async () => {
    // Act
    const moved = await wouldMove({ lane: 'thumbnails' });

    // Assess
    expect(moved).toEqual(['thumbnails:src-5']);
    const read = sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.QueueUrl);
    expect(new Set(read)).toEqual(new Set([LANES[1].dlq.url]));
  });

  it('--queue standard is the standard lane', async () => {
    expect(await wouldMove({ queue: 'standard' })).toEqual([
      'standard:src-1',
      'standard:src-2',
      'standard:src-3',
      'standard:4',
    ]);
  });

  it('combines filters as "and"', async () => {
    expect(await wouldMove({ lane: 'standard', type: 'probe', kind: 'permanent' })).toEqual([
      'standard:src-1',
    ]);
  });

  it('sends only what was selected, and makes the rest visible again', async () => {
    // Act
    const result = await redrive(target, parseSelection({ kind: 'exhausted' }, ['kind']));

    // Assess
    expect(result).toMatchObject({ moved: 1, skipped: 4, failed: 0 });
    const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent.map((s) => [s.QueueUrl, s.MessageAttributes?.['redriven-from']?.StringValue])).toEqual([
      [LANES[0].source.url, 'src-3'],
    ]);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => e.ReceiptHandle);
    expect(released.sort()).toEqual(['rh-1', 'rh-2', 'rh-4', 'rh-5']);
  });
});

describe('dlq redrive: what counts as a filter', () => {
  it.each([
    [{}, false],
    [{ lane: 'standard' }, false],
    [{ ids: [] }, false],
    [{ type: 'probe' }, true],
    [{ kind: 'unknown' as const }, true],
    [{ ids: ['m-1'] }, true],
  ])('%o is filtered: %s', (filter, expected) => {
    // A lane alone still moves a whole DLQ: on AWS, one move task
    expect(isFiltered(filter)).toBe(expected);
  });
});
