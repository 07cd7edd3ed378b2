import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which AWS call a request is: `sqs:SendMessage`, `s3:PutObject`, … */
export type Operation = string;

/**
 * Classifies an AWS request: SQS speaks the JSON protocol (`x-amz-target: AmazonSQS.<Action>`)
 * or the query protocol (`Action=` in the body); everything else is taken as S3 REST.
 */
export function classify(
  method: string,
  url: string,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
): Operation {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSQS.'))
    return `sqs:${target.slice('AmazonSQS.'.length)}`;
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('utf8', 0, Math.min(body.length, 512)));
  if (action) return `sqs:${action[1]}`;
  const path = url.split('?')[0] ?? '/';
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const hostStyle = typeof headers.host === 'string' && /^[^.]+\.s3\./.test(headers.host);
  const segments = path.split('/').filter(Boolean).length + (hostStyle ? 1 : 0);
  if (method === 'PUT') return segments >= 2 ? 's3:PutObject' : 's3:CreateBucket';
  if (method === 'HEAD') return segments >= 2 ? 's3:HeadObject' : 's3:HeadBucket';
  if (method === 'GET')
    return segments >= 2
      ? 's3:GetObject'
      : query.includes('list-type')
        ? 's3:ListObjectsV2'
        : 's3:ListBuckets';
  if (method === 'DELETE') return 's3:DeleteObject';
  return `s3:${method}`;
}

/** One request a {@link ProxyServer} has read in full, and what it may do with it. */
export interface ProxyExchange {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly body: Buffer;
  readonly op: Operation;
  /** Sends the request on to the target unchanged (plus the server's extra headers), its answer back. */
  forward(): void;
}

/**
 * The HTTP proxy core of `fault-proxy.ts` and `counting-proxy.ts`: listens on 127.0.0.1, reads each
 * request's body, classifies it and hands it to `handle`, which forwards it, delays it or answers
 * it itself. An unreachable target is answered 502.
 */
export class ProxyServer {
  private server?: http.Server;

  constructor(
    private readonly target: string,
    private readonly handle: (exchange: ProxyExchange) => void,
    /** Headers added to what is forwarded. @default none */
    private readonly extraHeaders: Readonly<Record<string, string>> = {},
  ) {}

  /** Starts listening on 127.0.0.1 (`port` 0 = ephemeral); resolves the proxy's endpoint URL. */
  async start(port = 0): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const op = classify(req.method ?? 'GET', req.url ?? '/', req.headers, body);
        const forward = () => {
          const upstream = http.request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: { ...req.headers, ...this.extraHeaders },
            },
            (up) => {
              res.writeHead(up.statusCode ?? 502, up.headers);
              up.pipe(res);
            },
          );
          upstream.on('error', () => {
            if (!res.headersSent) res.writeHead(502);
            res.end();
          });
          upstream.end(body);
        };
        this.handle({ req, res, body, op, forward });
      });
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops listening, cutting open connections. */
  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
