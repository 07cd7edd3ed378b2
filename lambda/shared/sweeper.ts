import type { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { archiveKey, buildArchiveRecord, type ArchiveWriter, type FailureKind } from './archive';
import { subjectOf } from './consumer/status-subject';
import { DLQ_ATTR } from './dlq-attributes';
import { UnknownFailure } from './errors';
import type { StatusStore } from './status/types';

/** One DLQ the sweeper watches and the queue it belongs to. */
export interface SweptQueue {
  readonly dlqUrl: string;
  readonly sourceQueueName: string;
  readonly sourceQueueArn: string;
}

/** Figures of one sweep. */
export interface SweepResult {
  seen: number;
  archived: number;
  alreadyArchived: number;
  failed: number;
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
  const result: SweepResult = { seen: 0, archived: 0, alreadyArchived: 0, failed: 0 };
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
          const originalId = attrs[DLQ_ATTR.originalMessageId]?.StringValue ?? m.MessageId!;
          const recordedKind = attrs[DLQ_ATTR.failureKind]?.StringValue;
          const kind: FailureKind =
            recordedKind === 'permanent' || recordedKind === 'exhausted' ? recordedKind : 'unknown';
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
            const outcome = await deps.archive.write(record);
            if (outcome === 'written') {
              result.archived++;
              deps.logger.info('swept message archived', {
                messageId: originalId,
                dlq: q.dlqUrl,
                ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
              });
            } else result.alreadyArchived++;
            const subject = subjectOf(
              { body: m.Body ?? '', messageId: originalId },
              q.sourceQueueName.endsWith('.fifo'),
            );
            if (subject && kind === 'unknown')
              await deps.status?.failed(subject, { kind, archiveKey: archiveKey(record) }, error, {
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
