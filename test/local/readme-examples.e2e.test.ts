import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/startup';
import { startStage, waitFor, type ApiAnswer, type LocalStage } from '../../tools/local-stage';

// The answers README.md and docs/API.md show are the answers local mode gives: each example's
// request is sent to the local stage and its answer compared with the documented one, key for
// key and value for value. In a documented value, `…` stands for any text, a UUID (or its first
// group and `-…`) for any UUID, an ISO 8601 time for any time and a run of digits for any run of
// as many digits (ids, times and sequence numbers differ from run to run); everything else must
// be equal.

const doc = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

/**
 * The documented answer after `anchor` in `text`: the first line from there that is a JSON
 * object, optionally after `# ` and a status code (`# 202 {…}`, `400 {…}`), with the `#` lines
 * that continue it.
 */
function documentedAnswer(text: string, anchor: string): { status?: number; body: unknown } {
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`no example "${anchor}"`);
  const lines = text.slice(at).split('\n');
  const start = lines.findIndex((l) => /^(?:# ?)?(?:\d{3} )?\{/.test(l));
  if (start < 0) throw new Error(`no answer after "${anchor}"`);
  const first = /^(?:# ?)?(?:(\d{3}) )?(\{.*)$/.exec(lines[start])!;
  let json = first[2];
  for (const line of lines.slice(start + 1)) {
    if (!/^#\s{2,}\S/.test(line)) break;
    json += line.replace(/^#\s+/, '');
  }
  return { status: first[1] ? Number(first[1]) : undefined, body: JSON.parse(json) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A UUID shown shortened to its first group: `4c3b6caf-…`. */
const SHORT_UUID = /^[0-9a-f]{8}-…$/i;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Where `actual` differs from the documented `shown` (empty: it is what the docs show). */
function differences(shown: unknown, actual: unknown, at = '$'): string[] {
  if (typeof shown === 'string') {
    if (typeof actual !== 'string') return [`${at}: ${JSON.stringify(actual)} is not a string`];
    const ok =
      UUID.test(shown) || SHORT_UUID.test(shown)
        ? UUID.test(actual)
        : TIME.test(shown)
          ? TIME.test(actual)
          : /^\d+$/.test(shown)
            ? new RegExp(`^\\d{${shown.length}}$`).test(actual)
            : new RegExp(
                `^${shown
                  .split('…')
                  .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
                  .join('[\\s\\S]*')}$`,
              ).test(actual);
    return ok ? [] : [`${at}: ${JSON.stringify(actual)} is not ${JSON.stringify(shown)}`];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual) || actual.length !== shown.length)
      return [`${at}: ${JSON.stringify(actual)} is not an array of ${shown.length}`];
    return shown.flatMap((s, i) => differences(s, actual[i], `${at}[${i}]`));
  }
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [`${at}: ${JSON.stringify(actual)} is not an object`];
    const keys = (o: object) => Object.keys(o).sort().join(',');
    if (keys(shown) !== keys(actual)) return [`${at}: keys ${keys(actual)} are not ${keys(shown)}`];
    return Object.entries(shown).flatMap(([k, v]) =>
      differences(v, (actual as Record<string, unknown>)[k], `${at}.${k}`),
    );
  }
  return Object.is(shown, actual) ? [] : [`${at}: ${JSON.stringify(actual)} is not ${JSON.stringify(shown)}`];
}

/** Asserts that `answer` is the documented one (status too, when the docs show it). */
function expectDocumented(file: string, anchor: string, answer: ApiAnswer, status: number): void {
  const shown = documentedAnswer(doc(file), anchor);
  expect(answer.status, `${file}, "${anchor}": ${answer.text}`).toBe(status);
  if (shown.status !== undefined)
    expect(shown.status, `${file}, "${anchor}": documented status`).toBe(status);
  expect(differences(shown.body, answer.body), `${file}, "${anchor}"`).toEqual([]);
}

let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

const settledStatus = (id: string) =>
  waitFor(`message ${id} to succeed`, async () => {
    const res = await stage.get(`/v1/messages/${id}`);
    return res.body?.status === 'succeeded' ? res : undefined;
  });

describe('README.md, quick start', () => {
  it('answers the POST and the GET as shown', async () => {
    const accepted = await stage.post('/v1/messages', { type: 'probe', payload: { mode: 'succeed' } });
    expectDocumented(
      'README.md',
      `-H "x-api-key: $KEY" -d '{"type":"probe","payload":{"mode":"succeed"}}'`,
      accepted,
      202,
    );
    expectDocumented(
      'README.md',
      'curl -s http://127.0.0.1:3000/v1/messages/',
      await settledStatus(accepted.body.id),
      200,
    );
  });

  it("answers an unknown type as the HTTP API section's error example", async () => {
    const refused = await stage.post('/v1/messages', { type: 'nope', payload: {} });
    expectDocumented('README.md', '```json\n{"error":{"code":"UnknownType"', refused, 400);
  });
});

describe('docs/API.md', () => {
  const API = 'docs/API.md';

  it('POST with an Idempotency-Key: 202, then 422 for the same key with another body', async () => {
    const email = { type: 'email.send', payload: { to: 'a@example.com', subject: 'hi', body: 'hello' } };
    const key = { 'Idempotency-Key': 'order-1234-confirmation' };
    expectDocumented(
      API,
      "-H 'Idempotency-Key: order-1234-confirmation'",
      await stage.post('/v1/messages', email, key),
      202,
    );
    const reused = await stage.post(
      '/v1/messages',
      { ...email, payload: { ...email.payload, body: 'hello2' } },
      key,
    );
    expectDocumented(API, '# the key above again, with another body:', reused, 422);
  });

  it('POST of an ordered type: the FIFO lane', async () => {
    const accepted = await stage.post('/v1/messages', {
      type: 'activity.recorded',
      orderingKey: 'user-42',
      payload: { userId: 'user-42', action: 'login' },
    });
    expectDocumented(API, `-d '{"type":"activity.recorded"`, accepted, 202);
  });

  it('notBefore past the deferral cap: 400 naming notBefore', async () => {
    const refused = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed' },
      notBefore: '2030-01-01T00:00:00Z',
    });
    expectDocumented(API, '"notBefore":"2030-01-01T00:00:00Z"}', refused, 400);
  });

  it('GET of a probe that failed once, and of a scheduled message', async () => {
    const once = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed', failTimes: 1 },
    });
    expectDocumented(API, 'curl -s "$API/v1/messages/af0ddc53', await settledStatus(once.body.id), 200);

    const notBefore = new Date(Date.now() + 10 * 60_000).toISOString();
    const later = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed' },
      notBefore,
    });
    const scheduled = await waitFor('the scheduled status', async () => {
      const res = await stage.get(`/v1/messages/${later.body.id}`);
      return res.body?.status === 'scheduled' ? res : undefined;
    });
    expectDocumented(API, 'with `notBefore` ten minutes ahead', scheduled, 200);
  });

  it('GET of a result', async () => {
    const done = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed', result: { pages: 3, url: 'https://example.com/r.pdf' } },
    });
    await settledStatus(done.body.id);
    expectDocumented(
      API,
      '/result" -H "x-api-key: $KEY"',
      await stage.get(`/v1/messages/${done.body.id}/result`),
      200,
    );
  });

  it('a batch with an unknown type: 207 with per-entry results', async () => {
    const answer = await stage.post('/v1/messages/batch', {
      messages: [
        { type: 'probe', payload: { mode: 'succeed' } },
        { type: 'probe', orderingKey: 'k1', idempotencyKey: 'k1-1', payload: { mode: 'succeed' } },
        { type: 'nope', payload: {} },
      ],
    });
    expectDocumented(API, 'curl -s -X POST "$API/v1/messages/batch"', answer, 207);
  });

  it('each error example', async () => {
    const { local } = stage;
    const withKey = { 'x-api-key': local.apiKey };
    expectDocumented(
      API,
      '400 {"error":{"code":"UnknownType"',
      await stage.post('/v1/messages', { type: 'nope', payload: {} }),
      400,
    );
    expectDocumented(
      API,
      '400 {"error":{"code":"ValidationError","message":"payload.subject',
      await stage.post('/v1/messages', { type: 'email.send', payload: { to: 'x' } }),
      400,
    );
    expectDocumented(API, '400 {"error":{"code":"InvalidJson"', await stage.post('/v1/messages', '{x'), 400);
    expectDocumented(
      API,
      '403 {"error":{"code":"Forbidden"',
      await stage.request('/v1/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      403,
    );
    expectDocumented(API, '404 {"error":{"code":"NotFound"', await stage.get('/v2/x'), 404);
    expectDocumented(
      API,
      '405 {"error":{"code":"MethodNotAllowed"',
      await stage.request('/v1/messages', { method: 'DELETE', headers: withKey }),
      405,
    );
    expectDocumented(
      API,
      '415 {"error":{"code":"UnsupportedMediaType"',
      await stage.post('/v1/messages', 'x', { 'content-type': 'text/plain' }),
      415,
    );
  });
});
