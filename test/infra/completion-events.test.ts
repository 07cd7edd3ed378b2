/**
 * Completion events, webhooks, job results and follow-up jobs in the template (issue 18;
 * docs/DESIGN.md §3.6, §3.7): the stage's bus; the status table's stream (new and old images) as
 * the outbox; the relay's stream mapping with its exact filter, partial batch failures, bisect,
 * unlimited retries for 23 hours and the outbox failure queue (alarmed); the relay's
 * least-privilege role; webhooks as API destinations (connection with the auth header from Secrets
 * Manager, rate limit, rule pattern, retry policy, notifications DLQ open to its rules only,
 * alarmed); the webhook settings refused at synth; `completionEvents.enabled: false`; the result
 * bucket and its grants; the consumers' sends of follow-up jobs; `GET /v1/messages/{id}/result`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { DynamoDBRecord } from 'aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  ConfigError,
  resolveSettings,
  type PipelineSettingsInput,
  type WebhookSettings,
} from 'event-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStageConfig, STAGE_NAMES, type StageName } from '../../app/stages';
import { compileEventPattern, compileFilterCriteria } from '../../local/triggers/filter-criteria';
import { buildStack, synthConfig, synthStage, testApp } from '../helpers/synth';
import { type CfnTemplate, permissionLine, roleTables } from './iam-table';

type Resource = {
  Type: string;
  Properties: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  DeletionPolicy?: string;
};

const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const ref = (id: string) => ({ Ref: id });
const allow = (actions: readonly string[], resources: readonly string[], condition = '') =>
  actions.flatMap((a) => resources.map((r) => permissionLine('Allow', a, r, condition)));

/** The resources of `type`, by logical id, optionally those whose properties pass `where`. */
function resourcesOf(
  t: Template,
  type: string,
  where: (p: Resource['Properties']) => boolean = () => true,
): [string, Resource][] {
  return (Object.entries(t.findResources(type)) as [string, Resource][]).filter(([, r]) =>
    where(r.Properties ?? {}),
  );
}

/** The one resource of `type` passing `where` (fails on none or several). */
function only(
  t: Template,
  type: string,
  where: (p: Resource['Properties']) => boolean = () => true,
): [string, Resource] {
  const found = resourcesOf(t, type, where);
  expect(
    found.map(([id]) => id),
    `exactly one ${type}`,
  ).toHaveLength(1);
  return found[0]!;
}

/** A pipeline function by its Powertools service name. */
const fnOf = (t: Template, service: string) =>
  only(t, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service);

/** The sorted permission lines of the role a pipeline function runs as. */
function permissionsOf(t: Template, service: string): readonly string[] {
  const table = roleTables(t.toJSON() as CfnTemplate).find((r) => r.owner === service);
  expect(table, `role of ${service}`).toBeDefined();
  return table!.permissions;
}

/** The writes of a pipeline function to its own log group only. */
function ownLogs(t: Template, service: string): string[] {
  const group = fnOf(t, service)[1].Properties.LoggingConfig.LogGroup.Ref as string;
  return allow(
    ['logs:CreateLogStream', 'logs:PutLogEvents'],
    [`<${group}.Arn>`, `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<${group}>`],
  );
}

/** The alarm topic every alarm notifies. */
const topicOf = (t: Template) => only(t, 'AWS::SNS::Topic')[0];

const BUS_ID = 'CompletionEventsBusF19C6D83';
const OUTBOX_ID = 'CompletionEventsOutboxFailures8D3C7F6C';
const RELAY_ID = 'CompletionEventsRelayFunctionAB805167';

/** Exactly the relay mapping's filter (docs/DESIGN.md §3.6): new or changed status rows whose new status is terminal. */
const RELAY_FILTER = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: {
    Keys: { pk: { S: [{ prefix: 'msg#' }] } },
    NewImage: { status: { S: ['succeeded', 'failed'] } },
  },
};

