import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { redrive, REDRIVEN_FROM_ATTR } from '../../ops/lib/dlq';
import { OpsError } from '../../ops/lib/errors';
import { smoke } from '../../ops/lib/smoke';
import { awsTarget, type AwsClients } from '../../ops/lib/target';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const q = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
  arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
});
const QUEUES = {
  Standard: q('EventPipeline-dev-StandardQueue-abc'),
  StandardDlq: q('EventPipeline-dev-StandardDlq-def'),
  Fifo: q('EventPipeline-dev-FifoQueue-ghi.fifo'),
  FifoDlq: q('EventPipeline-dev-FifoDlq-jkl.fifo'),
};
const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/',
  ApiKeyId: 'k1',
  ArchiveBucketName: 'eventpipeline-dev-archive',
  StandardQueueUrl: QUEUES.Standard.url,
  StandardQueueArn: QUEUES.Standard.arn,
  StandardDlqUrl: QUEUES.StandardDlq.url,
  StandardDlqArn: QUEUES.StandardDlq.arn,
  FifoQueueUrl: QUEUES.Fifo.url,
  FifoQueueArn: QUEUES.Fifo.arn,
  FifoDlqUrl: QUEUES.FifoDlq.url,
  FifoDlqArn: QUEUES.FifoDlq.arn,
  AlarmNamePrefix: 'EventPipeline-dev-',
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients;
function mocksFor(c: AwsClients) {
  return {
    cfn: mockClient(c.cloudFormation),
    cw: mockClient(c.cloudWatch),
    sqs: mockClient(c.sqs),
    s3: mockClient(c.s3),
  };
}
let mocks: ReturnType<typeof mocksFor>;

function stackWith(outputs: Record<string, string>) {
  mocks.cfn.on(DescribeStacksCommand, { StackName: 'EventPipeline-dev' }).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

function envelope(type: string, tag: string): string {
  return JSON.stringify({
    v: 1,
    id: `00000000-0000-4000-8000-00000000000${tag}`,
    type,
    payload: { mode: 'succeed', tag },
    createdAt: '2026-11-22T10:00:00.000Z',
    correlationId: `req-${tag}`,
  });
}

function dlqMessage(
  id: string,
  body: string,
  extra: Partial<Message> = {},
  attrs: Record<string, string> = {},
): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: body,
    Attributes: {
      SentTimestamp: String(Date.parse('2026-11-22T10:00:01Z')),
      ApproximateReceiveCount: '1',
      ...extra.Attributes,
    },
    MessageAttributes: {
      type: { DataType: 'String', StringValue: 'x' },
      'correlation-id': { DataType: 'String', StringValue: 'req' },
      ...Object.fromEntries(
        Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
      ),
    },
  };
}

beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
  };
  mocks = mocksFor(clients);
  // No archive records unless a test says otherwise.
  mocks.s3
    .on(GetObjectCommand)
    .rejects(new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } }));
  mocks.s3.on(ListObjectsV2Command).resolves({ Contents: [] });
});
afterEach(() => {
  for (const m of Object.values(mocks)) m.restore();
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

describe('ops on AWS: target resolution', () => {
  it('reads queues, bucket and API from the stack outputs', async () => {
    // Prepare
    stackWith(OUTPUTS);

    // Act
    const target = await awsTarget({ stage: 'dev', clients });

    // Assess
    expect(target.kind).toBe('aws');
    expect(target.moveTasks).toBe(true);
    expect(target.bucket).toBe('eventpipeline-dev-archive');
    expect(target.apiUrl).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/dev');
    expect(target.queues).toEqual([
      {
        key: 'standard',
        source: { ...QUEUES.Standard, name: 'EventPipeline-dev-StandardQueue-abc', fifo: false },
        dlq: { ...QUEUES.StandardDlq, name: 'EventPipeline-dev-StandardDlq-def', fifo: false },
      },
      {
        key: 'fifo',
        source: { ...QUEUES.Fifo, name: 'EventPipeline-dev-FifoQueue-ghi.fifo', fifo: true },
        dlq: { ...QUEUES.FifoDlq, name: 'EventPipeline-dev-FifoDlq-jkl.fifo', fifo: true },
      },
    ]);
  });

  it('names the outputs a stack of an older app version lacks', async () => {
    const { StandardDlqArn: _a, FifoQueueArn: _b, ...rest } = OUTPUTS;
    stackWith(rest);

    const error = await awsTarget({ stage: 'dev', clients }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpsError);
    expect((error as Error).message).toBe(
      'stack EventPipeline-dev lacks the outputs StandardDlqArn, FifoQueueArn (deploy this version of the app)',
    );
  });

  it('says so when the stack does not exist, or there are no credentials', async () => {
    mocks.cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(
        Object.assign(new Error('Stack with id EventPipeline-dev does not exist'), {
          name: 'ValidationError',
        }),
      )
      .rejectsOnce(
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
      );

    const missing = await awsTarget({ stage: 'dev', clients }).catch((e: Error) => e.message);
    const noCreds = await awsTarget({ stage: 'dev', clients }).catch((e: Error) => e.message);

    expect(missing).toMatch(/^stack EventPipeline-dev does not exist in this account\/region/);
    expect(noCreds).toMatch(/^cannot read stack EventPipeline-dev: no AWS credentials/);
  });
});

describe('ops on AWS: status', () => {
  it('prints queue depths, oldest ages and every alarm of the stage (all pages) as one JSON document', async () => {
    // Prepare
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        ApproximateNumberOfMessages: '3',
        ApproximateNumberOfMessagesNotVisible: '1',
        ApproximateNumberOfMessagesDelayed: '0',
      },
    });
    mocks.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'q0', Values: [42] },
        { Id: 'q1', Values: [] },
      ],
    });
    mocks.cw
      .on(DescribeAlarmsCommand, { AlarmNamePrefix: 'EventPipeline-dev-', NextToken: undefined })
      .resolves({
        MetricAlarms: [
          {
            AlarmName: 'EventPipeline-dev-StandardDlqDepthAlarm-X',
            StateValue: 'ALARM',
            StateReason: 'depth 1',
          },
        ],
        NextToken: 'p2',
      })
      .on(DescribeAlarmsCommand, { AlarmNamePrefix: 'EventPipeline-dev-', NextToken: 'p2' })
      .resolves({
        MetricAlarms: [{ AlarmName: 'EventPipeline-dev-Consumer-Fault-Count-Critical', StateValue: 'OK' }],
      });
    const { io: stdio, out } = io();

    // Act
    const code = await runCli(['status', '--stage', 'dev', '--json'], stdio, COMMANDS, {
      awsClients: clients,
    });

    // Assess
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    const doc = JSON.parse(out.stdout) as {
      queues: { role: string; visible: number; inFlight: number; oldestAgeSeconds: number | null }[];
      alarms: { name: string; state: string }[];
    };
    expect(doc.queues).toHaveLength(4);
    expect(doc.queues[0]).toMatchObject({ role: 'source', visible: 3, inFlight: 1, oldestAgeSeconds: 42 });
    expect(doc.queues[1]!.oldestAgeSeconds).toBeNull();
    expect(doc.alarms.map((a) => [a.name, a.state])).toEqual([
      ['EventPipeline-dev-Consumer-Fault-Count-Critical', 'OK'],
      ['EventPipeline-dev-StandardDlqDepthAlarm-X', 'ALARM'],
    ]);
  });
});

