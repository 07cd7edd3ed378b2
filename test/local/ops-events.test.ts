import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionEventOf } from '../../lambda/shared/events/completion';
import { LOCAL_CREDENTIALS } from '../../local/aws/emulator';
import { LocalEventBus } from '../../local/aws/event-bus';
import { LocalSecrets } from '../../local/aws/secrets';
import { answerLocalRequest } from '../../local/control/endpoints';
import { Journal } from '../../local/control/journal';
import { createLocalLogger } from '../../local/log';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { EventDelivery } from '../../local/triggers/event-delivery';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';

// `ops events` on the local stage: the real local EventBridge (PutEvents through the SDK), its
// events log served at GET /_local/events by local mode's own handler, an env file, the CLI.

const BUS = {
  logicalId: 'Bus',
  name: 'stage-events',
  arn: 'arn:aws:events:us-east-1:000000000000:event-bus/stage-events',
};
let bus: LocalEventBus;
let server: Server;
let dir: string;
let envFile: string;

beforeAll(async () => {
  const resolver = new Resolver({ pseudo: localPseudoParameters('S'), resources: new Map() });
  bus = new LocalEventBus({
    buses: [{ name: 'default', arn: 'arn:aws:events:us-east-1:000000000000:event-bus/default' }, BUS],
    rules: [],
    region: 'us-east-1',
    accountId: '000000000000',
    logger: createLocalLogger('silent'),
    delivery: new EventDelivery({
      queues: new Map(),
      sqs: new SQSClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
      hosts: new Map(),
      apiDestinations: [],
      secrets: new LocalSecrets([], resolver, {}),
      journal: new Journal(),
      logger: createLocalLogger('silent'),
    }),
  });
  const eventsEndpoint = await bus.listen(0);
  const journal = new Journal();
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void answerLocalRequest(
      req.method ?? 'GET',
      url.pathname,
      journal,
      {
        health: () => ({}),
        alarms: () => [],
        triggerSchedule: () => undefined,
        events: (f) => bus.events(f),
      },
      url.searchParams,
    ).then((a) => res.writeHead(a.statusCode, a.headers as Record<string, string>).end(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(path.join(tmpdir(), 'ops-events-'));
  envFile = path.join(dir, 'env.json');
  writeFileSync(
    envFile,
    JSON.stringify({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      awsEndpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      queues: {},
      lanes: {},
      buckets: { Archive: 'archive' },
      eventsEndpoint,
      eventBuses: { Bus: BUS.name },
    }),
  );

  // Two outcomes as the relay publishes them, and an event of another source on the same bus.
  const row = (id: string, over: Record<string, unknown>) => ({
    id,
    type: 'probe',
    queue: 'standard',
    lane: 'standard',
    attempts: 1,
    acceptedAt: '2026-12-05T10:00:00.000Z',
    updatedAt: '2026-12-05T10:00:01.000Z',
    status: 'succeeded',
    ...over,
  });
  const ok = completionEventOf({ status: 'processing' }, row('env-ok', {}))!;
  const failed = completionEventOf(
    { status: 'processing' },
    row('env-bad', { status: 'failed', attempts: 3, failure: { kind: 'permanent', archiveKey: 'k' } }),
  )!;
  const client = new EventBridgeClient({
    endpoint: eventsEndpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  for (const e of [ok, failed])
    await client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: BUS.name, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail }],
      }),
    );
  await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: BUS.name,
          Source: 'someone-else',
          DetailType: 'Message Succeeded',
          Detail: '{"id":"x"}',
        },
      ],
    }),
  );
  client.destroy();
});
afterAll(async () => {
  await bus?.stop(0);
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]) {
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

describe('ops events on the local stage', () => {
  it('lists the completion events of the events log (not other events), oldest first', async () => {
    const r = await run(['events', '--json']);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.source).toBe('local events log');
    expect(json.events).toEqual([
      {
        time: expect.any(String),
        detailType: 'Message Succeeded',
        envelopeId: 'env-ok',
        type: 'probe',
        lane: 'standard',
        status: 'succeeded',
        attempts: 1,
        failureKind: null,
        eventId: 'env-ok:succeeded:2026-12-05T10:00:01.000Z',
        correlationId: null,
      },
      {
        time: expect.any(String),
        detailType: 'Message Failed',
        envelopeId: 'env-bad',
        type: 'probe',
        lane: 'standard',
        status: 'failed',
        attempts: 3,
        failureKind: 'permanent',
        eventId: 'env-bad:failed:2026-12-05T10:00:01.000Z',
        correlationId: null,
      },
    ]);
    const logged = bus.events();
    expect(json.events.map((e: { time: string }) => e.time)).toEqual(
      logged.slice(0, 2).map((e) => new Date(e.timestamp).toISOString()),
    );
  });

  it('--id shows one envelope id; the text table names the columns', async () => {
    const r = await run(['events', '--id', 'env-bad']);

    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]!.split(/\s{2,}/).slice(1)).toEqual([
      'Message Failed',
      'env-bad',
      'probe',
      'standard',
      'failed',
      '3',
      'permanent',
      'env-bad:failed:2026-12-05T10:00:01.000Z',
    ]);
    expect(lines[3]).toMatch(/^1 event\(s\) of env-bad since \S+ \(1h ago\), from local events log$/);
  });

  it('an env file without an events endpoint (local mode from before events) is one line, exit 1', async () => {
    const older = path.join(dir, 'older.json');
    const { eventsEndpoint: _, ...rest } = JSON.parse(readFileSync(envFile, 'utf8'));
    writeFileSync(older, JSON.stringify(rest));
    const out = { stdout: '', stderr: '' };
    const io: Io = {
      stdout: (t) => (out.stdout += t),
      stderr: (t) => (out.stderr += t),
      isTTY: false,
      cwd: dir,
    };
    const code = await runCli(['events', '--local-env', older], io, COMMANDS);
    expect({ code, ...out }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: local mode has no event bus (restart npm start with this version of the app)\n',
    });
  });
});
