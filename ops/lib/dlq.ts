import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { S3ArchiveWriter, type ArchiveRecord, type FailureKind } from '../../lambda/shared/archive';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import { sweep } from '../../lambda/shared/sweeper';
import { ArchiveReader, envelopeIdOfBody, typeOfBody } from './archive';
import { OpsError, UsageError } from './errors';
import { readQueueDepth, type QueueDepth } from './queue-depth';
import { awsFailure, pairsOf, selectedLane, type LaneSelection, type QueuePair, type Target } from './target';

/** Message attribute the tool adds to a redriven message: the message id it had on its source queue. */
export const REDRIVEN_FROM_ATTR = 'redriven-from';

/** Seconds a message the tool looks at stays hidden; it is made visible again when the tool is done. */
export const HOLD_SECONDS = 60;

/** One dead-lettered message, joined with its archive record when there is one. */
export interface DlqMessage {
  /** The lane whose DLQ holds it. */
  readonly lane: string;
  /** Same as `lane` (kept for scripts from before lanes). */
  readonly queue: string;
  /** The id the message had on its source queue (its archive key's id, and the id in its 202). */
  readonly messageId: string;
  /** The id of the DLQ copy (equal to `messageId` for messages the redrive policy moved). */
  readonly dlqMessageId: string;
  /** The envelope id of its body (the `id` in the 202, the same on every copy); `null` for a body that is not an envelope. */
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly kind: FailureKind;
  readonly errorName: string | null;
  readonly errorMessage: string | null;
  readonly receiveCount: number;
  /** When it was given up on: the archive record's `archivedAt`, else when the DLQ copy was sent. */
  readonly failedAt: string | null;
  readonly archiveKey: string | null;
  readonly groupId: string | null;
}

/** A DLQ message as received, with its view. */
interface Held {
  readonly message: Message;
  readonly view: DlqMessage;
  readonly record: ArchiveRecord | undefined;
}

const str = (m: Message, name: string): string | undefined => m.MessageAttributes?.[name]?.StringValue;
const isoMs = (v: string | undefined): string | null =>
  v && /^\d+$/.test(v) ? new Date(Number(v)).toISOString() : null;

/** The id a DLQ copy had on its source queue. */
export function sourceMessageId(m: Message): string {
  return str(m, DLQ_ATTR.originalMessageId) ?? m.MessageId ?? '';
}

/** Every id a DLQ copy answers to: its own, the one it had on its source queue, its envelope id. */
export function idsOfCopy(m: Message): string[] {
  // Stryker disable next-line StringLiteral: equivalent: an SQS message always has a body; and a stand-in that is not an envelope's JSON has no envelope id either
  const envelopeId = envelopeIdOfBody(m.Body ?? '');
  // Stryker disable next-line StringLiteral: equivalent: a received SQS message always has a MessageId
  return [m.MessageId ?? '', sourceMessageId(m), ...(envelopeId ? [envelopeId] : [])];
}

async function describe(pair: QueuePair, m: Message, archive: ArchiveReader): Promise<Held> {
  const messageId = sourceMessageId(m);
  const body = m.Body ?? '';
  const found = await archive.find(messageId, {
    queueName: pair.source.name,
    body,
    sentAt: isoMs(m.Attributes?.SentTimestamp),
  });
  const record = found?.record;
  const attrKind = str(m, DLQ_ATTR.failureKind) as FailureKind | undefined;
  const view: DlqMessage = {
    lane: pair.key,
    queue: pair.key,
    messageId,
    dlqMessageId: m.MessageId ?? '',
    envelopeId: envelopeIdOfBody(body),
    type: typeOfBody(body),
    kind: record?.failure.kind ?? attrKind ?? 'unknown',
    errorName: record?.failure.errorName ?? str(m, DLQ_ATTR.errorName) ?? null,
    errorMessage: record?.failure.errorMessage ?? null,
    receiveCount: record?.receiveCount ?? Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    failedAt: record?.archivedAt ?? isoMs(m.Attributes?.SentTimestamp),
    archiveKey: found?.key ?? null,
    groupId: m.Attributes?.MessageGroupId ?? null,
  };
  return { message: m, view, record };
}