describe('ops on AWS: dlq redrive', () => {
  it('moves an unfiltered DLQ with StartMessageMoveTask and follows ListMessageMoveTasks until it completes', async () => {
    // Prepare
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '5' } });
    mocks.sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h1' });
    mocks.sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({
        Results: [
          { Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 5 },
        ],
      })
      .resolvesOnce({
        Results: [
          { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 5, ApproximateNumberOfMessagesToMove: 5 },
        ],
      });
    const target = await awsTarget({ stage: 'dev', clients });
    const progress: string[] = [];

    // Act
    const result = await redrive(
      target,
      { queue: 'standard' },
      { pollMs: 1, progress: (l) => progress.push(l) },
    );

    // Assess
    expect(result.mode).toBe('move-task');
    expect(result.moved).toBe(5);
    expect(result.tasks).toEqual([
      { lane: 'standard', queue: 'standard', status: 'COMPLETED', moved: 5, toMove: 5 },
    ]);
    expect(mocks.sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([
      { SourceArn: QUEUES.StandardDlq.arn },
    ]);
    expect(mocks.sqs.commandCalls(ListMessageMoveTasksCommand)[0]!.args[0].input).toEqual({
      SourceArn: QUEUES.StandardDlq.arn,
      MaxResults: 1,
    });
    expect(progress).toEqual(['standard: RUNNING 2/5', 'standard: COMPLETED 5/5']);
    expect(mocks.sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('reports a failed move task and exits 1', async () => {
    stackWith(OUTPUTS);
    mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
    mocks.sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h1' });
    mocks.sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        {
          Status: 'FAILED',
          ApproximateNumberOfMessagesMoved: 1,
          ApproximateNumberOfMessagesToMove: 2,
          FailureReason: 'AccessDenied',
        },
      ],
    });
    const { io: stdio, out } = io();

    const code = await runCli(
      ['dlq', 'redrive', '--queue', 'fifo', '--stage', 'dev', '--yes'],
      stdio,
      COMMANDS,
      {
        awsClients: clients,
      },
    );

    expect(code).toBe(1);
    expect(out.stdout).toMatch(/fifo\s+FAILED\s+1\s+2\s+AccessDenied/);
    expect(out.stdout).toMatch(/moved 1, skipped 0, failed 1/);
  });

  it('moves a filtered selection message by message: send (group, fresh dedup id, redriven-from) before delete', async () => {
    // Prepare: the FIFO DLQ holds the heads of two groups; only type "probe" is selected.
    stackWith(OUTPUTS);
    const selected = dlqMessage(
      'm-1',
      envelope('probe', '1'),
      { Attributes: { MessageGroupId: 'g1' } },
      {
        'failure-kind': 'permanent',
        'failure-error': 'ProbePermanentError',
        'original-message-id': 'src-1',
        'source-queue': 'EventPipeline-dev-FifoQueue-ghi.fifo',
      },
    );
    const other = dlqMessage('m-2', envelope('email.send', '2'), { Attributes: { MessageGroupId: 'g2' } });
    mocks.sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [selected, other] })
      .resolves({ Messages: [] });
    mocks.sqs.on(SendMessageCommand).resolves({ MessageId: 'new-1' });
    mocks.sqs.on(DeleteMessageCommand).resolves({});
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }] });
    const target = await awsTarget({ stage: 'dev', clients });

    // Act
    const result = await redrive(target, { queue: 'fifo', type: 'probe' });

    // Assess
    expect(result.mode).toBe('message-by-message');
    expect(result.items).toEqual([
      {
        lane: 'fifo',
        queue: 'fifo',
        messageId: 'src-1',
        envelopeId: '00000000-0000-4000-8000-000000000001',
        type: 'probe',
        kind: 'permanent',
        outcome: 'moved',
        newMessageId: 'new-1',
      },
    ]);
    expect(result.skipped).toBe(1);
    const send = mocks.sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(send).toHaveLength(1);
    expect(send[0]).toMatchObject({
      QueueUrl: QUEUES.Fifo.url,
      MessageBody: selected.Body,
      MessageGroupId: 'g1',
    });
    expect(send[0]!.MessageDeduplicationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(send[0]!.MessageAttributes!).sort()).toEqual([
      'correlation-id',
      REDRIVEN_FROM_ATTR,
      'type',
    ]);
    expect(send[0]!.MessageAttributes![REDRIVEN_FROM_ATTR]).toEqual({
      DataType: 'String',
      StringValue: 'src-1',
    });
    expect(mocks.sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUES.FifoDlq.url, ReceiptHandle: 'rh-m-1' },
    ]);
    // The message that was not selected is made visible again, untouched.
    const released = mocks.sqs
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released).toEqual([{ Id: '0', ReceiptHandle: 'rh-m-2', VisibilityTimeout: 0 }]);
    // Send came first.
    const order = mocks.sqs.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('SendMessageCommand')).toBeLessThan(order.indexOf('DeleteMessageCommand'));
  });

  it('leaves a message whose send failed in the DLQ, and holds back the rest of its FIFO group', async () => {
    // Prepare
    stackWith(OUTPUTS);
    const head = dlqMessage('m-1', envelope('probe', '1'), { Attributes: { MessageGroupId: 'g1' } });
    const next = dlqMessage('m-2', envelope('probe', '2'), { Attributes: { MessageGroupId: 'g1' } });
    mocks.sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [head, next] })
      .resolves({ Messages: [] });
    mocks.sqs
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'RequestThrottled' }));
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const target = await awsTarget({ stage: 'dev', clients });

    // Act
    const result = await redrive(target, { queue: 'fifo', ids: ['m-1', 'm-2'] });

    // Assess
    expect(result.failed).toBe(1);
    expect(result.skipped).toBe(1);
    expect(result.items[0]).toMatchObject({
      messageId: 'm-1',
      outcome: 'failed',
      error: 'send: RequestThrottled: throttled',
    });
    expect(mocks.sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(mocks.sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    const released = mocks.sqs
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released.map((e) => e.ReceiptHandle).sort()).toEqual(['rh-m-1', 'rh-m-2']);
  });

  it('leaves the rest of a FIFO group behind a head that is not selected (it would overtake it)', async () => {
    stackWith(OUTPUTS);
    const head = dlqMessage('m-1', envelope('email.send', '1'), { Attributes: { MessageGroupId: 'g1' } });
    const behind = dlqMessage('m-2', envelope('probe', '2'), { Attributes: { MessageGroupId: 'g1' } });
    const otherGroup = dlqMessage('m-3', envelope('probe', '3'), { Attributes: { MessageGroupId: 'g2' } });
    mocks.sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [head, behind, otherGroup] })
      .resolves({ Messages: [] });
    mocks.sqs.on(SendMessageCommand).resolves({ MessageId: 'new-3' });
    mocks.sqs.on(DeleteMessageCommand).resolves({});
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const target = await awsTarget({ stage: 'dev', clients });

    const result = await redrive(target, { queue: 'fifo', type: 'probe' });

    expect(result.items.map((i) => [i.messageId, i.outcome])).toEqual([['m-3', 'moved']]);
    expect(result.skipped).toBe(2);
    expect(mocks.sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageGroupId)).toEqual([
      'g2',
    ]);
  });

  it('does not move messages sent to the DLQ after the run started', async () => {
    stackWith(OUTPUTS);
    const late = dlqMessage('m-late', envelope('probe', '3'), {
      Attributes: { SentTimestamp: String(Date.now() + 60_000) },
    });
    mocks.sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [late] })
      .resolves({ Messages: [] });
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const target = await awsTarget({ stage: 'dev', clients });

    const result = await redrive(target, { queue: 'standard', type: 'probe' });

    expect(result).toMatchObject({ moved: 0, skipped: 1, failed: 0 });
    expect(mocks.sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});

