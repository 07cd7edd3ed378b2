import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { z } from 'zod';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Context } from 'aws-lambda';
import type { ArchiveRecord } from '../../lambda/shared/archive';
import { backoffSeconds } from '../../lambda/shared/backoff';
import { deadlineMarginMs, withDeadline } from '../../lambda/shared/consumer/deadline';
import { DLQ_ATTR, toSdkAttributes } from '../../lambda/shared/dlq-attributes';
import { DeadlineExceededError } from '../../lambda/shared/errors';
import { defineJob, type JobDefinition } from '../../lambda/shared/jobs/types';
import { laneEntry } from '../helpers/lane-entries';
import { FakeAws, s3Error, silentLogger, sqsError } from '../helpers/aws-fakes';
import {
  accountedMemo,
  ARCHIVE_BUCKET,
  consumer,
  failedIds,
  FIFO_SETTINGS,
  STANDARD_SETTINGS,
} from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import {
  fakeContext,
  FIFO_DLQ,
  FIFO_QUEUE,
  jobRecord,
  probeRecord,
  sqsEvent,
  sqsRecord,
  STANDARD_DLQ,
  STANDARD_QUEUE,
  T0,
} from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

/** Powertools reports standard-queue failures in completion order; compare them as sets. */
const sorted = (ids: readonly string[]) => [...ids].sort();
const sortedFailedIds = (res: SQSBatchResponse) => sorted(failedIds(res));

const ok = () => probeRecord({ mode: 'succeed' });
const archiveKeyOf = (queueName: string, messageId: string) =>
  `failed/${queueName}/2026/11/22/${messageId}.json`;

