import { describe, expect, it } from 'vitest';
import { fn, queue, useTemplateFixture, type RawResource } from '../helpers/topology';

// What local mode reads of a template's stream mappings, buses, rules, targets and API
// destinations (local/template/event-topology.ts), from hand-written template fragments shaped
// like the completion-events construct's.
const { analyze } = useTemplateFixture('local-event-topology-');

const table: RawResource = {
  Type: 'AWS::DynamoDB::Table',
  Properties: {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
  },
};

const terminal = JSON.stringify({
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { status: { S: ['succeeded', 'failed'] } } },
});

const streamMapping = (extra: Record<string, unknown> = {}): RawResource => ({
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: {
    EventSourceArn: { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
    FunctionName: { Ref: 'Relay' },
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: 25,
    MaximumBatchingWindowInSeconds: 1,
    FilterCriteria: { Filters: [{ Pattern: terminal }] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: 10,
    MaximumRecordAgeInSeconds: 3600,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['OutboxFailures', 'Arn'] } } },
    ...extra,
  },
});

/** The resources of the completion events: table, relay, bus, rules and targets. */
const completion = (): Record<string, RawResource> => ({
  StatusTable: table,
  Relay: fn(),
  OutboxFailures: queue,
  RelayMapping: streamMapping(),
  Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'event-pipeline-local' } },
  Results: queue,
  NotificationsDlq: queue,
  EventsLog: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/event-pipeline/local/events' } },
  WebhookSecret: {
    Type: 'AWS::SecretsManager::Secret',
    Properties: { GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'apiKey' } },
  },
  Connection: {
    Type: 'AWS::Events::Connection',
    Properties: {
      AuthorizationType: 'API_KEY',
      AuthParameters: {
        ApiKeyAuthParameters: {
          ApiKeyName: 'x-webhook-key',
          ApiKeyValue: {
            'Fn::Join': [
              '',
              ['{{resolve:secretsmanager:', { Ref: 'WebhookSecret' }, ':SecretString:apiKey::}}'],
            ],
          },
        },
      },
    },
  },
  Webhook: {
    Type: 'AWS::Events::ApiDestination',
    Properties: {
      ConnectionArn: { 'Fn::GetAtt': ['Connection', 'Arn'] },
      InvocationEndpoint: 'http://127.0.0.1:9999/hooks',
      HttpMethod: 'POST',
      InvocationRateLimitPerSecond: 10,
    },
  },
  CompletionRule: {
    Type: 'AWS::Events::Rule',
    Properties: {
      EventBusName: { Ref: 'Bus' },
      EventPattern: { source: ['event-pipeline'], 'detail-type': ['Message Succeeded', 'Message Failed'] },
      State: 'ENABLED',
      Targets: [
        {
          Id: 'Results',
          Arn: { 'Fn::GetAtt': ['Results', 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['NotificationsDlq', 'Arn'] } },
        },
        {
          Id: 'Log',
          Arn: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':logs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':log-group:',
                { Ref: 'EventsLog' },
              ],
            ],
          },
        },
        {
          Id: 'Webhook',
          Arn: { 'Fn::GetAtt': ['Webhook', 'Arn'] },
          RoleArn: 'arn:aws:iam::000000000000:role/x',
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['NotificationsDlq', 'Arn'] } },
        },
        { Id: 'Fn', Arn: { 'Fn::GetAtt': ['Relay', 'Arn'] } },
      ],
    },
  },
});

