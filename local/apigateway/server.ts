import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LocalModeError } from './errors';
import type { Journal } from './journal';
import type { LocalLogger } from './log';
import type { ApiResourceSpec, ApiSpec, GatewayResponseSpec, MethodSpec } from './topology';
import type { FunctionHost } from './worker-host';

/** API Gateway's hard limit on a request payload (REST APIs): 10 MB. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** API Gateway's maximum integration timeout (REST APIs, default quota): 29 s. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 29_000;

/** A response about to be written. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer | string;
}

/** API Gateway's own answers (gateway responses) that local mode can produce. */
export type GatewayResponseType =
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'INVALID_API_KEY'
  | 'REQUEST_TOO_LARGE'
  | 'INTEGRATION_TIMEOUT'
  | 'LAMBDA_FAILURE';

/** Default status, message and error type of each gateway response (API Gateway developer guide). */
const GATEWAY_DEFAULTS: Record<
  GatewayResponseType,
  { status: number; message: string; errorType: string; family: string }
> = {
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    message: 'Missing Authentication Token',
    errorType: 'MissingAuthenticationTokenException',
    family: 'DEFAULT_4XX',
  },
  INVALID_API_KEY: {
    status: 403,
    message: 'Forbidden',
    errorType: 'ForbiddenException',
    family: 'DEFAULT_4XX',
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    message: 'Request Too Long',
    errorType: 'RequestTooLongException',
    family: 'DEFAULT_4XX',
  },
  INTEGRATION_TIMEOUT: {
    status: 504,
    message: 'Endpoint request timed out',
    errorType: 'InternalServerErrorException',
    family: 'DEFAULT_5XX',
  },
  // A failed or malformed Lambda proxy response has no response type of its own: API Gateway
  // answers 502 "Internal server error", customizable through DEFAULT_5XX.
  LAMBDA_FAILURE: {
    status: 502,
    message: 'Internal server error',
    errorType: 'InternalServerErrorException',
    family: 'DEFAULT_5XX',
  },
};

/** Values of `$context` variables a gateway response template may use. */
export interface GatewayContext {
  readonly requestId: string;
  readonly extendedRequestId?: string;
  readonly stage?: string;
  readonly apiId?: string;
  readonly httpMethod?: string;
  readonly resourcePath?: string;
  readonly path?: string;
}

/**
 * Renders one of API Gateway's own answers from the template's `AWS::ApiGateway::GatewayResponse`
 * resources, as API Gateway does: the type's own response if defined, else `DEFAULT_4XX` /
 * `DEFAULT_5XX`, else the built-in `{"message":…}`; `StatusCode` overrides the type's default;
 * `$context.*` variables in the `application/json` template are substituted (templates are not
 * VTL-evaluated); static `gatewayresponse.header.*` parameters become headers.
 */
export function renderGatewayResponse(
  responses: ReadonlyMap<string, GatewayResponseSpec>,
  type: GatewayResponseType,
  context: GatewayContext,
): HttpAnswer {
  const d = GATEWAY_DEFAULTS[type];
  const spec = (type === 'LAMBDA_FAILURE' ? undefined : responses.get(type)) ?? responses.get(d.family);
  const responseType = type === 'LAMBDA_FAILURE' ? 'DEFAULT_5XX' : type;
  const vars: Record<string, string> = {
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId ?? context.requestId,
    stage: context.stage ?? '',
    apiId: context.apiId ?? '',
    httpMethod: context.httpMethod ?? '',
    resourcePath: context.resourcePath ?? '',
    path: context.path ?? '',
    'error.message': d.message,
    'error.messageString': JSON.stringify(d.message),
    'error.responseType': responseType,
    'error.validationErrorString': '',
  };
  const template =
    spec?.templates['application/json'] ??
    Object.values(spec?.templates ?? {})[0] ??
    '{"message":$context.error.messageString}';
  const body = template.replace(
    /\$!?(?:\{context\.([A-Za-z]+(?:\.[A-Za-z]+)*)\}|context\.([A-Za-z]+(?:\.[A-Za-z]+)*))/g,
    (_, braced: string | undefined, bare: string | undefined) => vars[(braced ?? bare)!] ?? '',
  );
  return {
    statusCode: spec?.statusCode ?? d.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': context.requestId,
      'x-amzn-errortype': d.errorType,
      ...spec?.headers,
    },
    body,
  };
}

/** A matched route. */
export interface RouteMatch {
  readonly resource: ApiResourceSpec;
  readonly method: MethodSpec;
  readonly pathParameters: Record<string, string> | null;
}

/**
 * Finds the resource and method for `method` + `path` the way API Gateway does: literal path parts
 * win over `{param}`, which wins over a greedy `{proxy+}`; a method of the resource wins over its
 * `ANY`. `undefined` means API Gateway's "Missing Authentication Token" case.
 */
