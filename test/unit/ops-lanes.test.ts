import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { listDlq } from '../../ops/lib/dlq';
import { OpsError, UsageError } from '../../ops/lib/errors';
import { awsTarget, localTarget, pairOf, type AwsClients, type LocalEnvFile } from '../../ops/lib/target';

// What the tool knows of lanes: one queue pair per lane, from local mode's env file or from the
// stack outputs, and `--lane <name>` (with `--queue standard|fifo` for the default lanes).

const LOCAL_ENDPOINT = 'http://127.0.0.1:4566';
const localQueue = (name: string) => ({
  url: `${LOCAL_ENDPOINT}/000000000000/${name}`,
  arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
  name,
});

/** `.local/env.json` of a stage with a custom standard lane and a custom FIFO lane, as `npm start` writes it. */
const LOCAL_ENV: LocalEnvFile = {
  apiUrl: 'http://127.0.0.1:3000',
  apiKey: 'local-key',
  awsEndpoint: LOCAL_ENDPOINT,
  region: 'us-east-1',
  queues: {
    StandardDlq: localQueue('EventPipeline-local-StandardDlq-GgeHEgnI8afj'),
    StandardQueue: localQueue('EventPipeline-local-StandardQueue-kubMDMetSf6M'),
    FifoDlq: localQueue('EventPipeline-local-FifoDlq-o0mOs2HBOhFk.fifo'),
    FifoQueue: localQueue('EventPipeline-local-FifoQueue-BOqgOtpdfeeB.fifo'),
    PipelineLaneThumbnailsDlq5B1F0C3E: localQueue('EventPipeline-local-PipelineLaneThumbnailsDlq5B1F0C3E-x1'),
    PipelineLaneThumbnailsQueueECF02AA0: localQueue(
      'EventPipeline-local-PipelineLaneThumbnailsQueueECF02AA0-y2',
    ),
    PipelineLaneLedgerDlq1A2B3C4D: localQueue('EventPipeline-local-PipelineLaneLedgerDlq1A2B3C4D-z3.fifo'),
    PipelineLaneLedgerQueue9F8E7D6C: localQueue(
      'EventPipeline-local-PipelineLaneLedgerQueue9F8E7D6C-w4.fifo',
    ),
  },
  buckets: { ArchiveBucket: 'eventpipeline-local-archive' },
  dynamodbEndpoint: 'http://127.0.0.1:8000',
  tables: { StatusTable: 'EventPipeline-local-StatusTable' },
  lanes: {
    standard: { queue: 'StandardQueue', dlq: 'StandardDlq', fifo: false },
    fifo: { queue: 'FifoQueue', dlq: 'FifoDlq', fifo: true },
    thumbnails: {
      queue: 'PipelineLaneThumbnailsQueueECF02AA0',
      dlq: 'PipelineLaneThumbnailsDlq5B1F0C3E',
      fifo: false,
    },
    ledger: { queue: 'PipelineLaneLedgerQueue9F8E7D6C', dlq: 'PipelineLaneLedgerDlq1A2B3C4D', fifo: true },
  },
};

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const awsQueue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
  arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
});

/** The four outputs of a lane, as lib/constructs/event-pipeline.ts writes them (`prefix`: `Standard`, `LaneThumbnails`). */
function outputsOfLane(prefix: string, lane: string, queueName: string, dlqName: string): Output[] {
  const q = awsQueue(queueName);
  const d = awsQueue(dlqName);
  return [
    { OutputKey: `${prefix}QueueUrl`, OutputValue: q.url, Description: `lane ${lane}` },
    { OutputKey: `${prefix}QueueArn`, OutputValue: q.arn, Description: `lane ${lane}` },
    { OutputKey: `${prefix}DlqUrl`, OutputValue: d.url, Description: `lane ${lane}` },
    {
      OutputKey: `${prefix}DlqArn`,
      OutputValue: d.arn,
      Description: `lane ${lane}: aws sqs start-message-move-task --source-arn <this> moves the ${lane} DLQ back`,
    },
  ];
}

