import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { LocalModeError } from '../errors';
import { analyzeApiKeys, type ApiKeySpec } from './api-keys';
import type { DynamoDBRecord } from 'aws-lambda';
import { compileFilterCriteria, FilterCriteriaError, type RecordFilter } from '../triggers/filter-criteria';
import { analyzeEvents, analyzeStreamMapping } from './event-topology';
import { refuseMappings } from './mapping-refusals';
import type { Resolver } from './resolver';
import type { StageTemplate, TemplateResource } from './reader';

/**
 * Resource types that have no local meaning, with the reason. Local mode skips them; any other
 * type it does not run is a startup error naming the resource (invariant 8: the template is the
 * only description of the topology, so nothing that matters may be silently dropped).
 */
export const SKIPPED_TYPES: Readonly<Record<string, string>> = {
  'AWS::CDK::Metadata': 'CDK bookkeeping',
  'AWS::IAM::Role': 'no IAM locally: every function may call everything',
  'AWS::IAM::Policy': 'no IAM locally',
  'AWS::IAM::ManagedPolicy': 'no IAM locally',
  'AWS::Logs::LogGroup': 'function logs go to the terminal',
  'AWS::KMS::Key': 'no encryption at rest locally',
  'AWS::KMS::Alias': 'no encryption at rest locally',
  'AWS::SNS::Topic': 'alarm notifications are printed instead',
  'AWS::SNS::Subscription': 'alarm notifications are printed instead (no email is sent)',
  'AWS::SNS::TopicPolicy': 'no resource policies locally',
  'AWS::SQS::QueuePolicy': 'no resource policies locally (TLS-only and account rules are not enforced)',
  'AWS::S3::BucketPolicy': 'no resource policies locally',
  'AWS::CloudWatch::Dashboard': 'no dashboards locally',
  'AWS::Lambda::Permission': 'no resource policies locally',
  'AWS::ApiGateway::Account': 'account-level logging role',
  'AWS::ApiGateway::Deployment': 'routes are served straight from the Resource/Method definitions',
  'AWS::ApiGateway::UsagePlan': 'no throttling or quotas locally',
  'AWS::ApiGateway::RequestValidator': 'no request models are attached, so validation has nothing to check',
  'Custom::S3AutoDeleteObjects': 'buckets live in memory and vanish on stop',
  // aws-events-targets' CloudWatchLogGroup target: a resource policy letting EventBridge write.
  'Custom::CloudwatchLogResourcePolicy': 'no resource policies locally',
  'AWS::Logs::ResourcePolicy': 'no resource policies locally',
  'AWS::Events::EventBusPolicy': 'no resource policies locally',
};

/** Custom resource types whose provider function is skipped together with them. */
const SKIPPED_CUSTOM_RESOURCES = new Set([
  'Custom::S3AutoDeleteObjects',
  'Custom::CloudwatchLogResourcePolicy',
]);

/** A Lambda function local mode runs. */
export interface FunctionSpec {
  readonly logicalId: string;
  readonly resource: TemplateResource;
  /** Physical function name. */
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the bundled handler file (e.g. `cdk.out/asset.<hash>/index.mjs`). */
  readonly file: string;
  /** Export that holds the handler (`handler` for `index.handler`). */
  readonly exportName: string;
  /** `Handler` as written in the template. */
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** `ReservedConcurrentExecutions`, when set. */
  readonly reservedConcurrency?: number;
}

/** An SQS event source mapping. */
export interface MappingSpec {
  readonly logicalId: string;
  readonly functionId: string;
  readonly queueId: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** `ScalingConfig.MaximumConcurrency`, when set. */
  readonly maxConcurrency?: number;
  readonly reportBatchItemFailures: boolean;
  readonly enabled: boolean;
  /**
   * The mapping's compiled `FilterCriteria`: records it rejects are deleted without invoking.
   * @default every record is passed to the function
   */
  readonly filter?: RecordFilter;
}

/**
 * A Lambda event source mapping of a DynamoDB table's stream (local/triggers/stream-poller.ts).
 * Defaults are Lambda's ("Lambda parameters for Amazon DynamoDB event source mappings").
 */
