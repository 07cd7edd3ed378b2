import { PutItemCommand, UpdateItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type LocalHandle } from '../../local';
import { LOCAL_CREDENTIALS } from '../../local/aws/emulator';
import { PROJECT_ROOT } from '../../local/startup';
import { until } from '../helpers/poller';

/*
 * Local mode's event plumbing end to end, on a hand-built cloud assembly shaped like the
 * completion events (a status table with a stream, a relay function in a real sandbox that calls
 * PutEvents through the AWS SDK, the stage's bus, a rule with a queue, a log group and a webhook
 * with its DLQ): what the template says runs, from a DynamoDB write to the receiver. The assembly
 * lives under the repository (so the sandbox resolves @aws-sdk/* from its node_modules).
 */
const STACK = 'EventPipeline-plumbing';
const cdkOut = path.join(PROJECT_ROOT, `cdk.out.plumbing-${process.pid}`);
const ASSET = 'asset.relay';

const RELAY = `
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
const client = new EventBridgeClient({});
export const handler = async (event) => {
  const out = await client.send(new PutEventsCommand({
    Entries: event.Records.map((r) => ({
      Source: 'event-pipeline',
      DetailType: r.dynamodb.NewImage.status.S === 'succeeded' ? 'Message Succeeded' : 'Message Failed',
      Detail: JSON.stringify({ id: r.dynamodb.Keys.pk.S.slice(4), status: r.dynamodb.NewImage.status.S }),
      EventBusName: process.env.EVENT_BUS_NAME,
    })),
  }));
  if (out.FailedEntryCount) throw new Error('PutEvents refused ' + out.FailedEntryCount + ' entries');
  return { batchItemFailures: [] };
};
`;

const template = {
  Resources: {
    StatusTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      },
    },
    Relay: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        Runtime: 'nodejs20.x',
        Timeout: 10,
        Environment: { Variables: { EVENT_BUS_NAME: { Ref: 'Bus' } } },
      },
      Metadata: { 'aws:asset:path': ASSET },
    },
    OutboxFailures: { Type: 'AWS::SQS::Queue' },
    RelayMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
        FunctionName: { Ref: 'Relay' },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: -1,
        MaximumRecordAgeInSeconds: 82800,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['OutboxFailures', 'Arn'] } } },
        FilterCriteria: {
          Filters: [
            {
              Pattern: JSON.stringify({
                eventName: ['INSERT', 'MODIFY'],
                dynamodb: {
                  Keys: { pk: { S: [{ prefix: 'msg#' }] } },
                  NewImage: { status: { S: ['succeeded', 'failed'] } },
                },
              }),
            },
          ],
        },
      },
    },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'EventPipeline-plumbing-events' } },
    Results: { Type: 'AWS::SQS::Queue' },
    NotificationsDlq: { Type: 'AWS::SQS::Queue' },
    EventsLog: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: '/event-pipeline/plumbing/events' },
    },
    Connection: {
      Type: 'AWS::Events::Connection',
      Properties: {
        AuthorizationType: 'API_KEY',
        AuthParameters: {
          ApiKeyAuthParameters: {
            ApiKeyName: 'x-webhook-key',
            ApiKeyValue: '{{resolve:secretsmanager:plumbing/webhook:SecretString:key::}}',
          },
        },
      },
    },
    Webhook: {
      Type: 'AWS::Events::ApiDestination',
      Properties: {
        ConnectionArn: { 'Fn::GetAtt': ['Connection', 'Arn'] },
        InvocationEndpoint: 'https://hooks.example.com/done',
        HttpMethod: 'POST',
        InvocationRateLimitPerSecond: 10,
      },
    },
    CompletionRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { source: ['event-pipeline'], 'detail-type': ['Message Succeeded', 'Message Failed'] },
        State: 'ENABLED',
        Targets: [
          { Id: 'Results', Arn: { 'Fn::GetAtt': ['Results', 'Arn'] } },
          {
            Id: 'Log',
            Arn: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':logs:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':log-group:',
                  { Ref: 'EventsLog' },
                ],
              ],
            },
          },
          {
            Id: 'Webhook',
            Arn: { 'Fn::GetAtt': ['Webhook', 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['NotificationsDlq', 'Arn'] } },
          },
        ],
      },
    },
  },
};

let local: LocalHandle;
let receiver: Server;
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
let ddb: DynamoDBClient;
let sqs: SQSClient;

