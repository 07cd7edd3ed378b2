import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { relayCompletions } from '../../lambda/shared/events/relay';
import { createLogger } from '../../lambda/shared/runtime';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { parseDuration, publishedFilterPattern, viewOfLogEvent } from '../../ops/lib/events';
import type { AwsClients } from '../../ops/lib/target';

// `ops events` on a deployed stage: FilterLogEvents on the completion relay's log group (its
// line per published event), mocked; the local path: test/local/ops-events.test.ts.

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const LOG_GROUP = '/aws/lambda/EventPipeline-dev-CompletionRelay';
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
  CompletionRelayLogGroup: LOG_GROUP,
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients & { logs: CloudWatchLogsClient };
let cfn: ReturnType<typeof mockClient>;
let logs: ReturnType<typeof mockClient>;
const stack = (outputs: Record<string, string>) =>
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
    logs: new CloudWatchLogsClient(config),
  };
  cfn = mockClient(clients.cloudFormation);
  logs = mockClient(clients.logs);
  stack(OUTPUTS);
});
afterEach(() => {
  cfn.restore();
  logs.restore();
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

/** A relay log line as Powertools writes it (lambda/shared/events/relay.ts). */
const line = (at: number, id: string, over: Record<string, unknown> = {}) => ({
  timestamp: at,
  message: JSON.stringify({
    level: 'INFO',
    message: 'completion event published',
    service: 'completion-relay',
    timestamp: new Date(at).toISOString(),
    envelopeId: id,
    eventId: `${id}:succeeded:${new Date(at).toISOString()}`,
    detailType: 'Message Succeeded',
    correlationId: 'corr-1',
    type: 'probe',
    lane: 'standard',
    status: 'succeeded',
    attempts: 1,
    failureKind: null,
    ...over,
  }),
});

describe('ops events (AWS: the relay log group)', () => {
  it('reads every page of the published lines since --since and prints the newest --limit, oldest first', async () => {
    const now = Date.now();
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [line(now - 30_000, 'a'), line(now - 20_000, 'b')], nextToken: 't1' })
      .resolvesOnce({
        events: [
          line(now - 10_000, 'c', {
            detailType: 'Message Failed',
            status: 'failed',
            attempts: 3,
            failureKind: 'exhausted',
            eventId: 'c:failed:x',
          }),
        ],
      });

    const r = await run(['events', '--stage', 'dev', '--since', '15m', '--limit', '2']);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual({
      logGroupName: LOG_GROUP,
      filterPattern: '{ $.message = "completion event published" }',
      startTime: expect.any(Number),
    });
    expect(now - 15 * 60_000 - calls[0]!.startTime!).toBeLessThan(5000);
    expect(calls[1]).toMatchObject({ nextToken: 't1' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual([
      'time',
      'detail-type',
      'envelope id',
      'type',
      'lane',
      'status',
      'attempts',
      'failure kind',
      'event id',
    ]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual([
      new Date(now - 20_000).toISOString(),
      'Message Succeeded',
      'b',
      'probe',
      'standard',
      'succeeded',
      '1',
      '–',
      `b:succeeded:${new Date(now - 20_000).toISOString()}`,
    ]);
    expect(lines[2]!.split(/\s{2,}/)).toEqual([
      new Date(now - 10_000).toISOString(),
      'Message Failed',
      'c',
      'probe',
      'standard',
      'failed',
      '3',
      'exhausted',
      'c:failed:x',
    ]);
    expect(lines[3]).toBe('');
    expect(lines[4]).toMatch(
      new RegExp(`^2 event\\(s\\) since \\S+ \\(15m ago\\), from ${LOG_GROUP} \\(the newest 2: --limit\\)$`),
    );
  });

  it('--id filters on the envelope id in the pattern; --json prints the events', async () => {
    const now = Date.now();
    logs.on(FilterLogEventsCommand).resolves({ events: [line(now - 1000, 'env-9')] });

    const r = await run(['events', '--stage', 'dev', '--id', 'env-9', '--json']);

    expect(r.code).toBe(0);
    expect(logs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input.filterPattern).toBe(
      '{ $.message = "completion event published" && $.envelopeId = "env-9" }',
    );
    const json = JSON.parse(r.stdout);
    expect(json).toEqual({
      since: expect.any(String),
      source: LOG_GROUP,
      truncated: false,
      events: [
        {
          time: new Date(now - 1000).toISOString(),
          detailType: 'Message Succeeded',
          envelopeId: 'env-9',
          type: 'probe',
          lane: 'standard',
          status: 'succeeded',
          attempts: 1,
          failureKind: null,
          eventId: `env-9:succeeded:${new Date(now - 1000).toISOString()}`,
          correlationId: 'corr-1',
        },
      ],
    });
    expect(Date.now() - 3_600_000 - Date.parse(json.since)).toBeLessThan(5000);
  });

  it('says so when there are none', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    const r = await run(['events', '--stage', 'dev', '--id', 'nope']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^no completion events of nope since \S+ \(1h ago\), from \/aws\/lambda\/\S+\n$/,
    );
  });

  it('refuses bad input in one line with exit code 2, before any AWS call', async () => {
    for (const [argv, message] of [
      [['--since', '5x'], 'error: --since 5x: use a duration such as 90s, 30m, 2h or 7d\n'],
      [['--since', '0m'], 'error: --since 0m: use a duration such as 90s, 30m, 2h or 7d\n'],
      [['--id', 'a"b'], 'error: --id a"b: not an envelope id (letters, digits, . _ : -)\n'],
      [['--limit', '0'], 'error: --limit 0: use a whole number of at least 1\n'],
      [
        ['--bogus'],
        "error: events: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"\n",
      ],
    ] as const) {
      const r = await run(['events', '--stage', 'dev', ...argv]);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        code: 2,
        stderr: message,
        stdout: '',
      });
    }
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(0);
  });

  it('a stack without the relay log group output, and a refused FilterLogEvents, are one line, exit 1', async () => {
    const { CompletionRelayLogGroup: _, ...older } = OUTPUTS;
    stack(older);
    const r1 = await run(['events', '--stage', 'dev']);
    expect({ code: r1.code, stderr: r1.stderr }).toEqual({
      code: 1,
      stderr:
        'error: stack EventPipeline-dev has no CompletionRelayLogGroup output (deploy this version of the app)\n',
    });

    stack(OUTPUTS);
    logs
      .on(FilterLogEventsCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const r2 = await run(['events', '--stage', 'dev']);
    expect({ code: r2.code, stderr: r2.stderr }).toEqual({
      code: 1,
      stderr: `error: cannot read the completion events in ${LOG_GROUP}: AccessDeniedException: User is not authorized\n`,
    });
  });

  it('--help prints its usage', async () => {
    const r = await run(['events', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'usage: npm run ops -- events [--id <envelope id>] [--limit N (default 20)] [--since <duration: 90s, 30m, 2h, 7d> (default 1h)]\n' +
        'recent completion events (Message Succeeded / Message Failed): the relay log group on AWS, the events log locally\n',
    );
  });

  it('parses durations and builds the filter pattern', () => {
    expect([
      parseDuration('since', '90s'),
      parseDuration('since', '30m'),
      parseDuration('since', '2h'),
      parseDuration('since', '7d'),
    ]).toEqual([90_000, 1_800_000, 7_200_000, 604_800_000]);
    expect(publishedFilterPattern('x-1')).toBe(
      '{ $.message = "completion event published" && $.envelopeId = "x-1" }',
    );
  });
});

describe('ops events reads the line the relay writes', () => {
  it("parses the relay's own Powertools line for a failed message (what FilterLogEvents returns)", async () => {
    // Arrange: the relay with the functions' logger, its stdout captured, and a bus that accepts.
    const bus = mockClient(EventBridgeClient);
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const row = {
      pk: 'msg#env-7',
      id: 'env-7',
      type: 'report.generate',
      queue: 'standard',
      lane: 'reports',
      status: 'failed',
      attempts: 3,
      acceptedAt: '2026-12-05T10:00:00.000Z',
      updatedAt: '2026-12-05T10:00:05.000Z',
      owner: 'tenant-a',
      correlationId: 'corr-7',
      failure: { kind: 'exhausted', archiveKey: 'failed/x.json' },
      lastError: { name: 'Error', message: 'customer 42 has no address' },
    };
    const event = {
      Records: [
        {
          eventName: 'MODIFY',
          dynamodb: {
            SequenceNumber: '1',
            OldImage: marshall({ ...row, status: 'processing' }),
            NewImage: marshall(row),
          },
        },
      ],
    } as unknown as DynamoDBStreamEvent;

    // Act
    try {
      await relayCompletions(event, {
        events: new EventBridgeClient({ region: REGION }),
        busName: 'b',
        logger: createLogger('completion-relay'),
      });
    } finally {
      write.mockRestore();
      bus.restore();
    }

    // Assert: one JSON line; no tenant, no error message in it; ops reads it back whole.
    const published = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.message === 'completion event published');
    expect(published).toHaveLength(1);
    const text = JSON.stringify(published[0]);
    expect(text).not.toContain('tenant-a');
    expect(text).not.toContain('customer 42');
    expect(
      viewOfLogEvent({
        timestamp: Date.parse('2026-12-05T10:00:06.000Z'),
        message: JSON.stringify(published[0]),
      }),
    ).toEqual({
      time: '2026-12-05T10:00:06.000Z',
      detailType: 'Message Failed',
      envelopeId: 'env-7',
      type: 'report.generate',
      lane: 'reports',
      status: 'failed',
      attempts: 3,
      failureKind: 'exhausted',
      eventId: 'env-7:failed:2026-12-05T10:00:05.000Z',
      correlationId: 'corr-7',
    });
  });
});
