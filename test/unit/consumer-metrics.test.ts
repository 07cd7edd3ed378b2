import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { S3ArchiveWriter } from '../../lambda/shared/archive';
import { createConsumer } from '../../lambda/shared/consumer';
import { standardProcessing } from '../../lambda/shared/consumer/standard-processor';
import { defineJob, type JobDefinition } from '../../lambda/shared/jobs/types';
import { FakeAws, s3Error } from '../helpers/aws-fakes';
import { ARCHIVE_BUCKET, STANDARD_SETTINGS } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { fakeContext, jobRecord, probeRecord, sqsEvent, T0 } from '../helpers/sqs-events';

const aws = new FakeAws();
let lines: string[];

beforeEach(() => {
  aws.reset();
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

type Json = Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
const parsed = (): Json[] => lines.map((l) => JSON.parse(l) as Json);
const emfDocuments = () => parsed().filter((d) => d._aws !== undefined);
const logLines = () => parsed().filter((d) => d._aws === undefined);

const buggy = defineJob({
  type: 'test.buggy',
  description: 'throws a TypeError',
  schema: z.object({}),
  ordered: false,
  async handle() {
    throw new TypeError("Cannot read properties of undefined (reading 'id')");
  },
}) as unknown as JobDefinition;

function consumer(opts: { metrics?: boolean; logLevel?: 'INFO' | 'DEBUG' } = {}) {
  return createConsumer({
    registry: recordingRegistry([buggy]).registry,
    sqs: new SQSClient({ region: 'eu-west-1' }),
    archive: new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), ARCHIVE_BUCKET),
    logger: new Logger({ serviceName: 'consumer', logLevel: opts.logLevel ?? 'INFO' }),
    ...(opts.metrics === false
      ? {}
      : { metrics: new Metrics({ serviceName: 'consumer', namespace: 'Test' }) }),
    settings: STANDARD_SETTINGS,
    processing: standardProcessing(),
    now: () => new Date(T0.getTime() + 60_000),
  });
}
const run = (c: ReturnType<typeof consumer>, records: readonly SQSRecord[]) =>
  c.processBatch(sqsEvent(records), fakeContext());

describe('consumer metrics by batch', () => {
  it('writes one EMF document for a batch of one job type, holding every count', async () => {
    // Prepare
    const records = [
      ...Array.from({ length: 8 }, () => probeRecord({ mode: 'succeed' })),
      probeRecord({ mode: 'fail-always' }),
      probeRecord({ mode: 'fail-permanent' }),
    ];

    // Act
    await run(consumer(), records);

    // Assess
    const docs = emfDocuments();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      service: 'consumer',
      type: 'probe',
      processed: 8,
      failed: 2,
      archived: 1,
      deadLettered: 1,
    });
    expect(docs[0]!._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'type']]);
  });

  it('writes one document per job type in a mixed batch', async () => {
    const records = [
      probeRecord({ mode: 'succeed' }),
      jobRecord({ type: 'email.send', payload: { to: 'a@example.com', subject: 's', body: 'b' } }),
      probeRecord({ mode: 'succeed' }),
    ];

    await run(consumer(), records);

    const byType = Object.fromEntries(emfDocuments().map((d) => [d.type, d.processed]));
    expect(byType).toEqual({ probe: 2, 'email.send': 1 });
  });

  it('counts archive write failures in a document with the service dimension only (the alarm metric)', async () => {
    // Prepare: every archive write fails.
    aws.failPut = () => s3Error(503);
    const records = [probeRecord({ mode: 'fail-permanent' }), probeRecord({ mode: 'fail-permanent' })];

    // Act
    await run(consumer(), records);

    // Assess
    const failures = emfDocuments().filter((d) => 'archiveFailed' in d);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ service: 'consumer', archiveFailed: 2 });
    expect(failures[0]).not.toHaveProperty('type');
    expect(failures[0]!._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
  });

  it('flushes a record handled alone, and starts each batch from zero', async () => {
    const c = consumer();

    await c.handleRecord(probeRecord({ mode: 'succeed' }));
    await run(c, [probeRecord({ mode: 'succeed' }), probeRecord({ mode: 'succeed' })]);

    expect(emfDocuments().map((d) => d.processed)).toEqual([1, 2]);
  });

  it('writes nothing without a metrics instance', async () => {
    await run(consumer({ metrics: false }), [
      probeRecord({ mode: 'succeed' }),
      probeRecord({ mode: 'fail-always' }),
    ]);

    expect(emfDocuments()).toEqual([]);
  });
});

describe('consumer failure logs', () => {
  it('logs a retryable failure as one WARN line with the error name and message, without a stack', async () => {
    const record = probeRecord({ mode: 'fail-always' });

    await run(consumer(), [record]);

    const about = logLines().filter((l) => l.messageId === record.messageId);
    expect(about.map((l) => [l.level, l.message])).toEqual([['WARN', 'retryable failure: backing off']]);
    expect(about[0]).toMatchObject({
      errorName: 'ProbeAlwaysFailsError',
      errorMessage: 'probe failing attempt 1 (always)',
      backoffSeconds: expect.any(Number) as number,
    });
    expect(JSON.stringify(about)).not.toContain('stack');
  });

  it('adds the stack of an expected failure at DEBUG only, after its WARN line', async () => {
    const record = probeRecord({ mode: 'fail-always' });

    await run(consumer({ logLevel: 'DEBUG' }), [record]);

    const about = logLines().filter((l) => l.messageId === record.messageId);
    expect(about.map((l) => [l.level, l.message])).toEqual([
      ['WARN', 'retryable failure: backing off'],
      ['DEBUG', 'failure stack'],
    ]);
    expect(about[1]).toMatchObject({
      error: { name: 'ProbeAlwaysFailsError', stack: expect.any(String) as string },
    });
  });

  it('keeps the stack of an unexpected error on its WARN line', async () => {
    const record = jobRecord({ type: 'test.buggy', payload: {} });

    await run(consumer(), [record]);

    const [line, ...rest] = logLines().filter((l) => l.messageId === record.messageId);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'WARN',
      errorName: 'TypeError',
      error: { name: 'TypeError', stack: expect.stringContaining('TypeError') as string },
    });
  });

  it('logs the steps of a permanent failure in the order they happened', async () => {
    const record = probeRecord({ mode: 'fail-permanent' });

    await run(consumer(), [record]);

    const about = logLines().filter((l) => l.messageId === record.messageId);
    expect(about.map((l) => l.message)).toEqual([
      'permanent failure: archiving and dead-lettering',
      'failure archived',
    ]);
  });
});
