import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of {@link QueueWithDlq}. */
export interface QueueWithDlqProps {
  /** Human label used in alarm names and descriptions, e.g. "standard". */
  readonly label: string;
  /** Create a FIFO queue (and a FIFO DLQ). @default false */
  readonly fifo?: boolean;
  /** Receives before a message moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Source queue retention. @default Duration.days(4) */
  readonly retentionPeriod?: Duration;
  /** Timeout of the function that consumes this queue: visibility is derived from it. */
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
export const DLQ_RETENTION = Duration.days(14);

/**
 * A source queue and its dead-letter queue: SQS-managed encryption, TLS-only policies, a redrive
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
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    const retention = props.retentionPeriod ?? Duration.days(4);
    const window = props.maxBatchingWindow ?? Duration.seconds(0);
    const minVisibility = props.consumerTimeout.toSeconds() * 6 + window.toSeconds();
    this.visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(minVisibility);

    if (this.visibilityTimeout.toSeconds() < minVisibility) {
      throw new Error(
        `${this.node.path}: visibilityTimeout ${this.visibilityTimeout.toSeconds()}s is shorter than 6 × consumer timeout ` +
          `(${props.consumerTimeout.toSeconds()}s) + batching window (${window.toSeconds()}s) = ${minVisibility}s. ` +
          'Raise the visibility timeout or lower the function timeout.',
      );
    }
    if (this.visibilityTimeout.toSeconds() > 43_200) {
      throw new Error(
        `${this.node.path}: visibility timeout ${this.visibilityTimeout.toSeconds()}s exceeds SQS's 12 hours`,
      );
    }
    if (retention.toSeconds() >= DLQ_RETENTION.toSeconds()) {
      throw new Error(`${this.node.path}: retentionPeriod must be shorter than the DLQ's 14 days`);
    }
    if (props.highThroughput && !this.fifo) {
      throw new Error(`${this.node.path}: highThroughput applies to FIFO queues only`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy } as const;
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

    this.dlqDepthAlarm = new cloudwatch.Alarm(this, 'DlqDepthAlarm', {
      alarmDescription:
        `Messages of the ${props.label} queue reached its DLQ: each one failed permanently or exhausted its retries ` +
        'and has (or will get, from the sweeper) a record in the failure archive. Inspect, fix, then redrive.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Throws when a consumer with `timeout` and `window` would not fit this queue's visibility rule. */
  assertConsumerFits(timeout: Duration, window: Duration = Duration.seconds(0)): void {
    const needed = timeout.toSeconds() * 6 + window.toSeconds();
    if (this.visibilityTimeout.toSeconds() < needed) {
      throw new Error(
        `${this.node.path}: visibility timeout ${this.visibilityTimeout.toSeconds()}s < 6 × ${timeout.toSeconds()}s + ${window.toSeconds()}s = ${needed}s`,
      );
    }
  }
}
