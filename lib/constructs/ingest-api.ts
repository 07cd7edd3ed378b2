import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_DEFAULTS } from '../config/defaults';
import { toEnvironment as producerEnvironment } from '../../lambda/producer/config';
import type { ProbeMode } from '../../lambda/shared/jobs/probe';
import { PipelineFunction, retentionDays } from './pipeline-function';
import type { StatusTable } from './status-table';

/** Props of {@link IngestApi}. */
export interface IngestApiProps {
  /** API Gateway stage name (the first path segment of the URL) (required). */
  readonly stageName: string;
  /** Queue of unordered job types (required). */
  readonly standardQueue: sqs.IQueue;
  /** Queue of ordered job types (required). */
  readonly fifoQueue: sqs.IQueue;
  /** The custom lanes' queues by lane name. @default none */
  readonly laneQueues?: Readonly<Record<string, sqs.IQueue>>;
  /** The producer's entry file: the generated entry over the app's job catalog (required). */
  readonly producerEntry: string;
  /** Largest accepted request body, in bytes (required). */
  readonly maxBodyBytes: number;
  /** Probe modes the producer accepts (required). */
  readonly allowedProbeModes: readonly ProbeMode[];
  /** Stage and usage-plan throttle, requests per second (required). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Usage-plan quota per API key and day (required). */
  readonly quotaPerDay: number;
  /** Retention of the producer's and the access logs' log groups, in days (required). */
  readonly logRetentionDays: number;
  /** X-Ray active tracing on the API stage and the producer. @default false */
  readonly tracing?: boolean;
  /** The message status table: `accepted` rows, `Idempotency-Key` records, GET reads (required). */
  readonly statusTable: StatusTable;
  /** Days a status row is kept after its last change (required). */
  readonly statusRetentionDays: number;
  /** Hours an `Idempotency-Key` answers repeats (required). */
  readonly idempotencyWindowHours: number;
}

/** The JSON error body API Gateway itself answers with, in the API's error shape. */
function gatewayError(code: string, message: string): Record<string, string> {
  // `$context.error.messageString` is already a quoted JSON string; literal messages need quotes.
  const quoted = message === '$context.error.messageString' ? message : JSON.stringify(message);
  return {
    'application/json': `{"error":{"code":"${code}","message":${quoted},"details":[],"requestId":"$context.requestId"}}`,
  };
}

/**
 * The REST API in front of the producer: `POST /v1/messages`, `POST /v1/messages/batch` and
 * `GET /v1/messages/{id}` (the status of a message), API
 * key + usage plan (throttle and quota), access and execution logs, and gateway responses that
 * keep the API's JSON error shape.
 */