export interface StreamMappingSpec {
  readonly logicalId: string;
  readonly functionId: string;
  /** Logical id of the table whose stream it reads. */
  readonly tableId: string;
  /** @default 100 */
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: until the record expires. */
  readonly maximumRetryAttempts: number;
  /** -1: until the record expires (24 h). */
  readonly maximumRecordAgeSeconds: number;
  /** The queue (logical id) of `DestinationConfig.OnFailure`, when set. */
  readonly onFailureQueueId?: string;
  readonly enabled: boolean;
  /** The mapping's compiled `FilterCriteria` over the stream record. @default every record passes */
  readonly filter?: RecordFilter<DynamoDBRecord>;
}

/** An EventBridge event bus: the template's `AWS::Events::EventBus`es, and `default`. */
export interface EventBusSpec {
  /** `undefined` for the account's `default` bus. */
  readonly logicalId?: string;
  readonly name: string;
  readonly arn: string;
}

/** `RetryPolicy` of a rule target (EventBridge's defaults: 185 attempts, 24 hours). */
export interface TargetRetryPolicy {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

/** Where an event-pattern rule's target delivers. */
export type EventTargetKind =
  | { readonly kind: 'sqs'; readonly queueId: string; readonly messageGroupId?: string }
  | { readonly kind: 'lambda'; readonly functionId: string }
  | { readonly kind: 'logs'; readonly logGroupName: string }
  | { readonly kind: 'api-destination'; readonly destinationId: string };

/** One target of an event-pattern rule. */
export type EventTargetSpec = EventTargetKind & {
  readonly id: string;
  /**
   * The target's ARN, as EventBridge names it (`TARGET_ARN` of a dead-lettered event); `''` for a
   * queue, whose ARN the emulator gives when it creates it.
   */
  readonly arn: string;
  readonly retryPolicy: TargetRetryPolicy;
  /** The queue (logical id) of `DeadLetterConfig`, when set. */
  readonly deadLetterQueueId?: string;
  /** `Input`: a constant JSON text sent instead of the event. */
  readonly input?: string;
  /** `InputPath`: the part of the event sent (`$.detail`). */
  readonly inputPath?: string;
};

/** An EventBridge rule with an `EventPattern`. */
export interface EventRuleSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The bus's name. */
  readonly busName: string;
  readonly pattern: unknown;
  readonly matches: (event: object) => boolean;
  readonly enabled: boolean;
  readonly targets: readonly EventTargetSpec[];
}

/** An `AWS::Events::ApiDestination` and its `AWS::Events::Connection`. */
export interface ApiDestinationSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly endpoint: string;
  readonly httpMethod: string;
  /** `InvocationRateLimitPerSecond`. @default 300 (EventBridge's) */
  readonly rateLimitPerSecond: number;
  readonly connection: {
    readonly logicalId: string;
    readonly authorizationType: string;
    /** API_KEY: the header's name and value (a `{{resolve:secretsmanager:…}}` reference or a literal). */
    readonly apiKeyName?: string;
    readonly apiKeyValue?: string;
  };
}

/** A scheduled EventBridge rule that targets functions. */
export interface ScheduleSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly expression: string;
  /** Period of a `rate(...)` expression; `undefined` for `cron(...)` (run on demand only). */
  readonly periodMs?: number;
  readonly enabled: boolean;
  readonly targets: readonly { readonly functionId: string; readonly input?: unknown }[];
}

/** How a method authenticates callers (its `AuthorizationType`; local mode runs these three). */
export type MethodAuthorization = 'NONE' | 'AWS_IAM' | 'CUSTOM';

/** A Lambda authorizer of REQUEST type (`AWS::ApiGateway::Authorizer`) of a `CUSTOM` method. */
export interface AuthorizerSpec {
  readonly logicalId: string;
  /** The authorizer function's logical id. */
  readonly functionId: string;
  /** Request headers whose values identify the caller (`method.request.header.<name>`), lower case. */
  readonly identityHeaders: readonly string[];
  /** Seconds a result is cached per identity (`AuthorizerResultTtlInSeconds`, API Gateway's default 300). */
  readonly ttlSeconds: number;
}

