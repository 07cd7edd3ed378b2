import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ApiSpec } from '../template/topology';
import type { CallerIdentity } from './local-auth';
import type { RouteMatch } from './routes';

/** Whether a `content-type` is one of the API's binary media types (wildcards such as `image/*` allowed). */
export function isBinaryMediaType(
  contentType: string | undefined,
  binaryMediaTypes: readonly string[],
): boolean {
  if (!contentType || binaryMediaTypes.length === 0) return false;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return binaryMediaTypes.some((t) => {
    const pattern = t.toLowerCase().replace('~1', '/');
    if (pattern === '*/*') return true;
    if (pattern.endsWith('/*')) return media.startsWith(pattern.slice(0, -1));
    return media === pattern;
  });
}

/** The request as the API server received it. */
export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** Raw header name/value pairs, in order (Node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer | null;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly now: Date;
}

function requestTime(d: Date): string {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Builds the API Gateway REST proxy event (payload format 1.0) for a matched request: single and
 * multi-value headers and query parameters (`null` when there are none), path parameters,
 * `stageVariables: null`, the request context, and the body as text, or base64 with
 * `isBase64Encoded` when its content type is one of the API's binary media types (as API Gateway
 * does; without binary media types every body is passed as text). `identity` is the authenticated
 * caller: the API key and its id (`apiKeyId`, the id the producer maps to a tenant), or the IAM
 * user (`accountId`, `caller`, `user`, `userArn`, `accessKey`); `accountId` is the API's account.
 */
export function buildProxyEvent(
  api: Pick<ApiSpec, 'apiId' | 'stageName' | 'deploymentId' | 'binaryMediaTypes'>,
  match: RouteMatch,
  req: ProxyRequest,
  identity: CallerIdentity & { readonly host: string },
  accountId: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    const existing =
      Object.keys(multiValueHeaders).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    headers[existing] = value;
    (multiValueHeaders[existing] ??= []).push(value);
  }
  const add = (name: string, value: string) => {
    if (Object.keys(headers).some((k) => k.toLowerCase() === name.toLowerCase())) return;
    headers[name] = value;
    multiValueHeaders[name] = [value];
  };
  const traceId = `Root=1-${Math.floor(req.now.getTime() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  add('X-Amzn-Trace-Id', traceId);
  add('X-Forwarded-For', req.sourceIp);
  add('X-Forwarded-Port', identity.host.split(':')[1] ?? '80');
  add('X-Forwarded-Proto', 'http');

  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(req.query)) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const binary = isBinaryMediaType(contentType, api.binaryMediaTypes);
  const userAgent = Object.entries(headers).find(([k]) => k.toLowerCase() === 'user-agent')?.[1] ?? null;
  return {
    resource: match.resource.path,
    path: req.path,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: match.pathParameters,
    stageVariables: null,
    requestContext: {
      resourceId: match.resource.id,
      resourcePath: match.resource.path,
      httpMethod: req.method,
      extendedRequestId: req.requestId,
      requestTime: requestTime(req.now),
      path: `/${api.stageName}${req.path}`,
      accountId,
      protocol: 'HTTP/1.1',
      stage: api.stageName,
      domainPrefix: identity.host.split('.')[0]!.split(':')[0]!,
      requestTimeEpoch: req.now.getTime(),
      requestId: req.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: identity.accountId,
        cognitoIdentityId: null,
        caller: identity.caller,
        sourceIp: req.sourceIp,
        principalOrgId: null,
        accessKey: identity.accessKey,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: identity.userArn,
        userAgent,
        user: identity.user,
        apiKey: identity.apiKey,
        apiKeyId: identity.apiKeyId,
        clientCert: null,
      },
      domainName: identity.host.split(':')[0]!,
      deploymentId: api.deploymentId,
      apiId: api.apiId,
      authorizer: null,
    } as unknown as APIGatewayProxyEvent['requestContext'],
    body:
      req.body === null || req.body.length === 0
        ? null
        : binary
          ? req.body.toString('base64')
          : req.body.toString('utf8'),
    isBase64Encoded: binary && req.body !== null && req.body.length > 0,
  };
}
