import { S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  archiveDay,
  archiveKey,
  buildArchiveRecord,
  queueNameFromArn,
  S3ArchiveWriter,
  type ArchiveRecord,
} from '../../lambda/shared/archive';
import { ArchiveWriteError, isPermanent, RetryableError } from '../../lambda/shared/errors';
import { FakeAws, s3Error } from '../helpers/aws-fakes';
import { envelopeBody, FIFO_QUEUE, probeRecord, sqsRecord, STANDARD_QUEUE, T0 } from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

const BUCKET = 'archive-bucket';
const NOW = new Date('2026-12-01T08:30:00.000Z');
const queue = { name: STANDARD_QUEUE.name, arn: STANDARD_QUEUE.arn };

function record(overrides: Partial<ArchiveRecord> = {}): ArchiveRecord {
  const r = probeRecord({ mode: 'fail-permanent' }, { messageId: 'msg-0001' });
  return {
    ...buildArchiveRecord(r, queue, { kind: 'permanent', error: new Error('boom') }, NOW),
    ...overrides,
  };
}

describe('archive key', () => {
  it('is failed/<queue>/<yyyy>/<mm>/<dd>/<messageId>.json, dated by the envelope createdAt', () => {
    const body = envelopeBody({
      type: 'probe',
      payload: {},
      createdAt: new Date('2026-03-04T23:59:59.999Z'),
    });

    const key = archiveKey({
      queue,
      messageId: 'abc-123',
      body,
      sentAt: '2026-03-05T00:00:01.000Z',
      archivedAt: NOW.toISOString(),
    });

    expect(key).toBe(`failed/${STANDARD_QUEUE.name}/2026/03/04/abc-123.json`);
  });

  it('falls back to the send time, then to the archive time, for bodies that are not envelopes', () => {
    const base = { queue, messageId: 'm', archivedAt: '2027-01-09T00:00:00.000Z' };

    expect(archiveKey({ ...base, body: 'plain text', sentAt: '2025-07-08T10:00:00.000Z' })).toBe(
      `failed/${STANDARD_QUEUE.name}/2025/07/08/m.json`,
    );
    expect(archiveKey({ ...base, body: '{"createdAt":"not a date"}', sentAt: null })).toBe(
      `failed/${STANDARD_QUEUE.name}/2027/01/09/m.json`,
    );
  });

  it('uses UTC days and zero-pads months and days', () => {
    expect(archiveDay('{"createdAt":"2026-01-02T00:30:00+02:00"}', null, NOW).toISOString()).toBe(
      '2026-01-01T22:30:00.000Z',
    );
    expect(
      archiveKey({
        queue,
        messageId: 'x',
        body: '{"createdAt":"2026-01-02T00:30:00+02:00"}',
        sentAt: null,
        archivedAt: NOW.toISOString(),
      }),
    ).toBe(`failed/${STANDARD_QUEUE.name}/2026/01/01/x.json`);
  });

  it('reads the queue name from an SQS ARN, FIFO suffix included', () => {
    expect(queueNameFromArn(FIFO_QUEUE.arn)).toBe(FIFO_QUEUE.name);
    expect(queueNameFromArn('arn:aws:sqs:us-east-1:111122223333:orders')).toBe('orders');
  });
});

describe('archive record', () => {
  it('carries the message, its queue, attributes and the failure (docs/DESIGN.md §5)', () => {
    // Prepare
    const r = sqsRecord({
      messageId: 'm-1',
      body: 'raw',
      receiveCount: 4,
      messageAttributes: { type: 'probe' },
    });

    // Act
    const rec = buildArchiveRecord(
      r,
      queue,
      { kind: 'exhausted', error: new RetryableError('downstream 503') },
      NOW,
    );

    // Assess
    expect(rec).toEqual({
      v: 1,
      messageId: 'm-1',
      queue,
      body: 'raw',
      attributes: r.attributes,
      messageAttributes: r.messageAttributes,
      receiveCount: 4,
      sentAt: T0.toISOString(),
      firstReceivedAt: new Date(T0.getTime() + 1000).toISOString(),
      archivedAt: NOW.toISOString(),
      failure: { kind: 'exhausted', errorName: 'RetryableError', errorMessage: 'downstream 503' },
    });
  });

  it('keeps only string attributes and tolerates missing timestamps', () => {
    const rec = buildArchiveRecord(
      {
        messageId: 'm',
        body: '',
        attributes: { SentTimestamp: 'soon', Other: undefined },
        messageAttributes: {},
      },
      queue,
      { kind: 'unknown', error: 'a string was thrown' },
      NOW,
    );

    expect(rec.attributes).toEqual({ SentTimestamp: 'soon' });
    expect(rec.sentAt).toBeNull();
    expect(rec.firstReceivedAt).toBeNull();
    expect(rec.receiveCount).toBe(0);
    expect(rec.failure).toEqual({ kind: 'unknown', errorName: 'Error', errorMessage: 'a string was thrown' });
  });

  it('truncates long error messages to 4096 characters', () => {
    const rec = buildArchiveRecord(
      sqsRecord(),
      queue,
      { kind: 'permanent', error: new Error('x'.repeat(10_000)) },
      NOW,
    );

    expect(rec.failure.errorMessage).toHaveLength(4096);
  });
});