describe('standard consumer', () => {
  it('acknowledges a batch of successful records without calling SQS or S3', async () => {
    // Prepare
    const records = [
      ok(),
      jobRecord({ type: 'email.send', payload: { to: 'a@example.com', subject: 's', body: 'b' } }),
      ok(),
    ];

    // Act
    const res = await consumer().run(records);

    // Assess
    expect(res).toEqual({ batchItemFailures: [] });
    expect(aws.log).toEqual([]);
  });

  it('reports only the failing records, leaving their batch-mates to be deleted', async () => {
    // Prepare
    const failing = [probeRecord({ mode: 'fail-always' }), probeRecord({ mode: 'succeed', failTimes: 1 })];
    const records = [ok(), failing[0]!, ok(), failing[1]!, ok()];

    // Act
    const res = await consumer().run(records);

    // Assess
    expect(sortedFailedIds(res)).toEqual(sorted(failing.map((r) => r.messageId)));
    expect(
      aws
        .visibilityChanges()
        .map((c) => c.ReceiptHandle)
        .sort(),
    ).toEqual(failing.map((r) => r.receiptHandle).sort());
  });

  it('reports every record instead of throwing when the whole batch fails', async () => {
    const records = [probeRecord({ mode: 'fail-always' }), probeRecord({ mode: 'fail-always' })];

    const res = await consumer().run(records);

    expect(sortedFailedIds(res)).toEqual(sorted(records.map((r) => r.messageId)));
  });

  it('delays a retryable failure with a visibility change inside the backoff bounds', async () => {
    // Prepare: third attempt, base 10 s → nominal 40 s, so 20–40 s.
    const record = probeRecord({ mode: 'fail-always' }, { receiveCount: 3 });

    // Act
    await consumer().run([record]);

    // Assess
    const [change] = aws.visibilityChanges();
    expect(aws.visibilityChanges()).toHaveLength(1);
    expect(change!.QueueUrl).toBe(STANDARD_QUEUE.url);
    expect(change!.ReceiptHandle).toBe(record.receiptHandle);
    expect(change!.VisibilityTimeout).toBeGreaterThanOrEqual(20);
    expect(change!.VisibilityTimeout).toBeLessThanOrEqual(40);
    expect(aws.puts()).toHaveLength(0);
    expect(aws.sends()).toHaveLength(0);
  });

  it.each([
    [0, 1, 5],
    [0.999999, 1, 10],
    [0, 4, 40],
    [0.999999, 4, 80],
    [0.999999, 9, 600],
  ])('uses the injected jitter (random %d) for attempt %d: %d s', async (random, receiveCount, expected) => {
    const record = probeRecord({ mode: 'fail-always' }, { receiveCount });

    await consumer({ random: () => random, settings: { ...STANDARD_SETTINGS, maxReceiveCount: 20 } }).run([
      record,
    ]);

    expect(aws.visibilityChanges()[0]!.VisibilityTimeout).toBe(expected);
    expect(expected).toBe(backoffSeconds(receiveCount, STANDARD_SETTINGS.backoff, () => random));
  });

  it('retries a probe that fails its first attempts, then succeeds', async () => {
    const c = consumer();
    const first = probeRecord({ mode: 'succeed', failTimes: 2 }, { receiveCount: 2 });
    const third = { ...first, attributes: { ...first.attributes, ApproximateReceiveCount: '3' } };

    const a = await c.run([first]);
    const b = await c.run([third]);

    expect(failedIds(a)).toEqual([first.messageId]);
    expect(failedIds(b)).toEqual([]);
  });

  it('still reports a retryable failure when the visibility change itself fails', async () => {
    aws.failVisibility = () => sqsError('ReceiptHandleIsInvalid', 400);
    const record = probeRecord({ mode: 'fail-always' });

    const res = await consumer().run([record, ok()]);

    expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
  });

  it('treats an error outside the pipeline hierarchy as retryable', async () => {
    // Prepare: a job with a bug.
    const buggy = defineJob({
      type: 'test.buggy',
      description: 'throws a TypeError',
      schema: z.object({}),
      ordered: false,
      async handle() {
        throw new TypeError("Cannot read properties of undefined (reading 'id')");
      },
    }) as unknown as JobDefinition;
    const { registry } = recordingRegistry([buggy]);
    const record = jobRecord({ type: 'test.buggy', payload: {} });

    // Act
    const res = await consumer({ registry }).run([record]);

    // Assess
    expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
    expect(aws.visibilityChanges()).toHaveLength(1);
    expect(aws.puts()).toHaveLength(0);
  });

  describe('last attempt', () => {
    it('archives the record as exhausted, then sends it to the DLQ itself and acknowledges it', async () => {
      // Prepare
      const record = probeRecord({ mode: 'fail-always', tag: 'last' }, { receiveCount: 5 });

      // Act
      const res = await consumer().run([record]);

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      // A provisional record before the handler ran, then the final one in its place.
      const key = archiveKeyOf(STANDARD_QUEUE.name, record.messageId);
      expect(aws.puts().map((p) => p.Key)).toEqual([key, key]);
      expect(JSON.parse(String(aws.puts()[0]!.Body)).failure).toMatchObject({
        kind: 'unknown',
        errorName: 'FinalAttemptInterrupted',
      });
      expect(aws.archived()).toHaveLength(1);
      const [archived] = aws.archived();
      expect(archived!.failure).toEqual({
        kind: 'exhausted',
        errorName: 'ProbeAlwaysFailsError',
        errorMessage: 'probe failing attempt 5 (always)',
      });
      expect(archived!.receiveCount).toBe(5);
      expect(aws.visibilityChanges()).toHaveLength(0);
      const [sent] = aws.sends();
      expect(sent!.QueueUrl).toBe(STANDARD_DLQ.url);
      expect(sent!.MessageBody).toBe(record.body);
      expect(sent!.MessageAttributes![DLQ_ATTR.failureKind]!.StringValue).toBe('exhausted');
      expect(sent!.MessageAttributes![DLQ_ATTR.originalMessageId]!.StringValue).toBe(record.messageId);
      // Archived before it was sent.
      const putIndexes = aws['log'].flatMap((c, i) => (c.op === 'PutObject' ? [i] : []));
      expect(putIndexes.at(-1)).toBeLessThan(aws.indexOf((c) => c.op === 'SendMessage'));
    });

    it('leaves an exhausted record visible at once, reported failed, when the DLQ send fails', async () => {
      // Prepare
      aws.failSend = () => new Error('SQS unavailable');
      const record = probeRecord({ mode: 'fail-always' }, { receiveCount: 5 });

      // Act
      const res = await consumer().run([record]);

      // Assess: archived; the next delivery (runs used up) or the redrive policy moves it
      expect(sortedFailedIds(res)).toEqual([record.messageId]);
      expect(aws.archived()[0]!.failure).toMatchObject({ kind: 'exhausted' });
      expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([0]);
    });

    it('writes a provisional record before running the handler, so a crash leaves one for the DLQ', async () => {
      // Prepare: a handler that never finishes stands in for a runtime that dies.
      let handlerStartedAfterPut = false;
      const hang = defineJob({
        type: 'hang',
        description: 'never finishes',
        schema: z.object({}),
        ordered: false,
        handle: () => {
          handlerStartedAfterPut = aws.puts().length === 1;
          return new Promise<void>(() => {});
        },
      });
      const { registry } = recordingRegistry([hang as unknown as JobDefinition]);
      const record = jobRecord({ type: 'hang', payload: {}, receiveCount: 5 });

      // Act: the record is abandoned by its (short) deadline, as a dying runtime would abandon it.
      // Frozen: 50 ms of budget however long the provisional write takes on a loaded machine (a
      // counting-down 300 ms left under 25 ms once it took 25 ms, and the handler never started).
      await consumer({ registry }).run([record], fakeContext({ remainingMs: 300, frozen: true }));

      // Assess
      expect(handlerStartedAfterPut).toBe(true);
    });

    it('writes the provisional records of every final-attempt record before the batch runs', async () => {
      // Prepare: a crash would kill the runtime at the first record, before the later ones run.
      const { handleRecord, beforeBatch, afterBatch } = consumer();
      const records = [
        probeRecord({ mode: 'succeed' }, { receiveCount: 5 }),
        probeRecord({ mode: 'succeed' }, { receiveCount: 1 }),
        probeRecord({ mode: 'fail-always' }, { receiveCount: 6 }),
      ];

      // Act: only the pre-batch step runs (as if the first record then crashed the runtime).
      await beforeBatch(sqsEvent(records));

      // Assess
      expect(
        aws
          .puts()
          .map((p) => p.Key)
          .sort(),
      ).toEqual([records[0]!, records[2]!].map((r) => archiveKeyOf(STANDARD_QUEUE.name, r.messageId)).sort());
      expect(aws.archived().every((a) => a.failure.errorName === 'FinalAttemptInterrupted')).toBe(true);

      // Act: the first record then runs and succeeds without writing a second provisional record;
      // its provisional record stays until the whole batch has returned (a later crash would fail it too).
      await handleRecord(records[0]!);
      expect(aws.puts()).toHaveLength(2);
      expect(aws.archived()).toHaveLength(2);
      await afterBatch({ batchItemFailures: [{ itemIdentifier: records[2]!.messageId }] });
      expect(aws.archived().map((a) => a.messageId)).toEqual([records[2]!.messageId]);
    });

    it('keeps the archive record of a permanent failure on its final attempt after the batch', async () => {
      // Prepare: dead-lettered by the consumer (acknowledged, so not among the batch item failures).
      const { handleRecord, beforeBatch, afterBatch } = consumer();
      const record = probeRecord({ mode: 'fail-permanent' }, { receiveCount: 5 });

      // Act
      await beforeBatch(sqsEvent([record]));
      await handleRecord(record);
      await afterBatch({ batchItemFailures: [] });

      // Assess
      expect(aws.archived().map((a) => a.failure.kind)).toEqual(['permanent']);
      expect(aws.indexOf((c) => c.op === 'DeleteObject')).toBe(-1);
    });

    it('removes the provisional record when the final attempt succeeds', async () => {
      // Prepare
      const record = probeRecord({ mode: 'succeed', failTimes: 4 }, { receiveCount: 5 });

      // Act
      const res = await consumer().run([record]);

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      expect(aws.puts()).toHaveLength(1);
      expect(aws.indexOf((c) => c.op === 'DeleteObject')).toBeGreaterThan(
        aws.indexOf((c) => c.op === 'PutObject'),
      );
      expect(aws.archived()).toHaveLength(0);
    });

    it('still runs the final attempt when the provisional record cannot be written', async () => {
      // Prepare
      aws.failPut = () => s3Error(503);
      const record = probeRecord({ mode: 'succeed', failTimes: 4 }, { receiveCount: 5 });

      // Act
      const res = await consumer().run([record]);

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      expect(aws.indexOf((c) => c.op === 'DeleteObject')).toBe(-1);
    });

    it('archives a record that outlived its deadline on the last attempt as exhausted', async () => {
      const record = probeRecord({ mode: 'timeout' }, { receiveCount: 7 });

      const res = await consumer().run([record], fakeContext({ remainingMs: 300, frozen: true }));

      expect(res.batchItemFailures).toEqual([]);
      expect(aws.sends()).toHaveLength(1);
      expect(aws.archived()[0]!.failure).toMatchObject({
        kind: 'exhausted',
        errorName: 'DeadlineExceededError',
      });
    });

    it('reports the record failed and leaves its visibility alone when the archive write fails', async () => {
      aws.failPut = () => s3Error(500);
      const record = probeRecord({ mode: 'fail-always' }, { receiveCount: 5 });

      const res = await consumer().run([record, ok()]);

      expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
      expect(aws.visibilityChanges()).toHaveLength(0);
    });
  });

  describe('permanent failures', () => {
    it('archives the record, then sends it to the DLQ with failure attributes, then acknowledges it', async () => {
      // Prepare
      const record = probeRecord({ mode: 'fail-permanent' }, { correlationId: 'req-777', receiveCount: 1 });

      // Act
      const res = await consumer().run([record, ok()]);

      // Assess: acknowledged
      expect(res.batchItemFailures).toEqual([]);
      // archive record
      const [put] = aws.puts();
      expect(put).toMatchObject({
        Bucket: ARCHIVE_BUCKET,
        Key: archiveKeyOf(STANDARD_QUEUE.name, record.messageId),
        ContentType: 'application/json',
      });
      // The consumer replaces its own records (a provisional one of a final attempt, or its retry).
      expect(put!.IfNoneMatch).toBeUndefined();
      expect(JSON.parse(String(put!.Body))).toEqual({
        v: 1,
        messageId: record.messageId,
        queue: { name: STANDARD_QUEUE.name, arn: STANDARD_QUEUE.arn },
        body: record.body,
        attributes: { ...record.attributes } as Record<string, string>,
        messageAttributes: record.messageAttributes,
        receiveCount: 1,
        sentAt: T0.toISOString(),
        firstReceivedAt: new Date(T0.getTime() + 1000).toISOString(),
        archivedAt: new Date(T0.getTime() + 60_000).toISOString(),
        failure: {
          kind: 'permanent',
          errorName: 'ProbePermanentError',
          errorMessage: 'probe asked to fail permanently',
        },
      } satisfies ArchiveRecord);
      // DLQ message
      const [sent] = aws.sends();
      expect(aws.sends()).toHaveLength(1);
      expect(sent!.QueueUrl).toBe(STANDARD_DLQ.url);
      expect(sent!.MessageBody).toBe(record.body);
      expect(sent!.MessageGroupId).toBeUndefined();
      expect(sent!.MessageAttributes).toEqual({
        type: { DataType: 'String', StringValue: 'probe' },
        'correlation-id': { DataType: 'String', StringValue: 'req-777' },
        [DLQ_ATTR.failureKind]: { DataType: 'String', StringValue: 'permanent' },
        [DLQ_ATTR.errorName]: { DataType: 'String', StringValue: 'ProbePermanentError' },
        [DLQ_ATTR.originalMessageId]: { DataType: 'String', StringValue: record.messageId },
        [DLQ_ATTR.sourceQueue]: { DataType: 'String', StringValue: STANDARD_QUEUE.name },
      });
      // order
      expect(aws.log.map((c) => c.op)).toEqual(['PutObject', 'SendMessage']);
    });

    it('reports the record failed and never sends it to the DLQ when the archive write fails', async () => {
      aws.failPut = () => s3Error(503, 'SlowDown');
      const record = probeRecord({ mode: 'fail-permanent' });

      const res = await consumer().run([record, ok()]);

      expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
      expect(aws.sends()).toHaveLength(0);
    });

    it('reports the record failed when the DLQ send fails, after archiving it', async () => {
      aws.failSend = () => sqsError('KmsThrottled', 400);
      const record = probeRecord({ mode: 'fail-permanent' });

      const res = await consumer().run([record, ok()]);

      expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
      expect(aws.log.map((c) => c.op)).toEqual(['PutObject', 'SendMessage', 'ChangeMessageVisibility']);
      expect(aws.visibilityChanges()[0]!.VisibilityTimeout).toBeGreaterThan(0);
      expect(aws.archived()).toHaveLength(1);
    });

    it('dead-letters a record whose archive record already exists (a retry after a failed DLQ send)', async () => {
      // Prepare: the first attempt archived it but could not reach the DLQ.
      const c = consumer();
      const record = probeRecord({ mode: 'fail-permanent' });
      aws.failSend = () => sqsError();
      await c.run([record]);
      aws.failSend = () => undefined;

      // Act
      const res = await c.run([
        { ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } },
      ]);

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      expect(aws.puts()).toHaveLength(2);
      expect(aws.archived()).toHaveLength(1);
      expect(aws.archived()[0]!.receiveCount).toBe(2);
      expect(aws.sends()).toHaveLength(2);
    });

    it.each([
      ['a body that is not JSON', () => sqsRecord({ body: 'hello, world' }), 'InvalidMessageError'],
      [
        'an envelope of another version',
        () => sqsRecord({ body: JSON.stringify({ v: 2, id: 'x', type: 'probe', payload: {} }) }),
        'InvalidMessageError',
      ],
      [
        'an unregistered type',
        () => jobRecord({ type: 'invoice.pay', payload: { amount: 1 } }),
        'UnknownJobTypeError',
      ],
      [
        'a payload that fails its schema',
        () => jobRecord({ type: 'email.send', payload: { to: 'nobody', subject: '', body: '' } }),
        'InvalidMessageError',
      ],
      [
        'a handler that throws a PermanentError',
        () => jobRecord({ type: 'email.send', payload: { to: 'a@mail.invalid', subject: 's', body: 'b' } }),
        'PermanentError',
      ],
    ])('treats %s as permanent', async (_case, make, errorName) => {
      // Prepare
      const record = make();

      // Act
      const res = await consumer().run([record]);

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      expect(aws.archived()).toHaveLength(1);
      expect(aws.archived()[0]!.failure).toMatchObject({ kind: 'permanent', errorName });
      expect(aws.sends()[0]!.MessageAttributes?.[DLQ_ATTR.errorName]?.StringValue).toBe(errorName);
      expect(aws.visibilityChanges()).toHaveLength(0);
    });

    it('files a non-envelope body under the day it was sent', async () => {
      const sentAt = new Date('2025-02-03T23:59:59.000Z');
      const record = sqsRecord({ body: '<xml/>', sentAt });

      await consumer().run([record]);

      expect(aws.puts()[0]!.Key).toBe(`failed/${STANDARD_QUEUE.name}/2025/02/03/${record.messageId}.json`);
    });
  });

  describe('per-record deadline', () => {
    // The clock is fake: a record's budget and its job's sleeps run on it, not on the machine's speed.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Runs `records` to the end, moving the fake clock as the consumer's timers come due. */
    async function runOnFakeClock(c: ReturnType<typeof consumer>, records: SQSRecord[], context: Context) {
      const run = c.run(records, context);
      await vi.runAllTimersAsync();
      return run;
    }

    it('fails a record that outlives its deadline while its batch-mates succeed', async () => {
      // Prepare: 300 ms left → 50 ms per record after the 250 ms bookkeeping margin.
      const slow = [probeRecord({ mode: 'timeout' }), probeRecord({ mode: 'sleep', sleepMs: 60_000 })];
      const fast = [ok(), probeRecord({ mode: 'sleep', sleepMs: 49 }), ok()];

      // Act
      const res = await runOnFakeClock(
        consumer(),
        [fast[0]!, slow[0]!, fast[1]!, slow[1]!, fast[2]!],
        fakeContext({ remainingMs: 300 }),
      );

      // Assess
      expect(sortedFailedIds(res)).toEqual(sorted(slow.map((r) => r.messageId)));
      expect(
        aws
          .visibilityChanges()
          .map((c) => c.ReceiptHandle)
          .sort(),
      ).toEqual(slow.map((r) => r.receiptHandle).sort());
      for (const c of aws.visibilityChanges()) expect(c.VisibilityTimeout).toBeGreaterThanOrEqual(5);
    });

    it('lets a record use the time left minus the bookkeeping margin', async () => {
      // Prepare: 2 s left → a budget of 1 750 ms after the 250 ms margin.
      const within = probeRecord({ mode: 'sleep', sleepMs: 1_749 });
      const beyond = probeRecord({ mode: 'sleep', sleepMs: 1_751 });

      // Act
      const inTime = await runOnFakeClock(consumer(), [within], fakeContext({ remainingMs: 2_000 }));
      const late = await runOnFakeClock(consumer(), [beyond], fakeContext({ remainingMs: 2_000 }));

      // Assess
      expect(inTime.batchItemFailures).toEqual([]);
      expect(failedIds(late)).toEqual([beyond.messageId]);
    });

    it('does not start a record when less than the bookkeeping margin is left', async () => {
      const record = ok();

      const res = await runOnFakeClock(consumer(), [record], fakeContext({ remainingMs: 200 }));

      expect(sortedFailedIds(res)).toEqual(sorted([record.messageId]));
      expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([0]);
    });

    it('hands a final-attempt record with no time left back unrun: not exhausted, not an attempt', async () => {
      // Prepare: the last of 3 runs is due, but the invocation's time went to the records before it
      const record = probeRecord({ mode: 'fail-always' }, { receiveCount: 3 });
      const settings = { ...STANDARD_SETTINGS, maxAttempts: 3, maxReceiveCount: 30 };

      // Act
      const res = await runOnFakeClock(
        consumer({ settings }),
        [record],
        fakeContext({ remainingMs: 260, frozen: true }),
      );

      // Assess: only the provisional record of its final attempt; no DLQ; visible again at once
      expect(sortedFailedIds(res)).toEqual([record.messageId]);
      expect(aws.archived().map((r) => r.failure.errorName)).toEqual(['FinalAttemptInterrupted']);
      expect(aws.sends()).toEqual([]);
      expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([0]);
    });

    it('keeps 10% of the time left for bookkeeping, between 250 ms and 5 s', () => {
      expect(deadlineMarginMs(0)).toBe(250);
      expect(deadlineMarginMs(2_000)).toBe(250);
      expect(deadlineMarginMs(10_000)).toBe(1_000);
      expect(deadlineMarginMs(900_000)).toBe(5_000);
    });

    it('withDeadline rejects with DeadlineExceededError and aborts the work', async () => {
      let aborted = false;
      const work = (signal: AbortSignal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          setTimeout(() => resolve('late'), 1_000);
        });

      const limited = withDeadline(20, work);
      const outcome = expect(limited).rejects.toBeInstanceOf(DeadlineExceededError);
      await vi.advanceTimersByTimeAsync(19);
      expect(aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await outcome;
      expect(aborted).toBe(true);
      await expect(withDeadline(0, async () => 'never')).rejects.toBeInstanceOf(DeadlineExceededError);
      await expect(withDeadline(1_000, async () => 'in time')).resolves.toBe('in time');
    });
  });

  it('converts Lambda message attributes to the SDK form, binary included', () => {
    const attrs = toSdkAttributes({
      type: { dataType: 'String', stringValue: 'probe' },
      n: { dataType: 'Number', stringValue: '42' },
      blob: { dataType: 'Binary', binaryValue: Buffer.from('hi').toString('base64') },
    });

    expect(attrs).toEqual({
      type: { DataType: 'String', StringValue: 'probe' },
      n: { DataType: 'Number', StringValue: '42' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
    });
  });
});

