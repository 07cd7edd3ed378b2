import { jsonAnswer, type HttpAnswer } from '../apigateway/http-answer';
import type { FunctionHost } from '../functions/host';
import { filterInvocations, InvocationQueryError, parseInvocationQuery } from './invocations-query';
import type { Journal } from './journal';

/** Local-only endpoints (`/_local/...`) the API server also serves. */
export interface LocalEndpoints {
  /** `GET /_local/health` */
  health(): unknown;
  /** `GET /_local/alarms` */
  alarms(): unknown;
  /** `POST /_local/schedules/<rule logical id>`; `undefined` for an unknown rule. */
  triggerSchedule(logicalId: string): Promise<unknown> | undefined;
  /** The template's function logical ids (`?function=` must name one). @default any name is taken */
  functions?(): readonly string[];
  /**
   * The SQS message ids an envelope id has had (its status row's `messageIds`), for
   * `?envelopeId=`; `undefined` for an envelope the status table does not know.
   * @default `?envelopeId=` is refused (no status table)
   */
  messageIdsOf?(envelopeId: string): Promise<readonly string[] | undefined>;
  /**
   * `GET /_local/events`: every event the stage's buses accepted (the local events log: bus,
   * accepted time, EventBridge envelope, log groups reached), oldest first, those of `id` (an envelope id, or the EventBridge event id) only
   * when given, the newest `limit`. @default 404 (no event bus)
   */
  events?(filter: { readonly id?: string; readonly limit?: number }): unknown;
}

/** What `GET /_local/health` reports. */
export interface HealthReport {
  readonly status: 'ok';
  readonly uptimeSeconds: number;
  readonly invocations: number;
  /** Sandboxes started and invocations running, by function logical id. */
  readonly functions: Readonly<Record<string, { readonly sandboxes: number; readonly active: number }>>;
  /** Batches running, by event source mapping logical id. */
  readonly pollers: Readonly<Record<string, { readonly activeBatches: number }>>;
}

/** The stage's health now: uptime since `startedAt` (epoch ms), the journal's size, work in progress. */
export function healthReport(
  startedAt: number,
  journal: Journal,
  hosts: ReadonlyMap<string, Pick<FunctionHost, 'sandboxes' | 'active'>>,
  pollers: ReadonlyMap<string, { readonly activeBatches: number }>,
): HealthReport {
  return {
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    invocations: journal.length,
    functions: Object.fromEntries(
      [...hosts].map(([id, h]) => [id, { sandboxes: h.sandboxes, active: h.active }]),
    ),
    pollers: Object.fromEntries([...pollers].map(([id, p]) => [id, { activeBatches: p.activeBatches }])),
  };
}

/** Whether a request path is one of local mode's own (`/_local` and below), not the API's. */
export function isLocalPath(pathname: string): boolean {
  return pathname === '/_local' || pathname.startsWith('/_local/');
}

/**
 * `GET /_local/invocations`: the journal, oldest first, filtered by `?function=`, `?outcome=`
 * (`ok`/`failed`), `?messageId=` (an SQS message id), `?envelopeId=` (the 202's id: every SQS
 * message id its status row lists) and cut to the newest `?limit=`. A parameter that cannot be
 * used is 400 naming it; an envelope id the status table does not know is 404.
 */
async function answerInvocations(
  query: URLSearchParams,
  journal: Journal,
  local: LocalEndpoints,
): Promise<HttpAnswer> {
  const envelopeId = query.get('envelopeId') ?? undefined;
  try {
    const q = parseInvocationQuery(query, local.functions?.() ?? [...new Set([query.get('function') ?? ''])]);
    if (envelopeId === undefined) return jsonAnswer(200, filterInvocations(journal.list(), q));
    if (!local.messageIdsOf)
      throw new InvocationQueryError(
        'envelopeId',
        'envelopeId needs the status table, which this stack has not',
      );
    const ids = await local.messageIdsOf(envelopeId);
    if (!ids)
      return jsonAnswer(404, {
        error: {
          code: 'NotFound',
          message: `no message with envelope id ${envelopeId}`,
          field: 'envelopeId',
        },
      });
    const wanted = q.messageIds ? ids.filter((id) => q.messageIds!.includes(id)) : ids;
    return jsonAnswer(200, filterInvocations(journal.list(), { ...q, messageIds: wanted }));
  } catch (error) {
    if (!(error instanceof InvocationQueryError)) throw error;
    return jsonAnswer(400, { error: { code: 'BadRequest', message: error.message, field: error.field } });
  }
}

/**
 * Answers a `/_local/...` request: `GET /_local/invocations` (the journal, filtered by its
 * query: {@link answerInvocations}), `GET /_local/health`, `GET /_local/alarms`,
 * `GET /_local/events` (`?id=`, `?limit=`) and
 * `POST /_local/schedules/<rule logical id>`; 404 JSON for anything else.
 */
export async function answerLocalRequest(
  method: string,
  pathname: string,
  journal: Journal,
  local: LocalEndpoints,
  query: URLSearchParams = new URLSearchParams(),
): Promise<HttpAnswer> {
  if (method === 'GET' && pathname === '/_local/invocations') return answerInvocations(query, journal, local);
  if (method === 'GET' && pathname === '/_local/health') return jsonAnswer(200, local.health());
  if (method === 'GET' && pathname === '/_local/alarms') return jsonAnswer(200, local.alarms());
  if (method === 'GET' && pathname === '/_local/events' && local.events) {
    const limit = query.get('limit');
    if (limit !== null && !/^[1-9]\d{0,5}$/.test(limit))
      return jsonAnswer(400, {
        error: {
          code: 'BadRequest',
          message: 'limit must be a whole number from 1 to 999999',
          field: 'limit',
        },
      });
    const id = query.get('id');
    return jsonAnswer(
      200,
      local.events({ ...(id ? { id } : {}), ...(limit === null ? {} : { limit: Number(limit) }) }),
    );
  }
  const schedule = /^\/_local\/schedules\/([^/]+)$/.exec(pathname);
  if (schedule && method === 'POST') {
    const run = local.triggerSchedule(decodeURIComponent(schedule[1]!));
    return run
      ? jsonAnswer(200, await run)
      : jsonAnswer(404, { error: { code: 'NotFound', message: `no schedule rule ${schedule[1]}` } });
  }
  return jsonAnswer(404, { error: { code: 'NotFound', message: `no local endpoint ${method} ${pathname}` } });
}