/**
 * Receives messages of a DLQ one round at a time, holding each (visibility {@link HOLD_SECONDS})
 * until {@link DlqWalker.release} makes the held ones visible again. Each message is yielded once.
 * On a FIFO queue only the head of each message group can be received while it is held.
 */
class DlqWalker {
  private readonly seen = new Set<string>();
  private readonly held = new Map<string, string>();
  private emptyRounds = 0;

  constructor(
    private readonly target: Target,
    private readonly pair: QueuePair,
  ) {}

  /** The next round of messages not seen before; `undefined` when there are none left. */
  async next(): Promise<Message[] | undefined> {
    // Short polling samples a subset of servers on AWS: an empty answer is believed the second time.
    const patience = this.target.kind === 'aws' ? 2 : 1;
    for (;;) {
      let out;
      try {
        out = await this.target.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.pair.dlq.url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: HOLD_SECONDS,
            WaitTimeSeconds: this.target.kind === 'aws' ? 1 : 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
      } catch (error) {
        throw awsFailure(`cannot receive from ${this.pair.dlq.name}`, error);
      }
      const fresh: Message[] = [];
      for (const m of out.Messages ?? []) {
        const id = m.MessageId ?? '';
        this.held.set(id, m.ReceiptHandle ?? '');
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        fresh.push(m);
      }
      if (fresh.length) {
        this.emptyRounds = 0;
        return fresh;
      }
      if (++this.emptyRounds >= patience) return undefined;
    }
  }

  /** Forgets a message that is gone (deleted). */
  gone(m: Message): void {
    this.held.delete(m.MessageId ?? '');
  }

  /** Makes every held message visible again. Failures are reported, not thrown: they reappear anyway. */
  async release(): Promise<number> {
    const entries = [...this.held.entries()];
    this.held.clear();
    let failed = 0;
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const out = await this.target.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.pair.dlq.url,
            Entries: chunk.map(([, handle], j) => ({
              Id: String(j),
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            })),
          }),
        );
        failed += out.Failed?.length ?? 0;
      } catch {
        failed += chunk.length;
      }
    }
    return failed;
  }
}

export type { QueueDepth } from './queue-depth';

/** Visible, in-flight and delayed counts of a queue. */
export async function queueDepth(target: Target, url: string): Promise<QueueDepth> {
  try {
    return await readQueueDepth(target.sqs, url);
  } catch (error) {
    throw awsFailure(`cannot read the attributes of ${url}`, error);
  }
}

/** Result of {@link listDlq}. */
export interface DlqListing {
  readonly messages: DlqMessage[];
  /** Per lane: messages in its DLQ and how many could be looked at (FIFO: group heads only). */
  readonly queues: {
    readonly lane: string;
    /** Same as `lane` (kept for scripts from before lanes). */
    readonly queue: string;
    readonly dlq: string;
    readonly depth: number;
    readonly shown: number;
  }[];
}

/**
 * Peeks at dead-lettered messages without consuming them: each is received with a short
 * visibility and made visible again before returning. A FIFO DLQ shows the head of each message
 * group (SQS hands out nothing behind a message that is in flight).
 */
export async function listDlq(
  target: Target,
  options: LaneSelection & { limit?: number } = {},
): Promise<DlqListing> {
  const archive = new ArchiveReader(target);
  const messages: DlqMessage[] = [];
  const queues: DlqListing['queues'][number][] = [];
  for (const pair of pairsOf(target, selectedLane(options))) {
    const d = await queueDepth(target, pair.dlq.url);
    const walker = new DlqWalker(target, pair);
    let shown = 0;
    try {
      for (let round = await walker.next(); round; round = await walker.next()) {
        for (const m of round) {
          if (options.limit !== undefined && messages.length >= options.limit) break;
          messages.push((await describe(pair, m, archive)).view);
          shown++;
        }
        if (options.limit !== undefined && messages.length >= options.limit) break;
      }
    } finally {
      await walker.release();
    }
    queues.push({
      lane: pair.key,
      queue: pair.key,
      dlq: pair.dlq.name,
      depth: d.visible + d.inFlight + d.delayed,
      shown,
    });
  }
  return { messages, queues };
}