/** A stream record of the status table as Lambda hands it to the relay. */
const streamRecord = (eventName: string, pk: string, status?: string, oldStatus?: string): DynamoDBRecord =>
  ({
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { pk: { S: pk } },
      ...(status ? { NewImage: { pk: { S: pk }, status: { S: status } } } : {}),
      ...(oldStatus ? { OldImage: { pk: { S: pk }, status: { S: oldStatus } } } : {}),
      SequenceNumber: '100',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  }) as DynamoDBRecord;

describe('completion events on stage dev (the defaults: enabled, no webhook)', () => {
  let t: Template;
  beforeAll(() => {
    t = synthStage('dev');
  });

  it("publishes on the stage's own bus, named after the stack, and names it in the outputs", () => {
    const [busId, bus] = only(t, 'AWS::Events::EventBus');
    expect(busId).toBe(BUS_ID);
    expect(bus.Properties).toEqual({ Name: 'EventPipeline-dev-events' });
    expect(t.toJSON().Outputs.EventBusName.Value).toEqual(ref(BUS_ID));
    expect(fnOf(t, 'completion-relay')[1].Properties.Environment.Variables.EVENT_BUS_NAME).toEqual(
      ref(BUS_ID),
    );
  });

  it("streams the status table's new and old images (the outbox)", () => {
    expect(t.toJSON().Resources.StatusTable.Properties.StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
  });

  it('maps the stream to the relay: in order from the oldest record, partial failures, bisect, retries for 23 hours, then the outbox failure queue', () => {
    const [, mapping] = only(t, 'AWS::Lambda::EventSourceMapping', (p) => p.FunctionName?.Ref === RELAY_ID);
    const { FilterCriteria, ...settings } = mapping.Properties;
    expect(settings).toEqual({
      EventSourceArn: { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
      FunctionName: ref(RELAY_ID),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: 23 * 3600,
      DestinationConfig: { OnFailure: { Destination: arn(OUTBOX_ID) } },
    });
    expect(FilterCriteria.Filters).toHaveLength(1);
    expect(JSON.parse(FilterCriteria.Filters[0].Pattern)).toEqual(RELAY_FILTER);
  });

  it('lets through only inserts and changes of status rows whose new status is succeeded or failed', () => {
    const [, mapping] = only(t, 'AWS::Lambda::EventSourceMapping', (p) => p.FunctionName?.Ref === RELAY_ID);
    // The filter-criteria engine of local mode, which speaks Lambda's pattern language.
    const passes = compileFilterCriteria<DynamoDBRecord>(mapping.Properties.FilterCriteria, {
      dataKey: null,
    });

    expect(passes(streamRecord('MODIFY', 'msg#a', 'succeeded', 'running'))).toBe(true);
    expect(passes(streamRecord('MODIFY', 'msg#a', 'failed', 'running'))).toBe(true);
    expect(passes(streamRecord('INSERT', 'msg#a', 'failed'))).toBe(true);
    expect(passes(streamRecord('MODIFY', 'msg#a', 'running', 'queued'))).toBe(false);
    expect(passes(streamRecord('MODIFY', 'msg#a', 'accepted'))).toBe(false);
    expect(passes(streamRecord('REMOVE', 'msg#a', undefined, 'succeeded'))).toBe(false);
    expect(passes(streamRecord('MODIFY', 'key#a', 'succeeded', 'running'))).toBe(false);
  });

  it('lets the relay read this stream, put events on this bus and describe a failed batch on its queue, nothing more', () => {
    expect(permissionsOf(t, 'completion-relay')).toEqual(
      [
        ...allow(
          ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          ['<StatusTable.StreamArn>'],
        ),
        // ListStreams supports no resource type; the X-Ray writes (dev traces) neither.
        ...allow(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']),
        ...allow(['events:PutEvents'], [`<${BUS_ID}.Arn>`]),
        ...allow(['sqs:SendMessage'], [`<${OUTBOX_ID}.Arn>`]),
        ...ownLogs(t, 'completion-relay'),
      ].sort(),
    );
    expect(
      roleTables(t.toJSON() as CfnTemplate).find((r) => r.owner === 'completion-relay')?.managedPolicies,
    ).toEqual([]);
  });

  it('keeps the outbox failures 14 days, encrypted, TLS-only, and alarms on the first one', () => {
    const outbox = t.toJSON().Resources[OUTBOX_ID] as Resource;
    expect(outbox.Properties).toEqual({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    const [, policy] = only(t, 'AWS::SQS::QueuePolicy', (p) => p.Queues?.[0]?.Ref === OUTBOX_ID);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: arn(OUTBOX_ID),
      },
    ]);
    const [, alarm] = only(
      t,
      'AWS::CloudWatch::Alarm',
      (p) => p.AlarmName === 'EventPipeline-dev-OutboxFailuresAlarm',
    );
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [OUTBOX_ID, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topicOf(t))],
      OKActions: [ref(topicOf(t))],
    });
    expect(alarm.Properties.AlarmDescription).toMatch(
      /^Completion events could not be published for 23 hours/,
    );
  });

  it('alarms when completion events fall 5 minutes behind their status writes (iterator age)', () => {
    const [, alarm] = only(
      t,
      'AWS::CloudWatch::Alarm',
      (p) => p.AlarmName === 'EventPipeline-dev-RelayIteratorAgeAlarm',
    );
    const [relayId] = only(t, 'AWS::Lambda::Function', (p) =>
      String(p.Description).startsWith('Publishes a completion event'),
    );
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: ref(relayId) }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      Threshold: 300_000,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topicOf(t))],
      OKActions: [ref(topicOf(t))],
    });
  });

  it('has no webhook resources and no rule on the bus without webhooks', () => {
    expect(resourcesOf(t, 'AWS::Events::Connection')).toEqual([]);
    expect(resourcesOf(t, 'AWS::Events::ApiDestination')).toEqual([]);
    expect(resourcesOf(t, 'AWS::Events::Rule', (p) => p.EventBusName !== undefined)).toEqual([]);
    expect(
      resourcesOf(t, 'AWS::SQS::Queue', (p) => p.RedrivePolicy === undefined)
        .map(([id]) => id)
        .sort(),
    ).toEqual([OUTBOX_ID, 'FifoDlq', 'StandardDlq'].sort());
    const outputs = t.toJSON().Outputs;
    expect(outputs.NotificationsDlqUrl).toBeUndefined();
    expect(outputs.NotificationsDlqArn).toBeUndefined();
    expect(outputs.OutboxFailuresUrl.Value).toEqual(ref(OUTBOX_ID));
    expect(outputs.CompletionRelayLogGroup.Value).toEqual(
      fnOf(t, 'completion-relay')[1].Properties.LoggingConfig.LogGroup,
    );
  });
});

