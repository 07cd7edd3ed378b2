import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ProbeMode } from '../shared/jobs/probe';
import type { JobRegistry } from '../shared/jobs/registry';
import { encodeMessage, MessageTooLargeError, type EncodedMessage } from '../shared/message-codec';
import { planBatches } from './batch-plan';
import { ApiError, errorResponse, header, json } from './http';
import { parseJsonBody, routeOf } from './request';
import {
  queueUnavailable,
  RETRY_AFTER_SECONDS,
  sendOne,
  sendPlan,
  type Accepted,
  type BatchResult,
  type PreparedEntry,
  type SendDeps,
} from './send';
import { validateBatchShape, validateEntry, validateIdempotencyHeader, type ValidEntry } from './validation';

/** What the producer needs; everything is injectable for tests. */
export interface ApiDeps {
  readonly registry: JobRegistry;
  readonly sqs: SQSClient;
  readonly queues: { readonly standardUrl: string; readonly fifoUrl: string };
  readonly maxBodyBytes: number;
  readonly allowedProbeModes: readonly ProbeMode[];
  readonly logger: Logger;
  /** @default no metrics */
  readonly metrics?: Metrics;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default random UUIDs */
  readonly newId?: () => string;
}

/**
 * Builds the producer's request handler. A request goes through: routing and body parsing
 * (`./request.ts`), validation (`./validation.ts`), encoding (`../shared/message-codec.ts`), for a
 * batch the plan of queue calls (`./batch-plan.ts`, `planBatches`), the send step (`./send.ts`),
 * and the folding of outcomes into one response here (202, 207 or 503; errors per `./http.ts`).
 */
export function createApi(deps: ApiDeps) {
  const now = deps.now ?? (() => new Date());
  const sendDeps: SendDeps = { ...deps, onAccepted: (type) => accepted(type) };

  function encode(
    entry: ValidEntry,
    correlationId: string,
    idempotencyKey: string | undefined,
  ): EncodedMessage {
    try {
      return encodeMessage(entry, {
        correlationId,
        idempotencyKey,
        now: now(),
        ...(deps.newId ? { id: deps.newId() } : {}),
      });
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) throw error;
      throw new ApiError('PayloadTooLarge', error.message, [
        { field: 'payload', message: 'too large for one queue message' },
      ]);
    }
  }

  function accepted(type: string, n = 1) {
    if (!deps.metrics) return;
    const m = deps.metrics.singleMetric();
    m.addDimension('type', type);
    m.addMetric('accepted', MetricUnit.Count, n);
  }

  async function single(event: APIGatewayProxyEvent, correlationId: string): Promise<APIGatewayProxyResult> {
    const body = parseJsonBody(event, deps.maxBodyBytes);
    const key = validateIdempotencyHeader(header(event.headers, 'idempotency-key'));
    const entry = validateEntry(body, deps);
    const msg = encode(entry, correlationId, key);
    const out = await sendOne(sendDeps, msg.fifo, msg.params);
    accepted(entry.type);
    deps.logger.info('message accepted', { messageId: out.MessageId, type: entry.type, fifo: msg.fifo });
    const result: Accepted = {
      messageId: out.MessageId,
      queue: msg.fifo ? 'fifo' : 'standard',
      ...(out.SequenceNumber ? { sequenceNumber: out.SequenceNumber } : {}),
    };
    return json(202, result);
  }

  async function batch(event: APIGatewayProxyEvent, correlationId: string): Promise<APIGatewayProxyResult> {
    const entries = validateBatchShape(parseJsonBody(event, deps.maxBodyBytes));
    const results: BatchResult[] = new Array(entries.length);
    const prepared: PreparedEntry[] = [];
    entries.forEach((raw, index) => {
      try {
        const e = validateEntry(raw, { ...deps, batch: true, prefix: `messages.${index}` });
        const msg = encode(e, correlationId, e.idempotencyKey);
        prepared.push({
          index,
          fifo: msg.fifo,
          ...(e.orderingKey !== undefined ? { key: e.orderingKey } : {}),
          type: e.type,
          entry: { Id: String(index), ...msg.params },
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        results[index] = { index, error: error.toBody().error };
      }
    });
    if (prepared.length === 0) {
      const details = results.flatMap((r) =>
        'error' in r ? [{ field: `messages.${r.index}`, message: r.error.message }] : [],
      );
      throw new ApiError('ValidationError', 'No entry of the batch is valid', details);
    }

    await sendPlan(planBatches(prepared), sendDeps, results);

    const ok = results.filter((r) => 'messageId' in r).length;
    deps.logger.info('batch handled', { entries: entries.length, accepted: ok });
    if (ok === entries.length) return json(202, { results });
    if (ok === 0 && results.every((r) => 'error' in r && r.error.code === 'QueueUnavailable')) {
      return json(
        503,
        {
          error: {
            code: 'QueueUnavailable',
            message: 'The queue accepted no entry; retry the batch',
            details: results,
          },
        },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    return json(207, { results });
  }

  /** Handles one API Gateway REST proxy event. Never throws: every outcome is an HTTP response. */
  return async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const correlationId = event.requestContext?.requestId ?? deps.newId?.() ?? 'unknown';
    try {
      const route = routeOf(event);
      if (!route) throw new ApiError('NotFound', `No route for ${event.httpMethod} ${event.path}`);
      if (event.httpMethod !== 'POST') {
        throw new ApiError(
          'MethodNotAllowed',
          `${event.httpMethod} is not allowed on ${event.path}; use POST`,
          [],
          { allow: 'POST' },
        );
      }
      return route === 'single' ? await single(event, correlationId) : await batch(event, correlationId);
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status >= 500) deps.logger.warn('request not accepted', { code: error.code });
        else
          deps.logger.info('request refused', {
            code: error.code,
            status: error.status,
            details: error.details,
          });
        return errorResponse(error);
      }
      deps.logger.error('unexpected error', { error });
      return errorResponse(queueUnavailable(deps.logger, error));
    }
  };
}
