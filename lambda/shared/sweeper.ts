import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { archiveKey, buildArchiveRecord, type ArchiveWriter, type FailureKind } from './archive';
import { DLQ_ATTR } from './dlq-attributes';
import { isTenantName, JOB_TYPE_PATTERN } from './envelope';
import { UnknownFailure } from './errors';
import type { StatusStore, StatusSubject } from './status/types';

/** One DLQ the sweeper watches and the queue it belongs to. */
export interface SweptQueue {
  readonly dlqUrl: string;
  readonly sourceQueueName: string;
  readonly sourceQueueArn: string;
}

/** Figures of one sweep. */
export interface SweepResult {
  seen: number;
  /** Records this sweep wrote. */
  archived: number;
  /** Records this sweep found in S3 (`HeadObject`) and did not write again. */
  alreadyArchived: number;
  /**
   * Messages whose record was known to exist without asking S3: the consumer's DLQ annotations
   * (it writes the record before it sends the copy), or the status row naming this very record.
   */
  confirmed: number;
  failed: number;
}

/**
 * Whether `attrs` are the annotations the consumer adds to a message it dead-letters itself
 * (`failure-kind` and `original-message-id`): it sends that copy only after its archive record
 * was written (docs/DESIGN.md §5: archive, then DLQ; `lambda/shared/consumer/index.ts`), so the
 * copy carries its own proof. `ops` drops these annotations when it redrives or replays a message.
 */
export function archivedByConsumer(attrs: Message['MessageAttributes']): boolean {
  const kind = attrs?.[DLQ_ATTR.failureKind]?.StringValue;
  return (
    (kind === 'permanent' || kind === 'exhausted' || kind === 'unknown') &&
    typeof attrs?.[DLQ_ATTR.originalMessageId]?.StringValue === 'string'
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

/**
 * The status subject of a swept message whose body is a v1 envelope (`undefined` otherwise): the
 * fields a status row needs (`id`, `type`, `createdAt`; `tenant` when valid), read without the
 * envelope's zod schema, which would be ≈ 460 KB of the sweeper's bundle for these four fields.
 * It gives the subject the consumer's `subjectOf` gives for every envelope that schema accepts
 * (test/unit/sweeper.test.ts); it does not refuse unknown fields, so a later envelope version
 * with more fields still gets its row marked.
 */
export function sweptSubject(body: string, messageId: string, fifo: boolean): StatusSubject | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e) || e.v !== 1) return undefined;
  const { id, type, createdAt, tenant, correlationId, parentId } = e;
  if (typeof id !== 'string' || !UUID.test(id)) return undefined;
  if (typeof type !== 'string' || !JOB_TYPE_PATTERN.test(type)) return undefined;
  if (typeof createdAt !== 'string' || !ISO_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt)))
    return undefined;
  return {
    id,
    type,
    queue: fifo ? 'fifo' : 'standard',
    messageId,
    acceptedAt: createdAt,
    ...(typeof correlationId === 'string' && correlationId.length > 0 && correlationId.length <= 256
      ? { correlationId }
      : {}),
    ...(typeof parentId === 'string' && UUID.test(parentId) ? { parentId } : {}),
    ...(isTenantName(tenant) ? { tenant } : {}),
  };
}

/** Seconds a message stays hidden while a sweep looks at it; released (visibility 0) at the end. */
export const SWEEP_VISIBILITY_SECONDS = 120;

function attributeMap(m: Message): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
      k,
      { stringValue: v.StringValue, dataType: v.DataType },
    ]),
  );
}

/**
 * Archives every message of each DLQ that has no archive record yet (crashes, timeouts,
 * messages moved by the redrive policy while their archive write failed). It never deletes:
 * messages stay in their DLQ for inspection and redrive, and are made visible again at the end.
 *
 * A message's work is done once: a message the consumer dead-lettered itself
 * ({@link archivedByConsumer}) costs no request beyond its share of the receive and the release;
 * any other message is checked in S3 (`HeadObject`, then the conditional put) until its status row
 * says `failed` with this record's key, which the sweep writes once the record exists; from then on
 * the row (one `GetItem`) is its marker. A message without a status row (a body that is not an
 * envelope) is checked in S3 on every run.
 */
