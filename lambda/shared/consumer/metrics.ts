import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';

/** The per-record counts a consumer publishes, with the dimensions `service` and `type`. */
export const RECORD_METRICS = [
  'processed',
  'failed',
  'archived',
  'deadLettered',
  'duplicate',
  'deferred',
] as const;
/** A per-record count's name. */
export type RecordMetric = (typeof RECORD_METRICS)[number];

/** The job type a record's metrics are counted under: its `type` message attribute. */
export function metricTypeOf(record: SQSRecord): string {
  return record.messageAttributes?.type?.stringValue ?? 'unknown';
}

/**
 * The metrics of one invocation, counted in memory and flushed once per batch: one EMF document
 * per job type seen in the batch (dimensions `service`, `type`; one document for the common
 * single-type batch) holding all its counts, plus one document with the dimension `service` only
 * for archive write failures (the alarm's metric), instead of one document per record per metric.
 *
 * EMF gives each metric one value per document, so counts of two job types cannot share one.
 */
export class BatchMetrics {
  readonly #metrics: Metrics | undefined;
  readonly #byType = new Map<string, Map<RecordMetric, number>>();
  #archiveFailed = 0;

  /** @param metrics the function's Powertools instance; `undefined` counts nothing */
  constructor(metrics: Metrics | undefined) {
    this.#metrics = metrics;
  }

  /** Adds `value` to a record's count under its job type. */
  count(name: RecordMetric, record: SQSRecord, value = 1): void {
    if (!this.#metrics) return;
    const type = metricTypeOf(record);
    let counts = this.#byType.get(type);
    if (!counts) {
      counts = new Map();
      this.#byType.set(type, counts);
    }
    counts.set(name, (counts.get(name) ?? 0) + value);
  }

  /** Counts one failed archive write (dimension `service` only, as the archive alarm reads it). */
  archiveFailed(): void {
    if (this.#metrics) this.#archiveFailed += 1;
  }

  /** Writes the counted metrics (nothing when nothing was counted) and starts over. */
  flush(): void {
    const metrics = this.#metrics;
    if (!metrics) return;
    try {
      for (const [type, counts] of this.#byType) {
        metrics.addDimension('type', type);
        for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
        metrics.publishStoredMetrics();
      }
      if (this.#archiveFailed > 0) {
        metrics.addMetric('archiveFailed', MetricUnit.Count, this.#archiveFailed);
        metrics.publishStoredMetrics();
      }
    } finally {
      this.#byType.clear();
      this.#archiveFailed = 0;
    }
  }
}
