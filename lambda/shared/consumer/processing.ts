import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** The record handler a batch processor runs for each record. */
export type RecordHandler = (record: SQSRecord, context?: Context) => Promise<void>;

/**
 * How one entry point runs a batch's records: the Powertools processor of its queue kind. Built
 * at module scope by the entry point (one processor per sandbox, reused across invocations):
 * `fifoProcessing()` in `./fifo-processor.ts`, `standardProcessing()` in `./standard-processor.ts`.
 */
export interface BatchProcessing {
  /** The queue kind; FIFO records sent to the DLQ keep their message group. */
  readonly fifo: boolean;
  /** Runs every record of `event` through `handler`; never throws on a full batch failure. */
  process(event: SQSEvent, handler: RecordHandler, context: Context): Promise<SQSBatchResponse>;
}