export function matchRoute(
  resources: readonly ApiResourceSpec[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const segments = path.replace(/\/+$/, '').split('/').slice(1);
  if (segments.some((s) => s === '')) return undefined;
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  let best: { resource: ApiResourceSpec; params: Record<string, string>; score: number[] } | undefined;
  for (const resource of resources) {
    const parts = resource.path === '/' ? [] : resource.path.split('/').slice(1);
    const params: Record<string, string> = {};
    const score: number[] = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const part = parts[i]!;
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy) {
        if (i !== parts.length - 1 || i >= decoded.length) ok = false;
        else {
          params[greedy[1]!] = decoded.slice(i).join('/');
          score.push(0);
        }
        break;
      }
      if (i >= decoded.length) ok = false;
      else if (/^\{.+\}$/.test(part)) {
        params[part.slice(1, -1)] = decoded[i]!;
        score.push(1);
      } else if (part === decoded[i]) score.push(2);
      else ok = false;
    }
    const greedyEnd = parts.length > 0 && /^\{.+\+\}$/.test(parts[parts.length - 1]!);
    if (!ok || (!greedyEnd && parts.length !== decoded.length)) continue;
    if (!best || compareScores(score, best.score) > 0) best = { resource, params, score };
  }
  if (!best) return undefined;
  const m = method.toUpperCase();
  const found =
    best.resource.methods.find((x) => x.httpMethod === m) ??
    best.resource.methods.find((x) => x.httpMethod === 'ANY');
  if (!found) return undefined;
  return {
    resource: best.resource,
    method: found,
    pathParameters: Object.keys(best.params).length ? best.params : null,
  };
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

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
 * does; without binary media types every body is passed as text).
 */
export function buildProxyEvent(
  api: Pick<ApiSpec, 'apiId' | 'stageName' | 'deploymentId' | 'binaryMediaTypes'>,
  match: RouteMatch,
  req: ProxyRequest,
  identity: { readonly apiKey: string | null; readonly accountId: string; readonly host: string },
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
      accountId: identity.accountId,
      protocol: 'HTTP/1.1',
      stage: api.stageName,
      domainPrefix: identity.host.split('.')[0]!.split(':')[0]!,
      requestTimeEpoch: req.now.getTime(),
      requestId: req.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: req.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent,
        user: null,
        apiKey: identity.apiKey,
        apiKeyId: null,
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

/**
 * Turns a Lambda proxy response into the HTTP answer, as API Gateway does: `statusCode`,
 * `headers` and `multiValueHeaders`, `body` (base64-decoded when `isBase64Encoded`).
 * `undefined` when the response is malformed (API Gateway then answers 502).
 */
export function proxyAnswer(payload: unknown, requestId: string): HttpAnswer | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const r = payload as Record<string, unknown>;
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') return undefined;
  const headers: Record<string, string | string[]> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') return undefined;
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>))
      headers[k.toLowerCase()] = String(v);
  }
  if (r.multiValueHeaders !== undefined && r.multiValueHeaders !== null) {
    if (typeof r.multiValueHeaders !== 'object') return undefined;
    for (const [k, v] of Object.entries(r.multiValueHeaders as Record<string, unknown>)) {
      if (!Array.isArray(v)) return undefined;
      headers[k.toLowerCase()] = v.map(String);
    }
  }
  headers['content-type'] ??= 'application/json';
  headers['x-amzn-requestid'] = requestId;
  const body =
    typeof r.body === 'string' ? (r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : r.body) : '';
  return { statusCode: status, headers, body };
}

/** Local-only endpoints (`/_local/...`) the API server also serves. */
export interface LocalEndpoints {
  /** `GET /_local/health` */
  health(): unknown;
  /** `GET /_local/alarms` */
  alarms(): unknown;
  /** `POST /_local/schedules/<rule logical id>`; `undefined` for an unknown rule. */
  triggerSchedule(logicalId: string): Promise<unknown> | undefined;
}

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  readonly api?: ApiSpec;
  readonly apiKey: string;
  readonly accountId: string;
  readonly hosts: ReadonlyMap<string, FunctionHost>;
  readonly journal: Journal;
  readonly logger: LocalLogger;
  readonly local: LocalEndpoints;
}

/** The running API server. */
export interface ApiServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops accepting connections, lets requests in progress finish for up to `drainMs`, then closes the rest. */
  stop(drainMs?: number): Promise<void>;
}

function send(res: ServerResponse, answer: HttpAnswer): void {
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': String(body.length) } as Record<
    string,
    string | string[]
  >);
  res.end(body);
}

