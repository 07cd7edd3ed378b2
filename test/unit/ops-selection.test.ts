import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveRecord, FailureKind } from '../../lambda/shared/archive';
import { ArchiveReader } from '../../ops/lib/archive';
import { idsOfCopy, redrive } from '../../ops/lib/dlq';
import { parseDate, parsePayload, parsePositive, parseSelection, parseType } from '../../ops/lib/filters';
import { replay } from '../../ops/lib/replay';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// What ops selects, at the library level, where the mutation run (npm run mutation,
// bench/README.md) found no test: the archive listing's pre-filters (lane prefix, --until by key
// day, --ids by key) and its time bounds, replay's skips (still in a DLQ, behind a FIFO head, a
// queue the stage lacks) and --ids by message id, redrive's clock-skew allowance, and the edges of
// the option parsers. (Redrive's filters: test/unit/ops-redrive-filters.test.ts.)

const REGION = 'eu-west-1';
const queue = (name: string, fifo = false): QueueRef => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
  name,
  fifo,
});
const STANDARD: QueuePair = { key: 'standard', source: queue('std-queue'), dlq: queue('std-dlq') };
const FIFO: QueuePair = {
  key: 'fifo',
  source: queue('fifo-queue.fifo', true),
  dlq: queue('fifo-dlq.fifo', true),
};

const sqs = new SQSClient({ region: REGION });
const s3 = new S3Client({ region: REGION });
const sqsMock = mockClient(sqs);
const s3Mock = mockClient(s3);
afterAll(() => {
  sqsMock.restore();
  s3Mock.restore();
});

function targetOf(kind: Target['kind'] = 'local'): Target {
  return {
    kind,
    name: 'dev',
    region: REGION,
    queues: [STANDARD, FIFO],
    bucket: 'archive',
    apiUrl: 'http://127.0.0.1:3000/',
    sqs,
    s3,
    moveTasks: false,
    alarms: async () => [],
    oldestAges: async () => new Map(),
    messageStatus: async () => undefined,
    close: () => undefined,
  };
}

const envelopeId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const body = (n: number) =>
  JSON.stringify({
    v: 1,
    id: envelopeId(n),
    type: 'probe',
    payload: {},
    createdAt: '2026-11-22T10:00:00.000Z',
  });

/** An archived failure: message `messageId` (envelope `n`) of `queueName`, archived on `day` at `time`. */
function archived(
  n: number,
  messageId: string,
  o: { queueName?: string; day?: string; time?: string; group?: string; kind?: FailureKind } = {},
): { key: string; record: ArchiveRecord } {
  const queueName = o.queueName ?? STANDARD.source.name;
  const day = o.day ?? '2026-11-22';
  return {
    key: `failed/${queueName}/${day.replaceAll('-', '/')}/${messageId}.json`,
    record: {
      v: 1,
      messageId,
      queue: { name: queueName, arn: `arn:aws:sqs:${REGION}:123456789012:${queueName}` },
      body: body(n),
      attributes: o.group ? { MessageGroupId: o.group } : {},
      messageAttributes: {},
      receiveCount: 3,
      sentAt: null,
      firstReceivedAt: null,
      archivedAt: `${day}T${o.time ?? '10:00:00.000'}Z`,
      failure: { kind: o.kind ?? 'exhausted', errorName: 'E', errorMessage: 'e' },
    },
  };
}

/** A DLQ copy of message `messageId` (the redrive policy moved it: its own id). */
const dlqCopy = (
  messageId: string,
  n: number,
  group?: string,
  sentAt = Date.parse('2026-11-22T10:00:01Z'),
): Message => ({
  MessageId: messageId,
  ReceiptHandle: `rh-${messageId}`,
  Body: body(n),
  Attributes: { SentTimestamp: String(sentAt), ...(group ? { MessageGroupId: group } : {}) },
  MessageAttributes: {},
});

