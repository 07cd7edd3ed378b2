import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAuth } from '../../local/apigateway/local-auth';
import { startApiServer, type ApiServer } from '../../local/apigateway/server';
import {
  canonicalQuery,
  canonicalUri,
  verifySigV4,
  type ReceivedRequest,
  type SigV4Expectation,
} from '../../local/apigateway/sigv4';
import { Journal } from '../../local/control/journal';
import type { FunctionHost } from '../../local/functions/host';
import { createLocalLogger } from '../../local/log';
import type { ApiResourceSpec, GatewayResponseSpec, MethodSpec } from '../../local/template/topology';
import { curlSigned, sdkSignedInit, type AccessKey } from '../helpers/sigv4';

const REGION = 'eu-west-1';
const KEY: AccessKey = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) };
const AT = new Date('2026-03-01T10:00:00Z');

/** The request as the server would receive what the SDK signed for `url`. */
async function received(
  url: string,
  options: Partial<Parameters<typeof sdkSignedInit>[1]> = {},
): Promise<ReceivedRequest> {
  const init = await sdkSignedInit(url, {
    credentials: KEY,
    region: REGION,
    signingDate: AT,
    headers: { 'content-type': 'application/json' },
    body: '{"type":"probe"}',
    ...options,
  });
  const u = new URL(url);
  // What the SDK's HTTP handler puts on the wire: the query encoded as the signer encodes it.
  const search = [...u.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return {
    method: init.method!,
    target: `${u.pathname}${search ? `?${search}` : ''}`,
    rawHeaders: ['Host', u.host, ...Object.entries(init.headers as Record<string, string>).flat()],
    body: Buffer.from((init.body as string | undefined) ?? ''),
  };
}

const expectation = (now = AT, extra: Partial<SigV4Expectation> = {}): SigV4Expectation => ({
  region: REGION,
  now,
  secretOf: (id) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined),
  ...extra,
});

const header = (r: ReceivedRequest, name: string, value: string | null): ReceivedRequest => {
  const raw: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i]!.toLowerCase() === name) continue;
    raw.push(r.rawHeaders[i]!, r.rawHeaders[i + 1]!);
  }
  return { ...r, rawHeaders: value === null ? raw : [...raw, name, value] };
};
const valueOf = (r: ReceivedRequest, name: string) =>
  r.rawHeaders[r.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1]!;

