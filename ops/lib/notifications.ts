import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { deleteRead, DlqWalker, queueDepth } from './dlq';
import { OpsError, UsageError } from './errors';
import { awsFailure, type NotificationsTarget, type QueuePair, type Target } from './target';

/**
 * The notifications DLQ (issue 18: webhooks): where EventBridge puts a completion event that an
 * API destination (a webhook) did not take within its retry policy. Each message's body is the
 * event (the EventBridge envelope); its attributes say why (ERROR_CODE, ERROR_MESSAGE,
 * RETRY_ATTEMPTS, RULE_ARN, TARGET_ARN). `ops dlq list|show|redrive` and `ops purge` reach it as
 * `--lane notifications`.
 *
 * A redrive cannot move these messages back the way a lane's DLQ is redriven: their source is a
 * rule's target, not a queue (`StartMessageMoveTask` has nowhere to send them). So `dlq redrive
 * --lane notifications` publishes each event's `detail` again on the stage's bus (`PutEvents`,
 * same source and detail-type) and deletes the DLQ message once the bus accepted it. Every rule
 * of the bus that matches receives it again, not only the webhook's: consumers de-duplicate on
 * `detail.eventId`, which the republished event keeps (the EventBridge `id` is new).
 */

/** What `--lane` names the notifications DLQ. */
export const NOTIFICATIONS_LANE = 'notifications';

/** One dead-lettered notification. */
export interface NotificationMessage {
  readonly lane: typeof NOTIFICATIONS_LANE;
  /** The DLQ message's id. */
  readonly dlqMessageId: string;
  /** The EventBridge event's id (`id` of the envelope; new on every publication). */
  readonly eventBridgeId: string | null;
  readonly detailType: string | null;
  /** The message's envelope id (`detail.id`). */
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly status: string | null;
  /** The completion event's stable id (`detail.eventId`). */
  readonly eventId: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly retryAttempts: number | null;
  readonly ruleArn: string | null;
  readonly targetArn: string | null;
  /** When EventBridge dead-lettered it (the DLQ message's SentTimestamp). */
  readonly failedAt: string | null;
}

interface EventEnvelope {
  readonly id?: unknown;
  readonly source?: unknown;
  readonly 'detail-type'?: unknown;
  readonly resources?: unknown;
  readonly detail?: unknown;
}

