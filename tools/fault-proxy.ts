import { ProxyServer, type Operation } from './proxy-core';

export { classify, type Operation } from './proxy-core';

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
  private readonly server: ProxyServer;
  private rules: { rule: FaultRule; left: number }[] = [];
  readonly stats: FaultStats = { forwarded: {}, injected: {} };

  constructor(target: string) {
    this.server = new ProxyServer(target, ({ res, op, forward: send }) => {
      const active = this.rules.find((r) => r.left > 0 && matches(r.rule, op));
      const forward = () => {
        this.stats.forwarded[op] = (this.stats.forwarded[op] ?? 0) + 1;
        send();
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
  }

  /** Starts listening on 127.0.0.1 (`port` 0 = ephemeral); resolves the proxy's endpoint URL. */
  start(port = 0): Promise<string> {
    return this.server.start(port);
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

  /** Stops listening. */
  stop(): Promise<void> {
    return this.server.stop();
  }
}
