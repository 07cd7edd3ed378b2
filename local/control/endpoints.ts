import { jsonAnswer, type HttpAnswer } from '../apigateway/http-answer';
import type { FunctionHost } from '../functions/host';
import type { Journal } from './journal';

/** Local-only endpoints (`/_local/...`) the API server also serves. */
export interface LocalEndpoints {
  /** `GET /_local/health` */
  health(): unknown;
  /** `GET /_local/alarms` */
  alarms(): unknown;
  /** `POST /_local/schedules/<rule logical id>`; `undefined` for an unknown rule. */
  triggerSchedule(logicalId: string): Promise<unknown> | undefined;
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
 * Answers a `/_local/...` request: `GET /_local/invocations` (the journal), `GET /_local/health`,
 * `GET /_local/alarms` and `POST /_local/schedules/<rule logical id>`; 404 JSON for anything else.
 */
export async function answerLocalRequest(
  method: string,
  pathname: string,
  journal: Journal,
  local: LocalEndpoints,
): Promise<HttpAnswer> {
  if (method === 'GET' && pathname === '/_local/invocations') return jsonAnswer(200, journal.list());
  if (method === 'GET' && pathname === '/_local/health') return jsonAnswer(200, local.health());
  if (method === 'GET' && pathname === '/_local/alarms') return jsonAnswer(200, local.alarms());
  const schedule = /^\/_local\/schedules\/([^/]+)$/.exec(pathname);
  if (schedule && method === 'POST') {
    const run = local.triggerSchedule(decodeURIComponent(schedule[1]!));
    return run
      ? jsonAnswer(200, await run)
      : jsonAnswer(404, { error: { code: 'NotFound', message: `no schedule rule ${schedule[1]}` } });
  }
  return jsonAnswer(404, { error: { code: 'NotFound', message: `no local endpoint ${method} ${pathname}` } });
}
