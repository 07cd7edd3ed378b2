import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LANE_TAG as CONSTRUCT_LANE_TAG } from '../../lib/constructs/event-pipeline';
import { analyzeLanes, LANE_TAG } from '../../local/template/lanes';
import type { TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { ratePeriodMs, SKIPPED_TYPES } from '../../local/template/topology';
import { esm, fn, queue, useTemplateFixture, type RawResource } from '../helpers/topology';

const { analyze, cdkOut } = useTemplateFixture('local-topology-');

describe('template analysis', () => {
  it('orders dead-letter queues before the queues that redrive to them', () => {
    const t = analyze({
      Source: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 3 },
        },
      },
      Dlq: queue,
    });
    expect(t.queues.map((q) => q.logicalId)).toEqual(['Dlq', 'Source']);
  });

  it('reads functions, their bundled handler file, and SQS event source mappings', () => {
    const t = analyze({
      Q: queue,
      Fn: fn({ MemorySize: 256 }),
      Esm: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] },
          FunctionName: { Ref: 'Fn' },
          BatchSize: 5,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 3 },
        },
      },
    });
    expect(t.functions[0]).toMatchObject({
      logicalId: 'Fn',
      file: path.join(cdkOut(), 'asset.abc', 'index.mjs'),
      exportName: 'handler',
      timeoutSeconds: 3,
      memoryMb: 256,
    });
    expect(t.mappings).toEqual([
      {
        logicalId: 'Esm',
        functionId: 'Fn',
        queueId: 'Q',
        batchSize: 5,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 3,
        reportBatchItemFailures: true,
        enabled: true,
      },
    ]);
  });

  it('skips resource types without local meaning, and the provider function of a skipped custom resource', () => {
    const t = analyze({
      Role: { Type: 'AWS::IAM::Role' },
      Provider: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x' },
      },
      AutoDelete: {
        Type: 'Custom::S3AutoDeleteObjects',
        Properties: { ServiceToken: { 'Fn::GetAtt': ['Provider', 'Arn'] } },
      },
    });
    // Skipped, the asset-less provider function is neither hosted nor rejected, and the role and
    // the custom resource leave nothing to run.
    expect(t).toMatchObject({
      queues: [],
      buckets: [],
      tables: [],
      functions: [],
      mappings: [],
      schedules: [],
      alarms: [],
    });
    // Every type on the list is skipped the same way: analysed alone, it leaves nothing to run.
    for (const type of Object.keys(SKIPPED_TYPES)) {
      expect(analyze({ Thing: { Type: type } }).functions, type).toEqual([]);
    }
    // Not skipped, the same function is rejected (no bundled asset), as is a type without local meaning.
    const provider = {
      Type: 'AWS::Lambda::Function',
      Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x' },
    };
    expect(() => analyze({ Provider: provider })).toThrow(
      /Provider \(AWS::Lambda::Function\): no bundled asset/,
    );
    expect(() => analyze({ Thing: { Type: 'AWS::Example::Thing' } })).toThrow(
      /Thing .*not supported in local mode/,
    );
  });

  it('reads a rate schedule that targets a function', () => {
    const t = analyze({
      Fn: fn(),
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(2 minutes)',
          Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'T' }],
        },
      },
    });
    expect(t.schedules[0]).toMatchObject({
      logicalId: 'Rule',
      periodMs: 120_000,
      enabled: true,
      targets: [{ functionId: 'Fn' }],
    });
  });

  describe('fails fast, naming the resource', () => {
    it.each<[string, Record<string, RawResource>, RegExp]>([
      [
        'an unsupported resource type',
        { Stream: { Type: 'AWS::Kinesis::Stream' } },
        /Stream \(AWS::Kinesis::Stream\): this resource type is not supported/,
      ],
      [
        'a function without a bundled asset',
        {
          Fn: {
            Type: 'AWS::Lambda::Function',
            Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Code: { ZipFile: 'x' } },
          },
        },
        /Fn \(AWS::Lambda::Function\): no bundled asset/,
      ],
      [
        'a function on a non-Node.js runtime',
        { Fn: fn({ Runtime: 'python3.13' }) },
        /Fn .*runtime "python3.13" cannot run locally/,
      ],
      ['a missing handler file', { Fn: fn({ Handler: 'missing.handler' }) }, /Fn .*handler file .*missing/],
      [
        'an event source mapping on a non-SQS source',
        {
          Fn: fn(),
          Esm: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: {
              EventSourceArn: 'arn:aws:kinesis:us-east-1:1:stream/s',
              FunctionName: { Ref: 'Fn' },
            },
          },
        },
        /Esm \(AWS::Lambda::EventSourceMapping\): the event source is not an SQS queue or a DynamoDB table stream of this stack/,
      ],
      [
        'a conditional resource',
        { Q: { ...queue, Condition: 'IsProd' } },
        /Q \(AWS::SQS::Queue\): conditional resources/,
      ],
      [
        'a non-proxy API integration',
        {
          Api: { Type: 'AWS::ApiGateway::RestApi' },
          M: {
            Type: 'AWS::ApiGateway::Method',
            Properties: {
              HttpMethod: 'GET',
              AuthorizationType: 'NONE',
              ResourceId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
              Integration: { Type: 'MOCK' },
            },
          },
        },
        /M \(AWS::ApiGateway::Method\): integration type MOCK is not supported/,
      ],
      [
        'an authorizer',
        {
          Api: { Type: 'AWS::ApiGateway::RestApi' },
          M: {
            Type: 'AWS::ApiGateway::Method',
            Properties: {
              HttpMethod: 'GET',
              AuthorizationType: 'COGNITO_USER_POOLS',
              Integration: { Type: 'AWS_PROXY' },
            },
          },
        },
        /M \(AWS::ApiGateway::Method\): AuthorizationType COGNITO_USER_POOLS/,
      ],
    ])('%s', (_, resources, message) => {
      expect(() => analyze(resources)).toThrow(message);
    });
  });
});