/** Fresh mocks: the bucket holds `records`, each DLQ (by lane) its messages once. */
function world(records: { key: string; record: ArchiveRecord }[], dlqs: Record<string, Message[]> = {}) {
  sqsMock.reset();
  s3Mock.reset();
  const byKey = new Map(records.map((r) => [r.key, r.record]));
  s3Mock.on(ListObjectsV2Command).callsFake(async (input) => ({
    Contents: [...byKey.keys()].filter((k) => k.startsWith(input.Prefix ?? '')).map((Key) => ({ Key })),
  }));
  s3Mock.on(GetObjectCommand).callsFake(async (input) => {
    const r = byKey.get(input.Key);
    if (!r) throw new NoSuchKey({ message: 'no such key', $metadata: {} });
    return { Body: { transformToString: async () => JSON.stringify(r) } };
  });
  for (const pair of [STANDARD, FIFO])
    sqsMock
      .on(ReceiveMessageCommand, { QueueUrl: pair.dlq.url })
      .resolvesOnce({ Messages: dlqs[pair.key] ?? [] })
      .resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'new' });
  sqsMock.on(DeleteMessageCommand).resolves({});
}
const listed = () => s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix);
const read = () => s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key);

beforeEach(() => world([]));

describe('archive listing: what it reads', () => {
  it("lists every lane's records under failed/, or one lane's under its queue's prefix", async () => {
    // Prepare: a record of a queue the target does not have
    world([archived(1, 'm-1'), archived(2, 'm-2', { queueName: 'other-queue' })]);

    // Act
    const all = await new ArchiveReader(targetOf()).list({});
    const prefixesAll = listed();
    world([archived(1, 'm-1'), archived(2, 'm-2', { queueName: 'other-queue' })]);
    const fifo = await new ArchiveReader(targetOf()).list({ lane: 'fifo' });

    // Assess
    expect(prefixesAll).toEqual(['failed/']);
    expect(all.map((a) => [a.record.messageId, a.lane])).toEqual([
      ['m-1', 'standard'],
      ['m-2', null],
    ]);
    expect(listed()).toEqual(['failed/fifo-queue.fifo/']);
    expect(fifo).toEqual([]);
  });

  it('does not read the records of days after --until (the key carries the day)', async () => {
    world([archived(1, 'm-1', { day: '2026-11-21' }), archived(2, 'm-2', { day: '2026-11-23' })]);

    const out = await new ArchiveReader(targetOf()).list({ until: new Date('2026-11-22T23:59:59Z') });

    expect(out.map((a) => a.record.messageId)).toEqual(['m-1']);
    expect(read()).toEqual(['failed/std-queue/2026/11/21/m-1.json']);
  });

  it('still reads a key that carries no day under --until (the pre-filter never drops a possible match)', async () => {
    const undated = { ...archived(1, 'm-1', { day: '2026-11-21' }), key: 'failed/std-queue/m-1.json' };
    world([undated, archived(2, 'm-2', { day: '2026-11-23' })]);

    const out = await new ArchiveReader(targetOf()).list({ until: new Date('2026-11-22T23:59:59Z') });

    expect(out.map((a) => a.record.messageId)).toEqual(['m-1']);
    expect(read()).toEqual(['failed/std-queue/m-1.json']);
  });

  it('reads only the keys of the message ids named, and every record when an id may be an envelope id', async () => {
    world([archived(1, 'm-1'), archived(2, 'm-2')]);
    const byMessageId = await new ArchiveReader(targetOf()).list({ ids: ['m-2'] });
    const readByMessageId = read();
    world([archived(1, 'm-1'), archived(2, 'm-2')]);
    const byEnvelopeId = await new ArchiveReader(targetOf()).list({ ids: [envelopeId(1)] });

    expect(byMessageId.map((a) => a.record.messageId)).toEqual(['m-2']);
    expect(readByMessageId).toEqual(['failed/std-queue/2026/11/22/m-2.json']);
    expect(byEnvelopeId.map((a) => a.record.messageId)).toEqual(['m-1']);
    expect(read().sort()).toEqual([
      'failed/std-queue/2026/11/22/m-1.json',
      'failed/std-queue/2026/11/22/m-2.json',
    ]);
  });

  it('includes records archived exactly at --since and at --until', async () => {
    world([
      archived(1, 'm-1', { time: '09:59:59.999' }),
      archived(2, 'm-2', { time: '10:00:00.000' }),
      archived(3, 'm-3', { time: '11:00:00.000' }),
      archived(4, 'm-4', { time: '11:00:00.001' }),
    ]);

    const out = await new ArchiveReader(targetOf()).list({
      since: new Date('2026-11-22T10:00:00Z'),
      until: new Date('2026-11-22T11:00:00Z'),
    });

    expect(out.map((a) => a.record.messageId).sort()).toEqual(['m-2', 'm-3']);
  });
});

