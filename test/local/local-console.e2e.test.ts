import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/local';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';

// The console's endpoints and the journal's query on a running local stage (the page itself is
// tested in Chromium: test/browser/).
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

const CONSUMER = 'ConsumerHandlerFunctionA611E05C';
const PRODUCER = 'IngestProducerFunction866E59E1';
const getJson = async (route: string) => {
  const res = await fetch(`${stage.local.apiUrl}${route}`);
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

/** A raw request with the headers a browser would send (fetch does not let Host be set). */
function raw(
  method: string,
  route: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; text: string }> {
  const url = new URL(stage.local.apiUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: route, headers: { host: url.host, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('GET /_local/invocations query', () => {
  it('selects by function, by envelope id and by SQS message id', async () => {
    // Arrange
    const sent = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'journal-query' }));
    const { id, messageId } = sent.body as { id: string; messageId: string };
    await waitFor('its consumer run', () =>
      stage.local.journal.list().some((r) => r.messageIds.includes(messageId)),
    );

    // Act
    const byFunction = await getJson(`/_local/invocations?function=${PRODUCER}`);
    const byEnvelope = await getJson(`/_local/invocations?envelopeId=${id}`);
    const byMessage = await getJson(`/_local/invocations?messageId=${messageId}&function=${CONSUMER}`);

    // Assert
    expect(byFunction.status).toBe(200);
    expect(byFunction.body.length).toBeGreaterThanOrEqual(1);
    expect(new Set(byFunction.body.map((r: { function: string }) => r.function))).toEqual(
      new Set([PRODUCER]),
    );
    expect(
      byEnvelope.body.map((r: { function: string; messageIds: string[] }) => [r.function, r.messageIds]),
    ).toEqual([[CONSUMER, [messageId]]]);
    expect(byMessage.body).toEqual(byEnvelope.body);
  });

  it('answers 400 naming a parameter it cannot use, 404 for an unknown envelope id', async () => {
    const fn = await getJson('/_local/invocations?function=NoSuchFunction');
    const unknown = await getJson('/_local/invocations?envelopeId=00000000-0000-4000-8000-000000000000');

    expect(fn.status).toBe(400);
    expect(fn.body.error.field).toBe('function');
    expect(fn.body.error.message).toContain('no function NoSuchFunction (functions: ');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({
      code: 'NotFound',
      message: 'no message with envelope id 00000000-0000-4000-8000-000000000000',
      field: 'envelopeId',
    });
  });
});

describe('local console protections', () => {
  it('refuses an action without the page token, and one a cross-site page sends', async () => {
    // Arrange
    const page = await raw('GET', '/_local/console', {});
    const token = /name="console-token" content="([^"]+)"/.exec(page.text)![1]!;
    const body = JSON.stringify({ lane: 'standard' });
    const json = { 'content-type': 'application/json' };

    // Act
    const noToken = await raw('POST', '/_local/console/actions/redrive', json, body);
    const wrongToken = await raw(
      'POST',
      '/_local/console/actions/redrive',
      { ...json, 'x-console-token': `${token}x` },
      body,
    );
    const crossSite = await raw(
      'POST',
      '/_local/console/actions/redrive',
      { ...json, 'x-console-token': token, origin: 'https://attacker.example' },
      body,
    );
    const rebound = await raw('GET', '/_local/console', { host: 'attacker.example:3000' });
    const badLane = await raw(
      'POST',
      '/_local/console/actions/redrive',
      { ...json, 'x-console-token': token },
      '{"lane":"nope"}',
    );
    const emptyDlq = await raw(
      'POST',
      '/_local/console/actions/redrive',
      { ...json, 'x-console-token': token },
      body,
    );

    // Assert
    expect(page.status).toBe(200);
    expect(noToken.status).toBe(403);
    expect(JSON.parse(noToken.text).error.field).toBe('x-console-token');
    expect(wrongToken.status).toBe(403);
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.text).error.message).toContain('cross-site request from origin');
    expect(rebound.status).toBe(403);
    expect(rebound.text).not.toContain('console-token');
    expect(badLane.status).toBe(400);
    expect(JSON.parse(badLane.text).error).toMatchObject({ field: 'lane' });
    expect(emptyDlq.status).toBe(200);
    expect(JSON.parse(emptyDlq.text)).toMatchObject({ moved: 0, failed: 0, items: [] });
  });

  it('refuses a purge without a lane and a replay without ids, naming the field', async () => {
    // Arrange
    const page = await raw('GET', '/_local/console', {});
    const token = /name="console-token" content="([^"]+)"/.exec(page.text)![1]!;
    const headers = { 'content-type': 'application/json', 'x-console-token': token };

    // Act
    const purge = await raw('POST', '/_local/console/actions/purge', headers, '{}');
    const replay = await raw('POST', '/_local/console/actions/replay', headers, '{"lane":"standard"}');
    const unknown = await raw('POST', '/_local/console/actions/delete', headers, '{}');

    // Assert
    expect([purge.status, JSON.parse(purge.text).error]).toEqual([
      400,
      { code: 'BadRequest', field: 'lane', message: 'purge needs the lane whose DLQ to empty' },
    ]);
    expect([replay.status, JSON.parse(replay.text).error]).toEqual([
      400,
      { code: 'BadRequest', field: 'ids', message: 'replay needs the ids' },
    ]);
    expect(unknown.status).toBe(404);
  });

  it("answers the journal view's id filter by envelope id, else by SQS message id", async () => {
    // Arrange
    const sent = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'console-journal-id' }));
    const { id, messageId } = sent.body as { id: string; messageId: string };
    await waitFor('its consumer run', () =>
      stage.local.journal.list().some((r) => r.messageIds.includes(messageId)),
    );

    // Act
    const byEnvelope = await getJson(`/_local/console/invocations?id=${id}`);
    const byMessage = await getJson(`/_local/console/invocations?id=${messageId}&function=${CONSUMER}`);
    const bad = await getJson('/_local/console/invocations?outcome=maybe');

    // Assert
    expect(byEnvelope.body.by).toBe('envelopeId');
    expect(byEnvelope.body.records.map((r: { messageIds: string[] }) => r.messageIds)).toEqual([[messageId]]);
    expect(byMessage.body.by).toBe('messageId');
    expect(byMessage.body.records).toEqual(byEnvelope.body.records);
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('outcome');
  });

  it('answers 404 for a message id nothing knows, 400 without one', async () => {
    const none = await getJson('/_local/console/message?id=nothing-has-this-id');
    const empty = await getJson('/_local/console/message?id=');

    expect(none).toEqual({
      status: 404,
      body: { error: { code: 'NotFound', message: 'no message nothing-has-this-id', field: 'id' } },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toBe('id');
  });
});