describe('event source mappings a deploy would refuse', () => {
  it.each<[string, Record<string, RawResource>, RegExp]>([
    [
      'batch size > 10 without a batching window',
      { Q: queue, Fn: fn(), Esm: esm({ BatchSize: 11 }) },
      /^Esm \(AWS::Lambda::EventSourceMapping\): InvalidParameterValueException: Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10/,
    ],
    [
      'batch size > 10 on a FIFO queue',
      {
        Q: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
        Fn: fn(),
        Esm: esm({ BatchSize: 20, MaximumBatchingWindowInSeconds: 1 }),
      },
      /^Esm .*InvalidParameterValueException: BatchSize 20 is outside 1–10 for a FIFO queue/,
    ],
    [
      'a batching window over 300 s',
      { Q: queue, Fn: fn(), Esm: esm({ MaximumBatchingWindowInSeconds: 301 }) },
      /^Esm .*MaximumBatchingWindowInSeconds 301 is outside 0–300/,
    ],
    [
      'a function timeout longer than the visibility timeout',
      {
        Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30 } },
        Fn: fn({ Timeout: 60 }),
        Esm: esm(),
      },
      /^Esm .*InvalidParameterValueException: Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds/,
    ],
    [
      'a function timeout longer than the default visibility timeout (30 s)',
      { Q: queue, Fn: fn({ Timeout: 31 }), Esm: esm() },
      /^Esm .*Queue visibility timeout: 30 seconds is less than Function timeout: 31 seconds/,
    ],
    [
      'two mappings of the same queue and function',
      { Q: queue, Fn: fn(), Esm: esm(), Esm2: esm({ Enabled: false }) },
      /^Esm2 \(AWS::Lambda::EventSourceMapping\): ResourceConflictException: .*queue Q and function Fn already exists \(Esm\)/,
    ],
    [
      'an invalid filter pattern',
      {
        Q: queue,
        Fn: fn(),
        Esm: esm({ FilterCriteria: { Filters: [{ Pattern: '{"body":{"kind":[{"wildcard":"a*"}]}}' }] } }),
      },
      /^Esm .*InvalidParameterValueException: .*FilterCriteria\.Filters\[0\]\.Pattern/,
    ],
    [
      'a filter pattern that is not JSON',
      { Q: queue, Fn: fn(), Esm: esm({ FilterCriteria: { Filters: [{ Pattern: '{body' }] } }) },
      /^Esm .*FilterCriteria\.Filters\[0\]\.Pattern is not valid JSON/,
    ],
  ])('%s', (_, resources, message) => {
    expect(() => analyze(resources)).toThrow(message);
  });

  it('accepts the limits themselves: batch 10 without a window, 10 000 with one, timeout = visibility', () => {
    expect(() => analyze({ Q: queue, Fn: fn({ Timeout: 30 }), Esm: esm({ BatchSize: 10 }) })).not.toThrow();
    expect(() =>
      analyze({ Q: queue, Fn: fn(), Esm: esm({ BatchSize: 10_000, MaximumBatchingWindowInSeconds: 1 }) }),
    ).not.toThrow();
  });

  it('compiles valid filter criteria into the mapping', () => {
    const t = analyze({
      Q: queue,
      Fn: fn(),
      Esm: esm({ FilterCriteria: { Filters: [{ Pattern: '{"body":{"kind":["order"]}}' }] } }),
    });
    const filter = t.mappings[0]!.filter!;
    const record = (body: string) => ({ body }) as Parameters<typeof filter>[0];
    expect(filter(record('{"kind":"order"}'))).toBe(true);
    expect(filter(record('{"kind":"refund"}'))).toBe(false);
    expect(filter(record('order'))).toBe(false);
    expect(analyze({ Q: queue, Fn: fn(), Esm: esm() }).mappings[0]!.filter).toBeUndefined();
  });
});

