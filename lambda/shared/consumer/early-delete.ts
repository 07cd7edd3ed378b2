import type { Logger } from '@aws-lambda-powertools/logger';
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** Entries per `DeleteMessageBatch` request (the SQS limit). */
export const DELETE_BATCH_SIZE = 10;

/**
 * Deletes records that are done (succeeded, or acknowledged after being dead-lettered) from the
 * source queue right away, in batches of 10, before a risky part of the batch runs: a crash
 * after this point cannot make them run again. They are still reported as successes, so the
 * event source mapping deletes them too; deleting an already deleted message is a no-op in SQS.
 *
 * Best effort: a record whose delete failed is only exposed to a re-run, as without isolation.
 * Resolves the ids that were deleted.
 */
export async function deleteDone(
  sqs: SQSClient,
  queueUrl: string,
  records: readonly SQSRecord[],
  log: Logger,
): Promise<Set<string>> {
  const deleted = new Set<string>();
  for (let i = 0; i < records.length; i += DELETE_BATCH_SIZE) {
    const chunk = records.slice(i, i + DELETE_BATCH_SIZE);
    try {
      const out = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
      chunk.forEach((r, j) => (failed.has(j) ? undefined : deleted.add(r.messageId)));
      if (failed.size > 0) log.warn('early delete refused for some records', { failed: out.Failed });
    } catch (error) {
      log.warn('early delete failed: those records could run again if the batch crashes', { error });
    }
  }
  return deleted;
}
