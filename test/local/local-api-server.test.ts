import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderGatewayResponse } from '../../local/apigateway/gateway-responses';
import { LocalAuth } from '../../local/apigateway/local-auth';
import { proxyAnswer } from '../../local/apigateway/proxy-response';
import { matchRoute } from '../../local/apigateway/routes';
import { API_GATEWAY_MAX_BODY_BYTES, startApiServer, type ApiServer } from '../../local/apigateway/server';
import { Journal } from '../../local/control/journal';
import type { FunctionHost, InvokeOutcome } from '../../local/functions/host';
import { createLocalLogger } from '../../local/log';
import type { ApiResourceSpec, ApiSpec, GatewayResponseSpec } from '../../local/template/topology';

/** The API's error body. */
type ErrorBody = { error: { code: string; message: string; requestId: string } };

const json = (code: string, message: string) => ({
  'application/json': `{"error":{"code":"${code}","message":"${message}","requestId":"$context.requestId"}}`,
});

/** The gateway responses the stack declares (lib/constructs/ingest-api.ts), as the template holds them. */
const RESPONSES = new Map<string, GatewayResponseSpec>([
  [
    'MISSING_AUTHENTICATION_TOKEN',
    {
      type: 'MISSING_AUTHENTICATION_TOKEN',
      statusCode: 404,
      templates: json('NotFound', 'No such route'),
      headers: {},
    },
  ],
  [
    'INVALID_API_KEY',
    {
      type: 'INVALID_API_KEY',
      statusCode: 403,
      templates: json('Forbidden', 'Missing or invalid API key'),
      headers: {},
    },
  ],
  [
    'REQUEST_TOO_LARGE',
    {
      type: 'REQUEST_TOO_LARGE',
      statusCode: 413,
      templates: json('PayloadTooLarge', 'Request body too large'),
      headers: {},
    },
  ],
  [
    'DEFAULT_4XX',
    {
      type: 'DEFAULT_4XX',
      templates: json('$context.error.responseType', '$context.error.messageString'),
      headers: {},
    },
  ],
  [
    'DEFAULT_5XX',
    {
      type: 'DEFAULT_5XX',
      statusCode: 503,
      templates: json('QueueUnavailable', 'Not accepted'),
      headers: { 'Retry-After': '1' },
    },
  ],
]);

const method = (httpMethod: string, apiKeyRequired = true) => ({
  logicalId: `M${httpMethod}`,
  httpMethod,
  apiKeyRequired,
  functionId: 'Producer',
});
const RESOURCES: ApiResourceSpec[] = [
  { id: 'root', logicalId: 'Api', path: '/', methods: [] },
  { id: 'v1', logicalId: 'V1', path: '/v1', methods: [] },
  { id: 'msgs', logicalId: 'Messages', path: '/v1/messages', methods: [method('ANY')] },
  { id: 'batch', logicalId: 'Batch', path: '/v1/messages/batch', methods: [method('POST')] },
  { id: 'one', logicalId: 'One', path: '/v1/messages/{id}', methods: [method('GET', false)] },
  { id: 'files', logicalId: 'Files', path: '/v1/files/{proxy+}', methods: [method('ANY')] },
];

describe('API route table', () => {
  it('matches a literal path and an ANY method', () => {
    expect(matchRoute(RESOURCES, 'DELETE', '/v1/messages')).toMatchObject({
      resource: { path: '/v1/messages' },
      pathParameters: null,
    });
  });

  it('prefers a literal path part over a parameter', () => {
    expect(matchRoute(RESOURCES, 'POST', '/v1/messages/batch')?.resource.path).toBe('/v1/messages/batch');
    expect(matchRoute(RESOURCES, 'GET', '/v1/messages/abc%20d')).toMatchObject({
      resource: { path: '/v1/messages/{id}' },
      pathParameters: { id: 'abc d' },
    });
  });

  it('matches a greedy {proxy+} with the rest of the path', () => {
    expect(matchRoute(RESOURCES, 'GET', '/v1/files/a/b/c.txt')?.pathParameters).toEqual({
      proxy: 'a/b/c.txt',
    });
  });

  it('ignores a trailing slash', () => {
    expect(matchRoute(RESOURCES, 'POST', '/v1/messages/')?.resource.path).toBe('/v1/messages');
  });

  it.each([
    ['an unknown path', 'POST', '/v2/nothing'],
    ['a resource without methods', 'POST', '/v1'],
    ['a method the resource lacks', 'GET', '/v1/messages/batch'],
    ['an empty path segment', 'POST', '/v1//messages'],
  ])('finds no route for %s (Missing Authentication Token)', (_, m, p) => {
    expect(matchRoute(RESOURCES, m, p)).toBeUndefined();
  });
});