/** One API method. */
export interface MethodSpec {
  readonly logicalId: string;
  /** `GET`, `POST`, … or `ANY`. */
  readonly httpMethod: string;
  readonly apiKeyRequired: boolean;
  /** `AWS_IAM`: callers sign requests with SigV4; `CUSTOM`: {@link authorizer} decides. @default 'NONE' */
  readonly authorizationType?: MethodAuthorization;
  /** The Lambda authorizer of a `CUSTOM` method. */
  readonly authorizer?: AuthorizerSpec;
  readonly functionId: string;
}

/** One node of the API's resource tree. */
export interface ApiResourceSpec {
  readonly id: string;
  /** Logical id of the `AWS::ApiGateway::Resource`, or of the RestApi for the root. */
  readonly logicalId: string;
  /** Full resource path, e.g. `/v1/messages/{id}`. */
  readonly path: string;
  readonly methods: readonly MethodSpec[];
}

/** A gateway response of the API. */
export interface GatewayResponseSpec {
  readonly type: string;
  readonly statusCode?: number;
  readonly templates: Readonly<Record<string, string>>;
  /** Static response headers (`gatewayresponse.header.X: 'value'`). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The REST API. */
export interface ApiSpec {
  readonly logicalId: string;
  readonly apiId: string;
  readonly stageName: string;
  readonly deploymentId: string;
  readonly binaryMediaTypes: readonly string[];
  readonly resources: readonly ApiResourceSpec[];
  readonly gatewayResponses: ReadonlyMap<string, GatewayResponseSpec>;
  /** The API keys callers may use on methods with `ApiKeyRequired`, one per tenant, in template order. @default none */
  readonly apiKeys?: readonly ApiKeySpec[];
}

/** Everything local mode runs, derived from the template (nothing else describes the topology). */
export interface Topology {
  /** Queues in creation order: every dead-letter queue before the queues that redrive to it. */
  readonly queues: readonly TemplateResource[];
  readonly buckets: readonly TemplateResource[];
  /** DynamoDB tables, created on the embedded DynamoDB emulator. */
  readonly tables: readonly TemplateResource[];
  readonly functions: readonly FunctionSpec[];
  readonly mappings: readonly MappingSpec[];
  /** Event source mappings of DynamoDB streams. */
  readonly streamMappings: readonly StreamMappingSpec[];
  readonly schedules: readonly ScheduleSpec[];
  /** Event buses (`default` first), their event-pattern rules and the API destinations. */
  readonly eventBuses: readonly EventBusSpec[];
  readonly eventRules: readonly EventRuleSpec[];
  readonly apiDestinations: readonly ApiDestinationSpec[];
  /** `AWS::SecretsManager::Secret`s of the stack (API destination keys resolve from them). */
  readonly secrets: readonly TemplateResource[];
  readonly api?: ApiSpec;
  readonly alarms: readonly TemplateResource[];
  /** Things that run differently from AWS, printed once at startup. */
  readonly notes: readonly string[];
}

const HANDLED = new Set([
  'AWS::SQS::Queue',
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Events::Rule',
  'AWS::Events::EventBus',
  'AWS::Events::Connection',
  'AWS::Events::ApiDestination',
  'AWS::SecretsManager::Secret',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::GatewayResponse',
  // Lambda REQUEST authorizers of CUSTOM methods (local/apigateway/local-auth.ts runs them).
  'AWS::ApiGateway::Authorizer',
  // Read for the tenants' keys (template/api-keys.ts): which keys exist and which are in a usage plan.
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::CloudWatch::Alarm',
]);

/** The logical id an expression refers to (`{Ref: X}` or `{'Fn::GetAtt': [X, …]}`), if it is that simple. */
export function referencedId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Parses `rate(5 minutes)` into milliseconds; `undefined` for anything else. */
export function ratePeriodMs(expression: string): number | undefined {
  const m = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.replace(/s$/, '');
  if (n < 1) return undefined;
  return n * { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[unit as 'minute' | 'hour' | 'day'];
}

/**
 * Reads the stage's template into what local mode runs, failing fast (with the resource named)
 * on anything that would matter but cannot run locally: an unknown resource type, a function
 * without a bundled Node.js asset, an event source mapping on something other than a queue of
 * the stack, a non-proxy API integration, an authorizer, a conditional resource, …
 */
export function analyzeTemplate(stage: StageTemplate, resolver: Resolver): Topology {
  const resources = [...stage.resources.values()];
  // Resources without local meaning (SKIPPED_TYPES) and the provider functions of skipped custom resources.
  const isSkipped = new Set<string>();
  const notes: string[] = [];
  const fail = (r: TemplateResource, message: string): never => {
    throw new LocalModeError(`${r.logicalId} (${r.type}): ${message}`);
  };
  const at = (r: TemplateResource, property: string) => ({ resource: r.logicalId, property });

  // Functions that only serve skipped custom resources (e.g. the auto-delete-objects provider).
  const providerFunctions = new Set<string>();
  for (const r of resources) {
    if (!SKIPPED_CUSTOM_RESOURCES.has(r.type)) continue;
    const id = referencedId(r.properties.ServiceToken);
    if (id) providerFunctions.add(id);
  }

  for (const r of resources) {
    if (SKIPPED_TYPES[r.type]) isSkipped.add(r.logicalId);
    else if (r.type === 'AWS::Lambda::Function' && providerFunctions.has(r.logicalId)) {
      isSkipped.add(r.logicalId);
    } else if (!HANDLED.has(r.type)) {
      fail(
        r,
        'this resource type is not supported in local mode (and is not on the list of types without local meaning)',
      );
    } else if (r.condition) {
      fail(r, `conditional resources (Condition: ${r.condition}) are not supported in local mode`);
    }
  }
  const ofType = (type: string) => resources.filter((r) => r.type === type && !isSkipped.has(r.logicalId));

  // Functions
  const functions: FunctionSpec[] = ofType('AWS::Lambda::Function').map((r) => {
    const p = r.properties;
    if (p.PackageType === 'Image') fail(r, 'container image functions are not supported in local mode');
    const runtime = String(p.Runtime ?? '');
    if (!runtime.startsWith('nodejs'))
      fail(r, `runtime "${runtime}" cannot run locally (Node.js runtimes only)`);
    if (Array.isArray(p.Layers) && p.Layers.length > 0)
      fail(r, 'functions with layers are not supported in local mode');
    const assetPath = r.metadata['aws:asset:path'];
    if (typeof assetPath !== 'string') {
      fail(
        r,
        'no bundled asset (Metadata aws:asset:path): local mode runs only functions whose code is a cdk.out asset',
      );
    }
    const assetDir = path.resolve(stage.cdkOut, assetPath as string);
    const handler = resolver.resolveString(p.Handler, at(r, 'Handler'));
    const dot = handler.lastIndexOf('.');
    if (dot <= 0) fail(r, `Handler "${handler}" is not <file>.<export>`);
    const base = path.join(assetDir, handler.slice(0, dot));
    const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
    if (!file) fail(r, `handler file ${base}.{js,mjs,cjs} does not exist (synthesize again?)`);
    const reserved = p.ReservedConcurrentExecutions;
    return {
      logicalId: r.logicalId,
      resource: r,
      name: resolver.physicalName(r.logicalId),
      arn: String(resolver.getAtt(r.logicalId, 'Arn', at(r, 'Arn'))),
      file: file!,
      exportName: handler.slice(dot + 1),
      handler,
      runtime,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      reservedConcurrency: reserved === undefined ? undefined : Number(reserved),
    };
  });
  const functionByRef = new Map<string, string>();
  for (const f of functions) {
    functionByRef.set(f.name, f.logicalId);
    functionByRef.set(f.arn, f.logicalId);
  }
  const functionOf = (r: TemplateResource, property: string, value: unknown): string => {
    const direct = referencedId(value);
    if (direct && functions.some((f) => f.logicalId === direct)) return direct;
    const resolved = resolver.resolveString(value, at(r, property));
    const qualifiedArn = /^(arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+)(:.+)?$/.exec(resolved)?.[1];
    const id = functionByRef.get(resolved) ?? (qualifiedArn ? functionByRef.get(qualifiedArn) : undefined);
    if (!id) fail(r, `${property} "${resolved}" is not a function of this stack that local mode runs`);
    return id!;
  };

  // Queues, dead-letter queues first.
  const queueResources = ofType('AWS::SQS::Queue');
  const queueIds = new Set(queueResources.map((q) => q.logicalId));
  const queues: TemplateResource[] = [];
  const visit = (q: TemplateResource, trail: string[]) => {
    if (queues.includes(q)) return;
    if (trail.includes(q.logicalId))
      fail(q, `circular redrive policy (${[...trail, q.logicalId].join(' → ')})`);
    const target = referencedId(
      (q.properties.RedrivePolicy as Record<string, unknown> | undefined)?.deadLetterTargetArn,
    );
    if (target && queueIds.has(target))
      visit(
        queueResources.find((x) => x.logicalId === target)!,
        [...trail, q.logicalId],
      );
    queues.push(q);
  };
  for (const q of queueResources) visit(q, []);

  // Buckets
  const buckets = ofType('AWS::S3::Bucket');
  for (const b of buckets) {
    const n = b.properties.NotificationConfiguration as Record<string, unknown> | undefined;
    if (
      n &&
      (n.LambdaConfigurations || n.QueueConfigurations || n.TopicConfigurations || n.EventBridgeConfiguration)
    ) {
      fail(b, 'bucket notifications are not supported in local mode');
    }
  }

  // Event source mappings: of a table's stream, or of a queue.
  const tableIds = new Set(ofType('AWS::DynamoDB::Table').map((t) => t.logicalId));
  const isStreamMapping = (r: TemplateResource) => {
    const source = referencedId(r.properties.EventSourceArn);
    return source !== undefined && tableIds.has(source);
  };
  const streamMappings = ofType('AWS::Lambda::EventSourceMapping')
    .filter(isStreamMapping)
    .map((r) => analyzeStreamMapping(r, stage, resolver, queueIds, functionOf, fail));
  const mappings: MappingSpec[] = ofType('AWS::Lambda::EventSourceMapping')
    .filter((r) => !isStreamMapping(r))
    .map((r) => {
      const p = r.properties;
      const source = referencedId(p.EventSourceArn);
      if (!source || !queueIds.has(source)) {
        fail(
          r,
          'the event source is not an SQS queue or a DynamoDB table stream of this stack; local mode polls only those',
        );
      }
      let filter: RecordFilter | undefined;
      if (p.FilterCriteria !== undefined) {
        try {
          filter = compileFilterCriteria(
            resolver.resolve(p.FilterCriteria, at(r, 'FilterCriteria')) as Parameters<
              typeof compileFilterCriteria
            >[0],
          );
        } catch (error) {
          if (error instanceof FilterCriteriaError)
            fail(r, `InvalidParameterValueException: ${error.message}`);
          throw error;
        }
      }
      const types = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes.map(String) : [];
      const scaling = p.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
      return {
        logicalId: r.logicalId,
        functionId: functionOf(r, 'FunctionName', p.FunctionName),
        queueId: source!,
        batchSize: Number(p.BatchSize ?? 10),
        maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        maxConcurrency:
          scaling?.MaximumConcurrency === undefined ? undefined : Number(scaling.MaximumConcurrency),
        reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
        enabled: p.Enabled === undefined || p.Enabled === true || p.Enabled === 'true',
        ...(filter ? { filter } : {}),
      };
    });
  refuseMappings(mappings, {
    functions,
    queues: queueResources,
    mappingResources: stage.resources,
    resolver,
    fail,
  });
  const events = analyzeEvents(ofType, resolver, queueResources, functions, functionOf, fail);

  // Schedules
  const schedules: ScheduleSpec[] = [];
  for (const r of ofType('AWS::Events::Rule')) {
    const p = r.properties;
    // An event-pattern rule: analyzeEvents.
    if (p.ScheduleExpression === undefined) continue;
    const expression = resolver.resolveString(p.ScheduleExpression, at(r, 'ScheduleExpression'));
    const targets = (Array.isArray(p.Targets) ? p.Targets : []).map(
      (t: Record<string, unknown>, i: number) => {
        if (t.InputTransformer || t.InputPath)
          fail(r, `Targets[${i}]: InputTransformer/InputPath are not supported locally`);
        const input =
          t.Input === undefined
            ? undefined
            : JSON.parse(resolver.resolveString(t.Input, at(r, `Targets[${i}].Input`)));
        return { functionId: functionOf(r, `Targets[${i}].Arn`, t.Arn), input };
      },
    );
    const periodMs = ratePeriodMs(expression);
    if (periodMs === undefined)
      notes.push(`${r.logicalId}: "${expression}" is not a rate(); it runs only when triggered`);
    schedules.push({
      logicalId: r.logicalId,
      name: resolver.physicalName(r.logicalId),
      arn: String(resolver.getAtt(r.logicalId, 'Arn', at(r, 'Arn'))),
      expression,
      periodMs,
      enabled: p.State === undefined || p.State === 'ENABLED',
      targets,
    });
  }

  return {
    queues,
    buckets,
    tables: ofType('AWS::DynamoDB::Table'),
    functions,
    mappings,
    streamMappings,
    schedules,
    ...events,
    secrets: ofType('AWS::SecretsManager::Secret'),
    api: analyzeApi(
      ofType,
      (type) => resources.filter((r) => r.type === type),
      resolver,
      functionOf,
      fail,
      notes,
    ),
    alarms: ofType('AWS::CloudWatch::Alarm'),
    notes,
  };
}

function analyzeApi(
  ofType: (type: string) => TemplateResource[],
  anyOfType: (type: string) => TemplateResource[],
  resolver: Resolver,
  functionOf: (r: TemplateResource, property: string, value: unknown) => string,
  fail: (r: TemplateResource, message: string) => never,
  notes: string[],
): ApiSpec | undefined {
  const apis = ofType('AWS::ApiGateway::RestApi');
  if (apis.length === 0) return undefined;
  if (apis.length > 1) fail(apis[1]!, 'local mode serves one REST API per stage');
  const api = apis[0]!;
  const at = (r: TemplateResource, property: string) => ({ resource: r.logicalId, property });
  if (api.properties.Body || api.properties.BodyS3Location)
    fail(api, 'APIs imported from OpenAPI are not supported locally');
  if (api.properties.ApiKeySourceType === 'AUTHORIZER')
    fail(api, 'API keys from an authorizer are not supported locally');
  const apiId = resolver.resolveString({ Ref: api.logicalId }, at(api, 'Ref'));
  const rootId = resolver.resolveString(
    { 'Fn::GetAtt': [api.logicalId, 'RootResourceId'] },
    at(api, 'RootResourceId'),
  );

  // Resource tree: id → { parent id, path part }
  const nodes = new Map<string, { logicalId: string; parent?: string; part: string }>();
  nodes.set(rootId, { logicalId: api.logicalId, part: '' });
  for (const r of ofType('AWS::ApiGateway::Resource')) {
    nodes.set(resolver.resolveString({ Ref: r.logicalId }, at(r, 'Ref')), {
      logicalId: r.logicalId,
      parent: resolver.resolveString(r.properties.ParentId, at(r, 'ParentId')),
      part: resolver.resolveString(r.properties.PathPart, at(r, 'PathPart')),
    });
  }
  const pathOf = (id: string, depth = 0): string => {
    const n = nodes.get(id);
    if (!n || depth > 100) throw new LocalModeError(`API resource ${id} has no parent in the template`);
    if (n.parent === undefined) return '';
    return `${pathOf(n.parent, depth + 1)}/${n.part}`;
  };

  const lambdaOfUri = (r: TemplateResource, property: string, value: unknown): string => {
    const uri = resolver.resolveString(value, at(r, property));
    const fnArn = /\/functions\/(.+)\/invocations$/.exec(uri)?.[1];
    if (!fnArn) fail(r, `${property} "${uri}" is not a Lambda invocation URI`);
    return functionOf(r, property, fnArn);
  };
  const authorizers = new Map<string, AuthorizerSpec>();
  for (const a of ofType('AWS::ApiGateway::Authorizer')) {
    const p = a.properties;
    if (p.Type !== 'REQUEST')
      fail(a, `authorizer type ${String(p.Type)} is not supported locally (Lambda REQUEST authorizers only)`);
    const sources = resolver.resolveString(p.IdentitySource ?? '', at(a, 'IdentitySource'));
    const identityHeaders = sources
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const header = /^method\.request\.header\.(.+)$/.exec(s)?.[1];
        if (!header) fail(a, `identity source ${s} is not supported locally (request headers only)`);
        return header!.toLowerCase();
      });
    authorizers.set(a.logicalId, {
      logicalId: a.logicalId,
      functionId: lambdaOfUri(a, 'AuthorizerUri', p.AuthorizerUri),
      identityHeaders,
      ttlSeconds: Number(p.AuthorizerResultTtlInSeconds ?? 300),
    });
  }

