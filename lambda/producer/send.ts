import type { Logger } from '@aws-lambda-powertools/logger';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageBatchRequestEntry,
  type SendMessageCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { MessageParams } from '../shared/message-codec';
import { planBatches, type BatchPlan } from './batch-plan';
import { ApiError } from './http';

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** Where an accepted message went. */
export interface Accepted {
  /** The envelope id: the message's id in `GET /v1/messages/{id}`. Set by the API once sent. */
  readonly id?: string;
  readonly messageId: string;
  readonly queue: 'standard' | 'fifo';
  /** The lane that runs it. */
  readonly lane: string;
  readonly sequenceNumber?: string;
}

/** One entry's result in a batch response. */
export type BatchResult =
  | ({ readonly index: number } & Accepted)
  | { readonly index: number; readonly error: { code: string; message: string; details?: unknown } };

/** A valid batch entry, encoded and ready to send. */
export interface PreparedEntry {
  /** Position in the request. */
  readonly index: number;
  readonly fifo: boolean;
  /** The lane it goes to (`./routing.ts`). */
  readonly lane: string;
  /** The entry's `orderingKey`, if any. */
  readonly key?: string;
  /** The message's size (`messageBytes`), for the planner's 1 MiB per call. */
  readonly bytes: number;
  readonly type: string;
  readonly entry: SendMessageBatchRequestEntry;
}

/** The queue URL of each lane: the two default lanes', and the custom lanes' by name. */
export interface LaneQueues {
  readonly standardUrl: string;
  readonly fifoUrl: string;
  /** Custom lanes' queue URLs by lane name. @default none */
  readonly lanes?: Readonly<Record<string, string>>;
}

/** The queue URL of `lane`; a lane the producer was not given a queue for is a deployment fault. */
export function queueUrlOf(queues: LaneQueues, lane: string, fifo: boolean): string {
  if (lane === 'standard') return queues.standardUrl;
  if (lane === 'fifo') return queues.fifoUrl;
  const url = queues.lanes?.[lane];
  if (!url)
    throw new Error(
      `no queue for lane "${lane}" (${fifo ? 'FIFO' : 'standard'}) in the producer's environment`,
    );
  return url;
}

/** The queues and clients the send step uses. */
export interface SendDeps {
  readonly sqs: SQSClient;
  readonly queues: LaneQueues;
  readonly logger: Logger;
  /** Called once per accepted message (metrics). */
  readonly onAccepted: (type: string) => void;
}

/** Logs a failed queue call and returns the 503 the client gets for it. */
export function queueUnavailable(logger: Logger, error: unknown): ApiError {
  logger.error('queue send failed', { error });
  return new ApiError(
    'QueueUnavailable',
    'The queue did not accept the message; retry with the same Idempotency-Key',
    [],
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

/** Sends one message; throws the 503 {@link ApiError} when the queue does not take it. */
export async function sendOne(
  deps: SendDeps,
  target: { readonly lane: string; readonly fifo: boolean },
  params: MessageParams,
): Promise<SendMessageCommandOutput & { MessageId: string }> {
  let out;
  try {
    out = await deps.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrlOf(deps.queues, target.lane, target.fifo), ...params }),
    );
  } catch (error) {
    throw queueUnavailable(deps.logger, error);
  }
  if (!out.MessageId) throw queueUnavailable(deps.logger, new Error('SendMessage returned no MessageId'));
  return out as SendMessageCommandOutput & { MessageId: string };
}

/**
 * Sends a batch's entries, lane by lane (in parallel): each lane's entries go through one batch
 * plan (`planBatches`: FIFO chunks one after another, standard chunks in parallel), writing each
 * entry's outcome into `results` by index. Once an entry of an `orderingKey` fails, its later
 * entries are not sent (they would overtake it on the client's retry).
 */
export async function sendPlan(
  entries: readonly PreparedEntry[],
  deps: SendDeps,
  results: BatchResult[],
): Promise<void> {
  const byLane = new Map<string, PreparedEntry[]>();
  for (const e of entries) byLane.set(e.lane, [...(byLane.get(e.lane) ?? []), e]);
  await Promise.all(
    [...byLane.entries()].map(([lane, list]) => sendLanePlan(lane, planBatches(list), deps, results)),
  );
}

async function sendLanePlan(
  lane: string,
  plan: BatchPlan<PreparedEntry>,
  deps: SendDeps,
  results: BatchResult[],
): Promise<void> {
  const failedKeys = new Set<string>();
  const send = async (queueUrl: string, chunk: readonly PreparedEntry[]) => {
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
          lane: p.lane,
          ...(ok.SequenceNumber ? { sequenceNumber: ok.SequenceNumber } : {}),
        };
        deps.onAccepted(p.type);
      }
      for (const bad of out.Failed ?? []) {
        const p = live.find((x) => x.entry.Id === bad.Id)!;
        if (p.key) failedKeys.add(p.key);
        // SQS's own text stays in the log: it may name the queue or its settings.
        deps.logger.warn('queue refused a batch entry', {
          index: p.index,
          code: bad.Code,
          reason: bad.Message,
        });
        results[p.index] = {
          index: p.index,
          error: {
            code: 'QueueUnavailable',
            message: `The queue did not accept the entry (${bad.Code ?? 'Error'}); retry it`,
          },
        };
      }
    } catch (error) {
      queueUnavailable(deps.logger, error);
      for (const p of live) {
        if (p.key) failedKeys.add(p.key);
        results[p.index] = {
          index: p.index,
          error: { code: 'QueueUnavailable', message: 'The queue did not accept the message; retry it' },
        };
      }
    }
  };
  await Promise.all([
    (async () => {
      for (const c of plan.fifo) await send(queueUrlOf(deps.queues, lane, true), c);
    })(),
    ...plan.standard.map((c) => send(queueUrlOf(deps.queues, lane, false), c)),
  ]);
}