/** What `dlq show` prints. */
export interface DlqShow {
  readonly message: DlqMessage | null;
  /** The DLQ copy's archive record; for a message no longer in a DLQ, its newest record. */
  readonly archive: { readonly key: string; readonly record: ArchiveRecord } | null;
  /**
   * Keys of older records of the same envelope (a replayed or redriven message that failed again
   * is archived again, under its new message id), newest first.
   */
  readonly otherArchiveKeys: string[];
  /** The DLQ copy's system and message attributes, when it is still in a DLQ (and could be seen). */
  readonly dlqCopy: {
    /** The lane whose DLQ holds it. */
    readonly lane: string;
    /** The DLQ's name. */
    readonly queue: string;
    readonly attributes: Record<string, string>;
    readonly messageAttributes: Record<string, string>;
  } | null;
}

/**
 * The whole archive record of a message and its DLQ copy's attributes. `id` is its envelope id,
 * the id it had on its source queue, or its DLQ copy's id.
 */
export async function showDlqMessage(target: Target, id: string): Promise<DlqShow> {
  const archive = new ArchiveReader(target);
  let copy: Held | undefined;
  let copyPair: QueuePair | undefined;
  for (const pair of target.queues) {
    const walker = new DlqWalker(target, pair);
    try {
      for (let round = await walker.next(); round && !copy; round = await walker.next()) {
        const m = round.find((x) => idsOfCopy(x).includes(id));
        if (m) {
          copy = await describe(pair, m, archive);
          copyPair = pair;
        }
      }
    } finally {
      await walker.release();
    }
    if (copy) break;
  }
  // Every record of the envelope, newest first: an envelope id is in the records' bodies only.
  const envelopeId = copy?.view.envelopeId ?? id;
  const records = await archive.list({ ids: [...new Set([envelopeId, copy?.view.messageId ?? id])] });
  const found = copy?.view.archiveKey
    ? { key: copy.view.archiveKey, record: copy.record! }
    : copy
      ? undefined
      : records[0];
  if (!copy && !found) throw new OpsError(`no message ${id} in a DLQ or in the archive`);
  return {
    message: copy?.view ?? null,
    archive: found ? { key: found.key, record: found.record } : null,
    otherArchiveKeys: records.map((r) => r.key).filter((k) => k !== found?.key),
    dlqCopy:
      copy && copyPair
        ? {
            lane: copyPair.key,
            queue: copyPair.dlq.name,
            attributes: { ...(copy.message.Attributes ?? {}) } as Record<string, string>,
            messageAttributes: Object.fromEntries(
              Object.entries(copy.message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
            ),
          }
        : null,
  };
}

/** Filters of `dlq redrive`: a lane ({@link LaneSelection}) and the rest. */
export interface RedriveFilter extends LaneSelection {
  readonly type?: string;
  readonly kind?: FailureKind;
  /** Envelope ids, source message ids or DLQ copy ids. */
  readonly ids?: readonly string[];
}

/** Whether a filter selects anything narrower than "all of the queue". */
export function isFiltered(f: RedriveFilter): boolean {
  return f.type !== undefined || f.kind !== undefined || (f.ids?.length ?? 0) > 0;
}

function selects(f: RedriveFilter, v: DlqMessage): boolean {
  if (f.type !== undefined && v.type !== f.type) return false;
  if (f.kind !== undefined && v.kind !== f.kind) return false;
  if (
    f.ids?.length &&
    ![v.messageId, v.dlqMessageId, v.envelopeId].some((id) => id !== null && f.ids!.includes(id))
  )
    return false;
  return true;
}

/** One message's fate in a redrive. */
export interface RedriveItem {
  readonly lane: string;
  /** Same as `lane` (kept for scripts from before lanes). */
  readonly queue: string;
  readonly messageId: string;
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly kind: FailureKind;
  readonly outcome: 'moved' | 'would-move' | 'failed' | 'moved-not-deleted';
  /** The id of the resent message on its source queue. */
  readonly newMessageId?: string;
  readonly error?: string;
}

/** Result of {@link redrive}. */
export interface RedriveResult {
  readonly mode: 'message-by-message' | 'move-task';
  readonly dryRun: boolean;
  readonly moved: number;
  readonly skipped: number;
  readonly failed: number;
  /** Resent, but the DLQ copy could not be deleted: it is a duplicate now (nothing is lost). */
  readonly notDeleted: number;
  readonly items: RedriveItem[];
  /** Ids of the filter that no message in the DLQs read has; when there are any, nothing was moved. */
  readonly unmatchedIds: string[];
  /** Move tasks (AWS, unfiltered): per DLQ, what the task reported last. */
  readonly tasks: {
    readonly lane: string;
    /** Same as `lane` (kept for scripts from before lanes). */
    readonly queue: string;
    readonly status: string;
    readonly moved: number;
    readonly toMove: number | null;
    readonly failureReason?: string;
  }[];
}

/** Progress reports of long operations. */
export type Progress = (line: string) => void;

/** Producer attributes a redriven message keeps; the DLQ annotations are dropped (a new failure adds new ones). */
const DLQ_ANNOTATIONS = new Set<string>(Object.values(DLQ_ATTR));

/** The message attributes of a resent message: the original ones plus `extra`. */
export function resendAttributes(
  attrs: Record<string, MessageAttributeValue> | undefined,
  extra: Record<string, string>,
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (DLQ_ANNOTATIONS.has(k) || k in extra) continue;
    out[k] = {
      DataType: v.DataType,
      ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
      ...(v.BinaryValue ? { BinaryValue: v.BinaryValue } : {}),
    };
  }
  for (const [k, v] of Object.entries(extra)) out[k] = { DataType: 'String', StringValue: v };
  return out;
}

