import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { httpStatusOf } from '../../lambda/shared/errors';
import type { LocalQueue } from '../aws/emulator';
import type { LocalSecrets } from '../aws/secrets';
import { directInvocationRecord, type Journal } from '../control/journal';
import type { FunctionHost } from '../functions/host';
import type { LocalLogger } from '../log';
import type { ApiDestinationSpec, EventRuleSpec, EventTargetSpec } from '../template/topology';

/*
 * Delivery of a matched event to one rule target, as EventBridge does it:
 * - "Event retry policy and using dead-letter queues"
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html): a failed delivery
 *   is retried with exponential backoff until the target's RetryPolicy is spent
 *   (MaximumRetryAttempts, MaximumEventAgeInSeconds; default 185 and 24 h); errors that retrying
 *   cannot fix go to the dead-letter queue at once; the DLQ message is the event, with the message
 *   attributes ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, RULE_ARN and
 *   TARGET_ARN.
 * - API destinations ("API destinations as targets"): an HTTP request of the event JSON with the
 *   connection's authorization header; EventBridge waits at most 5 seconds; 429 and 5xx responses
 *   and timeouts are retried (honouring Retry-After), other 4xx responses are not; requests are
 *   sent at most InvocationRateLimitPerSecond per second (held back, not dropped).
 * - Lambda targets are invoked asynchronously: a function error is Lambda's matter (its own async
 *   retries, twice), not a failed EventBridge delivery.
 *
 * Local time scale (so that a local run and the tests end in seconds): the first retry waits
 * `retryBaseMs` (100 ms), each next one twice as long, at most 20 × `retryBaseMs` (2 s);
 * MaximumEventAgeInSeconds counts `ageScale` (1/60: one local second per AWS minute, so 300 s →
 * 5 s, 24 h → 24 min).
 */

/** An EventBridge event envelope. */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** The outcome of one send to a target. */
export type SendResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly retryable: boolean;
      readonly code: string;
      readonly message: string;
      readonly retryAfterMs?: number;
    };

/** One event delivered to a log group target (the local "events log"). */
export interface LoggedEvent {
  readonly logGroupName: string;
  /** Epoch ms of the delivery. */
  readonly timestamp: number;
  readonly event: EventEnvelope;
}

