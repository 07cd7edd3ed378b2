/**
 * Factories for API Gateway REST proxy events (`APIGatewayProxyEvent`) as the producer receives
 * them for `POST /v1/messages` and `POST /v1/messages/batch`.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ACCOUNT } from './sqs-events';

export const API_KEY = 'test-api-key-0123456789abcdefghij';

/** Options of {@link apiEvent}. */
export interface ApiEventOptions {
  /** @default 'POST' */
  readonly method?: string;
  /** @default '/v1/messages' */
  readonly path?: string;
  /** The API Gateway resource that matched. @default the path */
  readonly resource?: string;
  /** A value serialized with `JSON.stringify` as the body. Ignored when `rawBody` is given. */
  readonly body?: unknown;
  /** The body exactly as sent (`null` for none). */
  readonly rawBody?: string | null;
  /**
   * Headers merged over the defaults (`content-type: application/json`, `x-api-key`, host,
   * user agent, forwarding headers); a header set to `undefined` is removed.
   */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** @default false */
  readonly isBase64Encoded?: boolean;
  /** `requestContext.requestId`, which the producer uses as correlation id. @default a random UUID */
  readonly requestId?: string;
  /** @default 'dev' */
  readonly stage?: string;
}

/** An API Gateway REST proxy event. */
export function apiEvent(opts: ApiEventOptions = {}): APIGatewayProxyEvent {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/v1/messages';
  const resource = opts.resource ?? path;
  const stage = opts.stage ?? 'dev';
  const requestId = opts.requestId ?? randomUUID();
  const body =
    opts.rawBody !== undefined ? opts.rawBody : opts.body === undefined ? null : JSON.stringify(opts.body);
  const merged: Record<string, string | undefined> = {
    accept: 'application/json',
    'content-type': 'application/json',
    Host: `abcdef1234.execute-api.eu-west-1.amazonaws.com`,
    'User-Agent': 'vitest/4 event-pipeline-tests',
    'X-Amzn-Trace-Id': `Root=1-6740563a-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    'X-Forwarded-For': '203.0.113.10',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    'x-api-key': API_KEY,
    ...opts.headers,
  };
  const headers = Object.fromEntries(
    Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const now = Date.now();
  return {
    resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourceId: 'a1b2c3',
      resourcePath: resource,
      httpMethod: method,
      extendedRequestId: 'BxYz1FmKjoEFa1A=',
      requestTime: new Date(now).toUTCString(),
      path: `/${stage}${path}`,
      accountId: ACCOUNT,
      protocol: 'HTTP/1.1',
      stage,
      domainPrefix: 'abcdef1234',
      requestTimeEpoch: now,
      requestId,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: API_KEY,
        apiKeyId: 'k1l2m3n4o5',
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.10',
        user: null,
        userAgent: 'vitest/4 event-pipeline-tests',
        userArn: null,
      },
      domainName: 'abcdef1234.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abcdef1234',
      authorizer: undefined,
    },
    body,
    isBase64Encoded: opts.isBase64Encoded ?? false,
  };
}

/** `POST /v1/messages` with `body` as JSON. */
export function postMessage(
  body: unknown,
  opts: Omit<ApiEventOptions, 'body' | 'path'> = {},
): APIGatewayProxyEvent {
  return apiEvent({ ...opts, body, path: '/v1/messages' });
}

/** `POST /v1/messages/batch` with `body` as JSON. */
export function postBatch(
  body: unknown,
  opts: Omit<ApiEventOptions, 'body' | 'path'> = {},
): APIGatewayProxyEvent {
  return apiEvent({ ...opts, body, path: '/v1/messages/batch' });
}
