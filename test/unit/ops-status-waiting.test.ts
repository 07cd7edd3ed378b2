import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { AwsClients } from '../../ops/lib/target';

// `ops status --waiting`: each lane's deferred and scheduled messages, counted from the status
// table by a scan (on DynamoDB itself: test/local/ops-waiting.dynamodb.test.ts).

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
  StatusTableName: 'EventPipeline-dev-Status',
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients & { dynamoDb: DynamoDBClient };
let mocks: Record<'cfn' | 'cw' | 'sqs' | 'ddb', ReturnType<typeof mockClient>>;
beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
    dynamoDb: new DynamoDBClient(config),
  };
  mocks = {
    cfn: mockClient(clients.cloudFormation),
    cw: mockClient(clients.cloudWatch),
    sqs: mockClient(clients.sqs),
    ddb: mockClient(clients.dynamoDb),
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
  mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
});
afterEach(() => {
  for (const m of Object.values(mocks)) m.restore();
});

async function run(argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: '/nowhere',
  };
  const code = await runCli(argv, io, COMMANDS, { awsClients: clients });
  return { code, ...out };
}

/** A scanned row as the scan projects it (lane, queue, state). */
const row = (state: string, lane?: string, queue = 'standard') => ({
  ...(lane !== undefined ? { lane: { S: lane } } : {}),
  queue: { S: queue },
  status: { S: state },
});

describe('ops status --waiting', () => {
  it('counts deferred and scheduled rows per lane over every page of the scan, and tells its cost', async () => {
    // Prepare: two pages; a row from before lanes counts under its queue's lane.
    const first = {
      Items: [row('deferred', 'standard'), row('scheduled', 'standard'), row('deferred', 'fitness')],
      ScannedCount: 40,
      ConsumedCapacity: { TableName: OUTPUTS.StatusTableName, CapacityUnits: 2.5 },
      LastEvaluatedKey: { pk: { S: 'msg#x' } },
    };
    const second = {
      Items: [row('scheduled', undefined, 'fifo'), row('deferred', 'fitness')],
      ScannedCount: 12,
      ConsumedCapacity: { TableName: OUTPUTS.StatusTableName, CapacityUnits: 1 },
    };
    mocks.ddb
      .on(ScanCommand)
      .callsFake((input: { ExclusiveStartKey?: unknown }) => (input.ExclusiveStartKey ? second : first));

    // Act
    const text = await run(['status', '--stage', 'dev', '--waiting']);
    const json = await run(['status', '--stage', 'dev', '--waiting', '--json']);

    // Assess: the scan filters on the state and reads on from where the last page ended.
    expect(text.code).toBe(0);
    const scans = mocks.ddb.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(scans[0]).toEqual({
      TableName: OUTPUTS.StatusTableName,
      FilterExpression: '#status IN (:deferred, :scheduled)',
      ProjectionExpression: '#lane, #queue, #status',
      ExpressionAttributeNames: { '#lane': 'lane', '#queue': 'queue', '#status': 'status' },
      ExpressionAttributeValues: { ':deferred': { S: 'deferred' }, ':scheduled': { S: 'scheduled' } },
      ReturnConsumedCapacity: 'TOTAL',
    });
    expect(scans[1]).toMatchObject({ ExclusiveStartKey: { pk: { S: 'msg#x' } } });
    const block = text.stdout.split('\n\n').find((b) => b.startsWith('lane') && b.includes('deferred'))!;
    expect(block.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['lane', 'deferred', 'scheduled'],
      ['standard', '1', '1'],
      ['fifo', '0', '1'],
      // A lane the rows name that the stack's outputs do not list (the fixture has none) is shown too.
      ['fitness', '2', '0'],
      ['(status table scanned: 52 row(s) read, 3.5 read unit(s))'],
    ]);
    expect(JSON.parse(json.stdout).waiting).toEqual({
      lanes: {
        standard: { deferred: 1, scheduled: 1 },
        fifo: { deferred: 0, scheduled: 1 },
        fitness: { deferred: 2, scheduled: 0 },
      },
      scannedRows: 52,
      readUnits: 3.5,
    });
  });

  it('does not scan the status table unless asked', async () => {
    const text = await run(['status', '--stage', 'dev']);

    expect(text.code).toBe(0);
    expect(mocks.ddb.commandCalls(ScanCommand)).toHaveLength(0);
    expect(text.stdout).not.toContain('scheduled');
  });

  it('fails in one line, exit 1, when the scan is refused', async () => {
    mocks.ddb
      .on(ScanCommand)
      .rejects(Object.assign(new Error('not authorized to scan'), { name: 'AccessDeniedException' }));

    const res = await run(['status', '--stage', 'dev', '--waiting']);

    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^error: cannot count the waiting messages of EventPipeline-dev-Status/);
  });
});
