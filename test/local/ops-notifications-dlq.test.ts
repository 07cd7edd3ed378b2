import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionEventOf } from '../../lambda/shared/events/completion';
import { LOCAL_CREDENTIALS, startEmulator, type Emulator, type LocalQueue } from '../../local/aws/emulator';
import { LocalEventBus } from '../../local/aws/event-bus';
import { LocalSecrets } from '../../local/aws/secrets';
import { Journal } from '../../local/control/journal';
import { createLocalLogger } from '../../local/log';
import type { EventRuleSpec } from '../../local/template/topology';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { EventDelivery } from '../../local/triggers/event-delivery';
import { compileEventPattern } from '../../local/triggers/filter-criteria';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { until } from '../helpers/poller';

// `ops dlq list|show|redrive --lane notifications` and `ops purge --lane notifications` on local
// parts: the emulator's queues, the local EventBridge with a rule whose API destination target (a
// real HTTP receiver) dead-letters into the notifications DLQ, an env file, the CLI.

const REGION = 'us-east-1';
const BUS = {
  logicalId: 'Bus',
  name: 'stage-events',
  arn: `arn:aws:events:${REGION}:000000000000:event-bus/stage-events`,
};
const SECRET = 'hook-secret';
let emulator: Emulator;
let bus: LocalEventBus;
let receiver: Server;
let receiverStatus = 500;
const received: string[] = [];
let dlq: LocalQueue;
let dir: string;
let envFile: string;
let client: EventBridgeClient;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, region: REGION });
  const { QueueUrl } = await emulator.sqs.send(
    new CreateQueueCommand({ QueueName: 'stage-NotificationsDlq' }),
  );
  const attrs = await emulator.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  dlq = {
    logicalId: 'CompletionEventsNotificationsDlq1234',
    name: 'stage-NotificationsDlq',
    url: QueueUrl!,
    arn: attrs.Attributes!.QueueArn!,
    fifo: false,
  };
  await emulator.s3.send(new CreateBucketCommand({ Bucket: 'archive' }));

  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += String(c)));
    req.on('end', () => {
      if (receiverStatus === 200) received.push(body);
      res.writeHead(receiverStatus).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const pattern = { source: ['event-pipeline'] };
  const rule: EventRuleSpec = {
    logicalId: 'Webhook',
    name: 'webhook',
    arn: `arn:aws:events:${REGION}:000000000000:rule/stage-events/webhook`,
    busName: BUS.name,
    pattern,
    matches: compileEventPattern(pattern, 'EventPattern'),
    enabled: true,
    targets: [
      {
        kind: 'api-destination',
        destinationId: 'Hook',
        id: 'Target0',
        arn: `arn:aws:events:${REGION}:000000000000:api-destination/hook/x`,
        retryPolicy: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 3600 },
        deadLetterQueueId: dlq.logicalId,
      },
    ],
  };
  const resolver = new Resolver({ pseudo: localPseudoParameters('S'), resources: new Map() });
  bus = new LocalEventBus({
    buses: [{ name: 'default', arn: `arn:aws:events:${REGION}:000000000000:event-bus/default` }, BUS],
    rules: [rule],
    region: REGION,
    accountId: '000000000000',
    logger: createLocalLogger('silent'),
    delivery: new EventDelivery({
      queues: new Map([[dlq.logicalId, dlq]]),
      sqs: emulator.sqs,
      hosts: new Map(),
      apiDestinations: [
        {
          logicalId: 'Hook',
          name: 'hook',
          arn: `arn:aws:events:${REGION}:000000000000:api-destination/hook/x`,
          endpoint: hookUrl,
          httpMethod: 'POST',
          rateLimitPerSecond: 100,
          connection: {
            logicalId: 'Connection',
            authorizationType: 'API_KEY',
            apiKeyName: 'x-webhook-key',
            apiKeyValue: `{{resolve:secretsmanager:${SECRET}:SecretString:apiKey::}}`,
          },
        },
      ],
      secrets: new LocalSecrets([], resolver, { [SECRET]: { apiKey: 'k' } }),
      journal: new Journal(),
      logger: createLocalLogger('silent'),
      retryBaseMs: 10,
    }),
  });
  const eventsEndpoint = await bus.listen(0);
  client = new EventBridgeClient({
    endpoint: eventsEndpoint,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  dir = mkdtempSync(path.join(tmpdir(), 'ops-notifications-'));
  envFile = path.join(dir, 'env.json');
  writeFileSync(
    envFile,
    JSON.stringify({
      apiUrl: 'http://127.0.0.1:1',
      awsEndpoint: emulator.endpoint,
      region: REGION,
      queues: { [dlq.logicalId]: { url: dlq.url, arn: dlq.arn, name: dlq.name } },
      lanes: {},
      buckets: { Archive: 'archive' },
      eventsEndpoint,
      eventBuses: { Bus: BUS.name },
    }),
  );
});
afterAll(async () => {
  client?.destroy();
  await bus?.stop(0);
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: dir,
  };
  const code = await runCli([...argv, '--local-env', envFile], io, COMMANDS);
  return { code, ...out };
}

/** Publishes the completion event of `id` as the relay does; resolves when the webhook refused it into the DLQ. */
async function undelivered(id: string, status: 'succeeded' | 'failed' = 'succeeded') {
  const e = completionEventOf(
    { status: 'processing' },
    {
      id,
      type: 'report.generate',
      queue: 'standard',
      lane: 'standard',
      status,
      attempts: 1,
      acceptedAt: '2026-12-05T10:00:00.000Z',
      updatedAt: '2026-12-05T10:00:01.000Z',
      ...(status === 'failed' ? { failure: { kind: 'permanent', archiveKey: null } } : {}),
    },
  )!;
  const before = bus.deliveries().length;
  await client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: BUS.name, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail }],
    }),
  );
  await until(() => bus.deliveries().length > before, 10_000);
  return e.detail;
}