beforeAll(async () => {
  mkdirSync(path.join(cdkOut, ASSET), { recursive: true });
  writeFileSync(path.join(cdkOut, ASSET, 'index.mjs'), RELAY);
  writeFileSync(path.join(cdkOut, `${STACK}.template.json`), JSON.stringify(template));
  writeFileSync(
    path.join(cdkOut, 'manifest.json'),
    JSON.stringify({
      version: '36.0.0',
      artifacts: {
        [STACK]: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/us-east-1',
          properties: { templateFile: `${STACK}.template.json` },
        },
      },
    }),
  );
  // The receiver answers 500 to events of message "refused", 200 to the others.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(body.includes('"refused"') ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  local = await startLocal({
    cdkOut,
    stage: 'plumbing',
    apiPort: 0,
    awsPort: 0,
    logs: 'silent',
    envFile: null,
    secrets: { 'plumbing/webhook': { key: 'k-plumbing' } },
    apiDestinationEndpoints: { Webhook: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done` },
    eventRetryBaseMs: 20,
  });
  ddb = new DynamoDBClient({
    endpoint: local.env.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  sqs = new SQSClient({ endpoint: local.awsEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
});

afterAll(async () => {
  await local?.stop();
  ddb?.destroy();
  sqs?.destroy();
  receiver?.closeAllConnections();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  rmSync(cdkOut, { recursive: true, force: true });
});

const table = () => local.env.tables.StatusTable!;

/** Messages of queue `queueId` whose event is about message `id`, once there is one (and 1 s more). */
async function receive(queueId: string, id: string): Promise<Message[]> {
  const out: Message[] = [];
  const about = (m: Message) => (JSON.parse(m.Body!) as { detail: { id: string } }).detail.id === id;
  let end = Date.now() + 20_000;
  while (Date.now() < end) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: local.env.queues[queueId]!.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const found = (r.Messages ?? []).filter(about);
    if (found.length > 0 && out.length === 0) end = Math.min(end, Date.now() + 1000);
    out.push(...found);
  }
  return out;
}

describe('local mode: status table stream → relay → bus → targets', () => {
  it('turns a terminal status write into one event on the queue target, the events log and the webhook', async () => {
    await ddb.send(
      new PutItemCommand({ TableName: table(), Item: { pk: { S: 'msg#m-1' }, status: { S: 'processing' } } }),
    );
    await ddb.send(
      new UpdateItemCommand({
        TableName: table(),
        Key: { pk: { S: 'msg#m-1' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'succeeded' } },
      }),
    );
    const messages = await receive('Results', 'm-1');
    await until(() => hooks.some((h) => h.body.includes('"m-1"')), 20_000);

    expect(messages).toHaveLength(1);
    const event = JSON.parse(messages[0]!.Body!);
    expect(event).toMatchObject({
      version: '0',
      source: 'event-pipeline',
      'detail-type': 'Message Succeeded',
      region: 'us-east-1',
      detail: { id: 'm-1', status: 'succeeded' },
    });
    // One event: the non-terminal write ("processing") did not pass the mapping's filter.
    await until(() => local.events({ id: 'm-1' })[0]?.logGroups.length === 1, 10_000);
    expect(local.events({ id: 'm-1' }).map((e) => [e.bus, e.logGroups, e.event.id])).toEqual([
      ['EventPipeline-plumbing-events', ['/event-pipeline/plumbing/events'], event.id],
    ]);
    const logged = await (await fetch(`${local.apiUrl}/_local/events?id=m-1`)).json();
    expect(logged).toHaveLength(1);
    const hook = hooks.find((h) => h.body.includes('"m-1"'))!;
    expect(hook.headers['x-webhook-key']).toBe('k-plumbing');
    expect(JSON.parse(hook.body).id).toBe(event.id);
  });

  it('retries a webhook that answers 500 and then dead-letters the event with EventBridge attributes', async () => {
    await ddb.send(
      new PutItemCommand({ TableName: table(), Item: { pk: { S: 'msg#refused' }, status: { S: 'failed' } } }),
    );
    const deadLettered = await receive('NotificationsDlq', 'refused');
    expect(deadLettered).toHaveLength(1);
    const dead = deadLettered[0];

    expect(JSON.parse(dead!.Body!)).toMatchObject({
      'detail-type': 'Message Failed',
      detail: { id: 'refused' },
    });
    expect(dead!.MessageAttributes!.RETRY_ATTEMPTS!.StringValue).toBe('2');
    expect(dead!.MessageAttributes!.EXHAUSTED_RETRY_CONDITION!.StringValue).toBe(
      'MaximumRetryAttemptsExhausted',
    );
    expect(hooks.filter((h) => h.body.includes('"refused"'))).toHaveLength(3);
    expect(
      local.eventDeliveries().filter((d) => d.target === 'Webhook' && d.result === 'dead-lettered'),
    ).toHaveLength(1);
  });
});
