import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { buildArchiveRecord, queueNameFromArn, type ArchiveRecord, type ArchiveWriter } from '../archive';
import { FinalAttemptInterrupted } from '../errors';

/** The queue an SQS record came from, as the archive names it. */
export function queueOf(record: SQSRecord): { name: string; arn: string } {
  return { name: queueNameFromArn(record.eventSourceARN), arn: record.eventSourceARN };
}

/**
 * The provisional-archive protocol of final attempts. Before any record of a batch runs, every
 * final-attempt record gets an archive record saying {@link FinalAttemptInterrupted} (a crash
 * mid-batch would otherwise leave the later ones unarchived when the redrive policy moves them).
 * A record given up on replaces its provisional record ({@link ProvisionalArchive.settle}); once
 * the whole batch has returned, the provisional records of those that succeeded are removed (a
 * crash after a record succeeded fails its whole batch, so that record too goes to the DLQ and
 * must keep its record).
 */
export class ProvisionalArchive {
  /** Provisional records written by `beforeBatch`, by message id, until `afterBatch`. */
  private readonly provisionals = new Map<string, ArchiveRecord | undefined>();

  constructor(
    private readonly archive: ArchiveWriter,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** Writes the provisional records of the batch's final-attempt records (`isFinal`). */
  async beforeBatch(event: SQSEvent, isFinal: (record: SQSRecord) => boolean): Promise<void> {
    this.provisionals.clear();
    const finals = event.Records.filter(isFinal);
    await Promise.all(finals.map(async (r) => this.provisionals.set(r.messageId, await this.write(r))));
  }

  /**
   * The record's final archive record now stands in the provisional one's place: `afterBatch`
   * must not remove it (a permanent failure is acknowledged, so it looks like a success there).
   */
  settle(messageId: string): void {
    this.provisionals.delete(messageId);
  }

  /**
   * Removes the provisional records of final-attempt records deleted from the queue before the
   * batch ended (crash isolation's early delete): they can no longer reach a DLQ.
   */
  async release(messageIds: ReadonlySet<string>): Promise<void> {
    const done = [...this.provisionals].filter(([id, record]) => record && messageIds.has(id));
    for (const [id] of done) this.provisionals.delete(id);
    await this.removeAll(done);
  }

  /** Removes the provisional records of the batch's final-attempt records that succeeded. */
  async afterBatch(response: { batchItemFailures: { itemIdentifier: string }[] }): Promise<void> {
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = [...this.provisionals].filter(([id, record]) => record && !failed.has(id));
    this.provisionals.clear();
    await this.removeAll(done);
  }

  private async removeAll(done: [string, ArchiveRecord | undefined][]): Promise<void> {
    await Promise.all(
      done.map(([messageId, record]) =>
        this.archive
          .remove(record!)
          .catch((error: unknown) =>
            this.logger.error(
              'processed on its final attempt, but its provisional archive record could not be removed',
              { messageId, error },
            ),
          ),
      ),
    );
  }

  private async write(record: SQSRecord): Promise<ArchiveRecord | undefined> {
    const provisional = buildArchiveRecord(
      record,
      queueOf(record),
      { kind: 'unknown', error: new FinalAttemptInterrupted() },
      this.now(),
    );
    try {
      await this.archive.write(provisional, { replace: true });
      return provisional;
    } catch (writeError) {
      // Not fatal: the handler still runs; a failure is archived as usual, and the DLQ sweeper
      // covers a crash of a standard queue's record.
      this.logger.warn('could not write the provisional archive record of a final attempt', {
        error: writeError,
      });
      return undefined;
    }
  }
}
