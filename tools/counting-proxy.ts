import { ProxyServer, type Operation } from './proxy-core';

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
 * `frontEndpoint`) and every request is classified (`classify` of `./proxy-core.ts`, plus the
 * SQS `QueueUrl` from the JSON body) and handed to `onRequest` before it is forwarded unchanged.
 */
export class CountingProxy {
  private readonly server: ProxyServer;

  constructor(target: string, onRequest: (seen: SeenRequest) => void) {
    this.server = new ProxyServer(
      target,
      ({ body, op, forward }) => {
        let queueUrl: string | undefined;
        if (op.startsWith('sqs:') && body.length > 0 && body[0] === 0x7b) {
          try {
            const parsed = JSON.parse(body.toString('utf8')) as { QueueUrl?: unknown };
            if (typeof parsed.QueueUrl === 'string') queueUrl = parsed.QueueUrl;
          } catch {
            // not JSON: counted without a queue
          }
        }
        onRequest(queueUrl === undefined ? { op } : { op, queueUrl });
        forward();
      },
      { [PROXIED_HEADER]: '1' },
    );
  }

  /** Starts listening on 127.0.0.1 (ephemeral port); resolves the proxy's endpoint URL. */
  start(): Promise<string> {
    return this.server.start();
  }

  /** Stops listening. */
  stop(): Promise<void> {
    return this.server.stop();
  }
}
