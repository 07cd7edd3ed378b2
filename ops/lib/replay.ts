import { DeleteMessageCommand, SendMessageCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { ArchiveRecord, FailureKind } from '../../lambda/shared/archive';
import type { Envelope } from '../../lambda/shared/envelope';
import type { MessageStatus } from '../../lambda/shared/status/types';
import { ArchiveReader, typeOfBody, type ArchiveFilter, type ArchivedMessage } from './archive';
import { DlqWalker, resendAttributes, sourceMessageId, type Progress } from './dlq';
import { OpsError } from './errors';
import { awsFailure, type QueuePair, type Target } from './target';

/** Message attribute a replayed message carries: the archived message id it replays. */
export const REPLAY_OF_ATTR = 'replay-of';

/** One archived message's fate in a replay. */
export interface ReplayItem {
  /** The lane the message came from; `null` for a queue the target does not have. */
  readonly lane: string | null;
  /** Same as `lane` (kept for scripts from before lanes). */
  readonly queue: string | null;
  readonly messageId: string;
  readonly envelopeId: string | null;
  readonly type: string | null;
  readonly kind: FailureKind;
  readonly outcome:
    | 'replayed'
    | 'would-replay'
    | 'skipped-dead-lettered'
    | 'skipped-unknown-queue'
    | 'skipped-succeeded'
    | 'skipped-superseded'
    | 'failed'
    | 'replayed-dlq-copy-kept';
  readonly newMessageId?: string;
  /** With `force`, a message that had succeeded is replayed as a copy under this new envelope id. */
  readonly newEnvelopeId?: string;
  /** Its status row's state when the replay looked (`null`: no row, or a body that is not an envelope). */
  readonly status?: MessageStatus['status'] | null;
  readonly detail?: string;
}

/** Result of {@link replay}. */
export interface ReplayResult {
  readonly dryRun: boolean;
  readonly replayed: number;
  readonly skipped: number;
  readonly failed: number;
  readonly items: ReplayItem[];
  /** Ids of the filter that match no archive record selected; when there are any, nothing was replayed. */
  readonly unmatchedIds: string[];
}

/** Archive records keep message attributes in Lambda's shape (`stringValue`) or the SDK's (`StringValue`). */
export function sdkAttributes(attrs: Record<string, unknown>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, raw] of Object.entries(attrs ?? {})) {
    const v = raw as { stringValue?: string; StringValue?: string; dataType?: string; DataType?: string };
    const value = v.stringValue ?? v.StringValue;
    if (typeof value !== 'string') continue;
    out[k] = { DataType: v.dataType ?? v.DataType ?? 'String', StringValue: value };
  }
  return out;
}

/** Where each message still in a DLQ is, by source id (FIFO: group heads; their groups are "blocked"). */
interface DlqPresence {
  readonly heads: Map<string, { pair: QueuePair; receipt: string; dlqMessageId: string; walker: DlqWalker }>;
  readonly fifoGroups: Set<string>;
  readonly walkers: DlqWalker[];
}