describe('replay: what it skips', () => {
  const outcomes = (r: Awaited<ReturnType<typeof replay>>) => r.items.map((i) => [i.messageId, i.outcome]);

  it('skips a message still in its DLQ unless told to include it, then deletes that copy after the replay', async () => {
    // Prepare
    const records = [archived(1, 'm-1', { time: '09:00:00.000' }), archived(2, 'm-2')];
    world(records, { standard: [dlqCopy('m-1', 1)] });

    // Act
    const skipped = await replay(targetOf(), { lane: 'standard' });
    world(records, { standard: [dlqCopy('m-1', 1)] });
    const included = await replay(targetOf(), { lane: 'standard' }, { includeDeadLettered: true });

    // Assess
    expect(outcomes(skipped)).toEqual([
      ['m-1', 'skipped-dead-lettered'],
      ['m-2', 'replayed'],
    ]);
    expect(skipped.items[0]!.detail).toBe('still in std-dlq (redrive it, or --include-dead-lettered)');
    expect(outcomes(included)).toEqual([
      ['m-1', 'replayed'],
      ['m-2', 'replayed'],
    ]);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: STANDARD.dlq.url, ReceiptHandle: 'rh-m-1' },
    ]);
  });

  it('skips a FIFO message whose group has a head in the DLQ, and only that group', async () => {
    // Prepare: group g's head (m-0) is in the DLQ; m-1 is behind it; m-2 is of group h
    const fifo = { queueName: FIFO.source.name };
    const [m1, m2] = [
      archived(1, 'm-1', { ...fifo, group: 'g', time: '09:00:00.000' }),
      archived(2, 'm-2', { ...fifo, group: 'h' }),
    ];
    world([m1, m2], {
      fifo: [dlqCopy('m-0', 0, 'g')],
    });

    // Act
    const result = await replay(targetOf(), { lane: 'fifo' }, { dryRun: true });

    // Assess
    expect(outcomes(result)).toEqual([
      ['m-1', 'skipped-dead-lettered'],
      ['m-2', 'would-replay'],
    ]);
    expect(result.items[0]!.detail).toBe('its group g has messages in fifo-dlq.fifo; redrive them first');
  });

  it('skips a FIFO message that is itself its group’s head in the DLQ as still there, and replays it when included', async () => {
    const records = [archived(0, 'm-0', { queueName: FIFO.source.name, group: 'g' })];
    world(records, { fifo: [dlqCopy('m-0', 0, 'g')] });
    const skipped = await replay(targetOf(), { lane: 'fifo' }, { dryRun: true });
    world(records, { fifo: [dlqCopy('m-0', 0, 'g')] });

    const included = await replay(targetOf(), { lane: 'fifo' }, { dryRun: true, includeDeadLettered: true });

    expect(skipped.items).toMatchObject([
      {
        messageId: 'm-0',
        outcome: 'skipped-dead-lettered',
        detail: 'still in fifo-dlq.fifo (redrive it, or --include-dead-lettered)',
      },
    ]);
    expect(outcomes(included)).toEqual([['m-0', 'would-replay']]);
  });

  it('does not hold back a standard message behind anything', async () => {
    world([archived(1, 'm-1', { group: 'g' })], { standard: [dlqCopy('m-0', 0, 'g')] });

    const result = await replay(targetOf(), { lane: 'standard' }, { dryRun: true });

    expect(outcomes(result)).toEqual([['m-1', 'would-replay']]);
  });

  it('skips a record of a queue the stage does not have, saying which', async () => {
    world([archived(1, 'm-1', { queueName: 'other-queue' })]);

    const result = await replay(targetOf(), {}, { dryRun: true });

    expect(result.items).toMatchObject([
      { messageId: 'm-1', outcome: 'skipped-unknown-queue', detail: 'queue other-queue is not in dev' },
    ]);
  });

  it('lists by a message id and an envelope id given together (the envelope id is found in the bodies)', async () => {
    world([
      archived(1, 'm-1'),
      archived(2, 'm-2', { time: '09:02:00.000' }),
      archived(3, 'm-3', { time: '09:03:00.000' }),
    ]);

    const out = await new ArchiveReader(targetOf()).list({ ids: ['m-2', envelopeId(3)] });

    expect(out.map((a) => a.record.messageId)).toEqual(['m-3', 'm-2']);
  });

  it('replays by SQS message id as well as by envelope id', async () => {
    world([archived(1, 'm-1'), archived(2, 'm-2')]);
    const byMessageId = await replay(targetOf(), { ids: ['m-2'] }, { dryRun: true });

    expect(outcomes(byMessageId)).toEqual([['m-2', 'would-replay']]);
    expect(byMessageId.unmatchedIds).toEqual([]);
  });
});