const THUMBS = {
  queue: 'EventPipeline-dev-PipelineLaneThumbnailsQueueECF02AA0-Q1',
  dlq: 'EventPipeline-dev-PipelineLaneThumbnailsDlq5B1F0C3E-D1',
};
/** The outputs of a deployed stage with the custom lanes `thumbnails` and `pdf-render`. */
const OUTPUTS: Output[] = [
  { OutputKey: 'ApiUrl', OutputValue: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/' },
  { OutputKey: 'ArchiveBucketName', OutputValue: 'eventpipeline-dev-archive' },
  // CloudFormation lists outputs in no particular order: a custom lane before the default ones.
  ...outputsOfLane('LaneThumbnails', 'thumbnails', THUMBS.queue, THUMBS.dlq),
  ...outputsOfLane(
    'Standard',
    'standard',
    'EventPipeline-dev-StandardQueue-abc',
    'EventPipeline-dev-StandardDlq-def',
  ),
  ...outputsOfLane(
    'Fifo',
    'fifo',
    'EventPipeline-dev-FifoQueue-ghi.fifo',
    'EventPipeline-dev-FifoDlq-jkl.fifo',
  ),
  ...outputsOfLane(
    'LanePdfRender',
    'pdf-render',
    'EventPipeline-dev-PipelineLanePdfRenderQueue0A1B2C3D-Q2',
    'EventPipeline-dev-PipelineLanePdfRenderDlq4E5F6A7B-D2',
  ),
  { OutputKey: 'AlarmNamePrefix', OutputValue: 'EventPipeline-dev-' },
];

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients;
let mocks: {
  cfn: ReturnType<typeof mockClient>;
  cw: ReturnType<typeof mockClient>;
  sqs: ReturnType<typeof mockClient>;
  s3: ReturnType<typeof mockClient>;
};
// Local targets make their own clients: mocked for every instance.
let localSqs: ReturnType<typeof mockClient>;

function stackWith(outputs: Output[]) {
  mocks.cfn.on(DescribeStacksCommand, { StackName: 'EventPipeline-dev' }).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: outputs,
      },
    ],
  });
}

beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
  };
  mocks = {
    cfn: mockClient(clients.cloudFormation),
    cw: mockClient(clients.cloudWatch),
    sqs: mockClient(clients.sqs),
    s3: mockClient(clients.s3),
  };
  mocks.s3
    .on(GetObjectCommand)
    .rejects(new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } }));
  mocks.s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  localSqs = mockClient(SQSClient);
});
afterEach(() => {
  for (const m of Object.values(mocks)) m.restore();
  localSqs.restore();
});

function io() {
  const out = { stdout: '', stderr: '' };
  const value: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: '/nowhere',
  };
  return { io: value, out };
}

const run = async (argv: string[]) => {
  const { io: stdio, out } = io();
  const code = await runCli(argv, stdio, COMMANDS, { awsClients: clients });
  return { code, ...out };
};

