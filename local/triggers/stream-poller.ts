import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LocalQueue } from '../aws/emulator';
import { toStreamEventRecord, type LocalStreamRecord, type TableStream } from '../aws/streams';
import type { Journal } from '../control/journal';
import type { FunctionHost, InvokeOutcome } from '../functions/host';
import type { LocalLogger } from '../log';
import type { StreamMappingSpec } from '../template/topology';
import { interpretBatchResponse } from './batch-response';

/*
 * A Lambda event source mapping of a DynamoDB stream, as AWS documents it:
 * - "Using AWS Lambda with Amazon DynamoDB" (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html):
 *   records of a shard in order, one batch at a time per shard; a batch up to BatchSize records,
 *   gathered for up to MaximumBatchingWindowInSeconds.
 * - "Configuring partial batch response with DynamoDB and Lambda"
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html): with
 *   ReportBatchItemFailures the itemIdentifier is the record's SequenceNumber; Lambda checkpoints
 *   before the lowest one returned and retries from it; an empty, null or unknown identifier fails
 *   the whole batch; with BisectBatchOnFunctionError too, the batch is split at that record and
 *   only the rest is retried.
 * - "Retaining discarded records for a DynamoDB event source"
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html): a failing batch
 *   is retried until MaximumRetryAttempts or MaximumRecordAgeInSeconds (or the record's expiry);
 *   BisectBatchOnFunctionError splits a batch whose invocation failed in two, and a split does
 *   not count against the retry quota; a batch given up is described (not copied) to the
 *   OnFailure destination as an invocation record (requestContext, responseContext, version,
 *   timestamp, DDBStreamBatchInfo), and processing goes on with the next records.
 * - Filtered-out records (FilterCriteria) are dropped without invoking.
 * Local mode runs one shard per table; retries wait RETRY_DELAY_MS × attempt (at most 1 s).
 */

/** Local pause before retrying a failed batch, per attempt so far. */
export const RETRY_DELAY_MS = 100;

/**
 * Why a batch was given up (`requestContext.condition` of the invocation record). AWS's examples
 * show `RetryAttemptsExhausted`; the value for a batch past MaximumRecordAgeInSeconds is not in
 * the examples read, and local mode writes `RecordAgeExceeded` for it.
 */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** Options of {@link StreamPoller}. */
export interface StreamPollerOptions {
  readonly mapping: StreamMappingSpec;
  readonly stream: TableStream;
  readonly host: FunctionHost;
  readonly journal: Journal;
  readonly logger: LocalLogger;
  /** The OnFailure destination's queue and a client of the emulator. */
  readonly onFailure?: { readonly queue: LocalQueue; readonly sqs: SQSClient };
  /** How often an idle poller looks for records (Lambda: 4 times a second). @default 250 */
  readonly pollIntervalMs?: number;
}

/** A batch being worked on: its records and the retries it has had. */
interface Segment {
  records: LocalStreamRecord[];
  attempts: number;
}

/**
 * The invocation record Lambda sends to a stream mapping's OnFailure destination for a batch it
 * gives up ("Retaining discarded records for a DynamoDB event source": an example record).
 */
export function invocationRecord(
  mapping: { readonly functionArn: string },
  stream: Pick<TableStream, 'shardId' | 'streamArn'>,
  records: readonly LocalStreamRecord[],
  condition: DiscardCondition,
  attempts: number,
  outcome: InvokeOutcome | undefined,
  now = new Date(),
): Record<string, unknown> {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const arrival = (r: LocalStreamRecord) =>
    new Date(r.dynamodb.ApproximateCreationDateTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    requestContext: {
      requestId: outcome?.requestId ?? '',
      functionArn: mapping.functionArn,
      condition,
      approximateInvokeCount: attempts,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(outcome && !outcome.ok ? { functionError: 'Unhandled' } : {}),
    },
    version: '1.0',
    timestamp: now.toISOString(),
    DDBStreamBatchInfo: {
      shardId: stream.shardId,
      startSequenceNumber: first.dynamodb.SequenceNumber,
      endSequenceNumber: last.dynamodb.SequenceNumber,
      approximateArrivalOfFirstRecord: arrival(first),
      approximateArrivalOfLastRecord: arrival(last),
      batchSize: records.length,
      streamArn: stream.streamArn,
    },
  };
}

/**
 * Reads one table stream for one function, in order: gathers a batch, invokes, and on failure
 * retries, bisects or gives the batch up to the OnFailure queue, as Lambda does (see above).
 */
export class StreamPoller {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private position: number;
  private inFlight = 0;
  private filteredOut = 0;
  private discarded = 0;

  constructor(private readonly options: StreamPollerOptions) {
    this.position = options.mapping.startingPosition === 'LATEST' ? options.stream.end : options.stream.start;
  }

  /** Batches being processed right now (0 or 1: one shard). */
  get activeBatches(): number {
    return this.inFlight;
  }

  /** Records dropped without invoking because the mapping's filter criteria rejected them. */
  get filteredRecords(): number {
    return this.filteredOut;
  }