describe('SigV4 verifier', () => {
  it("accepts the SigV4 test suite's vanilla requests (known answers, independent of any signer)", () => {
    // aws-sig-v4-test-suite: get-vanilla and get-vanilla-query-order-key-case.
    const suite: SigV4Expectation = {
      region: 'us-east-1',
      service: 'service',
      now: new Date('2015-08-30T12:36:00Z'),
      secretOf: (id) => (id === 'AKIDEXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : undefined),
    };
    const request = (target: string, signature: string): ReceivedRequest => ({
      method: 'GET',
      target,
      rawHeaders: [
        'Host',
        'example.amazonaws.com',
        'X-Amz-Date',
        '20150830T123600Z',
        'Authorization',
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
      ],
      body: Buffer.alloc(0),
    });

    expect(
      verifySigV4(request('/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'), suite),
    ).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(
      verifySigV4(
        request(
          '/?Param2=value2&Param1=value1',
          'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
        ),
        suite,
      ),
    ).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it('canonicalizes the path twice-encoded and the query sorted and strictly encoded', () => {
    expect(canonicalUri('/v1/messages/a%3Ab')).toBe('/v1/messages/a%253Ab');
    expect(canonicalUri('/v1/./x/../messages//')).toBe('/v1/messages/');
    expect(canonicalQuery('z=1&a=b%20c&a=a&flag&x=(1)')).toBe('a=a&a=b%20c&flag=&x=%281%29&z=1');
  });

  it("accepts the AWS SDK's signature (with x-amz-content-sha256) and names the access key", async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages?b=2&a=x%20y&a=%C3%A9');

    expect(valueOf(r, 'x-amz-content-sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySigV4(r, expectation())).toEqual({ ok: true, accessKeyId: KEY.accessKeyId });
  });

  it('refuses a signature made with another secret, giving its own canonical request', async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages', {
      credentials: { ...KEY, secretAccessKey: 'y'.repeat(40) },
    });

    expect(verifySigV4(r, expectation())).toMatchObject({
      ok: false,
      failure: 'mismatch',
      message: expect.stringMatching(/^The request signature we calculated does not match/),
      canonicalRequest: expect.stringContaining('POST\n/v1/messages\n\ncontent-type:application/json\n'),
    });
  });

  it('refuses a tampered body, with or without x-amz-content-sha256', async () => {
    const withHash = await received('http://127.0.0.1:3000/v1/messages');
    const withoutHash = await received('http://127.0.0.1:3000/v1/messages', { applyChecksum: false });
    const tamper = (r: ReceivedRequest) => ({ ...r, body: Buffer.from('{"type":"probf"}') });

    expect(verifySigV4(withoutHash, expectation()).ok).toBe(true);
    expect(verifySigV4(tamper(withHash), expectation())).toMatchObject({ ok: false, failure: 'payload' });
    expect(verifySigV4(tamper(withoutHash), expectation())).toMatchObject({ ok: false, failure: 'mismatch' });
  });

  it('refuses a changed path, query or signed header, and ignores unsigned headers', async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages?a=1');

    expect(verifySigV4({ ...r, target: '/v1/messagez?a=1' }, expectation()).ok).toBe(false);
    expect(verifySigV4({ ...r, target: '/v1/messages?a=2' }, expectation()).ok).toBe(false);
    expect(verifySigV4({ ...r, method: 'PUT' }, expectation()).ok).toBe(false);
    expect(verifySigV4(header(r, 'content-type', 'text/plain'), expectation()).ok).toBe(false);
    expect(verifySigV4(header(r, 'host', '127.0.0.1:3001'), expectation()).ok).toBe(false);
    expect(verifySigV4(header(r, 'user-agent', 'other'), expectation()).ok).toBe(true);
  });

  it('refuses a request date more than 5 minutes from the clock, either way, as AWS does', async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages');
    const minutes = (n: number) => new Date(AT.getTime() + n * 60_000);

    expect(verifySigV4(r, expectation(minutes(5))).ok).toBe(true);
    expect(verifySigV4(r, expectation(minutes(-5))).ok).toBe(true);
    expect(verifySigV4(r, expectation(minutes(5.1)))).toEqual({
      ok: false,
      failure: 'expired',
      message:
        'Signature expired: 20260301T100000Z is now earlier than 20260301T100006Z (20260301T100506Z - 5 min.)',
    });
    expect(verifySigV4(r, expectation(minutes(-5.1)))).toMatchObject({
      failure: 'expired',
      message: expect.stringMatching(/^Signature not yet current: 20260301T100000Z is still later than/),
    });
  });

  it('refuses an unknown access key, a session token, and a scope for another region or service', async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages');
    const forRegion = await received('http://127.0.0.1:3000/v1/messages', { region: 'us-east-1' });
    const forService = await received('http://127.0.0.1:3000/v1/messages', { service: 'sqs' });

    expect(verifySigV4(r, expectation(AT, { secretOf: () => undefined }))).toMatchObject({
      failure: 'unknown-key',
      message: 'The security token included in the request is invalid.',
    });
    expect(verifySigV4(header(r, 'x-amz-security-token', 'token'), expectation())).toMatchObject({
      failure: 'unknown-key',
    });
    expect(verifySigV4(forRegion, expectation())).toMatchObject({
      failure: 'scope',
      message: expect.stringContaining("not 'us-east-1'"),
    });
    expect(verifySigV4(forService, expectation())).toMatchObject({
      failure: 'scope',
      message: "Credential should be scoped to correct service: 'execute-api'.",
    });
  });

  it('tells a missing signature from an incomplete one', async () => {
    const r = await received('http://127.0.0.1:3000/v1/messages');
    const auth = valueOf(r, 'authorization');

    expect(verifySigV4(header(r, 'authorization', null), expectation())).toMatchObject({
      failure: 'missing',
    });
    expect(verifySigV4(header(r, 'authorization', 'Bearer abc'), expectation())).toMatchObject({
      failure: 'incomplete',
    });
    expect(
      verifySigV4(header(r, 'authorization', auth.replace(/, Signature=.*/, '')), expectation()),
    ).toMatchObject({
      failure: 'incomplete',
      message: "Authorization header requires 'Signature' parameter.",
    });
    expect(verifySigV4(header(r, 'authorization', auth.replace('host;', '')), expectation())).toMatchObject({
      failure: 'incomplete',
      message: expect.stringMatching(/^'Host' must be a 'SignedHeader'/),
    });
    expect(verifySigV4(header(r, 'x-amz-date', null), expectation())).toMatchObject({
      failure: 'incomplete',
    });
  });
});

