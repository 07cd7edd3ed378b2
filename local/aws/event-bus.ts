import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusalBody, refuseForeignRequest } from './foreign-request.mjs';
import { LocalModeError } from '../errors';
import type { LocalLogger } from '../log';
import type { EventBusSpec, EventRuleSpec } from '../template/topology';
import type { DeliveryOutcome, EventDelivery, EventEnvelope, LoggedEvent } from '../triggers/event-delivery';

/*
 * Local EventBridge: the PutEvents API (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`) on its
 * own port of 127.0.0.1, which the functions' SDK reaches through AWS_ENDPOINT_URL_EVENTBRIDGE.
 * Each accepted entry becomes an event envelope (version, id, detail-type, source, account, time,
 * region, resources, detail) and goes to every enabled rule of its bus whose EventPattern matches,
 * to each of the rule's targets (local/triggers/event-delivery.ts). PutEvents answers as AWS does
 * ("PutEvents", EventBridge API reference): 1–10 entries, 256 KB in all; per entry an `EventId`,
 * or `ErrorCode`/`ErrorMessage` for an entry that cannot be accepted (a missing Source,
 * DetailType or Detail, a Detail that is not a JSON object), counted in `FailedEntryCount`; an
 * unknown bus is a ResourceNotFoundException. Every event a bus accepts is kept in memory (the
 * newest `logCapacity`) with its bus, the time it was accepted and the log groups it was delivered
 * to: the local "events log" (`GET /_local/events`, the handle's `events()`).
 */

/** PutEvents' limits: entries per call and total size. */
export const PUT_EVENTS_LIMITS = { maxEntries: 10, maxBytes: 256 * 1024 } as const;

/** A PutEvents request entry. */
interface PutEventsEntry {
  readonly Source?: unknown;
  readonly DetailType?: unknown;
  readonly Detail?: unknown;
  readonly EventBusName?: unknown;
  readonly Resources?: unknown;
  readonly Time?: unknown;
}

/** A PutEvents result entry. */
export type PutEventsResultEntry =
  { readonly EventId: string } | { readonly ErrorCode: string; readonly ErrorMessage: string };

/** An error PutEvents answers as a whole (AWS JSON error shape). */
export class EventBusError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'EventBusError';
  }
}

/** One event a bus accepted: an entry of the local events log. */
export interface RecordedEvent {
  /** The bus's name. */
  readonly bus: string;
  /** Epoch ms when PutEvents accepted it. */
  readonly timestamp: number;
  /** The EventBridge envelope, as rules and targets receive it. */
  readonly event: EventEnvelope;
  /** Log group targets it has been delivered to so far (names; empty when none). */
  readonly logGroups: readonly string[];
}

/** An events log entry as the bus keeps it (its log groups grow as deliveries happen). */
type KeptEvent = Omit<RecordedEvent, 'logGroups'> & { readonly logGroups: string[] };

/** Options of {@link LocalEventBus}. */
export interface LocalEventBusOptions {
  readonly buses: readonly EventBusSpec[];
  readonly rules: readonly EventRuleSpec[];
  readonly delivery: EventDelivery;
  readonly region: string;
  readonly accountId: string;
  readonly logger: LocalLogger;
  /** Events kept for `GET /_local/events`. @default 10 000 */
  readonly logCapacity?: number;
}

/** The local event buses, their rules, and the PutEvents endpoint. */
export class LocalEventBus {
  private server?: Server;
  private readonly logged: KeptEvent[] = [];
  private readonly byEventId = new Map<string, KeptEvent>();
  private readonly outcomes: DeliveryOutcome[] = [];
  private readonly listeners = new Set<(o: DeliveryOutcome) => void>();
  private endpointUrl?: string;

  constructor(private readonly options: LocalEventBusOptions) {}

  /** `http://127.0.0.1:<port>` once listening (`AWS_ENDPOINT_URL_EVENTBRIDGE` of the functions). */
  get endpoint(): string {
    if (!this.endpointUrl) throw new LocalModeError('the event bus is not listening');
    return this.endpointUrl;
  }

