import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { classify, type Operation } from './fault-proxy';

/** Header the proxy puts on what it forwards, so an in-process observer can tell its requests apart. */
export const PROXIED_HEADER = 'x-counting-proxy';

/** One request seen by {@link CountingProxy}: its operation and, for SQS, the queue it names. */
export interface SeenRequest {
  readonly op: Operation;
  /** `QueueUrl` of an SQS JSON-protocol request, when it has one. */
  readonly queueUrl?: string;
}

/**
 * A counting HTTP proxy in front of the emulator: functions are pointed at it (local mode's
 * `frontEndpoint`) and every request is classified (`classify` of `./fault-proxy.ts`, plus the
 * SQS `QueueUrl` from the JSON body) and handed to `onRequest` before it is forwarded unchanged.
 */
export class CountingProxy {
  private server?: http.Server;

  constructor(
    private readonly target: string,
    private readonly onRequest: (seen: SeenRequest) => void,
  ) {}

  /** Starts listening on 127.0.0.1 (ephemeral port); resolves the proxy's endpoint URL. */
  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const op = classify(req.method ?? 'GET', req.url ?? '/', req.headers, body);
        let queueUrl: string | undefined;
        if (op.startsWith('sqs:') && body.length > 0 && body[0] === 0x7b) {
          try {
            const parsed = JSON.parse(body.toString('utf8')) as { QueueUrl?: unknown };
            if (typeof parsed.QueueUrl === 'string') queueUrl = parsed.QueueUrl;
          } catch {
            // not JSON: counted without a queue
          }
        }
        this.onRequest(queueUrl === undefined ? { op } : { op, queueUrl });
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, [PROXIED_HEADER]: '1' },
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
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
