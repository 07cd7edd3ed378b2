import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, NoSuchKey, S3Client, type GetObjectCommandInput } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type ChangeMessageVisibilityBatchCommandInput,
  type DeleteMessageCommandInput,
  type Message,
  type ReceiveMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smoke } from '../../ops/lib/smoke';
import { awsTarget, type AwsClients } from '../../ops/lib/target';

// smoke removes its dead-lettered `fail-permanent` probe from the DLQ once it has checked it
// (and its archive record), deleting that message only; a probe it cannot remove fails the run.
// The stage here is a deployed one whose 202s carry no envelope id: smoke follows the probes
// through the failure archive, and the probe is the fifth message the API accepts (m-5).

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const STANDARD_QUEUE = 'EventPipeline-dev-StandardQueue-abc';
const DLQ = queue('EventPipeline-dev-StandardDlq-def');
const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/',
  ArchiveBucketName: 'archive',
  StandardQueueUrl: queue(STANDARD_QUEUE).url,
  StandardQueueArn: queue(STANDARD_QUEUE).arn,
  StandardDlqUrl: DLQ.url,
  StandardDlqArn: DLQ.arn,
  FifoQueueUrl: queue('f.fifo').url,
  FifoQueueArn: queue('f.fifo').arn,
  FifoDlqUrl: queue('f-dlq.fifo').url,
  FifoDlqArn: queue('f-dlq.fifo').arn,
  AlarmNamePrefix: 'EventPipeline-dev-',
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients;
let mocks: ReturnType<typeof mockClient>[];

/** The DLQ copy the consumer sends of message `id` (a permanent failure). */
const dlqCopy = (id: string): Message => ({
  MessageId: `dlq-${id}`,
  Body: JSON.stringify({ v: 1, id: `env-${id}`, type: 'probe', payload: {} }),
  Attributes: { SentTimestamp: String(Date.now()), ApproximateReceiveCount: '0' },
  MessageAttributes: {
    'failure-kind': { DataType: 'String', StringValue: 'permanent' },
    'original-message-id': { DataType: 'String', StringValue: id },
  },
});

/**
 * The DLQ as SQS keeps it (a received message is hidden until made visible again or deleted);
 * `arrivals[n]` arrive just before the n-th receive (0-based).
 */
let dlq: { messages: Map<string, Message>; hidden: Set<string>; receives: number; arrivals: Message[][] };

/** The stack; the DLQ holds `held` and receives `arrivals`; the archive has a record of m-5 when `archived`. */
function stage(o: { held?: Message[]; arrivals?: Message[][]; archived?: boolean }): void {
  dlq = {
    messages: new Map((o.held ?? []).map((m) => [m.MessageId!, m])),
    hidden: new Set(),
    receives: 0,
    arrivals: o.arrivals ?? [],
  };
  const [cfn, , sqs, s3] = mocks as [
    ReturnType<typeof mockClient>,
    unknown,
    ReturnType<typeof mockClient>,
    ReturnType<typeof mockClient>,
  ];
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  sqs.on(GetQueueAttributesCommand).callsFake(async () => ({
    Attributes: {
      ApproximateNumberOfMessages: String(dlq.messages.size - dlq.hidden.size),
      ApproximateNumberOfMessagesNotVisible: String(dlq.hidden.size),
    },
  }));
  sqs.on(ReceiveMessageCommand).callsFake(async (input: ReceiveMessageCommandInput) => {
    if (input.QueueUrl !== DLQ.url) return { Messages: [] };
    for (const m of dlq.arrivals[dlq.receives++] ?? []) dlq.messages.set(m.MessageId!, m);
    const visible = [...dlq.messages.values()].filter((m) => !dlq.hidden.has(m.MessageId!)).slice(0, 10);
    for (const m of visible) dlq.hidden.add(m.MessageId!);
    return { Messages: visible.map((m) => ({ ...m, ReceiptHandle: `rh-${m.MessageId}-${dlq.receives}` })) };
  });
  sqs
    .on(ChangeMessageVisibilityBatchCommand)
    .callsFake(async (input: ChangeMessageVisibilityBatchCommandInput) => {
      for (const e of input.Entries ?? [])
        if (e.VisibilityTimeout === 0) dlq.hidden.delete(e.ReceiptHandle!.split('-').slice(1, -1).join('-'));
      return {};
    });
  sqs.on(DeleteMessageCommand).callsFake(async (input: DeleteMessageCommandInput) => {
    const id = input.ReceiptHandle!.split('-').slice(1, -1).join('-');
    dlq.messages.delete(id);
    dlq.hidden.delete(id);
    return {};
  });
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    if (
      o.archived !== false &&
      input.Key!.startsWith(`failed/${STANDARD_QUEUE}/`) &&
      input.Key!.endsWith('/m-5.json')
    )
      return {
        Body: {
          transformToString: async () => JSON.stringify({ receiveCount: 1, failure: { kind: 'permanent' } }),
        },
      };
    throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
  });
}