/**
 * Moves dead-lettered messages back to their source queues.
 *
 * Message by message (every filtered move, and every move in local mode): the copy is sent to the
 * source first and deleted from the DLQ only after the send succeeded; a FIFO message keeps its
 * group, gets a fresh deduplication id, and its group's later messages wait if it fails; each
 * resent message carries `redriven-from`. Only what the DLQ held when the run started is moved,
 * once: messages sent after the start (including ones this run resent that failed again) stay.
 *
 * With `ids`, every DLQ is read before anything moves: if an id names no message there
 * (`unmatchedIds`), nothing moves and every message read counts as skipped.
 *
 * An unfiltered move on AWS starts `StartMessageMoveTask` per DLQ and follows it with
 * `ListMessageMoveTasks` until it ends.
 */
export async function redrive(
  target: Target,
  filter: RedriveFilter,
  options: {
    dryRun?: boolean;
    oneByOne?: boolean;
    progress?: Progress;
    /** Between polls of a move task. @default 2000 */
    pollMs?: number;
    now?: () => number;
  } = {},
): Promise<RedriveResult> {
  const useTasks = target.moveTasks && !isFiltered(filter) && !options.oneByOne;
  if (useTasks) return moveTasks(target, filter, options);
  const now = options.now ?? Date.now;
  // SentTimestamp is the SQS server's clock: on AWS allow it a second ahead of this machine's, so
  // a message sent just before the start is not taken for a new arrival.
  const startedAt = now() + (target.kind === 'aws' ? 1000 : 0);
  const archive = new ArchiveReader(target);
  const items: RedriveItem[] = [];
  let skipped = 0;
  const lanes = pairsOf(target, selectedLane(filter)).map((pair) => ({
    pair,
    walker: new DlqWalker(target, pair),
    /** With ids: every message of the DLQ, read before anything moves. */
    read: undefined as Message[] | undefined,
  }));
  const count = (o: RedriveItem['outcome']) => items.filter((i) => i.outcome === o).length;
  const result = (unmatchedIds: string[]): RedriveResult => ({
    mode: 'message-by-message',
    dryRun: options.dryRun ?? false,
    moved: count('moved') + count('moved-not-deleted'),
    skipped,
    failed: count('failed'),
    notDeleted: count('moved-not-deleted'),
    items,
    tasks: [],
    unmatchedIds,
  });
  try {
    if (filter.ids?.length) {
      const found = new Set<string>();
      for (const lane of lanes) {
        lane.read = [];
        for (let round = await lane.walker.next(); round; round = await lane.walker.next())
          lane.read.push(...round);
        for (const m of lane.read) for (const id of idsOfCopy(m)) found.add(id);
      }
      const unmatched = filter.ids.filter((id) => !found.has(id));
      if (unmatched.length) {
        skipped = lanes.reduce((n, l) => n + l.read!.length, 0);
        return result(unmatched);
      }
    }
    for (const { pair, walker, read } of lanes) {
      const resent = new Set<string>();
      const blockedGroups = new Set<string>();
      const rounds = read ? [read] : undefined;
      const next = async () => (rounds ? rounds.shift() : walker.next());
      for (let round = await next(); round; round = await next()) {
        for (const m of round) {
          const sent = Number(m.Attributes?.SentTimestamp ?? 0);
          const group = m.Attributes?.MessageGroupId;
          // Arrived after the start (a failure of this run's resends, or new traffic): not ours to move.
          // Stryker disable next-line StringLiteral: equivalent: a received SQS message always has a MessageId
          if (sent > startedAt || resent.has(m.MessageId ?? '') || resent.has(sourceMessageId(m))) {
            skipped++;
            continue;
          }
          if (pair.dlq.fifo && group !== undefined && blockedGroups.has(group)) {
            skipped++;
            continue;
          }
          const { view } = await describe(pair, m, archive);
          if (!selects(filter, view)) {
            skipped++;
            // Whatever is behind it in its group stays behind it.
            if (pair.dlq.fifo && group !== undefined) blockedGroups.add(group);
            continue;
          }
          const base = {
            lane: pair.key,
            queue: pair.key,
            messageId: view.messageId,
            envelopeId: view.envelopeId,
            type: view.type,
            kind: view.kind,
          };
          if (options.dryRun) {
            items.push({ ...base, outcome: 'would-move' });
            continue;
          }
          let newId: string;
          try {
            const out = await target.sqs.send(
              new SendMessageCommand({
                QueueUrl: pair.source.url,
                MessageBody: m.Body ?? '',
                MessageAttributes: resendAttributes(m.MessageAttributes, {
                  [REDRIVEN_FROM_ATTR]: view.messageId,
                }),
                ...(pair.source.fifo
                  ? { MessageGroupId: group ?? 'default', MessageDeduplicationId: randomUUID() }
                  : {}),
              }),
            );
            newId = out.MessageId ?? '';
            resent.add(newId);
          } catch (error) {
            items.push({ ...base, outcome: 'failed', error: awsFailure('send', error).message });
            if (pair.dlq.fifo && group !== undefined) blockedGroups.add(group);
            continue;
          }
          try {
            await target.sqs.send(
              new DeleteMessageCommand({ QueueUrl: pair.dlq.url, ReceiptHandle: m.ReceiptHandle }),
            );
            walker.gone(m);
            items.push({ ...base, outcome: 'moved', newMessageId: newId });
          } catch (error) {
            items.push({
              ...base,
              outcome: 'moved-not-deleted',
              newMessageId: newId,
              error: awsFailure('delete', error).message,
            });
          }
          options.progress?.(`${pair.key}: ${count('moved')} moved`);
        }
      }
      await walker.release();
    }
  } finally {
    for (const { walker } of lanes) await walker.release();
  }
  return result([]);
}