describe('template analysis: completion events', () => {
  it("reads a table stream's event source mapping with its settings and filter", () => {
    const t = analyze(completion());

    expect(t.mappings).toEqual([]);
    const { filter, ...mapping } = t.streamMappings[0]!;
    expect(mapping).toEqual({
      logicalId: 'RelayMapping',
      functionId: 'Relay',
      tableId: 'StatusTable',
      batchSize: 25,
      maxBatchingWindowSeconds: 1,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 10,
      maximumRecordAgeSeconds: 3600,
      onFailureQueueId: 'OutboxFailures',
      enabled: true,
    });
    const record = (status: string) =>
      ({ eventName: 'MODIFY', dynamodb: { NewImage: { status: { S: status } } } }) as never;
    expect([filter!(record('succeeded')), filter!(record('processing'))]).toEqual([true, false]);
  });

  it("uses Lambda's defaults for a stream mapping that sets only what is required", () => {
    const resources = completion();
    resources.RelayMapping = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
        FunctionName: { Ref: 'Relay' },
        StartingPosition: 'LATEST',
      },
    };
    expect(analyze(resources).streamMappings[0]).toEqual({
      logicalId: 'RelayMapping',
      functionId: 'Relay',
      tableId: 'StatusTable',
      batchSize: 100,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'LATEST',
      reportBatchItemFailures: false,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      enabled: true,
    });
  });

  it('reads the bus, the rule, each kind of target, the API destination and its connection', () => {
    const t = analyze(completion());

    expect(t.eventBuses.map((b) => [b.name, b.arn])).toEqual([
      ['default', 'arn:aws:events:us-east-1:000000000000:event-bus/default'],
      ['event-pipeline-local', 'arn:aws:events:us-east-1:000000000000:event-bus/event-pipeline-local'],
    ]);
    const rule = t.eventRules[0]!;
    expect(rule).toMatchObject({
      logicalId: 'CompletionRule',
      busName: 'event-pipeline-local',
      enabled: true,
    });
    expect(rule.arn).toMatch(/^arn:aws:events:us-east-1:000000000000:rule\/event-pipeline-local\//);
    expect(rule.targets.map(({ arn: _arn, ...target }) => target)).toEqual([
      {
        kind: 'sqs',
        queueId: 'Results',
        id: 'Results',
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
        deadLetterQueueId: 'NotificationsDlq',
      },
      {
        kind: 'logs',
        logGroupName: '/event-pipeline/local/events',
        id: 'Log',
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
      },
      {
        kind: 'api-destination',
        destinationId: 'Webhook',
        id: 'Webhook',
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 600 },
        deadLetterQueueId: 'NotificationsDlq',
      },
      {
        kind: 'lambda',
        functionId: 'Relay',
        id: 'Fn',
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
      },
    ]);
    expect(rule.matches({ source: 'event-pipeline', 'detail-type': 'Message Failed' })).toBe(true);
    expect(rule.matches({ source: 'other', 'detail-type': 'Message Failed' })).toBe(false);
    expect(t.apiDestinations).toEqual([
      {
        logicalId: 'Webhook',
        name: expect.any(String),
        arn: expect.stringMatching(/^arn:aws:events:us-east-1:000000000000:api-destination\//),
        endpoint: 'http://127.0.0.1:9999/hooks',
        httpMethod: 'POST',
        rateLimitPerSecond: 10,
        connection: {
          logicalId: 'Connection',
          authorizationType: 'API_KEY',
          apiKeyName: 'x-webhook-key',
          apiKeyValue: expect.stringMatching(
            /^\{\{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:000000000000:secret:.+:SecretString:apiKey::\}\}$/,
          ),
        },
      },
    ]);
  });

  it.each([
    [
      'a stream mapping without StartingPosition',
      { StartingPosition: undefined },
      /StartingPosition must be TRIM_HORIZON or LATEST/,
    ],
    ['a stream mapping with BatchSize 10001', { BatchSize: 10001 }, /BatchSize 10001 is outside 1–10000/],
    [
      'a stream mapping with MaximumRecordAgeInSeconds 30',
      { MaximumRecordAgeInSeconds: 30 },
      /MaximumRecordAgeInSeconds 30 is neither -1 nor within 60–604800/,
    ],
    [
      'a stream mapping with an invalid filter',
      { FilterCriteria: { Filters: [{ Pattern: '{"eventName":"INSERT"}' }] } },
      /RelayMapping \(AWS::Lambda::EventSourceMapping\): InvalidParameterValueException: .*eventName must be an array/,
    ],
  ])('refuses %s, naming it', (_name, extra, error) => {
    const resources = completion();
    resources.RelayMapping = streamMapping(extra);
    expect(() => analyze(resources)).toThrow(error);
  });

  it('refuses a stream mapping of a table without a stream', () => {
    const resources = completion();
    resources.StatusTable = { ...table, Properties: { ...table.Properties, StreamSpecification: undefined } };
    expect(() => analyze(resources)).toThrow(
      /InvalidParameterValueException: table StatusTable has no stream/,
    );
  });

  it('refuses a rule on a bus the stack does not have, and an InputTransformer', () => {
    const resources = completion();
    const rule = resources.CompletionRule!;
    resources.CompletionRule = { ...rule, Properties: { ...rule.Properties, EventBusName: 'elsewhere' } };
    expect(() => analyze(resources)).toThrow(
      /CompletionRule \(AWS::Events::Rule\): EventBusName "elsewhere" is not an event bus/,
    );
    resources.CompletionRule = {
      ...rule,
      Properties: {
        ...rule.Properties,
        Targets: [{ Id: 'X', Arn: { 'Fn::GetAtt': ['Results', 'Arn'] }, InputTransformer: {} }],
      },
    };
    expect(() => analyze(resources)).toThrow(/Targets\[0\]: InputTransformer is not supported locally/);
  });
});