/** Two webhooks: one narrowed to a tenant's successes with its own limits, one with every default. */
const BILLING: WebhookSettings = {
  name: 'billing-hook',
  url: 'https://hooks.example.com/done',
  tenant: 'acme',
  outcomes: ['succeeded'],
  auth: { header: 'X-Api-Key', secretName: 'billing/webhook', secretField: 'key' },
  ratePerSecond: 5,
  retryAttempts: 10,
  maxEventAgeSeconds: 3600,
};
const OPS: WebhookSettings = {
  name: 'ops',
  url: 'https://ops.example.com/hook',
  auth: { header: 'Authorization', secretName: 'ops-hook' },
};
const WITH_WEBHOOKS: PipelineSettingsInput = {
  completionEvents: { enabled: true, webhooks: [BILLING, OPS] },
};

describe('webhooks (stage dev with two)', () => {
  let t: Template;
  let resources: Record<string, Resource>;
  /** Each webhook's connection, destination and rule, found by their descriptions. */
  const parts = (name: string) => {
    const [connection] = only(t, 'AWS::Events::Connection', (p) =>
      String(p.Description).startsWith(`webhook ${name}:`),
    );
    const [destination] = only(t, 'AWS::Events::ApiDestination', (p) => p.Description === `webhook ${name}`);
    const [rule] = only(
      t,
      'AWS::Events::Rule',
      (p) => p.Description === `Completion events to webhook ${name}`,
    );
    return { connection, destination, rule };
  };
  const dlqId = () => {
    const ids = resourcesOf(t, 'AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => id.startsWith('CompletionEventsNotificationsDlq'));
    expect(ids).toHaveLength(1);
    return ids[0]!;
  };
  beforeAll(() => {
    t = synthConfig(loadStageConfig('dev', WITH_WEBHOOKS));
    resources = t.toJSON().Resources;
  });

  it('keeps each auth header in a connection as a Secrets Manager reference, never the secret itself', () => {
    expect(resources[parts('billing-hook').connection]!.Properties).toEqual({
      AuthorizationType: 'API_KEY',
      AuthParameters: {
        ApiKeyAuthParameters: {
          ApiKeyName: 'X-Api-Key',
          ApiKeyValue: '{{resolve:secretsmanager:billing/webhook:SecretString:key::}}',
        },
      },
      Description: 'webhook billing-hook: the X-Api-Key header',
    });
    expect(resources[parts('ops').connection]!.Properties.AuthParameters).toEqual({
      ApiKeyAuthParameters: {
        ApiKeyName: 'Authorization',
        ApiKeyValue: '{{resolve:secretsmanager:ops-hook:SecretString:::}}',
      },
    });
    // No secret of the stack's own, and the secret names only ever appear as dynamic references.
    expect(resourcesOf(t, 'AWS::SecretsManager::Secret')).toEqual([]);
    const text = JSON.stringify(t.toJSON());
    expect(text.match(/[^"]*secretsmanager[^"]*/g)).toEqual([
      '{{resolve:secretsmanager:billing/webhook:SecretString:key::}}',
      '{{resolve:secretsmanager:ops-hook:SecretString:::}}',
    ]);
  });

  it('POSTs to each endpoint through an API destination with its rate limit (10 a second by default)', () => {
    for (const [hook, rate] of [
      [BILLING, 5],
      [OPS, 10],
    ] as const) {
      const { connection, destination } = parts(hook.name);
      expect(resources[destination]!.Properties).toEqual({
        ConnectionArn: arn(connection),
        Description: `webhook ${hook.name}`,
        HttpMethod: 'POST',
        InvocationEndpoint: hook.url,
        InvocationRateLimitPerSecond: rate,
      });
    }
  });

  it("sends each webhook the bus's completion events of its outcomes (and tenant), retried by its policy, then to the notifications DLQ", () => {
    const dlq = dlqId();
    for (const [hook, pattern, retry] of [
      [
        BILLING,
        { source: ['event-pipeline'], 'detail-type': ['Message Succeeded'], detail: { tenant: ['acme'] } },
        { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
      ],
      [
        OPS,
        { source: ['event-pipeline'], 'detail-type': ['Message Succeeded', 'Message Failed'] },
        { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 86_400 },
      ],
    ] as const) {
      const { destination, rule } = parts(hook.name);
      const p = resources[rule]!.Properties;
      expect(p.EventBusName).toEqual(ref(BUS_ID));
      expect(p.State).toBe('ENABLED');
      expect(p.EventPattern).toEqual(pattern);
      expect(p.Targets).toHaveLength(1);
      const { RoleArn, ...target } = p.Targets[0];
      expect(target).toEqual({
        Arn: arn(destination),
        Id: 'Target0',
        RetryPolicy: retry,
        DeadLetterConfig: { Arn: arn(dlq) },
      });
      // The role EventBridge assumes may invoke this destination only.
      const role = RoleArn['Fn::GetAtt'][0] as string;
      expect(resources[role]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } },
      ]);
      expect(roleTables(t.toJSON() as CfnTemplate).find((r) => r.role === role)?.permissions).toEqual(
        allow(['events:InvokeApiDestination'], [`<${destination}.Arn>`]),
      );
    }
  });

  it("matches the rules' patterns as EventBridge does: outcome, then tenant", () => {
    const matches = (name: string) =>
      compileEventPattern(resources[parts(name).rule]!.Properties.EventPattern, name);
    const event = (detailType: string, tenant: string | null) => ({
      source: 'event-pipeline',
      'detail-type': detailType,
      detail: { id: 'm-1', tenant },
    });

    expect(matches('billing-hook')(event('Message Succeeded', 'acme'))).toBe(true);
    expect(matches('billing-hook')(event('Message Succeeded', 'globex'))).toBe(false);
    expect(matches('billing-hook')(event('Message Failed', 'acme'))).toBe(false);
    expect(matches('ops')(event('Message Failed', null))).toBe(true);
    expect(matches('ops')(event('Message Succeeded', 'globex'))).toBe(true);
    expect(matches('ops')({ ...event('Message Succeeded', null), source: 'someone-else' })).toBe(false);
  });

  it('opens the notifications DLQ to these two rules only, over TLS, and alarms on its first message', () => {
    const dlq = dlqId();
    expect(resources[dlq]!.Properties).toEqual({
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
    const [, policy] = only(t, 'AWS::SQS::QueuePolicy', (p) => p.Queues?.[0]?.Ref === dlq);
    const statements = policy.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements.map(({ Sid: _sid, ...s }) => s)).toEqual([
      {
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: arn(dlq),
      },
      ...['billing-hook', 'ops'].map((name) => ({
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': arn(parts(name).rule) } },
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: arn(dlq),
      })),
    ]);
    const [, alarm] = only(
      t,
      'AWS::CloudWatch::Alarm',
      (p) => p.AlarmName === 'EventPipeline-dev-NotificationsDlqAlarm',
    );
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topicOf(t))],
      OKActions: [ref(topicOf(t))],
    });
    const outputs = t.toJSON().Outputs;
    expect(outputs.NotificationsDlqUrl.Value).toEqual(ref(dlq));
    expect(outputs.NotificationsDlqArn.Value).toEqual(arn(dlq));
  });
});

