import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { DefaultDashboardFactory, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambda/shared/constants';
import type { QueueWithDlq } from './queue-with-dlq';

/** Props of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps {
  /** Prefix of alarm and dashboard names, e.g. `EventPipeline-dev` (required). */
  readonly name: string;
  /** Queues whose DLQ depth alarm is wired to the topic and which get age alarms (required). */
  readonly queues: readonly QueueWithDlq[];
  /** Functions to watch, by a readable name (required). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The ingest API (its deployment stage is watched for 5xx) (required). */
  readonly api: apigw.IRestApi;
  /** Email subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Age of a source queue's oldest message that raises an alarm (required). */
  readonly maxMessageAgeSeconds: number;
  /**
   * Event source mappings whose own metrics (`EventCount`, enabled on the mapping) are graphed next
   * to the function widgets, by a readable name → the mapping's UUID.
   * @default none
   */
  readonly mappings?: Readonly<Record<string, string>>;
  /** Alarms made elsewhere (completion events' queues) to wire to the topic. @default none */
  readonly extraAlarms?: readonly cloudwatch.Alarm[];
  /**
   * Create the CloudWatch dashboard ($3 a month each). The alarms do not depend on it: without it
   * the stage pages the same way, and `ops status` shows queue depths and alarm states.
   * @default true
   */
  readonly dashboard?: boolean;
}

/** The `EventCount` metrics of an event source mapping (namespace AWS/Lambda, by mapping UUID). */
export const MAPPING_EVENT_METRICS = [
  'PolledEventCount',
  'FilteredOutEventCount',
  'InvokedEventCount',
  'FailedInvokeEventCount',
  'DeletedEventCount',
  'DroppedEventCount',
] as const;

/**
 * The condition that limits a grant to CloudWatch alarms of this stack's account and region
 * (`aws:SourceAccount`, `aws:SourceArn`): the topic policy and the topic key's policy both use it.
 */
function alarmSource(stack: Stack): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    },
  };
}

/**
 * The alarm topic and all alarms and the dashboard: DLQ depth (owned by each queue, wired to
 * the topic here), oldest-message age, consumer errors and throttles, API 5xx, archive write
 * failures; one dashboard with queues, functions, API and archive figures (unless `dashboard` is
 * false).
 */
export class PipelineMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly facade: MonitoringFacade;
  public readonly archiveFailureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    // CloudWatch can publish to an encrypted topic only with a customer-managed key it may use.
    const key = new kms.Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: `${props.name} alarm topic key`,
    });
    // Only for this account's alarms (no confused deputy: another account's alarm cannot use it).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmSource(Stack.of(this)),
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${props.name} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL gives the topic its own policy, which replaces SNS's default one (the default let the
    // account's services publish). Without this statement CloudWatch is refused and no alarm is delivered.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmSource(Stack.of(this)),
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const action = new actions.SnsAction(this.topic);

    for (const q of props.queues) {
      q.dlqDepthAlarm.addAlarmAction(action);
      q.dlqDepthAlarm.addOkAction(action);
    }
    for (const alarm of props.extraAlarms ?? []) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }

    this.facade = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: {
        alarmNamePrefix: props.name,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.topic }),
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
      },
      metricFactoryDefaults: {},
      // The facade's default dashboard name is its construct id ("Monitoring"): one physical name shared by
      // every stage, so a second stage in the same account/region would collide with the first.
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: props.name,
        createDashboard: props.dashboard ?? true,
      }),
    });

    for (const q of props.queues) {
      this.facade.monitorSqsQueueWithDlq({
        queue: q.queue,
        deadLetterQueue: q.deadLetterQueue,
        humanReadableName: `${q.label} queue`,
        alarmFriendlyName: `${q.label.charAt(0).toUpperCase()}${q.label.slice(1)}Queue`,
        addQueueMaxMessageAgeAlarm: { Warning: { maxAgeInSeconds: props.maxMessageAgeSeconds } },
      });
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        humanReadableName: name,
        alarmFriendlyName: name,
        addFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 0 } },
      });
    }
    for (const [name, uuid] of Object.entries(props.mappings ?? {})) {
      this.facade.monitorCustom({
        humanReadableName: `${name} event source mapping`,
        alarmFriendlyName: `${name}Mapping`,
        metricGroups: [
          {
            title: 'Events polled / invoked / deleted / failed (per 5 min)',
            metrics: MAPPING_EVENT_METRICS.map(
              (metricName) =>
                new cloudwatch.Metric({
                  namespace: 'AWS/Lambda',
                  metricName,
                  dimensionsMap: { EventSourceMappingUUID: uuid },
                  statistic: 'Sum',
                  period: Duration.minutes(5),
                  label: metricName.replace(/EventCount$/, ''),
                }),
            ),
          },
        ],
      });
    }
    this.facade.monitorApiGateway({
      api: props.api,
      apiStage: props.api.deploymentStage.stageName,
      humanReadableName: 'Ingest API',
      alarmFriendlyName: 'IngestApi',
      add5XXFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
    });

    const archiveFailed = new cloudwatch.MathExpression({
      label: 'archive write failures',
      expression: 'FILL(a, 0) + FILL(b, 0) + FILL(c, 0)',
      usingMetrics: {
        a: this.emf('archiveFailed', 'consumer'),
        b: this.emf('archiveFailed', 'fifo-consumer'),
        c: this.emf('archiveFailed', 'dlq-sweeper'),
      },
      period: Duration.minutes(5),
    });
    this.archiveFailureAlarm = new cloudwatch.Alarm(this, 'ArchiveFailureAlarm', {
      alarmDescription:
        'Writing to the failure archive failed. Affected messages are not deleted; they retry or stay in their DLQ until ' +
        "an archive write succeeds. Check the bucket policy, S3 health and the consumers' logs.",
      metric: archiveFailed,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.archiveFailureAlarm.addAlarmAction(action);

    this.facade.monitorCustom({
      humanReadableName: 'Failure archive',
      alarmFriendlyName: 'FailureArchive',
      metricGroups: [
        {
          title: 'Messages archived / archive write failures',
          metrics: [
            new cloudwatch.MathExpression({
              label: 'archived',
              expression: `SUM(SEARCH('{${METRICS_NAMESPACE},service,type} MetricName="archived"', 'Sum', 300))`,
              period: Duration.minutes(5),
            }),
            archiveFailed,
          ],
        },
      ],
    });
  }

  private emf(metricName: string, service: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
  }
}