/** How a delivery ended, for the bus's journal and the tests. */
export interface DeliveryOutcome {
  readonly eventId: string;
  readonly rule: string;
  readonly target: string;
  /** `delivered`, `dead-lettered` (sent to the target's DLQ) or `dropped` (no DLQ). */
  readonly result: 'delivered' | 'dead-lettered' | 'dropped';
  /** Sends made (1 + retries). */
  readonly attempts: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What {@link EventDelivery} delivers through. */
export interface EventDeliveryOptions {
  readonly queues: ReadonlyMap<string, LocalQueue>;
  readonly sqs: SQSClient;
  readonly hosts: ReadonlyMap<string, FunctionHost>;
  readonly apiDestinations: readonly ApiDestinationSpec[];
  readonly secrets: LocalSecrets;
  readonly journal: Journal;
  readonly logger: LocalLogger;
  /** First retry delay (ms), doubling per retry up to 20 times this (2 s). @default 100 */
  readonly retryBaseMs?: number;
  /** Local seconds per AWS second of MaximumEventAgeInSeconds. @default 1/60 */
  readonly ageScale?: number;
  /** How long an API destination request may take (EventBridge: 5 s). @default 5000 */
  readonly httpTimeoutMs?: number;
  /** Called with every event delivered to a log group. */
  readonly onLogged?: (entry: LoggedEvent) => void;
}

/** Lambda's async invocation retries function errors twice (MaximumRetryAttempts default 2). */
const LAMBDA_ASYNC_RETRIES = 2;

/** Spaces requests to one API destination at most `perSecond` a second. */
class RateLimiter {
  private next = 0;
  constructor(private readonly perSecond: number) {}
  /** Resolves when a request may start. */
  async take(): Promise<void> {
    const interval = 1000 / Math.max(1, this.perSecond);
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + interval;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/** Delivers events to rule targets with retries and dead-letter queues (see above). */
export class EventDelivery {
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly pending = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly options: EventDeliveryOptions) {
    for (const d of options.apiDestinations)
      this.limiters.set(d.logicalId, new RateLimiter(d.rateLimitPerSecond));
  }

  /** Deliveries in progress. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Starts delivering `event` to `target` of `rule` (in the background); resolves with how it ended. */
  deliver(rule: EventRuleSpec, target: EventTargetSpec, event: EventEnvelope): Promise<DeliveryOutcome> {
    const p = this.run(rule, target, event);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Stops retrying; waits up to `timeoutMs` for deliveries in flight. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private async run(
    rule: EventRuleSpec,
    target: EventTargetSpec,
    event: EventEnvelope,
  ): Promise<DeliveryOutcome> {
    const base = this.options.retryBaseMs ?? 100;
    const maxAgeMs = target.retryPolicy.maximumEventAgeSeconds * 1000 * (this.options.ageScale ?? 1 / 60);
    const started = Date.now();
    const payload = payloadOf(target, event);
    let attempts = 0;
    for (;;) {
      attempts++;
      let result: SendResult;
      try {
        result = await this.send(target, payload, event);
      } catch (error) {
        result = { ok: false, retryable: true, code: 'SDK_CLIENT_ERROR', message: (error as Error).message };
      }
      if (result.ok)
        return { eventId: event.id, rule: rule.logicalId, target: target.id, result: 'delivered', attempts };
      const retries = attempts - 1;
      let exhausted: string | undefined;
      if (!result.retryable) exhausted = undefined;
      else if (retries >= target.retryPolicy.maximumRetryAttempts)
        exhausted = 'MaximumRetryAttemptsExhausted';
      else if (Date.now() - started >= maxAgeMs) exhausted = 'MaximumEventAgeExceeded';
      if (result.retryable && !exhausted && !this.stopped) {
        const delay = Math.max(result.retryAfterMs ?? 0, Math.min(20 * base, base * 2 ** retries));
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      return this.deadLetter(rule, target, event, result, attempts, exhausted);
    }
  }

  private async deadLetter(
    rule: EventRuleSpec,
    target: EventTargetSpec,
    event: EventEnvelope,
    failure: Extract<SendResult, { ok: false }>,
    attempts: number,
    exhausted: string | undefined,
  ): Promise<DeliveryOutcome> {
    const { logger, queues, sqs } = this.options;
    const error = { code: failure.code, message: failure.message };
    const dlq = target.deadLetterQueueId ? queues.get(target.deadLetterQueueId) : undefined;
    logger.warn(
      `${rule.logicalId} → ${target.id}: event ${event.id} not delivered after ${attempts} attempt${attempts === 1 ? '' : 's'} (${failure.code}: ${failure.message})${dlq ? `; sent to ${dlq.logicalId}` : '; dropped (no dead-letter queue)'}`,
    );
    const outcome = (result: 'dead-lettered' | 'dropped'): DeliveryOutcome => ({
      eventId: event.id,
      rule: rule.logicalId,
      target: target.id,
      result,
      attempts,
      error,
    });
    if (!dlq) return outcome('dropped');
    const attr = (value: string) => ({ DataType: 'String', StringValue: value });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: JSON.stringify(event),
        MessageAttributes: {
          ERROR_CODE: attr(failure.code),
          ERROR_MESSAGE: attr(failure.message.slice(0, 1000)),
          ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: attr(exhausted) } : {}),
          RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(attempts - 1) },
          RULE_ARN: attr(rule.arn),
          TARGET_ARN: attr(target.kind === 'sqs' ? (queues.get(target.queueId)?.arn ?? '') : target.arn),
        },
      }),
    );
    return outcome('dead-lettered');
  }

  private async send(target: EventTargetSpec, payload: string, event: EventEnvelope): Promise<SendResult> {
    switch (target.kind) {
      case 'sqs': {
        const queue = this.options.queues.get(target.queueId)!;
        try {
          await this.options.sqs.send(
            new SendMessageCommand({
              QueueUrl: queue.url,
              MessageBody: payload,
              ...(queue.fifo
                ? { MessageGroupId: target.messageGroupId ?? 'default', MessageDeduplicationId: event.id }
                : {}),
            }),
          );
          return { ok: true };
        } catch (error) {
          const status = httpStatusOf(error) ?? 500;
          return {
            ok: false,
            retryable: status >= 500 || status === 429,
            code: 'SDK_CLIENT_ERROR',
            message: `SQS SendMessage failed: ${(error as Error).message}`,
          };
        }
      }
      case 'logs':
        this.options.onLogged?.({ logGroupName: target.logGroupName, timestamp: Date.now(), event });
        return { ok: true };
      case 'lambda':
        this.invokeAsync(target.functionId, JSON.parse(payload));
        return { ok: true };
      case 'api-destination':
        return this.post(
          this.options.apiDestinations.find((d) => d.logicalId === target.destinationId)!,
          payload,
        );
    }
  }

  /** Lambda's asynchronous invocation: accepted at once; a function error is retried twice. */
  private invokeAsync(functionId: string, event: unknown): void {
    const host = this.options.hosts.get(functionId)!;
    const run = async () => {
      for (let attempt = 0; attempt <= LAMBDA_ASYNC_RETRIES; attempt++) {
        const outcome = await host.invoke(event);
        this.options.journal.record(directInvocationRecord(functionId, outcome));
        if (outcome.ok || this.stopped) return;
        await new Promise((r) => setTimeout(r, (this.options.retryBaseMs ?? 100) * 2 ** attempt));
      }
    };
    const p = run();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async post(destination: ApiDestinationSpec, payload: string): Promise<SendResult> {
    let headerValue: string | undefined;
    try {
      headerValue =
        destination.connection.apiKeyValue === undefined
          ? undefined
          : this.options.secrets.resolve(destination.connection.apiKeyValue);
    } catch (error) {
      return { ok: false, retryable: false, code: 'NO_PERMISSIONS', message: (error as Error).message };
    }
    await this.limiters.get(destination.logicalId)!.take();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.httpTimeoutMs ?? 5000);
    try {
      const response = await fetch(destination.endpoint, {
        method: destination.httpMethod,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Amazon/EventBridge/ApiDestinations',
          ...(destination.connection.apiKeyName && headerValue !== undefined
            ? { [destination.connection.apiKeyName]: headerValue }
            : {}),
        },
        body: destination.httpMethod === 'GET' || destination.httpMethod === 'HEAD' ? undefined : payload,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        ok: false,
        retryable: response.status === 429 || response.status >= 500,
        code: 'SDK_CLIENT_ERROR',
        message: `Unable to invoke ApiDestination endpoint: The endpoint responded with HTTP status code ${response.status}.`,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    } catch (error) {
      return {
        ok: false,
        retryable: true,
        code: 'SDK_CLIENT_ERROR',
        message: controller.signal.aborted
          ? 'Unable to invoke ApiDestination endpoint: the endpoint did not answer within 5 seconds.'
          : `Unable to invoke ApiDestination endpoint: ${(error as Error).message}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What the target receives: the event JSON, `Input` instead, or the `InputPath` part of the event. */
export function payloadOf(
  target: Pick<EventTargetSpec, 'input' | 'inputPath'>,
  event: EventEnvelope,
): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath === undefined || target.inputPath === '$') return JSON.stringify(event);
  let value: unknown = event;
  for (const key of target.inputPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return JSON.stringify(value ?? null);
}