describe('cdk-nag AwsSolutions on stage dev with webhooks', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-webhooks-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('has no unacknowledged finding', () => {
    const { app } = buildStack(loadStageConfig('dev', WITH_WEBHOOKS), testApp({ outdir }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let synthError: Error | undefined;
    try {
      app.synth();
    } catch (error) {
      synthError = error as Error;
    }
    const reports = (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: {
          pluginName: string;
          violations: { ruleName: string; violatingConstructs: unknown[] }[];
        }[];
      }
    ).pluginReports;

    expect(synthError?.message).toBeUndefined();
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
    expect(reports.map((r) => r.pluginName)).toContain('AwsSolutions');
  });
});

describe('webhook settings refused at synth, in one line naming the setting', () => {
  const hooks = (...webhooks: WebhookSettings[]) => ({ completionEvents: { enabled: true, webhooks } });
  const at = 'Stage "dev": completionEvents.webhooks';

  const HTTPS = 'must be https:// (http:// only on 127.0.0.1 or localhost, for local mode)';
  it.each([
    [
      'an http:// endpoint off this machine',
      hooks({ ...OPS, url: 'http://hooks.example.com/x' }),
      `${at}[0].url ${HTTPS}`,
    ],
    [
      'another scheme, even on this machine',
      hooks({ ...OPS, url: 'ftp://127.0.0.1/x' }),
      `${at}[0].url ${HTTPS}`,
    ],
    ['an endpoint that is no URL', hooks({ ...OPS, url: 'hooks.example.com' }), `${at}[0].url is not a URL`],
    ['a name used twice', hooks(OPS, { ...BILLING, name: 'ops' }), `${at}[1].name "ops" is used twice`],
    [
      'a name with capitals',
      hooks({ ...OPS, name: 'Ops_Hook' }),
      `${at}[0].name must match /^[a-z][a-z0-9-]{0,31}$/`,
    ],
    [
      'a header with spaces',
      hooks({ ...OPS, auth: { ...OPS.auth, header: 'X Api Key' } }),
      `${at}[0].auth.header must be an HTTP header name`,
    ],
    [
      'a header with a colon',
      hooks({ ...OPS, auth: { ...OPS.auth, header: 'X-Key:' } }),
      `${at}[0].auth.header must be an HTTP header name`,
    ],
    [
      'no secret name',
      hooks({ ...OPS, auth: { ...OPS.auth, secretName: '' } }),
      `${at}[0].auth.secretName must name a Secrets Manager secret`,
    ],
    ['a rate of 0', hooks({ ...OPS, ratePerSecond: 0 }), `${at}[0].ratePerSecond must be an integer 1–300`],
    [
      'a rate of 301',
      hooks({ ...OPS, ratePerSecond: 301 }),
      `${at}[0].ratePerSecond must be an integer 1–300`,
    ],
    [
      'a fractional rate',
      hooks({ ...OPS, ratePerSecond: 2.5 }),
      `${at}[0].ratePerSecond must be an integer 1–300`,
    ],
    ['-1 retries', hooks({ ...OPS, retryAttempts: -1 }), `${at}[0].retryAttempts must be an integer 0–185`],
    ['186 retries', hooks({ ...OPS, retryAttempts: 186 }), `${at}[0].retryAttempts must be an integer 0–185`],
    [
      'an event age of 59 s',
      hooks({ ...OPS, maxEventAgeSeconds: 59 }),
      `${at}[0].maxEventAgeSeconds must be an integer 60–86400`,
    ],
    [
      'an event age over a day',
      hooks({ ...OPS, maxEventAgeSeconds: 86_401 }),
      `${at}[0].maxEventAgeSeconds must be an integer 60–86400`,
    ],
    ['no outcome', hooks({ ...OPS, outcomes: [] }), `${at}[0].outcomes must list succeeded and/or failed`],
    [
      'an unknown outcome',
      hooks({ ...OPS, outcomes: ['done' as 'failed'] }),
      `${at}[0].outcomes must list succeeded and/or failed`,
    ],
    [
      'webhooks with completion events off',
      { completionEvents: { enabled: false, webhooks: [OPS] } },
      'Stage "dev": completionEvents.webhooks need completionEvents.enabled',
    ],
  ] as [string, PipelineSettingsInput, string][])('refuses %s', (_case, settings, message) => {
    let error: unknown;
    try {
      resolveSettings('dev', settings);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('accepts http:// on this machine (local mode) and every limit at its bounds', () => {
    expect(() =>
      resolveSettings(
        'dev',
        hooks(
          {
            ...OPS,
            url: 'http://127.0.0.1:9000/hook',
            ratePerSecond: 1,
            retryAttempts: 0,
            maxEventAgeSeconds: 60,
          },
          {
            ...BILLING,
            url: 'http://localhost:8080/x',
            ratePerSecond: 300,
            retryAttempts: 185,
            maxEventAgeSeconds: 86_400,
            outcomes: ['failed', 'succeeded'],
          },
        ),
      ),
    ).not.toThrow();
  });
});

describe('completionEvents.enabled: false', () => {
  let t: Template;
  beforeAll(() => {
    t = synthConfig(loadStageConfig('dev', { completionEvents: { enabled: false, webhooks: [] } }));
  });

  it('leaves out the stream, the bus, the relay, its mapping, queue, alarm and outputs', () => {
    expect(t.toJSON().Resources.StatusTable.Properties.StreamSpecification).toBeUndefined();
    expect(resourcesOf(t, 'AWS::Events::EventBus')).toEqual([]);
    expect(
      resourcesOf(
        t,
        'AWS::Lambda::Function',
        (p) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'completion-relay',
      ),
    ).toEqual([]);
    expect(
      resourcesOf(t, 'AWS::Lambda::EventSourceMapping').map(
        ([, m]) => m.Properties.EventSourceArn['Fn::GetAtt'],
      ),
    ).toEqual([
      ['StandardQueue', 'Arn'],
      ['FifoQueue', 'Arn'],
    ]);
    expect(
      resourcesOf(t, 'AWS::SQS::Queue')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['FifoDlq', 'FifoQueue', 'StandardDlq', 'StandardQueue']);
    expect(resourcesOf(t, 'AWS::CloudWatch::Alarm', (p) => String(p.AlarmName).includes('Outbox'))).toEqual(
      [],
    );
    const outputs = Object.keys(t.toJSON().Outputs);
    for (const key of ['EventBusName', 'CompletionRelayLogGroup', 'OutboxFailuresUrl'])
      expect(outputs).not.toContain(key);
    // Results do not depend on events.
    expect(outputs).toContain('ResultBucketName');
    only(t, 'AWS::S3::Bucket', (p) => p.LifecycleConfiguration?.Rules?.[0]?.Prefix === 'results/');
  });
});

/** Status rows' retention + 1 day: S3 counts whole days from creation, a row's TTL from its last write. */
const RESULT_EXPIRATION_DAYS: Record<StageName, number> = { dev: 8, staging: 15, prod: 31, local: 2 };

describe.each(STAGE_NAMES)('result bucket on stage %s', (stage) => {
  const config = loadStageConfig(stage);
  let t: Template;
  let bucket: Resource;
  beforeAll(() => {
    t = synthStage(stage);
    bucket = t.toJSON().Resources.ResultBucket as Resource;
  });

  it('is encrypted (SSE-S3), private, owner-enforced and expires results with the status rows', () => {
    expect(RESULT_EXPIRATION_DAYS[stage]).toBe(config.status.retentionDays + 1);
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'expire-results-with-status-rows',
            Prefix: 'results/',
            ExpirationInDays: RESULT_EXPIRATION_DAYS[stage],
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          },
        ],
      },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.DeletionPolicy).toBe(config.status.retain ? 'Retain' : 'Delete');
  });

  it('denies every request without TLS 1.2', () => {
    const [, policy] = only(t, 'AWS::S3::BucketPolicy', (p) => p.Bucket?.Ref === 'ResultBucket');
    const denies = (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).filter(
      (s) => s.Effect === 'Deny',
    );
    const everything = [arn('ResultBucket'), { 'Fn::Join': ['', [arn('ResultBucket'), '/*']] }];
    expect(denies).toEqual([
      {
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: everything,
      },
      {
        Action: 's3:*',
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: everything,
      },
    ]);
  });

  it('lets the consumers PutObject and the producer GetObject under results/, and no other role touch it', () => {
    const tables = roleTables(t.toJSON() as CfnTemplate);
    const onResults = Object.fromEntries(
      tables
        .map((r) => [r.owner, r.permissions.filter((l) => l.includes('<ResultBucket'))] as const)
        .filter(([, lines]) => lines.length > 0),
    );
    const autoDelete = config.status.retain
      ? {}
      : {
          'custom-resource provider CustomS3AutoDeleteObjectsCustomResourceProvider': [
            'ResultBucket.Arn>',
            'ResultBucket.Arn>/*',
          ]
            .flatMap((r) =>
              ['s3:DeleteObject*', 's3:GetBucket*', 's3:List*', 's3:PutBucketPolicy'].map(
                (a) => `Allow ${a} on <${r} via AWS::S3::BucketPolicy`,
              ),
            )
            .sort(),
        };
    expect(onResults).toEqual({
      consumer: allow(['s3:PutObject'], ['<ResultBucket.Arn>/results/*']),
      'fifo-consumer': allow(['s3:PutObject'], ['<ResultBucket.Arn>/results/*']),
      producer: allow(['s3:GetObject'], ['<ResultBucket.Arn>/results/*']),
      ...autoDelete,
    });
    for (const service of ['producer', 'consumer', 'fifo-consumer'])
      expect(fnOf(t, service)[1].Properties.Environment.Variables.RESULT_BUCKET, service).toEqual(
        ref('ResultBucket'),
      );
    expect(t.toJSON().Outputs.ResultBucketName.Value).toEqual(ref('ResultBucket'));
  });
});

