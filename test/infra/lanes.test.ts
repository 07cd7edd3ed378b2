/**
 * Lanes in the template: an app's custom lanes (test/fixtures/lanes-app: the standard lane
 * `thumbnails` and the FIFO lane `ledger`) each get their own queue, DLQ, consumer, mapping,
 * alarm, dashboard widgets and outputs with the lane's settings; each lane's consumer may touch
 * only its own queues (docs/DESIGN.md §1, §2 invariant 9); misconfigured lanes are one-line
 * `ConfigError`s at synth; and the reference app, which has only the default lanes, keeps every
 * logical id it had before lanes existed.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { ConfigError, EventPipeline, LANE_TAG, type EventPipelineProps } from 'event-pipeline';
import { STAGE_NAMES } from '../../app/stages';
import { JOB_MODULES, LANES, settingsOf } from '../fixtures/lanes-app/lanes-stack';
import {
  buildLanesStack,
  buildPipelineWith,
  LANES_APP_DIR,
  laneIds,
  logicalIdOf,
  type LaneIds,
} from '../helpers/lanes-app';
import { CDK_JSON_CONTEXT, ROOT, synthStage, testApp } from '../helpers/synth';
import { type CfnTemplate, permissionLine, roleTables, type RoleTable } from './iam-table';

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const ref = (logicalId: string) => ({ Ref: logicalId });
const DAY = 24 * 60 * 60;

/**
 * What each lane of the fixture app resolves to on stage dev, written out so a reader can check
 * it against test/fixtures/lanes-app/lanes-stack.ts and `DEFAULTS` without re-deriving it: the
 * custom lanes' own settings, and the pipeline's (consumer / fifoConsumer, maxAttempts 5, backoff
 * 10–600 s, maxReceiveCount 50) for what they leave out.
 */
const EXPECTED = {
  standard: {
    fifo: false,
    service: 'consumer',
    outputPrefix: 'Standard',
    timeout: 30,
    memory: 512,
    batchSize: 10,
    window: 1,
    maxConcurrency: 10,
    maxAttempts: 5,
    backoff: [10, 600],
    environment: {},
  },
  fifo: {
    fifo: true,
    service: 'fifo-consumer',
    outputPrefix: 'Fifo',
    timeout: 30,
    memory: 512,
    batchSize: 10,
    window: 0,
    maxConcurrency: 5,
    maxAttempts: 5,
    backoff: [10, 600],
    environment: {},
  },
  thumbnails: {
    fifo: false,
    service: 'consumer-thumbnails',
    outputPrefix: 'LaneThumbnails',
    timeout: 2,
    memory: 1024,
    batchSize: 5,
    window: 1,
    maxConcurrency: 3,
    maxAttempts: 4,
    backoff: [10, 600],
    environment: { THUMBNAIL_WIDTH: '320' },
  },
  ledger: {
    fifo: true,
    service: 'consumer-ledger',
    outputPrefix: 'LaneLedger',
    timeout: 4,
    memory: 512,
    batchSize: 5,
    window: 0,
    maxConcurrency: 2,
    maxAttempts: 5,
    backoff: [2, 60],
    environment: {},
  },
} as const;
type LaneName = keyof typeof EXPECTED;
const LANE_NAMES = Object.keys(EXPECTED) as LaneName[];
const MAX_RECEIVE_COUNT = 50;