const json = (statusCode: number, body: unknown): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/**
 * Serves the template's REST API on 127.0.0.1 as API Gateway would: the route table from the
 * `Resource`/`Method` tree, the API key check (`x-api-key`), API Gateway's 10 MB request limit,
 * Lambda proxy events to the integrated function and its response passed back verbatim, and
 * API Gateway's own error answers rendered from the template's gateway responses. Also serves
 * `GET /_local/invocations`, `GET /_local/health`, `GET /_local/alarms` and
 * `POST /_local/schedules/<rule logical id>` (no API key; the server listens on loopback only).
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api, journal } = options;
  const responses = api?.gatewayResponses ?? new Map<string, GatewayResponseSpec>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const now = new Date();
    // An origin-form target is a path: `//a/b` is the path //a/b, not a scheme-relative URL (which
    // would throw for `//` and route `//host/v1/messages` as `/v1/messages`).
    const target = req.url ?? '/';
    const url = new URL(target.startsWith('/') ? `http://local${target}` : target, 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const gw = (type: GatewayResponseType, extra: Partial<GatewayContext> = {}) =>
      renderGatewayResponse(responses, type, {
        requestId,
        stage: api?.stageName,
        apiId: api?.apiId,
        httpMethod: method,
        ...extra,
      });

    if (url.pathname === '/_local' || url.pathname.startsWith('/_local/')) {
      req.resume();
      send(res, await localEndpoint(method, url.pathname));
      return;
    }

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > API_GATEWAY_MAX_BODY_BYTES) {
      res.setHeader('connection', 'close');
      send(res, gw('REQUEST_TOO_LARGE'));
      req.destroy();
      return;
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      send(res, gw('REQUEST_TOO_LARGE'));
      return;
    }
    const match = api ? matchRoute(api.resources, method, url.pathname) : undefined;
    if (!match) {
      send(res, gw('MISSING_AUTHENTICATION_TOKEN'));
      return;
    }
    const context = { resourcePath: match.resource.path, path: `/${api!.stageName}${url.pathname}` };
    const givenKey = req.headers['x-api-key'];
    const key = typeof givenKey === 'string' ? givenKey : undefined;
    if (match.method.apiKeyRequired && key !== options.apiKey) {
      send(res, gw('INVALID_API_KEY', context));
      return;
    }
    const event = buildProxyEvent(
      api!,
      match,
      {
        method,
        path: url.pathname,
        query: url.search,
        rawHeaders: req.rawHeaders,
        body: body.length ? body : null,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        requestId,
        now,
      },
      {
        apiKey: match.method.apiKeyRequired ? key! : null,
        accountId: options.accountId,
        host: req.headers.host ?? '127.0.0.1',
      },
    );
    const host = options.hosts.get(match.method.functionId)!;
    const invocation = host.invoke(event).then((outcome) => {
      journal.record({
        function: match.method.functionId,
        startedAt: outcome.startedAt.toISOString(),
        durationMs: outcome.durationMs,
        messageIds: [],
        batchItemFailures: [],
        error: outcome.ok ? null : outcome.error,
      });
      return outcome;
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), API_GATEWAY_INTEGRATION_TIMEOUT_MS);
    });
    const outcome = await Promise.race([invocation, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      send(res, gw('INTEGRATION_TIMEOUT', context));
      return;
    }
    const answer = outcome.ok ? proxyAnswer(outcome.payload, requestId) : undefined;
    if (!answer && outcome.ok)
      options.logger.warn(`${match.method.functionId}: malformed Lambda proxy response; answered 5xx`);
    send(res, answer ?? gw('LAMBDA_FAILURE', context));
  }

  async function localEndpoint(method: string, pathname: string): Promise<HttpAnswer> {
    if (method === 'GET' && pathname === '/_local/invocations') return json(200, journal.list());
    if (method === 'GET' && pathname === '/_local/health') return json(200, options.local.health());
    if (method === 'GET' && pathname === '/_local/alarms') return json(200, options.local.alarms());
    const schedule = /^\/_local\/schedules\/([^/]+)$/.exec(pathname);
    if (schedule && method === 'POST') {
      const run = options.local.triggerSchedule(decodeURIComponent(schedule[1]!));
      return run
        ? json(200, await run)
        : json(404, { error: { code: 'NotFound', message: `no schedule rule ${schedule[1]}` } });
    }
    return json(404, { error: { code: 'NotFound', message: `no local endpoint ${method} ${pathname}` } });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.logger.warn(`API server: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) send(res, json(500, { message: 'Internal server error' }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new LocalModeError(`port ${options.port} is in use; set PORT=<free port>`, { cause: error })
          : error,
      );
    });
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop(drainMs = 0) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Reads a request body up to API Gateway's limit; `'too-large'` beyond it (the rest is discarded). */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > API_GATEWAY_MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
