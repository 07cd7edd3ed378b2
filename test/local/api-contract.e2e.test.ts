import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerInvocations, waitForIdle } from '../helpers/local';
import { depth, startStage, type LocalStage } from '../../tools/local-stage';

// Every client-error row of the API contract, against local mode; nothing may be enqueued.
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

const json = { 'content-type': 'application/json' };
const valid = JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } });

/** Once the pipeline is idle: both queues empty and no consumer ran (the stage only ever sees refusals). */
async function expectNothingEnqueued(): Promise<void> {
  await waitForIdle(stage);
  expect(await depth(stage.sqs, stage.queue('StandardQueue').url)).toBe(0);
  expect(await depth(stage.sqs, stage.queue('FifoQueue').url)).toBe(0);
  expect(consumerInvocations(stage.local, 'consumer')).toHaveLength(0);
  expect(consumerInvocations(stage.local, 'fifo')).toHaveLength(0);
}

describe('API error contract (local mode)', () => {
  it.each([
    ['malformed JSON', '/v1/messages', '{"type": "probe",', 400, 'InvalidJson', '(body)'],
    [
      'schema violation names the field',
      '/v1/messages',
      JSON.stringify({ type: 'email.send', payload: { to: 'not-an-email', subject: 's', body: 'b' } }),
      400,
      'ValidationError',
      'payload.to',
    ],
    ['missing payload', '/v1/messages', JSON.stringify({ type: 'probe' }), 400, 'ValidationError', 'payload'],
    [
      'unregistered type',
      '/v1/messages',
      JSON.stringify({ type: 'nope.nope', payload: {} }),
      400,
      'UnknownType',
      'type',
    ],
    [
      'ordered type without orderingKey',
      '/v1/messages',
      JSON.stringify({ type: 'activity.recorded', payload: { userId: 'u', action: 'a' } }),
      400,
      'ValidationError',
      'orderingKey',
    ],
    [
      'delaySeconds out of range',
      '/v1/messages',
      JSON.stringify({ type: 'probe', payload: { mode: 'succeed' }, delaySeconds: 901 }),
      400,
      'ValidationError',
      'delaySeconds',
    ],
    [
      'batch over 100 entries',
      '/v1/messages/batch',
      JSON.stringify({ messages: Array.from({ length: 101 }, () => JSON.parse(valid)) }),
      400,
      'ValidationError',
      'messages',
    ],
    [
      'body over the limit',
      '/v1/messages',
      JSON.stringify({ type: 'probe', payload: { mode: 'succeed', padding: 'x'.repeat(1024 * 1024) } }),
      413,
      'PayloadTooLarge',
      '(body)',
    ],
  ])('%s: POST %s', async (_name, route, body, status, code, field) => {
    // Act
    const res = await stage.request(route, {
      method: 'POST',
      headers: { ...json, 'x-api-key': stage.local.apiKey },
      body,
    });

    // Assess
    expect(res.status, res.text).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    expect((res.body.error.details as { field: string }[]).map((d) => d.field).join(' ')).toContain(field);
    await expectNothingEnqueued();
  });

  it('415 UnsupportedMediaType for a body that is not application/json', async () => {
    const res = await stage.request('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-api-key': stage.local.apiKey },
      body: valid,
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UnsupportedMediaType');
    await expectNothingEnqueued();
  });

  it('405 MethodNotAllowed with an Allow header for GET on a known route', async () => {
    const res = await stage.request('/v1/messages', {
      method: 'GET',
      headers: { 'x-api-key': stage.local.apiKey },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.body.error.code).toBe('MethodNotAllowed');
    await expectNothingEnqueued();
  });

  it('404 NotFound JSON for an unknown route, as the gateway response maps it', async () => {
    const res = await stage.request('/v2/nothing', {
      method: 'POST',
      headers: { ...json, 'x-api-key': stage.local.apiKey },
      body: valid,
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NotFound');
    await expectNothingEnqueued();
  });

  it.each([
    ['missing', undefined],
    ['wrong', 'not-the-key'],
  ])('403 for a %s API key', async (_name, key) => {
    const res = await stage.request('/v1/messages', {
      method: 'POST',
      headers: { ...json, ...(key ? { 'x-api-key': key } : {}) },
      body: valid,
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('Forbidden');
    await expectNothingEnqueued();
  });

  it('enqueued nothing for any refused request', async () => {
    // Act: one refusal of each kind (body, media type, method, route, API key), at once
    const refused = await Promise.all([
      stage.request('/v1/messages', {
        method: 'POST',
        headers: { ...json, 'x-api-key': stage.local.apiKey },
        body: '{',
      }),
      stage.request('/v1/messages', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-api-key': stage.local.apiKey },
        body: valid,
      }),
      stage.request('/v1/messages', { method: 'GET', headers: { 'x-api-key': stage.local.apiKey } }),
      stage.request('/v2/nothing', {
        method: 'POST',
        headers: { ...json, 'x-api-key': stage.local.apiKey },
        body: valid,
      }),
      stage.request('/v1/messages/batch', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ messages: [JSON.parse(valid)] }),
      }),
    ]);

    // Assess: each was refused, and nothing reached a queue or a consumer
    expect(refused.map((r) => r.status)).toEqual([400, 415, 405, 404, 403]);
    await expectNothingEnqueued();
  });
});