describe('rate expressions', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(15 minutes)', 900_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    ['cron(0 12 * * ? *)', undefined],
    ['rate(0 minutes)', undefined],
  ])('%s → %s ms', (expression, ms) => {
    expect(ratePeriodMs(expression)).toBe(ms);
  });
});

describe('lanes', () => {
  /** A queue as the EventPipeline construct writes it: tagged with its lane, redriving to `dlq`. */
  const laneQueue = (lane: string, dlq?: string, fifo = false): RawResource => ({
    Type: 'AWS::SQS::Queue',
    Properties: {
      ...(fifo ? { FifoQueue: true, ContentBasedDeduplication: false } : {}),
      MessageRetentionPeriod: dlq ? 86400 : 1209600,
      ...(dlq
        ? { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 30 } }
        : {}),
      SqsManagedSseEnabled: true,
      Tags: [{ Key: LANE_TAG, Value: lane }],
    },
  });
  const lanesOf = (resources: Record<string, RawResource>) => {
    const topology = analyze(resources);
    const map = new Map<string, TemplateResource>(topology.queues.map((q) => [q.logicalId, q]));
    return analyzeLanes(
      topology.queues,
      new Resolver({ pseudo: localPseudoParameters('S'), resources: map }),
    );
  };

  it("reads each lane's queue, DLQ and kind from the queues' lane tags and redrive policies", () => {
    const { lanes, notes } = lanesOf({
      StandardDlq: laneQueue('standard'),
      StandardQueue: laneQueue('standard', 'StandardDlq'),
      FifoDlq: laneQueue('fifo', undefined, true),
      FifoQueue: laneQueue('fifo', 'FifoDlq', true),
      PipelineLaneThumbnailsDlq5B1F0C3E: laneQueue('thumbnails'),
      PipelineLaneThumbnailsQueueECF02AA0: laneQueue('thumbnails', 'PipelineLaneThumbnailsDlq5B1F0C3E'),
      PipelineLaneLedgerDlq1A2B3C4D: laneQueue('ledger', undefined, true),
      PipelineLaneLedgerQueue9F8E7D6C: laneQueue('ledger', 'PipelineLaneLedgerDlq1A2B3C4D', true),
      // Not in a lane: listed under `queues` only.
      Other: queue,
    });

    expect(lanes).toEqual([
      { name: 'standard', queueId: 'StandardQueue', dlqId: 'StandardDlq', fifo: false },
      { name: 'fifo', queueId: 'FifoQueue', dlqId: 'FifoDlq', fifo: true },
      {
        name: 'thumbnails',
        queueId: 'PipelineLaneThumbnailsQueueECF02AA0',
        dlqId: 'PipelineLaneThumbnailsDlq5B1F0C3E',
        fifo: false,
      },
      {
        name: 'ledger',
        queueId: 'PipelineLaneLedgerQueue9F8E7D6C',
        dlqId: 'PipelineLaneLedgerDlq1A2B3C4D',
        fifo: true,
      },
    ]);
    expect(notes).toEqual([]);
  });

  it('reads the tag the construct writes', () => {
    expect(LANE_TAG).toBe(CONSTRUCT_LANE_TAG);
  });

  it('has no lanes for a template from before lanes (no tags)', () => {
    const { lanes, notes } = lanesOf({
      Dlq: queue,
      Source: {
        Type: 'AWS::SQS::Queue',
        Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
      },
    });
    expect(lanes).toEqual([]);
    expect(notes).toEqual([]);
  });

  it('leaves out, with a note, what cannot be one lane: two queues of one lane, a tagged queue without DLQ, a DLQ of another lane', () => {
    const { lanes, notes } = lanesOf({
      Dlq1: laneQueue('twice'),
      Twice1: laneQueue('twice', 'Dlq1'),
      Dlq2: laneQueue('twice'),
      Twice2: laneQueue('twice', 'Dlq2'),
      Lonely: laneQueue('lonely'),
      OtherDlq: laneQueue('other'),
      Crossed: laneQueue('crossed', 'OtherDlq'),
      GoodDlq: laneQueue('good'),
      Good: laneQueue('good', 'GoodDlq'),
    });

    expect(lanes.map((l) => l.name)).toEqual(['good']);
    expect(notes).toEqual([
      'Crossed is tagged lane crossed but its DLQ OtherDlq lane other: neither is listed as a lane',
      'lane twice is the tag of more than one queue with a DLQ (Twice1, Twice2): not listed as a lane',
      "Lonely is tagged lane lonely but is neither a lane's queue (no redrive policy to a queue of the stack) nor a DLQ",
    ]);
  });
});
