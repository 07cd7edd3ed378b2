import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childId } from '../../lambda/shared/consumer/children';
import { CompletionDetailV1 } from '../../lambda/shared/events/completion-schema';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { HOOK_AUTH } from '../fixtures/events-app/events-stack';
import { consumerInvocations, probe, waitForIdle } from '../helpers/local';
import { ROOT } from '../helpers/synth';

// Results, completion events, webhooks and follow-up jobs (issue 18) in local mode, on the fixture
// app test/fixtures/events-app: its own rule sends every completion event to a queue it reads;
// webhook `receiver` takes every event, webhook `broken` (failed events only) answers 500.
const HOOK_SECRET = 'EXAMPLE-hook-secret-value';
type Hit = {
  path: string;
  headers: IncomingHttpHeaders;
  body: { id: string; detail: Record<string, unknown> };
};
const hits: Hit[] = [];
let receiver: Server;
let stage: LocalStage;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hit['body'],
      });
      res.writeHead(req.url === '/hooks/broken' ? 500 : 200).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  // The fixture's bin reads the port at synth (the child process inherits this environment).
  process.env.EVENTS_APP_HOOK_PORT = String((receiver.address() as AddressInfo).port);
  stage = await startStage({
    appDir: path.join(ROOT, 'test', 'fixtures', 'events-app'),
    cdkOut: path.join(ROOT, 'cdk.out.events-test'),
    synth: true,
    secrets: { [HOOK_AUTH.secretName]: HOOK_SECRET },
  });
}, 240_000);
afterAll(async () => {
  await stage?.stop();
  receiver?.close();
});

type Status = {
  id: string;
  status: string;
  attempts: number;
  correlationId: string | null;
  result: unknown;
  resultUrl: string | null;
  resultBytes: number | null;
  lastError: { name: string; message: string } | null;
  failure: { kind: string } | null;
  parentId: string | null;
  children: string[];
  messageIds: string[];
};

const statusOf = async (id: string) => (await stage.get(`/v1/messages/${id}`)).body as Status;
const until = (id: string, state: string, timeoutMs = 30_000) =>
  waitFor(
    `${id} ${state}`,
    async () => {
      const s = await statusOf(id);
      return s.status === state ? s : undefined;
    },
    timeoutMs,
    100,
  );
const send = async (payload: Record<string, unknown>): Promise<string> => {
  const res = await stage.post('/v1/messages', probe(payload));
  expect(res.status, res.text).toBe(202);
  return res.body.id as string;
};