describe('lanes of an app (test/fixtures/lanes-app, stage dev)', () => {
  let pipeline: EventPipeline;
  let template: Template;
  let resources: Record<string, Resource>;
  let ids: Record<LaneName, LaneIds>;
  let uploads: string;
  beforeAll(() => {
    const built = buildLanesStack('dev');
    pipeline = built.pipeline;
    // What an app adds for its own job code: the thumbnails lane reads the uploads bucket.
    const bucket = new s3.Bucket(built.stack, 'Uploads', { enforceSSL: true });
    bucket.grantRead(pipeline.lane('thumbnails').consumer);
    uploads = logicalIdOf(bucket);
    template = Template.fromStack(built.stack);
    resources = template.toJSON().Resources;
    ids = Object.fromEntries(LANE_NAMES.map((n) => [n, laneIds(pipeline.lane(n))])) as Record<
      LaneName,
      LaneIds
    >;
  });

  it("synthesizes through the CLI with the repository's feature flags (its cdk.json), as in process", () => {
    const cdkJson = JSON.parse(readFileSync(path.join(LANES_APP_DIR, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    expect(cdkJson.context).toEqual(CDK_JSON_CONTEXT);
  });

  it('has the default lanes first, then the custom ones, each running only its own job types', () => {
    expect(pipeline.lanes.map((l) => [l.name, l.fifo, l.types])).toEqual([
      ['standard', false, ['probe']],
      ['fifo', true, ['probe']],
      ['thumbnails', false, ['thumbnail.create']],
      ['ledger', true, ['ledger.post']],
    ]);
  });

  it('gives every lane its own queue, DLQ, consumer, event source mapping and DLQ alarm', () => {
    // Plus the completion events' outbox failure queue and the relay's mapping of the status table's stream.
    expect(Object.keys(template.findResources('AWS::SQS::Queue'))).toHaveLength(2 * LANE_NAMES.length + 1);
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(
      LANE_NAMES.length + 1,
    );
    const typeOf = {
      queue: 'AWS::SQS::Queue',
      dlq: 'AWS::SQS::Queue',
      alarm: 'AWS::CloudWatch::Alarm',
      consumer: 'AWS::Lambda::Function',
      role: 'AWS::IAM::Role',
    } as const;
    for (const [key, type] of Object.entries(typeOf) as [keyof typeof typeOf, string][]) {
      const distinct = new Set(LANE_NAMES.map((n) => ids[n][key]));
      expect(distinct.size, key).toBe(LANE_NAMES.length);
      for (const n of LANE_NAMES) expect(resources[ids[n][key]]?.Type, `${n} ${key}`).toBe(type);
    }
  });

  it('keeps the pinned logical ids of the default lanes and names custom lanes Lane<Name>', () => {
    expect([ids.standard.queue, ids.standard.dlq, ids.fifo.queue, ids.fifo.dlq]).toEqual([
      'StandardQueue',
      'StandardDlq',
      'FifoQueue',
      'FifoDlq',
    ]);
    expect(ids.thumbnails).toMatchObject({
      queue: expect.stringMatching(/^LaneThumbnailsQueue[0-9A-F]{8}$/),
      dlq: expect.stringMatching(/^LaneThumbnailsDlq[0-9A-F]{8}$/),
      consumer: expect.stringMatching(/^LaneThumbnailsConsumerHandlerFunction[0-9A-F]{8}$/),
    });
    expect(ids.ledger.queue).toMatch(/^LaneLedgerQueue[0-9A-F]{8}$/);
  });

  describe.each(LANE_NAMES)('lane %s', (name) => {
    const want = EXPECTED[name];

    it('has a queue whose visibility is 6 × the lane timeout + its batching window, redriven to its own DLQ', () => {
      const queue = resources[ids[name].queue]!.Properties;
      expect(queue.VisibilityTimeout).toBe(6 * want.timeout + want.window);
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: arn(ids[name].dlq),
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
      expect(queue.FifoQueue).toBe(want.fifo ? true : undefined);
      expect(resources[ids[name].dlq]!.Properties.FifoQueue).toBe(want.fifo ? true : undefined);
      expect(resources[ids[name].dlq]!.Properties.MessageRetentionPeriod).toBe(14 * DAY);
    });

    it(`tags its queue and DLQ ${LANE_TAG}=${name}`, () => {
      for (const id of [ids[name].queue, ids[name].dlq]) {
        expect(resources[id]!.Properties.Tags, id).toEqual(
          expect.arrayContaining([{ Key: LANE_TAG, Value: name }]),
        );
      }
    });

    it("runs in its own consumer with the lane's timeout, memory, attempts, backoff and environment", () => {
      const fn = resources[ids[name].consumer]!.Properties;
      expect(fn.Timeout).toBe(want.timeout);
      expect(fn.MemorySize).toBe(want.memory);
      expect(fn.Environment.Variables).toMatchObject({
        LANE: name,
        POWERTOOLS_SERVICE_NAME: want.service,
        QUEUE_URL: ref(ids[name].queue),
        DLQ_URL: ref(ids[name].dlq),
        MAX_ATTEMPTS: String(want.maxAttempts),
        MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
        BACKOFF_BASE_SECONDS: String(want.backoff[0]),
        BACKOFF_CAP_SECONDS: String(want.backoff[1]),
        ...want.environment,
      });
      // A lane's environment is its own: no other lane's consumer sees it.
      const others = LANE_NAMES.filter((n) => n !== name).flatMap((n) =>
        Object.keys(EXPECTED[n].environment),
      );
      for (const variable of others) expect(fn.Environment.Variables, variable).not.toHaveProperty(variable);
    });

    it("maps its queue to its consumer with the lane's batch size, window and maximum concurrency", () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arn(ids[name].queue),
        FunctionName: ref(ids[name].consumer),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: want.batchSize,
        MaximumBatchingWindowInSeconds: want.window > 0 ? want.window : Match.absent(),
        ScalingConfig: { MaximumConcurrency: want.maxConcurrency },
      });
    });

    it('alarms on its own DLQ: one depth alarm, at the first message', () => {
      const onDlq = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(
        ([, a]) =>
          JSON.stringify(a.Properties.Dimensions) ===
          JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids[name].dlq, 'QueueName'] } }]),
      );
      expect(onDlq.map(([id]) => id)).toEqual([ids[name].alarm]);
      expect(onDlq[0]![1].Properties).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('has widgets of its queue, DLQ and consumer on the dashboard', () => {
      const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
      const body = JSON.stringify(dashboard!.Properties.DashboardBody);
      for (const id of [ids[name].queue, ids[name].dlq, ids[name].consumer])
        expect(body, id).toContain(`"${id}"`);
    });

    it(`describes its queue outputs as "lane ${name}"`, () => {
      const outputs = template.toJSON().Outputs as Record<string, { Description?: string; Value: unknown }>;
      const p = want.outputPrefix;
      expect(outputs[`${p}QueueUrl`]).toEqual({ Description: `lane ${name}`, Value: ref(ids[name].queue) });
      expect(outputs[`${p}QueueArn`]).toEqual({ Description: `lane ${name}`, Value: arn(ids[name].queue) });
      expect(outputs[`${p}DlqUrl`]).toEqual({ Description: `lane ${name}`, Value: ref(ids[name].dlq) });
      expect(outputs[`${p}DlqArn`]?.Value).toEqual(arn(ids[name].dlq));
      expect(outputs[`${p}DlqArn`]?.Description).toMatch(new RegExp(`^lane ${name}: `));
    });
  });

  describe('least privilege', () => {
    const BUCKET = '<FailureArchiveBucket.Arn>';
    const TABLE = '<StatusTable.Arn>';
    const CONSUME = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ];
    const allow = (actions: readonly string[], targets: readonly string[], condition = '') =>
      actions.flatMap((a) => targets.map((r) => permissionLine('Allow', a, r, condition)));
    const queueArn = (id: string) => `<${id}.Arn>`;
    /**
     * What every lane's consumer needs besides its queues: status rows (msg# keys only), archive
     * records (encrypted through S3 with the archive key), results too large for a row (results/
     * of the result bucket), follow-up jobs (`ctx.enqueue`: SendMessage on every lane's queue),
     * X-Ray (dev traces).
     */
    const COMMON = () => [
      ...allow(
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [TABLE],
        '{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["msg#*"]}}',
      ),
      ...allow(
        ['kms:GenerateDataKey'],
        ['<FailureArchiveKey.Arn>'],
        '{"StringEquals":{"kms:ViaService":"s3.<AWS::Region>.amazonaws.com"}}',
      ),
      ...allow(['s3:DeleteObject', 's3:PutObject'], [`${BUCKET}/failed/*`]),
      ...allow(['s3:PutObject'], ['<ResultBucket.Arn>/results/*']),
      ...allow(
        ['sqs:SendMessage'],
        LANE_NAMES.map((n) => queueArn(ids[n].queue)),
      ),
      ...allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']),
    ];
    /** The writes of a lane's consumer to its own log group (the one its function logs to) only. */
    const ownLogs = (service: string) => {
      const [fn] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
        (f) => f.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
      );
      const group = (fn!.Properties.LoggingConfig.LogGroup as { Ref: string }).Ref;
      return allow(
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        [`<${group}.Arn>`, `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<${group}>`],
      );
    };
    let tables: RoleTable[];
    const tableOf = (owner: string) => {
      const table = tables.find((t) => t.owner === owner);
      expect(table, owner).toBeDefined();
      return table!;
    };
    beforeAll(() => {
      tables = roleTables(template.toJSON() as CfnTemplate);
    });

    it.each(LANE_NAMES)(
      "lets lane %s's consumer consume and change visibility on its own queue and send to its own DLQ only",
      (name) => {
        const own = ids[name];
        const app =
          name === 'thumbnails'
            ? allow(
                ['s3:GetBucket*', 's3:GetObject*', 's3:List*'],
                [`<${uploads}.Arn>`, `<${uploads}.Arn>/*`],
              )
            : [];
        expect(tableOf(EXPECTED[name].service).permissions).toEqual(
          [
            ...COMMON(),
            ...ownLogs(EXPECTED[name].service),
            ...allow(CONSUME, [queueArn(own.queue)]),
            ...allow(['sqs:SendMessage'], [queueArn(own.dlq)]),
            ...app,
          ].sort(),
        );
      },
    );

    it.each(LANE_NAMES)(
      "names no other lane's DLQ in lane %s's consumer role, and other lanes' queues for SendMessage only (follow-up jobs)",
      (name) => {
        const others = LANE_NAMES.filter((n) => n !== name);
        const lines = tableOf(EXPECTED[name].service).permissions;
        for (const id of others.map((n) => ids[n].dlq))
          expect(
            lines.filter((l) => l.includes(`<${id}`)),
            id,
          ).toEqual([]);
        for (const id of others.map((n) => ids[n].queue))
          expect(
            lines.filter((l) => l.includes(`<${id}`)),
            id,
          ).toEqual(allow(['sqs:SendMessage'], [queueArn(id)]));
      },
    );

    it("gives the app's own grant to the lane it names only", () => {
      const readers = tables.filter((t) => t.permissions.some((l) => l.includes(`<${uploads}`)));
      expect(readers.map((t) => t.owner)).toEqual(['consumer-thumbnails']);
    });

    it("lets the producer send to every lane's queue and to no DLQ", () => {
      const sqs = tableOf('producer').permissions.filter((l) => l.includes(' sqs:'));
      expect(sqs).toEqual(
        allow(
          ['sqs:SendMessage'],
          LANE_NAMES.map((n) => queueArn(ids[n].queue)),
        ).sort(),
      );
    });

    it("lets the DLQ sweeper read every lane's DLQ and no source queue", () => {
      const sqs = tableOf('dlq-sweeper').permissions.filter((l) => l.includes(' sqs:'));
      expect(sqs).toEqual(
        allow(
          ['sqs:ChangeMessageVisibility', 'sqs:ReceiveMessage'],
          LANE_NAMES.map((n) => queueArn(ids[n].dlq)),
        ).sort(),
      );
    });
  });
});