  const methods = new Map<string, MethodSpec[]>();
  for (const m of ofType('AWS::ApiGateway::Method')) {
    const p = m.properties;
    const auth = String(p.AuthorizationType ?? 'NONE');
    if (auth !== 'NONE' && auth !== 'AWS_IAM' && auth !== 'CUSTOM') {
      fail(
        m,
        `AuthorizationType ${auth} is not supported locally yet (local mode runs NONE, API keys, AWS_IAM and Lambda REQUEST authorizers)`,
      );
    }
    const authorizerId = auth === 'CUSTOM' ? referencedId(p.AuthorizerId) : undefined;
    const authorizer = authorizerId ? authorizers.get(authorizerId) : undefined;
    if (auth === 'CUSTOM' && !authorizer)
      fail(
        m,
        'AuthorizationType CUSTOM needs AuthorizerId naming an AWS::ApiGateway::Authorizer of the stack',
      );
    const integration = (p.Integration ?? {}) as Record<string, unknown>;
    if (integration.Type !== 'AWS_PROXY') {
      fail(m, `integration type ${String(integration.Type)} is not supported locally (Lambda proxy only)`);
    }
    const uri = resolver.resolveString(integration.Uri, at(m, 'Integration.Uri'));
    const fnArn = /\/functions\/(.+)\/invocations$/.exec(uri)?.[1];
    if (!fnArn) fail(m, `Integration.Uri "${uri}" is not a Lambda invocation URI`);
    const resourceId = resolver.resolveString(p.ResourceId, at(m, 'ResourceId'));
    const list = methods.get(resourceId) ?? [];
    list.push({
      logicalId: m.logicalId,
      httpMethod: resolver.resolveString(p.HttpMethod, at(m, 'HttpMethod')).toUpperCase(),
      apiKeyRequired: p.ApiKeyRequired === true || p.ApiKeyRequired === 'true',
      authorizationType: auth as MethodAuthorization,
      ...(authorizer ? { authorizer } : {}),
      functionId: functionOf(m, 'Integration.Uri', fnArn),
    });
    methods.set(resourceId, list);
  }

