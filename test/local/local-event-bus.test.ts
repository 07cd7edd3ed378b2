import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, startEmulator, type Emulator, type LocalQueue } from '../../local/aws/emulator';
import { LocalEventBus } from '../../local/aws/event-bus';
import { LocalSecrets } from '../../local/aws/secrets';
import { Journal } from '../../local/control/journal';
import type { FunctionHost } from '../../local/functions/host';
import { createLocalLogger } from '../../local/log';
import type { ApiDestinationSpec, EventRuleSpec, EventTargetSpec } from '../../local/template/topology';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { EventDelivery, type DeliveryOutcome } from '../../local/triggers/event-delivery';
import { compileEventPattern } from '../../local/triggers/filter-criteria';
import { ok, until } from '../helpers/poller';

// The local EventBridge (local/aws/event-bus.ts, local/triggers/event-delivery.ts) against real
// parts: the emulator's queues, a real HTTP receiver, the EventBridge SDK client.
const BUS = {
  logicalId: 'Bus',
  name: 'pipeline',
  arn: 'arn:aws:events:us-east-1:000000000000:event-bus/pipeline',
};
const DEFAULT_BUS = { name: 'default', arn: 'arn:aws:events:us-east-1:000000000000:event-bus/default' };
const SECRET_ID = 'webhook-secret';

let emulator: Emulator;
let queueNo = 0;
let bus: LocalEventBus | undefined;
let receiver: Server | undefined;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, region: 'us-east-1' });
});
afterEach(async () => {
  await bus?.stop(2000);
  bus = undefined;
  receiver?.closeAllConnections();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  receiver = undefined;
});
afterAll(async () => {
  await emulator?.stop();
});

async function queue(): Promise<LocalQueue> {
  const name = `events-${++queueNo}`;
  const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attrs = await emulator.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { logicalId: `Q${queueNo}`, name, url: QueueUrl!, arn: attrs.Attributes!.QueueArn!, fifo: false };
}

async function receive(q: LocalQueue, count: number): Promise<Message[]> {
  const out: Message[] = [];
  const end = Date.now() + 10_000;
  while (out.length < count && Date.now() < end) {
    const r = await emulator.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: q.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    out.push(...(r.Messages ?? []));
  }
  return out;
}

/** A local HTTP receiver answering `status(n)` to its n-th request (from 1); records each request. */
async function startReceiver(status: (n: number) => number) {
  const requests: { at: number; headers: IncomingHttpHeaders; body: string }[] = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(status(requests.length)).end();
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, requests };
}

const target = (over: Partial<EventTargetSpec> & Pick<EventTargetSpec, 'kind'>): EventTargetSpec =>
  ({
    id: 'T',
    arn: 'arn:aws:events:us-east-1:000000000000:api-destination/hook/x',
    retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
    ...over,
  }) as EventTargetSpec;

const rule = (pattern: object, targets: EventTargetSpec[]): EventRuleSpec => ({
  logicalId: 'Rule',
  name: 'rule',
  arn: 'arn:aws:events:us-east-1:000000000000:rule/pipeline/rule',
  busName: 'pipeline',
  pattern,
  matches: compileEventPattern(pattern, 'EventPattern'),
  enabled: true,
  targets,
});

const destination = (endpoint: string, rate = 300): ApiDestinationSpec => ({
  logicalId: 'Hook',
  name: 'hook',
  arn: 'arn:aws:events:us-east-1:000000000000:api-destination/hook/x',
  endpoint,
  httpMethod: 'POST',
  rateLimitPerSecond: rate,
  connection: {
    logicalId: 'Connection',
    authorizationType: 'API_KEY',
    apiKeyName: 'x-webhook-key',
    apiKeyValue: `{{resolve:secretsmanager:${SECRET_ID}:SecretString:apiKey::}}`,
  },
});

async function startBus(options: {
  rules: EventRuleSpec[];
  queues?: LocalQueue[];
  hosts?: Map<string, FunctionHost>;
  destinations?: ApiDestinationSpec[];
  logCapacity?: number;
}) {
  const resolver = new Resolver({ pseudo: localPseudoParameters('S'), resources: new Map() });
  const b: LocalEventBus = new LocalEventBus({
    buses: [DEFAULT_BUS, BUS],
    rules: options.rules,
    region: 'us-east-1',
    accountId: '000000000000',
    logger: createLocalLogger('silent'),
    ...(options.logCapacity === undefined ? {} : { logCapacity: options.logCapacity }),
    delivery: new EventDelivery({
      queues: new Map((options.queues ?? []).map((q) => [q.logicalId, q])),
      sqs: emulator.sqs,
      hosts: options.hosts ?? new Map(),
      apiDestinations: options.destinations ?? [],
      secrets: new LocalSecrets([], resolver, { [SECRET_ID]: { apiKey: 'k-123' } }),
      journal: new Journal(),
      logger: createLocalLogger('silent'),
      retryBaseMs: 20,
      onLogged: (entry) => b.log(entry),
    }),
  });
  bus = b;
  const endpoint = await b.listen(0);
  const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  return { bus: b, client };
}

