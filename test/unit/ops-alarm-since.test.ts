import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { localTarget, type AwsClients, type LocalEnvFile } from '../../ops/lib/target';

// `ops status`: an alarm's `since` is when it entered its state, not when it was last looked at.

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/',
  ArchiveBucketName: 'archive',
  StandardQueueUrl: queue('q').url,
  StandardQueueArn: queue('q').arn,
  StandardDlqUrl: queue('q-dlq').url,
  StandardDlqArn: queue('q-dlq').arn,
  FifoQueueUrl: queue('f.fifo').url,
  FifoQueueArn: queue('f.fifo').arn,
  FifoDlqUrl: queue('f-dlq.fifo').url,
  FifoDlqArn: queue('f-dlq.fifo').arn,
  AlarmNamePrefix: 'EventPipeline-dev-',
};
const ENTERED = new Date('2026-12-01T10:49:05.052Z');
const CHECKED = new Date('2026-12-01T11:30:00.000Z');

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients;
let mocks: {
  cfn: ReturnType<typeof mockClient>;
  cw: ReturnType<typeof mockClient>;
  sqs: ReturnType<typeof mockClient>;
};
let localSqs: ReturnType<typeof mockClient>;
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
  };
  mocks.cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
  mocks.cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
  localSqs = mockClient(SQSClient);
  localSqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
});
afterEach(() => {
  for (const m of Object.values(mocks)) m.restore();
  localSqs.restore();
});

async function run(argv: string[], factory: Parameters<typeof runCli>[3]) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: '/nowhere',
  };
  const code = await runCli(argv, io, COMMANDS, factory);
  return { code, ...out };
}

/** The alarm table of `status` (its last block), each row's name, state and since. */
const alarmRows = (text: string) =>
  text
    .trimEnd()
    .split('\n\n')
    .at(-1)!
    .split('\n')
    .map((l) => l.split(/\s{2,}/).slice(0, 3));

describe('ops status: since when an alarm is in its state', () => {
  it("shows CloudWatch's StateTransitionedTimestamp, not the last update of the alarm", async () => {
    // Prepare: the alarm entered ALARM at ENTERED; CloudWatch updated it again at CHECKED (a new reason).
    mocks.cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: 'EventPipeline-dev-StandardDlqDepthAlarm',
          StateValue: 'ALARM',
          StateReason: 'Threshold crossed',
          StateTransitionedTimestamp: ENTERED,
          StateUpdatedTimestamp: CHECKED,
        },
      ],
      CompositeAlarms: [
        {
          AlarmName: 'EventPipeline-dev-Composite',
          StateValue: 'OK',
          StateTransitionedTimestamp: ENTERED,
          StateUpdatedTimestamp: CHECKED,
        },
      ],
    });

    // Act
    const text = await run(['status', '--stage', 'dev'], { awsClients: clients });
    const json = await run(['status', '--stage', 'dev', '--json'], { awsClients: clients });

    // Assess
    expect(text.code).toBe(0);
    expect(alarmRows(text.stdout)).toEqual([
      ['alarm', 'state', 'since'],
      ['EventPipeline-dev-Composite', 'OK', ENTERED.toISOString()],
      ['EventPipeline-dev-StandardDlqDepthAlarm', 'ALARM', ENTERED.toISOString()],
    ]);
    const doc = JSON.parse(json.stdout) as { alarms: { name: string; since: string; updatedAt: string }[] };
    expect(doc.alarms.map((a) => [a.since, a.updatedAt])).toEqual([
      [ENTERED.toISOString(), CHECKED.toISOString()],
      [ENTERED.toISOString(), CHECKED.toISOString()],
    ]);
  });

  describe('in local mode', () => {
    const env: LocalEnvFile = {
      apiUrl: 'http://127.0.0.1:3000',
      apiKey: 'k',
      awsEndpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      queues: {
        StandardQueue: { url: 'http://127.0.0.1:4566/0/q', arn: 'arn:aws:sqs:us-east-1:0:q', name: 'q' },
        StandardDlq: { url: 'http://127.0.0.1:4566/0/d', arn: 'arn:aws:sqs:us-east-1:0:d', name: 'd' },
      },
      buckets: { FailureArchiveBucket: 'archive' },
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      tables: { StatusTable: 'status' },
      lanes: { standard: { queue: 'StandardQueue', dlq: 'StandardDlq', fifo: false } },
    };
    /** Local mode answering `alarms` on GET /_local/alarms. */
    const localWith = (alarms: Record<string, unknown>[]) => ({
      local: () =>
        localTarget(env, {
          fetch: (async () => new Response(JSON.stringify(alarms), { status: 200 })) as typeof fetch,
        }),
    });
    const alarm = {
      logicalId: 'StandardDlqDepthAlarm',
      name: 'StandardDlqDepthAlarm',
      state: 'ALARM',
      reason: 'Threshold crossed',
      metric: 'ApproximateNumberOfMessagesVisible',
      queue: 'd',
      value: 1,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      // The evaluator's last sample (every 2 s), not when the state began.
      updatedAt: CHECKED.toISOString(),
    };

    it('leaves since empty when local mode reports only the time of its last evaluation', async () => {
      const text = await run(['status'], localWith([alarm]));
      const json = await run(['status', '--json'], localWith([alarm]));

      expect(text.code).toBe(0);
      expect(alarmRows(text.stdout)).toEqual([
        ['alarm', 'state', 'since'],
        ['StandardDlqDepthAlarm', 'ALARM', '–'],
      ]);
      const doc = JSON.parse(json.stdout) as { alarms: { since: string | null; updatedAt: string }[] };
      expect(doc.alarms).toEqual([
        expect.objectContaining({ since: null, updatedAt: CHECKED.toISOString() }),
      ]);
    });

    it('shows when the state began once local mode reports it (stateChangedAt)', async () => {
      const text = await run(['status'], localWith([{ ...alarm, stateChangedAt: ENTERED.toISOString() }]));

      expect(alarmRows(text.stdout)).toEqual([
        ['alarm', 'state', 'since'],
        ['StandardDlqDepthAlarm', 'ALARM', ENTERED.toISOString()],
      ]);
    });
  });
});
