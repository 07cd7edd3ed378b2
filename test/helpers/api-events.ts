/**
 * Factories for API Gateway REST proxy events (`APIGatewayProxyEvent`) as the producer receives
 * them for `POST /v1/messages` and `POST /v1/messages/batch`, and the request contexts of each
 * authentication mode (API key, SigV4, a Lambda authorizer's JWT).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayEventIdentity, APIGatewayProxyEvent } from 'aws-lambda';
import { ACCOUNT } from './sqs-events';

export const API_KEY = 'test-api-key-0123456789abcdefghij';

/**
 * The test stage's tenants in `apiKey` mode: each one's API key (value and id) and name. Every
 * event is tenant A's unless it says otherwise.
 */
export const TENANTS = {
  a: { apiKey: API_KEY, apiKeyId: 'k1l2m3n4o5', name: 'team-billing' },
  b: { apiKey: 'test-api-key-other-tenant-9876543210', apiKeyId: 'p6q7r8s9t0', name: 'team-search' },
} as const;

/** The producer's `API_KEY_TENANTS` for {@link TENANTS}: tenant names by API key id. */
export const API_KEY_TENANTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(TENANTS).map((t) => [t.apiKeyId, t.name]),
);

/** A caller's account in the SigV4 contexts (not the stage's account). */
export const CALLER_ACCOUNT = '210987654321';

/**
 * A SigV4 (`AWS_IAM`) request context's identity, as API Gateway fills it for a principal:
 * `assumed-role` (a role's session), `user`, or `root`.
 */
export function iamIdentity(
  principal:
    | { readonly assumedRole: string; readonly session: string }
    | { readonly user: string; readonly path?: string }
    | { readonly root: true },
  account: string = CALLER_ACCOUNT,
): Partial<APIGatewayEventIdentity> {
  const base = { apiKey: null, apiKeyId: null, accountId: account };
  if ('assumedRole' in principal) {
    const caller = `AROA3EXAMPLEROLEID7Q:${principal.session}`;
    return {
      ...base,
      accessKey: 'ASIA3EXAMPLEKEYID7QW',
      caller,
      user: caller,
      userArn: `arn:aws:sts::${account}:assumed-role/${principal.assumedRole}/${principal.session}`,
    };
  }
  if ('user' in principal)
    return {
      ...base,
      accessKey: 'AKIA3EXAMPLEKEYID7QW',
      caller: 'AIDA3EXAMPLEUSERID7Q',
      user: 'AIDA3EXAMPLEUSERID7Q',
      userArn: `arn:aws:iam::${account}:user${principal.path ?? '/'}${principal.user}`,
    };
  return {
    ...base,
    accessKey: 'AKIA3EXAMPLEROOTKEY7',
    caller: account,
    user: account,
    userArn: `arn:aws:iam::${account}:root`,
  };
}

/**
 * A Lambda (REQUEST) authorizer's context for a JWT whose issuer and tenant claim the authorizer
 * checked: it returns the tenant as `<issuer>#<claim>`.
 */
export function jwtAuthorizer(issuer: string, claim: string): Record<string, unknown> {
  return { principalId: `${claim}-service`, tenant: `${issuer}#${claim}`, integrationLatency: 14 };
}

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
  /** The calling tenant's API key (header and identity; {@link TENANTS}). @default 'a' */
  readonly tenant?: keyof typeof TENANTS;
  /**
   * `requestContext.identity` fields over the tenant's API key identity; see
   * {@link iamIdentity} (SigV4 callers).
   */
  readonly identity?: Partial<APIGatewayEventIdentity>;
  /** `requestContext.authorizer` (see {@link jwtAuthorizer}). @default none */
  readonly authorizer?: Record<string, unknown>;
  /** The `{id}` path parameter of `GET /v1/messages/{id}`. @default none */
  readonly pathParameters?: Record<string, string>;
}

/** An API Gateway REST proxy event. */
export function apiEvent(opts: ApiEventOptions = {}): APIGatewayProxyEvent {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/v1/messages';
  const resource = opts.resource ?? path;
  const stage = opts.stage ?? 'dev';
  const requestId = opts.requestId ?? randomUUID();
  const tenant = TENANTS[opts.tenant ?? 'a'];
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
    'x-api-key': tenant.apiKey,
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
    pathParameters: opts.pathParameters ?? null,
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
        apiKey: tenant.apiKey,
        apiKeyId: tenant.apiKeyId,
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
        ...opts.identity,
      },
      domainName: 'abcdef1234.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abcdef1234',
      authorizer: opts.authorizer,
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

/** `GET /v1/messages/{id}`. */
export function getStatus(
  id: string,
  opts: Omit<ApiEventOptions, 'body' | 'path' | 'resource' | 'pathParameters'> = {},
): APIGatewayProxyEvent {
  return apiEvent({
    method: 'GET',
    rawBody: null,
    ...opts,
    path: `/v1/messages/${id}`,
    resource: '/v1/messages/{id}',
    pathParameters: { id },
  });
}

/** `POST /v1/messages/batch` with `body` as JSON. */
export function postBatch(
  body: unknown,
  opts: Omit<ApiEventOptions, 'body' | 'path'> = {},
): APIGatewayProxyEvent {
  return apiEvent({ ...opts, body, path: '/v1/messages/batch' });
}