describe('misconfigured lanes', () => {
  const MISCONFIGURED = path.join(LANES_APP_DIR, 'misconfigured');

  /** The error building the pipeline with `props` throws (fails when it throws none). */
  function refusal(props: Partial<EventPipelineProps>): Error {
    let error: unknown;
    try {
      buildPipelineWith(props);
    } catch (e) {
      error = e;
    }
    expect(error, 'a ConfigError at synth').toBeInstanceOf(ConfigError);
    return error as Error;
  }
  const withJob = (file: string) => ({ jobs: [...JOB_MODULES, path.join(MISCONFIGURED, file)] });

  it('builds with the fixture as it is (the cases below each change one thing)', () => {
    expect(() => buildPipelineWith({})).not.toThrow();
  });

  it.each([
    [
      'a type naming a lane the pipeline does not have',
      withJob('unknown-lane.ts'),
      ['"video.transcode"', '"videos"'],
    ],
    [
      'an ordered type in a standard lane',
      withJob('ordered-in-standard-lane.ts'),
      ['"thumbnail.sequence"', '"thumbnails"'],
    ],
    ['a lane no job type names', { lanes: { ...LANES, previews: { timeoutSeconds: 10 } } }, ['"previews"']],
    [
      'the default standard lane declared as a custom lane',
      { lanes: { ...LANES, standard: { timeoutSeconds: 10 } } },
      ['"standard"'],
    ],
    [
      'the default FIFO lane declared as a custom lane',
      { lanes: { ...LANES, fifo: { fifo: true } } },
      ['"fifo"'],
    ],
    [
      'a batching window on a FIFO lane',
      { lanes: { ...LANES, ledger: { ...LANES.ledger, maxBatchingWindowSeconds: 2 } } },
      ['"ledger"', 'maxBatchingWindowSeconds'],
    ],
    [
      'a lane name ending in a dash',
      { lanes: { ...LANES, 'thumbnails-': LANES.thumbnails } },
      ['"thumbnails-"'],
    ],
    [
      'a lane name with a doubled dash',
      { lanes: { ...LANES, 'thumb--nails': LANES.thumbnails } },
      ['"thumb--nails"'],
    ],
    [
      "a lane whose construct ids are another lane's",
      { lanes: { ...LANES, 'ledger-2': { fifo: true }, ledger2: LANES.ledger } },
      ['"ledger2"', '"ledger-2"', 'LaneLedger2'],
    ],
    [
      'a batching window over 300 s',
      { lanes: { ...LANES, thumbnails: { ...LANES.thumbnails, maxBatchingWindowSeconds: 301 } } },
      ['"thumbnails"', 'maxBatchingWindowSeconds'],
    ],
    [
      'a timeout that is not a whole number of seconds',
      { lanes: { ...LANES, thumbnails: { ...LANES.thumbnails, timeoutSeconds: 1.5 } } },
      ['"thumbnails"', 'timeoutSeconds'],
    ],
    [
      'a maximum concurrency that is not an integer',
      { lanes: { ...LANES, thumbnails: { ...LANES.thumbnails, maxConcurrency: 2.5 } } },
      ['"thumbnails"', 'maxConcurrency'],
    ],
    [
      'an environment variable name Lambda refuses',
      { lanes: { ...LANES, thumbnails: { ...LANES.thumbnails, environment: { 'bad name': 'x' } } } },
      ['"thumbnails"', '"bad name"'],
    ],
  ] as const)('refuses %s in one line naming it', (_case, props, named) => {
    const { message } = refusal(props as Partial<EventPipelineProps>);
    expect(message).not.toContain('\n');
    for (const n of named) expect(message).toContain(n);
  });

  it.each([
    'LANE',
    'QUEUE_URL',
    'MAX_ATTEMPTS',
    'STATUS_TABLE',
    'AWS_REGION',
    'POWERTOOLS_LOG_LEVEL',
    'NODE_OPTIONS',
  ])('refuses lane environment variable %s, which the pipeline or Lambda sets, in one line', (variable) => {
    const lanes = { ...LANES, thumbnails: { ...LANES.thumbnails, environment: { [variable]: 'x' } } };
    const { message } = refusal({ lanes });
    expect(message).not.toContain('\n');
    expect(message).toContain('"thumbnails"');
    expect(message).toContain(variable);
  });
});

