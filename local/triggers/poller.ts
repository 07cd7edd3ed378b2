import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { LocalQueue } from '../aws/emulator';
import type { Journal } from '../control/journal';
import type { FunctionHost } from '../functions/host';
import type { LocalLogger } from '../log';
import type { MappingSpec } from '../template/topology';
import { interpretBatchResponse } from './batch-response';
import { GroupGate } from './group-gate';
import { MAX_INVOKE_PAYLOAD_BYTES, recordBytes, takeWithinPayload } from './payload-limit';

/** System attributes in the order Lambda lists them (standard, then the FIFO-only ones in place). */
const ATTRIBUTE_ORDER = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'SenderId',
  'MessageDeduplicationId',
  'ApproximateFirstReceiveTimestamp',
] as const;

/**
 * Shapes a received SQS message exactly like a record of Lambda's SQS event: lower-camel message
 * attributes (`binaryValue` base64, empty `stringListValues`/`binaryListValues`), system attributes
 * in Lambda's order. `md5OfMessageAttributes` for a message without attributes is what AWS was
 * observed to send: the key omitted when the mapping's batching window is 0, `null` when it is > 0.
 */
export function toLambdaRecord(
  message: Message,
  queueArn: string,
  region: string,
  maxBatchingWindowSeconds = 0,
): SQSRecord {
  const attrs = (message.Attributes ?? {}) as Record<string, string | undefined>;
  const attributes: Record<string, string> = {};
  for (const name of ATTRIBUTE_ORDER) if (attrs[name] !== undefined) attributes[name] = attrs[name]!;
  for (const [name, value] of Object.entries(attrs))
    if (value !== undefined && !(name in attributes)) attributes[name] = value;
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, a] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: Buffer.from(a.BinaryValue).toString('base64') } : {}),
      stringListValues: a.StringListValues ?? [],
      binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: a.DataType ?? 'String',
    } as SQSRecord['messageAttributes'][string];
  }
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecord['attributes'],
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes
      ? { md5OfMessageAttributes: message.MD5OfMessageAttributes }
      : maxBatchingWindowSeconds > 0
        ? { md5OfMessageAttributes: null as unknown as string }
        : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Options of {@link SqsPoller}. */
export interface SqsPollerOptions {
  readonly mapping: MappingSpec;
  readonly queue: LocalQueue;
  readonly host: FunctionHost;
  readonly sqs: SQSClient;
  readonly journal: Journal;
  readonly region: string;
  readonly logger: LocalLogger;
  /** Concurrent batches (`ScalingConfig.MaximumConcurrency`, or local mode's default). */
  readonly concurrency: number;
  /**
   * Long-poll wait per receive, in seconds (at most 20, as SQS allows). @default 1: `stop` then
   * waits for the receives in flight. A longer wait is aborted by `stop` instead, and whatever the
   * emulator hands to an aborted receive stays in flight until its visibility timeout, as in SQS:
   * for pollers stopped with their emulator (local mode's stage waits 20 s, as Lambda's pollers do).
   */
  readonly waitTimeSeconds?: number;
}

/**
 * One Lambda SQS event source mapping: `concurrency` independent pollers, each receiving with
 * long polling (all system and message attributes), gathering up to `BatchSize` records within
 * `MaximumBatchingWindowInSeconds` and within Lambda's 6 MB invocation payload (records past it
 * open the poller's next batch: `./payload-limit.ts`), invoking the function with a Lambda-shaped
 * event, and
 * deleting (DeleteMessageBatch) only the records that succeeded by
 * {@link interpretBatchResponse}. Failed records are left alone: they become visible again when
 * their visibility timeout ends (which the handler may have changed for backoff).
 *
 * FIFO queues: the emulator already hands out a message group only while none of its messages
 * is in flight (SQS FIFO's group locking), so concurrent batches normally hold different groups.
 * As a safeguard for the moments the lock is released early (a handler sets a record's
 * visibility to 0 before its invocation ends), a {@link GroupGate} holds back a batch until
 * every earlier batch with one of its groups has finished and deleted its records. One group's
 * records are thus never processed concurrently or out of order, while other groups keep flowing.
 */
export class SqsPoller {
  private running = false;
  /** Aborts the receives in flight when the pollers stop (waits over a second only). */
  private aborter = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly gate = new GroupGate();
  private inFlight = 0;
  private filteredOut = 0;

  constructor(private readonly options: SqsPollerOptions) {}

  /** Batches being processed right now. */
  get activeBatches(): number {
    return this.inFlight;
  }

  /** Records deleted without invoking because the mapping's filter criteria rejected them. */
  get filteredRecords(): number {
    return this.filteredOut;
  }

