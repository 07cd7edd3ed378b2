import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isSuspect, planBatch, receiveCountOf, type IsolationSettings } from './crash-isolation';
import type { SandboxDeliveryMemo } from './delivery-memo';
import { deleteDone } from './early-delete';
import type { BatchProcessing, RecordHandler } from './processing';

/** What {@link createIsolatedBatch} needs from the consumer. */
export interface IsolatedBatchDeps {
  readonly sqs: SQSClient;
  /** The source queue, where done records are deleted early. */
  readonly queueUrl: string;
  readonly settings: IsolationSettings;
  readonly processing: BatchProcessing;
  readonly handleRecord: RecordHandler;
  readonly memo: SandboxDeliveryMemo;
  readonly logger: Logger;
  /** Sets a record's visibility timeout (hand-back); never rejects. */
  readonly changeVisibility: (record: SQSRecord, seconds: number, log: Logger) => Promise<void>;
  /** Called with the records deleted early (their provisional archive records can go). */
  readonly onDeleted: (messageIds: ReadonlySet<string>) => Promise<void>;
}

/**
 * Carries out the crash-isolation plan (`./crash-isolation.ts`, `planBatch`) of one invocation:
 *
 * 1. no suspect: the processor runs the batch as it would without isolation (no extra request);
 * 2. otherwise the suspects that do not run are handed back first (short visibility delay), then
 *    the urgent units (final attempts) run each alone, the fresh records together, and each other
 *    suspect unit alone, in that order; the done records of each phase are deleted at once
 *    (`./early-delete.ts`) before the next phase runs;
 * 3. the memo (`./delivery-memo.ts`) records every delivery that ended without a crash.
 *
 * The response lists failed records in event order, as the processor's would.
 */
export function createIsolatedBatch(deps: IsolatedBatchDeps) {
  const { processing, handleRecord, memo, settings } = deps;

  const run = async (records: readonly SQSRecord[], context: Context) =>
    new Set(
      (await processing.process({ Records: [...records] }, handleRecord, context)).batchItemFailures.map(
        (f) => f.itemIdentifier,
      ),
    );

  /**
   * The phases of an isolated batch run one after another, so each gets its share of the time
   * left: the context a phase sees reports `remaining / phasesLeft`, and the records' deadlines
   * (`./deadline.ts`) follow from it. A hanging record thus cannot starve the suspects after it,
   * nor push the invocation into a timeout that would fail the whole batch again.
   */
  const share = (context: Context, phasesLeft: number): Context => {
    const until = Date.now() + context.getRemainingTimeInMillis() / Math.max(1, phasesLeft);
    return Object.assign(Object.create(context) as Context, {
      getRemainingTimeInMillis: () => Math.max(0, until - Date.now()),
    });
  };

  const deleteEarly = async (records: readonly SQSRecord[], failed: ReadonlySet<string>) => {
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    const deleted = await deleteDone(deps.sqs, deps.queueUrl, done, deps.logger);
    for (const id of deleted) memo.forget(id);
    await deps.onDeleted(deleted);
  };

  return async function processIsolated(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    const plan = planBatch(event.Records, memo, settings);
    const failed = new Set<string>();
    const stillSuspect = new Set<string>();
    if (!plan.isolated) {
      for (const id of await run(event.Records, context)) failed.add(id);
    } else {
      deps.logger.info('crash isolation: batch has suspects', {
        urgent: plan.urgent.map((u) => u.suspect.messageId),
        fresh: plan.fresh.length,
        alone: plan.alone.map((u) => u.suspect.messageId),
        handedBack: plan.handBack.flatMap((h) => h.records.map((r) => r.messageId)),
      });
      for (const { records, delaySeconds } of plan.handBack) {
        await Promise.all(records.map((r) => deps.changeVisibility(r, delaySeconds, deps.logger)));
        for (const r of records) failed.add(r.messageId);
      }
      for (const r of plan.handBack.flatMap((h) => h.records))
        if (isSuspect(r, memo)) stillSuspect.add(r.messageId);
      // FIFO: a group stops at its first failure; its later records must not overtake it.
      const failedGroups = new Set<string | undefined>();
      const noteFailures = (records: readonly SQSRecord[], unitFailed: ReadonlySet<string>) => {
        for (const id of unitFailed) failed.add(id);
        if (settings.fifo)
          for (const r of records)
            if (unitFailed.has(r.messageId)) failedGroups.add(r.attributes.MessageGroupId);
      };
      const units = [...plan.urgent, ...(plan.fresh.length > 0 ? [null] : []), ...plan.alone];
      let phasesLeft = units.length;
      for (const [i, unit] of units.entries()) {
        const last = i === units.length - 1;
        if (unit === null) {
          const freshFailed = await run(plan.fresh, share(context, phasesLeft--));
          noteFailures(plan.fresh, freshFailed);
          if (!last) await deleteEarly(plan.fresh, freshFailed);
          continue;
        }
        const records = [unit.suspect, ...unit.followers];
        if (settings.fifo && failedGroups.has(unit.suspect.attributes.MessageGroupId)) {
          for (const r of records) failed.add(r.messageId);
          phasesLeft--;
          continue;
        }
        const unitFailed = await run(records, share(context, phasesLeft--));
        noteFailures(records, unitFailed);
        if (!last) await deleteEarly(records, unitFailed);
      }
    }
    for (const r of event.Records) {
      if (failed.has(r.messageId) && !stillSuspect.has(r.messageId))
        memo.account(r.messageId, receiveCountOf(r));
    }
    return {
      batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
        itemIdentifier: r.messageId,
      })),
    };
  };
}
