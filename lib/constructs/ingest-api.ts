import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, FUNCTION_DEFAULTS } from '../config/defaults';
import { ConfigError } from '../config/errors';
import { toEnvironment as producerEnvironment } from '../../lambda/producer/config';
import type { ProbeMode } from '../../lambda/shared/jobs/probe';
import { JwtAuthorizer } from './jwt-authorizer';
import { PipelineFunction, retentionDays } from './pipeline-function';
import type { AuthSettings, ProbeSettings } from '../config/types';
import type { ResultBucket } from './result-bucket';
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
  /**
   * Who may send probes and their limits (`probes` of the settings).
   * @default every probe of the allowed modes, from any caller
   */
  readonly probes?: ProbeSettings;
  /** Stage throttle, requests per second (required). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of the producer's and the access logs' log groups, in days (required). */
  readonly logRetentionDays: number;
  /** Keep the function's log group when the stack is deleted. @default false */
  readonly retainLogs?: boolean;
  /** X-Ray active tracing on the API stage and the producer. @default false */
  readonly tracing?: boolean;
  /** The message status table: `accepted` rows, `Idempotency-Key` records, GET reads (required). */
  readonly statusTable: StatusTable;
  /** Where results too large for a status row are kept (`GET /v1/messages/{id}/result` reads them) (required). */
  readonly results: ResultBucket;
  /** Days a status row is kept after its last change (required). */
  readonly statusRetentionDays: number;
  /** Hours an `Idempotency-Key` answers repeats (required). */
  readonly idempotencyWindowHours: number;
  /** How callers authenticate, the tenants and their limits (required). */
  readonly auth: AuthSettings;
  /** Throttle and daily quota of each tenant's usage plan (`apiKey` mode) (required). */
  readonly tenantLimits: {
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly quotaPerDay: number;
  };
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
  /** `apiKey` mode: each tenant's API key and usage plan, by tenant name (empty in `iam` mode). */
  public readonly tenantKeys: ReadonlyMap<
    string,
    { readonly key: apigw.IApiKey; readonly plan: apigw.UsagePlan }
  >;
  public readonly accessLogs: logs.LogGroup;
  /** `jwt` mode: the Lambda authorizer that checks bearer tokens (`undefined` in other modes). */
  public readonly authorizer?: JwtAuthorizer;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const { auth } = props;
    const iamAuth = auth.mode === 'iam';
    const keyAuth = auth.mode === 'apiKey';
    // apiKey mode: one key per tenant (made before the producer, whose environment maps key ids to tenants).
    const tenantKeys = new Map(
      (keyAuth ? auth.tenants : []).map((tenant) => [
        tenant,
        new apigw.ApiKey(this, `Tenant${pascal(tenant)}Key`, {
          apiKeyName: `${Stack.of(this).stackName}-${tenant}`,
          description: `tenant ${tenant}`,
        }),
      ]),
    );
    this.producer = new PipelineFunction(this, 'Producer', {
      handlerDir: props.producerEntry,
      serviceName: 'producer',
      description: 'Validates API requests and enqueues them',
      timeout: Duration.seconds(FUNCTION_DEFAULTS.producerTimeoutSeconds),
      logRetentionDays: props.logRetentionDays,
      retainLogs: props.retainLogs ?? false,
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
          probePolicy: props.probes ?? DEFAULTS.probes,
          resultBucket: props.results.bucket.bucketName,
          statusTable: props.statusTable.table.tableName,
          statusRetentionDays: props.statusRetentionDays,
          idempotencyWindowSeconds: props.idempotencyWindowHours * 3600,
          authMode: auth.mode,
          apiKeyTenants: Object.fromEntries([...tenantKeys].map(([tenant, key]) => [key.keyId, tenant])),
        },
        { json: (value) => Stack.of(this).toJsonString(value) },
      ),
    });
    props.statusTable.grantProducer(this.producer.fn);
    props.results.grantRead(this.producer.fn);
    for (const q of Object.values(props.laneQueues ?? {})) q.grant(this.producer.fn, 'sqs:SendMessage');
    // SendMessage only: the producer never reads queue attributes or URLs.
    props.standardQueue.grant(this.producer.fn, 'sqs:SendMessage');
    props.fifoQueue.grant(this.producer.fn, 'sqs:SendMessage');

    if (auth.mode === 'jwt') {
      if (!auth.jwt) throw new ConfigError('auth.mode jwt needs auth.jwt: { issuer, audience }');
      this.authorizer = new JwtAuthorizer(this, 'Authorizer', {
        jwt: auth.jwt,
        logRetentionDays: props.logRetentionDays,
        retainLogs: props.retainLogs ?? false,
        ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      });
    }
    const methodOptions = methodAuth(auth.mode, this.authorizer?.authorizer);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: retentionDays(props.logRetentionDays),
    });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Event pipeline ingest API (v1)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // The account-wide CloudWatch role setting lives in its own stack (lib/stacks/api-gateway-account-stack.ts).
      cloudWatchRole: false,
      ...(keyAuth ? { apiKeySourceType: apigw.ApiKeySourceType.HEADER } : {}),
      // Callers of other accounts (iam): allowed by name; this account's principals by their own policies.
      ...(iamAuth && auth.allowedPrincipals.length > 0
        ? { policy: allowCallers(auth.allowedPrincipals) }
        : {}),
      deployOptions: {
        stageName: props.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        // The audit trail per caller: who (principal, account, API key) did what, with the request id.
        accessLogFormat: ACCESS_LOG_FORMAT,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: props.tracing ?? false,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
      },
      defaultMethodOptions: methodOptions,
    });

    // No API Gateway request validator: the producer is the only integration and validates every
    // request in full (docs/DESIGN.md §3). A validator without models checks nothing; with models
    // it could restate only the envelope (not each type's payload), would answer in another error
    // shape than the producer's field-named 400s, and local mode could not reproduce it.
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG2',
      reason:
        'The only integration is the producer Lambda, which validates each request body in full (envelope fields, ' +
        'the type, and its payload against the JSON Schema compiled at synth) and answers 400 naming the field; a ' +
        'gateway model could check only the envelope, in a different error shape.',
    });
    const integration = new apigw.LambdaIntegration(this.producer.fn, { proxy: true });
    const messages = this.api.root.addResource('v1').addResource('messages');
    const batch = messages.addResource('batch');
    const status = messages.addResource('{id}');
    const result = status.addResource('result');
    // ANY (not POST/GET) so other methods reach the producer and get its JSON 405 with an Allow header.
    for (const resource of [messages, batch, status, result]) {
      const method = resource.addMethod('ANY', integration, methodOptions);
      if (auth.mode === 'jwt') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions::AwsSolutions-COG4',
          reason:
            'This stage chose auth.mode jwt: every method is CUSTOM with a Lambda authorizer that checks the bearer ' +
            "token's signature against the issuer's JWKS, its algorithm, iss, aud, exp and nbf; the issuer is any " +
            'OpenID Connect / OAuth 2.0 provider (a Cognito user pool among them), not only Cognito.',
        });
      } else if (iamAuth) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions::AwsSolutions-COG4',
          reason:
            'Every method is AWS_IAM: callers are services that sign each request with their IAM identity (SigV4); ' +
            'there are no end users for a Cognito user pool to sign in.',
        });
      } else {
        for (const ackId of ['AwsSolutions::AwsSolutions-APIG4', 'AwsSolutions::AwsSolutions-COG4']) {
          Validations.of(method).acknowledge({
            id: ackId,
            reason:
              'This stage chose auth.mode apiKey: every method requires the API key of a named tenant, each key bound ' +
              'to its own usage plan (throttle and quota per tenant); stages whose callers can sign use auth.mode iam.',
          });
        }
      }
    }

    const R = apigw.ResponseType;
    const responses: readonly (readonly [apigw.ResponseType, number, string, string])[] = [
      // API Gateway answers an unknown route and (AWS_IAM) an unsigned request with this one type.
      iamAuth
        ? [
            R.MISSING_AUTHENTICATION_TOKEN,
            403,
            'MissingAuthenticationToken',
            'Missing SigV4 authentication, or no such route',
          ]
        : [R.MISSING_AUTHENTICATION_TOKEN, 404, 'NotFound', 'No such route'],
      ...(auth.mode === 'jwt'
        ? ([
            [
              R.UNAUTHORIZED,
              401,
              'Unauthorized',
              'Missing, invalid or expired bearer token (header Authorization)',
            ],
            [
              R.AUTHORIZER_FAILURE,
              503,
              'AuthorizerUnavailable',
              'The bearer token could not be checked; retry later',
            ],
          ] as const)
        : []),
      [R.INVALID_SIGNATURE, 403, 'InvalidSignature', 'The request signature does not match (SigV4)'],
      [R.EXPIRED_TOKEN, 403, 'ExpiredToken', 'The security token of the request has expired'],
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
        responseHeaders: RESPONSE_HEADERS.get(type.responseType),
      });
    }

    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG3',
      reason:
        'Abuse is bounded by API keys, per-key usage-plan throttling and quotas, and stage throttling; attach a WAFv2 ' +
        'web ACL per organisation policy (it is account-specific, not part of this stack).',
    });

    const keys = new Map<string, { key: apigw.IApiKey; plan: apigw.UsagePlan }>();
    for (const [tenant, key] of tenantKeys) {
      const limits = props.tenantLimits;
      {
        const plan = this.api.addUsagePlan(`Tenant${pascal(tenant)}Plan`, {
          description: `Throttle and daily quota of tenant ${tenant}`,
          throttle: { rateLimit: limits.rateLimit, burstLimit: limits.burstLimit },
          quota: { limit: limits.quotaPerDay, period: apigw.Period.DAY },
        });
        plan.addApiKey(key);
        plan.addApiStage({ stage: this.api.deploymentStage });
        keys.set(tenant, { key, plan });
      }
    }
    this.tenantKeys = keys;
  }
}

