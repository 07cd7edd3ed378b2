import { Duration, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { toEnvironment as relayEnvironment } from '../../lambda/completion-relay/config';
import { COMPLETION_DETAIL_TYPES, COMPLETION_EVENT_SOURCE } from '../../lambda/shared/events/completion';
import { STATUS_TABLE_KEYS } from '../../lambda/shared/status/keys';
import type { WebhookSettings } from '../config/types';
import { PipelineFunction } from './pipeline-function';
import { heldMessagesAlarm } from './queue-with-dlq';
import type { StatusTable } from './status-table';

/** Props of {@link CompletionEvents}. */
export interface CompletionEventsProps {
  /** The bus's name: one per stage (required). */
  readonly busName: string;
  /** The status table, whose stream is the outbox (it must have one: `StatusTable` `stream`) (required). */
  readonly statusTable: StatusTable;
  /** HTTPS endpoints that receive the events. @default none */
  readonly webhooks?: readonly WebhookSettings[];
  readonly logRetentionDays: number;
  readonly retainLogs?: boolean;
  readonly tracing?: boolean;
}

/** Records per invocation of the relay (Lambda's default for a stream). */
const RELAY_BATCH_SIZE = 100;

/** Iterator age (ms) over which the relay is alarmed: events 5 minutes behind their writes. */
const RELAY_ITERATOR_AGE_ALARM_MS = 300_000;

/** Fourteen days: the longest SQS keeps a message, for the queues that hold what could not be delivered. */
const HELD_FOR = Duration.days(14);

/**
 * How long the relay's mapping retries a record before giving its batch up to the outbox failure
 * queue: an hour short of the stream's 24-hour retention, so a batch the bus keeps refusing is
 * discarded by Lambda (which describes it on the OnFailure destination) before DynamoDB trims its
 * records from the stream (which Lambda documents as the end of retries, with no promise of an
 * on-failure record).
 */
const RELAY_MAX_RECORD_AGE = Duration.hours(23);

/**
 * The OnFailure destination of the relay's stream mapping with the one permission Lambda
 * documents for it ("Retain discarded records for a DynamoDB event source": `sqs:SendMessage`);
 * CDK's `SqsDlq` also grants `sqs:GetQueueAttributes` and `sqs:GetQueueUrl`, which nothing calls.
 */
class SendOnlyDestination implements lambda.IEventSourceDlq {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    this.queue.grant(targetHandler, 'sqs:SendMessage');
    return { destination: this.queue.queueArn };
  }
}

/**
 * Completion events (docs/DESIGN.md §3.6, §3.7): the status table's stream (new and old images)
 * is the outbox; a relay function, fed by a stream mapping filtered to rows whose new status is
 * `succeeded` or `failed`, publishes one event per terminal transition on the stage's own bus.
 * Nothing on the hot path changes: the consumer's terminal status write is the event. The mapping
 * retries a batch for 23 hours (its records stay 24 h in the stream), in order, from the first
 * record the bus refused; a batch that still fails lands its stream position on the outbox failure
 * queue (alarmed). Webhooks are API destinations with a connection holding the auth header's
 * secret, a rate limit, a retry policy and the notifications DLQ (alarmed).
 */
export class CompletionEvents extends Construct {
  public readonly bus: events.EventBus;
  public readonly relay: PipelineFunction;
  /** Stream positions of batches the relay could not publish (Lambda's on-failure destination). */
  public readonly outboxFailures: sqs.Queue;
  /** Webhook notifications EventBridge could not deliver. `undefined` without webhooks. */
  public readonly notificationsDlq: sqs.Queue | undefined;
  /** The construct's alarms (the monitoring wires them to the alarm topic). */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The id of the relay's stream mapping. */
  public readonly eventSourceMappingId: string;

