import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { archiveKey, S3ArchiveWriter } from '../../lambda/shared/archive';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import type { StatusStore } from '../../lambda/shared/status/types';
import {
  publishSweepMetrics,
  sweep,
  SWEEP_VISIBILITY_SECONDS,
  sweptSubject,
  type SweptQueue,
} from '../../lambda/shared/sweeper';
import { subjectOf } from '../../lambda/shared/consumer/status-subject';
import fc from 'fast-check';
import { FakeAws, s3Error, silentLogger, sqsError } from '../helpers/aws-fakes';
import { ARCHIVE_BUCKET, consumer } from '../helpers/consumer';
import {
  dlqMessage,
  envelopeBody,
  fakeContext,
  FIFO_DLQ,
  FIFO_QUEUE,
  probeRecord,
  STANDARD_DLQ,
  STANDARD_QUEUE,
  T0,
} from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

const NOW = new Date('2026-11-23T03:00:00.000Z');
const standard: SweptQueue = {
  dlqUrl: STANDARD_DLQ.url,
  sourceQueueName: STANDARD_QUEUE.name,
  sourceQueueArn: STANDARD_QUEUE.arn,
};
const fifo: SweptQueue = {
  dlqUrl: FIFO_DLQ.url,
  sourceQueueName: FIFO_QUEUE.name,
  sourceQueueArn: FIFO_QUEUE.arn,
};

function deps(remainingMs = 60_000) {
  return {
    sqs: new SQSClient({ region: 'eu-west-1' }),
    archive: new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), ARCHIVE_BUCKET, { checkFirst: true }),
    logger: silentLogger(),
    deadline: () => remainingMs,
    now: () => NOW,
  };
}
const probeBody = () => envelopeBody({ type: 'probe', payload: { mode: 'crash' } });
const releases = () =>
  aws.sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
