import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  buildArchiveRecord,
  queueNameFromArn,
  type ArchiveRecord,
  type ArchiveWriter,
  type FailureKind,
} from './archive';
import { backoffSeconds, type BackoffSettings } from './backoff';
import { parseEnvelope } from './envelope';
import type { PipelineError } from './errors';
import { DeadlineExceededError, isPermanent, RetryableError } from './errors';
import type { JobRegistry } from './jobs/registry';

/** Settings of a consumer, read from its environment by the handler module. */
export interface ConsumerSettings {
  /** URL of the source queue (for visibility changes). */
  readonly queueUrl: string;
  /** URL of the source queue's DLQ, where permanent failures are sent. */
  readonly dlqUrl: string;
  readonly fifo: boolean;
  /** The source queue's redrive `maxReceiveCount`: the attempt with this count is the last. */
  readonly maxReceiveCount: number;
  readonly backoff: BackoffSettings;
}

/** Everything a consumer's record handler depends on; injectable for tests and reused by local mode. */
export interface ConsumerDeps {
  readonly registry: JobRegistry;
  readonly sqs: SQSClient;
  readonly archive: ArchiveWriter;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly settings: ConsumerSettings;
  readonly random?: () => number;
  readonly now?: () => Date;
}

/** Attribute names the consumer adds to a message it moves to the DLQ itself. */
export const DLQ_ATTR = {
  failureKind: 'failure-kind',
  errorName: 'failure-error',
  originalMessageId: 'original-message-id',
  sourceQueue: 'source-queue',
} as const;

/**
 * Time kept back from each record's deadline for the bookkeeping after it (visibility change,
 * archive write, DLQ send) and for the response: 10% of the time left, between 250 ms and 5 s.
 */
export function deadlineMarginMs(remainingMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(remainingMs * 0.1)));
}

/** Runs `work` with an abort signal that fires after `ms`; rejects with {@link DeadlineExceededError} then. */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (ms <= 0) throw new DeadlineExceededError(0);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineExceededError(ms));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Converts Lambda's lower-camel message attributes to the SDK's form. */
export function toSdkAttributes(
  attrs: SQSRecord['messageAttributes'],
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, a] of Object.entries(attrs ?? {})) {
    if (a.stringValue !== undefined && a.stringValue !== null)
      out[name] = { DataType: a.dataType, StringValue: a.stringValue };
    else if (a.binaryValue !== undefined && a.binaryValue !== null)
      out[name] = { DataType: a.dataType, BinaryValue: Buffer.from(a.binaryValue, 'base64') };
  }
  return out;
}

const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });

/**
 * The consumer core shared by the standard and FIFO entry points. Per record (`handleRecord`):
 *
 * - success: resolves (the event source mapping deletes the record);
 * - permanent failure: archive, then send to the DLQ, then resolve, so the source deletes it. If
 *   either step fails the record is reported as failed and retried, never deleted unarchived;
 * - retryable failure: on the last attempt archive (`exhausted`) and let the redrive policy move
 *   it; otherwise delay the next attempt with a backoff visibility change. Then reject, so the
 *   record is reported in `batchItemFailures`.
 *
 * Per batch (`processBatch`): every final-attempt record gets a provisional archive record before
 * any record runs (a crash mid-batch would otherwise skip the later ones); the records run under
 * Powertools (`SqsFifoPartialProcessorAsync` with `skipGroupOnError` for FIFO, `BatchProcessor`
 * otherwise, never throwing on a full batch failure); the provisional records of those that
 * succeeded are removed only once the whole batch has returned (a crash after a record succeeded
 * fails its whole batch, so that record too goes to the DLQ and must keep its record).
 */
