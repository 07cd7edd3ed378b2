import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { buildArchiveRecord, type ArchiveWriter, type FailureKind } from '../archive';
import type { BackoffSettings } from '../backoff';
import { deadLetterAttributes } from '../dlq-attributes';
import { parseEnvelope } from '../envelope';
import type { PipelineError } from '../errors';
import { RetryableError, UnknownFailure } from '../errors';
import type { JobRegistry } from '../jobs/registry';
import { recordBudgetMs, withDeadline } from './deadline';
import { SandboxDeliveryMemo } from './delivery-memo';
import { guardRecord } from './fault-guard';
import { createIsolatedBatch } from './isolated-batch';
import { decideFailure, isFinalAttempt, retryAfterSeconds, type Attempt } from './failure-policy';
import type { BatchProcessing } from './processing';
import { ProvisionalArchive, queueOf } from './provisional-archive';

/** Settings of a consumer, read from its environment by the entry point (`lambda/consumer/config.ts`). */
export interface ConsumerSettings {
  /** URL of the source queue (for visibility changes). */
  readonly queueUrl: string;
  /** URL of the source queue's DLQ, where permanent failures are sent. */
  readonly dlqUrl: string;
  /** The source queue's redrive `maxReceiveCount`: the attempt with this count is the last. */
  readonly maxReceiveCount: number;
  readonly backoff: BackoffSettings;
}

/** Everything a consumer depends on; injectable for tests. */
export interface ConsumerDeps {
  readonly registry: JobRegistry;
  readonly sqs: SQSClient;
  readonly archive: ArchiveWriter;
  readonly logger: Logger;
  /** @default no metrics */
  readonly metrics?: Metrics;
  readonly settings: ConsumerSettings;
  /** The entry point's processor: `fifoProcessing()` or `standardProcessing()`. */
  readonly processing: BatchProcessing;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Crash isolation's memo of deliveries that ended without a crash. @default a new one per consumer */
  readonly memo?: SandboxDeliveryMemo;
}

/**
 * The consumer core shared by the standard and FIFO entry points. Per record (`handleRecord`) the
 * job runs under its deadline (`./deadline.ts`), then the failure policy (`./failure-policy.ts`,
 * `decideFailure`) decides and this module carries the decision out:
 *
 * - `ack`: resolves (the event source mapping deletes the record);
 * - `dead-letter`: archive (`archiveFailure`), then send to the DLQ (`sendToDlq`), then resolve, so
 *   the source deletes it. If either step fails the record is reported as failed and retried,
 *   never deleted unarchived;
 * - `exhausted`: archive and let the redrive policy move it (visibility 0), then reject;
 * - `retry`: delay the next attempt with a backoff visibility change, then reject, so the record
 *   is reported in `batchItemFailures`.
 *
 * Per batch (`processBatch`): the provisional-archive protocol (`./provisional-archive.ts`) wraps
 * the records run by the entry point's processor (`./fifo-processor.ts`, `./standard-processor.ts`).
 */