export async function sweep(
  queues: readonly SweptQueue[],
  deps: {
    sqs: SQSClient;
    archive: ArchiveWriter;
    logger: Logger;
    deadline: () => number;
    now?: () => Date;
    /** Marks swept messages `failed` (kind `unknown`) unless already final. @default none */
    status?: StatusStore;
  },
): Promise<SweepResult> {
  const result: SweepResult = { seen: 0, archived: 0, alreadyArchived: 0, confirmed: 0, failed: 0 };
  for (const q of queues) {
    const held: { Id: string; ReceiptHandle: string }[] = [];
    const seen = new Set<string>();
    try {
      while (deps.deadline() > 5_000) {
        const out = await deps.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: q.dlqUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: SWEEP_VISIBILITY_SECONDS,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) break;
        for (const m of messages) {
          held.push({ Id: String(held.length), ReceiptHandle: m.ReceiptHandle! });
          if (seen.has(m.MessageId!)) continue;
          seen.add(m.MessageId!);
          result.seen++;
          const attrs = m.MessageAttributes ?? {};
          if (archivedByConsumer(attrs)) {
            result.confirmed++;
            continue;
          }
          const originalId = attrs[DLQ_ATTR.originalMessageId]?.StringValue ?? m.MessageId!;
          const recordedKind = attrs[DLQ_ATTR.failureKind]?.StringValue;
          const kind: FailureKind =
            recordedKind === 'permanent' ||
            recordedKind === 'exhausted' ||
            recordedKind === 'deferral-exhausted'
              ? recordedKind
              : 'unknown';
          const error = new UnknownFailure(
            'Message reached its DLQ without an archive record (crash, timeout or failed archive write)',
          );
          // The consumer records the cause's class name when it dead-letters a message itself.
          const recordedName = attrs[DLQ_ATTR.errorName]?.StringValue;
          if (recordedName !== undefined) error.name = recordedName;
          try {
            const record = buildArchiveRecord(
              {
                messageId: originalId,
                body: m.Body ?? '',
                attributes: m.Attributes ?? {},
                messageAttributes: attributeMap(m),
              },
              { name: attrs[DLQ_ATTR.sourceQueue]?.StringValue ?? q.sourceQueueName, arn: q.sourceQueueArn },
              { kind, error },
              deps.now?.(),
            );
            const key = archiveKey(record);
            const subject = sweptSubject(m.Body ?? '', originalId, q.sourceQueueName.endsWith('.fifo'));
            if (
              subject &&
              deps.status &&
              (await confirmedByStatus(deps.status, subject.id, key, deps.logger))
            ) {
              result.confirmed++;
              continue;
            }
            const outcome = await deps.archive.write(record);
            if (outcome === 'written') {
              result.archived++;
              deps.logger.info('swept message archived', {
                messageId: originalId,
                dlq: q.dlqUrl,
                ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
              });
            } else result.alreadyArchived++;
            // The marker of later runs: the row names this record (a row already final is left).
            if (subject && kind === 'unknown')
              await deps.status?.failed(subject, { kind, archiveKey: key }, error, {
                unlessFinal: true,
              });
          } catch (error) {
            result.failed++;
            deps.logger.error('sweep archive write failed; will retry next run', {
              messageId: originalId,
              error,
            });
          }
        }
      }
    } finally {
      for (let i = 0; i < held.length; i += 10) {
        await deps.sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: q.dlqUrl,
              Entries: held.slice(i, i + 10).map((h, j) => ({ ...h, Id: String(j), VisibilityTimeout: 0 })),
            }),
          )
          .catch((error) =>
            deps.logger.warn('could not release swept messages; they reappear after the sweep visibility', {
              error,
            }),
          );
      }
    }
  }
  return result;
}

/**
 * Whether the status row of envelope `id` says `failed` with the archive record `key`: written by
 * the consumer or by an earlier sweep only after that record existed. A row that cannot be read
 * is no marker (the sweep checks S3 instead).
 */
async function confirmedByStatus(
  status: StatusStore,
  id: string,
  key: string,
  logger: Logger,
): Promise<boolean> {
  try {
    const row = await status.get(id);
    return row?.status === 'failed' && row.failure?.archiveKey === key;
  } catch (error) {
    logger.warn('could not read the status row; checking the archive instead', { error });
    return false;
  }
}

/**
 * Publishes a sweep's counts (`archived`, `archiveFailed`; dimension `service`), each only when it
 * is not 0: CloudWatch bills a custom metric for every hour it receives data, so zeros every run
 * would cost 2 metrics a month at no traffic and say nothing (the archive alarm treats missing data
 * as not breaching; the dashboard sums what exists). Nothing is written for a sweep that did
 * neither.
 */
export function publishSweepMetrics(metrics: Metrics, result: SweepResult): void {
  if (result.archived > 0) metrics.addMetric('archived', MetricUnit.Count, result.archived);
  if (result.failed > 0) metrics.addMetric('archiveFailed', MetricUnit.Count, result.failed);
  if (result.archived > 0 || result.failed > 0) metrics.publishStoredMetrics();
}