describe('ops command line', () => {
  it.each([
    [['frobnicate'], /^error: unknown command frobnicate/],
    [['dlq'], /^error: dlq: give a subcommand \(list, show, redrive\)/],
    [['dlq', 'list', '--queue', 'nope', '--stage', 'dev'], /^error: --queue nope: use standard or fifo/],
    [['status', '--region', 'eu-west-1'], /^error: --region and --profile need --stage <name>/],
    [['send', 'probe', '{nope', '--stage', 'dev'], /^error: payload is not JSON/],
    [
      ['archive', 'list', '--since', 'yesterday', '--stage', 'dev'],
      /^error: --since yesterday: use an ISO date/,
    ],
    [['purge', '--queue', 'standard', '--stage', 'dev'], /^error: purge deletes every message/],
  ])('refuses %j with exit code 2 and one line on stderr', async (argv, message) => {
    stackWith(OUTPUTS);
    const { io: stdio, out } = io();

    const code = await runCli(argv, stdio, COMMANDS, { awsClients: clients });

    expect(code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stdout).toBe('');
  });

  it('refuses to purge a source queue, and asks for an API key to send on AWS (exit 1)', async () => {
    stackWith(OUTPUTS);
    const purge = io();
    const send = io();

    const purgeCode = await runCli(
      ['purge', '--queue', 'EventPipeline-dev-StandardQueue-abc', '--yes', '--stage', 'dev'],
      purge.io,
      COMMANDS,
      { awsClients: clients },
    );
    const sendCode = await runCli(
      ['send', 'probe', '{"mode":"succeed"}', '--stage', 'dev'],
      send.io,
      COMMANDS,
      {
        awsClients: clients,
      },
    );

    expect(purgeCode).toBe(1);
    expect(purge.out.stderr).toBe(
      'error: EventPipeline-dev-StandardQueue-abc is a source queue: purge empties DLQs only\n',
    );
    expect(sendCode).toBe(1);
    expect(send.out.stderr).toMatch(/^error: no API key for dev: pass --api-key/);
  });

  it('prints a stack trace only with --debug', async () => {
    mocks.cfn.on(DescribeStacksCommand).rejects(new Error('boom'));
    const plain = io();
    const debug = io();

    await runCli(['status', '--stage', 'dev'], plain.io, COMMANDS, { awsClients: clients });
    await runCli(['status', '--stage', 'dev', '--debug'], debug.io, COMMANDS, { awsClients: clients });

    expect(plain.out.stderr).toBe('error: cannot read stack EventPipeline-dev: Error: boom\n');
    expect(debug.out.stderr.split('\n').length).toBeGreaterThan(3);
  });
});

