import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ProbeMode } from '../shared/jobs/probe-modes';
import { encodeMessage, MessageTooLargeError, type EncodedMessage } from '../shared/message-codec';
import type { StatusStore, StatusSubject } from '../shared/status/types';
import type { JobCatalog } from './catalog';
import { messageGroupIdOf } from './group-id';
import { ApiError, errorResponse, header, json } from './http';
import {
  deduplicationIdFor,
  envelopeIdFor,
  requestHash,
  type Claim,
  type IdempotencyKeys,
  type StoredResponse,
} from './idempotency-keys';
import { statusUrl } from './location';
import { parseJsonBody, routeOf, statusIdOf } from './request';
import {
  queueUnavailable,
  RETRY_AFTER_SECONDS,
  sendOne,
  sendPlan,
  type Accepted,
  type BatchResult,
  type LaneQueues,
  type PreparedEntry,
  type SendDeps,
} from './send';
import type { ProbePolicy } from './probe-policy';
import { readableBy } from './status-access';
import { tenantOf, type TenantOptions } from './tenant';
import { validateBatchShape, validateEntry, validateIdempotencyHeader, type ValidEntry } from './validation';

/** What the producer needs; everything is injectable for tests. */
export interface ApiDeps {
  /** The job types accepted, with their lanes and payload validators (`./catalog.ts`). */
  readonly catalog: JobCatalog;
  readonly sqs: SQSClient;
  /** The default lanes' queues, and each custom lane's queue by lane name. */
  readonly queues: LaneQueues;
  /** How the stage authenticates callers, and what names their tenants (`./tenant.ts`). */
  readonly auth: TenantOptions;
  readonly maxBodyBytes: number;
  readonly allowedProbeModes: readonly ProbeMode[];
  /** Who may send probes and their limits (`./probe-policy.ts`). @default every probe the stage's modes allow, from anyone */
  readonly probePolicy?: ProbePolicy;
  readonly logger: Logger;
  /** @default no metrics */
  readonly metrics?: Metrics;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default random UUIDs */
  readonly newId?: () => string;
  /**
   * Status rows: `accepted` after each send, and reads for `GET /v1/messages/{id}` (wrap writes in
   * `SafeStatusStore`: a failed status write does not refuse an accepted message).
   * @default no status rows (GET answers 404)
   */
  readonly status?: StatusStore;
  /** `Idempotency-Key` records. @default keys are only passed on (FIFO deduplication, attribute) */
  readonly idempotencyKeys?: IdempotencyKeys;
  /**
   * Each lane's deferral cap in seconds: how far ahead a message's `notBefore` may be
   * (`./not-before.ts`). @default no bound
   */
  readonly maxNotBeforeSeconds?: Readonly<Record<string, number>>;
  /**
   * Reads a result kept in S3 (`GET /v1/messages/{id}/result` of a result too large for the
   * row). @default results kept in S3 answer 503
   */
  readonly results?: { read(key: string): Promise<string> };
}