describe('stack outputs', () => {
  it('keep their keys whatever id the app gives the construct (ops reads them by key)', () => {
    const stack = new Stack(testApp({ builtinCloudFormationValidation: false }), 'EventPipeline-dev');
    new EventPipeline(stack, 'Jobs', {
      stage: 'dev',
      jobs: JOB_MODULES,
      lanes: LANES,
      settings: settingsOf('dev'),
    });

    const outputs = Object.keys(Template.fromStack(stack).toJSON().Outputs as Record<string, unknown>);

    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'StandardQueueUrl',
        'FifoDlqArn',
        'LaneThumbnailsQueueUrl',
        'LaneLedgerDlqUrl',
      ]),
    );
    // Only the RestApi's own `Endpoint` output (aws-cdk-lib's, not read by ops) carries the construct's path.
    expect(outputs.filter((o) => o.startsWith('Jobs'))).toEqual([
      expect.stringMatching(/^JobsIngestApiEndpoint/),
    ]);
  });
});

/**
 * Resource types 0.3.0 replaced on purpose: the shared API key, its usage plan and their link; and
 * the API's deployment, whose logical id CDK derives from the methods (their authorization changed).
 */
const REPLACED_BY_TENANTS = new Set([
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlan',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::ApiGateway::Deployment',
]);