describe('redrive: which DLQ messages are this run’s', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');

  it.each([
    ['local', 0, 'moved'],
    ['local', 1, 'skipped'],
    ['aws', 1000, 'moved'],
    ['aws', 1001, 'skipped'],
  ] as const)('on a %s target, a copy sent %s ms after the start is %s', async (kind, after, expected) => {
    // SentTimestamp is the SQS server's clock: on AWS it may run a second ahead of this machine's
    world([], { standard: [dlqCopy('m-1', 1, undefined, now + after)] });

    const result = await redrive(targetOf(kind), { lane: 'standard', type: 'probe' }, { now: () => now });

    expect([result.moved, result.skipped]).toEqual(expected === 'moved' ? [1, 0] : [0, 1]);
    expect(result.dryRun).toBe(false);
  });

  it('counts a message resent but whose DLQ copy could not be deleted as moved (and not deleted)', async () => {
    world([], { standard: [dlqCopy('m-1', 1)] });
    sqsMock.on(DeleteMessageCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));

    const result = await redrive(targetOf(), { lane: 'standard', type: 'probe' });

    expect(result).toMatchObject({ moved: 1, notDeleted: 1, failed: 0 });
  });

  it('answers to the ids of a copy: its own and its source id (no envelope id for a body that is not one)', () => {
    expect(idsOfCopy({ MessageId: 'd-1', Body: 'plain text' })).toEqual(['d-1', 'd-1']);
    expect(idsOfCopy({ MessageId: 'd-1', Body: body(7) })).toEqual(['d-1', 'd-1', envelopeId(7)]);
  });
});

describe('ops option parsers: edges', () => {
  it.each(['2026-11-22', '2026-11-22T10:00:00Z'])('takes --since %s', (v) => {
    expect(parseDate('since', v)?.toISOString().slice(0, 10)).toBe('2026-11-22');
  });

  // 'Sun 2026-11-22' and ' 2026-11-22' parse as dates (Date.parse), but do not start with one.
  it.each(['x2026-11-22', '2026-11-2', '2026-13-01', 'yesterday', 'Sun 2026-11-22', ' 2026-11-22'])(
    'refuses --since %s',
    (v) => {
      expect(() => parseDate('since', v)).toThrow(`--since ${v}: use an ISO date or time`);
    },
  );

  it('takes 1 as a positive number, refuses 0', () => {
    expect(parsePositive('max', '1')).toBe(1);
    expect(() => parsePositive('max', '0')).toThrow('--max 0: use a whole number of at least 1');
  });

  it.each(['a b', '!probe', 'probe!', 'x'.repeat(129)])('refuses --type %s', (v) => {
    expect(() => parseType(v)).toThrow(`--type ${v}: not a job type name`);
  });

  it.each(['1', 'null', '[]', '"x"'])('refuses the payload %s: not a JSON object', (v) => {
    expect(() => parsePayload(v)).toThrow('payload must be a JSON object');
  });

  it('asks for the payload when there is none', () => {
    expect(() => parsePayload(undefined)).toThrow(
      `send: give the payload as JSON, e.g. '{"mode":"succeed"}'`,
    );
  });

  it('leaves the options not given out of a selection', () => {
    expect(
      Object.keys(parseSelection({ type: 'probe' }, ['lane', 'type', 'kind', 'since', 'until', 'ids'])),
    ).toEqual(['type']);
  });
});
