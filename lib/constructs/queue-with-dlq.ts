import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUE_DEFAULTS } from '../config/defaults';
import { ConfigError } from '../config/errors';
import { assertVisibilityFits, minVisibilitySeconds, SQS_LIMITS } from '../config/limits';

/** Props of {@link QueueWithDlq}. */
export interface QueueWithDlqProps {
  /** Human label used in alarm names and descriptions, e.g. "standard". */
  readonly label: string;
  /** Create a FIFO queue (and a FIFO DLQ). @default false */
  readonly fifo?: boolean;
  /** Receives before a message moves to the DLQ. @default QUEUE_DEFAULTS.maxReceiveCount (5) */
  readonly maxReceiveCount?: number;
  /** Source queue retention; must be shorter than the DLQ's. @default Duration.days(QUEUE_DEFAULTS.retentionDays) (4 days) */
  readonly retentionPeriod?: Duration;
  /** Timeout of the function that consumes this queue: visibility is derived from it (required, no default). */
  readonly consumerTimeout: Duration;
  /** Batching window of the consumer's event source mapping. @default Duration.seconds(0) */
  readonly maxBatchingWindow?: Duration;
  /**
   * Visibility timeout; must be at least 6 × consumer timeout + batching window (AWS guidance for
   * Lambda consumers). @default 6 × consumerTimeout + maxBatchingWindow
   */
  readonly visibilityTimeout?: Duration;
  /** FIFO high throughput: dedup scope and throughput limit per message group. @default false */
  readonly highThroughput?: boolean;
  /** Removal policy of both queues. @default RemovalPolicy.DESTROY (queues hold transient work) */
  readonly removalPolicy?: RemovalPolicy;
}

/** The retention of every DLQ: SQS's maximum, so a DLQ always outlives its source's messages. */
const DLQ_RETENTION = Duration.days(SQS_LIMITS.maxRetentionDays);

/**
 * A source queue and its dead-letter queue: SQS-managed encryption, TLS-only policies, SQS's
 * largest message size (1 MiB) on both, a redrive
 * policy, visibility derived from the consumer timeout, and an alarm on the DLQ's depth.
 */
export class QueueWithDlq extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  /** `ApproximateNumberOfMessagesVisible >= 1` on the DLQ; missing data is not breaching. */
  public readonly dlqDepthAlarm: cloudwatch.Alarm;
  public readonly fifo: boolean;
  /** The label given in props. */
  public readonly label: string;
  public readonly maxReceiveCount: number;
  public readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    this.fifo = props.fifo ?? false;
    this.label = props.label;
    this.maxReceiveCount = props.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount;
    const retention = props.retentionPeriod ?? Duration.days(QUEUE_DEFAULTS.retentionDays);
    const timeout = props.consumerTimeout.toSeconds();
    const window = (props.maxBatchingWindow ?? Duration.seconds(0)).toSeconds();
    this.visibilityTimeout =
      props.visibilityTimeout ?? Duration.seconds(minVisibilitySeconds(timeout, window));
    assertVisibilityFits(this.node.path, this.visibilityTimeout.toSeconds(), timeout, window);

    if (retention.toSeconds() >= DLQ_RETENTION.toSeconds()) {
      throw new ConfigError(
        `${this.node.path}: retentionPeriod must be shorter than the DLQ's ${SQS_LIMITS.maxRetentionDays} days`,
      );
    }
    if (props.highThroughput && !this.fifo) {
      throw new ConfigError(`${this.node.path}: highThroughput applies to FIFO queues only`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const common = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
      // 1 MiB on the DLQ too: a DLQ copy carries the source message plus the consumer's attributes.
      maxMessageSizeBytes: SQS_LIMITS.maxMessageBytes,
    } as const;
    const fifoProps = this.fifo ? { fifo: true, contentBasedDeduplication: false } : {};

    this.deadLetterQueue = new sqs.Queue(this, 'Dlq', {
      ...common,
      ...fifoProps,
      retentionPeriod: DLQ_RETENTION,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      ...fifoProps,
      ...(props.highThroughput
        ? {
            deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
            fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
          }
        : {}),
      retentionPeriod: retention,
      visibilityTimeout: this.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });

    this.dlqDepthAlarm = heldMessagesAlarm(this, 'DlqDepthAlarm', this.deadLetterQueue, {
      alarmDescription:
        `Messages of the ${props.label} queue reached its DLQ: each one failed permanently or exhausted its retries ` +
        'and has (or will get, from the sweeper) a record in the failure archive. Inspect, fix, then redrive.',
    });
  }

  /**
   * Throws {@link ConfigError} when a consumer with `timeout` and `window` would not fit this
   * queue's visibility ({@link minVisibilitySeconds}: 6 × timeout + window).
   */
  assertConsumerFits(timeout: Duration, window: Duration = Duration.seconds(0)): void {
    assertVisibilityFits(
      this.node.path,
      this.visibilityTimeout.toSeconds(),
      timeout.toSeconds(),
      window.toSeconds(),
    );
  }
}

/**
 * The alarm of a queue that holds what could not be delivered (a DLQ): in alarm from the first
 * visible message (maximum over one minute), quiet when there is no data.
 */
export function heldMessagesAlarm(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  props: { readonly alarmDescription: string; readonly alarmName?: string },
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    ...props,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
