import {
  FilterLogEventsCommand,
  type CloudWatchLogsClient,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { COMPLETION_DETAIL_TYPES, COMPLETION_EVENT_SOURCE } from '../../lambda/shared/events/completion';
import { PUBLISHED_MESSAGE } from '../../lambda/shared/events/relay';
import { UsageError } from './errors';

/**
 * `ops events`: recent completion events (docs/DESIGN.md §3.6). On a deployed stage they are read
 * from the completion relay's log group (its line per published event, `completion event
 * published`: ids, detail type, type, lane, status, attempts, failure kind; never the result or
 * the tenant); on the local stage from local mode's events log (`GET /_local/events`: every event
 * its buses accepted, the completion events among them).
 */

/** One completion event as `ops events` shows it. */
export interface CompletionEventView {
  /** When it was published: the relay's log line (AWS) or when the local bus accepted it. */
  readonly time: string;
  readonly detailType: string;
  readonly envelopeId: string;
  readonly type: string | null;
  readonly lane: string | null;
  readonly status: string | null;
  readonly attempts: number | null;
  readonly failureKind: string | null;
  /** The event's stable id (`detail.eventId`: equal on every copy of one event). */
  readonly eventId: string;
  readonly correlationId: string | null;
}

/** What `ops events` asks a target for. */
export interface CompletionEventsQuery {
  /** One envelope id's events only. */
  readonly id?: string;
  /** The newest `limit` events. */
  readonly limit: number;
  /** Events from then on. */
  readonly since: Date;
}

/** What a target answers. */
export interface CompletionEventsPage {
  /** Oldest first, at most `limit`. */
  readonly events: CompletionEventView[];
  /** Where they were read: the log group's name, or `local events log`. */
  readonly source: string;
  /** Whether the scan stopped at {@link MAX_SCANNED} lines: older events may be missing. */
  readonly truncated: boolean;
}

/** Log lines one `ops events` reads at most on AWS (its window is `--since`). */
export const MAX_SCANNED = 10_000;

const DETAIL_TYPES = new Set<string>(Object.values(COMPLETION_DETAIL_TYPES));

const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** `--id`: an envelope id (it goes into a log filter pattern, so only id characters). */
export function parseEnvelopeId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(v))
    throw new UsageError(`--id ${v}: not an envelope id (letters, digits, . _ : -)`);
  return v;
}

/** `--since 30m`: a duration back from now, in seconds, minutes, hours or days. */
export function parseDuration(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([1-9]\d{0,6})(s|m|h|d)$/.exec(v);
  if (!m) throw new UsageError(`--${name} ${v}: use a duration such as 90s, 30m, 2h or 7d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** The filter pattern of the relay's published lines (of one envelope id with `id`). */
export function publishedFilterPattern(id?: string): string {
  return `{ $.message = "${PUBLISHED_MESSAGE}"${id === undefined ? '' : ` && $.envelopeId = "${id}"`} }`;
}

/** The view of one relay log line (`undefined` for a line that is not a published event). */
export function viewOfLogEvent(e: FilteredLogEvent): CompletionEventView | undefined {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(e.message ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (line.message !== PUBLISHED_MESSAGE || typeof line.envelopeId !== 'string') return undefined;
  return {
    time: new Date(e.timestamp ?? 0).toISOString(),
    detailType: String(line.detailType ?? ''),
    envelopeId: line.envelopeId,
    type: strOrNull(line.type),
    lane: strOrNull(line.lane),
    status: strOrNull(line.status),
    attempts: numOrNull(line.attempts),
    failureKind: strOrNull(line.failureKind),
    eventId: String(line.eventId ?? ''),
    correlationId: strOrNull(line.correlationId),
  };
}

/** An entry of local mode's events log, as `GET /_local/events` answers it. */
export interface LocalLoggedEvent {
  readonly timestamp: number;
  readonly event: {
    readonly source?: string;
    readonly 'detail-type'?: string;
    readonly detail?: Record<string, unknown>;
  };
}

/** The view of a local events log entry (`undefined` for an event that is not a completion event). */
export function viewOfLocalEvent(e: LocalLoggedEvent): CompletionEventView | undefined {
  const detailType = e.event['detail-type'] ?? '';
  const d = e.event.detail;
  if (e.event.source !== COMPLETION_EVENT_SOURCE || !DETAIL_TYPES.has(detailType) || !d) return undefined;
  const failure = d.failure as { kind?: unknown } | null | undefined;
  return {
    time: new Date(e.timestamp).toISOString(),
    detailType,
    envelopeId: String(d.id ?? ''),
    type: strOrNull(d.type),
    lane: strOrNull(d.lane),
    status: strOrNull(d.status),
    attempts: numOrNull(d.attempts),
    failureKind: strOrNull(failure?.kind),
    eventId: String(d.eventId ?? ''),
    correlationId: strOrNull(d.correlationId),
  };
}

/** The newest `limit` of `views` from `since` on, oldest first. */
export function newest(
  views: readonly CompletionEventView[],
  query: CompletionEventsQuery,
): CompletionEventView[] {
  const from = query.since.getTime();
  return views
    .filter((v) => Date.parse(v.time) >= from)
    .sort((a, b) => a.time.localeCompare(b.time))
    .slice(-query.limit);
}

/**
 * The completion events of a deployed stage: `FilterLogEvents` on the relay's log group from
 * `since`, filtered to its published lines (and the envelope id), every page, at most
 * {@link MAX_SCANNED} lines; the newest `limit`.
 */
export async function awsCompletionEvents(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  query: CompletionEventsQuery,
): Promise<CompletionEventsPage> {
  const views: CompletionEventView[] = [];
  let scanned = 0;
  let token: string | undefined;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({
        logGroupName,
        filterPattern: publishedFilterPattern(query.id),
        startTime: query.since.getTime(),
        ...(token ? { nextToken: token } : {}),
      }),
    );
    for (const e of page.events ?? []) {
      scanned++;
      const v = viewOfLogEvent(e);
      if (v) views.push(v);
    }
    token = page.nextToken;
  } while (token && scanned < MAX_SCANNED);
  return { events: newest(views, query), source: logGroupName, truncated: token !== undefined };
}
