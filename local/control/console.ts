import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import type { ArchiveRecord } from '../../lambda/shared/archive';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import {
  DEFER_LOG_ATTRIBUTE,
  RUN_LOG_ATTRIBUTE,
  STATUS_TABLE_KEYS,
  statusKey,
  WAIT_LOG_ATTRIBUTE,
} from '../../lambda/shared/status/keys';
import type { MessageStatus } from '../../lambda/shared/status/types';
import { purgeDlq, redrive } from '../../ops/lib/dlq';
import { authHeaders } from '../../ops/lib/request-auth';
import { countWaiting, type LaneWaiting } from '../../ops/lib/waiting';
import type { JobTypesFile } from '../../lib/bundling/job-types';
import { replay } from '../../ops/lib/replay';
import { OpsError } from '../../ops/lib/errors';
import { localTarget } from '../../ops/lib/target';
import { consoleCss, consolePage } from '../console/page';
import { COMPLETION_EVENT_SOURCE } from '../../lambda/shared/events/completion';
import type { Emulator, LocalQueue } from '../aws/emulator';
import type { RecordedEvent } from '../aws/event-bus';
import type { FunctionHost } from '../functions/host';
import type { LocalEnv } from '../index';
import type { LocalLogger } from '../log';
import type { LaneSpec } from '../template/lanes';
import type { Topology } from '../template/topology';
import type { AlarmEvaluator } from './alarms';
import { drawDashboard, type DashboardSources, type DashboardWidget, type DrawnWidget } from './dashboard';
import {
  buildTimeline,
  type ArchiveFacts,
  type CompletionEventFacts,
  type ConsoleAction,
  type MessageLife,
  type QueuedCopy,
  type RowLogs,
} from './console-timeline';
import { filterInvocations, InvocationQueryError, parseInvocationQuery } from './invocations-query';
import type { InvocationRecord, Journal } from './journal';

/** The console's path; `/_local` and `/_local/` redirect to it. */
export const CONSOLE_PATH = '/_local/console';

/** Header that carries the console's action token (the page reads it from its own HTML). */
export const CONSOLE_TOKEN_HEADER = 'x-console-token';

/** The stack as the console draws it: from the template, once. */
export interface ConsoleModel {
  readonly stage: string;
  readonly apiUrl: string;
  readonly routes: readonly { readonly method: string; readonly path: string; readonly functionId: string }[];
  readonly functions: readonly {
    readonly id: string;
    readonly name: string;
    readonly timeoutSeconds: number;
  }[];
  readonly lanes: readonly {
    readonly name: string;
    readonly queue: string;
    readonly dlq: string;
    readonly fifo: boolean;
    /** Functions an event source mapping of the lane's queue invokes. */
    readonly consumers: readonly string[];
  }[];
  /** Every queue by logical id. */
  readonly queues: readonly {
    readonly id: string;
    readonly name: string;
    readonly role: 'queue' | 'dlq' | 'other';
    readonly lane: string | null;
  }[];
  readonly buckets: readonly { readonly id: string; readonly name: string }[];
  readonly tables: readonly { readonly id: string; readonly name: string }[];
  readonly schedules: readonly {
    readonly id: string;
    readonly expression: string;
    readonly targets: readonly string[];
  }[];
  /** Stream event source mappings: the table whose stream feeds the function. (Absent before completion events.) */
  readonly streams?: readonly {
    readonly id: string;
    readonly table: string;
    readonly functionId: string;
    readonly onFailure: string | null;
  }[];
  /** Event-pattern rules: their bus and targets (queue or function ids, log groups, API destinations). */
  readonly eventRules?: readonly {
    readonly id: string;
    readonly bus: string;
    readonly targets: readonly string[];
  }[];
  readonly alarms: readonly {
    readonly id: string;
    readonly name: string;
    readonly queue: string | null;
    readonly evaluated: boolean;
    readonly note?: string;
  }[];
}

/** Depth of a queue at one instant. */
export interface QueueSample {
  /** Epoch ms. */
  readonly t: number;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Source queues: records its consumers took in since the previous sample. */
  readonly processed?: number;
}

