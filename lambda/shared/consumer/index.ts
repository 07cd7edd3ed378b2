import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { archiveKey, buildArchiveRecord, type ArchiveWriter, type FailureKind } from '../archive';
import type { BackoffSettings } from '../backoff';
import { deadLetterAttributes } from '../dlq-attributes';
import { parseEnvelope } from '../envelope-schema';
import type { PipelineError } from '../errors';
import {
  AttemptsUsedUp,
  DeferralExhausted,
  NoTimeLeft,
  PermanentError,
  RetryableError,
  RetryLaterError,
  UnknownFailure,
} from '../errors';
import type { JobRegistry } from '../jobs/registry';
import {
  prepareResult,
  RESULT_LIMITS,
  resultObjectKey,
  type PreparedResult,
  type StoredResult,
} from '../jobs/result';
import type { StatusStore } from '../status/types';
import { createCulpritCheck, crashedRuntimeError, type IsolatedRunMarker, type MarkerStore } from './culprit';
import { MIN_RECORD_BUDGET_MS, recordBudgetMs, withDeadline } from './deadline';
import { SandboxDeliveryMemo } from './delivery-memo';
import { guardRecord } from './fault-guard';
import { receiveCountOf } from './crash-isolation';
import { createIsolatedBatch } from './isolated-batch';
import { failedOnItsOwn, type RunFacts, type RunStates } from './run-state';
import {
  attemptsUsedUp,
  decideFailure,
  isFinalAttempt,
  retryAfterSeconds,
  type Attempt,
} from './failure-policy';
import { BatchMetrics } from './metrics';
import { InProgressElsewhere, type RecordIdempotency } from './idempotency';
import { QuotaWindowMissed } from './quota';
import type { Admission, RateLimiter } from './rate-limit';
import { subjectOf } from './status-subject';
import type { ChildEnqueuer, ResultObjects } from './children';
import type { BatchProcessing } from './processing';
import { logFailure } from './failure-log';
import { ProvisionalArchive, queueOf } from './provisional-archive';
import {
  DEFAULT_MAX_DEFERRAL_SECONDS,
  laterOf,
  notBeforeOfBody,
  NotYetDue,
  planDeferral,
  type DeferralContext,
} from './deferral';

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Settings of a consumer, read from its environment by the entry point (`lambda/consumer/config.ts`). */
export interface ConsumerSettings {
  /** The lane this consumer runs (status rows, logs). @default the queue's default lane */
  readonly lane?: string;
  /** URL of the source queue (for visibility changes). */
  readonly queueUrl: string;
  /** URL of the source queue's DLQ, where permanent failures are sent. */
  readonly dlqUrl: string;
  /** The source queue's redrive `maxReceiveCount`: the backstop behind `maxAttempts`. */
  readonly maxReceiveCount: number;
  /**
   * Handler runs a message gets before it is given up on, counted on its status row
   * (`./run-state.ts`). @default maxReceiveCount (receives count as runs)
   */
  readonly maxAttempts?: number;
  readonly backoff: BackoffSettings;
  /**
   * The lane's deferral cap: a record may be held back (deferred, scheduled) until at most this
   * long after it was enqueued (`./deferral.ts`). @default DEFAULT_MAX_DEFERRAL_SECONDS
   */
  readonly maxDeferralSeconds?: number;
}