/** Events read from the fixture's queue so far (each message deleted once read), by envelope id. */
const seen = new Map<string, { 'detail-type': string; id: string; detail: Record<string, unknown> }[]>();
async function readCompletions(): Promise<void> {
  const key = Object.keys(stage.local.env.queues).find((k) => k.startsWith('Completions'))!;
  const url = stage.queue(key).url;
  for (;;) {
    const out = await stage.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!out.Messages?.length) return;
    for (const m of out.Messages) {
      const event = JSON.parse(m.Body!) as { 'detail-type': string; id: string; detail: { id: string } };
      seen.set(event.detail.id, [...(seen.get(event.detail.id) ?? []), event]);
      await stage.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}
const eventsOf = async (id: string) => {
  await readCompletions();
  return seen.get(id) ?? [];
};

describe('job results', () => {
  it('a result up to 16 KiB is on the status row and GET shows it', async () => {
    const id = await send({ mode: 'succeed', result: { pages: 3, url: 'https://example.com/r.pdf' } });

    const done = await until(id, 'succeeded');

    expect(done.result).toEqual({ pages: 3, url: 'https://example.com/r.pdf' });
    expect([done.resultUrl, done.resultBytes]).toEqual([null, null]);
    const direct = await stage.get(`/v1/messages/${id}/result`);
    expect([direct.status, direct.body]).toEqual([200, { pages: 3, url: 'https://example.com/r.pdf' }]);
  });

  it('a larger result goes to S3: GET names its URL and size, and the URL returns it', async () => {
    const id = await send({ mode: 'succeed', resultBytes: 20_000 });

    const done = await until(id, 'succeeded');

    expect(done.result).toBeNull();
    expect(done.resultBytes).toBe(20_002);
    expect(done.resultUrl).toBe(`${stage.local.env.apiUrl}/v1/messages/${id}/result`);
    const res = await stage.get(`/v1/messages/${id}/result`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body).toBe('r'.repeat(20_000));
  });

  it('a result over 4 MiB fails the run permanently, naming the limit; a message without one answers 404', async () => {
    const id = await send({ mode: 'succeed', resultBytes: 4_200_000 });

    const failed = await until(id, 'failed');

    expect(failed.failure?.kind).toBe('permanent');
    expect(failed.lastError).toEqual({
      name: 'ResultTooLarge',
      message: "The job's result is 4200002 bytes of JSON; at most 4194304 are kept",
    });
    const none = await stage.get(`/v1/messages/${id}/result`);
    expect([none.status, none.body.error.code]).toEqual([404, 'NotFound']);
  });
});

describe('completion events', () => {
  it('a succeeded and a permanently failed message each put exactly one event on the rule’s queue', async () => {
    const ok = await send({ mode: 'succeed', result: 'done', failTimes: 1 });
    const bad = await send({ mode: 'fail-permanent' });
    await until(ok, 'succeeded');
    await until(bad, 'failed');

    const [okEvents, badEvents] = await waitFor('both events', async () => {
      const a = await eventsOf(ok);
      const b = await eventsOf(bad);
      return a.length > 0 && b.length > 0 ? [a, b] : undefined;
    });
    await waitForIdle(stage);
    await readCompletions();

    expect(seen.get(ok)).toHaveLength(1);
    expect(seen.get(bad)).toHaveLength(1);
    expect(okEvents[0]!['detail-type']).toBe('Message Succeeded');
    expect(okEvents[0]!.detail).toMatchObject({
      id: ok,
      status: 'succeeded',
      attempts: 2,
      result: 'done',
      eventId: expect.stringMatching(new RegExp(`^${ok}:succeeded:`)),
    });
    expect(badEvents[0]!['detail-type']).toBe('Message Failed');
    expect(badEvents[0]!.detail).toMatchObject({
      id: bad,
      status: 'failed',
      failure: { kind: 'permanent', error: { name: 'ProbePermanentError' } },
    });
    for (const e of [okEvents[0]!, badEvents[0]!])
      expect(CompletionDetailV1.safeParse(e.detail).success).toBe(true);
  });

  it('a webhook gets the event with its auth header; one that answers 500 is retried, then the event is dead-lettered', async () => {
    const bad = await send({ mode: 'fail-permanent', tag: 'webhook' });
    await until(bad, 'failed');

    const delivered = await waitFor('the receiver got the event', () =>
      hits.find((h) => h.path === '/hooks/receiver' && h.body.detail.id === bad),
    );
    expect(delivered.headers[HOOK_AUTH.header]).toBe(HOOK_SECRET);
    expect(delivered.body['detail-type' as keyof Hit['body']]).toBe('Message Failed');

    const dlqUrl =
      stage.local.env.queues[
        Object.keys(stage.local.env.queues).find((k) => k.includes('NotificationsDlq'))!
      ]!.url;
    const dead = await waitFor('the event in the notifications DLQ', async () => {
      const out = await stage.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          VisibilityTimeout: 0,
        }),
      );
      return out.Messages?.find((m) => (JSON.parse(m.Body!) as Hit['body']).detail.id === bad);
    });
    // The first call and the two retries of its retry policy.
    expect(hits.filter((h) => h.path === '/hooks/broken' && h.body.detail.id === bad)).toHaveLength(3);
    expect(dead.MessageAttributes?.ERROR_CODE?.StringValue).toBeTruthy();
    expect(dead.MessageAttributes?.RULE_ARN?.StringValue).toMatch(/^arn:aws:events:[a-z0-9-]+:\d{12}:rule\//);
    // `broken` takes failed events only: a success never reaches it.
    expect(
      hits.some(
        (h) => h.path === '/hooks/broken' && h.body['detail-type' as keyof Hit['body']] !== 'Message Failed',
      ),
    ).toBe(false);
  });

  it('a runtime that dies right after the terminal status write still yields exactly one event', async () => {
    // Two records in one invocation: `early` succeeds and its status is written while `late`
    // sleeps; `late` then crashes the runtime, so the invocation never answers and both are
    // delivered again (crash isolation). `early`'s redelivery is a duplicate of a success.
    const res = await stage.post('/v1/messages/batch', {
      messages: [
        probe({ mode: 'succeed', tag: 'early' }),
        probe({ mode: 'crash', failTimes: 1, sleepMs: 1500, tag: 'late' }),
      ],
    });
    expect(res.status, res.text).toBe(202);
    const [early, late] = (res.body.results as { id: string; messageId: string }[]).map((r) => r.id);
    const [earlySqs, lateSqs] = (res.body.results as { messageId: string }[]).map((r) => r.messageId);
    await until(early!, 'succeeded');
    await until(late!, 'succeeded', 60_000);
    await waitForIdle(stage);

    // The invocation that ran both crashed; `early` ran once (its write came before the crash, so
    // its redelivery was acknowledged unrun).
    const crashed = consumerInvocations(stage.local, 'consumer').filter(
      (i) => i.error !== null && i.messageIds.includes(earlySqs!) && i.messageIds.includes(lateSqs!),
    );
    expect(crashed).toHaveLength(1);
    expect((await statusOf(early!)).attempts).toBe(1);
    await waitFor('both events', async () =>
      (await eventsOf(early!)).length > 0 && (await eventsOf(late!)).length > 0 ? true : undefined,
    );
    await waitForIdle(stage);
    await readCompletions();
    expect(seen.get(early!)).toHaveLength(1);
    expect(seen.get(late!)).toHaveLength(1);
  });
});

describe('follow-up jobs', () => {
  it('a parent enqueues two children: they run with its correlation id, and GET of the parent lists them', async () => {
    const parent = await send({ mode: 'succeed', children: 2 });

    const done = await until(parent, 'succeeded');

    expect(done.children).toEqual([childId(parent, 0), childId(parent, 1)]);
    for (const id of done.children) {
      const child = await until(id, 'succeeded');
      expect(child).toMatchObject({ parentId: parent, correlationId: done.correlationId, attempts: 1 });
    }
    const events = await waitFor('the parent event', async () => {
      const e = await eventsOf(parent);
      return e.length > 0 ? e : undefined;
    });
    expect(events[0]!.detail.children).toEqual(done.children);
  });

  it('a parent that crashes after enqueueing does not enqueue its children twice', async () => {
    // The first delivery enqueues the children, then crashes; the second enqueues the same ids.
    const parent = await send({ mode: 'crash', failTimes: 1, children: 2 });

    const done = await until(parent, 'succeeded', 60_000);

    expect(done.attempts).toBe(2);
    expect(done.children).toHaveLength(2);
    for (const id of done.children) {
      const child = await until(id, 'succeeded');
      // Sent twice (once per parent run), run once: the second copy is acknowledged as a duplicate.
      expect(child.attempts).toBe(1);
    }
  });
});