/** What the producer knows of a request before reading it. */
interface RequestFacts {
  /** API Gateway's request id: the envelope's `correlationId` and the errors' `requestId`. */
  readonly correlationId: string;
  /** Who is calling (`./tenant.ts`). */
  readonly tenant: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The 422 for a key used with another request and the 409 for one still in flight (`undefined`
 * for a claim or a replay). Keys are the caller's own (`./idempotency-keys.ts`): neither answer
 * tells anything of another tenant's keys.
 */
function conflictOf(claim: Claim, field: string): ApiError | undefined {
  if (claim.outcome === 'reused')
    return new ApiError(
      'IdempotencyKeyReused',
      'This Idempotency-Key was used with a different request; use a new key for a new request',
      [{ field, message: 'already used with a different request' }],
    );
  if (claim.outcome === 'in-progress')
    return new ApiError(
      'RequestInProgress',
      'A request with this Idempotency-Key is still in flight; retry after Retry-After seconds',
      [{ field, message: 'in flight' }],
      { 'retry-after': String(claim.retryAfterSeconds) },
    );
  return undefined;
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
    request: RequestFacts,
    idempotencyKey: string | undefined,
    hash: string,
  ): EncodedMessage {
    const { correlationId, tenant } = request;
    // A keyed request gets the same envelope id on every retry: if a send that "failed" did reach
    // the queue, the retry's copy is the same message to the consumers' idempotency.
    const id =
      idempotencyKey !== undefined && deps.idempotencyKeys
        ? envelopeIdFor(tenant, idempotencyKey, hash)
        : deps.newId?.();
    try {
      return encodeMessage(entry, {
        correlationId,
        idempotencyKey,
        now: now(),
        ...(id ? { id } : {}),
        tenant,
        // Per tenant: its FIFO groups are its own, and on a standard queue the group names the
        // tenant to SQS fair queues.
        messageGroupId: messageGroupIdOf(tenant, entry.orderingKey),
        ...(idempotencyKey !== undefined
          ? { deduplicationId: deduplicationIdFor(tenant, idempotencyKey) }
          : {}),
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

  /** A scheduled message's row says `scheduled` with its `notBefore`. */
  const scheduled = (msg: EncodedMessage) =>
    msg.envelope.notBefore !== undefined ? { notBefore: msg.envelope.notBefore } : {};

  /** The status subject of an accepted message; its tenant becomes the row's owner. */
  function subjectOf(msg: EncodedMessage, lane: string, messageId: string): StatusSubject {
    return {
      id: msg.envelope.id,
      type: msg.envelope.type,
      queue: msg.fifo ? 'fifo' : 'standard',
      lane,
      messageId,
      acceptedAt: msg.envelope.createdAt,
      correlationId: msg.envelope.correlationId,
      ...(msg.envelope.tenant !== undefined ? { tenant: msg.envelope.tenant } : {}),
    };
  }

  async function single(event: APIGatewayProxyEvent, request: RequestFacts): Promise<APIGatewayProxyResult> {
    const { tenant } = request;
    const body = parseJsonBody(event, deps.maxBodyBytes);
    const key = validateIdempotencyHeader(header(event.headers, 'idempotency-key'));
    const entry = validateEntry(body, { ...deps, tenant, requestTime: now().getTime() });
    const hash = requestHash('single', body);
    const msg = encode(entry, request, key, hash);
    const keys = key !== undefined ? deps.idempotencyKeys : undefined;
    if (keys && key !== undefined) {
      const claim = await keys.claim(tenant, key, hash);
      if (claim.outcome === 'replay') {
        deps.logger.info('idempotent replay', { idempotencyKey: key });
        return json(claim.response.statusCode, JSON.parse(claim.response.body), claim.response.headers);
      }
      const conflict = conflictOf(claim, 'Idempotency-Key');
      if (conflict) throw conflict;
    }
    let out;
    try {
      out = await sendOne(sendDeps, { lane: entry.lane, fifo: msg.fifo }, msg.params);
    } catch (error) {
      if (keys && key !== undefined)
        await keys
          .release(tenant, key)
          .catch((e: unknown) => deps.logger.warn('could not release key', { error: e }));
      throw error;
    }
    accepted(entry.type);
    const writingStatus = deps.status?.accepted(subjectOf(msg, entry.lane, out.MessageId), scheduled(msg));
    deps.logger.info('message accepted', {
      messageId: out.MessageId,
      envelopeId: msg.envelope.id,
      type: entry.type,
      fifo: msg.fifo,
      lane: entry.lane,
    });
    const result: Accepted = {
      id: msg.envelope.id,
      messageId: out.MessageId,
      queue: msg.fifo ? 'fifo' : 'standard',
      lane: entry.lane,
      ...(out.SequenceNumber ? { sequenceNumber: out.SequenceNumber } : {}),
    };
    const headers = { location: statusUrl(event, msg.envelope.id) };
    if (keys && key !== undefined) {
      const stored: StoredResponse = { statusCode: 202, body: JSON.stringify(result), headers };
      // The message is on its queue: a failed completion leaves the claim to run out (RequestInProgress).
      await keys
        .complete(tenant, key, stored)
        .catch((e: unknown) => deps.logger.error('could not complete idempotency key', { error: e }));
    }
    await writingStatus;
    return json(202, result, headers);
  }

  /** The caller's own status row of the request's `{id}` (else 400 or 404). */
  async function ownRow(event: APIGatewayProxyEvent, tenant: string) {
    const id = statusIdOf(event);
    if (!UUID.test(id))
      throw new ApiError('ValidationError', `"${id.slice(0, 64)}" is not a message id (a UUID)`, [
        { field: 'id', message: 'must be a UUID' },
      ]);
    const found = await deps.status?.get(id.toLowerCase());
    // Another tenant's message answers as an unknown id does: same status, same body.
    if (!found || !readableBy(found, tenant)) throw new ApiError('NotFound', `No message with id ${id}`);
    return found;
  }

  async function status(event: APIGatewayProxyEvent, tenant: string): Promise<APIGatewayProxyResult> {
    const { owner: _owner, resultRef, ...body } = await ownRow(event, tenant);
    // A result kept in S3 is read at its own URL; the row says where and how large it is.
    const resultUrl = resultRef ? `${statusUrl(event, body.id)}/result` : null;
    return json(200, { ...body, resultUrl, resultBytes: resultRef ? resultRef.bytes : null });
  }

  /** `GET /v1/messages/{id}/result`: the JSON value its handler returned, wherever it is kept. */
  async function result(event: APIGatewayProxyEvent, tenant: string): Promise<APIGatewayProxyResult> {
    const row = await ownRow(event, tenant);
    if (row.status !== 'succeeded' || (row.result === null && row.resultRef === null))
      throw new ApiError('NotFound', `Message ${row.id} has no result (status ${row.status})`);
    if (row.resultRef === null) return json(200, row.result);
    const reader = deps.results;
    const text = await (
      reader ? reader.read(row.resultRef.key) : Promise.reject(new Error('no result reader'))
    ).catch((error: unknown) => {
      deps.logger.warn('result object unreadable', { error });
      throw new ApiError('ResultUnavailable', 'The result could not be read; retry later', [], {
        'retry-after': String(RETRY_AFTER_SECONDS),
      });
    });
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: text };
  }

  async function batch(event: APIGatewayProxyEvent, request: RequestFacts): Promise<APIGatewayProxyResult> {
    const { correlationId, tenant } = request;
    if (header(event.headers, 'idempotency-key') !== undefined)
      throw new ApiError(
        'ValidationError',
        'Idempotency-Key is not accepted on /v1/messages/batch; give each entry its own idempotencyKey',
        [
          {
            field: 'Idempotency-Key',
            message: 'not accepted on the batch endpoint; use messages[].idempotencyKey',
          },
        ],
      );
    const entries = validateBatchShape(parseJsonBody(event, deps.maxBodyBytes));
    const results: BatchResult[] = new Array(entries.length);
    const candidates: {
      prepared: PreparedEntry;
      msg: EncodedMessage;
      key?: string;
      raw: unknown;
    }[] = [];
    entries.forEach((raw, index) => {
      try {
        const e = validateEntry(raw, {
          ...deps,
          tenant: request.tenant,
          requestTime: now().getTime(),
          batch: true,
          prefix: `messages.${index}`,
        });
        const msg = encode(e, request, e.idempotencyKey, requestHash('batch-entry', raw));
        candidates.push({
          msg,
          raw,
          ...(e.idempotencyKey !== undefined ? { key: e.idempotencyKey } : {}),
          prepared: {
            index,
            fifo: msg.fifo,
            lane: e.lane,
            bytes: msg.bytes,
            ...(e.orderingKey !== undefined ? { key: e.orderingKey } : {}),
            type: e.type,
            entry: { Id: String(index), ...msg.params },
          },
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        results[index] = { index, error: error.toBody().error };
      }
    });
    if (candidates.length === 0) {
      const details = results.flatMap((r) =>
        'error' in r ? [{ field: `messages.${r.index}`, message: r.error.message }] : [],
      );
      throw new ApiError('ValidationError', 'No entry of the batch is valid', details);
    }
    // Entries with an idempotencyKey: claimed ones are sent; replays answer their first result.
    const keys = deps.idempotencyKeys;
    const claimed = new Set<number>();
    const prepared: PreparedEntry[] = [];
    await Promise.all(
      candidates.map(async (c) => {
        const index = c.prepared.index;
        if (!keys || c.key === undefined) return;
        const field = `messages.${index}.idempotencyKey`;
        let claim: Claim;
        try {
          claim = await keys.claim(tenant, c.key, requestHash('batch-entry', c.raw));
        } catch (error) {
          deps.logger.error('idempotency key claim failed', { error });
          results[index] = {
            index,
            error: { code: 'QueueUnavailable', message: 'The entry was not accepted; retry it' },
          };
          return;
        }
        if (claim.outcome === 'claimed') claimed.add(index);
        // The first result, at this request's index (the key may have been at another position).
        else if (claim.outcome === 'replay')
          results[index] = { ...(JSON.parse(claim.response.body) as BatchResult), index };
        else results[index] = { index, error: conflictOf(claim, field)!.toBody().error };
      }),
    );
    for (const c of candidates) {
      if (c.key === undefined || !keys || claimed.has(c.prepared.index)) prepared.push(c.prepared);
    }
    const byIndex = new Map(candidates.map((c) => [c.prepared.index, c]));

    if (prepared.length > 0) await sendPlan(prepared, sendDeps, results);
    await Promise.all(
      prepared.map(async (p) => {
        const c = byIndex.get(p.index)!;
        const r = results[p.index]!;
        if ('messageId' in r) {
          const withId = { ...r, id: c.msg.envelope.id };
          results[p.index] = withId;
          // The status row and the key's completion are independent: written side by side.
          await Promise.all([
            deps.status?.accepted(subjectOf(c.msg, c.prepared.lane, r.messageId), scheduled(c.msg)),
            keys && c.key !== undefined
              ? keys
                  .complete(tenant, c.key, { statusCode: 202, body: JSON.stringify(withId), headers: {} })
                  .catch((e: unknown) =>
                    deps.logger.error('could not complete idempotency key', { error: e }),
                  )
              : undefined,
          ]);
        } else if (keys && c.key !== undefined) {
          await keys
            .release(tenant, c.key)
            .catch((e: unknown) => deps.logger.warn('could not release key', { error: e }));
        }
      }),
    );

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
            requestId: correlationId,
          },
        },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    return json(207, { results });
  }

  /**
   * Handles one API Gateway REST proxy event. Never throws: every outcome is an HTTP response. A
   * request without a tenant (`./tenant.ts`) is refused first, with 403 and nothing else said.
   */
  return async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const correlationId = event.requestContext?.requestId ?? deps.newId?.() ?? 'unknown';
    const tenant = tenantOf(event.requestContext, deps.auth);
    if (tenant === undefined) {
      // API Gateway's authorization normally stops such a request: this is defence in depth.
      deps.logger.warn('request refused: no tenant for the caller', {
        authMode: deps.auth.mode,
        // Not a secret (the key's value is): it tells an operator which key the stage does not name.
        apiKeyId: event.requestContext?.identity?.apiKeyId ?? null,
      });
      return errorResponse(new ApiError('Forbidden', 'Access denied'), {}, correlationId);
    }
    deps.logger.appendKeys({ tenant });
    try {
      return await route(event, { correlationId, tenant });
    } finally {
      deps.logger.removeKeys(['tenant']);
    }
  };

  async function route(event: APIGatewayProxyEvent, request: RequestFacts): Promise<APIGatewayProxyResult> {
    const { correlationId, tenant } = request;
    try {
      const kind = routeOf(event);
      if (!kind) throw new ApiError('NotFound', `No route for ${event.httpMethod} ${event.path}`);
      if (kind === 'status' || kind === 'result') {
        if (event.httpMethod !== 'GET')
          throw new ApiError(
            'MethodNotAllowed',
            `${event.httpMethod} is not allowed on ${event.path}; use GET`,
            [],
            { allow: 'GET' },
          );
        return kind === 'status' ? await status(event, tenant) : await result(event, tenant);
      }
      if (event.httpMethod !== 'POST') {
        throw new ApiError(
          'MethodNotAllowed',
          `${event.httpMethod} is not allowed on ${event.path}; use POST`,
          [],
          { allow: 'POST' },
        );
      }
      return kind === 'single' ? await single(event, request) : await batch(event, request);
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status >= 500) deps.logger.warn('request not accepted', { code: error.code });
        else
          deps.logger.info('request refused', {
            code: error.code,
            status: error.status,
            details: error.details,
          });
        return errorResponse(error, {}, correlationId);
      }
      deps.logger.error('unexpected error', { error });
      return errorResponse(queueUnavailable(deps.logger, error), {}, correlationId);
    }
  }
}