describe('ops and the notifications DLQ (local)', () => {
  it('lists, shows, and redrives undelivered notifications by republishing them on the bus', async () => {
    receiverStatus = 500;
    const a = await undelivered('env-a');
    const b = await undelivered('env-b', 'failed');

    const list = await run('dlq', 'list', '--lane', 'notifications', '--json');
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const listing = JSON.parse(list.stdout);
    expect(listing.queue).toEqual({
      lane: 'notifications',
      dlq: 'stage-NotificationsDlq',
      depth: 2,
      shown: 2,
    });
    const byEnvelope = Object.fromEntries(
      listing.messages.map((m: { envelopeId: string }) => [m.envelopeId, m]),
    );
    expect(byEnvelope['env-a']).toEqual({
      lane: 'notifications',
      dlqMessageId: expect.any(String),
      eventBridgeId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      detailType: 'Message Succeeded',
      envelopeId: 'env-a',
      type: 'report.generate',
      status: 'succeeded',
      eventId: a.eventId,
      errorCode: 'SDK_CLIENT_ERROR',
      errorMessage: expect.stringContaining('500'),
      retryAttempts: 1,
      ruleArn: `arn:aws:events:${REGION}:000000000000:rule/stage-events/webhook`,
      targetArn: `arn:aws:events:${REGION}:000000000000:api-destination/hook/x`,
      failedAt: expect.any(String),
    });
    expect(byEnvelope['env-b']).toMatchObject({
      detailType: 'Message Failed',
      status: 'failed',
      eventId: b.eventId,
    });

    const text = await run('dlq', 'list', '--lane', 'notifications');
    expect(text.stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual([
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
    // Without --lane: the lanes (none here) and a line about the notifications DLQ.
    const all = await run('dlq', 'list');
    expect(all.stdout).toBe(
      'no dead-lettered messages\nlane notifications, stage-NotificationsDlq: 2 undelivered webhook notification(s) (dlq list --lane notifications)\n',
    );

    const show = await run('dlq', 'show', 'env-b', '--json');
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.stdout);
    expect(shown.event).toMatchObject({
      source: 'event-pipeline',
      'detail-type': 'Message Failed',
      detail: b,
    });
    expect(shown.dlqCopy.messageAttributes).toMatchObject({
      ERROR_CODE: 'SDK_CLIENT_ERROR',
      RULE_ARN: `arn:aws:events:${REGION}:000000000000:rule/stage-events/webhook`,
    });

    // Without --ids it wants --yes; --type makes no sense here.
    const refused = await run('dlq', 'redrive', '--lane', 'notifications');
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: dlq redrive --lane notifications without --ids publishes every undelivered notification (2 events) again on the bus: add --yes (or --dry-run)\n',
    });
    expect((await run('dlq', 'redrive', '--lane', 'notifications', '--type', 'x')).stderr).toBe(
      'error: --type does not apply to --lane notifications (its messages are events, redriven by republishing them); use --ids\n',
    );

    // The endpoint is fixed: one redriven by its envelope id, then the rest.
    receiverStatus = 200;
    const one = await run('dlq', 'redrive', '--lane', 'notifications', '--ids', 'env-a', '--json');
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const result = JSON.parse(one.stdout);
    expect(result).toMatchObject({
      mode: 'republish',
      bus: 'stage-events',
      republished: 1,
      skipped: 1,
      failed: 0,
    });
    await until(() => received.length === 1, 10_000);
    const delivered = JSON.parse(received[0]!);
    expect(delivered).toMatchObject({
      source: 'event-pipeline',
      'detail-type': 'Message Succeeded',
      detail: a,
    });
    expect(delivered.id).toBe(result.items[0].newEventBridgeId);
    expect(bus.events({ id: 'env-a' }).map((e) => e.event.detail)).toEqual([a, a]);

    const rest = await run('dlq', 'redrive', '--lane', 'notifications', '--yes');
    expect(rest.code).toBe(0);
    expect(rest.stdout.trimEnd().split('\n').at(-1)).toBe(
      'published 1 on stage-events, skipped 0, failed 0. Every rule of the bus that matches gets them again (receivers de-duplicate on detail.eventId)',
    );
    await until(() => received.length === 2, 10_000);
    expect(JSON.parse(received[1]!).detail).toEqual(b);
    const after = JSON.parse((await run('dlq', 'list', '--lane', 'notifications', '--json')).stdout);
    expect(after.queue.depth).toBe(0);

    const unknown = await run('dlq', 'redrive', '--lane', 'notifications', '--ids', 'nope');
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
      code: 1,
      stderr:
        'error: --ids: no undelivered notification has the id nope (a DLQ message id, an EventBridge event id, an envelope id or an event id (dlq list --lane notifications shows them))\n',
    });
  });

  it('purge --lane notifications deletes what it read, needs --yes, has no --archive-missing', async () => {
    receiverStatus = 500;
    await undelivered('env-p');

    expect((await run('purge', '--lane', 'notifications')).code).toBe(2);
    expect((await run('purge', '--lane', 'notifications', '--yes', '--archive-missing')).stderr).toBe(
      'error: --archive-missing does not apply to --lane notifications (notifications have no archive)\n',
    );
    const dry = await run('purge', '--lane', 'notifications', '--dry-run');
    expect(dry.stdout).toBe(
      'would purge stage-NotificationsDlq: 1 undelivered notification(s); the webhook will not get them (status rows and results stay)\n',
    );
    const purged = await run('purge', '--lane', 'notifications', '--yes', '--json');
    expect(JSON.parse(purged.stdout)).toEqual({
      queue: 'stage-NotificationsDlq',
      dryRun: false,
      purged: 1,
      unread: 0,
    });
    expect(
      JSON.parse((await run('dlq', 'list', '--lane', 'notifications', '--json')).stdout).queue.depth,
    ).toBe(0);
  });
});