export class IngestApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly producer: PipelineFunction;
  public readonly apiKey: apigw.IApiKey;
  public readonly usagePlan: apigw.UsagePlan;
  public readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    this.producer = new PipelineFunction(this, 'Producer', {
      handlerDir: props.producerEntry,
      serviceName: 'producer',
      description: 'Validates API requests and enqueues them',
      timeout: Duration.seconds(FUNCTION_DEFAULTS.producerTimeoutSeconds),
      logRetentionDays: props.logRetentionDays,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      environment: producerEnvironment(
        {
          standardQueueUrl: props.standardQueue.queueUrl,
          fifoQueueUrl: props.fifoQueue.queueUrl,
          laneQueueUrls: Object.fromEntries(
            Object.entries(props.laneQueues ?? {}).map(([lane, q]) => [lane, q.queueUrl]),
          ),
          maxBodyBytes: props.maxBodyBytes,
          allowedProbeModes: props.allowedProbeModes,
          statusTable: props.statusTable.table.tableName,
          statusRetentionDays: props.statusRetentionDays,
          idempotencyWindowSeconds: props.idempotencyWindowHours * 3600,
        },
        { json: (value) => Stack.of(this).toJsonString(value) },
      ),
    });
    props.statusTable.grantProducer(this.producer.fn);
    for (const q of Object.values(props.laneQueues ?? {})) q.grant(this.producer.fn, 'sqs:SendMessage');
    // SendMessage only: the producer never reads queue attributes or URLs.
    props.standardQueue.grant(this.producer.fn, 'sqs:SendMessage');
    props.fifoQueue.grant(this.producer.fn, 'sqs:SendMessage');

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: retentionDays(props.logRetentionDays),
    });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Event pipeline ingest API (v1)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // The account-wide CloudWatch role setting lives in its own stack (lib/stacks/api-gateway-account-stack.ts).
      cloudWatchRole: false,
      apiKeySourceType: apigw.ApiKeySourceType.HEADER,
      deployOptions: {
        stageName: props.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: props.tracing ?? false,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
      },
      defaultMethodOptions: { apiKeyRequired: true },
    });

    const validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const integration = new apigw.LambdaIntegration(this.producer.fn, { proxy: true });
    const messages = this.api.root.addResource('v1').addResource('messages');
    const batch = messages.addResource('batch');
    const status = messages.addResource('{id}');
    // ANY (not POST/GET) so other methods reach the producer and get its JSON 405 with an Allow header.
    for (const resource of [messages, batch, status]) {
      const method = resource.addMethod('ANY', integration, {
        apiKeyRequired: true,
        requestValidator: validator,
      });
      for (const id of ['AwsSolutions::AwsSolutions-APIG4', 'AwsSolutions::AwsSolutions-COG4']) {
        Validations.of(method).acknowledge({
          id,
          reason:
            'Callers are services, not end users: every method requires an API key bound to a usage plan (throttle + ' +
            'quota per client); there is no user identity for a Cognito or IAM authorizer to check.',
        });
      }
    }

    const R = apigw.ResponseType;
    const responses: readonly (readonly [apigw.ResponseType, number, string, string])[] = [
      [R.MISSING_AUTHENTICATION_TOKEN, 404, 'NotFound', 'No such route'],
      [R.INVALID_API_KEY, 403, 'Forbidden', 'Missing or invalid API key (header x-api-key)'],
      [R.ACCESS_DENIED, 403, 'Forbidden', 'Access denied'],
      [R.THROTTLED, 429, 'TooManyRequests', 'Rate limit of this API key exceeded; retry later'],
      [R.QUOTA_EXCEEDED, 429, 'QuotaExceeded', 'Daily quota of this API key exceeded'],
      [R.REQUEST_TOO_LARGE, 413, 'PayloadTooLarge', 'Request body too large'],
      [R.UNSUPPORTED_MEDIA_TYPE, 415, 'UnsupportedMediaType', 'content-type must be application/json'],
      [R.DEFAULT_4XX, 400, '$context.error.responseType', '$context.error.messageString'],
      [R.DEFAULT_5XX, 503, 'QueueUnavailable', 'Not accepted; safe to retry with the same Idempotency-Key'],
    ];
    for (const [type, status, code, message] of responses) {
      this.api.addGatewayResponse(`Gw${type.responseType}`, {
        type,
        statusCode: type === R.DEFAULT_4XX ? undefined : String(status),
        templates: gatewayError(code, message),
        responseHeaders: type === R.DEFAULT_5XX ? { 'Retry-After': "'1'" } : undefined,
      });
    }

    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG3',
      reason:
        'Abuse is bounded by API keys, per-key usage-plan throttling and quotas, and stage throttling; attach a WAFv2 ' +
        'web ACL per organisation policy (it is account-specific, not part of this stack).',
    });

    this.apiKey = this.api.addApiKey('ApiKey', { description: 'Default client key (generated value)' });
    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Throttle and daily quota per API key',
      throttle: props.throttle,
      quota: { limit: props.quotaPerDay, period: apigw.Period.DAY },
    });
    this.usagePlan.addApiKey(this.apiKey);
    this.usagePlan.addApiStage({ stage: this.api.deploymentStage });
  }
}