const TASK_DONE = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

async function moveTasks(
  target: Target,
  filter: RedriveFilter,
  options: { dryRun?: boolean; progress?: Progress; pollMs?: number },
): Promise<RedriveResult> {
  const tasks: RedriveResult['tasks'][number][] = [];
  for (const pair of pairsOf(target, selectedLane(filter))) {
    const d = await queueDepth(target, pair.dlq.url);
    const toMove = d.visible + d.inFlight + d.delayed;
    if (options.dryRun || toMove === 0) {
      tasks.push({
        lane: pair.key,
        queue: pair.key,
        status: options.dryRun ? 'DRY_RUN' : 'NOTHING_TO_MOVE',
        moved: 0,
        toMove,
      });
      continue;
    }
    try {
      // No DestinationArn: the task moves each message back to the queue it was dead-lettered from.
      await target.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: pair.dlq.arn }));
    } catch (error) {
      throw awsFailure(`cannot start a message move task on ${pair.dlq.name}`, error);
    }
    for (;;) {
      let task;
      try {
        const out = await target.sqs.send(
          new ListMessageMoveTasksCommand({ SourceArn: pair.dlq.arn, MaxResults: 1 }),
        );
        task = out.Results?.[0];
      } catch (error) {
        throw awsFailure(`cannot follow the message move task on ${pair.dlq.name}`, error);
      }
      const status = task?.Status ?? 'UNKNOWN';
      const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
      const total = task?.ApproximateNumberOfMessagesToMove ?? toMove;
      options.progress?.(`${pair.key}: ${status} ${moved}/${total}`);
      if (TASK_DONE.has(status) || !task) {
        tasks.push({
          lane: pair.key,
          queue: pair.key,
          status,
          moved,
          toMove: total,
          ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
        });
        break;
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
    }
  }
  return {
    mode: 'move-task',
    dryRun: options.dryRun ?? false,
    moved: tasks.reduce((n, t) => n + t.moved, 0),
    skipped: 0,
    failed: tasks.filter((t) => t.status === 'FAILED' || t.status === 'CANCELLED').length,
    notDeleted: 0,
    items: [],
    tasks,
    unmatchedIds: [],
  };
}

