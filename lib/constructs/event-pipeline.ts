import { Aws, CfnOutput, Duration, Fn, Stack, Tags } from 'aws-cdk-lib';
import type * as cdk from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildCatalog, typesOfLane, type CatalogEntry } from '../bundling/job-catalog';
import { writeLaneEntry, writeProducerEntry } from '../bundling/entries';
import { attachJobTypesFile, jobTypesOf } from '../bundling/job-types-file';
import { variables as consumerVariables } from '../../lambda/consumer/config';
import { ConfigError } from '../config/errors';
import {
  DEFAULT_FIFO_LANE,
  DEFAULT_STANDARD_LANE,
  resolveLanes,
  type LaneProps,
  type ResolvedLane,
} from '../config/lanes';
import { resolveSettings, tenantLimitsOf } from '../config/settings';
import type { PipelineSettings, PipelineSettingsInput } from '../config/types';
import { ConsumerFunction } from './consumer-function';
import { CompletionEvents } from './completion-events';
import { DlqSweeper } from './dlq-sweeper';
import { ARCHIVE_BUCKET_LOGICAL_ID, FailureArchive } from './failure-archive';
import { IngestApi } from './ingest-api';
import { PipelineMonitoring } from './pipeline-monitoring';
import { QueueWithDlq } from './queue-with-dlq';
import { ResultBucket } from './result-bucket';
import { StatusTable } from './status-table';

/** Props of {@link EventPipeline}. */
export interface EventPipelineProps {
  /**
   * The stage's name (`[a-z][a-z0-9-]*`): the API Gateway stage (the URL's first path segment)
   * and the label of alarms and outputs (required).
   */
  readonly stage: string;
  /**
   * The app's job modules, as absolute paths (`path.join(__dirname, '../jobs/thumbnail.ts')`).
   * Each exports one or more job types made with `defineJob` from `event-pipeline/jobs`. The
   * modules are loaded at synth (TypeScript through tsx) to read their types, lanes and schemas;
   * each lane's consumer bundles only the modules of its own types. @default none (only `probe`)
   */
  readonly jobs?: readonly string[];
  /**
   * Custom lanes by name: each gets its own queue, DLQ, consumer function, event source mapping,
   * alarms and dashboard widgets. A job type runs in the lane it names (`lane` in `defineJob`);
   * types that name none run in the default lanes `standard` and `fifo`. @default none
   */
  readonly lanes?: Readonly<Record<string, LaneProps>>;
  /**
   * The pipeline's settings; each one given replaces the default (`DEFAULTS`) as a whole.
   * Invalid combinations throw `ConfigError` at synth with one line naming the setting.
   * @default DEFAULTS
   */
  readonly settings?: PipelineSettingsInput;
  /**
   * The built-in `probe` job type (the canary `ops smoke` and operators send; docs/DESIGN.md §4),
   * in the default lanes; `settings.allowedProbeModes` decides which of its modes the API takes.
   * @default true
   */
  readonly probe?: boolean;
}

/** One lane of the pipeline: its queue and DLQ, and the consumer function that runs its job types. */
export interface Lane {
  readonly name: string;
  readonly fifo: boolean;
  /** The queue, its DLQ and the DLQ depth alarm. */
  readonly queue: QueueWithDlq;
  /** The lane's consumer: grant it what its jobs need (`bucket.grantRead(lane.consumer)`). */
  readonly consumer: lambda.Function;
  /** The job types it runs. */
  readonly types: readonly string[];
  /** The resolved settings of the lane. */
  readonly settings: ResolvedLane;
  /** The id of the consumer's event source mapping (dashboard metrics). */
  readonly eventSourceMappingId: string;
}

/**
 * Pinned logical ids of the default lanes' and shared stateful resources, so an existing
 * deployment updates in place. They hold when the construct's id is `Default` (then every other
 * logical id is also what it was when the stack held these resources itself); an app may pick any
 * other id for a new deployment.
 */
export const LOGICAL_IDS = {
  standardQueue: 'StandardQueue',
  standardDlq: 'StandardDlq',
  fifoQueue: 'FifoQueue',
  fifoDlq: 'FifoDlq',
  archiveBucket: ARCHIVE_BUCKET_LOGICAL_ID,
  statusTable: 'StatusTable',
} as const;

/** The tag that names a queue's lane (local mode and `ops` read it). */
export const LANE_TAG = 'event-pipeline:lane';

function pin(resource: { node: { defaultChild?: unknown } }, id: string): void {
  (resource.node.defaultChild as cdk.CfnResource).overrideLogicalId(id);
}