/** The API: every probe accepted, as m-1 … m-5, without envelope ids. */
let accepted = 0;
const api = (async (_url: string, init: RequestInit) => {
  const body = JSON.parse(String(init.body)) as { orderingKey?: string };
  return new Response(
    JSON.stringify({ messageId: `m-${++accepted}`, queue: body.orderingKey ? 'fifo' : 'standard' }),
    {
      status: 202,
    },
  );
}) as typeof fetch;

beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
  };
  mocks = [
    mockClient(clients.cloudFormation),
    mockClient(clients.cloudWatch),
    mockClient(clients.sqs),
    mockClient(clients.s3),
  ];
  accepted = 0;
});
afterEach(() => {
  for (const m of mocks) m.restore();
});

async function run(timeoutMs = 5_000) {
  const target = await awsTarget({ stage: 'dev', clients, apiKey: 'k' });
  return smoke(target, { doFetch: api, pollMs: 1, timeoutMs });
}
const deletes = () => mocks[2]!.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle);

describe('smoke removes its dead-lettered probe', () => {
  it('receives it as it arrives in an empty DLQ, and deletes that message only, keeping its archive record', async () => {
    // Prepare: the probe arrives while smoke waits there.
    stage({ arrivals: [[], [dlqCopy('m-5')]] });

    // Act
    const result = await run();

    // Assess
    expect(result.ok).toBe(true);
    expect(result.checks[3]).toMatchObject({ name: 'fail-permanent', result: 'pass' });
    expect(result.cleanup).toMatchObject({
      lane: 'standard',
      dlq: 'EventPipeline-dev-StandardDlq-def',
      messageId: 'm-5',
      removed: true,
      caughtOnArrival: true,
    });
    expect(result.cleanup!.archiveKey).toMatch(
      new RegExp(`^failed/${STANDARD_QUEUE}/\\d{4}/\\d{2}/\\d{2}/m-5\\.json$`),
    );
    expect(deletes()).toEqual(['rh-dlq-m-5-2']);
    expect(dlq.messages.size).toBe(0);
    const waits = mocks[2]!.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.WaitTimeSeconds);
    expect(waits[0]).toBeGreaterThan(0); // a long poll was waiting
  });

  it('finds it among the messages a DLQ already held, and leaves those in place, visible', async () => {
    stage({ held: [dlqCopy('real-1'), dlqCopy('real-2')], arrivals: [[dlqCopy('m-5')]] });

    const result = await run();

    expect(result.ok).toBe(true);
    expect(result.cleanup).toMatchObject({ removed: true, caughtOnArrival: false });
    expect(deletes()).toEqual([expect.stringMatching(/^rh-dlq-m-5-/)]);
    expect([...dlq.messages.keys()].sort()).toEqual(['dlq-real-1', 'dlq-real-2']);
    expect(dlq.hidden.size).toBe(0);
  });

  it('stops waiting when a real failure arrives (the alarm is right to see it), and finds the probe after', async () => {
    stage({ arrivals: [[dlqCopy('real-1')], [dlqCopy('m-5')]] });

    const result = await run();

    expect(result.ok).toBe(true);
    expect(result.cleanup).toMatchObject({ removed: true });
    expect(deletes()).toEqual([expect.stringMatching(/^rh-dlq-m-5-/)]);
    expect([...dlq.messages.keys()]).toEqual(['dlq-real-1']);
    expect(dlq.hidden.size).toBe(0);
  });

  it('fails the check when the probe never shows up in the DLQ to be removed', async () => {
    stage({ held: [dlqCopy('real-1')] });

    const result = await run(300);

    expect(result.ok).toBe(false);
    expect(result.checks[3]!.result).toBe('fail');
    expect(result.checks[3]!.detail).toMatch(
      /^dead-lettered, archive record failed\/.*\/m-5\.json; its DLQ copy could not be removed: not found in EventPipeline-dev-StandardDlq-def/,
    );
    expect(result.cleanup).toMatchObject({ removed: false });
    expect(deletes()).toEqual([]);
    expect(dlq.hidden.size).toBe(0);
  });
});