  constructor(scope: Construct, id: string, props: CompletionEventsProps) {
    super(scope, id);
    const table = props.statusTable.table;
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: props.busName });

    this.relay = new PipelineFunction(this, 'Relay', {
      handlerDir: 'completion-relay',
      serviceName: 'completion-relay',
      description: 'Publishes a completion event for each terminal status transition (status table stream)',
      timeout: Duration.seconds(30),
      logRetentionDays: props.logRetentionDays,
      retainLogs: props.retainLogs ?? false,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      environment: relayEnvironment({ eventBusName: this.bus.eventBusName }),
    });
    this.bus.grantPutEventsTo(this.relay.fn);

    this.outboxFailures = this.heldQueue('OutboxFailures');
    const source = new DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: RELAY_BATCH_SIZE,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      // Retried for 23 hours (no attempt limit): a bus outage delays events, it does not drop them;
      // a batch still refused then is described on the outbox failure queue before the stream trims it.
      retryAttempts: -1,
      maxRecordAge: RELAY_MAX_RECORD_AGE,
      onFailure: new SendOnlyDestination(this.outboxFailures),
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: {
            Keys: {
              [STATUS_TABLE_KEYS.partitionKey]: {
                S: lambda.FilterRule.beginsWith(STATUS_TABLE_KEYS.statusPrefix),
              },
            },
            NewImage: { status: { S: lambda.FilterRule.or('succeeded', 'failed') } },
          },
        }),
      ],
    });
    this.relay.fn.addEventSource(source);
    this.eventSourceMappingId = source.eventSourceMappingId;
    Validations.of(this.relay.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'The stream mapping needs dynamodb:ListStreams, which supports no resource type (IAM accepts only "*"; it ' +
        "lists stream ARNs, no data); the stream's records are read (DescribeStream, GetRecords, GetShardIterator) " +
        "on this table's stream only. With tracing, the X-Ray writes (no resource types either) share the statement.",
    });
    this.alarms.push(
      this.depthAlarm(
        'OutboxFailuresAlarm',
        this.outboxFailures,
        'Completion events could not be published for 23 hours (the relay kept failing): the message ids are ' +
          'in the stream positions this queue holds; their status rows are intact. Fix the relay or the bus, then ' +
          'republish from the rows (docs/OPERATIONS.md).',
      ),
    );

    // A bus that refuses events makes the relay report partial batch failures, which are not
    // function errors: the stream's iterator age is what shows events held back.
    this.alarms.push(
      new cloudwatch.Alarm(this, 'RelayIteratorAgeAlarm', {
        alarmName: `${Stack.of(this).stackName}-RelayIteratorAgeAlarm`,
        alarmDescription:
          'Completion events are more than 5 minutes behind the status writes (the relay is failing or the bus ' +
          'refuses events): they are held in the stream, not lost, for up to 23 hours. See the relay log.',
        metric: this.relay.fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: RELAY_ITERATOR_AGE_ALARM_MS,
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    const webhooks = props.webhooks ?? [];
    if (webhooks.length > 0) {
      this.notificationsDlq = this.heldQueue('NotificationsDlq');
      this.alarms.push(
        this.depthAlarm(
          'NotificationsDlqAlarm',
          this.notificationsDlq,
          'A webhook did not take completion events within its retry policy: they are in the notifications DLQ ' +
            '(ops dlq list --lane notifications). Fix the endpoint, then redrive.',
        ),
      );
      for (const hook of webhooks) this.webhook(hook, this.notificationsDlq);
    }
  }

  /** A queue that keeps what could not be delivered for 14 days: encrypted, TLS-only. */
  private heldQueue(id: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: HELD_FOR,
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination (of the relay stream mapping, or of the webhook rules); ' +
        'nothing consumes it automatically, so there is nothing to dead-letter from it. Its depth is alarmed.',
    });
    return queue;
  }

  private depthAlarm(id: string, queue: sqs.Queue, description: string): cloudwatch.Alarm {
    return heldMessagesAlarm(this, id, queue, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: description,
    });
  }

  /** One webhook: connection (auth header from Secrets Manager), API destination, rule with retries and the DLQ. */
  private webhook(hook: WebhookSettings, dlq: sqs.Queue): void {
    const p = hook.name
      .split('-')
      .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
      .join('');
    const secret = SecretValue.secretsManager(hook.auth.secretName, {
      ...(hook.auth.secretField ? { jsonField: hook.auth.secretField } : {}),
    });
    const connection = new events.Connection(this, `Webhook${p}Connection`, {
      description: `webhook ${hook.name}: the ${hook.auth.header} header`,
      authorization: events.Authorization.apiKey(hook.auth.header, secret),
    });
    const destination = new events.ApiDestination(this, `Webhook${p}Destination`, {
      description: `webhook ${hook.name}`,
      connection,
      endpoint: hook.url,
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: hook.ratePerSecond ?? 10,
    });
    const outcomes = hook.outcomes ?? ['succeeded', 'failed'];
    new events.Rule(this, `Webhook${p}Rule`, {
      eventBus: this.bus,
      description: `Completion events to webhook ${hook.name}`,
      eventPattern: {
        source: [COMPLETION_EVENT_SOURCE],
        detailType: outcomes.map((o) => COMPLETION_DETAIL_TYPES[o]),
        ...(hook.tenant !== undefined ? { detail: { tenant: [hook.tenant] } } : {}),
      },
      targets: [
        new targets.ApiDestination(destination, {
          deadLetterQueue: dlq,
          retryAttempts: hook.retryAttempts ?? 24,
          maxEventAge: Duration.seconds(hook.maxEventAgeSeconds ?? 86_400),
        }),
      ],
    });
  }
}