/** Everything a consumer depends on; injectable for tests. */
export interface ConsumerDeps {
  readonly registry: JobRegistry;
  readonly sqs: SQSClient;
  readonly archive: ArchiveWriter;
  readonly logger: Logger;
  /** @default no metrics */
  readonly metrics?: Metrics;
  readonly settings: ConsumerSettings;
  /** The entry point's processor: `fifoProcessing()` or `standardProcessing()`. */
  readonly processing: BatchProcessing;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Status transitions (wrap in `SafeStatusStore`: a failed write never fails a record). @default none */
  readonly status?: StatusStore;
  /** Runs each record's handler at most once per envelope id. @default none (at-least-once) */
  readonly idempotency?: RecordIdempotency;
  /** Keeps results too large for the status row (`../jobs/result.ts`). @default such a result fails its run */
  readonly results?: ResultObjects;
  /** `ctx.enqueue`: sends a handler's follow-up jobs (`./children.ts`). @default `enqueue` throws */
  readonly children?: ChildEnqueuer;
  /** Crash isolation's memo of deliveries that ended without a crash. @default a new one per consumer */
  readonly memo?: SandboxDeliveryMemo;
  /** FIFO: lone-run markers of crash isolation (`./culprit.ts`); unused on a standard queue. @default none */
  readonly markers?: MarkerStore;
  /**
   * The status rows of redelivered records (`./run-state.ts`): their handler runs, counted against
   * `maxAttempts`, and what crash isolation needs. @default none (every earlier receive counts as
   * a run, and the memo alone tells suspects)
   */
  readonly runStates?: RunStates;
  /**
   * The lane's rate limit across all its consumers (`./rate-limit.ts`): a record that finds no
   * token is deferred until the next one, without running and without spending an attempt.
   * @default no limit
   */
  readonly rateLimiter?: RateLimiter;
  /**
   * With a rate limit: a record whose token is due within this many milliseconds reserves it and
   * waits for it in-process instead of being deferred (a deferral hides it for whole seconds, plus
   * its redelivery), at most half the record's budget. 0: every record without a token now is
   * deferred. @default RATE_LIMIT_HOLD_MS
   */
  readonly rateLimitHoldMs?: number;
  /** Waits in-process (a reserved token's slot). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Default {@link ConsumerDeps.rateLimitHoldMs}: a second, the granularity of a visibility change. */
export const RATE_LIMIT_HOLD_MS = 1000;

/**
 * The consumer core shared by the standard and FIFO entry points. Per record (`handleRecord`) the
 * job runs under its deadline (`./deadline.ts`), then the failure policy (`./failure-policy.ts`,
 * `decideFailure`) decides and this module carries the decision out:
 *
 * - `ack`: resolves (the event source mapping deletes the record);
 * - `dead-letter`: archive (`archiveFailure`), then send to the DLQ (`sendToDlq`), then resolve, so
 *   the source deletes it. If either step fails the record is reported as failed and retried,
 *   never deleted unarchived;
 * - `exhausted`: archive, status `failed`, send to the DLQ and resolve (FIFO: its group goes on in
 *   this batch). If the send fails the record is rejected: the redrive policy moves it on its
 *   last receive, else its next delivery finds its runs used up and sends it;
 * - runs used up before this delivery (its last run never returned: a crash or a timeout of the
 *   runtime): given up on without running (`unknown`, {@link AttemptsUsedUp}).
 * - `retry`: delay the next attempt with a backoff visibility change, then reject, so the record
 *   is reported in `batchItemFailures`.
 *
 * Per batch (`processBatch`): the provisional-archive protocol (`./provisional-archive.ts`) wraps
 * the records run by the entry point's processor (`./fifo-processor.ts`, `./standard-processor.ts`).
 */
export function createConsumer(deps: ConsumerDeps) {
  const { registry, sqs, archive, settings, processing } = deps;
  const now = deps.now ?? (() => new Date());
  const provisionals = new ProvisionalArchive(archive, deps.logger, now);

  /** Where a failure given up on is archived (`permanent` or `exhausted`). */
  async function archiveFailure(
    record: SQSRecord,
    kind: FailureKind,
    error: unknown,
    log: Logger,
    metrics: BatchMetrics,
  ): Promise<string> {
    let archived;
    const archiveRecord = buildArchiveRecord(record, queueOf(record), { kind, error }, now());
    try {
      // replace: overwrites this consumer's provisional record of a final attempt, if any.
      archived = await archive.write(archiveRecord, { replace: true });
    } catch (archiveError) {
      metrics.archiveFailed();
      log.error('archive write failed: the record is reported as failed and stays on its queue', {
        error: archiveError,
      });
      throw archiveError;
    }
    provisionals.settle(record.messageId);
    log.info('failure archived', { failureKind: kind, archive: archived });
    metrics.count('archived', record);
    return archiveKey(archiveRecord);
  }

  async function sendToDlq(
    record: SQSRecord,
    errorName: string,
    kind: FailureKind = 'permanent',
  ): Promise<void> {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: settings.dlqUrl,
        MessageBody: record.body,
        MessageAttributes: deadLetterAttributes(record, errorName, kind),
        ...(processing.fifo
          ? {
              MessageGroupId: record.attributes.MessageGroupId ?? 'default',
              MessageDeduplicationId: record.messageId,
            }
          : {}),
      }),
    );
  }

  /**
   * Gives up on a record at once: archive (`kind`), send to the DLQ, status `failed`, in that
   * order; throws when the archive write or the send fails (then nothing after it happened).
   */
  async function deadLetterNow(
    record: SQSRecord,
    kind: FailureKind,
    error: unknown,
    log: Logger,
    metrics: BatchMetrics,
  ): Promise<void> {
    const key = await archiveFailure(record, kind, error, log, metrics);
    await sendToDlq(record, (error as PipelineError).name, kind);
    const subject = subjectOf(record, processing.fifo, settings.lane);
    if (subject) await deps.status?.failed(subject, { kind, archiveKey: key }, error);
  }

  /** Sends an exhausted record to the DLQ; false (logged) when the send failed. */
  async function sentToDlq(record: SQSRecord, error: unknown, log: Logger): Promise<boolean> {
    try {
      await sendToDlq(record, error instanceof Error ? error.name : UnknownFailure.name, 'exhausted');
      log.info('retries exhausted: moved to the DLQ by the consumer');
      return true;
    } catch (sendError) {
      log.warn(
        'could not send the exhausted record to the DLQ; its next delivery or the redrive policy moves it',
        {
          error: sendError,
        },
      );
      return false;
    }
  }

  async function changeVisibility(record: SQSRecord, seconds: number, log: Logger): Promise<void> {
    try {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: settings.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      // The record still retries after the queue's visibility timeout; nothing is lost.
      log.warn('could not change visibility; the queue default applies', { error });
    }
  }

  const limits = {
    maxAttempts: settings.maxAttempts ?? settings.maxReceiveCount,
    maxReceiveCount: settings.maxReceiveCount,
  };
  const maxDeferralSeconds = settings.maxDeferralSeconds ?? DEFAULT_MAX_DEFERRAL_SECONDS;
  /** FIFO: the groups of the running invocation whose record was deferred, and the records that ran. */
  let deferredGroups = new Set<string>();
  let handled = new Set<string>();
  const noteDeferred = (record: SQSRecord) => {
    const group = record.attributes.MessageGroupId;
    if (processing.fifo && group !== undefined) deferredGroups.add(group);
  };

  /**
   * FIFO: the records skipped behind a deferred record of their group (reported failed without
   * running) are made visible again at once, so the group waits for the deferral only, not for
   * their visibility timeout too: SQS delivers none of a group while one of its messages is in
   * flight, so the deferred record still comes first. One `ChangeMessageVisibilityBatch` per 10.
   */
  async function releaseSkipped(event: SQSEvent, response: SQSBatchResponse): Promise<void> {
    if (deferredGroups.size === 0) return;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const skipped = event.Records.filter(
      (r) =>
        failed.has(r.messageId) &&
        !handled.has(r.messageId) &&
        deferredGroups.has(r.attributes.MessageGroupId ?? ''),
    );
    for (let i = 0; i < skipped.length; i += 10) {
      const chunk = skipped.slice(i, i + 10);
      try {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: settings.queueUrl,
            Entries: chunk.map((r, n) => ({
              Id: String(n),
              ReceiptHandle: r.receiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        );
      } catch (error) {
        // They come back after the queue's visibility timeout instead; nothing is lost.
        deps.logger.warn('could not hand back the records skipped behind a deferral', { error });
      }
    }
  }

  /** What a deferral of `record` is checked against (`./deferral.ts`). */
  function deferralContext(record: SQSRecord, attempt: Attempt): DeferralContext {
    const at = now();
    const sent = Number(record.attributes.SentTimestamp);
    return {
      now: at,
      sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : at,
      receiveCount: attempt.receiveCount,
      maxReceiveCount: limits.maxReceiveCount,
      attemptsLeft: limits.maxAttempts - attempt.runsBefore,
      maxDeferralSeconds,
    };
  }

  /**
   * A record that may not be deferred any longer (`DeferralExhausted`): archived, dead-lettered,
   * status `failed`, kind `deferral-exhausted`, acknowledged; if that fails it is rejected and
   * retried after a backoff, like any failed give-up.
   */
  async function giveUpDeferral(
    record: SQSRecord,
    error: DeferralExhausted,
    attempt: Attempt,
    log: Logger,
    metrics: BatchMetrics,
  ): Promise<void> {
    logFailure(log, 'deferral exhausted: archiving and dead-lettering', error);
    try {
      await deadLetterNow(record, 'deferral-exhausted', error, log, metrics);
    } catch (bookkeepingError) {
      await changeVisibility(record, retryAfterSeconds(attempt), log);
      throw bookkeepingError;
    }
    metrics.count('deadLettered', record);
  }

  /**
   * A record delivered before its `notBefore` (a step of a long deferral, a scheduled message, or
   * a visibility change that was lost): hidden again for the time left (one step at most) without
   * running its handler, so without spending an attempt; given up on when the wait is past the cap
   * or the queue's receives.
   */
  async function waitUntilDue(
    record: SQSRecord,
    due: Date,
    history: { facts?: RunFacts },
    attempt: Attempt,
    log: Logger,
    metrics: BatchMetrics,
    reason: 'not due' | 'rate limit' = 'not due',
  ): Promise<void> {
    const plan = planDeferral(due, deferralContext(record, attempt));
    if (plan.action === 'exhausted')
      return giveUpDeferral(record, new DeferralExhausted(plan.reason), attempt, log, metrics);
    const visibilitySeconds = plan.action === 'defer' ? plan.visibilitySeconds : 0;
    // Scheduled by its caller and never run: it stays `scheduled`.
    const facts = history.facts;
    const state =
      reason === 'not due' &&
      (facts === undefined || facts.status === 'scheduled' || facts.status === 'accepted')
        ? 'scheduled'
        : 'deferred';
    log.info(
      reason === 'not due'
        ? 'not due yet: hidden again without running'
        : "no token in the lane's rate limit: deferred without running",
      { notBefore: due.toISOString(), visibilitySeconds },
    );
    const subject = subjectOf(record, processing.fifo, settings.lane);
    if (subject) await deps.status?.deferred(subject, { notBefore: due.toISOString(), ran: false, state });
    await changeVisibility(record, visibilitySeconds, log);
    noteDeferred(record);
    metrics.count('deferred', record);
    throw new NotYetDue(due);
  }

  /**
   * Its handler deferred the record (`RetryLaterError`), or its quota window ended before the
   * handler could start (`QuotaWindowMissed`, one): the run's attempt is given back, status
   * `deferred` with `notBefore`, hidden until then (one step at most; `./deferral.ts`), reported
   * failed so it stays on its queue (FIFO: its group waits behind it). A wait past the lane's cap
   * or the queue's receives gives it up (`deferral-exhausted`).
   */
  async function deferFromHandler(
    record: SQSRecord,
    error: RetryLaterError,
    attempt: Attempt,
    log: Logger,
    metrics: BatchMetrics,
  ): Promise<void> {
    const context = deferralContext(record, attempt);
    const notBefore = error.notBefore(context.now);
    const plan = planDeferral(notBefore, context);
    if (plan.action === 'exhausted')
      return giveUpDeferral(
        record,
        new DeferralExhausted(`${error.message}: ${plan.reason}`, { cause: error }),
        attempt,
        log,
        metrics,
      );
    const visibilitySeconds = plan.action === 'defer' ? plan.visibilitySeconds : 0;
    log.info(
      error instanceof QuotaWindowMissed
        ? 'deferred to the next quota window, unrun: no attempt spent'
        : 'deferred by its handler: no attempt spent',
      {
        notBefore: notBefore.toISOString(),
        visibilitySeconds,
        reason: error.message,
      },
    );
    const subject = subjectOf(record, processing.fifo, settings.lane);
    if (subject) await deps.status?.deferred(subject, { notBefore: notBefore.toISOString(), ran: true });
    await changeVisibility(record, visibilitySeconds, log);
    // A final attempt's provisional record: this run did not end it.
    await provisionals.release(new Set([record.messageId]));
    noteDeferred(record);
    metrics.count('deferred', record);
    throw error;
  }

  /** The status rows' facts of the running invocation's redelivered records, by SQS message id. */
  let rowFacts = new Map<string, RunFacts>();

  /** Reads the rows of the batch's redelivered records (none on a batch of first deliveries). */
  async function readRowFacts(event: SQSEvent): Promise<Map<string, RunFacts>> {
    if (!deps.runStates) return new Map();
    const redeliveries = event.Records.flatMap((r) => {
      const id = receiveCountOf(r) > 1 ? subjectOf(r, processing.fifo, settings.lane)?.id : undefined;
      return id === undefined ? [] : [{ id, messageId: r.messageId }];
    });
    return redeliveries.length === 0 ? new Map() : deps.runStates.read(redeliveries);
  }

  /**
   * A record's handler runs before this delivery: none on a first delivery, its row's count on a
   * redelivery, else every earlier receive (`usedUp` only from a row: it is never guessed).
   */
  function historyOf(record: SQSRecord): { runsBefore: number; facts?: RunFacts; usedUp: boolean } {
    const receiveCount = receiveCountOf(record);
    if (receiveCount <= 1) return { runsBefore: 0, usedUp: false };
    const facts = rowFacts.get(record.messageId);
    if (!facts) return { runsBefore: receiveCount - 1, usedUp: false };
    const usedUp = attemptsUsedUp(facts.runs, limits) && facts.status !== 'succeeded';
    return { runsBefore: facts.runs, facts, usedUp };
  }

  const isFinal = (record: SQSRecord) => {
    const history = historyOf(record);
    return !history.usedUp && isFinalAttempt({ receiveCount: receiveCountOf(record), ...history }, limits);
  };

  /** Runs the record's handler; returns its result as the `succeeded` write keeps it. */
  async function runJob(
    record: SQSRecord,
    receiveCount: number,
    budgetMs: number,
    log: Logger,
  ): Promise<StoredResult | undefined> {
    const envelope = parseEnvelope(record.body);
    log.appendKeys({ type: envelope.type, correlationId: envelope.correlationId });
    const job = registry.get(envelope.type);
    const payload = registry.parsePayload(envelope.type, envelope.payload);
    const enqueue = deps.children
      ? deps.children.forParent(envelope, log)
      : () => Promise.reject(new PermanentError('ctx.enqueue: this consumer cannot send follow-up jobs'));
    const value = await withDeadline(budgetMs, (signal) =>
      guardRecord(() =>
        job.handle(payload, {
          messageId: record.messageId,
          receiveCount,
          correlationId: envelope.correlationId,
          logger: log,
          signal,
          enqueue,
        }),
      ),
    );
    return keepResult(envelope.id, prepareResult(value), log);
  }

  /** Where a prepared result goes: the row (returned), or an S3 object first (its reference). */
  async function keepResult(
    id: string,
    prepared: PreparedResult,
    log: Logger,
  ): Promise<StoredResult | undefined> {
    if (prepared.where === 'none') return undefined;
    if (prepared.where === 'row') return { json: prepared.json };
    if (!deps.results)
      throw new PermanentError(
        `The job's result is ${prepared.bytes} bytes of JSON, over the status row's ${RESULT_LIMITS.inlineBytes}, and this consumer keeps no result objects`,
      );
    const key = resultObjectKey(id);
    // A failed write fails the run like any downstream outage: retried, the handler runs again.
    await deps.results.put(key, prepared.json);
    log.debug('result kept in S3', { key, bytes: prepared.bytes });
    return { ref: { key, bytes: prepared.bytes } };
  }

  /**
   * One record. Its metrics go to `batch` (flushed once per batch by `processBatch`); called alone
   * (no `batch`), it flushes its own.
   */
  async function handleRecord(record: SQSRecord, context?: Context, batch?: BatchMetrics): Promise<void> {
    if (batch) return handleRecordInto(record, context, batch);
    const own = new BatchMetrics(deps.metrics);
    try {
      return await handleRecordInto(record, context, own);
    } finally {
      own.flush();
    }
  }

  async function handleRecordInto(record: SQSRecord, context: Context | undefined, metrics: BatchMetrics) {
    handled.add(record.messageId);
    const receiveCount = receiveCountOf(record);
    // The status subject, when the body is an envelope (else runJob fails it as permanent).
    const subject = subjectOf(record, processing.fifo, settings.lane);
    const log = deps.logger.createChild({
      persistentKeys: {
        messageId: record.messageId,
        receiveCount,
        messageGroupId: record.attributes.MessageGroupId,
        // Who sent it (the envelope's tenant), in every line about the record.
        ...(subject?.tenant !== undefined ? { tenant: subject.tenant } : {}),
      },
    });
    const remainingMs = () => (context ? context.getRemainingTimeInMillis() : 60_000);
    const history = historyOf(record);
    const attempt: Attempt = {
      receiveCount,
      runsBefore: history.runsBefore,
      ...limits,
      backoff: settings.backoff,
      ...(deps.random ? { random: deps.random } : {}),
    };
    if (history.usedUp) return giveUpUsedUp(record, history.facts!, attempt, log, metrics);
    // Deferred or scheduled and not due yet: hidden again, its handler not run.
    const due = laterOf(notBeforeOfBody(record.body), history.facts?.notBefore);
    if (due && due.getTime() > now().getTime())
      return waitUntilDue(record, due, history, attempt, log, metrics);
    // The lane's rate limit: no token, no run (deferred to the next token, no attempt spent). A
    // redelivery its row says succeeded takes none: idempotency acknowledges it without running.
    const duplicate = deps.idempotency !== undefined && history.facts?.status === 'succeeded';
    /** A reserved token's slot (epoch ms): the handler starts then, its bookkeeping done before. */
    let slotAt: number | undefined;
    /** When the token's quota window ends (epoch ms): the handler must have started by then. */
    let startBy: number | undefined;
    if (deps.rateLimiter && subject && !duplicate) {
      const at = now();
      // A token due within the hold (and half the record's budget) is reserved and waited for here.
      const holdMs = Math.min(
        deps.rateLimitHoldMs ?? RATE_LIMIT_HOLD_MS,
        Math.floor((recordBudgetMs(remainingMs()) - MIN_RECORD_BUDGET_MS) / 2),
      );
      const token: Admission = await deps.rateLimiter
        .take(at, Math.max(0, holdMs))
        .catch((error: unknown) => {
          // Never hammer the downstream: a bucket that cannot be read holds the record a second.
          log.warn('rate limit bucket unreachable: deferring the record 1 s', { error });
          return { admitted: false, waitMs: 1000 };
        });
      if (!token.admitted)
        return waitUntilDue(
          record,
          new Date(at.getTime() + token.waitMs),
          history,
          attempt,
          log,
          metrics,
          'rate limit',
        );
      if (token.waitMs > 0) slotAt = at.getTime() + token.waitMs;
      startBy = token.startBy;
    }
    let budgetMs = recordBudgetMs(remainingMs());
    /**
     * Waits for the reserved slot, right before the handler (so the call lags it least); a run
     * whose quota window ended meanwhile does not start (`QuotaWindowMissed`: deferred to the next).
     */
    const untilSlot = async () => {
      const waitMs = slotAt === undefined ? 0 : Math.ceil(slotAt - now().getTime());
      if (waitMs > 0) {
        await (deps.sleep ?? sleepMs)(waitMs);
        budgetMs = recordBudgetMs(remainingMs());
      }
      if (startBy !== undefined && now().getTime() >= startBy) throw new QuotaWindowMissed(new Date(startBy));
    };
    if (budgetMs < MIN_RECORD_BUDGET_MS) {
      // Not an attempt: no run, no status change; visible again at once (in order, on FIFO).
      log.info('no time left in the invocation for this record: handing it back unrun', { budgetMs });
      await changeVisibility(record, 0, log);
      throw new NoTimeLeft(budgetMs);
    }
    try {
      // With idempotency on the status row, its writes carry `processing` and `succeeded`.
      const guarded = subject !== undefined && deps.idempotency !== undefined;
      const statusByIdempotency = guarded && deps.idempotency!.writesStatus;
      let result: StoredResult | undefined;
      const work = async () => {
        if (subject && !statusByIdempotency) await deps.status?.processing(subject);
        await untilSlot();
        result = await runJob(record, receiveCount, budgetMs, log);
        return result;
      };
      const outcome = guarded ? await deps.idempotency!.run(subject!, work, context) : (await work(), 'ran');
      // On a duplicate, `succeeded` is written again: a lost earlier write catches up, and the
      // delivery's SQS message id is recorded.
      if (subject && (!statusByIdempotency || outcome === 'duplicate'))
        await deps.status?.succeeded(subject, outcome === 'duplicate' ? undefined : result);
      if (outcome === 'duplicate') {
        metrics.count('duplicate', record);
        log.info('duplicate of a message that succeeded: acknowledged without running it', {
          envelopeId: subject?.id,
        });
        return;
      }
      metrics.count('processed', record);
      log.debug('record processed');
      return;
    } catch (error) {
      if (error instanceof RetryLaterError) return deferFromHandler(record, error, attempt, log, metrics);
      if (error instanceof InProgressElsewhere) {
        // Not an attempt of this delivery: no status change, retried after a backoff.
        log.info('another delivery of this message is in progress: retrying later');
        await changeVisibility(record, retryAfterSeconds(attempt), log);
        throw error;
      }
      metrics.count('failed', record);
      const decision = decideFailure({ ok: false, error }, attempt);
      switch (decision.action) {
        case 'ack':
          return;
        case 'dead-letter':
          logFailure(log, 'permanent failure: archiving and dead-lettering', error);
          try {
            await deadLetterNow(record, 'permanent', error, log, metrics);
          } catch (bookkeepingError) {
            // Archive or DLQ unreachable: report the record failed (never deleted unarchived) and
            // retry it after a backoff, like any retryable failure (on the final attempt it is
            // visible again at once: its next delivery finds its runs used up and gives it up, or
            // the redrive policy moves it; its provisional record stays).
            await changeVisibility(record, retryAfterSeconds(attempt), log);
            throw bookkeepingError;
          }
          metrics.count('deadLettered', record);
          return;
        case 'exhausted': {
          logFailure(log, 'retries exhausted: archiving and dead-lettering', error);
          const key = await archiveFailure(record, 'exhausted', error, log, metrics);
          if (subject) await deps.status?.failed(subject, { kind: 'exhausted', archiveKey: key }, error);
          // The consumer moves it itself and acknowledges it: the queue's redrive policy is only
          // the backstop (its maxReceiveCount is above maxAttempts). FIFO: the records of its
          // group behind it in this batch run now instead of being handed back. If the send
          // fails: visibility 0, and the redrive policy (last receive) or the next delivery (its
          // runs used up) moves it.
          if (await sentToDlq(record, error, log)) {
            metrics.count('deadLettered', record);
            return;
          }
          await changeVisibility(record, 0, log);
          break;
        }
        case 'retry':
          logFailure(log, 'retryable failure: backing off', error, { backoffSeconds: decision.afterSeconds });
          if (subject) await deps.status?.retrying(subject, error);
          await changeVisibility(record, decision.afterSeconds, log);
          break;
      }
      throw error instanceof RetryableError ? error : UnknownFailure.from(error);
    }
  }

  /**
   * A record whose runs were used up before this delivery: its last run never returned (the
   * runtime crashed or timed out while it ran), or its DLQ send failed after it was archived
   * (`failed` on its row). It is given up on without running: archived as `unknown` (the
   * existing record is kept when the row names one), sent to the DLQ, acknowledged. If that
   * fails it is rejected, to be given up on by a later delivery (or the redrive policy).
   */
  async function giveUpUsedUp(
    record: SQSRecord,
    facts: RunFacts,
    attempt: Attempt,
    log: Logger,
    metrics: BatchMetrics,
  ): Promise<void> {
    const error = new AttemptsUsedUp(facts.runs, attempt.maxAttempts);
    try {
      if (facts.status === 'failed' && facts.failure?.archiveKey) {
        log.info('runs used up and archived before: dead-lettering it', { failure: facts.failure });
        await sendToDlq(record, error.name, facts.failure.kind);
      } else {
        logFailure(log, 'runs used up, the last never returned: dead-lettering it without running', error);
        await deadLetterNow(record, 'unknown', error, log, metrics);
      }
    } catch (bookkeepingError) {
      await changeVisibility(record, retryAfterSeconds(attempt), log);
      throw bookkeepingError;
    }
    metrics.count('deadLettered', record);
  }

  /** Writes the provisional archive records of the batch's final-attempt records. */
  const beforeBatch = (event: SQSEvent) => provisionals.beforeBatch(event, isFinal);
  /** Removes the provisional records of the final-attempt records that succeeded. */
  const afterBatch = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
    provisionals.afterBatch(response);

  /** The running invocation's metrics (one invocation at a time per sandbox), flushed by `processBatch`. */
  let batchMetrics: BatchMetrics | undefined;

  /** Crash isolation (`./isolated-batch.ts`): suspects run alone, done records deleted early. */
  const isolated = createIsolatedBatch({
    sqs,
    queueUrl: settings.queueUrl,
    settings: { fifo: processing.fifo, isFinal },
    processing,
    handleRecord: (record, context) => handleRecord(record, context, batchMetrics),
    memo: deps.memo ?? new SandboxDeliveryMemo(),
    logger: deps.logger,
    changeVisibility,
    onDeleted: (ids) => provisionals.release(ids),
    accountedByRow: (r: SQSRecord) => {
      const { facts, usedUp } = historyOf(r);
      // Failed on its own, or it will not run (used up, or already succeeded).
      return (
        facts !== undefined &&
        (usedUp || facts.status === 'succeeded' || failedOnItsOwn(facts, receiveCountOf(r)))
      );
    },
    ...(processing.fifo && deps.markers
      ? {
          culprits: {
            check: createCulpritCheck({
              store: deps.markers,
              envelopeIdOf: (r) => subjectOf(r, processing.fifo, settings.lane)?.id,
              logger: deps.logger,
              now,
              known: (r) => {
                const facts = rowFacts.get(r.messageId);
                return facts && { marker: facts.marker };
              },
            }),
            giveUp: (record, marker) => giveUpCulprit(record, marker),
          },
        }
      : {}),
  });

  /** Archives a culprit (`unknown`, `CrashedRuntime`), sends it to the DLQ; false if either failed. */
  async function giveUpCulprit(record: SQSRecord, marker: IsolatedRunMarker): Promise<boolean> {
    const metrics = batchMetrics ?? new BatchMetrics(deps.metrics);
    const tenant = subjectOf(record, processing.fifo, settings.lane)?.tenant;
    const log = deps.logger.createChild({
      persistentKeys: { messageId: record.messageId, ...(tenant !== undefined ? { tenant } : {}) },
    });
    const error = crashedRuntimeError(marker);
    logFailure(
      log,
      'crash isolation: its lone run never returned; dead-lettering it to free its group',
      error,
    );
    try {
      await deadLetterNow(record, 'unknown', error, log, metrics);
    } catch (bookkeepingError) {
      log.warn('could not dead-letter the culprit; it stays a suspect', { error: bookkeepingError });
      return false;
    }
    metrics.count('deadLettered', record);
    return true;
  }

  /** One invocation: provisional records, the records under crash isolation, then the clean-up. */
  async function processBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    const metrics = new BatchMetrics(deps.metrics);
    batchMetrics = metrics;
    try {
      rowFacts = await readRowFacts(event);
      await beforeBatch(event);
      const response = await isolated(event, context);
      await afterBatch(response);
      await releaseSkipped(event, response);
      return response;
    } finally {
      batchMetrics = undefined;
      rowFacts = new Map();
      deferredGroups = new Set();
      handled = new Set();
      metrics.flush();
    }
  }

  return { handleRecord, beforeBatch, afterBatch, processBatch };
}