describe('lanes of a local target', () => {
  it("reads one pair per lane from the env file's lanes, the default lanes first", async () => {
    // Prepare: the emulator answers.
    localSqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: 'arn' } });

    // Act
    const target = await localTarget(LOCAL_ENV);

    // Assess
    expect(target.queues.map((p) => [p.key, p.source.name, p.dlq.name, p.source.fifo, p.dlq.fifo])).toEqual([
      ['standard', LOCAL_ENV.queues.StandardQueue!.name, LOCAL_ENV.queues.StandardDlq!.name, false, false],
      ['fifo', LOCAL_ENV.queues.FifoQueue!.name, LOCAL_ENV.queues.FifoDlq!.name, true, true],
      [
        'thumbnails',
        LOCAL_ENV.queues.PipelineLaneThumbnailsQueueECF02AA0!.name,
        LOCAL_ENV.queues.PipelineLaneThumbnailsDlq5B1F0C3E!.name,
        false,
        false,
      ],
      [
        'ledger',
        LOCAL_ENV.queues.PipelineLaneLedgerQueue9F8E7D6C!.name,
        LOCAL_ENV.queues.PipelineLaneLedgerDlq1A2B3C4D!.name,
        true,
        true,
      ],
    ]);
    expect(pairOf(target, 'thumbnails').source.url).toBe(
      LOCAL_ENV.queues.PipelineLaneThumbnailsQueueECF02AA0!.url,
    );
    target.close();
  });

  it('falls back to the redrive policies for an env file from before lanes (standard and fifo only)', async () => {
    // Prepare: an env file without `lanes`, and its two default pairs only.
    const { lanes: _lanes, ...old } = LOCAL_ENV;
    const queues = {
      StandardDlq: LOCAL_ENV.queues.StandardDlq!,
      StandardQueue: LOCAL_ENV.queues.StandardQueue!,
      FifoDlq: LOCAL_ENV.queues.FifoDlq!,
      FifoQueue: LOCAL_ENV.queues.FifoQueue!,
    };
    localSqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    for (const [source, dlq] of [
      ['StandardQueue', 'StandardDlq'],
      ['FifoQueue', 'FifoDlq'],
    ] as const) {
      localSqs.on(GetQueueAttributesCommand, { QueueUrl: queues[source].url }).resolves({
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queues[dlq].arn, maxReceiveCount: 30 }),
        },
      });
    }

    // Act: FIFO comes first in the file; the default order wins.
    const target = await localTarget({
      ...old,
      queues: {
        FifoDlq: queues.FifoDlq,
        FifoQueue: queues.FifoQueue,
        StandardDlq: queues.StandardDlq,
        StandardQueue: queues.StandardQueue,
      },
    });

    // Assess
    expect(target.queues.map((p) => [p.key, p.source.name, p.dlq.name])).toEqual([
      ['standard', queues.StandardQueue.name, queues.StandardDlq.name],
      ['fifo', queues.FifoQueue.name, queues.FifoDlq.name],
    ]);
    target.close();
  });

  it("says local mode is not running when the emulator does not answer, and names a lane's missing queue", async () => {
    localSqs.on(GetQueueAttributesCommand).rejects(new Error('connect ECONNREFUSED 127.0.0.1:4566'));
    const down = await localTarget(LOCAL_ENV).catch((e: unknown) => e);

    const broken = await localTarget({
      ...LOCAL_ENV,
      lanes: { ...LOCAL_ENV.lanes, thumbnails: { queue: 'Gone', dlq: 'StandardDlq', fifo: false } },
    }).catch((e: unknown) => e);

    expect(down).toBeInstanceOf(OpsError);
    expect((down as Error).message).toMatch(
      /^local mode is not running \(the emulator at http:\/\/127\.0\.0\.1:4566 does not answer: connect ECONNREFUSED/,
    );
    expect((broken as Error).message).toBe(
      "the env file's lane thumbnails names queue Gone, which its queues lack",
    );
  });
});

describe('lanes of a deployed stage', () => {
  it('reads the default lanes from their outputs and each custom lane from its Lane<Name> outputs, named by their description', async () => {
    // Prepare
    stackWith(OUTPUTS);

    // Act
    const target = await awsTarget({ stage: 'dev', clients });

    // Assess
    expect(target.queues.map((p) => p.key)).toEqual(['standard', 'fifo', 'pdf-render', 'thumbnails']);
    expect(pairOf(target, 'thumbnails')).toEqual({
      key: 'thumbnails',
      source: { ...awsQueue(THUMBS.queue), name: THUMBS.queue, fifo: false },
      dlq: { ...awsQueue(THUMBS.dlq), name: THUMBS.dlq, fifo: false },
    });
    expect(pairOf(target, 'pdf-render').source.name).toBe(
      'EventPipeline-dev-PipelineLanePdfRenderQueue0A1B2C3D-Q2',
    );
  });

  it("names what a custom lane's outputs lack, and refuses one whose description names no lane", async () => {
    const lacking = OUTPUTS.filter((o) => o.OutputKey !== 'LaneThumbnailsDlqArn');
    const unnamed = OUTPUTS.map((o) =>
      o.OutputKey === 'LanePdfRenderQueueUrl' ? { ...o, Description: undefined } : o,
    );

    stackWith(lacking);
    const missing = await awsTarget({ stage: 'dev', clients }).catch((e: Error) => e.message);
    stackWith(unnamed);
    const noName = await awsTarget({ stage: 'dev', clients }).catch((e: Error) => e.message);

    expect(missing).toBe(
      'stack EventPipeline-dev lacks the outputs LaneThumbnailsDlqArn (deploy this version of the app)',
    );
    expect(noName).toBe(
      'stack EventPipeline-dev: the output LanePdfRenderQueueUrl has no description "lane <name>" (deploy this version of the app)',
    );
  });
});