/**
 * Stateless resources issue 21 replaced on purpose: each function's CDK-made role and its policy
 * (a role of the function's own now, which writes only its own log group, without
 * AWSLambdaBasicExecutionRole), and the API's request validator, which validated nothing.
 */
function replacedByIssue21(id: string, type: string): boolean {
  if (type === 'AWS::ApiGateway::RequestValidator') return true;
  return (
    (type === 'AWS::IAM::Role' || type === 'AWS::IAM::Policy') &&
    /^(Consumer|FifoConsumer|DlqSweeper)HandlerFunctionServiceRole|^IngestProducerFunctionServiceRole/.test(
      id,
    )
  );
}

describe('the default lanes of the reference app', () => {
  // Logical id → type of every resource at commit d00bb69, before lanes (how it was made: the
  // file's $comment). A logical id that disappears or changes type would make CloudFormation
  // replace or delete the resource of a deployed stage.
  const before = JSON.parse(
    readFileSync(path.join(ROOT, 'test', 'fixtures', 'pre-lanes-logical-ids.json'), 'utf8'),
  ) as Record<string, Record<string, string>>;

  it('has a pre-lanes record for every stage', () => {
    expect(
      Object.keys(before)
        .filter((k) => !k.startsWith('$'))
        .sort(),
    ).toEqual([...STAGE_NAMES].sort());
  });

  it.each(STAGE_NAMES)('keeps every logical id of stage %s, with its resource type', (stage) => {
    const now = synthStage(stage).toJSON().Resources as Record<string, { Type: string }>;
    const lost = Object.entries(before[stage]!)
      .filter(([id, type]) => now[id]?.Type !== type)
      // 0.3.0 (tenants): the single shared API key and its usage plan gave way to one key and plan
      // per tenant (apiKey stages) or to SigV4 (iam stages): removed on purpose (CHANGELOG 0.3.0).
      .filter(([, type]) => !REPLACED_BY_TENANTS.has(type))
      .filter(([id, type]) => !replacedByIssue21(id, type))
      .map(([id, type]) => `${id} (${type}) → ${now[id]?.Type ?? 'gone'}`);
    expect(lost).toEqual([]);
  });

  it.each(STAGE_NAMES)('records the stateful resources, functions and API of stage %s', (stage) => {
    // So the comparison above cannot pass on a record that lacks what matters.
    const types = new Set(Object.values(before[stage]!));
    for (const type of [
      'AWS::SQS::Queue',
      'AWS::S3::Bucket',
      'AWS::DynamoDB::Table',
      'AWS::Logs::LogGroup',
      'AWS::Lambda::Function',
      'AWS::Lambda::EventSourceMapping',
      'AWS::ApiGateway::RestApi',
      'AWS::ApiGateway::Stage',
    ])
      expect(types, type).toContain(type);
    expect(Object.keys(before[stage]!)).toEqual(
      expect.arrayContaining([
        'StandardQueue',
        'StandardDlq',
        'FifoQueue',
        'FifoDlq',
        'FailureArchiveBucket',
        'StatusTable',
      ]),
    );
  });
});