  /** Starts the pollers. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.aborter = new AbortController();
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /**
   * Stops receiving (a wait longer than a second is aborted); resolves when the batches in flight
   * are done (or after `timeoutMs`).
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.running = false;
    if (this.waitSeconds > 1) this.aborter.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.loops),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    // Received records that did not fit the last batch's 6 MB: they open the next batch, in order
    // (still in flight; on stop they return to the queue when their visibility timeout ends).
    let carried: Message[] = [];
    while (this.running) {
      let gathered: Message[];
      try {
        gathered = await this.gather(carried);
      } catch (error) {
        if (!this.running) break;
        this.options.logger.warn(
          `${this.options.mapping.logicalId}: receive failed (${(error as Error).message}); retrying in 1 s`,
        );
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const { batch, rest } = takeWithinPayload(gathered, (m) => this.sizeOf(m));
      carried = rest;
      if (batch.length > 0) await this.process(batch);
    }
  }

  /** Bytes the message adds to the event as a Lambda record. */
  private sizeOf(m: Message): number {
    const { queue, region, mapping } = this.options;
    return recordBytes(toLambdaRecord(m, queue.arn, region, mapping.maxBatchingWindowSeconds));
  }

  /** The long-poll wait of a receive, in seconds. */
  private get waitSeconds(): number {
    return Math.max(0, Math.min(20, this.options.waitTimeSeconds ?? 1));
  }

  /** Receives up to `max` messages; none once `stop` aborted the wait. */
  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    try {
      const out = await this.options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queue.url,
          MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: this.aborter.signal },
      );
      return out.Messages ?? [];
    } catch (error) {
      if (this.aborter.signal.aborted) return [];
      throw error;
    }
  }

  /**
   * Receives up to `BatchSize` messages (after the `carried` ones), waiting at most the batching
   * window after the first and stopping once the records reach Lambda's 6 MB payload.
   */
  private async gather(carried: readonly Message[]): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.options.mapping;
    const wait = this.waitSeconds;
    const batch = carried.length > 0 ? [...carried] : await this.admit(await this.receive(batchSize, wait));
    if (batch.length === 0) return batch;
    const windowEnd = Date.now() + maxBatchingWindowSeconds * 1000;
    let bytes = batch.reduce((n, m) => n + this.sizeOf(m), 0);
    while (
      this.running &&
      batch.length < batchSize &&
      Date.now() < windowEnd &&
      bytes < MAX_INVOKE_PAYLOAD_BYTES
    ) {
      const left = Math.ceil((windowEnd - Date.now()) / 1000);
      const more = await this.admit(
        await this.receive(batchSize - batch.length, Math.max(0, Math.min(wait, left))),
      );
      batch.push(...more);
      bytes += more.reduce((n, m) => n + this.sizeOf(m), 0);
    }
    return batch;
  }

  /**
   * Lambda's event filtering, applied to each received message before it joins a batch: the
   * messages no filter of the mapping matches are deleted without invoking; the rest are returned.
   */
  private async admit(messages: Message[]): Promise<Message[]> {
    const { mapping, queue, region } = this.options;
    const filter = mapping.filter;
    if (!filter || messages.length === 0) return messages;
    const kept: Message[] = [];
    const dropped: SQSRecord[] = [];
    for (const m of messages) {
      const record = toLambdaRecord(m, queue.arn, region, mapping.maxBatchingWindowSeconds);
      if (filter(record)) kept.push(m);
      else dropped.push(record);
    }
    if (dropped.length > 0) {
      await this.deleteRecords(dropped);
      this.filteredOut += dropped.length;
    }
    return kept;
  }

  private async process(batch: Message[]): Promise<void> {
    const { mapping, queue, host, journal, region } = this.options;
    const records = batch.map((m) => toLambdaRecord(m, queue.arn, region, mapping.maxBatchingWindowSeconds));
    const messageIds = records.map((r) => r.messageId);
    const release = queue.fifo
      ? await this.gate.enter(records.map((r) => r.attributes.MessageGroupId ?? ''))
      : () => undefined;
    this.inFlight++;
    try {
      const outcome = await host.invoke({ Records: records });
      const verdict = interpretBatchResponse(messageIds, outcome, mapping.reportBatchItemFailures);
      if (verdict.wholeBatch && outcome.ok) {
        this.options.logger.warn(`${mapping.logicalId}: whole batch failed: ${verdict.reason}`);
      }
      const failed = new Set(verdict.failed);
      await this.deleteRecords(records.filter((r) => !failed.has(r.messageId)));
      journal.record({
        function: mapping.functionId,
        startedAt: outcome.startedAt.toISOString(),
        durationMs: outcome.durationMs,
        messageIds,
        batchItemFailures: verdict.failed,
        error: outcome.ok ? null : outcome.error,
      });
    } finally {
      this.inFlight--;
      release();
    }
  }

  private async deleteRecords(records: SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await this.options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queue.url,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        for (const f of out.Failed ?? []) {
          const r = chunk[Number(f.Id)];
          this.options.logger.warn(
            `${this.options.mapping.logicalId}: could not delete ${r?.messageId}: ${f.Code} ${f.Message ?? ''}`,
          );
        }
      } catch (error) {
        this.options.logger.warn(
          `${this.options.mapping.logicalId}: DeleteMessageBatch failed: ${(error as Error).message}`,
        );
      }
    }
  }
}
