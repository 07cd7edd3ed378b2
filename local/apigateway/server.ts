import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerLocalRequest, isLocalPath, type LocalEndpoints } from '../control/endpoints';
import { directInvocationRecord, type Journal } from '../control/journal';
import { LocalModeError } from '../errors';
import { refuseForeignRequest } from '../control/request-guard';
import type { FunctionHost } from '../functions/host';
import type { LocalLogger } from '../log';
import type { ApiSpec, GatewayResponseSpec } from '../template/topology';
import { renderGatewayResponse, type GatewayContext, type GatewayResponseType } from './gateway-responses';
import { jsonAnswer, type HttpAnswer } from './http-answer';
import type { LocalAuth } from './local-auth';
import { buildProxyEvent } from './proxy-event';
import { proxyAnswer } from './proxy-response';
import { matchRoute } from './routes';

export type { LocalEndpoints } from '../control/endpoints';

/** API Gateway's hard limit on a request payload (REST APIs): 10 MB. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** API Gateway's maximum integration timeout (REST APIs, default quota): 29 s. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 29_000;

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  readonly api?: ApiSpec;
  /** Who may call which method: the tenants' API keys and local IAM users. */
  readonly auth: LocalAuth;
  readonly accountId: string;
  readonly hosts: ReadonlyMap<string, FunctionHost>;
  readonly journal: Journal;
  readonly logger: LocalLogger;
  readonly local: LocalEndpoints;
  /**
   * Serves the local console's requests (`/_local/console…`, `/_local/`) after the request guard;
   * answers `false` for a path that is not its own.
   */
  readonly console?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
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

/**
 * Serves the template's REST API on 127.0.0.1 as API Gateway would: the route table from the
 * `Resource`/`Method` tree, each method's authentication ({@link LocalAuth}: a tenant's API key in
 * `x-api-key`, a SigV4 signature of a local IAM user), API Gateway's 10 MB request limit,
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

    // DNS rebinding and cross-site requests from a browser: refused before anything is read.
    const foreign = refuseForeignRequest(req.headers);
    if (foreign) {
      req.resume();
      send(res, {
        statusCode: 403,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          error: {
            code: 'Forbidden',
            message: `local mode serves this machine only: ${foreign}`,
            details: [],
            requestId,
          },
        }),
      });
      return;
    }

    if (isLocalPath(url.pathname) && options.console && (await options.console(req, res, url))) return;
    if (isLocalPath(url.pathname)) {
      req.resume();
      send(res, await answerLocalRequest(method, url.pathname, journal, options.local, url.searchParams));
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
    const auth = options.auth.authenticate(
      match.method,
      { method, target, rawHeaders: req.rawHeaders, body },
      now,
    );
    if (!auth.ok) {
      options.logger.info(`${method} ${url.pathname}: ${auth.response} (${auth.detail})`);
      send(res, gw(auth.response, { ...context, errorMessage: auth.message, errorType: auth.errorType }));
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
      { ...auth.identity, host: req.headers.host ?? '127.0.0.1' },
      options.accountId,
    );
    if (match.method.authorizer) {
      // A CUSTOM method: its Lambda authorizer decides, its context reaches the integration.
      const decided = await options.auth.authorize(match.method, event, now);
      if (!decided.ok) {
        options.logger.info(`${method} ${url.pathname}: ${decided.response} (${decided.detail})`);
        send(res, gw(decided.response, context));
        return;
      }
      (event.requestContext as { authorizer: unknown }).authorizer = decided.context;
    }
    const host = options.hosts.get(match.method.functionId)!;
    let timer: NodeJS.Timeout | undefined;
    let startTimer: () => void = () => undefined;
    // API Gateway's 29 s count from when the invocation holds a sandbox: a wait for a free one is
    // local mode's queue (its sandboxes are few), where Lambda would have scaled out.
    const timedOut = new Promise<'timeout'>((resolve) => {
      startTimer = () => {
        timer = setTimeout(() => resolve('timeout'), API_GATEWAY_INTEGRATION_TIMEOUT_MS);
      };
    });
    const invocation = host.invoke(event, startTimer).then((outcome) => {
      journal.record(directInvocationRecord(match.method.functionId, outcome));
      return outcome;
    });
    const outcome = await Promise.race([invocation, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      options.logger.warn(
        `${method} ${url.pathname}: ${match.method.functionId} did not answer within API Gateway's ${API_GATEWAY_INTEGRATION_TIMEOUT_MS / 1000} s; answered its timeout response`,
      );
      send(res, gw('INTEGRATION_TIMEOUT', context));
      return;
    }
    if (!outcome.ok)
      options.logger.warn(
        `${method} ${url.pathname}: ${match.method.functionId} failed (${outcome.error.name}: ${outcome.error.message}); answered 5xx`,
      );
    const answer = outcome.ok ? proxyAnswer(outcome.payload, requestId) : undefined;
    if (!answer && outcome.ok)
      options.logger.warn(`${match.method.functionId}: malformed Lambda proxy response; answered 5xx`);
    send(res, answer ?? gw('LAMBDA_FAILURE', context));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.logger.warn(`API server: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) send(res, jsonAnswer(500, { message: 'Internal server error' }));
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