/** `thumbnails` → `Thumbnails`, `pdf-render` → `PdfRender`: the part of construct ids and output keys. */
export function pascalOf(lane: string): string {
  return lane
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** Construct ids of a lane's queue and consumer (the default lanes keep their original ids). */
function idsOf(lane: ResolvedLane): { queue: string; consumer: string; output: string } {
  if (lane.name === DEFAULT_STANDARD_LANE)
    return { queue: 'Standard', consumer: 'Consumer', output: 'Standard' };
  if (lane.name === DEFAULT_FIFO_LANE) return { queue: 'Fifo', consumer: 'FifoConsumer', output: 'Fifo' };
  const p = pascalOf(lane.name);
  return { queue: `Lane${p}`, consumer: `Lane${p}Consumer`, output: `Lane${p}` };
}

/**
 * The whole event pipeline of one stage: the ingest API, its lanes (queue + DLQ + consumer
 * each), the failure archive, the status table, the DLQ sweeper, the dashboard and alarms, and
 * the stack outputs `ops` reads.
 *
 * @example
 * const pipeline = new EventPipeline(this, 'Default', {
 *   stage: 'dev',
 *   jobs: [path.join(__dirname, '../jobs/thumbnail.ts')],
 *   lanes: { thumbnails: { timeoutSeconds: 120, memoryMb: 2048 } },
 *   settings: { alarmEmail: 'oncall@example.com' },
 * });
 * uploads.grantRead(pipeline.lane('thumbnails').consumer);
 */
export class EventPipeline extends Construct {
  /** The resolved settings. */
  public readonly settings: PipelineSettings;
  /** Every lane, the two default ones first. */
  public readonly lanes: readonly Lane[];
  /** The job types, as the synth read them from the job modules. */
  public readonly catalog: readonly CatalogEntry[];
  public readonly archive: FailureArchive;
  public readonly ingest: IngestApi;
  public readonly status: StatusTable;
  public readonly sweeper: DlqSweeper;
  public readonly monitoring: PipelineMonitoring;
  /** Results too large for a status row. */
  public readonly results: ResultBucket;
  /** The bus, relay and webhooks of completion events; `undefined` when the stage disables them. */
  public readonly completion: CompletionEvents | undefined;

  constructor(scope: Construct, id: string, props: EventPipelineProps) {
    super(scope, id);
    const c = resolveSettings(props.stage, props.settings);
    this.settings = c;
    const resolved = resolveLanes(c, props.lanes, consumerVariables);
    this.catalog = buildCatalog(this, props.jobs ?? [], resolved, props.probe ?? true);
    // The job types and their schemas beside the template, for local mode's console (send form).
    attachJobTypesFile(this, jobTypesOf(this.catalog, c.allowedProbeModes));
    const retention = Duration.days(c.queueRetentionDays);

    this.archive = new FailureArchive(this, 'FailureArchive', {
      retain: c.retainArchive,
      expirationDays: c.archiveExpirationDays,
      noncurrentVersionDays: c.archiveNoncurrentVersionDays,
      readers: c.archiveReaders,
    });
    pin(this.archive.bucket, LOGICAL_IDS.archiveBucket);
    this.status = new StatusTable(this, 'Status', {
      pointInTimeRecovery: c.status.pointInTimeRecovery,
      retain: c.status.retain,
      stream: c.completionEvents.enabled,
    });
    pin(this.status.table, LOGICAL_IDS.statusTable);

    this.results = new ResultBucket(this, 'Results', {
      retentionDays: c.status.retentionDays,
      retain: c.status.retain,
    });

    // Every lane's queue first: each consumer may send follow-up jobs to any lane.
    const queues = new Map<string, QueueWithDlq>();
    for (const lane of resolved) {
      const ids = idsOf(lane);
      const types = typesOfLane(this.catalog, lane);
      if (types.length === 0 && !lane.isDefault)
        throw new ConfigError(`Lane "${lane.name}" runs no job type: name it in a job's defineJob({ lane })`);
      const queue = new QueueWithDlq(this, ids.queue, {
        label: lane.isDefault ? (lane.fifo ? 'FIFO' : 'standard') : lane.name,
        fifo: lane.fifo,
        ...(lane.fifo ? { highThroughput: c.fifoHighThroughput } : {}),
        maxReceiveCount: lane.maxReceiveCount,
        retentionPeriod: retention,
        consumerTimeout: Duration.seconds(lane.consumer.timeoutSeconds),
        ...(lane.fifo ? {} : { maxBatchingWindow: Duration.seconds(lane.consumer.maxBatchingWindowSeconds) }),
      });
      Tags.of(queue).add(LANE_TAG, lane.name);
      if (lane.name === DEFAULT_STANDARD_LANE) {
        pin(queue.queue, LOGICAL_IDS.standardQueue);
        pin(queue.deadLetterQueue, LOGICAL_IDS.standardDlq);
      } else if (lane.name === DEFAULT_FIFO_LANE) {
        pin(queue.queue, LOGICAL_IDS.fifoQueue);
        pin(queue.deadLetterQueue, LOGICAL_IDS.fifoDlq);
      }
      queues.set(lane.name, queue);
    }
    const followUps = {
      standardQueue: queues.get(DEFAULT_STANDARD_LANE)!.queue,
      fifoQueue: queues.get(DEFAULT_FIFO_LANE)!.queue,
      laneQueues: Object.fromEntries(
        resolved.filter((l) => !l.isDefault).map((l) => [l.name, queues.get(l.name)!.queue]),
      ),
      allowedProbeModes: c.allowedProbeModes,
      probes: c.probes,
    };

    const lanes: Lane[] = [];
    for (const lane of resolved) {
      const ids = idsOf(lane);
      const types = typesOfLane(this.catalog, lane);
      const queue = queues.get(lane.name)!;
      const serviceName = lane.isDefault
        ? lane.fifo
          ? 'fifo-consumer'
          : 'consumer'
        : `consumer-${lane.name}`;
      const consumer = new ConsumerFunction(this, ids.consumer, {
        lane: lane.name,
        entry: writeLaneEntry(lane, types, serviceName, this.catalog, resolved),
        serviceName,
        environment: lane.environment,
        source: queue,
        settings: lane.consumer,
        archive: this.archive,
        maxAttempts: lane.maxAttempts,
        maxDeferralSeconds: lane.maxDeferralSeconds,
        rateLimit: lane.rateLimit,
        backoff: lane.backoff,
        logRetentionDays: c.logRetentionDays,
        retainLogs: c.retainLogs,
        tracing: c.tracing,
        statusTable: this.status,
        status: c.status,
        results: this.results,
        followUps,
      });
      lanes.push({
        name: lane.name,
        fifo: lane.fifo,
        queue,
        consumer: consumer.fn,
        types: types.map((t) => t.type),
        settings: lane,
        eventSourceMappingId: consumer.eventSource.eventSourceMappingId,
      });
    }
    this.lanes = lanes;
    const standard = this.lane(DEFAULT_STANDARD_LANE);
    const fifo = this.lane(DEFAULT_FIFO_LANE);
    const custom = lanes.filter((l) => !l.settings.isDefault);

    this.sweeper = new DlqSweeper(this, 'DlqSweeper', {
      queues: lanes.map((l) => l.queue),
      archive: this.archive,
      every: Duration.minutes(c.sweepEveryMinutes),
      logRetentionDays: c.logRetentionDays,
      retainLogs: c.retainLogs,
      tracing: c.tracing,
      statusTable: this.status,
      statusRetentionDays: c.status.retentionDays,
    });

    this.ingest = new IngestApi(this, 'Ingest', {
      stageName: c.stage,
      standardQueue: standard.queue.queue,
      fifoQueue: fifo.queue.queue,
      laneQueues: Object.fromEntries(custom.map((l) => [l.name, l.queue.queue])),
      producerEntry: writeProducerEntry(this.catalog, resolved),
      maxBodyBytes: c.api.maxBodyBytes,
      allowedProbeModes: c.allowedProbeModes,
      probes: c.probes,
      throttle: { rateLimit: c.api.rateLimit, burstLimit: c.api.burstLimit },
      logRetentionDays: c.logRetentionDays,
      retainLogs: c.retainLogs,
      tracing: c.tracing,
      statusTable: this.status,
      results: this.results,
      statusRetentionDays: c.status.retentionDays,
      idempotencyWindowHours: c.status.idempotencyWindowHours,
      auth: c.auth,
      tenantLimits: tenantLimitsOf(c),
    });

    const stack = Stack.of(this);
    this.completion = c.completionEvents.enabled
      ? new CompletionEvents(this, 'CompletionEvents', {
          busName: `${stack.stackName}-events`,
          statusTable: this.status,
          webhooks: c.completionEvents.webhooks,
          logRetentionDays: c.logRetentionDays,
          retainLogs: c.retainLogs,
          tracing: c.tracing,
        })
      : undefined;
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      name: stack.stackName,
      queues: lanes.map((l) => l.queue),
      functions: {
        Producer: this.ingest.producer.fn,
        ...Object.fromEntries(lanes.map((l) => [idsOf(l.settings).consumer, l.consumer])),
        DlqSweeper: this.sweeper.function.fn,
        ...(this.ingest.authorizer ? { Authorizer: this.ingest.authorizer.function.fn } : {}),
        ...(this.completion ? { CompletionRelay: this.completion.relay.fn } : {}),
      },
      extraAlarms: this.completion?.alarms ?? [],
      api: this.ingest.api,
      alarmEmail: c.alarmEmail,
      maxMessageAgeSeconds: c.maxMessageAgeSeconds,
      dashboard: c.dashboard,
      mappings: Object.fromEntries(lanes.map((l) => [idsOf(l.settings).consumer, l.eventSourceMappingId])),
    });

    this.outputs(lanes);
  }

  /** The lane called `name`; throws `ConfigError` listing the lanes when there is none. */
  lane(name: string): Lane {
    const lane = this.lanes.find((l) => l.name === name);
    if (!lane)
      throw new ConfigError(`No lane "${name}" (lanes: ${this.lanes.map((l) => l.name).join(', ')})`);
    return lane;
  }

  /** What operators and `event-pipeline ops --stage <name>` read (ops/lib/target.ts); no exportNames. */
  private outputs(lanes: readonly Lane[]): void {
    // Each output's logical id is its key, whatever this construct's id: `ops --stage` reads them by key.
    const out = (id: string, value: string, description?: string) =>
      new CfnOutput(this, id, { value, ...(description ? { description } : {}) }).overrideLogicalId(id);
    out('ApiUrl', this.ingest.api.url, 'Base URL of the ingest API');
    out(
      'AuthMode',
      this.settings.auth.mode,
      'How callers authenticate: iam (SigV4), apiKey (one key per tenant) or jwt (bearer token of the issuer)',
    );
    this.ingest.tenantKeys.forEach(({ key }, tenant) => {
      out(
        `Tenant${pascalOf(tenant)}ApiKeyId`,
        key.keyId,
        `tenant ${tenant}: aws apigateway get-api-key --include-value --api-key <id> --query value --output text`,
      );
    });
    out('ArchiveBucketName', this.archive.bucket.bucketName);
    for (const l of lanes) {
      const prefix = idsOf(l.settings).output;
      // The description starts with the lane's name: `ops` reads the custom lanes from it.
      const what = `lane ${l.name}`;
      out(`${prefix}QueueUrl`, l.queue.queue.queueUrl, what);
      out(`${prefix}QueueArn`, l.queue.queue.queueArn, what);
      out(`${prefix}DlqUrl`, l.queue.deadLetterQueue.queueUrl, what);
      out(
        `${prefix}DlqArn`,
        l.queue.deadLetterQueue.queueArn,
        `${what}: aws sqs start-message-move-task --source-arn <this> moves the ${l.queue.label} DLQ back`,
      );
    }
    out('StatusTableName', this.status.table.tableName);
    out('ResultBucketName', this.results.bucket.bucketName);
    if (this.completion) {
      out('EventBusName', this.completion.bus.eventBusName, 'Completion events (docs/DESIGN.md §3.6)');
      out(
        'CompletionRelayLogGroup',
        this.completion.relay.fn.logGroup.logGroupName,
        'ops events reads the published events here',
      );
      out('OutboxFailuresUrl', this.completion.outboxFailures.queueUrl);
      if (this.completion.notificationsDlq) {
        out(
          'NotificationsDlqUrl',
          this.completion.notificationsDlq.queueUrl,
          'webhook notifications not delivered',
        );
        out(
          'NotificationsDlqArn',
          this.completion.notificationsDlq.queueArn,
          'webhook notifications not delivered',
        );
      }
    }
    out('AlarmTopicArn', this.monitoring.topic.topicArn);
    out(
      'AlarmNamePrefix',
      `${Stack.of(this).stackName}-`,
      'Every alarm of the stage is named <prefix>… (aws cloudwatch describe-alarms --alarm-name-prefix)',
    );
    const dashboard = this.monitoring.facade.createdDashboard();
    if (dashboard) {
      out('DashboardName', dashboard.dashboardName);
      out(
        'DashboardUrl',
        Fn.join('', [
          'https://',
          Aws.REGION,
          '.console.aws.amazon.com/cloudwatch/home?region=',
          Aws.REGION,
          '#dashboards/dashboard/',
          dashboard.dashboardName,
        ]),
      );
    }
  }
}
