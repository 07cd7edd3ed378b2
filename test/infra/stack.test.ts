import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config/defaults';
import { ConfigError } from '../../lib/config/errors';
import { loadStageConfig } from '../../app/stages';
import type { StageConfig } from '../../lib/config/types';
import { STAGE_NAMES, type StageName } from '../../app/stages';
import { QueueWithDlq } from '../../lib/constructs/queue-with-dlq';
import { synthConfig, synthStage } from '../helpers/synth';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

const DAY = 24 * 60 * 60;
const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const ref = (logicalId: string) => ({ Ref: logicalId });
const queueName = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'QueueName'] });

/** The one resource of `type` (fails when there are none or several). */
function only(template: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(template.findResources(type, { Properties: props }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** The pipeline's own functions (not CDK's custom-resource providers), by Powertools service name. */
function pipelineFunctions(template: Template): Record<string, [string, Resource]> {
  const out: Record<string, [string, Resource]> = {};
  for (const [id, r] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
    const service = r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
    if (typeof service === 'string') out[service] = [id, r as Resource];
  }
  return out;
}

/** Expected MaximumBatchingWindowInSeconds of a mapping (CDK omits a zero window). */
const windowOf = (s: StageConfig['consumer']) =>
  s.maxBatchingWindowSeconds > 0 ? s.maxBatchingWindowSeconds : Match.absent();

// Figures a reader can check against docs/DESIGN.md §7 without re-deriving them from the config.
const EXPECTED: Record<
  StageName,
  { maxAttempts: number; maxReceiveCount: number; logRetentionDays: number; retainArchive: boolean }
> = {
  dev: { maxAttempts: 5, maxReceiveCount: 50, logRetentionDays: 7, retainArchive: false },
  staging: { maxAttempts: 5, maxReceiveCount: 50, logRetentionDays: 30, retainArchive: false },
  prod: { maxAttempts: 6, maxReceiveCount: 60, logRetentionDays: 90, retainArchive: true },
  local: { maxAttempts: 3, maxReceiveCount: 30, logRetentionDays: 1, retainArchive: false },
};

describe.each(STAGE_NAMES)('stage %s', (stage) => {
  const config = loadStageConfig(stage);
  let template: Template;
  beforeAll(() => {
    template = synthStage(stage);
  });

  it('resolves the stage figures the design promises', () => {
    expect({
      maxAttempts: config.maxAttempts,
      maxReceiveCount: config.maxReceiveCount,
      logRetentionDays: config.logRetentionDays,
      retainArchive: config.retainArchive,
    }).toEqual(EXPECTED[stage]);
  });

  describe('queues', () => {
    it('pins the logical ids of the stateful resources', () => {
      // The outbox failure queue (completion events) keeps CDK's id: a rename would replace it, and this fails first.
      expect(Object.keys(template.findResources('AWS::SQS::Queue')).sort()).toEqual([
        'CompletionEventsOutboxFailures8D3C7F6C',
        'FifoDlq',
        'FifoQueue',
        'StandardDlq',
        'StandardQueue',
      ]);
      expect(Object.keys(template.findResources('AWS::S3::Bucket')).sort()).toEqual([
        'FailureArchiveBucket',
        'ResultBucket',
      ]);
    });

    it('encrypts every queue with SQS-managed keys', () => {
      const resources = template.toJSON().Resources;
      for (const id of ['StandardQueue', 'StandardDlq', 'FifoQueue', 'FifoDlq']) {
        expect(resources[id].Properties.SqsManagedSseEnabled, id).toBe(true);
      }
    });

    it('lets every queue, DLQs included, take SQS 1 MiB messages', () => {
      const resources = template.toJSON().Resources;
      for (const id of ['StandardQueue', 'StandardDlq', 'FifoQueue', 'FifoDlq']) {
        expect(resources[id].Properties.MaximumMessageSize, id).toBe(1_048_576);
      }
    });

    it('redrives the standard queue to the standard DLQ after maxReceiveCount receives', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        FifoQueue: Match.absent(),
        MessageRetentionPeriod: config.queueRetentionDays * DAY,
        RedrivePolicy: { deadLetterTargetArn: arn('StandardDlq'), maxReceiveCount: config.maxReceiveCount },
      });
      expect(template.toJSON().Resources.StandardDlq.Properties.FifoQueue).toBeUndefined();
    });

    it('redrives the FIFO queue to a FIFO DLQ', () => {
      const resources = template.toJSON().Resources;
      expect(resources.FifoQueue.Properties).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        MessageRetentionPeriod: config.queueRetentionDays * DAY,
        RedrivePolicy: { deadLetterTargetArn: arn('FifoDlq'), maxReceiveCount: config.maxReceiveCount },
      });
      expect(resources.FifoDlq.Properties.FifoQueue).toBe(true);
    });

    it(`${config.fifoHighThroughput ? 'enables' : 'does not enable'} FIFO high throughput`, () => {
      const fifo = template.toJSON().Resources.FifoQueue.Properties;
      if (config.fifoHighThroughput) {
        expect(fifo).toMatchObject({
          DeduplicationScope: 'messageGroup',
          FifoThroughputLimit: 'perMessageGroupId',
        });
      } else {
        expect(fifo.DeduplicationScope).toBeUndefined();
        expect(fifo.FifoThroughputLimit).toBeUndefined();
      }
    });

    it('keeps DLQ messages for 14 days, longer than their source queue', () => {
      const resources = template.toJSON().Resources;
      for (const [source, dlq] of [
        ['StandardQueue', 'StandardDlq'],
        ['FifoQueue', 'FifoDlq'],
      ]) {
        expect(resources[dlq].Properties.MessageRetentionPeriod).toBe(14 * DAY);
        expect(resources[dlq].Properties.MessageRetentionPeriod).toBeGreaterThan(
          resources[source].Properties.MessageRetentionPeriod,
        );
      }
    });

    it('gives each consumed queue a visibility of at least 6 × function timeout + batching window', () => {
      const resources = template.toJSON().Resources;
      const all = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
      // The two lanes' queues, and the completion relay's mapping of the status table's stream (no visibility).
      const mappings = all.filter((m) => m.Properties.EventSourceArn['Fn::GetAtt'][1] === 'Arn');
      expect(mappings).toHaveLength(2);
      expect(all.filter((m) => !mappings.includes(m)).map((m) => m.Properties.EventSourceArn)).toEqual([
        { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
      ]);
      for (const m of mappings) {
        const queueId = m.Properties.EventSourceArn['Fn::GetAtt'][0] as string;
        const fn = resources[m.Properties.FunctionName.Ref];
        const needed = 6 * fn.Properties.Timeout + (m.Properties.MaximumBatchingWindowInSeconds ?? 0);
        expect(resources[queueId].Properties.VisibilityTimeout, queueId).toBeGreaterThanOrEqual(needed);
      }
    });

    it('locks every queue to TLS with a Deny on aws:SecureTransport false', () => {
      for (const id of ['StandardQueue', 'StandardDlq', 'FifoQueue', 'FifoDlq']) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [ref(id)],
          PolicyDocument: {
            Statement: Match.arrayWith([
              {
                Effect: 'Deny',
                Action: 'sqs:*',
                Principal: { AWS: '*' },
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                Resource: arn(id),
              },
            ]),
          },
        });
      }
    });
  });

  describe('consumers', () => {
    it.each([
      ['consumer', 'StandardQueue', 'consumer'],
      ['fifo-consumer', 'FifoQueue', 'fifoConsumer'],
    ] as const)(
      'maps %s to %s with partial batch responses and the stage settings',
      (service, queueId, key) => {
        const settings = config[key];
        const [fnId] = pipelineFunctions(template)[service];
        template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: arn(queueId),
          FunctionName: ref(fnId),
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          BatchSize: settings.batchSize,
          MaximumBatchingWindowInSeconds: windowOf(settings),
          ScalingConfig: { MaximumConcurrency: settings.maxConcurrency },
        });
      },
    );

    it.each(['consumer', 'fifo-consumer'])(
      'gives %s the stage attempt budget, with the redrive policy as its backstop',
      (service) => {
        const [, fn] = pipelineFunctions(template)[service]!;
        const env = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(env.MAX_ATTEMPTS).toBe(String(config.maxAttempts));
        expect(env.MAX_RECEIVE_COUNT).toBe(String(config.maxReceiveCount));
        expect(config.maxReceiveCount).toBeGreaterThan(config.maxAttempts);
      },
    );

    it('derives each queue visibility from the configured consumer timeout', () => {
      const resources = template.toJSON().Resources;
      expect(resources.StandardQueue.Properties.VisibilityTimeout).toBe(
        6 * config.consumer.timeoutSeconds + config.consumer.maxBatchingWindowSeconds,
      );
      expect(resources.FifoQueue.Properties.VisibilityTimeout).toBe(6 * config.fifoConsumer.timeoutSeconds);
    });
  });

  describe('functions', () => {
    it('has exactly the five pipeline functions', () => {
      expect(Object.keys(pipelineFunctions(template)).sort()).toEqual([
        'completion-relay',
        'consumer',
        'dlq-sweeper',
        'fifo-consumer',
        'producer',
      ]);
    });

    it.each([
      ['producer', () => 10, () => 256],
      ['consumer', (c: StageConfig) => c.consumer.timeoutSeconds, (c: StageConfig) => c.consumer.memoryMb],
      [
        'fifo-consumer',
        (c: StageConfig) => c.fifoConsumer.timeoutSeconds,
        (c: StageConfig) => c.fifoConsumer.memoryMb,
      ],
      ['dlq-sweeper', () => 120, () => 256],
      ['completion-relay', () => 30, () => 256],
    ] as const)(
      'runs %s on arm64 Node.js 22/24 with its timeout, logging JSON to a retained log group',
      (service, timeout, memory) => {
        const [, fn] = pipelineFunctions(template)[service];
        expect(fn.Properties).toMatchObject({
          Runtime: expect.stringMatching(/^nodejs2[24]\.x$/),
          Architectures: ['arm64'],
          Timeout: timeout(config),
          MemorySize: memory(config),
          LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
        });
        const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(template.toJSON().Resources[logGroupId]).toMatchObject({
          Type: 'AWS::Logs::LogGroup',
          Properties: { RetentionInDays: config.logRetentionDays },
        });
      },
    );
  });

  describe('failure archive bucket', () => {
    it('is versioned, encrypted and blocks all public access', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }),
            }),
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
    });

    it('expires records under failed/ per the stage lifecycle', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Prefix: 'failed/',
              Status: 'Enabled',
              ExpirationInDays: config.archiveExpirationDays ?? Match.absent(),
              NoncurrentVersionExpiration: { NoncurrentDays: config.archiveNoncurrentVersionDays },
            }),
          ]),
        },
      });
    });

    it('denies every non-TLS request in its bucket policy', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref('FailureArchiveBucket'),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: [
                arn('FailureArchiveBucket'),
                { 'Fn::Join': ['', [arn('FailureArchiveBucket'), '/*']] },
              ],
            }),
          ]),
        },
      });
    });

    if (EXPECTED[stage].retainArchive) {
      it('is retained on stack deletion and replacement, and never emptied', () => {
        template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
        template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
      });
    } else {
      it('is destroyed (and emptied first) with the stack', () => {
        template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
        template.hasResourceProperties('Custom::S3AutoDeleteObjects', {
          BucketName: ref('FailureArchiveBucket'),
        });
      });
    }
  });

  describe('alarms', () => {
    let topicId: string;
    beforeAll(() => {
      [topicId] = only(template, 'AWS::SNS::Topic');
    });

    it.each(['StandardDlq', 'FifoDlq'])('alarms on any message in %s, quiet when there is no data', (dlq) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: queueName(dlq) }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [ref(topicId)],
        OKActions: [ref(topicId)],
      });
    });

    it.each(['StandardQueue', 'FifoQueue'])(
      'alarms when the oldest message of %s is older than the stage limit',
      (queue) => {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Threshold: config.maxMessageAgeSeconds,
          Metrics: Match.arrayWith([
            Match.objectLike({
              MetricStat: Match.objectLike({
                Metric: {
                  Namespace: 'AWS/SQS',
                  MetricName: 'ApproximateAgeOfOldestMessage',
                  Dimensions: [{ Name: 'QueueName', Value: queueName(queue) }],
                },
              }),
            }),
          ]),
          AlarmActions: [ref(topicId)],
        });
      },
    );

    it.each(['producer', 'consumer', 'fifo-consumer', 'dlq-sweeper', 'completion-relay'])(
      'alarms on errors and throttles of %s',
      (service) => {
        const [fnId] = pipelineFunctions(template)[service];
        for (const metricName of ['Errors', 'Throttles']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
            Metrics: Match.arrayWith([
              Match.objectLike({
                MetricStat: Match.objectLike({
                  Metric: {
                    Namespace: 'AWS/Lambda',
                    MetricName: metricName,
                    Dimensions: [{ Name: 'FunctionName', Value: ref(fnId) }],
                  },
                }),
              }),
            ]),
            AlarmActions: [ref(topicId)],
          });
        }
      },
    );

    it('alarms on any API 5XX of the stage', () => {
      const [stageId] = only(template, 'AWS::ApiGateway::Stage');
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 0,
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/ApiGateway',
                MetricName: '5XXError',
                Dimensions: Match.arrayWith([{ Name: 'Stage', Value: ref(stageId) }]),
              },
            }),
          }),
        ]),
        AlarmActions: [ref(topicId)],
      });
    });

    it('alarms on archive write failures of every writer', () => {
      const archiveFailed = (service: string) =>
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'EventPipeline',
              MetricName: 'archiveFailed',
              Dimensions: [{ Name: 'service', Value: service }],
            },
          }),
        });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        Metrics: Match.arrayWith([
          archiveFailed('consumer'),
          archiveFailed('fifo-consumer'),
          archiveFailed('dlq-sweeper'),
        ]),
        AlarmActions: [ref(topicId)],
      });
    });

    it('notifies the alarm topic from every alarm', () => {
      const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
      // 2 DLQ depth + 2 message age + 5 × (errors + throttles) + API 5XX + archive failures + outbox failures
      // + relay iterator age
      expect(alarms).toHaveLength(18);
      for (const [id, alarm] of alarms) {
        expect(alarm.Properties.AlarmActions, id).toContainEqual(ref(topicId));
        expect(alarm.Properties.ActionsEnabled, id).not.toBe(false);
      }
    });

    it('encrypts the alarm topic with a rotating KMS key CloudWatch may use', () => {
      const [keyId] = only(template, 'AWS::KMS::Key', {
        EnableKeyRotation: true,
        Description: Match.stringLikeRegexp('alarm topic key$'),
      });
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn(keyId) });
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    });

    it('lets CloudWatch alarms of this account publish to the topic, over TLS only', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [ref(topicId)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: ref(topicId),
              Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } }),
            }),
          ]),
        },
      });
    });

    it('subscribes no email without an alarmEmail', () => {
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('has one dashboard named after the stack', () => {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: `EventPipeline-${stage}`,
      });
    });
  });

  describe('ingest API', () => {
    it("authenticates every method the stage's way: SigV4 (iam) or a tenant's API key (apiKey)", () => {
      const methods = Object.entries(template.findResources('AWS::ApiGateway::Method'));
      expect(methods.length).toBeGreaterThanOrEqual(2);
      for (const [id, m] of methods) {
        if (config.auth.mode === 'iam') {
          expect(m.Properties.AuthorizationType, id).toBe('AWS_IAM');
          expect(m.Properties.ApiKeyRequired, id).toBeUndefined();
        } else {
          expect(m.Properties.AuthorizationType, id).toBe('NONE');
          expect(m.Properties.ApiKeyRequired, id).toBe(true);
        }
      }
    });

    it('routes ANY /v1/messages, /v1/messages/batch, /v1/messages/{id} and /v1/messages/{id}/result to the producer as a Lambda proxy', () => {
      const [producerId] = pipelineFunctions(template).producer;
      const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map(
        (r) => r.Properties.PathPart,
      );
      expect(paths.sort()).toEqual(['batch', 'messages', 'result', 'v1', '{id}']);
      const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
      expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(['ANY', 'ANY', 'ANY', 'ANY']);
      for (const m of methods) {
        expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
        expect(JSON.stringify(m.Properties.Integration.Uri)).toContain(JSON.stringify(arn(producerId)));
      }
    });

    it('limits request bodies to 1 MiB less the envelope and DLQ attribute reserve (413 above)', () => {
      const [, producer] = pipelineFunctions(template).producer;
      const env = producer.Properties.Environment as { Variables: Record<string, string> };
      const limit = Number(env.Variables.MAX_BODY_BYTES);
      expect(limit).toBe(config.api.maxBodyBytes);
      expect(limit).toBe(1_048_576 - 4096);
    });

    it("gives each tenant (apiKey) its own key and usage plan, below the stage's limits", () => {
      const plans = Object.entries(template.findResources('AWS::ApiGateway::UsagePlan'));
      const keys = Object.values(template.findResources('AWS::ApiGateway::ApiKey'));
      if (config.auth.mode === 'iam') {
        expect(plans).toEqual([]);
        expect(keys).toEqual([]);
        return;
      }
      const [stageId] = only(template, 'AWS::ApiGateway::Stage');
      expect(keys.map((k) => k.Properties.Description).sort()).toEqual(
        config.auth.tenants.map((t) => `tenant ${t}`).sort(),
      );
      expect(plans).toHaveLength(config.auth.tenants.length);
      for (const [planId, plan] of plans) {
        expect(plan.Properties.ApiStages).toEqual([expect.objectContaining({ Stage: ref(stageId) })]);
        expect(plan.Properties.Throttle.RateLimit).toBeLessThan(config.api.rateLimit);
        expect(plan.Properties.Throttle.BurstLimit).toBeLessThan(config.api.burstLimit);
        expect(plan.Properties.Quota).toEqual({
          Limit: Math.floor(config.api.quotaPerDay / 2),
          Period: 'DAY',
        });
        template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
          UsagePlanId: ref(planId),
          KeyType: 'API_KEY',
        });
      }
    });

    it('writes JSON access logs and error execution logs for every method of the stage', () => {
      const [, apiStage] = only(template, 'AWS::ApiGateway::Stage');
      expect(apiStage.Properties).toMatchObject({
        StageName: stage,
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
          Format: expect.stringContaining('$context.requestId'),
        },
        MethodSettings: [
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            MetricsEnabled: true,
            DataTraceEnabled: false,
            ThrottlingRateLimit: config.api.rateLimit,
            ThrottlingBurstLimit: config.api.burstLimit,
          },
        ],
      });
      const access = apiStage.Properties.AccessLogSetting as {
        DestinationArn: { 'Fn::GetAtt': [string] };
        Format: string;
      };
      expect(JSON.parse(access.Format)).toMatchObject({
        requestId: '$context.requestId',
        status: '$context.status',
      });
      const logGroup = template.toJSON().Resources[access.DestinationArn['Fn::GetAtt'][0]];
      expect(logGroup).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: config.logRetentionDays },
      });
    });

    it.each([
      // An unknown route, and (iam) an unsigned request: API Gateway gives both this one type.
      config.auth.mode === 'iam'
        ? ['MISSING_AUTHENTICATION_TOKEN', '403', 'MissingAuthenticationToken']
        : ['MISSING_AUTHENTICATION_TOKEN', '404', 'NotFound'],
      ['INVALID_SIGNATURE', '403', 'InvalidSignature'],
      ['INVALID_API_KEY', '403', 'Forbidden'],
      ['THROTTLED', '429', 'TooManyRequests'],
    ])('answers %s with %s and the API error shape', (responseType, statusCode, code) => {
      const [, response] = only(template, 'AWS::ApiGateway::GatewayResponse', { ResponseType: responseType });
      expect(response.Properties.StatusCode).toBe(statusCode);
      const body = JSON.parse(
        (response.Properties.ResponseTemplates as Record<string, string>)['application/json'],
      );
      expect(body).toEqual({
        error: { code, message: expect.any(String), details: [], requestId: '$context.requestId' },
      });
    });

    it('renders every gateway response as valid JSON once API Gateway substitutes its variables', () => {
      // $context.error.messageString arrives quoted ("\"Forbidden\""); the others are bare strings.
      const substitute = (t: string) =>
        t
          .replaceAll('$context.error.messageString', '"Missing Authentication Token"')
          .replaceAll('$context.error.responseType', 'MISSING_AUTHENTICATION_TOKEN')
          .replaceAll('$context.requestId', 'c0ffee');
      const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
      expect(responses.length).toBeGreaterThanOrEqual(5);
      for (const r of responses) {
        const rendered = substitute(
          (r.Properties.ResponseTemplates as Record<string, string>)['application/json'],
        );
        expect(() => JSON.parse(rendered), `${r.Properties.ResponseType}: ${rendered}`).not.toThrow();
        expect(JSON.parse(rendered).error.message).toEqual(expect.any(String));
      }
    });
  });

  it(`runs the DLQ sweeper every ${config.sweepEveryMinutes} minute(s)`, () => {
    const [sweeperId] = pipelineFunctions(template)['dlq-sweeper'];
    const unit = config.sweepEveryMinutes === 1 ? 'minute' : 'minutes';
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${config.sweepEveryMinutes} ${unit})`,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: arn(sweeperId) })],
    });
  });
});

describe('alarm email', () => {
  it('subscribes the address to the alarm topic when alarmEmail is given', () => {
    const template = synthConfig(loadStageConfig('dev', { alarmEmail: 'ops@example.com' }));
    const [topicId] = only(template, 'AWS::SNS::Topic');
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(topicId),
    });
  });
});

describe('QueueWithDlq visibility rule', () => {
  const scope = () => new Stack(new App(), 'Scratch');
  const props = {
    label: 'test',
    consumerTimeout: Duration.seconds(30),
    maxBatchingWindow: Duration.seconds(5),
  };

  it('refuses at synth a visibility shorter than 6 × timeout + window, naming the figures', () => {
    expect(
      () => new QueueWithDlq(scope(), 'Q', { ...props, visibilityTimeout: Duration.seconds(184) }),
    ).toThrow(
      /visibilityTimeout 184s is shorter than 6 × consumer timeout \(30s\) \+ batching window \(5s\) = 185s\. Raise the visibility timeout/,
    );
  });

  it('accepts exactly 6 × timeout + window', () => {
    const q = new QueueWithDlq(scope(), 'Q', { ...props, visibilityTimeout: Duration.seconds(185) });
    expect(q.visibilityTimeout.toSeconds()).toBe(185);
  });

  it('refuses a consumer whose timeout outgrows the queue visibility', () => {
    const q = new QueueWithDlq(scope(), 'Q', props);
    expect(() => q.assertConsumerFits(Duration.seconds(31), Duration.seconds(5))).toThrow(ConfigError);
    expect(() => q.assertConsumerFits(Duration.seconds(31), Duration.seconds(5))).toThrow(
      /visibilityTimeout 185s is shorter than 6 × consumer timeout \(31s\) \+ batching window \(5s\) = 191s/,
    );
  });
});

describe('stage configuration', () => {
  it('refuses a missing stage instead of picking one, naming the valid stages', () => {
    expect(() => loadStageConfig(undefined)).toThrow(ConfigError);
    expect(() => loadStageConfig('')).toThrow(ConfigError);
    expect(() => loadStageConfig(undefined)).toThrow(
      'No stage given. Valid stages: dev, staging, prod, local (choose with -c stage=<name>).',
    );
  });

  it('names the valid stages when the stage is unknown', () => {
    expect(() => loadStageConfig('qa')).toThrow(ConfigError);
    expect(() => loadStageConfig('qa')).toThrow(
      'Unknown stage "qa". Valid stages: dev, staging, prod, local',
    );
  });

  it('gives the redrive policy 10 receives per attempt unless the stage sets its own', () => {
    expect(loadStageConfig('dev', { maxAttempts: 4 }).maxReceiveCount).toBe(40);
    expect(loadStageConfig('dev', { maxAttempts: 4, maxReceiveCount: 4 }).maxReceiveCount).toBe(4);
  });

  it('refuses more attempts than the redrive policy allows receives', () => {
    expect(() => loadStageConfig('dev', { maxAttempts: 6, maxReceiveCount: 5 })).toThrow(
      /maxAttempts must be an integer 1–maxReceiveCount \(5\), got 6/,
    );
    expect(() => loadStageConfig('dev', { maxAttempts: 0 })).toThrow(ConfigError);
  });

  it('refuses maxReceiveCount 0', () => {
    expect(() => loadStageConfig('dev', { maxReceiveCount: 0 })).toThrow(ConfigError);
    expect(() => loadStageConfig('dev', { maxReceiveCount: 0 })).toThrow(
      /maxReceiveCount must be an integer 1–1000, got 0/,
    );
  });

  it('refuses a FIFO batch size above 10', () => {
    const fifoConsumer = { ...DEFAULTS.fifoConsumer, batchSize: 11 };
    expect(() => loadStageConfig('prod', { fifoConsumer })).toThrow(ConfigError);
    expect(() => loadStageConfig('prod', { fifoConsumer })).toThrow(/fifoConsumer\.batchSize must be <= 10/);
  });

  it('refuses a source retention that would outlive the 14-day DLQ', () => {
    expect(() => loadStageConfig('dev', { queueRetentionDays: 14 })).toThrow(ConfigError);
  });

  it('refuses an alarm email that is not an address', () => {
    expect(() => loadStageConfig('dev', { alarmEmail: 'ops' })).toThrow(
      /alarmEmail "ops" is not an email address/,
    );
  });
});

describe('API request validation', () => {
  it.each(STAGE_NAMES)(
    'has no gateway request validator on %s: the producer validates every request, naming the field',
    (stage) => {
      const template = synthStage(stage);

      template.resourceCountIs('AWS::ApiGateway::RequestValidator', 0);
      for (const method of Object.values(template.findResources('AWS::ApiGateway::Method')))
        expect(method.Properties.RequestValidatorId).toBeUndefined();
    },
  );
});