const noDeletes = () => {
  expect(aws.sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  expect(aws.sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
};

/** The part of a status store the sweeper uses, in memory, with a log of its calls. */
class MemoryStatus {
  readonly rows = new Map<string, { status: string; failure: { kind: string; archiveKey: string | null } }>();
  readonly calls: Record<string, unknown>[] = [];
  failGet = false;
  readonly store = {
    get: async (id: string) => {
      this.calls.push({ op: 'get', id });
      if (this.failGet) throw new Error('table unavailable');
      return this.rows.get(id);
    },
    failed: async (
      s: { id: string },
      failure: { kind: string; archiveKey: string | null },
      _error: unknown,
      o: { unlessFinal?: boolean } = {},
    ) => {
      this.calls.push({ op: 'failed', id: s.id, failure, unlessFinal: o.unlessFinal });
      const row = this.rows.get(s.id);
      if (o.unlessFinal && (row?.status === 'failed' || row?.status === 'succeeded')) return;
      this.rows.set(s.id, { status: 'failed', failure });
    },
  } as unknown as StatusStore;
}

describe('DLQ sweeper', () => {
  it("archives DLQ messages that have no archive record with failure kind 'unknown'", async () => {
    // Prepare: two messages moved by the redrive policy after a crash / timeout.
    const messages = [
      dlqMessage({ body: probeBody(), receiveCount: 1 }),
      dlqMessage({ body: 'not an envelope' }),
    ];
    aws.receivePages = [messages];

    // Act
    const result = await sweep([standard], deps());

    // Assess
    expect(result).toEqual({ seen: 2, archived: 2, alreadyArchived: 0, confirmed: 0, failed: 0 });
    const records = aws.archived();
    expect(records.map((r) => r.messageId)).toEqual(messages.map((m) => m.MessageId));
    expect(records[0]).toMatchObject({
      v: 1,
      queue: { name: STANDARD_QUEUE.name, arn: STANDARD_QUEUE.arn },
      body: messages[0]!.Body,
      attributes: messages[0]!.Attributes,
      receiveCount: 1,
      sentAt: T0.toISOString(),
      archivedAt: NOW.toISOString(),
      failure: { kind: 'unknown', errorName: 'UnknownFailure' },
    });
    expect(aws.puts().map((p) => p.Key)).toEqual([
      `failed/${STANDARD_QUEUE.name}/2026/11/22/${messages[0]!.MessageId}.json`,
      `failed/${STANDARD_QUEUE.name}/2026/11/22/${messages[1]!.MessageId}.json`,
    ]);
    noDeletes();
  });

  it('receives with every attribute, a sweep-long visibility and no long polling', async () => {
    aws.receivePages = [[dlqMessage({ body: probeBody() })]];

    await sweep([standard], deps());

    const [first] = aws.sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input);
    expect(first).toEqual({
      QueueUrl: STANDARD_DLQ.url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: SWEEP_VISIBILITY_SECONDS,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    });
  });

  it('uses the failure-kind, failure-error and source-queue attributes of a message without original-message-id', async () => {
    // Prepare: annotations without the original id are not the consumer's proof of a record.
    const message = dlqMessage({
      messageId: 'dlq-side-id',
      body: probeBody(),
      messageAttributes: {
        type: 'probe',
        [DLQ_ATTR.failureKind]: 'permanent',
        [DLQ_ATTR.errorName]: 'ProbePermanentError',
        [DLQ_ATTR.sourceQueue]: 'renamed-source-queue',
      },
    });
    aws.receivePages = [[message]];

    // Act
    const result = await sweep([standard], deps());

    // Assess
    expect(result).toEqual({ seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 });
    const [record] = aws.archived();
    expect(record!.messageId).toBe('dlq-side-id');
    expect(record!.queue.name).toBe('renamed-source-queue');
    expect(record!.failure).toMatchObject({ kind: 'permanent', errorName: 'ProbePermanentError' });
    expect(record!.messageAttributes).toMatchObject({ type: { stringValue: 'probe', dataType: 'String' } });
    expect(aws.puts()[0]!.Key).toBe('failed/renamed-source-queue/2026/11/22/dlq-side-id.json');
  });

  it('takes the annotations of a message the consumer dead-lettered as proof of its record: no S3 request and no status call, on every run', async () => {
    // Prepare: the FIFO consumer archives, then dead-letters a permanent failure (its copy
    // carries failure-kind and original-message-id).
    const record = probeRecord({ mode: 'fail-permanent' }, { messageGroupId: 'user-1' });
    await consumer({ fifo: true }).run([record]);
    expect(aws.puts()).toHaveLength(1);
    const sent = aws.sends()[0]!;
    const asReceived = dlqMessage({
      messageId: 'dlq-side-id',
      body: sent.MessageBody!,
      messageAttributes: Object.fromEntries(
        Object.entries(sent.MessageAttributes!).map(([k, v]) => [k, v.StringValue!]),
      ),
    });
    const status = new MemoryStatus();
    aws.log.length = 0;

    // Act: three runs over the same message
    const results = [];
    for (let run = 0; run < 3; run++) {
      aws.receivePages = [[asReceived]];
      results.push(await sweep([fifo], { ...deps(), status: status.store }));
    }

    // Assess
    expect(results).toEqual(
      Array.from({ length: 3 }, () => ({
        seen: 1,
        archived: 0,
        alreadyArchived: 0,
        confirmed: 1,
        failed: 0,
      })),
    );
    expect(aws.log).toEqual([]);
    expect(status.calls).toEqual([]);
    expect(releases().flatMap((c) => c.Entries!.map((e) => e.ReceiptHandle))).toEqual(
      Array.from({ length: 3 }, () => asReceived.ReceiptHandle),
    );
  });

  it('checks S3 for a message moved by the redrive policy once, then trusts the status row that names its record', async () => {
    // Prepare: a crashed message, no record, no status row.
    const message = dlqMessage({ body: probeBody() });
    const id = (JSON.parse(message.Body!) as { id: string }).id;
    const status = new MemoryStatus();
    const run = async () => {
      aws.receivePages = [[message]];
      return sweep([standard], { ...deps(), status: status.store });
    };

    // Act
    const first = await run();
    const afterFirst = aws.log.map((c) => c.op);
    aws.log.length = 0;
    const second = await run();
    const third = await run();

    // Assess: the first run checks, writes the record and marks the row; the others read the row only.
    const key = `failed/${STANDARD_QUEUE.name}/2026/11/22/${message.MessageId}.json`;
    expect(first).toEqual({ seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(afterFirst).toEqual(['HeadObject', 'PutObject']);
    expect(aws.objects.has(key)).toBe(true);
    expect(second).toEqual({ seen: 1, archived: 0, alreadyArchived: 0, confirmed: 1, failed: 0 });
    expect(third).toEqual(second);
    expect(aws.log).toEqual([]);
    expect(status.calls).toEqual([
      { op: 'get', id },
      { op: 'failed', id, failure: { kind: 'unknown', archiveKey: key }, unlessFinal: true },
      { op: 'get', id },
      { op: 'get', id },
    ]);
  });

  it('checks S3 while the status row names another record, or cannot be read', async () => {
    // Prepare: a row `failed` with an older record's key (an earlier life of the envelope); later
    // a status table that does not answer.
    const message = dlqMessage({ body: probeBody() });
    const id = (JSON.parse(message.Body!) as { id: string }).id;
    const status = new MemoryStatus();
    status.rows.set(id, {
      status: 'failed',
      failure: { kind: 'permanent', archiveKey: 'failed/other.json' },
    });

    // Act
    aws.receivePages = [[message]];
    const stale = await sweep([standard], { ...deps(), status: status.store });
    status.failGet = true;
    aws.receivePages = [[message]];
    const unreadable = await sweep([standard], { ...deps(), status: status.store });

    // Assess: both runs asked S3 (the first wrote the record, the second found it).
    expect(stale).toEqual({ seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(unreadable).toEqual({ seen: 1, archived: 0, alreadyArchived: 1, confirmed: 0, failed: 0 });
    expect(aws.log.map((c) => c.op)).toEqual(['HeadObject', 'PutObject', 'HeadObject']);
  });

  it('is idempotent: a second run finds every record and writes nothing', async () => {
    // Prepare
    const messages = Array.from({ length: 3 }, () => dlqMessage({ body: probeBody() }));
    aws.receivePages = [messages];
    const first = await sweep([standard], deps());
    aws.receivePages = [messages];
    aws.log.length = 0;

    // Act
    const second = await sweep([standard], deps());

    // Assess
    expect(first).toEqual({ seen: 3, archived: 3, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(second).toEqual({ seen: 3, archived: 0, alreadyArchived: 3, confirmed: 0, failed: 0 });
    expect(aws.puts()).toHaveLength(0);
    expect(aws.objects.size).toBe(3);
  });

  it('releases every message it held with visibility 0, at most 10 per call', async () => {
    // Prepare
    const messages = Array.from({ length: 13 }, () => dlqMessage({ body: probeBody() }));
    aws.receivePages = [messages.slice(0, 10), messages.slice(10)];

    // Act
    await sweep([standard], deps());

    // Assess
    const calls = releases();
    expect(calls.map((c) => c.Entries!.length)).toEqual([10, 3]);
    for (const c of calls) {
      expect(c.QueueUrl).toBe(STANDARD_DLQ.url);
      expect(new Set(c.Entries!.map((e) => e.Id)).size).toBe(c.Entries!.length);
      expect(c.Entries!.every((e) => e.VisibilityTimeout === 0)).toBe(true);
    }
    expect(calls.flatMap((c) => c.Entries!.map((e) => e.ReceiptHandle))).toEqual(
      messages.map((m) => m.ReceiptHandle),
    );
    noDeletes();
  });

  it('counts a failing archive write, keeps the message, and archives the others', async () => {
    // Prepare
    const messages = [dlqMessage({ body: probeBody() }), dlqMessage({ body: probeBody() })];
    aws.receivePages = [messages];
    aws.failPut = (key) => (key.includes(messages[0]!.MessageId!) ? s3Error(500) : undefined);

    // Act
    const result = await sweep([standard], deps());

    // Assess
    expect(result).toEqual({ seen: 2, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 1 });
    expect(releases().flatMap((c) => c.Entries!.map((e) => e.ReceiptHandle))).toEqual(
      messages.map((m) => m.ReceiptHandle),
    );
    noDeletes();
  });

  it('counts a message delivered twice in one sweep once', async () => {
    const message = dlqMessage({ body: probeBody() });
    aws.receivePages = [[message], [{ ...message, ReceiptHandle: 'second-receipt' }]];

    const result = await sweep([standard], deps());

    expect(result).toEqual({ seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(releases()[0]!.Entries!.map((e) => e.ReceiptHandle)).toEqual([
      message.ReceiptHandle,
      'second-receipt',
    ]);
  });

  it('sweeps every configured DLQ', async () => {
    aws.receivePages = [[dlqMessage({ body: probeBody() })], [], [dlqMessage({ body: probeBody() })]];

    const result = await sweep([standard, fifo], deps());

    expect(result.archived).toBe(2);
    expect(aws.archived().map((r) => r.queue.name)).toEqual([STANDARD_QUEUE.name, FIFO_QUEUE.name]);
  });

  it('does not start receiving with 5 s or less left', async () => {
    aws.receivePages = [[dlqMessage({ body: probeBody() })]];

    const result = await sweep([standard], deps(5_000));

    expect(result).toEqual({ seen: 0, archived: 0, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(aws.sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('releases what it held even when a receive fails, and survives a failed release', async () => {
    // Prepare: the second receive fails, and so does the release after it.
    const message = dlqMessage({ body: probeBody() });
    const receiveFailure = sqsError();
    let calls = 0;
    aws.sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      if (calls++ === 0) return { Messages: [message] };
      throw receiveFailure;
    });
    aws.sqsMock.on(ChangeMessageVisibilityBatchCommand).rejects(sqsError());

    // Act
    const swept = sweep([standard], deps());

    // Assess: the receive's failure is what the run reports (the failed release is only logged),
    // after the held message was released and archived.
    await expect(swept).rejects.toBe(receiveFailure);
    expect(releases().map((r) => r.Entries!.map((e) => e.ReceiptHandle))).toEqual([[message.ReceiptHandle]]);
    expect(aws.archived()).toHaveLength(1);
  });

  it('computes the same key as the consumer for a message moved by the redrive policy', async () => {
    // The envelope's createdAt dates the key, so a sweep days later files it under the same day.
    const record = probeRecord({ mode: 'timeout' }, { createdAt: new Date('2026-11-22T23:59:00.000Z') });
    const message = dlqMessage({
      messageId: record.messageId,
      body: record.body,
      sentAt: new Date('2026-11-23T00:01:00.000Z'),
    });
    aws.receivePages = [[message]];

    await sweep([standard], deps());

    expect(aws.puts()[0]!.Key).toBe(
      archiveKey({
        queue: { name: STANDARD_QUEUE.name, arn: STANDARD_QUEUE.arn },
        messageId: record.messageId,
        body: record.body,
        sentAt: null,
        archivedAt: new Date().toISOString(),
      }),
    );
    expect(aws.puts()[0]!.Key).toContain('/2026/11/22/');
  });
});

describe('DLQ sweeper Lambda entry point', () => {
  const dynamoMock = mockClient(DynamoDBDocumentClient);
  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.resolves({});
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('sweeps the queues of SWEPT_QUEUES into ARCHIVE_BUCKET, checking for existing records first', async () => {
    // Prepare
    vi.stubEnv('ARCHIVE_BUCKET', ARCHIVE_BUCKET);
    vi.stubEnv('SWEPT_QUEUES', JSON.stringify([standard, fifo]));
    vi.stubEnv('STATUS_TABLE', 'status');
    vi.stubEnv('STATUS_RETENTION_DAYS', '7');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.resetModules();
    const { handler } = (await import('../../lambda/dlq-sweeper/index.js')) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    const message = dlqMessage({ body: probeBody() });
    aws.receivePages = [[message]];

    // Act
    const result = await handler(
      { source: 'aws.events' },
      fakeContext({ functionName: 'dlq-sweeper', remainingMs: 60_000 }),
    );

    // Assess
    expect(result).toEqual({ seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 });
    expect(aws.log.map((c) => c.op)).toEqual(['HeadObject', 'PutObject']);
    expect(aws.puts()[0]!.Bucket).toBe(ARCHIVE_BUCKET);
    const receivedFrom = aws.sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.QueueUrl);
    expect(new Set(receivedFrom)).toEqual(new Set([STANDARD_DLQ.url, FIFO_DLQ.url]));
    // The swept message's status row is marked failed (kind unknown) unless already final.
    const [update] = dynamoMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(update).toMatchObject({
      TableName: 'status',
      ExpressionAttributeValues: expect.objectContaining({
        ':state': 'failed',
        ':failure': expect.objectContaining({ kind: 'unknown' }),
      }),
    });
  });
});

describe('DLQ sweeper metrics', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    // Powertools writes through its own Console on process.stdout / process.stderr.
    const capture = (chunk: unknown) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  afterEach(() => vi.restoreAllMocks());
  const metrics = () => new Metrics({ serviceName: 'dlq-sweeper', namespace: 'Test' });
  const documents = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws?: { CloudWatchMetrics: unknown[] } });

  it('writes nothing for a sweep that archived nothing and failed nothing', () => {
    publishSweepMetrics(metrics(), { seen: 4, archived: 0, alreadyArchived: 1, confirmed: 3, failed: 0 });

    expect(lines).toEqual([]);
  });

  it('writes only the counts that are not 0, with the dimension service', () => {
    publishSweepMetrics(metrics(), { seen: 3, archived: 2, alreadyArchived: 0, confirmed: 1, failed: 0 });
    publishSweepMetrics(metrics(), { seen: 3, archived: 0, alreadyArchived: 0, confirmed: 2, failed: 1 });

    const docs = documents();
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ service: 'dlq-sweeper', archived: 2 });
    expect(docs[0]).not.toHaveProperty('archiveFailed');
    expect(docs[1]).toMatchObject({ service: 'dlq-sweeper', archiveFailed: 1 });
    expect(docs[1]).not.toHaveProperty('archived');
    expect(docs[0]!._aws!.CloudWatchMetrics).toEqual([
      { Namespace: 'Test', Dimensions: [['service']], Metrics: [{ Name: 'archived', Unit: 'Count' }] },
    ]);
  });
});

describe('the status subject of a swept message (without the envelope schema)', () => {
  it('is the subject the consumer gives, for every envelope the schema accepts', () => {
    const uuid = fc.uuid();
    const time = fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .chain((d) =>
        fc.constantFrom(
          d.toISOString(),
          d.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          d.toISOString().slice(0, 16) + 'Z',
        ),
      );
    /** Mostly valid, sometimes not: most envelopes pass the schema, the rest differ in one or two fields. */
    const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
      fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: invalid, weight: 1 });
    const envelope = fc.record(
      {
        v: mostly(fc.constant(1), fc.constantFrom<unknown>(2, '1')),
        id: mostly(uuid, fc.string()),
        type: mostly(fc.constantFrom('probe', 'email.send', 'a:b-c_d'), fc.string({ maxLength: 3 })),
        payload: mostly(fc.constant({}), fc.constantFrom<unknown>([], null)),
        createdAt: mostly(
          time,
          fc.oneof(fc.string({ maxLength: 5 }), fc.constant('2026-11-22T10:00:00+01:00')),
        ),
        correlationId: mostly(fc.constant('req-1'), fc.constant('')),
        tenant: mostly(
          fc.constantFrom('tenant-a', 'arn:aws:iam::123456789012:role/x'),
          fc.constantFrom('', 'a\u0000b'),
        ),
      },
      { requiredKeys: ['v', 'id', 'type', 'payload', 'createdAt', 'correlationId'] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(envelope, fc.boolean(), (e, isFifo) => {
        const body = JSON.stringify(e);
        const consumerSubject = subjectOf({ body, messageId: 'm-1' }, isFifo);
        const swept = sweptSubject(body, 'm-1', isFifo);
        if (consumerSubject) {
          accepted++;
          expect(swept).toEqual(consumerSubject);
        }
      }),
      { numRuns: 500 },
    );
    // The property held for many envelopes the schema accepted, not for a handful.
    expect(accepted).toBeGreaterThan(100);
  });

  it('is undefined for a body that is not a v1 envelope', () => {
    const valid = JSON.parse(probeBody()) as Record<string, unknown>;
    for (const body of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...valid, v: 2 }),
      JSON.stringify({ ...valid, id: 'not-a-uuid' }),
      JSON.stringify({ ...valid, type: 'has space' }),
      JSON.stringify({ ...valid, createdAt: 'yesterday' }),
      JSON.stringify({ ...valid, createdAt: 42 }),
    ])
      expect(sweptSubject(body, 'm-1', false), body).toBeUndefined();
    expect(sweptSubject(JSON.stringify(valid), 'm-1', false)).toEqual(
      subjectOf({ body: JSON.stringify(valid), messageId: 'm-1' }, false),
    );
  });
});