  /** Starts the PutEvents endpoint on 127.0.0.1 (`port` 0 picks a free one). */
  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE'
            ? new LocalModeError(`port ${port} is in use; set LOCAL_EVENTS_PORT=<free port>`)
            : e,
        ),
      );
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.endpointUrl;
  }

  /** Notes that an event was delivered to a log group (the delivery's `onLogged`). */
  log(entry: LoggedEvent): void {
    const recorded = this.byEventId.get(entry.event.id);
    if (recorded) recorded.logGroups.push(entry.logGroupName);
  }

  /**
   * Events the buses accepted, oldest first: all, or those whose EventBridge id or whose detail's
   * `id`, `envelopeId` or `messageId` is `id`; the newest `limit` of them.
   */
  events(filter: { readonly id?: string; readonly limit?: number } = {}): readonly RecordedEvent[] {
    const { id, limit } = filter;
    const matches = (e: RecordedEvent) => {
      if (id === undefined) return true;
      if (e.event.id === id) return true;
      const d = e.event.detail as Record<string, unknown> | null;
      return !!d && typeof d === 'object' && [d.id, d.envelopeId, d.messageId].includes(id);
    };
    const out = this.logged.filter(matches).map((e) => ({ ...e, logGroups: [...e.logGroups] }));
    return limit === undefined ? out : out.slice(-limit);
  }

  /** How deliveries ended so far (newest last), and a way to wait for one. */
  deliveries(): readonly DeliveryOutcome[] {
    return [...this.outcomes];
  }

  /** Calls `listener` with each delivery outcome from now on; returns the unsubscribe function. */
  onDelivery(listener: (o: DeliveryOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** PutEvents: validates and accepts the entries, then delivers the accepted ones in the background. */
  putEvents(entries: unknown): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (!Array.isArray(entries) || entries.length === 0)
      throw new EventBusError(
        'ValidationException',
        "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (entries.length > PUT_EVENTS_LIMITS.maxEntries)
      throw new EventBusError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_LIMITS.maxEntries}`,
      );
    const size = (entries as PutEventsEntry[]).reduce((n, e) => n + entrySize(e), 0);
    if (size > PUT_EVENTS_LIMITS.maxBytes)
      throw new EventBusError(
        'ValidationException',
        `Total size of the entries in the request is over the limit (${size} > ${PUT_EVENTS_LIMITS.maxBytes} bytes).`,
      );
    for (const e of entries as PutEventsEntry[]) {
      const bus = e?.EventBusName;
      if (bus !== undefined && !this.busOf(bus))
        throw new EventBusError('ResourceNotFoundException', `Event bus ${String(bus)} does not exist.`);
    }
    const results = (entries as PutEventsEntry[]).map((e) => this.accept(e));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** Closes the endpoint and waits (up to `timeoutMs`) for deliveries in flight. */
  async stop(timeoutMs = 5000): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      // Keep-alive connections of the functions' SDK clients would hold close() open.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await this.options.delivery.stop(timeoutMs);
  }

  private busOf(name: unknown): EventBusSpec | undefined {
    return this.options.buses.find((b) => b.name === name || b.arn === name);
  }

  private accept(e: PutEventsEntry): PutEventsResultEntry {
    const invalid = (field: string, reason: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${field} is not valid. Reason: ${reason}`,
    });
    if (typeof e?.Source !== 'string' || e.Source === '')
      return invalid('Source', 'Source is a required argument.');
    if (typeof e.DetailType !== 'string' || e.DetailType === '')
      return invalid('DetailType', 'DetailType is a required argument.');
    if (typeof e.Detail !== 'string' || e.Detail === '')
      return invalid('Detail', 'Detail is a required argument.');
    let detail: unknown;
    try {
      detail = JSON.parse(e.Detail);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const bus = this.busOf(e.EventBusName ?? 'default')!;
    const time =
      e.Time === undefined
        ? new Date()
        : new Date(typeof e.Time === 'number' ? e.Time * 1000 : String(e.Time));
    const event: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': e.DetailType,
      source: e.Source,
      account: this.options.accountId,
      time: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: Array.isArray(e.Resources) ? e.Resources.map(String) : [],
      detail,
    };
    this.record(bus, event);
    this.route(bus, event);
    return { EventId: event.id };
  }

  private record(bus: EventBusSpec, event: EventEnvelope): void {
    const entry: KeptEvent = { bus: bus.name, timestamp: Date.now(), event, logGroups: [] };
    this.logged.push(entry);
    this.byEventId.set(event.id, entry);
    const max = this.options.logCapacity ?? 10_000;
    if (this.logged.length > max)
      for (const old of this.logged.splice(0, this.logged.length - max)) this.byEventId.delete(old.event.id);
  }

  private route(bus: EventBusSpec, event: EventEnvelope): void {
    for (const rule of this.options.rules) {
      if (rule.busName !== bus.name || !rule.enabled || !rule.matches(event)) continue;
      for (const target of rule.targets) {
        void this.options.delivery.deliver(rule, target, event).then((outcome) => {
          this.outcomes.push(outcome);
          if (this.outcomes.length > 10_000) this.outcomes.shift();
          for (const l of [...this.listeners]) l(outcome);
        });
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify(body));
    };
    const refusal = refuseForeignRequest(req.headers);
    if (refusal) {
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(refusalBody(refusal));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      answer(400, {
        __type: 'UnknownOperationException',
        message: `local EventBridge serves AWSEvents.PutEvents only, not ${target || `${req.method} ${req.url}`}`,
      });
      return;
    }
    let body: { Entries?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Entries?: unknown };
    } catch {
      answer(400, { __type: 'SerializationException', message: 'the request body is not JSON' });
      return;
    }
    try {
      answer(200, this.putEvents(body.Entries));
    } catch (error) {
      if (error instanceof EventBusError)
        answer(error.status, { __type: error.type, message: error.message });
      else {
        this.options.logger.warn(`PutEvents failed: ${(error as Error).message}`);
        answer(500, { __type: 'InternalException', message: (error as Error).message });
      }
    }
  }
}

/** An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"). */
function entrySize(e: PutEventsEntry): number {
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  return (
    (e?.Time === undefined ? 0 : 14) +
    bytes(e?.Source) +
    bytes(e?.DetailType) +
    bytes(e?.Detail) +
    (Array.isArray(e?.Resources) ? e.Resources.reduce((n: number, r) => n + bytes(r), 0) : 0)
  );
}