export function createConsumer(deps: ConsumerDeps) {
  const { registry, sqs, archive, settings } = deps;
  const now = deps.now ?? (() => new Date());

  const queueOf = (record: SQSRecord) => ({
    name: queueNameFromArn(record.eventSourceARN),
    arn: record.eventSourceARN,
  });

  async function giveUp(record: SQSRecord, kind: FailureKind, error: unknown, log: Logger): Promise<void> {
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
    // The final record now stands in the provisional one's place: `afterBatch` must not remove it
    // (a permanent failure is acknowledged, so it looks like a success there).
    provisionals.delete(record.messageId);
    log.info('failure archived', { failureKind: kind, archive: archived });
    count('archived', record, 1);
  }

  async function deadLetter(record: SQSRecord, error: PipelineError): Promise<void> {
    const attrs = {
      ...toSdkAttributes(record.messageAttributes),
      [DLQ_ATTR.failureKind]: str('permanent'),
      [DLQ_ATTR.errorName]: str(error.name),
      [DLQ_ATTR.originalMessageId]: str(record.messageId),
      [DLQ_ATTR.sourceQueue]: str(queueNameFromArn(record.eventSourceARN)),
    };
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: settings.dlqUrl,
        MessageBody: record.body,
        MessageAttributes: attrs,
        ...(settings.fifo
          ? {
              MessageGroupId: record.attributes.MessageGroupId ?? 'default',
              MessageDeduplicationId: record.messageId,
            }
          : {}),
      }),
    );
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

  // Module scope in the entry points: one processor per sandbox, reused across invocations.
  const processor = settings.fifo ? new SqsFifoPartialProcessorAsync() : new BatchProcessor(EventType.SQS);

  /** Provisional records written by `beforeBatch`, by message id, until `afterBatch`. */
  const provisionals = new Map<string, ArchiveRecord | undefined>();

  /** Removes the provisional records of the batch's final-attempt records that succeeded. */
  async function afterBatch(response: { batchItemFailures: { itemIdentifier: string }[] }): Promise<void> {
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = [...provisionals].filter(([id, record]) => record && !failed.has(id));
    provisionals.clear();
    await Promise.all(
      done.map(([messageId, record]) =>
        archive.remove(record!).catch((error: unknown) =>
          deps.logger.error(
            'processed on its final attempt, but its provisional archive record could not be removed',
            {
              messageId,
              error,
            },
          ),
        ),
      ),
    );
  }

  async function beforeBatch(event: SQSEvent): Promise<void> {
    provisionals.clear();
    const finals = event.Records.filter(
      (r) => Number(r.attributes.ApproximateReceiveCount ?? '1') >= settings.maxReceiveCount,
    );
    await Promise.all(
      finals.map(async (r) => provisionals.set(r.messageId, await writeProvisional(r, deps.logger))),
    );
  }

  async function handleRecord(record: SQSRecord, context?: Context): Promise<void> {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const log = deps.logger.createChild({
      persistentKeys: {
        messageId: record.messageId,
        receiveCount,
        messageGroupId: record.attributes.MessageGroupId,
      },
    });
    const remaining = context ? context.getRemainingTimeInMillis() : 60_000;
    const budget = remaining - deadlineMarginMs(remaining);
    const finalAttempt = receiveCount >= settings.maxReceiveCount;
    try {
      const envelope = parseEnvelope(record.body);
      log.appendKeys({ type: envelope.type, correlationId: envelope.correlationId });
      const job = registry.get(envelope.type);
      const payload = registry.parsePayload(envelope.type, envelope.payload);
      await withDeadline(budget, (signal) =>
        job.handle(payload, {
          messageId: record.messageId,
          receiveCount,
          correlationId: envelope.correlationId,
          logger: log,
          signal,
        }),
      );
      count('processed', record, 1);
      log.debug('record processed');
    } catch (error) {
      count('failed', record, 1);
      if (isPermanent(error)) {
        log.warn('permanent failure: archiving and dead-lettering', { error });
        try {
          await giveUp(record, 'permanent', error, log);
          await deadLetter(record, error);
        } catch (bookkeepingError) {
          // Archive or DLQ unreachable: report the record failed (never deleted unarchived) and
          // retry it after a backoff, like any retryable failure (on the final attempt the redrive
          // policy takes it at once; its provisional record stays).
          const delay = finalAttempt ? 0 : backoffSeconds(receiveCount, settings.backoff, deps.random);
          await changeVisibility(record, delay, log);
          throw bookkeepingError;
        }
        count('deadLettered', record, 1);
        return;
      }
      const retryable =
        error instanceof RetryableError
          ? error
          : new RetryableError(String((error as Error)?.message ?? error), { cause: error });
      if (finalAttempt) {
        log.warn('retries exhausted: archiving before the redrive policy moves it', { error });
        await giveUp(record, 'exhausted', error, log);
        await changeVisibility(record, 0, log);
      } else {
        const delay = backoffSeconds(receiveCount, settings.backoff, deps.random);
        log.info('retryable failure: backing off', { error, backoffSeconds: delay });
        await changeVisibility(record, delay, log);
      }
      throw retryable;
    }
  }

  async function writeProvisional(record: SQSRecord, log: Logger) {
    const error = Object.assign(
      new Error('The final attempt did not complete (crash or timeout of the runtime)'),
      {
        name: 'FinalAttemptInterrupted',
      },
    );
    const provisional = buildArchiveRecord(record, queueOf(record), { kind: 'unknown', error }, now());
    try {
      await archive.write(provisional, { replace: true });
      return provisional;
    } catch (writeError) {
      // Not fatal: the handler still runs; a failure is archived as usual, and the DLQ sweeper
      // covers a crash of a standard queue's record.
      log.warn('could not write the provisional archive record of a final attempt', { error: writeError });
      return undefined;
    }
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

  /** One invocation: provisional records, the records under the processor, then the clean-up. */
  async function processBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    await beforeBatch(event);
    const response = settings.fifo
      ? await processPartialResponse(event, handleRecord, processor as SqsFifoPartialProcessorAsync, {
          context,
          skipGroupOnError: true,
          throwOnFullBatchFailure: false,
        })
      : await processPartialResponse(event, handleRecord, processor as BatchProcessor, {
          context,
          throwOnFullBatchFailure: false,
        });
    await afterBatch(response);
    return response;
  }

  return { handleRecord, beforeBatch, afterBatch, processBatch };
}