const entry = (detailType: string, detail: object = { id: 'env-1' }) => ({
  Source: 'event-pipeline',
  DetailType: detailType,
  Detail: JSON.stringify(detail),
  EventBusName: 'pipeline',
});

function outcomes(b: LocalEventBus, count: number): Promise<DeliveryOutcome[]> {
  return until(() => b.deliveries().length >= count, 15_000).then(() => [...b.deliveries()]);
}

describe('local EventBridge: PutEvents', () => {
  it('accepts entries through the SDK, answers an EventId each, and reports invalid entries as AWS does', async () => {
    const { client } = await startBus({ rules: [] });
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('Message Succeeded'),
          { Source: 'event-pipeline', DetailType: 'Message Failed', EventBusName: 'pipeline' },
          { ...entry('Message Failed'), Detail: '[1]' },
        ],
      }),
    );

    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries).toEqual([
      { EventId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
      },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
    ]);
  });

  it('refuses an unknown bus, more than 10 entries, and a request whose Host is not loopback', async () => {
    const { bus: b, client } = await startBus({ rules: [] });
    await expect(
      client.send(new PutEventsCommand({ Entries: [{ ...entry('x'), EventBusName: 'nope' }] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: 'Event bus nope does not exist.' });
    await expect(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry('x')) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const foreign = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        b.endpoint,
        {
          method: 'POST',
          headers: {
            host: 'evil.example',
            'x-amz-target': 'AWSEvents.PutEvents',
            'content-type': 'application/x-amz-json-1.1',
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ Entries: [entry('x')] }));
    });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toEqual({
      __type: 'AccessDeniedException',
      message: expect.stringContaining('is not a loopback name'),
    });
  });
});

