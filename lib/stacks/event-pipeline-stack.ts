import { Aws, CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cdk from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/types';
import { ConsumerFunction } from '../constructs/consumer-function';
import { DlqSweeper } from '../constructs/dlq-sweeper';
import { ARCHIVE_BUCKET_LOGICAL_ID, FailureArchive } from '../constructs/failure-archive';
import { IngestApi } from '../constructs/ingest-api';
import { PipelineMonitoring } from '../constructs/pipeline-monitoring';
import { QueueWithDlq } from '../constructs/queue-with-dlq';
import { StatusTable } from '../constructs/status-table';

/** Props of {@link EventPipelineStack}. */
export interface EventPipelineStackProps extends StackProps {
  readonly config: StageConfig;
}

/** Pinned logical ids of the stateful resources: renaming a construct must never replace them. */
export const LOGICAL_IDS = {
  standardQueue: 'StandardQueue',
  standardDlq: 'StandardDlq',
  fifoQueue: 'FifoQueue',
  fifoDlq: 'FifoDlq',
  archiveBucket: ARCHIVE_BUCKET_LOGICAL_ID,
  statusTable: 'StatusTable',
} as const;

function pin(resource: { node: { defaultChild?: unknown } }, id: string): void {
  (resource.node.defaultChild as cdk.CfnResource).overrideLogicalId(id);
}

/** One stage of the pipeline: queues, consumers, archive, sweeper, API and monitoring. */
export class EventPipelineStack extends Stack {
  public readonly standard: QueueWithDlq;
  public readonly fifo: QueueWithDlq;
  public readonly archive: FailureArchive;
  public readonly ingest: IngestApi;
  public readonly status: StatusTable;

  constructor(scope: Construct, id: string, props: EventPipelineStackProps) {
    super(scope, id, props);
    const c = props.config;
    const retention = Duration.days(c.queueRetentionDays);

    this.standard = new QueueWithDlq(this, 'Standard', {
      label: 'standard',
      maxReceiveCount: c.maxReceiveCount,
      retentionPeriod: retention,
      consumerTimeout: Duration.seconds(c.consumer.timeoutSeconds),
      maxBatchingWindow: Duration.seconds(c.consumer.maxBatchingWindowSeconds),
    });
    this.fifo = new QueueWithDlq(this, 'Fifo', {
      label: 'FIFO',
      fifo: true,
      highThroughput: c.fifoHighThroughput,
      maxReceiveCount: c.maxReceiveCount,
      retentionPeriod: retention,
      consumerTimeout: Duration.seconds(c.fifoConsumer.timeoutSeconds),
    });
    this.archive = new FailureArchive(this, 'FailureArchive', {
      retain: c.retainArchive,
      expirationDays: c.archiveExpirationDays,
      noncurrentVersionDays: c.archiveNoncurrentVersionDays,
    });
    pin(this.standard.queue, LOGICAL_IDS.standardQueue);
    pin(this.standard.deadLetterQueue, LOGICAL_IDS.standardDlq);
    pin(this.fifo.queue, LOGICAL_IDS.fifoQueue);
    pin(this.fifo.deadLetterQueue, LOGICAL_IDS.fifoDlq);
    pin(this.archive.bucket, LOGICAL_IDS.archiveBucket);
    this.status = new StatusTable(this, 'Status', {
      pointInTimeRecovery: c.status.pointInTimeRecovery,
      retain: c.status.retain,
    });
    pin(this.status.table, LOGICAL_IDS.statusTable);

    const common = {
      archive: this.archive,
      maxAttempts: c.maxAttempts,
      backoff: c.backoff,
      logRetentionDays: c.logRetentionDays,
      tracing: c.tracing,
      statusTable: this.status,
      status: c.status,
    };
    const consumer = new ConsumerFunction(this, 'Consumer', {
      source: this.standard,
      settings: c.consumer,
      ...common,
    });
    const fifoConsumer = new ConsumerFunction(this, 'FifoConsumer', {
      source: this.fifo,
      settings: c.fifoConsumer,
      ...common,
    });
    const sweeper = new DlqSweeper(this, 'DlqSweeper', {
      queues: [this.standard, this.fifo],
      archive: this.archive,
      every: Duration.minutes(c.sweepEveryMinutes),
      logRetentionDays: c.logRetentionDays,
      tracing: c.tracing,
      statusTable: this.status,
      statusRetentionDays: c.status.retentionDays,
    });

    this.ingest = new IngestApi(this, 'Ingest', {
      stageName: c.stage,
      standardQueue: this.standard.queue,
      fifoQueue: this.fifo.queue,
      maxBodyBytes: c.api.maxBodyBytes,
      allowedProbeModes: c.allowedProbeModes,
      throttle: { rateLimit: c.api.rateLimit, burstLimit: c.api.burstLimit },
      quotaPerDay: c.api.quotaPerDay,
      logRetentionDays: c.logRetentionDays,
      tracing: c.tracing,
      statusTable: this.status,
      statusRetentionDays: c.status.retentionDays,
      idempotencyWindowHours: c.status.idempotencyWindowHours,
    });

    const monitoring = new PipelineMonitoring(this, 'Monitoring', {
      name: this.stackName,
      queues: [this.standard, this.fifo],
      functions: {
        Producer: this.ingest.producer.fn,
        Consumer: consumer.fn,
        FifoConsumer: fifoConsumer.fn,
        DlqSweeper: sweeper.function.fn,
      },
      api: this.ingest.api,
      alarmEmail: c.alarmEmail,
      maxMessageAgeSeconds: c.maxMessageAgeSeconds,
      mappings: {
        Consumer: consumer.eventSource.eventSourceMappingId,
        FifoConsumer: fifoConsumer.eventSource.eventSourceMappingId,
      },
    });

    new CfnOutput(this, 'ApiUrl', { value: this.ingest.api.url, description: 'Base URL of the ingest API' });
    new CfnOutput(this, 'ApiKeyId', {
      value: this.ingest.apiKey.keyId,
      description:
        'Read the key with: aws apigateway get-api-key --include-value --api-key <id> --query value --output text',
    });
    new CfnOutput(this, 'ArchiveBucketName', { value: this.archive.bucket.bucketName });
    // What operators and `npm run ops -- --stage <name>` read (ops/lib/target.ts); no exportNames.
    for (const [prefix, q] of [
      ['Standard', this.standard],
      ['Fifo', this.fifo],
    ] as const) {
      new CfnOutput(this, `${prefix}QueueUrl`, { value: q.queue.queueUrl });
      new CfnOutput(this, `${prefix}QueueArn`, { value: q.queue.queueArn });
      new CfnOutput(this, `${prefix}DlqUrl`, { value: q.deadLetterQueue.queueUrl });
      new CfnOutput(this, `${prefix}DlqArn`, {
        value: q.deadLetterQueue.queueArn,
        description: `aws sqs start-message-move-task --source-arn <this> moves the ${q.label} DLQ back`,
      });
    }
    new CfnOutput(this, 'StatusTableName', { value: this.status.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: monitoring.topic.topicArn });
    new CfnOutput(this, 'AlarmNamePrefix', {
      value: `${this.stackName}-`,
      description:
        'Every alarm of the stage is named <prefix>… (aws cloudwatch describe-alarms --alarm-name-prefix)',
    });
    const dashboard = monitoring.facade.createdDashboard();
    if (dashboard) {
      new CfnOutput(this, 'DashboardName', { value: dashboard.dashboardName });
      new CfnOutput(this, 'DashboardUrl', {
        value: Fn.join('', [
          'https://',
          Aws.REGION,
          '.console.aws.amazon.com/cloudwatch/home?region=',
          Aws.REGION,
          '#dashboards/dashboard/',
          dashboard.dashboardName,
        ]),
      });
    }
  }
}