const attr = (m: Message, name: string): string | null => m.MessageAttributes?.[name]?.StringValue ?? null;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function envelopeOf(m: Message): EventEnvelope | undefined {
  try {
    const e = JSON.parse(m.Body ?? '') as unknown;
    return e && typeof e === 'object' && !Array.isArray(e) ? (e as EventEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

/** The view of one notifications DLQ message. */
export function viewOfNotification(m: Message): NotificationMessage {
  const e = envelopeOf(m);
  const d = (e?.detail && typeof e.detail === 'object' ? e.detail : {}) as Record<string, unknown>;
  const retries = attr(m, 'RETRY_ATTEMPTS');
  const sent = m.Attributes?.SentTimestamp;
  return {
    lane: NOTIFICATIONS_LANE,
    dlqMessageId: m.MessageId ?? '',
    eventBridgeId: str(e?.id),
    detailType: str(e?.['detail-type']),
    envelopeId: str(d.id),
    type: str(d.type),
    status: str(d.status),
    eventId: str(d.eventId),
    errorCode: attr(m, 'ERROR_CODE'),
    errorMessage: attr(m, 'ERROR_MESSAGE'),
    retryAttempts: retries !== null && /^\d+$/.test(retries) ? Number(retries) : null,
    ruleArn: attr(m, 'RULE_ARN'),
    targetArn: attr(m, 'TARGET_ARN'),
    failedAt: sent && /^\d+$/.test(sent) ? new Date(Number(sent)).toISOString() : null,
  };
}

/** Every id a notification answers to: the DLQ message's, the EventBridge event's, the envelope id, the event id. */
function idsOf(v: NotificationMessage): string[] {
  return [v.dlqMessageId, v.eventBridgeId, v.envelopeId, v.eventId].filter((x): x is string => !!x);
}

/**
 * Whether `lane` names the notifications DLQ on `target`: it is `notifications` and no lane of the
 * app has that name. A target without the DLQ (a stage without webhooks) is refused in one line.
 */
export function isNotificationsLane(target: Target, lane: string | undefined): boolean {
  if (lane !== NOTIFICATIONS_LANE || target.queues.some((q) => q.key === lane)) return false;
  if (!target.notifications)
    throw new OpsError(
      `${target.name === 'local' ? 'local mode' : `stage ${target.name}`} has no notifications DLQ (it has no webhooks)`,
    );
  return true;
}

/** The pair {@link DlqWalker} reads: the notifications DLQ is its own source (it has none). */
function pairOf(n: NotificationsTarget): QueuePair {
  return { key: NOTIFICATIONS_LANE, source: n.dlq, dlq: n.dlq };
}

/** Reads every message of the DLQ it can (held until `walker.release()`). */
async function readAll(walker: DlqWalker): Promise<Message[]> {
  const read: Message[] = [];
  for (let round = await walker.next(); round; round = await walker.next()) read.push(...round);
  return read;
}

/** Result of {@link listNotifications}. */
export interface NotificationListing {
  readonly messages: NotificationMessage[];
  readonly queue: {
    readonly lane: string;
    readonly dlq: string;
    readonly depth: number;
    readonly shown: number;
  };
}

/** Peeks at the notifications DLQ (each message held briefly and made visible again). */
export async function listNotifications(
  target: Target,
  options: { limit?: number } = {},
): Promise<NotificationListing> {
  const n = target.notifications!;
  const depth = await queueDepth(target, n.dlq.url);
  const walker = new DlqWalker(target, pairOf(n));
  const messages: NotificationMessage[] = [];
  try {
    for (let round = await walker.next(); round; round = await walker.next()) {
      for (const m of round) {
        if (options.limit !== undefined && messages.length >= options.limit) break;
        messages.push(viewOfNotification(m));
      }
      if (options.limit !== undefined && messages.length >= options.limit) break;
    }
  } finally {
    await walker.release();
  }
  return {
    messages,
    queue: {
      lane: NOTIFICATIONS_LANE,
      dlq: n.dlq.name,
      depth: depth.visible + depth.inFlight + depth.delayed,
      shown: messages.length,
    },
  };
}

/** What `dlq show` prints for a notification. */
export interface NotificationShow {
  readonly notification: NotificationMessage;
  /** The whole event, as EventBridge dead-lettered it. */
  readonly event: unknown;
  readonly dlqCopy: {
    readonly lane: string;
    readonly queue: string;
    readonly attributes: Record<string, string>;
    readonly messageAttributes: Record<string, string>;
  };
}

/**
 * The notification whose DLQ message id, EventBridge event id, envelope id or event id is `id`;
 * `undefined` when none (or the target has no notifications DLQ).
 */
export async function findNotification(target: Target, id: string): Promise<NotificationShow | undefined> {
  const n = target.notifications;
  if (!n) return undefined;
  const walker = new DlqWalker(target, pairOf(n));
  try {
    for (let round = await walker.next(); round; round = await walker.next()) {
      const m = round.find((x) => idsOf(viewOfNotification(x)).includes(id));
      if (m)
        return {
          notification: viewOfNotification(m),
          event: envelopeOf(m) ?? m.Body ?? null,
          dlqCopy: {
            lane: NOTIFICATIONS_LANE,
            queue: n.dlq.name,
            attributes: { ...(m.Attributes ?? {}) } as Record<string, string>,
            messageAttributes: Object.fromEntries(
              Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
            ),
          },
        };
    }
  } finally {
    await walker.release();
  }
  return undefined;
}

/** One notification's fate in a redrive. */
export interface NotificationRedriveItem {
  readonly lane: typeof NOTIFICATIONS_LANE;
  readonly dlqMessageId: string;
  readonly envelopeId: string | null;
  readonly detailType: string | null;
  readonly eventId: string | null;
  readonly outcome: 'republished' | 'would-republish' | 'failed' | 'republished-not-deleted';
  /** The EventBridge id of the republished event. */
  readonly newEventBridgeId?: string;
  readonly error?: string;
}

/** Result of {@link redriveNotifications}. */
export interface NotificationRedriveResult {
  readonly mode: 'republish';
  readonly bus: string;
  readonly dryRun: boolean;
  readonly republished: number;
  readonly skipped: number;
  readonly failed: number;
  readonly notDeleted: number;
  readonly items: NotificationRedriveItem[];
  readonly unmatchedIds: string[];
}

/**
 * Publishes dead-lettered notifications again on the stage's bus and deletes each DLQ message
 * once `PutEvents` accepted its event (see the module's comment). It reads the DLQ first (with
 * `ids`, only messages answering to one of them are selected; an id that names none means nothing
 * is republished); messages that arrive meanwhile are not touched.
 */
export async function redriveNotifications(
  target: Target,
  options: { ids?: readonly string[]; dryRun?: boolean } = {},
): Promise<NotificationRedriveResult> {
  const n = target.notifications!;
  const bus = n.busName;
  if (!bus)
    throw new OpsError(
      target.kind === 'aws'
        ? `stack EventPipeline-${target.name} has no EventBusName output: cannot republish (deploy this version of the app)`
        : 'the env file does not name one event bus (eventBuses): cannot republish (restart npm start with this version of the app)',
    );
  const walker = new DlqWalker(target, pairOf(n));
  const items: NotificationRedriveItem[] = [];
  let skipped = 0;
  const result = (unmatchedIds: string[]): NotificationRedriveResult => {
    const count = (o: NotificationRedriveItem['outcome']) => items.filter((i) => i.outcome === o).length;
    return {
      mode: 'republish',
      bus,
      dryRun: options.dryRun ?? false,
      republished: count('republished') + count('republished-not-deleted'),
      skipped,
      failed: count('failed'),
      notDeleted: count('republished-not-deleted'),
      items,
      unmatchedIds,
    };
  };
  try {
    const read = await readAll(walker);
    const ids = options.ids ?? [];
    if (ids.length) {
      const found = new Set(read.flatMap((m) => idsOf(viewOfNotification(m))));
      const unmatched = ids.filter((id) => !found.has(id));
      if (unmatched.length) {
        skipped = read.length;
        return result(unmatched);
      }
    }
    for (const m of read) {
      const view = viewOfNotification(m);
      if (ids.length && !idsOf(view).some((id) => ids.includes(id))) {
        skipped++;
        continue;
      }
      const base = {
        lane: NOTIFICATIONS_LANE,
        dlqMessageId: view.dlqMessageId,
        envelopeId: view.envelopeId,
        detailType: view.detailType,
        eventId: view.eventId,
      } as const;
      const e = envelopeOf(m);
      if (!e || typeof e.source !== 'string' || typeof e['detail-type'] !== 'string' || !e.detail) {
        items.push({ ...base, outcome: 'failed', error: 'the message is not an EventBridge event' });
        continue;
      }
      if (options.dryRun) {
        items.push({ ...base, outcome: 'would-republish' });
        continue;
      }
      let newId: string;
      try {
        const out = await n.events.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: bus,
                Source: e.source,
                DetailType: e['detail-type'],
                Detail: JSON.stringify(e.detail),
                Resources: Array.isArray(e.resources) ? e.resources.map(String) : [],
              },
            ],
          }),
        );
        const entry = out.Entries?.[0];
        if ((out.FailedEntryCount ?? 0) > 0 || !entry?.EventId)
          throw new OpsError(
            `the bus refused it: ${entry?.ErrorCode ?? 'no event id'} ${entry?.ErrorMessage ?? ''}`.trim(),
          );
        newId = entry.EventId;
      } catch (error) {
        items.push({ ...base, outcome: 'failed', error: awsFailure('PutEvents', error).message });
        continue;
      }
      try {
        await target.sqs.send(
          new DeleteMessageCommand({ QueueUrl: n.dlq.url, ReceiptHandle: m.ReceiptHandle }),
        );
        walker.gone(m);
        items.push({ ...base, outcome: 'republished', newEventBridgeId: newId });
      } catch (error) {
        items.push({
          ...base,
          outcome: 'republished-not-deleted',
          newEventBridgeId: newId,
          error: awsFailure('delete', error).message,
        });
      }
    }
  } finally {
    await walker.release();
  }
  return result([]);
}

