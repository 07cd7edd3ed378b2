/**
 * Runs the consumer core the way the deployed handlers do: the production record handler
 * (`createRecordHandler`) under Powertools' `BatchProcessor` (standard queue) or
 * `SqsFifoPartialProcessorAsync` with `skipGroupOnError` (FIFO queue), against mocked AWS.
 */
import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { S3ArchiveWriter } from '../../lambda/shared/archive';
import { createRecordHandler, type ConsumerSettings } from '../../lambda/shared/consumer';
import { defaultRegistry, type JobRegistry } from '../../lambda/shared/jobs/registry';
import { silentLogger } from './aws-fakes';
import { fakeContext, FIFO_DLQ, FIFO_QUEUE, sqsEvent, STANDARD_DLQ, STANDARD_QUEUE, T0 } from './sqs-events';

export const ARCHIVE_BUCKET = 'eventpipeline-dev-failurearchive-1a2b3c4d5e6f';

/** Settings of the standard consumer under test. */
export const STANDARD_SETTINGS: ConsumerSettings = {
  queueUrl: STANDARD_QUEUE.url,
  dlqUrl: STANDARD_DLQ.url,
  fifo: false,
  maxReceiveCount: 5,
  backoff: { baseSeconds: 10, capSeconds: 600 },
};

/** Settings of the FIFO consumer under test. */
export const FIFO_SETTINGS: ConsumerSettings = {
  queueUrl: FIFO_QUEUE.url,
  dlqUrl: FIFO_DLQ.url,
  fifo: true,
  maxReceiveCount: 5,
  backoff: { baseSeconds: 10, capSeconds: 600 },
};

/** Options of {@link consumer}. */
export interface ConsumerOptions {
  /** @default false */
  readonly fifo?: boolean;
  /** @default the shipped registry */
  readonly registry?: JobRegistry;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default settings matching the queue kind */
  readonly settings?: ConsumerSettings;
}

/** A consumer: the production record handler wrapped in the processor its entry point uses. */
export function consumer(opts: ConsumerOptions = {}) {
  const settings = opts.settings ?? (opts.fifo ? FIFO_SETTINGS : STANDARD_SETTINGS);
  const recordHandler = createRecordHandler({
    registry: opts.registry ?? defaultRegistry,
    sqs: new SQSClient({ region: 'eu-west-1' }),
    archive: new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), ARCHIVE_BUCKET),
    logger: silentLogger(),
    settings,
    ...(opts.random ? { random: opts.random } : {}),
    now: () => new Date(T0.getTime() + 60_000),
  });
  return {
    settings,
    recordHandler,
    /** Processes one batch; resolves the partial batch response. */
    run(records: readonly SQSRecord[], context: Context = fakeContext()): Promise<SQSBatchResponse> {
      return settings.fifo
        ? processPartialResponse(sqsEvent(records), recordHandler, new SqsFifoPartialProcessorAsync(), {
            context,
            skipGroupOnError: true,
            throwOnFullBatchFailure: false,
          })
        : processPartialResponse(sqsEvent(records), recordHandler, new BatchProcessor(EventType.SQS), {
            context,
            throwOnFullBatchFailure: false,
          });
    },
  };
}

/** The ids a batch response reports as failed, in order. */
export function failedIds(response: SQSBatchResponse): string[] {
  return response.batchItemFailures.map((f) => f.itemIdentifier);
}