describe('S3 archive writer', () => {
  const writer = (checkFirst = false) =>
    new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), BUCKET, { checkFirst });

  it('writes the record as JSON with a conditional put under its key', async () => {
    // Prepare
    const rec = record();

    // Act
    const outcome = await writer().write(rec);

    // Assess
    expect(outcome).toBe('written');
    expect(aws.puts()).toEqual([
      {
        Bucket: BUCKET,
        Key: archiveKey(rec),
        Body: JSON.stringify(rec),
        ContentType: 'application/json',
        IfNoneMatch: '*',
      },
    ]);
    expect(aws.log.some((c) => c.op === 'HeadObject')).toBe(false);
  });

  it("resolves 'exists' when S3 answers 412 Precondition Failed", async () => {
    aws.failPut = () => s3Error(412);

    await expect(writer().write(record())).resolves.toBe('exists');
  });

  it("resolves 'exists' for a second write of the same record", async () => {
    const w = writer();

    const first = await w.write(record());
    const second = await w.write(record({ archivedAt: '2027-01-01T00:00:00.000Z' }));

    expect([first, second]).toEqual(['written', 'exists']);
    expect(JSON.parse(aws.objects.get(archiveKey(record()))!).archivedAt).toBe(NOW.toISOString());
  });

  it.each([
    ['403 AccessDenied', s3Error(403, 'AccessDenied')],
    ['500 InternalError', s3Error(500)],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('throws a retryable ArchiveWriteError naming the object on %s', async (_case, cause) => {
    aws.failPut = () => cause;

    const error = await writer()
      .write(record())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(isPermanent(error)).toBe(false);
    expect((error as Error).message).toContain(`s3://${BUCKET}/${archiveKey(record())}`);
    expect((error as Error).cause).toBe(cause);
  });

  describe('with checkFirst', () => {
    it("skips the put and resolves 'exists' when HeadObject finds the record", async () => {
      aws.objects.set(archiveKey(record()), '{}');

      const outcome = await writer(true).write(record());

      expect(outcome).toBe('exists');
      expect(aws.log.map((c) => c.op)).toEqual(['HeadObject']);
    });

    it('puts the record when HeadObject answers 404', async () => {
      const outcome = await writer(true).write(record());

      expect(outcome).toBe('written');
      expect(aws.log.map((c) => c.op)).toEqual(['HeadObject', 'PutObject']);
    });

    it('throws ArchiveWriteError and does not put when HeadObject fails otherwise', async () => {
      aws.failHead = () => s3Error(403, 'Forbidden');

      await expect(writer(true).write(record())).rejects.toBeInstanceOf(ArchiveWriteError);
      expect(aws.puts()).toHaveLength(0);
    });
  });
});

describe('archive record: the tenant', () => {
  it("carries the envelope's tenant at its top level, and none for a body without one", () => {
    const withTenant = sqsRecord({
      body: envelopeBody({ type: 'probe', payload: {}, tenant: 'arn:aws:iam::444455556666:role/billing' }),
    });
    const failure = { kind: 'permanent', error: new Error('boom') } as const;

    const owned = buildArchiveRecord(withTenant, queue, failure, NOW);
    const plain = buildArchiveRecord(probeRecord({ mode: 'succeed' }), queue, failure, NOW);
    const notJson = buildArchiveRecord(sqsRecord({ body: 'plain text' }), queue, failure, NOW);
    const forged = buildArchiveRecord(sqsRecord({ body: '{"tenant":"a\\u0000b"}' }), queue, failure, NOW);

    expect(owned.tenant).toBe('arn:aws:iam::444455556666:role/billing');
    expect(JSON.parse(owned.body).tenant).toBe(owned.tenant);
    expect('tenant' in plain).toBe(false);
    expect('tenant' in notJson).toBe(false);
    expect('tenant' in forged).toBe(false);
  });
});