/** Result of {@link purgeDlq}. */
export interface PurgeResult {
  /** The DLQ's name. */
  readonly queue: string;
  readonly dryRun: boolean;
  /** Messages deleted (or, in a dry run, that would be): each one read, with an archive record. */
  readonly purged: number;
  /** Of those, how many got their archive record from this run (`archiveMissing`). */
  readonly archived: number;
  /**
   * Messages the DLQ counted that the run could not read (FIFO: behind their group's head; or
   * held by another reader, such as the sweeper): they were not checked, so they stay.
   */
  readonly unread: number;
}

/** The archive records a purge would lose: messages of the DLQ that have none. */
export class UnarchivedMessages extends OpsError {
  override readonly name = 'UnarchivedMessages';
}

/**
 * Empties a DLQ, deleting only messages that have an archive record: it reads every message it
 * can (held, as `dlq list` does), looks up each one's record, and refuses
 * ({@link UnarchivedMessages}, exit 1) while one lacks it, deleting nothing. With
 * `archiveMissing`, it first runs the DLQ sweeper's own `sweep` (lambda/shared/sweeper.ts) on
 * the DLQ, which writes each missing record exactly as the scheduled sweeper does. Then it deletes
 * the messages it checked, by receipt handle: messages that arrive meanwhile, or that it could
 * not read, stay (`unread`). `queue` is a lane's name (its DLQ) or a DLQ's name or URL; a source
 * queue is refused.
 */
/**
 * Deletes the messages `walker` read from `dlq` (ten per `DeleteMessageBatch`, by their receipt
 * handles: nothing it did not read); returns how many. A refused entry stops it with one line
 * saying how many were purged.
 */