/** An alarm's change of state, as the console saw it. */
export interface AlarmChange {
  readonly at: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** A dead-lettered message as the console lists it (ids and failure only: no payload). */
export interface DlqEntry {
  readonly lane: string;
  readonly dlqMessageId: string;
  readonly messageId: string;
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly failureKind: string | null;
  readonly errorName: string | null;
  readonly receiveCount: number;
  readonly sentAt: string;
}

/** Per function: what the journal holds so far. */
export interface FunctionCounts {
  readonly invocations: number;
  /** Invocations that failed or reported a batch item failure. */
  readonly failedInvocations: number;
  /** Records (SQS messages) its invocations had. */
  readonly messages: number;
  /** Records that failed (batch item failures, or every record of a failed invocation). */
  readonly failedMessages: number;
  readonly active: number;
  readonly sandboxes: number;
}

/** What the console pushes every tick. */
export interface ConsoleSnapshot {
  readonly t: number;
  readonly queues: Readonly<Record<string, QueueSample & { readonly oldestAgeSeconds: number | null }>>;
  readonly functions: Readonly<Record<string, FunctionCounts>>;
  readonly alarms: ReturnType<AlarmEvaluator['states']>;
  /** The alarms' changes of state since local mode started, newest last (the last 100). */
  readonly alarmHistory: readonly AlarmChange[];
  readonly archive: { readonly objects: number | null };
  readonly dlq: readonly DlqEntry[];
  readonly journalLength: number;
  /** Invocations recorded since the previous snapshot (at most {@link MAX_PUSHED_INVOCATIONS}). */
  readonly invocations: readonly InvocationRecord[];
  /** How many recorded since the previous snapshot were left out. */
  readonly invocationsLeftOut: number;
  /**
   * Deferred and scheduled messages per lane, counted from the status table (one `Scan`, as
   * `ops status --waiting`) every {@link WAITING_EVERY_TICKS} ticks; `null` before the first
   * count or without a status table.
   */
  readonly waiting: WaitingSnapshot | null;
}

/** The status table's waiting messages per lane, as the console last counted them. */
export interface WaitingSnapshot {
  /** Epoch ms of the count. */
  readonly t: number;
  /** Every lane of the model (zeros where none wait). */
  readonly lanes: Readonly<Record<string, LaneWaiting>>;
  /** Rows the scan read. */
  readonly scannedRows: number;
}

/** Ticks between two counts of the waiting messages (a scan reads the whole status table: every 5 s at the default 1 s tick). */
export const WAITING_EVERY_TICKS = 5;

/** Invocations a snapshot carries at most (the journal view fetches the rest on demand). */
export const MAX_PUSHED_INVOCATIONS = 500;

/** Options of {@link LocalConsole}. */
export interface LocalConsoleOptions {
  readonly stage: string;
  readonly topology: Topology;
  readonly lanes: readonly LaneSpec[];
  readonly queues: readonly LocalQueue[];
  readonly buckets: Readonly<Record<string, string>>;
  readonly tables: Readonly<Record<string, string>>;
  readonly emulator: Emulator;
  readonly journal: Journal;
  readonly hosts: ReadonlyMap<string, Pick<FunctionHost, 'active' | 'sandboxes'>>;
  readonly alarms: AlarmEvaluator;
  /** DynamoDB client of the emulator (for the status table). */
  readonly dynamodb?: DynamoDBClient;
  readonly logger: LocalLogger;
  /** Local mode's events log (the message view lists a message's completion events). @default none */
  readonly events?: (filter: { readonly id?: string }) => readonly RecordedEvent[];
  /** The job types the stack accepts (the send form), from the cloud assembly. @default none */
  readonly jobTypes?: JobTypesFile | null;
  /**
   * The template's dashboards (`GET /_local/console/dashboard` draws their widgets from local data).
   * @default none
   */
  readonly dashboard?: {
    readonly dashboards: readonly {
      readonly logicalId: string;
      readonly widgets: readonly DashboardWidget[];
      readonly error?: string;
    }[];
    readonly sources: Omit<DashboardSources, 'queueSamples' | 'journal'>;
  };
  /** How often queues are sampled and snapshots pushed. @default 1000 */
  readonly intervalMs?: number;
  /** Samples of depth history kept per queue. @default 600 (10 minutes at 1 s) */
  readonly historySamples?: number;
}

interface InspectedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentTimestamp: number;
  readonly approximateReceiveCount: number;
  readonly messageAttributes?: Record<
    string,
    { readonly StringValue?: string; readonly stringValue?: string }
  >;
}
interface Inspection {
  readonly messages: {
    readonly ready: readonly InspectedMessage[];
    readonly delayed: readonly InspectedMessage[];
    readonly inflight: readonly { readonly message: InspectedMessage }[];
  };
}