/** Result of {@link purgeNotifications}. */
export interface NotificationPurgeResult {
  readonly queue: string;
  readonly dryRun: boolean;
  readonly purged: number;
  /** Messages the DLQ counted that the run could not read: they stay. */
  readonly unread: number;
}

/**
 * Empties the notifications DLQ: deletes, by receipt handle, every message it read (a message that
 * arrives meanwhile stays). There is no archive of notifications: the webhook never gets these
 * events (the messages' status rows, and `GET /v1/messages/{id}`, are untouched).
 */
export async function purgeNotifications(
  target: Target,
  options: { dryRun?: boolean } = {},
): Promise<NotificationPurgeResult> {
  const n = target.notifications!;
  const depth = await queueDepth(target, n.dlq.url);
  const walker = new DlqWalker(target, pairOf(n));
  try {
    const read = await readAll(walker);
    const unread = Math.max(0, depth.visible + depth.inFlight + depth.delayed - read.length);
    if (options.dryRun) return { queue: n.dlq.name, dryRun: true, purged: read.length, unread };
    const purged = await deleteRead(target, walker, n.dlq, read);
    return { queue: n.dlq.name, dryRun: false, purged, unread };
  } finally {
    await walker.release();
  }
}

/** `--ids` given to a notifications redrive: the ids it answers to. */
export const NOTIFICATION_IDS_HELP =
  'a DLQ message id, an EventBridge event id, an envelope id or an event id (dlq list --lane notifications shows them)';

/** Refuses options a notifications redrive has no use for (`--type`, `--kind`, `--one-by-one`). */
export function refuseLaneOnlyOptions(values: Record<string, unknown>): void {
  for (const o of ['type', 'kind', 'one-by-one'])
    if (values[o] !== undefined)
      throw new UsageError(
        `--${o} does not apply to --lane notifications (its messages are events, redriven by republishing them); use --ids`,
      );
}