export async function deleteRead(
  target: Target,
  walker: DlqWalker,
  dlq: { readonly url: string; readonly name: string },
  read: readonly Message[],
): Promise<number> {
  let purged = 0;
  for (let i = 0; i < read.length; i += 10) {
    const chunk = read.slice(i, i + 10);
    let out;
    try {
      out = await target.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlq.url,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    } catch (error) {
      throw awsFailure(`cannot delete from ${dlq.name} (${purged} purged)`, error);
    }
    for (const ok of out.Successful ?? []) walker.gone(chunk[Number(ok.Id)]!);
    purged += out.Successful?.length ?? 0;
    if (out.Failed?.length)
      throw new OpsError(
        `cannot delete ${out.Failed.length} message(s) from ${dlq.name} (${out.Failed[0]!.Code}; ${purged} purged): run purge again`,
      );
  }
  return purged;
}

export async function purgeDlq(
  target: Target,
  queue: string,
  options: { dryRun?: boolean; archiveMissing?: boolean } = {},
): Promise<PurgeResult> {
  const pair = target.queues.find((p) => p.key === queue || p.dlq.name === queue || p.dlq.url === queue);
  if (!pair) {
    if (target.queues.some((p) => p.source.name === queue || p.source.url === queue))
      throw new OpsError(`${queue} is a source queue: purge empties DLQs only`);
    throw new UsageError(
      `unknown queue ${queue}: give a lane (${target.queues.map((p) => p.key).join(', ')}) or a DLQ name (${target.queues.map((p) => p.dlq.name).join(', ')})`,
    );
  }
  const dryRun = options.dryRun ?? false;
  let archived = 0;
  if (options.archiveMissing && !dryRun) {
    const swept = await sweep(
      [{ dlqUrl: pair.dlq.url, sourceQueueName: pair.source.name, sourceQueueArn: pair.source.arn }],
      {
        sqs: target.sqs,
        archive: new S3ArchiveWriter(target.s3, target.bucket, { checkFirst: true }),
        // A silent Powertools logger: the sweep's lines are the function's, not the tool's output.
        logger: new Logger({ logLevel: 'SILENT' }),
        // No Lambda deadline here: the sweep reads the DLQ to its end.
        deadline: () => Number.MAX_SAFE_INTEGER,
      },
    ).catch((error: unknown) => {
      throw awsFailure(`cannot archive the messages of ${pair.dlq.name}`, error);
    });
    archived = swept.archived;
    if (swept.failed)
      throw new UnarchivedMessages(
        `${swept.failed} archive write(s) failed for messages of ${pair.dlq.name} (${archived} archived): nothing was purged; run again`,
      );
  }
  const depth = await queueDepth(target, pair.dlq.url);
  const archive = new ArchiveReader(target);
  const walker = new DlqWalker(target, pair);
  try {
    const read: Message[] = [];
    const missing: Message[] = [];
    for (let round = await walker.next(); round; round = await walker.next()) {
      for (const m of round) {
        read.push(m);
        const found = await archive.find(sourceMessageId(m), {
          queueName: pair.source.name,
          body: m.Body ?? '',
          sentAt: isoMs(m.Attributes?.SentTimestamp),
        });
        if (!found) missing.push(m);
      }
    }
    const unread = Math.max(0, depth.visible + depth.inFlight + depth.delayed - read.length);
    if (missing.length && !(dryRun && options.archiveMissing))
      throw new UnarchivedMessages(
        `${missing.length} of the ${read.length} messages in ${pair.dlq.name} have no archive record, and purging would lose them: add --archive-missing to archive them first (the record the DLQ sweeper writes), or redrive them`,
      );
    if (dryRun)
      return { queue: pair.dlq.name, dryRun, purged: read.length, archived: missing.length, unread };
    const purged = await deleteRead(target, walker, pair.dlq, read);
    return { queue: pair.dlq.name, dryRun, purged, archived, unread };
  } finally {
    await walker.release();
  }
}

export { DlqWalker };