describe('follow-up jobs (ctx.enqueue) on stage dev', () => {
  let t: Template;
  beforeAll(() => {
    t = synthStage('dev');
  });

  it.each([
    ['consumer', 'StandardQueue', 'StandardDlq'],
    ['fifo-consumer', 'FifoQueue', 'FifoDlq'],
  ])(
    "lets %s send to every lane's queue and its own DLQ, and consume its own queue only",
    (service, own, dlq) => {
      const sqs = permissionsOf(t, service).filter((l) => l.includes(' sqs:'));
      expect(sqs).toEqual(
        [
          ...allow(
            [
              'sqs:ChangeMessageVisibility',
              'sqs:DeleteMessage',
              'sqs:GetQueueAttributes',
              'sqs:GetQueueUrl',
              'sqs:ReceiveMessage',
            ],
            [`<${own}.Arn>`],
          ),
          ...allow(['sqs:SendMessage'], ['<StandardQueue.Arn>', '<FifoQueue.Arn>', `<${dlq}.Arn>`]),
        ].sort(),
      );
    },
  );

  it("gives every consumer the lanes' queue URLs and the API's probe rules", () => {
    const producer = fnOf(t, 'producer')[1].Properties.Environment.Variables;
    for (const service of ['consumer', 'fifo-consumer']) {
      const vars = fnOf(t, service)[1].Properties.Environment.Variables;
      expect(vars, service).toMatchObject({
        STANDARD_QUEUE_URL: ref('StandardQueue'),
        FIFO_QUEUE_URL: ref('FifoQueue'),
        LANE_QUEUE_URLS: '{}',
        ALLOWED_PROBE_MODES: producer.ALLOWED_PROBE_MODES,
        PROBE_LIMITS: producer.PROBE_LIMITS,
      });
    }
  });
});