describe('consumer: the tenant of a message', () => {
  it("logs every line about a record with its envelope's tenant, and archives it with it", async () => {
    // Prepare: one record from a tenant (it fails permanently), one that entered without the API.
    const logger = silentLogger();
    const keys: Record<string, unknown>[] = [];
    const createChild = logger.createChild.bind(logger);
    vi.spyOn(logger, 'createChild').mockImplementation((options) => {
      keys.push({ ...options?.persistentKeys });
      return createChild(options);
    });
    const tenant = 'https://login.example.com/#acme';
    const owned = probeRecord({ mode: 'fail-permanent' }, { tenant });
    const plain = probeRecord({ mode: 'succeed' });

    // Act
    await consumer({ logger }).run([owned, plain]);

    // Assess
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ messageId: owned.messageId, tenant }),
        expect.objectContaining({ messageId: plain.messageId }),
      ]),
    );
    expect(keys.find((k) => k.messageId === plain.messageId)).not.toHaveProperty('tenant');
    expect(aws.archived().map((r) => [r.messageId, r.tenant])).toEqual([[owned.messageId, tenant]]);
  });
});

describe('FIFO consumer', () => {
  it('holds back later records of a failing group only', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const g1 = [
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'g1' }),
      probeRecord({ mode: 'fail-always' }, { messageGroupId: 'g1' }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'g1' }),
    ];
    const g2 = [
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'g2' }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'g2' }),
    ];
    const g1Late = probeRecord({ mode: 'succeed' }, { messageGroupId: 'g1' });
    const records = [g1[0]!, g1[1]!, g2[0]!, g1[2]!, g2[1]!, g1Late];

    // Act
    const res = await consumer({ fifo: true, registry }).run(records);

    // Assess
    expect(failedIds(res)).toEqual([g1[1]!.messageId, g1[2]!.messageId, g1Late.messageId]);
    expect(runs).toEqual([g1[0]!.messageId, g1[1]!.messageId, g2[0]!.messageId, g2[1]!.messageId]);
    expect(aws.visibilityChanges().map((c) => [c.QueueUrl, c.ReceiptHandle])).toEqual([
      [FIFO_QUEUE.url, g1[1]!.receiptHandle],
    ]);
  });

  it('keeps a group flowing past a permanent failure, which goes to the FIFO DLQ with its group id', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const records = [
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'user-1' }),
      probeRecord({ mode: 'fail-permanent' }, { messageGroupId: 'user-1' }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'user-1' }),
    ];

    // Act
    const res = await consumer({ fifo: true, registry }).run(records);

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(runs).toEqual(records.map((r) => r.messageId));
    const [sent] = aws.sends();
    expect(sent).toMatchObject({
      QueueUrl: FIFO_DLQ.url,
      MessageBody: records[1]!.body,
      MessageGroupId: 'user-1',
      MessageDeduplicationId: records[1]!.messageId,
    });
    expect(aws.puts()[0]!.Key).toBe(archiveKeyOf(FIFO_QUEUE.name, records[1]!.messageId));
    expect(aws.log.map((c) => c.op)).toEqual(['PutObject', 'SendMessage']);
  });

  it('dead-letters a record whose retries are exhausted itself, so the rest of its group runs in the same batch', async () => {
    // Prepare: the head of group user-1 fails on its final attempt; two records wait behind it
    const { registry, runs } = recordingRegistry();
    const max = FIFO_SETTINGS.maxReceiveCount;
    const records = [
      probeRecord({ mode: 'fail-always' }, { messageGroupId: 'user-1', receiveCount: max }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'user-1', receiveCount: max }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'user-1', receiveCount: 2 }),
    ];

    // Act
    const res = await consumer({ fifo: true, registry, memo: accountedMemo(records) }).run(records);

    // Assess: archived as exhausted, then sent to the FIFO DLQ with its group; its group went on
    expect(res.batchItemFailures).toEqual([]);
    expect(runs).toEqual(records.map((r) => r.messageId));
    expect(aws.archived().map((r) => [r.messageId, r.failure.kind])).toEqual([
      [records[0]!.messageId, 'exhausted'],
    ]);
    const [sent] = aws.sends();
    expect(sent).toMatchObject({
      QueueUrl: FIFO_DLQ.url,
      MessageBody: records[0]!.body,
      MessageGroupId: 'user-1',
      MessageDeduplicationId: records[0]!.messageId,
    });
    expect(sent!.MessageAttributes![DLQ_ATTR.failureKind]!.StringValue).toBe('exhausted');
    expect(sent!.MessageAttributes![DLQ_ATTR.errorName]!.StringValue).toBe('ProbeAlwaysFailsError');
    const lastPut = aws.log.map((c) => c.op).lastIndexOf('PutObject');
    expect(lastPut).toBeLessThan(aws.indexOf((c) => c.op === 'SendMessage'));
    expect(aws.visibilityChanges()).toEqual([]);
  });

  it('leaves an exhausted record to the redrive policy, holding its group back, when the DLQ send fails', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    aws.failSend = () => sqsError();
    const max = FIFO_SETTINGS.maxReceiveCount;
    const records = [
      probeRecord({ mode: 'fail-always' }, { messageGroupId: 'a', receiveCount: max }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'a', receiveCount: max }),
    ];

    // Act
    const res = await consumer({ fifo: true, registry, memo: accountedMemo(records) }).run(records);

    // Assess
    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
    expect(runs).toEqual([records[0]!.messageId]);
    // The held-back record keeps its provisional record: it may follow the head to the DLQ.
    expect(aws.archived().map((r) => [r.messageId, r.failure.kind])).toEqual([
      [records[0]!.messageId, 'exhausted'],
      [records[1]!.messageId, 'unknown'],
    ]);
    expect(aws.visibilityChanges().map((c) => [c.ReceiptHandle, c.VisibilityTimeout])).toEqual([
      [records[0]!.receiptHandle, 0],
    ]);
  });

  it('holds back the group when a permanent failure cannot be archived', async () => {
    const { registry, runs } = recordingRegistry();
    aws.failPut = () => s3Error(500);
    const records = [
      probeRecord({ mode: 'fail-permanent' }, { messageGroupId: 'a' }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'a' }),
      probeRecord({ mode: 'succeed' }, { messageGroupId: 'b' }),
    ];

    const res = await consumer({ fifo: true, registry }).run(records);

    expect(failedIds(res)).toEqual([records[0]!.messageId, records[1]!.messageId]);
    expect(runs).toEqual([records[0]!.messageId, records[2]!.messageId]);
    expect(aws.sends()).toHaveLength(0);
  });

  it('reports every record instead of throwing when every group fails', async () => {
    const records = ['a', 'b', 'a'].map((g) => probeRecord({ mode: 'fail-always' }, { messageGroupId: g }));

    const res = await consumer({ fifo: true }).run(records);

    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
  });
});