describe('local API with IAM methods', () => {
  const events: APIGatewayProxyEvent[] = [];
  let server: ApiServer;
  let auth: LocalAuth;
  const tenant = (name: string): AccessKey => {
    const t = auth.info().tenants[name]!;
    return { accessKeyId: t.accessKeyId!, secretAccessKey: t.secretAccessKey! };
  };
  const iam = (httpMethod: string): MethodSpec => ({
    logicalId: `M${httpMethod}`,
    httpMethod,
    apiKeyRequired: false,
    authorizationType: 'AWS_IAM',
    functionId: 'Producer',
  });
  const resources: ApiResourceSpec[] = [
    { id: 'root', logicalId: 'Api', path: '/', methods: [] },
    { id: 'msgs', logicalId: 'Messages', path: '/v1/messages', methods: [iam('ANY')] },
    { id: 'one', logicalId: 'One', path: '/v1/messages/{id}', methods: [iam('GET')] },
  ];
  // Only DEFAULT_4XX, as the stack declares it: every refusal names its response type.
  const responses = new Map<string, GatewayResponseSpec>([
    [
      'DEFAULT_4XX',
      {
        type: 'DEFAULT_4XX',
        templates: {
          'application/json':
            '{"error":{"code":"$context.error.responseType","message":$context.error.messageString,"requestId":"$context.requestId"}}',
        },
        headers: {},
      },
    ],
  ]);

  beforeAll(async () => {
    auth = LocalAuth.create({
      api: { resources },
      region: REGION,
      accountId: '000000000000',
      stackName: 'EventPipeline-local',
    });
    const producer = {
      invoke: async (event: APIGatewayProxyEvent) => {
        events.push(event);
        return {
          ok: true,
          requestId: 'r',
          startedAt: new Date(),
          durationMs: 1,
          payload: { statusCode: 202, body: '{"accepted":true}' },
        };
      },
    } as unknown as FunctionHost;
    server = await startApiServer({
      port: 0,
      api: {
        logicalId: 'Api',
        apiId: 'abc123defg',
        stageName: 'local',
        deploymentId: 'dep123',
        binaryMediaTypes: [],
        resources,
        gatewayResponses: responses,
      },
      auth,
      accountId: '000000000000',
      hosts: new Map([['Producer', producer]]),
      journal: new Journal(10),
      logger: createLocalLogger('silent'),
      local: { health: () => ({ status: 'ok' }), alarms: () => [], triggerSchedule: () => undefined },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const body = '{"type":"probe","payload":{"mode":"succeed"}}';
  const curlPost = (key: AccessKey, region = REGION) =>
    curlSigned(key, region, [
      '-X',
      'POST',
      `${server.url}/v1/messages`,
      '-H',
      'content-type: application/json',
      '-d',
      body,
    ]);

  it('generates an AKIA access key id and a 40-character secret per local tenant', () => {
    expect(Object.keys(auth.info().tenants)).toEqual(['tenant-a', 'tenant-b']);
    for (const name of ['tenant-a', 'tenant-b']) {
      expect(tenant(name).accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
      expect(tenant(name).secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    }
    expect(tenant('tenant-a').accessKeyId).not.toBe(tenant('tenant-b').accessKeyId);
  });

  it('accepts curl --aws-sigv4 and hands the IAM user to the function in requestContext.identity', async () => {
    const before = events.length;
    const res = await curlPost(tenant('tenant-a'));

    expect(res).toEqual({ status: 202, body: '{"accepted":true}' });
    expect(events.length).toBe(before + 1);
    const event = events.at(-1)!;
    expect(event.body).toBe(body);
    expect(event.requestContext.identity).toMatchObject({
      accountId: '000000000000',
      accessKey: tenant('tenant-a').accessKeyId,
      userArn: 'arn:aws:iam::000000000000:user/tenant-a',
      caller: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
      apiKey: null,
      apiKeyId: null,
    });
    expect(event.requestContext.identity.user).toBe(event.requestContext.identity.caller);
  });

  it('accepts curl --aws-sigv4 on a GET without a body', async () => {
    const res = await curlSigned(tenant('tenant-b'), REGION, [`${server.url}/v1/messages/3f2a-77`]);

    expect(res.status).toBe(202);
    expect(events.at(-1)).toMatchObject({
      httpMethod: 'GET',
      pathParameters: { id: '3f2a-77' },
      requestContext: { identity: { userArn: 'arn:aws:iam::000000000000:user/tenant-b' } },
    });
  });

  it("accepts the AWS SDK's signer, query string included", async () => {
    const url = `${server.url}/v1/messages?dryRun=true&tag=a%20b`;
    const res = await fetch(
      url,
      await sdkSignedInit(url, {
        credentials: tenant('tenant-b'),
        region: REGION,
        headers: { 'content-type': 'application/json' },
        body,
      }),
    );

    expect(res.status).toBe(202);
    expect(events.at(-1)!.requestContext.identity.userArn).toBe('arn:aws:iam::000000000000:user/tenant-b');
    expect(events.at(-1)!.queryStringParameters).toEqual({ dryRun: 'true', tag: 'a b' });
  });

  it('answers 403 INVALID_SIGNATURE for a wrong secret, without invoking', async () => {
    const before = events.length;
    const res = await curlPost({
      ...tenant('tenant-a'),
      secretAccessKey: tenant('tenant-b').secretAccessKey,
    });

    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toMatchObject({
      code: 'INVALID_SIGNATURE',
      message: expect.stringMatching(/^The request signature we calculated does not match/),
    });
    expect(events.length).toBe(before);
  });

  it('answers 403 for a tampered body and for a request signed 6 minutes ago', async () => {
    const before = events.length;
    const url = `${server.url}/v1/messages`;
    const signed = await sdkSignedInit(url, {
      credentials: tenant('tenant-a'),
      region: REGION,
      headers: { 'content-type': 'application/json' },
      body,
      applyChecksum: false,
    });
    const tampered = await fetch(url, { ...signed, body: body.replace('succeed', 'crash') });
    const stale = await fetch(
      url,
      await sdkSignedInit(url, {
        credentials: tenant('tenant-a'),
        region: REGION,
        body,
        signingDate: new Date(Date.now() - 6 * 60_000),
      }),
    );

    expect(tampered.status).toBe(403);
    expect(stale.status).toBe(403);
    expect(stale.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(((await stale.json()) as { error: { message: string } }).error.message).toMatch(
      /^Signature expired: /,
    );
    expect(events.length).toBe(before);
  });

  it('answers 403 for an unsigned request (Missing Authentication Token), an unknown key or another region', async () => {
    const before = events.length;
    const unsigned = await fetch(`${server.url}/v1/messages`, { method: 'POST', body });
    const unknown = await curlPost({ accessKeyId: 'AKIAEXAMPLEAAAAAAAAA', secretAccessKey: 'z'.repeat(40) });
    const otherRegion = await curlPost(tenant('tenant-a'), 'us-east-1');

    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({
      error: { code: 'MISSING_AUTHENTICATION_TOKEN', message: 'Missing Authentication Token' },
    });
    expect(unknown.status).toBe(403);
    expect(JSON.parse(unknown.body).error.message).toBe(
      'The security token included in the request is invalid.',
    );
    expect(otherRegion.status).toBe(403);
    expect(events.length).toBe(before);
  });
});