describe.each(STAGE_NAMES)('GET /v1/messages/{id}/result on stage %s', (stage) => {
  it("is ANY on {id}/result, authorized exactly like the API's other methods, proxied to the producer", () => {
    const t = synthStage(stage);
    const [idResource] = only(t, 'AWS::ApiGateway::Resource', (p) => p.PathPart === '{id}');
    const [resultResource] = only(
      t,
      'AWS::ApiGateway::Resource',
      (p) => p.PathPart === 'result' && p.ParentId?.Ref === idResource,
    );
    const methods = resourcesOf(t, 'AWS::ApiGateway::Method');
    const [, result] = only(t, 'AWS::ApiGateway::Method', (p) => p.ResourceId?.Ref === resultResource);
    const authOf = (p: Resource['Properties']) => ({
      AuthorizationType: p.AuthorizationType,
      AuthorizerId: p.AuthorizerId,
      ApiKeyRequired: p.ApiKeyRequired,
    });
    expect(methods).toHaveLength(4);
    for (const [id, m] of methods) expect(authOf(m.Properties), id).toEqual(authOf(result.Properties));
    const [, status] = only(t, 'AWS::ApiGateway::Method', (p) => p.ResourceId?.Ref === idResource);
    expect(result.Properties.HttpMethod).toBe('ANY');
    expect(result.Properties.Integration).toEqual(status.Properties.Integration);
    expect(
      resourcesOf(
        t,
        'AWS::Lambda::Permission',
        (p) =>
          p.Principal === 'apigateway.amazonaws.com' &&
          JSON.stringify(p.SourceArn).endsWith('/*/v1/messages/*/result"]]}'),
      ),
    ).toHaveLength(2); // the stage and the console's test invocations
  });
});
