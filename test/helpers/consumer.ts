/**
 * Runs the consumer core the way the deployed handlers do (`createConsumer(...).processBatch`:
 * provisional records, Powertools' `BatchProcessor` or `SqsFifoPartialProcessorAsync` with
 * `skipGroupOnError`, clean-up), against mocked AWS.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { S3ArchiveWriter } from '../../lambda/shared/archive';
import { createConsumer, type ConsumerSettings } from '../../lambda/shared/consumer';
import { SandboxDeliveryMemo } from '../../lambda/shared/consumer/delivery-memo';
import { fifoProcessing } from '../../lambda/shared/consumer/fifo-processor';
import type { MarkerStore } from '../../lambda/shared/consumer/culprit';
import type { RecordIdempotency } from '../../lambda/shared/consumer/idempotency';
import type { RunStates } from '../../lambda/shared/consumer/run-state';
import type { RateLimiter } from '../../lambda/shared/consumer/rate-limit';
import type { StatusStore } from '../../lambda/shared/status/types';
import { standardProcessing } from '../../lambda/shared/consumer/standard-processor';
import type { JobRegistry } from '../../lambda/shared/jobs/registry';
import { defaultRegistry } from '../../tools/example-registry';
import { silentLogger } from './aws-fakes';
import { fakeContext, FIFO_DLQ, FIFO_QUEUE, sqsEvent, STANDARD_DLQ, STANDARD_QUEUE, T0 } from './sqs-events';

export const ARCHIVE_BUCKET = 'eventpipeline-dev-failurearchive-1a2b3c4d5e6f';

/** Settings of the standard or the FIFO consumer under test (retry policy of stage dev). */
const settings = (fifo: boolean): ConsumerSettings => ({
  queueUrl: (fifo ? FIFO_QUEUE : STANDARD_QUEUE).url,
  dlqUrl: (fifo ? FIFO_DLQ : STANDARD_DLQ).url,
  maxReceiveCount: 5,
  backoff: { baseSeconds: 10, capSeconds: 600 },
});

/** Settings of the standard consumer under test. */
export const STANDARD_SETTINGS: ConsumerSettings = settings(false);

/** Settings of the FIFO consumer under test. */
export const FIFO_SETTINGS: ConsumerSettings = settings(true);

/** Options of {@link consumer}. */
export interface ConsumerOptions {
  /** Run under the FIFO entry point's processor. @default false */
  readonly fifo?: boolean;
  /** @default the shipped registry */
  readonly registry?: JobRegistry;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default settings matching the queue kind */
  readonly settings?: ConsumerSettings;
  /** Status transitions. @default none */
  readonly status?: StatusStore;
  /** Per-envelope idempotency. @default none */
  readonly idempotency?: RecordIdempotency;
  /** Crash isolation's memo. @default an empty one (every redelivered record is a suspect) */
  readonly memo?: SandboxDeliveryMemo;
  /** Lone-run markers (FIFO). @default none */
  readonly markers?: MarkerStore;
  /** Unfinished runs on the status rows. @default none */
  readonly runStates?: RunStates;
  /** The lane's rate limit. @default none */
  readonly rateLimiter?: RateLimiter;
  /** How far ahead a record may reserve a token and wait for it. @default the consumer's */
  readonly rateLimitHoldMs?: number;
  /** The consumer's in-process wait. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** The consumer's clock. @default always T0 + 60 s */
  readonly now?: () => Date;
}

/**
 * A memo in which the previous delivery of each record ended without a crash (the records failed
 * on their own before): crash isolation leaves such a batch to the processor as it is.
 */
export function accountedMemo(records: readonly SQSRecord[]): SandboxDeliveryMemo {
  const memo = new SandboxDeliveryMemo();
  for (const r of records) {
    const count = Number(r.attributes.ApproximateReceiveCount ?? '1');
    if (count > 1) memo.account(r.messageId, count - 1);
  }
  return memo;
}

/** A consumer: the production record handler wrapped in the processor its entry point uses. */
export function consumer(opts: ConsumerOptions = {}) {
  const settings = opts.settings ?? (opts.fifo ? FIFO_SETTINGS : STANDARD_SETTINGS);
  const core = createConsumer({
    registry: opts.registry ?? defaultRegistry,
    sqs: new SQSClient({ region: 'eu-west-1' }),
    archive: new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), ARCHIVE_BUCKET),
    logger: opts.logger ?? silentLogger(),
    settings,
    processing: opts.fifo ? fifoProcessing() : standardProcessing(),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.status ? { status: opts.status } : {}),
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
    ...(opts.memo ? { memo: opts.memo } : {}),
    ...(opts.markers ? { markers: opts.markers } : {}),
    ...(opts.runStates ? { runStates: opts.runStates } : {}),
    ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
    ...(opts.rateLimitHoldMs !== undefined ? { rateLimitHoldMs: opts.rateLimitHoldMs } : {}),
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    now: opts.now ?? (() => new Date(T0.getTime() + 60_000)),
  });
  return {
    settings,
    ...core,
    /** Processes one batch as the entry points do; resolves the partial batch response. */
    run(records: readonly SQSRecord[], context: Context = fakeContext()): Promise<SQSBatchResponse> {
      return core.processBatch(sqsEvent(records), context);
    },
  };
}

/** The ids a batch response reports as failed, in order. */
export function failedIds(response: SQSBatchResponse): string[] {
  return response.batchItemFailures.map((f) => f.itemIdentifier);
}