describe('--lane on the command line', () => {
  it.each([
    [
      ['dlq', 'list', '--lane', 'thumbs', '--stage', 'dev'],
      'error: no lane thumbs in dev (lanes: standard, fifo, pdf-render, thumbnails)\n',
    ],
    [
      ['dlq', 'redrive', '--lane', 'thumbs', '--stage', 'dev'],
      'error: no lane thumbs in dev (lanes: standard, fifo, pdf-render, thumbnails)\n',
    ],
    [
      ['archive', 'list', '--lane', 'thumbs', '--stage', 'dev'],
      'error: no lane thumbs in dev (lanes: standard, fifo, pdf-render, thumbnails)\n',
    ],
    [
      ['replay', '--lane', 'thumbs', '--dry-run', '--stage', 'dev'],
      'error: no lane thumbs in dev (lanes: standard, fifo, pdf-render, thumbnails)\n',
    ],
    [
      ['purge', '--lane', 'thumbs', '--yes', '--stage', 'dev'],
      'error: no lane thumbs in dev (lanes: standard, fifo, pdf-render, thumbnails)\n',
    ],
    [
      ['dlq', 'list', '--lane', 'Thumbnails', '--stage', 'dev'],
      'error: --lane Thumbnails: not a lane name (lower case letters, digits and dashes)\n',
    ],
    [
      ['dlq', 'list', '--lane', 'thumbnails', '--queue', 'standard', '--stage', 'dev'],
      'error: give --lane <name> or --queue standard|fifo, not both\n',
    ],
    [
      ['archive', 'list', '--queue', 'thumbnails', '--stage', 'dev'],
      'error: --queue thumbnails: use standard or fifo, or --lane <name> for any lane\n',
    ],
    [
      ['purge', '--lane', 'thumbnails', '--stage', 'dev'],
      'error: purge deletes every message of the thumbnails DLQ for good: add --yes (or --dry-run)\n',
    ],
  ])('refuses %j with one line on stderr and exit code 2', async (argv, line) => {
    stackWith(OUTPUTS);

    const out = await run(argv);

    expect(out.stderr).toBe(line);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
  });

  it("lists only the lane's DLQ, and shows the lane of each message", async () => {
    // Prepare: one message in the thumbnails DLQ.
    stackWith(OUTPUTS);
    const dlq = awsQueue(THUMBS.dlq).url;
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
    // Like SQS: a received message is hidden until the tool makes it visible again.
    let visible = true;
    const message = {
      MessageId: 'm-1',
      ReceiptHandle: 'rh-1',
      Body: JSON.stringify({ v: 1, id: 'e-1', type: 'thumbnail.render', payload: {} }),
      Attributes: { SentTimestamp: '1795000000000', ApproximateReceiveCount: '3' },
    };
    mocks.sqs.on(ReceiveMessageCommand).callsFake((input: { QueueUrl: string }) => {
      const shown = input.QueueUrl === dlq && visible;
      visible = false;
      return { Messages: shown ? [message] : [] };
    });
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).callsFake(() => {
      visible = true;
      return {};
    });

    // Act
    const json = await run(['dlq', 'list', '--lane', 'thumbnails', '--stage', 'dev', '--json']);
    const text = await run(['dlq', 'list', '--lane', 'thumbnails', '--stage', 'dev']);

    // Assess
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      messages: { lane: string; messageId: string; type: string }[];
      queues: { lane: string; dlq: string; depth: number }[];
    };
    expect(doc.messages.map((m) => [m.lane, m.messageId, m.type])).toEqual([
      ['thumbnails', 'm-1', 'thumbnail.render'],
    ]);
    expect(doc.queues).toEqual([
      { lane: 'thumbnails', queue: 'thumbnails', dlq: THUMBS.dlq, depth: 1, shown: 1 },
    ]);
    const received = mocks.sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.QueueUrl);
    expect(new Set(received)).toEqual(new Set([dlq]));
    expect(text.stdout.split('\n')[0]).toMatch(/^lane\s+message id\s+type/);
    expect(text.stdout).toMatch(/^thumbnails\s+m-1\s+thumbnail\.render/m);
  });

  it("reads only the lane's archive prefix, and purges the lane's DLQ", async () => {
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
    // The lane's DLQ holds two messages, each with its archive record: purge deletes exactly those.
    const dlqUrl = awsQueue(THUMBS.dlq).url;
    const copy = (n: number) => ({
      MessageId: `d-${n}`,
      ReceiptHandle: `rh-d-${n}`,
      Body: '{}',
      Attributes: { SentTimestamp: '1764000000000' },
    });
    mocks.sqs
      .on(ReceiveMessageCommand, { QueueUrl: dlqUrl })
      .resolvesOnce({ Messages: [copy(1), copy(2)] })
      .resolves({ Messages: [] });
    mocks.s3.on(GetObjectCommand).resolves({
      Body: {
        transformToString: async () =>
          JSON.stringify({
            v: 1,
            queue: { name: THUMBS.queue, arn: awsQueue(THUMBS.queue).arn },
            body: '{}',
            receiveCount: 1,
            failure: { kind: 'permanent', errorName: 'PermanentError', errorMessage: 'bad' },
          }),
      },
    } as never);
    mocks.sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }, { Id: '1' }] });
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });

    const archive = await run(['archive', 'list', '--lane', 'thumbnails', '--stage', 'dev']);
    const purge = await run(['purge', '--lane', 'thumbnails', '--yes', '--stage', 'dev']);

    expect(archive.code).toBe(0);
    expect(mocks.s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual([
      `failed/${THUMBS.queue}/`,
    ]);
    expect(purge.stderr).toBe('');
    expect(purge.code).toBe(0);
    expect(purge.stdout).toBe(`purged ${THUMBS.dlq}: 2 message(s); archive records stay\n`);
    const deletes = mocks.sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input);
    expect(deletes.map((d) => d.QueueUrl)).toEqual([dlqUrl]);
    expect(deletes[0]!.Entries!.map((e) => e.ReceiptHandle)).toEqual(['rh-d-1', 'rh-d-2']);
    expect(mocks.sqs.commandCalls(PurgeQueueCommand)).toHaveLength(0);
  });

  it('keeps --queue standard|fifo as the names of the default lanes', async () => {
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
    mocks.sqs.on(ReceiveMessageCommand).resolves({ Messages: [] });
    const target = await awsTarget({ stage: 'dev', clients });

    const byQueue = await listDlq(target, { queue: 'fifo' });
    const byLane = await listDlq(target, { lane: 'fifo' });
    const unknown = await listDlq(target, { lane: 'nope' }).catch((e: unknown) => e);

    expect(byQueue.queues.map((q) => q.dlq)).toEqual(['EventPipeline-dev-FifoDlq-jkl.fifo']);
    expect(byLane).toEqual(byQueue);
    expect(unknown).toBeInstanceOf(UsageError);
  });

  it('shows every lane in the status table, with the lane in the first column', async () => {
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
    mocks.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });

    const text = await run(['status', '--stage', 'dev']);
    const json = await run(['status', '--stage', 'dev', '--json']);

    expect(text.code).toBe(0);
    const rows = text.stdout
      .split('\n')
      .filter((l) => /^(lane|standard|fifo|pdf-render|thumbnails)\s/.test(l));
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'lane role name',
      'standard source EventPipeline-dev-StandardQueue-abc',
      'standard dlq EventPipeline-dev-StandardDlq-def',
      'fifo source EventPipeline-dev-FifoQueue-ghi.fifo',
      'fifo dlq EventPipeline-dev-FifoDlq-jkl.fifo',
      'pdf-render source EventPipeline-dev-PipelineLanePdfRenderQueue0A1B2C3D-Q2',
      'pdf-render dlq EventPipeline-dev-PipelineLanePdfRenderDlq4E5F6A7B-D2',
      `thumbnails source ${THUMBS.queue}`,
      `thumbnails dlq ${THUMBS.dlq}`,
    ]);
    const doc = JSON.parse(json.stdout) as { queues: { lane: string; queue: string; role: string }[] };
    expect(doc.queues.map((q) => `${q.lane}/${q.role}`)).toEqual([
      'standard/source',
      'standard/dlq',
      'fifo/source',
      'fifo/dlq',
      'pdf-render/source',
      'pdf-render/dlq',
      'thumbnails/source',
      'thumbnails/dlq',
    ]);
    expect(doc.queues.every((q) => q.queue === q.lane)).toBe(true);
  });
});
