import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deadlineMarginMs } from './deadline';
import { isSuspect, planBatch, receiveCountOf, type IsolationSettings } from './crash-isolation';
import type { CulpritCheck, IsolatedRunMarker } from './culprit';
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
  /**
   * FIFO culprits (`./culprit.ts`): lone runs are marked, and a suspect whose lone run never
   * returned is given up on when records of its group wait behind it in the batch (`giveUp`
   * resolves true once it is archived and dead-lettered; it is then acknowledged).
   * @default none (suspects are only isolated)
   */
  readonly culprits?: {
    readonly check: CulpritCheck;
    readonly giveUp: (record: SQSRecord, marker: IsolatedRunMarker) => Promise<boolean>;
  };
  /**
   * True when a redelivered record the memo does not know is accounted for by its status row
   * (`./run-state.ts`, read by the consumer once per invocation): it failed on its own, or it will
   * not run (its runs are used up, or it already succeeded). @default none (the memo alone decides)
   */
  readonly accountedByRow?: (record: SQSRecord) => boolean;
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

  const run = async (
    records: readonly SQSRecord[],
    context: Context,
    handler: RecordHandler = handleRecord,
  ) =>
    new Set(
      (await processing.process({ Records: [...records] }, handler, context)).batchItemFailures.map(
        (f) => f.itemIdentifier,
      ),
    );

  /** A suspect's lone run is marked (the records after it in its unit are not). */
  const aloneHandler =
    (suspect: SQSRecord): RecordHandler =>
    (record, context) =>
      record.messageId === suspect.messageId && deps.culprits && isSuspect(record, memo)
        ? deps.culprits.check.runAlone(record, () => handleRecord(record, context))
        : handleRecord(record, context);

  /**
   * Gives up on the culprits among the suspects that have records of their group behind them in
   * the batch (markers are read only when there are suspects). Those records are accounted for:
   * the crash that made them suspects is explained, so they run as fresh records, in order.
   */
  const giveUpCulprits = async (records: readonly SQSRecord[]): Promise<Set<string>> => {
    const givenUp = new Set<string>();
    const behind = (r: SQSRecord) =>
      records
        .slice(records.indexOf(r) + 1)
        .filter(
          (x) => x.attributes.MessageGroupId === r.attributes.MessageGroupId && !givenUp.has(x.messageId),
        );
    const suspects = deps.culprits ? records.filter((r) => isSuspect(r, memo) && behind(r).length > 0) : [];
    if (!deps.culprits || suspects.length === 0) return givenUp;
    const found = await deps.culprits.check.find(suspects);
    for (const record of suspects) {
      const marker = found.get(record);
      if (!marker || !(await deps.culprits.giveUp(record, marker))) continue;
      givenUp.add(record.messageId);
      for (const r of behind(record)) memo.account(r.messageId, receiveCountOf(r) - 1);
    }
    return givenUp;
  };

  /**
   * The phases of an isolated batch run one after another, so each gets its share of the time
   * left: the context a phase sees reports `(remaining - margin) / phasesLeft + margin`, and the records' deadlines
   * (`./deadline.ts`) follow from it. A hanging record thus cannot starve the suspects after it,
   * nor push the invocation into a timeout that would fail the whole batch again.
   */
  const share = (context: Context, phasesLeft: number): Context => {
    if (phasesLeft <= 1) return context; // the last phase has all that is left
    // The bookkeeping margin (`./deadline.ts`) is kept once, after the last phase, not once per
    // phase: each phase's records would otherwise lose it from their share.
    // Time is read from the invocation's own clock (its remaining time), not the wall clock.
    const remaining = context.getRemainingTimeInMillis();
    const margin = deadlineMarginMs(remaining);
    const phase = (remaining - margin) / phasesLeft + margin;
    return Object.assign(Object.create(context) as Context, {
      getRemainingTimeInMillis: () => Math.max(0, phase - (remaining - context.getRemainingTimeInMillis())),
    });
  };

  const deleteEarly = async (records: readonly SQSRecord[], failed: ReadonlySet<string>) => {
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    const deleted = await deleteDone(deps.sqs, deps.queueUrl, done, deps.logger);
    for (const id of deleted) memo.forget(id);
    await deps.onDeleted(deleted);
  };

  /** Accounts for the suspects that their status rows account for (`accountedByRow`). */
  const clearFromRows = (records: readonly SQSRecord[]): void => {
    if (!deps.accountedByRow) return;
    for (const r of records)
      if (isSuspect(r, memo) && deps.accountedByRow(r)) memo.account(r.messageId, receiveCountOf(r) - 1);
  };

  return async function processIsolated(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    clearFromRows(event.Records);
    const givenUp = await giveUpCulprits(event.Records);
    const batch = event.Records.filter((r) => !givenUp.has(r.messageId));
    const plan = planBatch(batch, memo, settings);
    const failed = new Set<string>();
    const stillSuspect = new Set<string>();
    if (!plan.isolated) {
      for (const id of await run(batch, context)) failed.add(id);
    } else {
      deps.logger.info('crash isolation: the batch runs in phases', {
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
        const unitFailed = await run(records, share(context, phasesLeft--), aloneHandler(unit.suspect));
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