describe('ops on AWS: smoke', () => {
  /**
   * The standard DLQ as smoke finds it after its fail-permanent probe (SQS message `messageId`)
   * was dead-lettered: empty at first, then the probe's DLQ copy, which smoke removes.
   */
  function dlqReceivesProbe(messageId: string) {
    mocks.sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' },
    });
    mocks.sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: 'dlq-copy-1',
            ReceiptHandle: 'rh-dlq-copy-1',
            Body: '{}',
            MessageAttributes: { 'original-message-id': { DataType: 'String', StringValue: messageId } },
          },
        ],
      })
      .resolves({ Messages: [] });
    mocks.sqs.on(DeleteMessageCommand).resolves({});
    mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
  }

  function api(refuse: boolean) {
    const sent: { body: { payload: { mode: string } }; key: string | null }[] = [];
    let n = 0;
    const doFetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { payload: { mode: string }; orderingKey?: string };
      sent.push({ body, key: new Headers(init.headers).get('x-api-key') });
      if (refuse && body.payload.mode === 'fail-permanent')
        return new Response(
          JSON.stringify({
            error: {
              code: 'ValidationError',
              message: 'payload.mode: probe mode fail-permanent is not allowed',
            },
          }),
          { status: 400 },
        );
      n++;
      return new Response(
        JSON.stringify({ messageId: `m-${n}`, queue: body.orderingKey ? 'fifo' : 'standard' }),
        {
          status: 202,
        },
      );
    }) as typeof fetch;
    return { sent, doFetch };
  }

  it.each([
    ['today', '2026-11-22T10:00:00.000Z'],
    ['yesterday, just after UTC midnight', '2026-11-23T00:00:01.000Z'],
  ])(
    'verifies the failure path through the archive (record filed %s) and reports the success probes as unverified',
    async (_when, now) => {
      // Prepare: a clock that reads `now` (and moves on from it); the fail-permanent probe (the 5th
      // message) has an archive record filed on 2026-11-22.
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: new Date(now) });
      onTestFinished(() => {
        vi.useRealTimers();
      });
      stackWith(OUTPUTS);
      dlqReceivesProbe('m-5');
      const key = 'failed/EventPipeline-dev-StandardQueue-abc/2026/11/22/m-5.json';
      mocks.s3.on(GetObjectCommand, { Key: key }).resolves({
        Body: {
          transformToString: async () => JSON.stringify({ receiveCount: 1, failure: { kind: 'permanent' } }),
        },
      } as never);
      const { sent, doFetch } = api(false);
      const target = await awsTarget({ stage: 'dev', clients, apiKey: 'the-key' });

      // Act
      const result = await smoke(target, { doFetch, pollMs: 1, timeoutMs: 5_000 });

      // Assess
      expect(sent.map((s) => s.body.payload.mode)).toEqual([
        'succeed',
        'succeed',
        'succeed',
        'succeed',
        'fail-permanent',
      ]);
      expect(sent.every((s) => s.key === 'the-key')).toBe(true);
      expect(result.checks.map((c) => [c.name, c.result])).toEqual([
        ['succeed', 'unverified'],
        ['succeed after 1 failure', 'unverified'],
        ['ordered pair (FIFO)', 'unverified'],
        ['fail-permanent', 'pass'],
        ['tenant isolation', 'skipped'],
      ]);
      expect(result.checks[3]!.detail).toBe(`dead-lettered, archive record ${key}`);
      expect(result.ok).toBe(true);
      // The probe's DLQ copy, checked, is removed (the DLQ alarm must not page for a smoke run).
      expect(mocks.sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual([
        'rh-dlq-copy-1',
      ]);
    },
  );

  it('follows each probe through GET /v1/messages/{id} when the 202s carry envelope ids', async () => {
    // Prepare: the API answers ids; the status API reports each probe's outcome
    stackWith(OUTPUTS);
    dlqReceivesProbe('m-5');
    let n = 0;
    const modes = new Map<string, { mode: string; failTimes?: number }>();
    const doFetch = (async (url: string, init?: RequestInit) => {
      if (!init?.method || init.method === 'GET') {
        const id = url.slice(url.lastIndexOf('/') + 1);
        const p = modes.get(id)!;
        const failed = p.mode === 'fail-permanent';
        return new Response(
          JSON.stringify({
            id,
            status: failed ? 'failed' : 'succeeded',
            attempts: 1 + (p.failTimes ?? 0),
            updatedAt: new Date(Date.now() + Number(id.slice(3))).toISOString(),
            failure: failed ? { kind: 'permanent', archiveKey: `failed/q/${id}.json` } : null,
          }),
          { status: 200 },
        );
      }
      const body = JSON.parse(String(init.body)) as { payload: { mode: string; failTimes?: number } };
      n++;
      const id = `id-${String(n).padStart(3, '0')}`;
      modes.set(id, body.payload);
      return new Response(JSON.stringify({ id, messageId: `m-${n}`, queue: 'standard' }), { status: 202 });
    }) as typeof fetch;
    const target = await awsTarget({ stage: 'dev', clients, apiKey: 'k' });

    // Act
    const result = await smoke(target, { doFetch, pollMs: 1, timeoutMs: 5_000 });

    // Assess
    expect(result.source).toBe('GET /v1/messages/{id}');
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['succeed', 'pass'],
      ['succeed after 1 failure', 'pass'],
      ['ordered pair (FIFO)', 'pass'],
      ['fail-permanent', 'pass'],
      ['tenant isolation', 'skipped'],
    ]);
    expect(result.ok).toBe(true);
  });

  it('skips fail-permanent where the stage refuses it, and fails on a timeout', async () => {
    stackWith(OUTPUTS);
    const target = await awsTarget({ stage: 'dev', clients, apiKey: 'k' });

    const refused = await smoke(target, { doFetch: api(true).doFetch, pollMs: 1, timeoutMs: 5_000 });
    const timedOut = await smoke(target, { doFetch: api(false).doFetch, pollMs: 1, timeoutMs: 20 });

    expect(refused.checks[3]).toMatchObject({ name: 'fail-permanent', result: 'skipped' });
    expect(refused.ok).toBe(true);
    expect(timedOut.checks[3]).toMatchObject({ name: 'fail-permanent', result: 'timeout' });
    expect(timedOut.ok).toBe(false);
  });
});