const envelopeIdOf = (body: string): string | null => {
  try {
    const v = (JSON.parse(body) as { id?: unknown } | null)?.id;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
};
const typeOf = (body: string): string | null => {
  try {
    const v = (JSON.parse(body) as { type?: unknown } | null)?.type;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
};
const notBeforeOf = (body: string): string | null => {
  try {
    const v = (JSON.parse(body) as { notBefore?: unknown } | null)?.notBefore;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
};
const attr = (m: InspectedMessage, name: string): string | undefined => {
  const a = m.messageAttributes?.[name];
  return a?.StringValue ?? a?.stringValue;
};

const ASSET_DIR = path.join(__dirname, '..', 'console');
const MAX_INDEXED_IDS = 100_000;

/**
 * The local console (`GET /_local/console`): one page over local mode's own state, live through
 * Server-Sent Events (`GET /_local/console/events`): the template's topology with counts, queue
 * depths and their history, the journal, DLQs and alarms; a message's life by envelope id or SQS
 * message id (`GET /_local/console/message?id=`); a redrive (`POST /_local/console/actions/redrive`,
 * through the ops library's `redrive`), which needs the token the page carries.
 */
export class LocalConsole {
  readonly token = randomBytes(24).toString('base64url');
  readonly model: ConsoleModel;
  private readonly history = new Map<string, QueueSample[]>();
  /** Per queue, the oldest message's age at each sample that inspected it (the dashboard's AWS/SQS age). */
  private readonly ages = new Map<string, { t: number; age: number | null }[]>();
  private readonly latest = new Map<string, QueueSample & { oldestAgeSeconds: number | null }>();
  private readonly counts = new Map<
    string,
    { invocations: number; failedInvocations: number; messages: number; failedMessages: number }
  >();
  private readonly clients = new Set<ServerResponse>();
  private pending: InvocationRecord[] = [];
  private leftOut = 0;
  private dlq: DlqEntry[] = [];
  private archiveObjects: number | null = null;
  private readonly envelopeOfMessage = new Map<string, string>();
  /** Envelopes seen on a queue with a `notBefore` (sent to run later): their transitions start `scheduled`. */
  private readonly scheduledAt = new Map<string, string>();
  private readonly actions: ConsoleAction[] = [];
  private readonly alarmHistory: AlarmChange[] = [];
  private readonly alarmStates = new Map<string, string>();
  /** Records each lane queue's consumers had taken in at the previous sample. */
  private readonly consumedBefore = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;
  private ticks = 0;
  private waitingTicks = 0;
  private waiting: WaitingSnapshot | null = null;
  private readonly status?: DynamoStatusStore;
  private readonly docs?: DynamoDBDocumentClient;
  private readonly statusTable?: string;
  private env?: LocalEnv;
  private script?: string;

  constructor(private readonly options: LocalConsoleOptions) {
    const { topology, lanes, queues } = options;
    const laneOf = new Map<string, { lane: string; role: 'queue' | 'dlq' }>();
    for (const l of lanes) {
      laneOf.set(l.queueId, { lane: l.name, role: 'queue' });
      laneOf.set(l.dlqId, { lane: l.name, role: 'dlq' });
    }
    const queueNames = new Map(queues.map((q) => [q.name, q.logicalId]));
    this.model = {
      stage: options.stage,
      apiUrl: '',
      routes: (topology.api?.resources ?? []).flatMap((r) =>
        r.methods.map((m) => ({ method: m.httpMethod, path: r.path, functionId: m.functionId })),
      ),
      functions: topology.functions.map((f) => ({
        id: f.logicalId,
        name: f.name,
        timeoutSeconds: f.timeoutSeconds,
      })),
      lanes: lanes.map((l) => ({
        name: l.name,
        queue: l.queueId,
        dlq: l.dlqId,
        fifo: l.fifo,
        consumers: topology.mappings.filter((m) => m.queueId === l.queueId).map((m) => m.functionId),
      })),
      queues: queues.map((q) => ({
        id: q.logicalId,
        name: q.name,
        role: laneOf.get(q.logicalId)?.role ?? 'other',
        lane: laneOf.get(q.logicalId)?.lane ?? null,
      })),
      buckets: Object.entries(options.buckets).map(([id, name]) => ({ id, name })),
      tables: Object.entries(options.tables).map(([id, name]) => ({ id, name })),
      schedules: topology.schedules.map((s) => ({
        id: s.logicalId,
        expression: s.expression,
        targets: s.targets.map((t) => t.functionId),
      })),
      streams: topology.streamMappings.map((m) => ({
        id: m.logicalId,
        table: m.tableId,
        functionId: m.functionId,
        onFailure: m.onFailureQueueId ?? null,
      })),
      eventRules: topology.eventRules.map((r) => ({
        id: r.logicalId,
        bus: r.busName,
        targets: r.targets.map((t) =>
          t.kind === 'sqs'
            ? t.queueId
            : t.kind === 'lambda'
              ? t.functionId
              : t.kind === 'logs'
                ? `log group ${t.logGroupName}`
                : `webhook ${t.destinationId}`,
        ),
      })),
      alarms: [
        ...options.alarms.evaluated.map((a) => ({
          id: a.logicalId,
          name: a.name,
          queue: queueNames.get(a.queue.name) ?? null,
          evaluated: true,
        })),
        ...options.alarms.notEvaluated.map((a) => ({
          id: a.logicalId,
          name: a.name,
          queue: null,
          evaluated: false,
          note: a.reason,
        })),
      ],
    };
    for (const r of options.journal.list()) this.count(r);
    this.unsubscribe = options.journal.onRecord((r) => {
      this.count(r);
      if (this.clients.size === 0) return;
      if (this.pending.length >= MAX_PUSHED_INVOCATIONS) {
        this.pending.shift();
        this.leftOut++;
      }
      this.pending.push(r);
    });
    const table =
      options.tables.StatusTable ??
      (Object.keys(options.tables).length === 1 ? Object.values(options.tables)[0] : undefined);
    if (options.dynamodb && table) {
      this.docs = DynamoDBDocumentClient.from(options.dynamodb);
      this.statusTable = table;
      // retentionDays only sets the TTL of writes, which the console never makes.
      this.status = new DynamoStatusStore(this.docs, { tableName: table, retentionDays: 1 });
    }
  }

  /** Completes the model once the API is up and the env file's contents are known. */
  ready(env: LocalEnv): void {
    this.env = env;
    (this.model as { apiUrl: string }).apiUrl = env.apiUrl;
  }

  /** Samples now, then every `intervalMs`. */
  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Ends every event stream and stops sampling. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    for (const c of this.clients) c.end();
    this.clients.clear();
    await this.sampling;
  }

  /** The SQS message ids of an envelope (its status row's); `undefined` when there is no row. */
  async messageIdsOf(envelopeId: string): Promise<readonly string[] | undefined> {
    if (!this.status) return undefined;
    return (await this.status.get(envelopeId))?.messageIds;
  }

  private count(r: InvocationRecord): void {
    const c = this.counts.get(r.function) ?? {
      invocations: 0,
      failedInvocations: 0,
      messages: 0,
      failedMessages: 0,
    };
    c.invocations++;
    if (r.error || r.batchItemFailures.length) c.failedInvocations++;
    c.messages += r.messageIds.length;
    c.failedMessages += r.error ? r.messageIds.length : r.batchItemFailures.length;
    this.counts.set(r.function, c);
  }

  private tick(): Promise<void> {
    this.sampling ??= this.sample()
      .catch((error) => this.options.logger.warn(`console: sampling failed: ${(error as Error).message}`))
      .finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async sample(): Promise<void> {
    const t = Date.now();
    const watched = this.clients.size > 0;
    const dlq: DlqEntry[] = [];
    if (watched) {
      // Someone looks: every message (ids for searches, the DLQ list, the oldest message's age).
      await Promise.all(
        this.options.queues.map(async (q) => {
          const inspected = (await this.options.emulator.inspectQueue(q.name)) as Inspection | undefined;
          if (!inspected) return;
          const { ready, delayed, inflight } = inspected.messages;
          const all = [...ready, ...delayed, ...inflight.map((i) => i.message)];
          const oldest = all.length ? Math.min(...all.map((m) => m.sentTimestamp)) : undefined;
          this.record(q.logicalId, t, ready.length, inflight.length, delayed.length, oldest);
          for (const m of all) {
            this.index(m.messageId, envelopeIdOf(m.body));
            this.noteScheduled(m.body);
          }
          const lane = this.model.queues.find((x) => x.id === q.logicalId);
          if (lane?.role === 'dlq') {
            for (const m of all.slice(0, 100)) dlq.push(this.dlqEntry(lane.lane!, m));
          }
        }),
      );
      this.dlq = dlq.sort((a, b) => (a.sentAt < b.sentAt ? -1 : 1));
    } else {
      // Nobody looks: the counts alone, in one request, for the depth history.
      const res = await fetch(`${this.options.emulator.endpoint}/_fauxqs/queues`);
      const list = (await res.json()) as {
        name: string;
        approximateMessageCount: number;
        approximateInflightCount: number;
        approximateDelayedCount: number;
      }[];
      const byName = new Map(list.map((q) => [q.name, q]));
      for (const q of this.options.queues) {
        const c = byName.get(q.name);
        if (c)
          this.record(
            q.logicalId,
            t,
            c.approximateMessageCount,
            c.approximateInflightCount,
            c.approximateDelayedCount,
          );
      }
    }
    this.noteAlarmChanges();
    if (watched && (this.ticks++ % 3 === 0 || this.archiveObjects === null))
      this.archiveObjects = await this.countArchive();
    if (watched && this.waitingTicks++ % WAITING_EVERY_TICKS === 0) this.waiting = await this.countWaiting();
    if (!watched) return;
    this.push('snapshot', this.snapshot(t));
  }

  private record(
    id: string,
    t: number,
    visible: number,
    inFlight: number,
    delayed: number,
    oldest?: number,
  ): void {
    const lane = this.model.lanes.find((l) => l.queue === id);
    let processed: number | undefined;
    if (lane) {
      const consumed = lane.consumers.reduce((n, f) => n + (this.counts.get(f)?.messages ?? 0), 0);
      processed = consumed - (this.consumedBefore.get(id) ?? consumed);
      this.consumedBefore.set(id, consumed);
    }
    const sample: QueueSample = {
      t,
      visible,
      inFlight,
      delayed,
      ...(processed !== undefined ? { processed } : {}),
    };
    const oldestAgeSeconds = oldest === undefined ? null : Math.floor((t - oldest) / 1000);
    this.latest.set(id, { ...sample, oldestAgeSeconds });
    const ages = this.ages.get(id) ?? [];
    ages.push({ t, age: oldestAgeSeconds });
    if (ages.length > (this.options.historySamples ?? 600)) ages.shift();
    this.ages.set(id, ages);
    const h = this.history.get(id) ?? [];
    h.push(sample);
    const limit = this.options.historySamples ?? 600;
    if (h.length > limit) h.splice(0, h.length - limit);
    this.history.set(id, h);
  }

  private noteAlarmChanges(): void {
    for (const a of this.options.alarms.states()) {
      const before = this.alarmStates.get(a.logicalId);
      // The first evaluation (INSUFFICIENT_DATA → OK) is not a change, as the evaluator's log has it.
      if (
        before !== undefined &&
        before !== a.state &&
        !(before === 'INSUFFICIENT_DATA' && a.state === 'OK')
      ) {
        this.alarmHistory.push({
          at: a.updatedAt,
          name: a.name,
          from: before,
          to: a.state,
          reason: a.reason,
        });
        if (this.alarmHistory.length > 100) this.alarmHistory.shift();
      }
      this.alarmStates.set(a.logicalId, a.state);
    }
  }

  private dlqEntry(lane: string, m: InspectedMessage): DlqEntry {
    return {
      lane,
      dlqMessageId: m.messageId,
      messageId: attr(m, DLQ_ATTR.originalMessageId) ?? m.messageId,
      envelopeId: envelopeIdOf(m.body),
      type: typeOf(m.body),
      failureKind: attr(m, DLQ_ATTR.failureKind) ?? null,
      errorName: attr(m, DLQ_ATTR.errorName) ?? null,
      receiveCount: m.approximateReceiveCount,
      sentAt: new Date(m.sentTimestamp).toISOString(),
    };
  }

  private noteScheduled(body: string): void {
    const notBefore = notBeforeOf(body);
    const id = notBefore ? envelopeIdOf(body) : null;
    if (!id || this.scheduledAt.has(id)) return;
    this.scheduledAt.set(id, notBefore!);
    if (this.scheduledAt.size > MAX_INDEXED_IDS)
      this.scheduledAt.delete(this.scheduledAt.keys().next().value!);
  }

  private index(messageId: string, envelopeId: string | null): void {
    if (!envelopeId || this.envelopeOfMessage.has(messageId)) return;
    this.envelopeOfMessage.set(messageId, envelopeId);
    if (this.envelopeOfMessage.size > MAX_INDEXED_IDS)
      this.envelopeOfMessage.delete(this.envelopeOfMessage.keys().next().value!);
  }

  /** Deferred and scheduled rows per lane ({@link countWaiting}, `ops status --waiting`'s scan). */
  private async countWaiting(): Promise<WaitingSnapshot | null> {
    if (!this.options.dynamodb || !this.statusTable) return null;
    try {
      const counted = await countWaiting(this.options.dynamodb, this.statusTable);
      const lanes: Record<string, LaneWaiting> = {};
      for (const l of this.model.lanes) lanes[l.name] = { deferred: 0, scheduled: 0 };
      Object.assign(lanes, counted.lanes);
      return { t: Date.now(), lanes, scannedRows: counted.scannedRows };
    } catch (error) {
      this.options.logger.warn(`console: counting waiting messages failed: ${(error as Error).message}`);
      return this.waiting;
    }
  }

  private async countArchive(): Promise<number | null> {
    const [bucket] = Object.values(this.options.buckets);
    if (!bucket) return null;
    let n = 0;
    let token: string | undefined;
    try {
      do {
        const out = await this.options.emulator.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: 'failed/', ContinuationToken: token }),
        );
        n += out.KeyCount ?? 0;
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return n;
    } catch {
      return null;
    }
  }

  /** What the page shows now. */
  snapshot(t = Date.now()): ConsoleSnapshot {
    const invocations = this.pending;
    const invocationsLeftOut = this.leftOut;
    this.pending = [];
    this.leftOut = 0;
    return {
      t,
      queues: Object.fromEntries(this.latest),
      functions: Object.fromEntries(
        this.model.functions.map((f) => {
          const c = this.counts.get(f.id) ?? {
            invocations: 0,
            failedInvocations: 0,
            messages: 0,
            failedMessages: 0,
          };
          const h = this.options.hosts.get(f.id);
          return [f.id, { ...c, active: h?.active ?? 0, sandboxes: h?.sandboxes ?? 0 }];
        }),
      ),
      alarms: this.options.alarms.states(),
      alarmHistory: this.alarmHistory,
      archive: { objects: this.archiveObjects },
      dlq: this.dlq,
      journalLength: this.options.journal.length,
      invocations,
      invocationsLeftOut,
      waiting: this.waiting,
    };
  }

  private push(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) c.write(frame);
  }

  /** Finds a message by envelope id or SQS message id and tells its life. */
  async messageLife(id: string): Promise<MessageLife> {
    let status: MessageStatus | null = (await this.status?.get(id)) ?? null;
    let envelopeId: string | null = status ? id : (this.envelopeOfMessage.get(id) ?? null);
    const copies: QueuedCopy[] = [];
    const inspections = await Promise.all(
      this.options.queues.map(async (q) => ({
        q,
        inspected: (await this.options.emulator.inspectQueue(q.name)) as Inspection | undefined,
      })),
    );
    if (!envelopeId) {
      for (const { inspected } of inspections) {
        const m =
          inspected &&
          this.allOf(inspected).find(
            (x) => x.m.messageId === id || attr(x.m, DLQ_ATTR.originalMessageId) === id,
          );
        if (m) envelopeId = envelopeIdOf(m.m.body);
        if (envelopeId) break;
      }
    }
    if (!envelopeId) envelopeId = await this.envelopeByScan(id);
    if (envelopeId && !status) status = (await this.status?.get(envelopeId)) ?? null;
    const ids = new Set([...(status?.messageIds ?? []), ...(envelopeId ? [] : [id])]);
    for (const { q, inspected } of inspections) {
      if (!inspected) continue;
      const role = this.model.queues.find((x) => x.id === q.logicalId)?.role === 'dlq' ? 'dlq' : 'queue';
      for (const { m, state } of this.allOf(inspected)) {
        const original = attr(m, DLQ_ATTR.originalMessageId);
        const mine =
          (envelopeId !== null && envelopeIdOf(m.body) === envelopeId) ||
          ids.has(m.messageId) ||
          (original !== undefined && ids.has(original));
        if (!mine) continue;
        copies.push({
          queue: q.name,
          role,
          messageId: m.messageId,
          state,
          receiveCount: m.approximateReceiveCount,
          sentAt: new Date(m.sentTimestamp).toISOString(),
          ...(notBeforeOf(m.body) ? { notBefore: notBeforeOf(m.body)! } : {}),
          ...(attr(m, DLQ_ATTR.failureKind) ? { failureKind: attr(m, DLQ_ATTR.failureKind) } : {}),
          ...(attr(m, DLQ_ATTR.errorName) ? { errorName: attr(m, DLQ_ATTR.errorName) } : {}),
        });
      }
    }
    const archive = status?.failure?.archiveKey ? await this.archiveFacts(status.failure.archiveKey) : null;
    const logs = envelopeId && status ? await this.rowLogs(envelopeId) : null;
    const plain = status
      ? (({ owner: _owner, ...rest }) => rest)(status as MessageStatus & { owner?: string })
      : null;
    return buildTimeline({
      query: id,
      envelopeId,
      status: plain,
      messageIds: [...ids, ...copies.map((c) => c.messageId)],
      journal: this.options.journal.list(),
      copies,
      archive,
      actions: this.actions.filter(
        (a) => (envelopeId !== null && a.envelopeId === envelopeId) || ids.has(a.messageId),
      ),
      completionEvents: envelopeId ? this.completionEventsOf(envelopeId) : [],
      ...(this.env ? { apiUrl: this.env.apiUrl } : {}),
      ...(logs ? { logs } : {}),
      ...(envelopeId && this.scheduledAt.has(envelopeId)
        ? { sentNotBefore: this.scheduledAt.get(envelopeId)! }
        : {}),
    });
  }

  /** The status row's internal logs (each run's, each deferral's and each unrun delivery's SQS message id). */
  private async rowLogs(envelopeId: string): Promise<RowLogs | null> {
    if (!this.docs || !this.statusTable) return null;
    const out = await this.docs.send(
      new GetCommand({
        TableName: this.statusTable,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(envelopeId) },
        ProjectionExpression: '#r, #d, #w',
        ExpressionAttributeNames: {
          '#r': RUN_LOG_ATTRIBUTE,
          '#d': DEFER_LOG_ATTRIBUTE,
          '#w': WAIT_LOG_ATTRIBUTE,
        },
      }),
    );
    const list = (v: unknown) =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    return {
      runs: list(out.Item?.[RUN_LOG_ATTRIBUTE]),
      deferrals: list(out.Item?.[DEFER_LOG_ATTRIBUTE]),
      waits: list(out.Item?.[WAIT_LOG_ATTRIBUTE]),
    };
  }

  /** The completion events of `envelopeId` in local mode's events log, oldest first. */
  private completionEventsOf(envelopeId: string): CompletionEventFacts[] {
    return (this.options.events?.({ id: envelopeId }) ?? []).flatMap((e) => {
      const d = e.event.detail as { id?: unknown; eventId?: unknown } | null;
      if (e.event.source !== COMPLETION_EVENT_SOURCE || d?.id !== envelopeId) return [];
      return [
        {
          at: new Date(e.timestamp).toISOString(),
          bus: e.bus,
          detailType: e.event['detail-type'],
          eventBridgeId: e.event.id,
          eventId: typeof d.eventId === 'string' ? d.eventId : null,
          logGroups: e.logGroups,
        },
      ];
    });
  }

  private allOf(i: Inspection): { m: InspectedMessage; state: QueuedCopy['state'] }[] {
    return [
      ...i.messages.ready.map((m) => ({ m, state: 'visible' as const })),
      ...i.messages.inflight.map((x) => ({ m: x.message, state: 'in flight' as const })),
      ...i.messages.delayed.map((m) => ({ m, state: 'delayed' as const })),
    ];
  }

  private async envelopeByScan(messageId: string): Promise<string | null> {
    if (!this.docs || !this.statusTable) return null;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.docs.send(
        new ScanCommand({
          TableName: this.statusTable,
          FilterExpression: 'begins_with(#pk, :prefix) AND contains(messageIds, :id)',
          ExpressionAttributeNames: { '#pk': STATUS_TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':prefix': STATUS_TABLE_KEYS.statusPrefix, ':id': messageId },
          ProjectionExpression: 'id',
          ExclusiveStartKey: start,
        }),
      );
      const hit = out.Items?.[0]?.id;
      if (typeof hit === 'string') return hit;
      start = out.LastEvaluatedKey;
    } while (start);
    return null;
  }

  private async archiveFacts(key: string): Promise<ArchiveFacts | null> {
    const [bucket] = Object.values(this.options.buckets);
    if (!bucket) return null;
    try {
      const out = await this.options.emulator.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const r = JSON.parse(await out.Body!.transformToString()) as ArchiveRecord;
      return {
        key,
        archivedAt: r.archivedAt,
        kind: r.failure.kind,
        errorName: r.failure.errorName,
        errorMessage: r.failure.errorMessage,
        receiveCount: r.receiveCount,
      };
    } catch {
      return null;
    }
  }

  /** Redrives DLQ messages (by id, or a lane's whole DLQ) with the ops library's `redrive`. */
  async redrive(input: { ids?: readonly string[]; lane?: string }): Promise<unknown> {
    return this.withTarget(async (target) => {
      const result = await redrive(target, {
        ...(input.lane ? { lane: input.lane } : {}),
        ...(input.ids?.length ? { ids: input.ids } : {}),
      });
      this.note('redrive', result.items);
      return result;
    });
  }

  /**
   * Replays archived messages (by envelope or message id) with the ops library's `replay`; a
   * message still in a DLQ is replayed too, its DLQ copy deleted once the replay was accepted.
   */
  async replay(input: { ids: readonly string[]; lane?: string }): Promise<unknown> {
    return this.withTarget(async (target) => {
      const result = await replay(
        target,
        { ids: input.ids, ...(input.lane ? { lane: input.lane } : {}) },
        { includeDeadLettered: true },
      );
      this.note('replay', result.items);
      return result;
    });
  }

  /** Empties a lane's DLQ with the ops library's `purgeDlq` (refused while a message has no archive record). */
  async purge(input: { lane: string }): Promise<unknown> {
    return this.withTarget(async (target) => purgeDlq(target, input.lane));
  }

  private async withTarget<T>(
    act: (target: Awaited<ReturnType<typeof localTarget>>) => Promise<T>,
  ): Promise<T> {
    if (!this.env) throw new OpsError('local mode is still starting');
    const target = await localTarget(this.env);
    try {
      return await act(target);
    } finally {
      target.close();
      void this.tick();
    }
  }

  private note(
    action: ConsoleAction['action'],
    items: readonly {
      envelopeId: string | null;
      messageId: string;
      outcome: string;
      newMessageId?: string;
    }[],
  ): void {
    const at = new Date().toISOString();
    for (const item of items) {
      this.actions.push({
        at,
        action,
        envelopeId: item.envelopeId,
        messageId: item.messageId,
        outcome: item.outcome,
        ...(item.newMessageId ? { newMessageId: item.newMessageId } : {}),
      });
      if (item.newMessageId) this.index(item.newMessageId, item.envelopeId);
    }
    if (this.actions.length > 10_000) this.actions.splice(0, this.actions.length - 10_000);
  }

  /**
   * Serves a console request; `false` for a path that is not the console's (the caller answers
   * it). Local mode's request guard has already refused foreign and cross-site requests.
   */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const method = (req.method ?? 'GET').toUpperCase();
    const p = url.pathname;
    if (p === '/_local' || p === '/_local/') {
      if (method !== 'GET') return false;
      req.resume();
      res.writeHead(302, { location: CONSOLE_PATH, 'cache-control': 'no-store', 'content-length': '0' });
      res.end();
      return true;
    }
    if (p !== CONSOLE_PATH && !p.startsWith(`${CONSOLE_PATH}/`)) return false;
    const route = p.slice(CONSOLE_PATH.length) || '/';
    if (method === 'GET') req.resume();
    if (method === 'GET' && (route === '/' || route === '')) {
      this.send(res, 200, 'text/html; charset=utf-8', consolePage(this.token, this.model.stage));
      return true;
    }
    if (method === 'GET' && route === '/app.css') {
      this.send(res, 200, 'text/css; charset=utf-8', consoleCss());
      return true;
    }
    if (method === 'GET' && route === '/app.mjs') {
      this.script ??= readFileSync(path.join(ASSET_DIR, 'app.mjs'), 'utf8');
      this.send(res, 200, 'text/javascript; charset=utf-8', this.script);
      return true;
    }
    if (method === 'GET' && route === '/types') {
      this.json(res, 200, {
        types: this.options.jobTypes?.types ?? [],
        ...(this.options.jobTypes
          ? {}
          : {
              note: 'the cloud assembly lists no job types (synthesized before the console had a send form?)',
            }),
      });
      return true;
    }
    if (method === 'POST' && route === '/actions/send') {
      await this.handleSend(req, res);
      return true;
    }
    if (method === 'GET' && route === '/dashboard') {
      this.json(res, 200, this.dashboard());
      return true;
    }
    if (method === 'GET' && route === '/model') {
      this.json(res, 200, this.model);
      return true;
    }
    if (method === 'GET' && route === '/events') {
      this.openStream(req, res);
      return true;
    }
    if (method === 'GET' && route === '/invocations') {
      this.json(res, ...(await this.invocations(url.searchParams)));
      return true;
    }
    if (method === 'GET' && route === '/message') {
      const id = url.searchParams.get('id')?.trim();
      if (!id) {
        this.json(res, 400, {
          error: {
            code: 'BadRequest',
            message: 'id is required (an envelope id or SQS message id)',
            field: 'id',
          },
        });
        return true;
      }
      const life = await this.messageLife(id);
      if (!life.status && life.events.length === 0)
        this.json(res, 404, { error: { code: 'NotFound', message: `no message ${id}`, field: 'id' } });
      else this.json(res, 200, life);
      return true;
    }
    const action = /^\/actions\/(redrive|replay|purge)$/.exec(route)?.[1];
    if (method === 'POST' && action) {
      const given = String(req.headers[CONSOLE_TOKEN_HEADER] ?? '');
      const body = await readSmallBody(req);
      if (!this.tokenMatches(given)) {
        this.json(res, 403, {
          error: {
            code: 'Forbidden',
            message: `actions need the console's token (${CONSOLE_TOKEN_HEADER})`,
            field: CONSOLE_TOKEN_HEADER,
          },
        });
        return true;
      }
      let input: { ids?: unknown; lane?: unknown };
      try {
        input = JSON.parse(body || '{}') as typeof input;
      } catch {
        this.json(res, 400, {
          error: { code: 'BadRequest', message: 'the body is not JSON', field: 'body' },
        });
        return true;
      }
      if (
        input.ids !== undefined &&
        (!Array.isArray(input.ids) || !input.ids.every((i) => typeof i === 'string' && i))
      ) {
        this.json(res, 400, {
          error: { code: 'BadRequest', message: 'ids must be an array of message ids', field: 'ids' },
        });
        return true;
      }
      if (input.lane !== undefined && !this.model.lanes.some((l) => l.name === input.lane)) {
        this.json(res, 400, {
          error: {
            code: 'BadRequest',
            message: `no lane ${String(input.lane)} (lanes: ${this.model.lanes.map((l) => l.name).join(', ')})`,
            field: 'lane',
          },
        });
        return true;
      }
      const missing =
        action === 'purge'
          ? input.lane === undefined && { field: 'lane', message: 'purge needs the lane whose DLQ to empty' }
          : action === 'replay'
            ? !(input.ids as string[] | undefined)?.length && {
                field: 'ids',
                message: 'replay needs the ids',
              }
            : input.ids === undefined &&
              input.lane === undefined && { field: 'ids', message: 'name the messages (ids) or a lane' };
      if (missing) {
        this.json(res, 400, { error: { code: 'BadRequest', ...missing } });
        return true;
      }
      const asked = input as { ids?: string[]; lane?: string };
      try {
        this.json(
          res,
          200,
          action === 'purge'
            ? await this.purge({ lane: asked.lane! })
            : action === 'replay'
              ? await this.replay({ ids: asked.ids!, ...(asked.lane ? { lane: asked.lane } : {}) })
              : await this.redrive(asked),
        );
      } catch (error) {
        if (!(error instanceof OpsError)) throw error;
        this.json(res, 409, { error: { code: 'Conflict', message: error.message } });
      }
      return true;
    }
    return false;
  }

  /**
   * The journal view's query: `GET /_local/invocations`'s filters, with `id` for an envelope id
   * (every SQS message id its status row lists) or else an SQS message id; answers which it was.
   */
  private async invocations(params: URLSearchParams): Promise<[number, unknown]> {
    const query = new URLSearchParams(params);
    const id = query.get('id')?.trim();
    query.delete('id');
    const rawOffset = query.get('offset');
    query.delete('offset');
    try {
      if (rawOffset !== null && !/^\d+$/.test(rawOffset))
        throw new InvocationQueryError('offset', `offset must be a whole number, not ${rawOffset}`);
      const offset = Number(rawOffset ?? 0);
      const { limit, ...q } = parseInvocationQuery(
        query,
        this.model.functions.map((f) => f.id),
      );
      const envelopeIds = id ? await this.messageIdsOf(id) : undefined;
      const all = this.options.journal.list();
      const filtered =
        q.function === undefined && q.outcome === undefined && !id
          ? all
          : filterInvocations(all, { ...q, ...(id ? { messageIds: envelopeIds ?? [id] } : {}) });
      // The page's window: `limit` matches, skipping the newest `offset` (oldest first, as ever).
      const end = Math.max(0, filtered.length - offset);
      const records = filtered.slice(limit === undefined ? 0 : Math.max(0, end - limit), end);
      return [
        200,
        {
          by: id ? (envelopeIds ? 'envelopeId' : 'messageId') : null,
          total: filtered.length,
          offset,
          records,
        },
      ];
    } catch (error) {
      if (!(error instanceof InvocationQueryError)) throw error;
      return [400, { error: { code: 'BadRequest', message: error.message, field: error.field } }];
    }
  }

  /**
   * `POST /_local/console/actions/send` (with the token): `{ type, payload, orderingKey?,
   * notBefore?, idempotencyKey? }` sent to `POST /v1/messages` as the stage's first tenant, with
   * its credentials (the page never holds them); answers `{ status, body }`, the API's answer.
   */
  private async handleSend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const given = String(req.headers[CONSOLE_TOKEN_HEADER] ?? '');
    const body = await readBody(req, SEND_MAX_BYTES);
    const refuse = (status: number, code: string, message: string, field: string) =>
      this.json(res, status, { error: { code, message, field } });
    if (!this.tokenMatches(given))
      return refuse(
        403,
        'Forbidden',
        `actions need the console's token (${CONSOLE_TOKEN_HEADER})`,
        CONSOLE_TOKEN_HEADER,
      );
    if (body === null)
      return refuse(413, 'PayloadTooLarge', `the body is over ${SEND_MAX_BYTES} bytes`, 'body');
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      return refuse(400, 'BadRequest', 'the body is not JSON', 'body');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return refuse(400, 'BadRequest', 'the body must be a JSON object', 'body');
    if (typeof input.type !== 'string' || !input.type)
      return refuse(400, 'BadRequest', 'type is required', 'type');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (input.idempotencyKey !== undefined) {
      if (typeof input.idempotencyKey !== 'string' || !input.idempotencyKey)
        return refuse(400, 'BadRequest', 'idempotencyKey must be a non-empty string', 'idempotencyKey');
      headers['idempotency-key'] = input.idempotencyKey;
    }
    const message = {
      type: input.type,
      payload: input.payload,
      ...(input.orderingKey !== undefined ? { orderingKey: input.orderingKey } : {}),
      ...(input.notBefore !== undefined ? { notBefore: input.notBefore } : {}),
    };
    try {
      const answer = await this.withTarget(async (target) => {
        const url = `${target.apiUrl}/v1/messages`;
        const text = JSON.stringify(message);
        const res = await fetch(url, {
          method: 'POST',
          headers: await authHeaders(target, { method: 'POST', url, headers, body: text }, () => {
            throw new OpsError('the local stage has no API key');
          }),
          body: text,
        });
        const raw = await res.text();
        let parsed: unknown = raw;
        try {
          parsed = JSON.parse(raw);
        } catch {
          // Not JSON: shown as text.
        }
        return { status: res.status, body: parsed };
      });
      this.json(res, 200, answer);
    } catch (error) {
      if (!(error instanceof OpsError)) throw error;
      this.json(res, 409, { error: { code: 'Conflict', message: error.message } });
    }
  }

  private tokenMatches(given: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write(`retry: 1000\nevent: model\ndata: ${JSON.stringify(this.model)}\n\n`);
    res.write(`event: history\ndata: ${JSON.stringify(Object.fromEntries(this.history))}\n\n`);
    // The journal so far: the page's list starts from its newest records.
    const recent = this.options.journal.list().slice(-MAX_PUSHED_INVOCATIONS);
    res.write(`event: journal\ndata: ${JSON.stringify({ length: this.options.journal.length, recent })}\n\n`);
    this.clients.add(res);
    req.socket.setKeepAlive(true);
    const gone = () => this.clients.delete(res);
    res.on('close', gone);
    res.on('error', gone);
    void this.tick();
  }

  private send(res: ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy':
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      'referrer-policy': 'no-referrer',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }

  /** The template's dashboards, each widget drawn from local data now. */
  private dashboard(): {
    readonly dashboards: readonly {
      readonly logicalId: string;
      readonly widgets: readonly DrawnWidget[];
      readonly error?: string;
    }[];
  } {
    const d = this.options.dashboard;
    if (!d) return { dashboards: [] };
    const byName = new Map(this.options.queues.map((q) => [q.name, q.logicalId]));
    const sources: DashboardSources = {
      ...d.sources,
      journal: () => this.options.journal.list(),
      queueSamples: (name) => {
        const id = byName.get(name);
        if (!id) return undefined;
        const ages = new Map((this.ages.get(id) ?? []).map((a) => [a.t, a.age]));
        return (this.history.get(id) ?? []).map((s) => ({
          t: s.t,
          visible: s.visible,
          inFlight: s.inFlight,
          delayed: s.delayed,
          // Inspected samples know the oldest message's age; counted ones do not.
          age: ages.has(s.t) ? ages.get(s.t)! : null,
        }));
      },
    };
    const now = Date.now();
    return {
      dashboards: d.dashboards.map((x) => ({
        logicalId: x.logicalId,
        widgets: drawDashboard(x.widgets, sources, now),
        ...(x.error ? { error: x.error } : {}),
      })),
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }
}

/** Reads a small request body (64 KiB at most; the rest is dropped). */
/** The largest body `POST /_local/console/actions/send` reads (the API's own limit is checked by the API). */
const SEND_MAX_BYTES = 2 * 1024 * 1024;

/** The body, or `null` when it is over `limit` bytes (the rest is read and dropped). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function readSmallBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