async function presence(target: Target, pairs: readonly QueuePair[]): Promise<DlqPresence> {
  const heads: DlqPresence['heads'] = new Map();
  const fifoGroups = new Set<string>();
  const walkers: DlqWalker[] = [];
  for (const pair of pairs) {
    const walker = new DlqWalker(target, pair);
    walkers.push(walker);
    for (let round = await walker.next(); round; round = await walker.next()) {
      for (const m of round) {
        heads.set(sourceMessageId(m), {
          pair,
          // Stryker disable next-line StringLiteral: equivalent: a received SQS message always has a receipt handle
          receipt: m.ReceiptHandle ?? '',
          // Stryker disable next-line StringLiteral: equivalent: a received SQS message always has a MessageId
          dlqMessageId: m.MessageId ?? '',
          walker,
        });
        const g = m.Attributes?.MessageGroupId;
        // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent: fifoGroups is only read for a FIFO lane's record with a group (behindHead), and a FIFO DLQ's messages always have one; what else it would hold is never read
        if (pair.dlq.fifo && g !== undefined) fifoGroups.add(`${pair.key}|${g}`);
      }
    }
  }
  return { heads, fifoGroups, walkers };
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  readonly dryRun?: boolean;
  /** Replays messages still in a DLQ too, deleting each DLQ copy once its replay was accepted. */
  readonly includeDeadLettered?: boolean;
  /**
   * Replays messages whose status row says `succeeded` as copies under a new envelope id (the
   * consumer runs a message once per envelope id: under the old one it would skip it as a
   * duplicate). Messages that did not succeed keep their envelope id in any case.
   */
  readonly force?: boolean;
  readonly progress?: Progress;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Re-enqueues archived messages into the queue they came from: the original body (envelope, so
 * its `id` goes with it), its producer attributes plus `replay-of`, FIFO group kept with a fresh
 * deduplication id.
 *
 * The consumer runs a message once per envelope id: its idempotency record is on the status row,
 * and a `succeeded` message never runs again. So a message whose status row (read from the status
 * table) says `succeeded` is skipped, saying so; with `force` it is sent as a copy under a new
 * envelope id (same type, payload and correlation id; `createdAt` now), which the consumer runs
 * and gives a status row of its own. Of several records of one envelope (it failed again after a
 * replay or redrive) only the newest is replayed. A message still in a DLQ is skipped unless `includeDeadLettered`; then its DLQ
 * copy is deleted only after the replay was accepted. A FIFO message behind its group's head in
 * the DLQ cannot be reached there and is skipped in any case. If an id of `filter.ids` (envelope
 * or message id) matches no record selected, nothing is replayed (`unmatchedIds`).
 */
export async function replay(
  target: Target,
  filter: ArchiveFilter,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const archive = new ArchiveReader(target);
  const records: ArchivedMessage[] = (await archive.list(filter)).reverse(); // oldest first: FIFO order
  const unmatchedIds = (filter.ids ?? []).filter(
    (id) => !records.some((r) => r.record.messageId === id || r.envelopeId === id),
  );
  if (unmatchedIds.length)
    return { dryRun: options.dryRun ?? false, replayed: 0, skipped: 0, failed: 0, items: [], unmatchedIds };
  const readStatus = target.messageStatus?.bind(target);
  if (!readStatus)
    throw new OpsError(
      `replay reads the status table to skip messages that succeeded since, and ${target.name} has none it can read (${
        target.kind === 'local'
          ? 'no status table in the env file: restart local mode'
          : 'the stack has no StatusTableName output: deploy this version of the app'
      })`,
    );
  const statuses = new Map<string, MessageStatus | undefined>();
  const newest = new Map<string, string>();
  for (const { envelopeId, record } of records) {
    if (envelopeId === null) continue;
    newest.set(envelopeId, record.messageId); // oldest first: the last one is the newest
    if (!statuses.has(envelopeId)) statuses.set(envelopeId, await readStatus(envelopeId));
  }
  const pairs = target.queues;
  const dlq = await presence(target, pairs);
  const items: ReplayItem[] = [];
  try {
    for (const { record, lane, envelopeId } of records) {
      const status = envelopeId === null ? undefined : statuses.get(envelopeId);
      const base = {
        lane,
        queue: lane,
        messageId: record.messageId,
        envelopeId,
        type: typeOfBody(record.body),
        kind: record.failure.kind,
        status: status?.status ?? null,
      };
      const pair = pairs.find((p) => p.key === lane);
      if (!pair) {
        items.push({
          ...base,
          outcome: 'skipped-unknown-queue',
          detail: `queue ${record.queue.name} is not in ${target.name}`,
        });
        continue;
      }
      const newestOfEnvelope = envelopeId === null ? record.messageId : newest.get(envelopeId);
      if (newestOfEnvelope !== record.messageId) {
        items.push({
          ...base,
          outcome: 'skipped-superseded',
          detail: `an older failure of ${envelopeId}: only its newest record (${newestOfEnvelope}) is replayed`,
        });
        continue;
      }
      const group = record.attributes.MessageGroupId;
      const head = dlq.heads.get(record.messageId);
      const behindHead =
        !head && pair.source.fifo && group !== undefined && dlq.fifoGroups.has(`${pair.key}|${group}`);
      if (behindHead) {
        items.push({
          ...base,
          outcome: 'skipped-dead-lettered',
          detail: `its group ${group} has messages in ${pair.dlq.name}; redrive them first`,
        });
        continue;
      }
      if (head && !options.includeDeadLettered) {
        items.push({
          ...base,
          outcome: 'skipped-dead-lettered',
          detail: `still in ${pair.dlq.name} (redrive it, or --include-dead-lettered)`,
        });
        continue;
      }
      const succeeded = status?.status === 'succeeded';
      if (succeeded && !options.force) {
        items.push({
          ...base,
          outcome: 'skipped-succeeded',
          detail: `status succeeded (${status.updatedAt}): the consumer would skip it as a duplicate (it keys runs by envelope id); --force sends a copy under a new envelope id`,
        });
        continue;
      }
      const copy = succeeded ? { detail: 'it had succeeded: a copy under a new envelope id' } : {};
      if (options.dryRun) {
        items.push({ ...base, outcome: 'would-replay', ...copy });
        continue;
      }
      const body = succeeded ? copyUnderNewId(record.body, options.now?.() ?? new Date()) : undefined;
      let newId: string;
      try {
        newId = await send(target, pair, record, body?.text);
      } catch (error) {
        items.push({ ...base, outcome: 'failed', detail: awsFailure('send', error).message });
        continue;
      }
      if (head) {
        try {
          await target.sqs.send(
            new DeleteMessageCommand({ QueueUrl: head.pair.dlq.url, ReceiptHandle: head.receipt }),
          );
          head.walker.gone({ MessageId: head.dlqMessageId });
        } catch (error) {
          items.push({
            ...base,
            outcome: 'replayed-dlq-copy-kept',
            newMessageId: newId,
            ...(body ? { newEnvelopeId: body.id } : {}),
            detail: awsFailure('delete', error).message,
          });
          continue;
        }
      }
      items.push({
        ...base,
        outcome: 'replayed',
        newMessageId: newId,
        ...(body
          ? {
              newEnvelopeId: body.id,
              detail: `it had succeeded: a copy under the new envelope id ${body.id}`,
            }
          : {}),
      });
      options.progress?.(`${items.filter((i) => i.outcome === 'replayed').length} replayed`);
    }
  } finally {
    for (const w of dlq.walkers) await w.release();
  }
  const n = (...o: ReplayItem['outcome'][]) => items.filter((i) => o.includes(i.outcome)).length;
  return {
    dryRun: options.dryRun ?? false,
    replayed: n('replayed', 'replayed-dlq-copy-kept', 'would-replay'),
    skipped: n('skipped-dead-lettered', 'skipped-unknown-queue', 'skipped-succeeded', 'skipped-superseded'),
    failed: n('failed'),
    items,
    unmatchedIds: [],
  };
}

/** The envelope `body` under a new id, created `now`: a new message to the consumer, the same job. */
function copyUnderNewId(body: string, now: Date): { id: string; text: string } {
  const id = randomUUID();
  return {
    id,
    text: JSON.stringify({ ...(JSON.parse(body) as Envelope), id, createdAt: now.toISOString() }),
  };
}

async function send(target: Target, pair: QueuePair, record: ArchiveRecord, body?: string): Promise<string> {
  const out = await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: pair.source.url,
      MessageBody: body ?? record.body,
      MessageAttributes: resendAttributes(sdkAttributes(record.messageAttributes), {
        [REPLAY_OF_ATTR]: record.messageId,
      }),
      ...(pair.source.fifo
        ? {
            MessageGroupId: record.attributes.MessageGroupId ?? 'default',
            MessageDeduplicationId: randomUUID(),
          }
        : {}),
    }),
  );
  return out.MessageId ?? '';
}
