import type { DynamoDBRecord } from 'aws-lambda';
import {
  compileEventPattern,
  compileFilterCriteria,
  FilterCriteriaError,
  type RecordFilter,
} from '../triggers/filter-criteria';
import type { StageTemplate, TemplateResource } from './reader';
import type { Resolver } from './resolver';
import {
  referencedId,
  type ApiDestinationSpec,
  type EventBusSpec,
  type EventRuleSpec,
  type EventTargetKind,
  type EventTargetSpec,
  type FunctionSpec,
  type StreamMappingSpec,
} from './topology';

/*
 * The template's DynamoDB stream event source mappings and its EventBridge buses, event-pattern
 * rules, targets and API destinations, read into what local mode runs (local/triggers/
 * stream-poller.ts, local/aws/event-bus.ts). Defaults are AWS's:
 * - stream mappings ("Lambda parameters for Amazon DynamoDB event source mappings",
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html): BatchSize 100
 *   (1–10 000), MaximumBatchingWindowInSeconds 0 (0–300), MaximumRecordAgeInSeconds -1 (-1 or
 *   60–604 800), MaximumRetryAttempts -1 (-1–10 000), BisectBatchOnFunctionError false,
 *   StartingPosition required (TRIM_HORIZON or LATEST);
 * - rule targets (EventBridge "Event retry policy"): 185 retry attempts, 24 hours;
 * - API destinations: InvocationRateLimitPerSecond 300.
 */

type Fail = (r: TemplateResource, message: string) => never;
type FunctionOf = (r: TemplateResource, property: string, value: unknown) => string;

const at = (r: TemplateResource, property: string) => ({ resource: r.logicalId, property });

/** Reads one `AWS::Lambda::EventSourceMapping` of a table's stream; fails as Lambda would refuse it. */
export function analyzeStreamMapping(
  r: TemplateResource,
  stage: StageTemplate,
  resolver: Resolver,
  queueIds: ReadonlySet<string>,
  functionOf: FunctionOf,
  fail: Fail,
): StreamMappingSpec {
  const p = r.properties;
  const tableId = referencedId(p.EventSourceArn)!;
  const table = stage.resources.get(tableId)!;
  const invalid = (message: string): never => fail(r, `InvalidParameterValueException: ${message}`);
  const attribute = Array.isArray((p.EventSourceArn as Record<string, unknown>)['Fn::GetAtt'])
    ? ((p.EventSourceArn as Record<string, unknown[]>)['Fn::GetAtt']![1] as string)
    : undefined;
  if (attribute !== 'StreamArn')
    invalid(`EventSourceArn must be the table's StreamArn (Fn::GetAtt [${tableId}, StreamArn])`);
  const spec = resolver.resolve(table.properties.StreamSpecification, at(table, 'StreamSpecification')) as
    { StreamViewType?: string } | undefined;
  if (!spec?.StreamViewType) invalid(`table ${tableId} has no stream (StreamSpecification)`);
  const num = (property: string, fallback: number) =>
    p[property] === undefined ? fallback : Number(resolver.resolve(p[property], at(r, property)));
  const batchSize = num('BatchSize', 100);
  const window = num('MaximumBatchingWindowInSeconds', 0);
  const retries = num('MaximumRetryAttempts', -1);
  const maxAge = num('MaximumRecordAgeInSeconds', -1);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    invalid(`BatchSize ${batchSize} is outside 1–10000 for a DynamoDB stream`);
  if (!Number.isInteger(window) || window < 0 || window > 300)
    invalid(`MaximumBatchingWindowInSeconds ${window} is outside 0–300`);
  if (!Number.isInteger(retries) || retries < -1 || retries > 10_000)
    invalid(`MaximumRetryAttempts ${retries} is outside -1–10000`);
  if (!Number.isInteger(maxAge) || (maxAge !== -1 && (maxAge < 60 || maxAge > 604_800)))
    invalid(`MaximumRecordAgeInSeconds ${maxAge} is neither -1 nor within 60–604800`);
  const position = String(resolver.resolve(p.StartingPosition, at(r, 'StartingPosition')) ?? '');
  if (position !== 'TRIM_HORIZON' && position !== 'LATEST')
    invalid(`StartingPosition must be TRIM_HORIZON or LATEST for a DynamoDB stream, not "${position}"`);
  let filter: RecordFilter<DynamoDBRecord> | undefined;
  if (p.FilterCriteria !== undefined) {
    try {
      filter = compileFilterCriteria<DynamoDBRecord>(
        resolver.resolve(p.FilterCriteria, at(r, 'FilterCriteria')) as Parameters<
          typeof compileFilterCriteria
        >[0],
        { dataKey: null },
      );
    } catch (error) {
      if (error instanceof FilterCriteriaError) invalid(error.message);
      throw error;
    }
  }
  const onFailure = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure
    ?.Destination;
  const onFailureQueueId = onFailure === undefined ? undefined : referencedId(onFailure);
  if (onFailure !== undefined && (!onFailureQueueId || !queueIds.has(onFailureQueueId)))
    fail(r, 'DestinationConfig.OnFailure.Destination: local mode delivers to SQS queues of this stack only');
  const types = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes.map(String) : [];
  return {
    logicalId: r.logicalId,
    functionId: functionOf(r, 'FunctionName', p.FunctionName),
    tableId,
    batchSize,
    maxBatchingWindowSeconds: window,
    startingPosition: position as 'TRIM_HORIZON' | 'LATEST',
    reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
    bisectBatchOnFunctionError:
      p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === 'true',
    maximumRetryAttempts: retries,
    maximumRecordAgeSeconds: maxAge,
    ...(onFailureQueueId ? { onFailureQueueId } : {}),
    enabled: p.Enabled === undefined || p.Enabled === true || p.Enabled === 'true',
    ...(filter ? { filter } : {}),
  };
}