  /** Records given up (sent to the OnFailure destination, or dropped without one). */
  get discardedRecords(): number {
    return this.discarded;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops reading; resolves when the batch in flight is done (or after `timeoutMs`). */
  async stop(timeoutMs = 5000): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loopDone, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    const interval = this.options.pollIntervalMs ?? 250;
    while (this.running) {
      const batch = await this.gather(interval);
      if (batch.length === 0) continue;
      this.inFlight++;
      try {
        await this.process(batch);
      } catch (error) {
        this.options.logger.warn(`${this.options.mapping.logicalId}: ${(error as Error).message}`);
      } finally {
        this.inFlight--;
      }
    }
  }

  /** The next records that pass the filter: up to BatchSize, within the batching window. */
  private async gather(interval: number): Promise<LocalStreamRecord[]> {
    const { mapping, stream } = this.options;
    await stream.waitBeyond(this.position, interval);
    const batch: LocalStreamRecord[] = [];
    let windowEnd: number | undefined;
    while (this.running) {
      const { first, records } = stream.read(this.position, mapping.batchSize - batch.length);
      this.position = first + records.length;
      for (const r of records) {
        if (!mapping.filter || mapping.filter(toStreamEventRecord(r))) batch.push(r);
        else this.filteredOut++;
      }
      if (batch.length >= mapping.batchSize) break;
      if (batch.length > 0) windowEnd ??= Date.now() + mapping.maxBatchingWindowSeconds * 1000;
      if (windowEnd === undefined || Date.now() >= windowEnd) break;
      await stream.waitBeyond(this.position, Math.max(1, windowEnd - Date.now()));
    }
    return batch;
  }

  /** Works one batch to the end: every record succeeded or was given up. */
  private async process(batch: LocalStreamRecord[]): Promise<void> {
    const { mapping } = this.options;
    const segments: Segment[] = [{ records: batch, attempts: 0 }];
    while (segments.length > 0) {
      const segment = segments[0]!;
      if (this.tooOld(segment.records)) {
        await this.discard(segment, 'RecordAgeExceeded', undefined);
        segments.shift();
        continue;
      }
      const outcome = await this.invoke(segment.records);
      const ids = segment.records.map((r) => r.dynamodb.SequenceNumber);
      const verdict = interpretBatchResponse(ids, outcome, mapping.reportBatchItemFailures);
      if (verdict.failed.length === 0) {
        segments.shift();
        continue;
      }
      if (
        verdict.wholeBatch &&
        !outcome.ok &&
        mapping.bisectBatchOnFunctionError &&
        segment.records.length > 1
      ) {
        // Split in two; a split does not count against the retry quota.
        const half = Math.ceil(segment.records.length / 2);
        segments.splice(
          0,
          1,
          { records: segment.records.slice(0, half), attempts: segment.attempts },
          { records: segment.records.slice(half), attempts: segment.attempts },
        );
        continue;
      }
      if (!verdict.wholeBatch) {
        // Checkpoint before the lowest failed sequence number; retry from it.
        const lowest = verdict.failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
        segment.records = segment.records.slice(ids.indexOf(lowest));
      }
      segment.attempts++;
      if (mapping.maximumRetryAttempts !== -1 && segment.attempts > mapping.maximumRetryAttempts) {
        await this.discard(segment, 'RetryAttemptsExhausted', outcome);
        segments.shift();
        continue;
      }
      if (!verdict.wholeBatch || outcome.ok) {
        this.options.logger.warn(
          `${mapping.logicalId}: ${verdict.wholeBatch ? `batch failed (${verdict.reason})` : `${verdict.failed.length} records failed`}; retry ${segment.attempts}`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, RETRY_DELAY_MS * segment.attempts)));
      if (!this.running) return;
    }
  }

  private tooOld(records: readonly LocalStreamRecord[]): boolean {
    const maxAge = this.options.mapping.maximumRecordAgeSeconds;
    return maxAge !== -1 && records.some((r) => Date.now() - r.arrivedAt > maxAge * 1000);
  }

  private async invoke(records: readonly LocalStreamRecord[]): Promise<InvokeOutcome> {
    const { mapping, host, journal } = this.options;
    const event: { Records: DynamoDBRecord[] } = { Records: records.map(toStreamEventRecord) };
    const outcome = await host.invoke(event);
    const ids = records.map((r) => r.dynamodb.SequenceNumber);
    const verdict = interpretBatchResponse(ids, outcome, mapping.reportBatchItemFailures);
    journal.record({
      function: mapping.functionId,
      startedAt: outcome.startedAt.toISOString(),
      durationMs: outcome.durationMs,
      messageIds: ids,
      batchItemFailures: verdict.failed,
      error: outcome.ok ? null : outcome.error,
    });
    return outcome;
  }

  private async discard(segment: Segment, condition: DiscardCondition, outcome: InvokeOutcome | undefined) {
    const { mapping, stream, onFailure, logger, host } = this.options;
    this.discarded += segment.records.length;
    const record = invocationRecord(
      { functionArn: host.spec.arn },
      stream,
      segment.records,
      condition,
      segment.attempts,
      outcome,
    );
    logger.warn(
      `${mapping.logicalId}: gave up ${segment.records.length} records (${condition})${onFailure ? ` → ${onFailure.queue.logicalId}` : ''}`,
    );
    if (!onFailure) return;
    await onFailure.sqs.send(
      new SendMessageCommand({ QueueUrl: onFailure.queue.url, MessageBody: JSON.stringify(record) }),
    );
  }
}
