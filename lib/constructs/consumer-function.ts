import { Duration, Stack } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { toEnvironment as consumerEnvironment } from '../../lambda/consumer/config';
import { DEFAULT_MAX_DEFERRAL_SECONDS } from '../../lambda/shared/consumer/deferral';
import { assertAttemptsFit } from '../config/limits';
import type { ConsumerSettings, ProbeSettings } from '../config/types';
import type { ProbeMode } from '../../lambda/shared/jobs/probe-modes';
import type { ResultBucket } from './result-bucket';
import type { FailureArchive } from './failure-archive';
import { PipelineFunction } from './pipeline-function';
import type { QueueWithDlq } from './queue-with-dlq';
import type { StatusTable } from './status-table';

/** Props of {@link ConsumerFunction}. */
export interface ConsumerFunctionProps {
  /** The lane this function runs (`LANE`; logs and status rows) (required). */
  readonly lane: string;
  /** The function's entry file: the lane's generated entry point (required). */
  readonly entry: string;
  /** Powertools service name. @default `consumer` (standard) / `fifo-consumer` (FIFO) */
  readonly serviceName?: string;
  /** Extra environment variables (the app's, per lane). @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** The queue (and DLQ) this function consumes; its visibility must fit the timeout (required). */
  readonly source: QueueWithDlq;
  /** Archive the function writes failure records to (required). */
  readonly archive: FailureArchive;
  /** Batch size, window, concurrency, timeout and memory (required; see `lib/config/defaults.ts`). */
  readonly settings: ConsumerSettings;
  /**
   * Handler runs a message gets before the consumer gives up on it (counted on its status row).
   * At most the source queue's `maxReceiveCount`. @default the source queue's `maxReceiveCount`
   */
  readonly maxAttempts?: number;
  /**
   * The deferral cap: how long after it was enqueued a message may be held back, in seconds.
   * @default DEFAULT_MAX_DEFERRAL_SECONDS (4 days less 2 hours)
   */
  readonly maxDeferralSeconds?: number;
  /** At most `perSecond` runs per second (bursts of `burst`) across the lane's consumers. @default no limit */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number } | null;
  /** Retry backoff, first delay and cap, in seconds (required). */
  readonly backoff: { readonly baseSeconds: number; readonly capSeconds: number };
  /** Retention of the function's log group, in days (required). */
  readonly logRetentionDays: number;
  /** Keep the function's log group when the stack is deleted. @default false */
  readonly retainLogs?: boolean;
  /** X-Ray active tracing on the function. @default false */
  readonly tracing?: boolean;
  /** The status table: status transitions and Powertools idempotency records (required). */
  readonly statusTable: StatusTable;
  /** Row retention (days) and idempotency window (hours) (required). */
  readonly status: { readonly retentionDays: number; readonly idempotencyWindowHours: number };
  /** Where results too large for a status row go (required). */
  readonly results: ResultBucket;
  /**
   * Where follow-up jobs (`ctx.enqueue`) go: every lane's queue (the function may send to each),
   * and the probe rules the API applies (required).
   */
  readonly followUps: {
    readonly standardQueue: sqs.IQueue;
    readonly fifoQueue: sqs.IQueue;
    readonly laneQueues: Readonly<Record<string, sqs.IQueue>>;
    readonly allowedProbeModes: readonly ProbeMode[];
    readonly probes: ProbeSettings;
  };
}

/**
 * A consumer Lambda wired to its queue by an event source mapping that reports partial batch
 * failures. It may change visibility (backoff) on its queue, send to its DLQ (permanent failures)
 * write archive records, and write its status and idempotency rows; nothing else.
 */
export class ConsumerFunction extends Construct {
  public readonly fn: lambda.Function;
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: ConsumerFunctionProps) {
    super(scope, id);
    const { source, settings } = props;
    const timeout = Duration.seconds(settings.timeoutSeconds);
    const window = Duration.seconds(settings.maxBatchingWindowSeconds);
    source.assertConsumerFits(timeout, window);
    const maxAttempts = props.maxAttempts ?? source.maxReceiveCount;
    assertAttemptsFit(this.node.path, maxAttempts, source.maxReceiveCount);

    const handler = new PipelineFunction(this, 'Handler', {
      handlerDir: props.entry,
      serviceName: props.serviceName ?? (source.fifo ? 'fifo-consumer' : 'consumer'),
      description: `Processes the ${props.lane} lane (${source.fifo ? 'FIFO' : 'standard'} queue) with partial batch failures`,
      timeout,
      memoryMb: settings.memoryMb,
      logRetentionDays: props.logRetentionDays,
      retainLogs: props.retainLogs ?? false,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      environment: {
        ...props.environment,
        ...consumerEnvironment(
          {
            lane: props.lane,
            queueUrl: source.queue.queueUrl,
            dlqUrl: source.deadLetterQueue.queueUrl,
            maxReceiveCount: source.maxReceiveCount,
            maxAttempts,
            backoffBaseSeconds: props.backoff.baseSeconds,
            backoffCapSeconds: props.backoff.capSeconds,
            maxDeferralSeconds: props.maxDeferralSeconds ?? DEFAULT_MAX_DEFERRAL_SECONDS,
            rateLimit: props.rateLimit ?? null,
            standardQueueUrl: props.followUps.standardQueue.queueUrl,
            fifoQueueUrl: props.followUps.fifoQueue.queueUrl,
            laneQueueUrls: Object.fromEntries(
              Object.entries(props.followUps.laneQueues).map(([lane, q]) => [lane, q.queueUrl]),
            ),
            allowedProbeModes: props.followUps.allowedProbeModes,
            probePolicy: props.followUps.probes,
            archiveBucket: props.archive.bucket.bucketName,
            resultBucket: props.results.bucket.bucketName,
            statusTable: props.statusTable.table.tableName,
            statusRetentionDays: props.status.retentionDays,
            idempotencyWindowSeconds: props.status.idempotencyWindowHours * 3600,
          },
          { json: (value) => Stack.of(this).toJsonString(value) },
        ),
      },
    });
    this.fn = handler.fn;

    this.eventSource = new SqsEventSource(source.queue, {
      batchSize: settings.batchSize,
      maxBatchingWindow: source.fifo || settings.maxBatchingWindowSeconds === 0 ? undefined : window,
      reportBatchItemFailures: true,
      maxConcurrency: settings.maxConcurrency,
      // The mapping's own counts (polled, filtered, invoked, failed, deleted, dropped events) in AWS/Lambda,
      // by EventSourceMappingUUID: on the dashboard next to the queue and function widgets.
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
    });
    this.fn.addEventSource(this.eventSource);
    source.deadLetterQueue.grant(this.fn, 'sqs:SendMessage');
    props.archive.grantWriteRecords(this.fn);
    props.archive.grantRemoveRecords(this.fn);
    props.statusTable.grantConsumer(this.fn);
    props.results.grantWrite(this.fn);
    // Follow-up jobs: SendMessage only, on each lane's queue.
    const { standardQueue, fifoQueue, laneQueues } = props.followUps;
    for (const q of [standardQueue, fifoQueue, ...Object.values(laneQueues)])
      q.grant(this.fn, 'sqs:SendMessage');
  }
}
