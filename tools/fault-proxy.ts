import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which AWS call a request is: `sqs:SendMessage`, `s3:PutObject`, … */
export type Operation = string;

/** A fault the proxy injects while it is active. */
export interface FaultRule {
  /** Matches operations, e.g. `s3:PutObject`, `sqs:SendMessage*` (trailing `*` = prefix), `sqs:*`. */
  readonly match: string;
  /** `error`: answer with an AWS-style error; `delay`: forward after `delayMs`. */
  readonly kind: 'error' | 'delay';
  /** HTTP status for `error`. @default 503 */
  readonly status?: number;
  readonly delayMs?: number;
  /** Fail only this many matching requests, then deactivate. @default unlimited */
  readonly times?: number;
}

/** Counts of what the proxy did, by operation. */
export interface FaultStats {
  forwarded: Record<Operation, number>;
  injected: Record<string, number>;
}

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

function matches(rule: FaultRule, op: Operation): boolean {
  if (rule.match.endsWith('*')) return op.startsWith(rule.match.slice(0, -1));
  return rule.match === op;
}

function awsError(op: Operation, status: number): { headers: Record<string, string>; body: string } {
  if (op.startsWith('sqs:')) {
    return {
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-query-error': 'ServiceUnavailable;Receiver',
      },
      body: JSON.stringify({ __type: 'com.amazonaws.sqs#ServiceUnavailable', message: 'Injected fault' }),
    };
  }
  return {
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>Injected fault</Message></Error>`,
  };
}

/**
 * A fault-injecting HTTP proxy in front of the emulator. Functions are pointed at it (their
 * `AWS_ENDPOINT_URL`) so faults hit the real SDK code paths of the real bundles; tests switch
 * rules on and off. Nothing in the handlers knows it exists.
 */
export class FaultProxy {
  private server?: http.Server;
  private rules: { rule: FaultRule; left: number }[] = [];
  readonly stats: FaultStats = { forwarded: {}, injected: {} };

  constructor(private readonly target: string) {}

  /** Starts listening on 127.0.0.1 (`port` 0 = ephemeral); resolves the proxy's endpoint URL. */
  async start(port = 0): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const op = classify(req.method ?? 'GET', req.url ?? '/', req.headers, body);
        const active = this.rules.find((r) => r.left > 0 && matches(r.rule, op));
        const forward = () => {
          this.stats.forwarded[op] = (this.stats.forwarded[op] ?? 0) + 1;
          const upstream = http.request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
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
        if (!active) return forward();
        active.left--;
        const key = `${active.rule.kind}:${op}`;
        this.stats.injected[key] = (this.stats.injected[key] ?? 0) + 1;
        if (active.rule.kind === 'delay') {
          setTimeout(forward, active.rule.delayMs ?? 1000);
          return;
        }
        const status = active.rule.status ?? 503;
        const err = awsError(op, status);
        res.writeHead(status, err.headers);
        res.end(err.body);
      });
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Activates a fault; returns a function that removes it. */
  inject(rule: FaultRule): () => void {
    const entry = { rule, left: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.push(entry);
    return () => {
      this.rules = this.rules.filter((r) => r !== entry);
    };
  }

  /** Removes every fault. */
  clear(): void {
    this.rules = [];
  }

  /** Total injected faults, by rule kind and operation. */
  injectedTotal(): number {
    return Object.values(this.stats.injected).reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