describe('local EventBridge: rules and targets', () => {
  it('sends the event envelope of a matching event to a queue target, and nothing for an event the pattern does not match', async () => {
    const q = await queue();
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'], 'detail-type': ['Message Succeeded'] }, [
          target({ kind: 'sqs', queueId: q.logicalId }),
        ]),
      ],
      queues: [q],
    });
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('Message Failed', { id: 'no' }),
          entry('Message Succeeded', { id: 'env-7', result: { n: 1 } }),
        ],
      }),
    );
    const [message] = await receive(q, 1);
    await outcomes(b, 1);

    expect(JSON.parse(message!.Body!)).toEqual({
      version: '0',
      id: (out.Entries![1] as { EventId: string }).EventId,
      'detail-type': 'Message Succeeded',
      source: 'event-pipeline',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [],
      detail: { id: 'env-7', result: { n: 1 } },
    });
    expect(b.deliveries()).toEqual([
      {
        eventId: (out.Entries![1] as { EventId: string }).EventId,
        rule: 'Rule',
        target: 'T',
        result: 'delivered',
        attempts: 1,
      },
    ]);
  });

  it('keeps every event a bus accepts in the events log, with its bus, time and envelope, whatever the rules', async () => {
    const { bus: b, client } = await startBus({
      rules: [
        rule({ 'detail-type': ['Message Failed'] }, [target({ kind: 'logs', logGroupName: '/events' })]),
      ],
    });
    const before = Date.now();
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('Message Succeeded', { id: 'a' }),
          entry('Message Failed', { id: 'b' }),
          { ...entry('Other', { id: 'c' }), EventBusName: undefined },
          { Source: 'event-pipeline', DetailType: 'Message Failed', EventBusName: 'pipeline' },
        ],
      }),
    );
    await outcomes(b, 1);

    const ids = out.Entries!.slice(0, 3).map((e) => e.EventId);
    const log = b.events();
    // The refused entry (no Detail) is not an event; the others are, with or without a rule.
    expect(log.map((e) => [e.bus, e.event.id, e.event['detail-type'], e.logGroups])).toEqual([
      ['pipeline', ids[0], 'Message Succeeded', []],
      ['pipeline', ids[1], 'Message Failed', ['/events']],
      ['default', ids[2], 'Other', []],
    ]);
    expect(log[0]!.event).toEqual({
      version: '0',
      id: ids[0],
      'detail-type': 'Message Succeeded',
      source: 'event-pipeline',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [],
      detail: { id: 'a' },
    });
    for (const e of log) expect(e.timestamp).toBeGreaterThanOrEqual(before);
    expect(b.events({ id: 'b' }).map((e) => e.event.detail)).toEqual([{ id: 'b' }]);
    expect(b.events({ id: ids[2] }).map((e) => e.event.detail)).toEqual([{ id: 'c' }]);
    expect(b.events({ limit: 2 }).map((e) => e.event.detail)).toEqual([{ id: 'b' }, { id: 'c' }]);
  });

  it('keeps the newest logCapacity events', async () => {
    const { bus: b, client } = await startBus({ rules: [], logCapacity: 2 });
    for (const id of ['a', 'b', 'c'])
      await client.send(new PutEventsCommand({ Entries: [entry('Message Succeeded', { id })] }));

    expect(b.events().map((e) => e.event.detail)).toEqual([{ id: 'b' }, { id: 'c' }]);
  });

  it('invokes a function target asynchronously with the event', async () => {
    const events: unknown[] = [];
    const host = { invoke: async (e: unknown) => (events.push(e), ok(null)) } as unknown as FunctionHost;
    const { client } = await startBus({
      rules: [rule({ 'detail-type': ['Message Succeeded'] }, [target({ kind: 'lambda', functionId: 'Fn' })])],
      hosts: new Map([['Fn', host]]),
    });
    await client.send(new PutEventsCommand({ Entries: [entry('Message Succeeded', { id: 'f' })] }));
    await until(() => events.length === 1, 5000);

    expect(events[0]).toMatchObject({ 'detail-type': 'Message Succeeded', detail: { id: 'f' } });
  });

  it("POSTs the event to an API destination with the connection's API key header", async () => {
    const r = await startReceiver(() => 200);
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'] }, [target({ kind: 'api-destination', destinationId: 'Hook' })]),
      ],
      destinations: [destination(r.url)],
    });
    await client.send(new PutEventsCommand({ Entries: [entry('Message Succeeded', { id: 'w' })] }));
    await outcomes(b, 1);

    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers).toMatchObject({
      'x-webhook-key': 'k-123',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({
      'detail-type': 'Message Succeeded',
      detail: { id: 'w' },
    });
  });

  it('retries a receiver answering 500 per the retry policy, then sends the event to the DLQ with EventBridge attributes', async () => {
    const r = await startReceiver(() => 500);
    const dlq = await queue();
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'] }, [
          target({
            kind: 'api-destination',
            destinationId: 'Hook',
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 },
            deadLetterQueueId: dlq.logicalId,
          }),
        ]),
      ],
      queues: [dlq],
      destinations: [destination(r.url)],
    });
    const out = await client.send(new PutEventsCommand({ Entries: [entry('Message Failed', { id: 'x' })] }));
    const [message] = await receive(dlq, 1);
    const [outcome] = await outcomes(b, 1);

    expect(r.requests).toHaveLength(4);
    expect(outcome).toMatchObject({ result: 'dead-lettered', attempts: 4 });
    expect(JSON.parse(message!.Body!)).toMatchObject({
      id: (out.Entries![0] as { EventId: string }).EventId,
      detail: { id: 'x' },
    });
    const attrs = Object.fromEntries(
      Object.entries(message!.MessageAttributes!).map(([k, v]) => [k, v.StringValue]),
    );
    expect(attrs).toEqual({
      ERROR_CODE: 'SDK_CLIENT_ERROR',
      ERROR_MESSAGE:
        'Unable to invoke ApiDestination endpoint: The endpoint responded with HTTP status code 500.',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttemptsExhausted',
      RETRY_ATTEMPTS: '3',
      RULE_ARN: 'arn:aws:events:us-east-1:000000000000:rule/pipeline/rule',
      TARGET_ARN: 'arn:aws:events:us-east-1:000000000000:api-destination/hook/x',
    });
  });

  it('does not retry a receiver answering 400: the event goes to the DLQ after one attempt', async () => {
    const r = await startReceiver(() => 400);
    const dlq = await queue();
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'] }, [
          target({ kind: 'api-destination', destinationId: 'Hook', deadLetterQueueId: dlq.logicalId }),
        ]),
      ],
      queues: [dlq],
      destinations: [destination(r.url)],
    });
    await client.send(new PutEventsCommand({ Entries: [entry('Message Failed')] }));
    const [message] = await receive(dlq, 1);
    const [outcome] = await outcomes(b, 1);

    expect(r.requests).toHaveLength(1);
    expect(outcome).toMatchObject({ result: 'dead-lettered', attempts: 1 });
    expect(message!.MessageAttributes!.RETRY_ATTEMPTS!.StringValue).toBe('0');
    expect(message!.MessageAttributes!.EXHAUSTED_RETRY_CONDITION).toBeUndefined();
  });

  it('delivers after a 429 and a 503 once the receiver recovers', async () => {
    const r = await startReceiver((n) => [429, 503][n - 1] ?? 200);
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'] }, [target({ kind: 'api-destination', destinationId: 'Hook' })]),
      ],
      destinations: [destination(r.url)],
    });
    await client.send(new PutEventsCommand({ Entries: [entry('Message Succeeded')] }));
    const [outcome] = await outcomes(b, 1);

    expect(outcome).toMatchObject({ result: 'delivered', attempts: 3 });
    expect(r.requests).toHaveLength(3);
  });

  it('holds requests to an API destination to its InvocationRateLimitPerSecond', async () => {
    const r = await startReceiver(() => 200);
    const { bus: b, client } = await startBus({
      rules: [
        rule({ source: ['event-pipeline'] }, [target({ kind: 'api-destination', destinationId: 'Hook' })]),
      ],
      destinations: [destination(r.url, 5)],
    });
    await client.send(
      new PutEventsCommand({
        Entries: Array.from({ length: 6 }, (_, i) => entry('Message Succeeded', { id: `r${i}` })),
      }),
    );
    await outcomes(b, 6);

    const starts = r.requests.map((q) => q.at).sort((x, y) => x - y);
    // 6 requests at 5 per second: the last starts at least 1 s after the first (less a timer's slack).
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(950);
  });
});
