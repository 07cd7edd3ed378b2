import { integer, text } from './env-contract';

/**
 * Environment variables that more than one function's contract carries, each named once here
 * (`lambda/<function>/config.ts` spreads the ones it needs into its own contract).
 */
export const SHARED_VARIABLES = {
  /** The failure archive bucket (consumers, DLQ sweeper). */
  archiveBucket: text('ARCHIVE_BUCKET'),
  /** Results too large for a status row (consumers write, producer reads; `./jobs/result.ts`). */
  resultBucket: text('RESULT_BUCKET'),
  /** The message status table (producer, consumers, DLQ sweeper). */
  statusTable: text('STATUS_TABLE'),
  /** Days a status row is kept after its last change (producer, consumers, DLQ sweeper). */
  statusRetentionDays: integer('STATUS_RETENTION_DAYS'),
  /**
   * Seconds an idempotency record is remembered: an `Idempotency-Key` answers repeats (producer),
   * a processed envelope id is not run again (consumers).
   */
  idempotencyWindowSeconds: integer('IDEMPOTENCY_WINDOW_SECONDS'),
} as const;