export function createConsumer(deps: ConsumerDeps) {
  const { registry, sqs, archive, settings, processing } = deps;
  const now = deps.now ?? (() => new Date());
  const provisionals = new ProvisionalArchive(archive, deps.logger, now);

  /** Where a failure given up on is archived (`permanent` or `exhausted`). */
  async function archiveFailure(
    record: SQSRecord,
    kind: FailureKind,
    error: unknown,
    log: Logger,
  ): Promise<void> {
    let archived;
    try {
      // replace: overwrites this consumer's provisional record of a final attempt, if any.
      archived = await archive.write(buildArchiveRecord(record, queueOf(record), { kind, error }, now()), {
        replace: true,
      });
    } catch (archiveError) {
      deps.metrics?.addMetric('archiveFailed', MetricUnit.Count, 1);
      deps.metrics?.publishStoredMetrics();
      log.error('archive write failed: the record is reported as failed and stays on its queue', {
        error: archiveError,
      });
      throw archiveError;
    }
    provisionals.settle(record.messageId);
    log.info('failure archived', { failureKind: kind, archive: archived });
    count('archived', record, 1);
  }

  async function sendToDlq(record: SQSRecord, error: PipelineError): Promise<void> {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: settings.dlqUrl,
        MessageBody: record.body,
        MessageAttributes: deadLetterAttributes(record, error.name),
        ...(processing.fifo
          ? {
              MessageGroupId: record.attributes.MessageGroupId ?? 'default',
              MessageDeduplicationId: record.messageId,
            }
          : {}),
      }),
    );
  }

  async function changeVisibility(record: SQSRecord, seconds: number, log: Logger): Promise<void> {
    try {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: settings.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      // The record still retries after the queue's visibility timeout; nothing is lost.
      log.warn('could not change visibility; the queue default applies', { error });
    }
  }

  function count(
    name: 'processed' | 'failed' | 'archived' | 'deadLettered',
    record: SQSRecord,
    value: number,
  ) {
    if (!deps.metrics) return;
    const m = deps.metrics.singleMetric();
    m.addDimension('type', record.messageAttributes?.type?.stringValue ?? 'unknown');
    m.addMetric(name, MetricUnit.Count, value);
  }

  const receiveCountOf = (record: SQSRecord) => Number(record.attributes.ApproximateReceiveCount ?? '1');
  const isFinal = (record: SQSRecord) => isFinalAttempt(receiveCountOf(record), settings.maxReceiveCount);

  async function runJob(record: SQSRecord, receiveCount: number, budgetMs: number, log: Logger) {
    const envelope = parseEnvelope(record.body);
    log.appendKeys({ type: envelope.type, correlationId: envelope.correlationId });
    const job = registry.get(envelope.type);
    const payload = registry.parsePayload(envelope.type, envelope.payload);
    await withDeadline(budgetMs, (signal) =>
      guardRecord(() =>
        job.handle(payload, {
          messageId: record.messageId,
          receiveCount,
          correlationId: envelope.correlationId,
          logger: log,
          signal,
        }),
      ),
    );
  }

  async function handleRecord(record: SQSRecord, context?: Context): Promise<void> {
    const receiveCount = receiveCountOf(record);
    const log = deps.logger.createChild({
      persistentKeys: {
        messageId: record.messageId,
        receiveCount,
        messageGroupId: record.attributes.MessageGroupId,
      },
    });
    const budgetMs = recordBudgetMs(context ? context.getRemainingTimeInMillis() : 60_000);
    const attempt: Attempt = {
      receiveCount,
      maxReceiveCount: settings.maxReceiveCount,
      backoff: settings.backoff,
      ...(deps.random ? { random: deps.random } : {}),
    };
    try {
      await runJob(record, receiveCount, budgetMs, log);
      count('processed', record, 1);
      log.debug('record processed');
      return;
    } catch (error) {
      count('failed', record, 1);
      const decision = decideFailure({ ok: false, error }, attempt);
      switch (decision.action) {
        case 'ack':
          return;
        case 'dead-letter':
          log.warn('permanent failure: archiving and dead-lettering', { error });
          try {
            await archiveFailure(record, 'permanent', error, log);
            await sendToDlq(record, error as PipelineError);
          } catch (bookkeepingError) {
            // Archive or DLQ unreachable: report the record failed (never deleted unarchived) and
            // retry it after a backoff, like any retryable failure (on the final attempt the redrive
            // policy takes it at once; its provisional record stays).
            await changeVisibility(record, retryAfterSeconds(attempt), log);
            throw bookkeepingError;
          }
          count('deadLettered', record, 1);
          return;
        case 'exhausted':
          log.warn('retries exhausted: archiving before the redrive policy moves it', { error });
          await archiveFailure(record, 'exhausted', error, log);
          await changeVisibility(record, 0, log);
          break;
        case 'retry':
          log.info('retryable failure: backing off', { error, backoffSeconds: decision.afterSeconds });
          await changeVisibility(record, decision.afterSeconds, log);
          break;
      }
      throw error instanceof RetryableError ? error : UnknownFailure.from(error);
    }
  }

  /** Writes the provisional archive records of the batch's final-attempt records. */
  const beforeBatch = (event: SQSEvent) => provisionals.beforeBatch(event, isFinal);
  /** Removes the provisional records of the final-attempt records that succeeded. */
  const afterBatch = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
    provisionals.afterBatch(response);

  /** Crash isolation (`./isolated-batch.ts`): suspects run alone, done records deleted early. */
  const isolated = createIsolatedBatch({
    sqs,
    queueUrl: settings.queueUrl,
    settings: { fifo: processing.fifo, maxReceiveCount: settings.maxReceiveCount },
    processing,
    handleRecord,
    memo: deps.memo ?? new SandboxDeliveryMemo(),
    logger: deps.logger,
    changeVisibility,
    onDeleted: (ids) => provisionals.release(ids),
  });

  /** One invocation: provisional records, the records under crash isolation, then the clean-up. */
  async function processBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    await beforeBatch(event);
    const response = await isolated(event, context);
    await afterBatch(response);
    return response;
  }

  return { handleRecord, beforeBatch, afterBatch, processBatch };
}