describe('gateway responses', () => {
  it('renders the template of the type with $context.requestId substituted', () => {
    const out = renderGatewayResponse(RESPONSES, 'MISSING_AUTHENTICATION_TOKEN', { requestId: 'req-1' });
    expect(out.statusCode).toBe(404);
    expect(JSON.parse(String(out.body))).toEqual({
      error: { code: 'NotFound', message: 'No such route', requestId: 'req-1' },
    });
    expect(out.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
  });

  it('falls back to DEFAULT_5XX, with its status and headers, for a failed Lambda integration', () => {
    const out = renderGatewayResponse(RESPONSES, 'LAMBDA_FAILURE', { requestId: 'req-2' });
    expect(out.statusCode).toBe(503);
    expect(out.headers['Retry-After']).toBe('1');
    expect(JSON.parse(String(out.body)).error.code).toBe('QueueUnavailable');
  });

  it('answers like API Gateway without gateway responses', () => {
    expect(renderGatewayResponse(new Map(), 'LAMBDA_FAILURE', { requestId: 'r' })).toMatchObject({
      statusCode: 502,
      body: '{"message":"Internal server error"}',
    });
    expect(renderGatewayResponse(new Map(), 'INVALID_API_KEY', { requestId: 'r' })).toMatchObject({
      statusCode: 403,
      body: '{"message":"Forbidden"}',
    });
  });

  it('substitutes $context.error.messageString as a quoted string, as API Gateway does', () => {
    const only4xx = new Map([['DEFAULT_4XX', RESPONSES.get('DEFAULT_4XX')!]]);
    const out = renderGatewayResponse(only4xx, 'REQUEST_TOO_LARGE', { requestId: 'r' });
    expect(out.statusCode).toBe(413);
    expect(out.body).toBe(
      '{"error":{"code":"REQUEST_TOO_LARGE","message":""Request Too Long"","requestId":"r"}}',
    );
  });
});

describe('Lambda proxy response', () => {
  it('passes status, headers, multi-value headers and a base64 body through', () => {
    const out = proxyAnswer(
      {
        statusCode: 201,
        headers: { 'X-One': 'a' },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: Buffer.from([0, 1, 2]).toString('base64'),
        isBase64Encoded: true,
      },
      'req',
    );
    expect(out).toMatchObject({ statusCode: 201, headers: { 'x-one': 'a', 'set-cookie': ['a=1', 'b=2'] } });
    expect(out?.body).toEqual(Buffer.from([0, 1, 2]));
  });

  it.each([
    ['a string', 'ok'],
    ['no status code', { body: '' }],
    ['a non-string body', { statusCode: 200, body: { a: 1 } }],
    ['null', null],
  ])('rejects a malformed response (%s)', (_, payload) => {
    expect(proxyAnswer(payload, 'req')).toBeUndefined();
  });
});

describe('API server', () => {
  const API_KEY = 'k'.repeat(40);
  const events: APIGatewayProxyEvent[] = [];
  let answer: (event: APIGatewayProxyEvent) => InvokeOutcome;
  let server: ApiServer;
  const journal = new Journal(10);

  const outcome = (
    extra: { ok: true; payload: unknown } | { ok: false; error: { name: string; message: string } },
  ): InvokeOutcome => ({
    requestId: 'r',
    startedAt: new Date(),
    durationMs: 1,
    ...extra,
  });

  beforeAll(async () => {
    const producer = {
      invoke: async (event: APIGatewayProxyEvent) => {
        events.push(event);
        return answer(event);
      },
    } as unknown as FunctionHost;
    const api: ApiSpec = {
      logicalId: 'Api',
      apiId: 'abc123defg',
      stageName: 'local',
      deploymentId: 'dep123',
      binaryMediaTypes: [],
      resources: RESOURCES,
      gatewayResponses: RESPONSES,
    };
    server = await startApiServer({
      port: 0,
      api,
      auth: LocalAuth.create({
        api: {
          resources: RESOURCES,
          apiKeys: [{ logicalId: 'ApiKey', id: 'key0123456', tenant: 'default' }],
        },
        region: 'us-east-1',
        accountId: '000000000000',
        stackName: 'S',
        firstApiKey: API_KEY,
      }),
      accountId: '000000000000',
      hosts: new Map([['Producer', producer]]),
      journal,
      logger: createLocalLogger('silent'),
      local: { health: () => ({ status: 'ok' }), alarms: () => [], triggerSchedule: () => undefined },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
      body,
    });

  it('invokes the integrated function with a REST proxy event and returns its response verbatim', async () => {
    answer = () =>
      outcome({
        ok: true,
        payload: { statusCode: 202, headers: { 'x-test': 'yes' }, body: '{"messageId":"m"}' },
      });
    const res = await post('/v1/messages?a=1&a=2&b=x', '{"type":"probe"}', { 'X-Multi': 'one' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-test')).toBe('yes');
    expect(await res.json()).toEqual({ messageId: 'm' });
    const event = events.at(-1)!;
    expect(event).toMatchObject({
      resource: '/v1/messages',
      path: '/v1/messages',
      httpMethod: 'POST',
      queryStringParameters: { a: '2', b: 'x' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x'] },
      pathParameters: null,
      stageVariables: null,
      body: '{"type":"probe"}',
      isBase64Encoded: false,
      requestContext: {
        stage: 'local',
        resourcePath: '/v1/messages',
        httpMethod: 'POST',
        path: '/local/v1/messages',
        accountId: '000000000000',
        apiId: 'abc123defg',
        protocol: 'HTTP/1.1',
        identity: { sourceIp: '127.0.0.1', apiKey: API_KEY, apiKeyId: 'key0123456' },
      },
    });
    expect(event.headers['X-Multi'] ?? event.headers['x-multi']).toBe('one');
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(journal.list().at(-1)).toMatchObject({
      function: 'Producer',
      messageIds: [],
      batchItemFailures: [],
      error: null,
    });
  });

  it('answers 403 from the gateway response for a missing or wrong API key, without invoking', async () => {
    const before = events.length;
    for (const headers of [{ 'x-api-key': 'wrong' }, {}] as Record<string, string>[]) {
      const res = await fetch(`${server.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code).toBe('Forbidden');
    }
    expect(events.length).toBe(before);
  });

  it('answers the mapped 404 for an unknown route', async () => {
    const res = await post('/nope', '{}');
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'NotFound',
      requestId: expect.any(String),
    });
  });

  it('answers REQUEST_TOO_LARGE above API Gateway’s 10 MB limit', async () => {
    const res = await post('/v1/messages', 'x'.repeat(API_GATEWAY_MAX_BODY_BYTES + 1));
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('PayloadTooLarge');
  });

  it('answers DEFAULT_5XX when the function fails or returns a malformed response', async () => {
    answer = () => outcome({ ok: false, error: { name: 'Runtime.ExitError', message: 'exit' } });
    const failed = await post('/v1/messages', '{}');
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    answer = () => outcome({ ok: true, payload: 'not a proxy response' });
    expect((await post('/v1/messages', '{}')).status).toBe(503);
    expect(journal.list().some((r) => r.error?.name === 'Runtime.ExitError')).toBe(true);
  });

  it('serves the journal and health without an API key', async () => {
    expect(Array.isArray(await (await fetch(`${server.url}/_local/invocations`)).json())).toBe(true);
    expect(await (await fetch(`${server.url}/_local/health`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${server.url}/_local/schedules/Nope`, { method: 'POST' })).status).toBe(404);
  });
});