describe('consumer Lambda entry points', () => {
  const env = {
    QUEUE_URL: STANDARD_QUEUE.url,
    DLQ_URL: STANDARD_DLQ.url,
    MAX_RECEIVE_COUNT: '5',
    MAX_ATTEMPTS: '5',
    BACKOFF_BASE_SECONDS: '10',
    BACKOFF_CAP_SECONDS: '600',
    MAX_DEFERRAL_SECONDS: '338400',
    RATE_LIMIT: 'null',
    STANDARD_QUEUE_URL: STANDARD_QUEUE.url,
    FIFO_QUEUE_URL: FIFO_QUEUE.url,
    LANE_QUEUE_URLS: '{}',
    ALLOWED_PROBE_MODES: 'succeed, fail-permanent, fail-always',
    PROBE_LIMITS: '{"senders":"any","maxFailTimes":1000,"maxSleepMs":900000,"maxFailUntilSeconds":86400}',
    ARCHIVE_BUCKET,
    RESULT_BUCKET: 'results',
    STATUS_TABLE: 'status',
    STATUS_RETENTION_DAYS: '7',
    IDEMPOTENCY_WINDOW_SECONDS: '86400',
    LANE: 'standard',
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_METRICS_NAMESPACE: 'EventPipelineTest',
  };
  type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

  // The default lanes' generated entry points, as a synth of this repository's app writes them.
  const entries = { standard: laneEntry('standard'), fifo: laneEntry('fifo') };
  async function load(lane: 'standard' | 'fifo', overrides = {}) {
    for (const [k, v] of Object.entries({ ...env, ...overrides })) vi.stubEnv(k, v);
    vi.resetModules();
    return ((await import(entries[lane])) as { handler: Handler }).handler;
  }
  // The status table: every write accepted, no idempotency record found.
  const dynamo = mockClient(DynamoDBClient);
  const doc = mockClient(DynamoDBDocumentClient);
  beforeEach(() => {
    dynamo.reset();
    dynamo.resolves({});
    doc.reset();
    doc.resolves({});
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  afterAll(() => {
    dynamo.restore();
    doc.restore();
  });

  it('the standard handler reports only failing records and dead-letters permanent ones', async () => {
    // Prepare
    const handler = await load('standard');
    const retry = probeRecord({ mode: 'fail-always' });
    const permanent = probeRecord({ mode: 'fail-permanent' });

    // Act
    const res = await handler(sqsEvent([ok(), retry, permanent, ok()]), fakeContext());

    // Assess
    expect(sortedFailedIds(res)).toEqual([retry.messageId]);
    expect(aws.puts()[0]).toMatchObject({
      Bucket: ARCHIVE_BUCKET,
      Key: archiveKeyOf(STANDARD_QUEUE.name, permanent.messageId),
    });
    expect(aws.sends()[0]!.QueueUrl).toBe(STANDARD_DLQ.url);
    expect(aws.visibilityChanges()[0]!.QueueUrl).toBe(STANDARD_QUEUE.url);
  });

  it('the standard handler answers with item failures, not an error, when every record fails', async () => {
    const handler = await load('standard');
    const records = [probeRecord({ mode: 'fail-always' }), sqsRecord({ body: '{' })];
    aws.failPut = () => s3Error(500);

    const res = await handler(sqsEvent(records), fakeContext());

    expect(sortedFailedIds(res)).toEqual(sorted(records.map((r) => r.messageId)));
  });

  it('the FIFO handler holds back only the failing group', async () => {
    // Prepare
    const handler = await load('fifo', {
      QUEUE_URL: FIFO_QUEUE.url,
      DLQ_URL: FIFO_DLQ.url,
    });
    const bad = probeRecord({ mode: 'fail-always' }, { messageGroupId: 'a' });
    const heldBack = probeRecord({ mode: 'succeed' }, { messageGroupId: 'a' });
    const other = probeRecord({ mode: 'fail-permanent' }, { messageGroupId: 'b' });

    // Act
    const res = await handler(
      sqsEvent([bad, other, heldBack]),
      fakeContext({ functionName: 'fifo-consumer' }),
    );

    // Assess
    expect(failedIds(res)).toEqual([bad.messageId, heldBack.messageId]);
    expect(aws.sends()[0]).toMatchObject({ QueueUrl: FIFO_DLQ.url, MessageGroupId: 'b' });
  });

  it('fails its cold start with a clear message when configuration is missing', async () => {
    await expect(load('standard', { ARCHIVE_BUCKET: '' })).rejects.toThrow(
      'Environment variable ARCHIVE_BUCKET is required but not set',
    );
  });
});
