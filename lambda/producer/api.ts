import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ATTR, createEnvelope, type Envelope } from '../shared/envelope';
import type { ProbeMode } from '../shared/jobs/probe';
import type { JobRegistry } from '../shared/jobs/registry';
import { ApiError, errorResponse, header, json } from './http';
import { validateBatchShape, validateEntry, validateIdempotencyHeader, type ValidEntry } from './validation';

/** SQS's largest message (body + attributes). */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** What the producer needs; everything is injectable for tests. */
export interface ApiDeps {
  readonly registry: JobRegistry;
  readonly sqs: SQSClient;
  readonly queues: { readonly standardUrl: string; readonly fifoUrl: string };
  readonly maxBodyBytes: number;
  readonly allowedProbeModes: readonly ProbeMode[];
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** Where an accepted message went. */
export interface Accepted {
  readonly messageId: string;
  readonly queue: 'standard' | 'fifo';
  readonly sequenceNumber?: string;
}

/** One entry's result in a batch response. */
export type BatchResult =
  | ({ readonly index: number } & Accepted)
  | { readonly index: number; readonly error: { code: string; message: string; details?: unknown } };

const ROUTES: Record<string, 'single' | 'batch'> = {
  '/v1/messages': 'single',
  '/v1/messages/batch': 'batch',
};

function routeOf(event: APIGatewayProxyEvent): 'single' | 'batch' | undefined {
  const candidates = [event.resource, event.path?.replace(/\/+$/, '')];
  for (const c of candidates) if (c && ROUTES[c]) return ROUTES[c];
  return undefined;
}

/** Builds the producer's request handler: routing, validation, enqueueing and the error contract. */
export function createApi(deps: ApiDeps) {
  const now = deps.now ?? (() => new Date());

  function bodyOf(event: APIGatewayProxyEvent): unknown {
    const contentType = header(event.headers, 'content-type');
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      throw new ApiError(
        'UnsupportedMediaType',
        `content-type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}`,
        [{ field: 'content-type', message: 'must be application/json' }],
      );
    }
    const raw = event.body ?? '';
    const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (bytes.length > deps.maxBodyBytes) {
      throw new ApiError(
        'PayloadTooLarge',
        `Request body is ${bytes.length} bytes; the limit is ${deps.maxBodyBytes}`,
        [{ field: '(body)', message: `larger than ${deps.maxBodyBytes} bytes` }],
      );
    }
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new ApiError('InvalidJson', `Request body is not valid JSON: ${(e as Error).message}`, [
        { field: '(body)', message: 'not valid JSON' },
      ]);
    }
  }

  function toMessage(entry: ValidEntry, correlationId: string, idempotencyKey: string | undefined) {
    const envelope: Envelope = createEnvelope(
      { type: entry.type, payload: entry.payload, correlationId },
      now(),
      deps.newId?.(),
    );
    // U+FFFE and U+FFFF are valid in JSON strings but not in SQS message bodies: escape them.
    const body = JSON.stringify(envelope).replace(
      /[\ufffe\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16)}`,
    );
    const attributes: Record<string, MessageAttributeValue> = {
      [ATTR.type]: { DataType: 'String', StringValue: entry.type },
      [ATTR.correlationId]: { DataType: 'String', StringValue: correlationId },
      ...(idempotencyKey
        ? { [ATTR.idempotencyKey]: { DataType: 'String', StringValue: idempotencyKey } }
        : {}),
    };
    const size = Buffer.byteLength(body) + JSON.stringify(attributes).length;
    if (size > SQS_MAX_MESSAGE_BYTES) {
      throw new ApiError(
        'PayloadTooLarge',
        `Message is ${size} bytes once wrapped; the queue limit is ${SQS_MAX_MESSAGE_BYTES}`,
        [{ field: 'payload', message: 'too large for one queue message' }],
      );
    }
    const fifo = entry.orderingKey !== undefined;
    return {
      fifo,
      envelope,
      params: {
        MessageBody: body,
        MessageAttributes: attributes,
        ...(fifo
          ? { MessageGroupId: entry.orderingKey, MessageDeduplicationId: idempotencyKey ?? envelope.id }
          : { DelaySeconds: entry.delaySeconds }),
      },
    };
  }

  function unavailable(error: unknown): ApiError {
    deps.logger.error('queue send failed', { error });
    return new ApiError(
      'QueueUnavailable',
      'The queue did not accept the message; retry with the same Idempotency-Key',
      [],
      {
        'retry-after': String(RETRY_AFTER_SECONDS),
      },
    );
  }

  function accepted(type: string, n = 1) {
    if (!deps.metrics) return;
    const m = deps.metrics.singleMetric();
    m.addDimension('type', type);
    m.addMetric('accepted', MetricUnit.Count, n);
  }

  async function single(event: APIGatewayProxyEvent, correlationId: string): Promise<APIGatewayProxyResult> {
    const body = bodyOf(event);
    const key = validateIdempotencyHeader(header(event.headers, 'idempotency-key'));
    const entry = validateEntry(body, deps);
    const msg = toMessage(entry, correlationId, key);
    let out;
    try {
      out = await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: msg.fifo ? deps.queues.fifoUrl : deps.queues.standardUrl,
          ...msg.params,
        }),
      );
    } catch (error) {
      throw unavailable(error);
    }
    if (!out.MessageId) throw unavailable(new Error('SendMessage returned no MessageId'));
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
    const entries = validateBatchShape(bodyOf(event));
    const results: BatchResult[] = new Array(entries.length);
    const prepared: {
      index: number;
      fifo: boolean;
      key?: string;
      entry: SendMessageBatchRequestEntry;
      type: string;
    }[] = [];
    entries.forEach((raw, index) => {
      try {
        const e = validateEntry(raw, { ...deps, batch: true, prefix: `messages.${index}` });
        const msg = toMessage(e, correlationId, e.idempotencyKey);
        prepared.push({
          index,
          fifo: msg.fifo,
          key: e.orderingKey,
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

    // FIFO: chunks go one after another so entries of one key keep request order; once an entry of
    // a key fails, its later entries are not sent (they would overtake it on the client's retry).
    const failedKeys = new Set<string>();
    const send = async (queueUrl: string, chunk: typeof prepared) => {
      const live = chunk.filter((p) => !(p.key && failedKeys.has(p.key)));
      for (const p of chunk) {
        if (p.key && failedKeys.has(p.key)) {
          results[p.index] = {
            index: p.index,
            error: {
              code: 'QueueUnavailable',
              message: `Not sent: an earlier entry with orderingKey "${p.key}" was not accepted`,
            },
          };
        }
      }
      if (live.length === 0) return;
      try {
        const out = await deps.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: live.map((p) => p.entry) }),
        );
        for (const ok of out.Successful ?? []) {
          const p = live.find((x) => x.entry.Id === ok.Id)!;
          results[p.index] = {
            index: p.index,
            messageId: ok.MessageId!,
            queue: p.fifo ? 'fifo' : 'standard',
            ...(ok.SequenceNumber ? { sequenceNumber: ok.SequenceNumber } : {}),
          };
          accepted(p.type);
        }
        for (const bad of out.Failed ?? []) {
          const p = live.find((x) => x.entry.Id === bad.Id)!;
          if (p.key) failedKeys.add(p.key);
          results[p.index] = {
            index: p.index,
            error: {
              code: 'QueueUnavailable',
              message: `${bad.Code ?? 'Error'}: ${bad.Message ?? 'not accepted by the queue'}`,
            },
          };
        }
      } catch (error) {
        unavailable(error);
        for (const p of live) {
          if (p.key) failedKeys.add(p.key);
          results[p.index] = {
            index: p.index,
            error: { code: 'QueueUnavailable', message: 'The queue did not accept the message; retry it' },
          };
        }
      }
    };
    const chunks = (list: typeof prepared) =>
      Array.from({ length: Math.ceil(list.length / 10) }, (_, i) => list.slice(i * 10, i * 10 + 10));
    // A FIFO chunk holds at most one entry per orderingKey: SQS reports batch entries one by one, so
    // a refused entry must not have a later entry of its key accepted in the same call.
    const fifoChunks = (list: typeof prepared) => {
      const out: (typeof prepared)[] = [];
      let rest = list;
      while (rest.length > 0) {
        const chunk: typeof prepared = [];
        const keys = new Set<string | undefined>();
        const left: typeof prepared = [];
        for (const p of rest) {
          if (chunk.length < 10 && !keys.has(p.key)) chunk.push(p);
          else left.push(p);
          keys.add(p.key);
        }
        out.push(chunk);
        rest = left;
      }
      return out;
    };
    const fifo = prepared.filter((p) => p.fifo);
    const standard = prepared.filter((p) => !p.fifo);
    await Promise.all([
      (async () => {
        for (const c of fifoChunks(fifo)) await send(deps.queues.fifoUrl, c);
      })(),
      ...chunks(standard).map((c) => send(deps.queues.standardUrl, c)),
    ]);

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
      return errorResponse(unavailable(error));
    }
  };
}
