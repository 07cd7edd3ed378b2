/**
 * What the status rows say about earlier deliveries of a batch's redelivered records: how often
 * the handler ran for each (`attempts`, which `./failure-policy.ts` counts against
 * `maxAttempts`), and whether crash isolation (`./crash-isolation.ts`) must treat it as a suspect.
 *
 * **Runs.** Every handler run appends its SQS message id to the row's {@link RUN_LOG_ATTRIBUTE}
 * (in the same write that counts it, `statusTransition` in `../status/dynamodb-store.ts`), so the
 * runs of this SQS message (not of earlier lives of its envelope before a redrive or replay) are
 * the times its id appears there. A first delivery has none; rows are read only for redeliveries
 * (one `BatchGetItem` per invocation that has any), so the happy path reads nothing.
 *
 * **Failed on its own.** A redelivered record whose sandbox memo has no entry (its earlier
 * delivery ran in another sandbox, or this one restarted) is not a suspect when its row shows that
 * every earlier delivery ran and ended in a failure of its own: one run per earlier delivery, the
 * state is `retrying`, and no idempotency record is left in progress (`./idempotency.ts`: a run
 * that ended removed it). That is the case of a retry that lands in another sandbox, which before
 * was isolated and handed back (and charged a receive for it). A record that was running when the
 * runtime died (its run still `INPROGRESS`), or one that was in a crashed batch without running
 * (fewer runs than earlier deliveries), stays a suspect: the second kind is innocent of the crash,
 * but a batch that crashed once often holds another crasher, and a suspect runs apart from the
 * fresh records.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FailureKind } from '../archive';
import {
  DEFER_LOG_ATTRIBUTE,
  RUN_LOG_ATTRIBUTE,
  STATUS_TABLE_KEYS,
  WAIT_LOG_ATTRIBUTE,
  statusKey,
} from '../status/keys';
import { MARKER_ATTRIBUTE, type IsolatedRunMarker } from './culprit';
import { RUN_ATTRIBUTES } from './idempotency';

/** A redelivered record to look up: its envelope id and SQS message id. */
export interface Redelivery {
  readonly id: string;
  readonly messageId: string;
}

/** What a status row says about one SQS message's earlier deliveries. */
export interface RunFacts {
  /** Handler runs of this SQS message so far that spent an attempt (a run that deferred did not). */
  readonly runs: number;
  /**
   * Receives of this SQS message the row accounts for: every handler run (deferred or not), and
   * every delivery hidden again without running (`../status/keys.ts`, `WAIT_LOG_ATTRIBUTE`).
   */
  readonly receivesAccounted?: number;
  /** `scheduled`/`deferred`: the time before which it must not run. */
  readonly notBefore?: Date | undefined;
  /** The row's state (`retrying`, `succeeded`, …). */
  readonly status: string | undefined;
  /** A run's idempotency record is still on the row (`INPROGRESS`: that run never returned). */
  readonly runInProgress: boolean;
  /** Set once the message was given up on (`failed`). */
  readonly failure: { readonly kind: FailureKind; readonly archiveKey: string | null } | undefined;
  /** FIFO: the lone-run marker of crash isolation (`./culprit.ts`), if one is set. */
  readonly marker?: IsolatedRunMarker | undefined;
}

/** Reads the status rows of redelivered records. */
export interface RunStates {
  /**
   * The facts of each redelivery that has a row, by SQS message id. Never throws: a failed read
   * gives none (each record then counts as having run on every earlier delivery).
   */
  read(redeliveries: readonly Redelivery[]): Promise<Map<string, RunFacts>>;
}

/** The facts of `messageId` from its envelope's status row. */
export function runFactsOf(row: Record<string, unknown>, messageId: string): RunFacts {
  const log = row[RUN_LOG_ATTRIBUTE] as string[] | undefined;
  const count = (attribute: string) =>
    // Stryker disable next-line ArrayDeclaration: equivalent: a stand-in list holds no SQS message id, so an absent log still counts 0
    ((row[attribute] as string[] | undefined) ?? []).filter((id) => id === messageId).length;
  const ran = log ? count(RUN_LOG_ATTRIBUTE) : Number(row.attempts ?? 0);
  const notBefore = typeof row.notBefore === 'string' ? new Date(row.notBefore) : undefined;
  return {
    // A row written before the run log existed counts its attempts (all of them this message's).
    // Runs that deferred gave their attempt back.
    runs: log ? ran - count(DEFER_LOG_ATTRIBUTE) : ran,
    receivesAccounted: ran + count(WAIT_LOG_ATTRIBUTE),
    notBefore: notBefore && !Number.isNaN(notBefore.getTime()) ? notBefore : undefined,
    status: row.status as string | undefined,
    runInProgress: row[RUN_ATTRIBUTES.status] !== undefined,
    failure: (row.failure as RunFacts['failure'] | null) ?? undefined,
    marker: row[MARKER_ATTRIBUTE] as IsolatedRunMarker | undefined,
  };
}

/**
 * True when the deliveries before `receiveCount` all ended on their own: each ran and failed or
 * deferred, or was hidden again unrun (waiting for its `notBefore`).
 */
export function failedOnItsOwn(facts: RunFacts, receiveCount: number): boolean {
  return (
    (facts.status === 'retrying' || facts.status === 'deferred' || facts.status === 'scheduled') &&
    (facts.receivesAccounted ?? facts.runs) === receiveCount - 1 &&
    !facts.runInProgress
  );
}

/** {@link RunStates} with one `BatchGetItem` (at most 100 keys; an SQS batch has at most 10). */
export class DynamoRunStates implements RunStates {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(redeliveries: readonly Redelivery[]): Promise<Map<string, RunFacts>> {
    const facts = new Map<string, RunFacts>();
    if (redeliveries.length === 0) return facts;
    try {
      const out = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: [...new Set(redeliveries.map((r) => r.id))].map((id) => ({
                [STATUS_TABLE_KEYS.partitionKey]: statusKey(id),
              })),
              ProjectionExpression:
                '#id, #status, attempts, failure, notBefore, #runStatus, #runLog, #deferLog, #waitLog, #marker',
              ExpressionAttributeNames: {
                '#id': 'id',
                '#status': 'status',
                '#runStatus': RUN_ATTRIBUTES.status,
                '#runLog': RUN_LOG_ATTRIBUTE,
                '#deferLog': DEFER_LOG_ATTRIBUTE,
                '#waitLog': WAIT_LOG_ATTRIBUTE,
                '#marker': MARKER_ATTRIBUTE,
              },
              ConsistentRead: true,
            },
          },
        }),
      );
      const rows = new Map((out.Responses?.[this.tableName] ?? []).map((row) => [String(row.id), row]));
      for (const r of redeliveries) {
        const row = rows.get(r.id);
        if (row) facts.set(r.messageId, runFactsOf(row, r.messageId));
      }
    } catch {
      // None known: every record counts as having run on each earlier delivery.
    }
    return facts;
  }
}
