import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { AwsClients } from '../../ops/lib/target';

// The notifications DLQ on a deployed stage (outputs NotificationsDlqUrl/Arn, EventBusName), with
// mocked SQS and EventBridge; on local parts: test/local/ops-notifications-dlq.test.ts.

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const BASE: Record<string, string> = {
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
const WITH_WEBHOOKS = {
  ...BASE,
  EventBusName: 'EventPipeline-dev-events',
  NotificationsDlqUrl: queue('notifications-dlq').url,
  NotificationsDlqArn: queue('notifications-dlq').arn,
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients & { events: EventBridgeClient };
let cfn: ReturnType<typeof mockClient>;
let sqs: ReturnType<typeof mockClient>;
let events: ReturnType<typeof mockClient>;
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
const EVENT = {
  version: '0',
  id: 'eb-1',
  'detail-type': 'Message Succeeded',
  source: 'event-pipeline',
  account: '123456789012',
  time: '2026-12-05T10:00:01Z',
  region: REGION,
  resources: [],
  detail: { eventId: 'env-1:succeeded:t', id: 'env-1', type: 'report', status: 'succeeded' },
};
beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
    events: new EventBridgeClient(config),
  };
  cfn = mockClient(clients.cloudFormation);
  sqs = mockClient(clients.sqs);
  events = mockClient(clients.events);
  stack(WITH_WEBHOOKS);
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
  sqs
    .on(ReceiveMessageCommand, { QueueUrl: queue('notifications-dlq').url })
    .resolvesOnce({
      Messages: [
        {
          MessageId: 'm-1',
          ReceiptHandle: 'rh-1',
          Body: JSON.stringify(EVENT),
          Attributes: { SentTimestamp: '1764928801000' },
          MessageAttributes: {
            ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
            ERROR_MESSAGE: {
              DataType: 'String',
              StringValue: 'Unable to invoke ApiDestination endpoint: 500',
            },
            RETRY_ATTEMPTS: { DataType: 'Number', StringValue: '185' },
          },
        },
      ],
    })
    .resolves({ Messages: [] });
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
});
afterEach(() => {
  cfn.restore();
  sqs.restore();
  events.restore();
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

describe('ops and the notifications DLQ (AWS)', () => {
  it('redrive publishes the detail on the EventBusName bus, then deletes the DLQ message', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-2' }] });
    sqs.on(DeleteMessageCommand).resolves({});

    const r = await run([
      'dlq',
      'redrive',
      '--stage',
      'dev',
      '--lane',
      'notifications',
      '--ids',
      'env-1',
      '--json',
    ]);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'EventPipeline-dev-events',
            Source: 'event-pipeline',
            DetailType: 'Message Succeeded',
            Detail: JSON.stringify(EVENT.detail),
            Resources: [],
          },
        ],
      },
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: queue('notifications-dlq').url, ReceiptHandle: 'rh-1' },
    ]);
    expect(JSON.parse(r.stdout).items).toEqual([
      {
        lane: 'notifications',
        dlqMessageId: 'm-1',
        envelopeId: 'env-1',
        detailType: 'Message Succeeded',
        eventId: 'env-1:succeeded:t',
        outcome: 'republished',
        newEventBridgeId: 'eb-2',
      },
    ]);
  });

  it('an entry the bus refuses is failed (exit 1) and its message stays in the DLQ', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });

    const r = await run(['dlq', 'redrive', '--stage', 'dev', '--lane', 'notifications', '--yes']);

    expect(r.code).toBe(1);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(r.stdout.split('\n')[1]!.split(/\s{2,}/)).toEqual([
      'notifications',
      'm-1',
      'Message Succeeded',
      'env-1',
      'failed',
      '–',
      'the bus refused it: InternalFailure try again',
    ]);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
      'published 0 on EventPipeline-dev-events, skipped 0, failed 1; events that failed to publish stay in the DLQ. Every rule of the bus that matches gets them again (receivers de-duplicate on detail.eventId)',
    );
  });

  it('dlq list --lane notifications shows each event with why it was not delivered', async () => {
    const r = await run(['dlq', 'list', '--stage', 'dev', '--lane', 'notifications']);
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.split('\n');
    expect(header!.split(/\s{2,}/)).toEqual([
      'lane',
      'dlq message id',
      'detail-type',
      'envelope id',
      'type',
      'error',
      'retries',
      'failed at',
      'event id',
    ]);
    expect(row!.split(/\s{2,}/)).toEqual([
      'notifications',
      'm-1',
      'Message Succeeded',
      'env-1',
      'report',
      // The error is clipped to 60 characters, as dlq list does for a lane's DLQ.
      'SDK_CLIENT_ERROR: Unable to invoke ApiDestination endpoint:…',
      '185',
      '2025-12-05T10:00:01.000Z',
      'env-1:succeeded:t',
    ]);
  });

  it('a stage without webhooks refuses --lane notifications in one line', async () => {
    stack(BASE);
    const r = await run(['dlq', 'list', '--stage', 'dev', '--lane', 'notifications']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: stage dev has no notifications DLQ (it has no webhooks)\n',
    });
  });
});