  const stages = ofType('AWS::ApiGateway::Stage');
  const stageName = stages[0]
    ? resolver.resolveString(stages[0].properties.StageName, at(stages[0], 'StageName'))
    : 'prod';

  const gatewayResponses = new Map<string, GatewayResponseSpec>();
  for (const g of ofType('AWS::ApiGateway::GatewayResponse')) {
    const p = resolver.resolve(g.properties, at(g, 'Properties')) as Record<string, unknown>;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((p.ResponseParameters ?? {}) as Record<string, string>)) {
      const name = /^gatewayresponse\.header\.(.+)$/.exec(k)?.[1];
      const literal = /^'(.*)'$/s.exec(String(v))?.[1];
      if (name && literal !== undefined) headers[name] = literal;
    }
    gatewayResponses.set(String(p.ResponseType), {
      type: String(p.ResponseType),
      statusCode: p.StatusCode === undefined ? undefined : Number(p.StatusCode),
      templates: (p.ResponseTemplates ?? {}) as Record<string, string>,
      headers,
    });
  }

  const apiKeys = analyzeApiKeys(
    [...ofType('AWS::ApiGateway::ApiKey'), ...ofType('AWS::ApiGateway::UsagePlanKey')],
    resolver,
    resolver.pseudo.stackName,
  );
  notes.push(...apiKeys.notes);

  const deployment = anyOfType('AWS::ApiGateway::Deployment')[0];
  return {
    logicalId: api.logicalId,
    apiId,
    stageName,
    deploymentId: deployment
      ? resolver.resolveString({ Ref: deployment.logicalId }, at(deployment, 'Ref'))
      : 'local',
    binaryMediaTypes: Array.isArray(api.properties.BinaryMediaTypes)
      ? api.properties.BinaryMediaTypes.map(String)
      : [],
    resources: [...nodes.entries()].map(([id, n]) => ({
      id,
      logicalId: n.logicalId,
      path: pathOf(id) || '/',
      methods: methods.get(id) ?? [],
    })),
    gatewayResponses,
    apiKeys: apiKeys.keys,
  };
}