/** EventBridge's default retry policy of a target. */
export const DEFAULT_TARGET_RETRY = { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86_400 } as const;

/** Reads the buses, the event-pattern rules with their targets, and the API destinations. */
export function analyzeEvents(
  ofType: (type: string) => TemplateResource[],
  resolver: Resolver,
  queues: readonly TemplateResource[],
  functions: readonly FunctionSpec[],
  functionOf: FunctionOf,
  fail: Fail,
): {
  eventBuses: EventBusSpec[];
  eventRules: EventRuleSpec[];
  apiDestinations: ApiDestinationSpec[];
} {
  const { region, accountId, partition } = resolver.pseudo;
  const eventBuses: EventBusSpec[] = [
    { name: 'default', arn: `arn:${partition}:events:${region}:${accountId}:event-bus/default` },
    ...ofType('AWS::Events::EventBus').map((b) => ({
      logicalId: b.logicalId,
      name: resolver.physicalName(b.logicalId),
      arn: String(resolver.getAtt(b.logicalId, 'Arn', at(b, 'Arn'))),
    })),
  ];
  const busOf = (r: TemplateResource, value: unknown): string => {
    if (value === undefined) return 'default';
    const resolved = resolver.resolveString(value, at(r, 'EventBusName'));
    const bus = eventBuses.find((b) => b.name === resolved || b.arn === resolved);
    if (!bus) fail(r, `EventBusName "${resolved}" is not an event bus of this stack (or default)`);
    return bus!.name;
  };

  const connections = new Map(ofType('AWS::Events::Connection').map((c) => [c.logicalId, c]));
  const apiDestinations: ApiDestinationSpec[] = ofType('AWS::Events::ApiDestination').map((d) => {
    const p = d.properties;
    const connectionId = referencedId(p.ConnectionArn);
    const connection = connectionId ? connections.get(connectionId) : undefined;
    if (!connection) fail(d, 'ConnectionArn must name an AWS::Events::Connection of this stack');
    const c = connection!.properties;
    const authorizationType = resolver.resolveString(
      c.AuthorizationType,
      at(connection!, 'AuthorizationType'),
    );
    const auth = (c.AuthParameters ?? {}) as {
      ApiKeyAuthParameters?: { ApiKeyName?: unknown; ApiKeyValue?: unknown };
    };
    if (authorizationType !== 'API_KEY')
      fail(connection!, `AuthorizationType ${authorizationType} is not supported locally (API_KEY only)`);
    const endpoint = resolver.resolveString(p.InvocationEndpoint, at(d, 'InvocationEndpoint'));
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      fail(d, `InvocationEndpoint "${endpoint}" is not a URL`);
    }
    if (
      url!.protocol !== 'https:' &&
      !(url!.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(url!.hostname))
    )
      fail(
        d,
        `InvocationEndpoint "${endpoint}" must be https (local mode also takes http://127.0.0.1 and http://localhost)`,
      );
    return {
      logicalId: d.logicalId,
      name: resolver.physicalName(d.logicalId),
      arn: String(resolver.getAtt(d.logicalId, 'Arn', at(d, 'Arn'))),
      endpoint,
      httpMethod: resolver.resolveString(p.HttpMethod, at(d, 'HttpMethod')).toUpperCase(),
      rateLimitPerSecond:
        p.InvocationRateLimitPerSecond === undefined
          ? 300
          : Number(resolver.resolve(p.InvocationRateLimitPerSecond, at(d, 'InvocationRateLimitPerSecond'))),
      connection: {
        logicalId: connection!.logicalId,
        authorizationType,
        apiKeyName: resolver.resolveString(
          auth.ApiKeyAuthParameters?.ApiKeyName,
          at(connection!, 'AuthParameters.ApiKeyAuthParameters.ApiKeyName'),
        ),
        apiKeyValue: resolver.resolveString(
          auth.ApiKeyAuthParameters?.ApiKeyValue,
          at(connection!, 'AuthParameters.ApiKeyAuthParameters.ApiKeyValue'),
        ),
      },
    };
  });

  const queueIds = new Set(queues.map((q) => q.logicalId));
  const queueByName = new Map(queues.map((q) => [resolver.physicalName(q.logicalId), q.logicalId]));
  const logGroups = new Set(ofType('AWS::Logs::LogGroup').map((l) => l.logicalId));
  const functionIds = new Set(functions.map((f) => f.logicalId));
  const queueOf = (r: TemplateResource, property: string, value: unknown): string => {
    const id = referencedId(value);
    if (id && queueIds.has(id)) return id;
    const arn = resolver.resolveString(value, at(r, property));
    const byName = queueByName.get(arn.slice(arn.lastIndexOf(':') + 1));
    if (!arn.includes(':sqs:') || !byName) fail(r, `${property} "${arn}" is not an SQS queue of this stack`);
    return byName!;
  };
  const targetOf = (r: TemplateResource, i: number, t: Record<string, unknown>): EventTargetKind => {
    const property = `Targets[${i}].Arn`;
    const id = referencedId(t.Arn);
    if (id && queueIds.has(id)) {
      const group = (t.SqsParameters as { MessageGroupId?: unknown } | undefined)?.MessageGroupId;
      return {
        kind: 'sqs',
        queueId: id,
        ...(group === undefined
          ? {}
          : { messageGroupId: resolver.resolveString(group, at(r, `Targets[${i}].SqsParameters`)) }),
      };
    }
    if (id && functionIds.has(id)) return { kind: 'lambda', functionId: id };
    if (id && apiDestinations.some((d) => d.logicalId === id))
      return { kind: 'api-destination', destinationId: id };
    if (id && logGroups.has(id)) return { kind: 'logs', logGroupName: resolver.physicalName(id) };
    const arn = resolver.resolveString(t.Arn, at(r, property));
    const logGroup = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(arn)?.[1];
    if (logGroup) return { kind: 'logs', logGroupName: logGroup };
    if (arn.includes(':lambda:')) return { kind: 'lambda', functionId: functionOf(r, property, t.Arn) };
    if (arn.includes(':sqs:')) return { kind: 'sqs', queueId: queueOf(r, property, t.Arn) };
    const destination = apiDestinations.find((d) => d.arn === arn);
    if (destination) return { kind: 'api-destination', destinationId: destination.logicalId };
    return fail(
      r,
      `${property} "${arn}": local mode delivers to queues, functions, log groups and API destinations of this stack only`,
    );
  };

  const eventRules: EventRuleSpec[] = [];
  for (const r of ofType('AWS::Events::Rule')) {
    const p = r.properties;
    if (p.ScheduleExpression !== undefined || p.EventPattern === undefined) continue;
    const pattern = resolver.resolve(p.EventPattern, at(r, 'EventPattern'));
    let matches: (event: object) => boolean;
    try {
      matches = compileEventPattern(pattern, 'EventPattern');
    } catch (error) {
      if (error instanceof FilterCriteriaError) fail(r, `InvalidEventPatternException: ${error.message}`);
      throw error;
    }
    const targets = (Array.isArray(p.Targets) ? p.Targets : []).map(
      (t: Record<string, unknown>, i: number): EventTargetSpec => {
        if (t.InputTransformer) fail(r, `Targets[${i}]: InputTransformer is not supported locally`);
        const retry = resolver.resolve(t.RetryPolicy ?? {}, at(r, `Targets[${i}].RetryPolicy`)) as {
          MaximumRetryAttempts?: unknown;
          MaximumEventAgeInSeconds?: unknown;
        };
        const dlq = (t.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
        const kind = targetOf(r, i, t);
        return {
          ...kind,
          id: resolver.resolveString(t.Id, at(r, `Targets[${i}].Id`)),
          // A queue's ARN exists once the emulator has created it: the delivery reads it then.
          arn: kind.kind === 'sqs' ? '' : resolver.resolveString(t.Arn, at(r, `Targets[${i}].Arn`)),
          retryPolicy: {
            maximumRetryAttempts:
              retry.MaximumRetryAttempts === undefined
                ? DEFAULT_TARGET_RETRY.maximumRetryAttempts
                : Number(retry.MaximumRetryAttempts),
            maximumEventAgeSeconds:
              retry.MaximumEventAgeInSeconds === undefined
                ? DEFAULT_TARGET_RETRY.maximumEventAgeSeconds
                : Number(retry.MaximumEventAgeInSeconds),
          },
          ...(dlq === undefined
            ? {}
            : { deadLetterQueueId: queueOf(r, `Targets[${i}].DeadLetterConfig.Arn`, dlq) }),
          ...(t.Input === undefined
            ? {}
            : { input: resolver.resolveString(t.Input, at(r, `Targets[${i}].Input`)) }),
          ...(t.InputPath === undefined
            ? {}
            : { inputPath: resolver.resolveString(t.InputPath, at(r, `Targets[${i}].InputPath`)) }),
        };
      },
    );
    eventRules.push({
      logicalId: r.logicalId,
      name: resolver.physicalName(r.logicalId),
      arn: String(resolver.getAtt(r.logicalId, 'Arn', at(r, 'Arn'))),
      busName: busOf(r, p.EventBusName),
      pattern,
      matches: matches!,
      enabled: p.State === undefined || p.State === 'ENABLED',
      targets,
    });
  }
  return { eventBuses, eventRules, apiDestinations };
}