/** Static headers of gateway responses: where to retry, how to authenticate (RFC 6750 §3). */
const RESPONSE_HEADERS: ReadonlyMap<string, Record<string, string>> = new Map<string, Record<string, string>>(
  [
    [apigw.ResponseType.DEFAULT_5XX.responseType, { 'Retry-After': "'1'" }],
    [apigw.ResponseType.AUTHORIZER_FAILURE.responseType, { 'Retry-After': "'1'" }],
    [apigw.ResponseType.UNAUTHORIZED.responseType, { 'WWW-Authenticate': "'Bearer'" }],
  ],
);

/** `thumb-nails` → `ThumbNails`. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** The method options of an auth mode (`jwt`: its Lambda authorizer). */
function methodAuth(mode: AuthSettings['mode'], authorizer?: apigw.IAuthorizer): apigw.MethodOptions {
  if (mode === 'iam') return { authorizationType: apigw.AuthorizationType.IAM };
  if (mode === 'jwt') return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: authorizer! };
  return { apiKeyRequired: true };
}

/** A resource policy that lets the given accounts or principals invoke the API. */
function allowCallers(principals: readonly string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        actions: ['execute-api:Invoke'],
        principals: principals.map((p) =>
          /^\d{12}$/.test(p) ? new iam.AccountPrincipal(p) : new iam.ArnPrincipal(p),
        ),
        resources: ['execute-api:/*'],
      }),
    ],
  });
}

/** Access log lines: the standard fields plus who called (principal, account, API key id, authorizer's tenant). */
const F = apigw.AccessLogField;
const ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
  JSON.stringify({
    requestId: F.contextRequestId(),
    ip: F.contextIdentitySourceIp(),
    caller: F.contextIdentityCaller(),
    user: F.contextIdentityUser(),
    userArn: F.contextIdentityUserArn(),
    accountId: F.contextIdentityAccountId(),
    apiKeyId: F.contextIdentityApiKeyId(),
    principalId: F.contextAuthorizerPrincipalId(),
    tenant: F.contextAuthorizer('tenant'),
    requestTime: F.contextRequestTime(),
    httpMethod: F.contextHttpMethod(),
    resourcePath: F.contextResourcePath(),
    status: F.contextStatus(),
    protocol: F.contextProtocol(),
    responseLength: F.contextResponseLength(),
    errorMessage: F.contextErrorMessage(),
  }),
);
