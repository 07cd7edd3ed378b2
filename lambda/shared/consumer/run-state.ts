/**
 * What the status rows say about earlier deliveries, for crash isolation
 * (`./crash-isolation.ts`). A record delivered before whose sandbox memo has no entry (its
 * earlier delivery ran in another sandbox, or this one restarted) is not a suspect when its row
 * shows that **every earlier delivery ran and ended in a failure of its own**: `attempts` (handler
 * runs) is one less than its receive count, the state is `retrying`, and no idempotency record is
 * left in progress (`./idempotency.ts`: a run that ended removed it). That is the case of a retry
 * that lands in another sandbox, which before was isolated and handed back (and charged a receive
 * for it). A record that was running when the runtime died (its run still `INPROGRESS`), or one
 * that was in a crashed batch without running (`attempts` short of its deliveries), stays a
 * suspect: the second kind is innocent of the crash, but a batch that crashed once often holds
 * another crasher, and a suspect runs apart from the fresh records.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATUS_TABLE_KEYS, statusKey } from '../status/keys';
import { RUN_ATTRIBUTES } from './idempotency';

/** A redelivered record to look up: its envelope id and `ApproximateReceiveCount`. */
export interface Redelivery {
  readonly id: string;
  readonly receiveCount: number;
}

/** Reads which redeliveries their status rows account for. */
export interface RunStates {
  /**
   * The envelope ids among `redeliveries` whose every earlier delivery ran and failed on its own.
   * Never throws: a failed read accounts for none.
   */
  accountedFor(redeliveries: readonly Redelivery[]): Promise<Set<string>>;
}

/** True when a status row shows that the deliveries before `receiveCount` all ran and failed on their own. */
export function failedOnItsOwn(row: Record<string, unknown>, receiveCount: number): boolean {
  return (
    row.status === 'retrying' &&
    Number(row.attempts ?? 0) === receiveCount - 1 &&
    row[RUN_ATTRIBUTES.status] === undefined
  );
}

/** {@link RunStates} with one `BatchGetItem` (at most 100 keys; an SQS batch has at most 10). */
export class DynamoRunStates implements RunStates {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async accountedFor(redeliveries: readonly Redelivery[]): Promise<Set<string>> {
    const accounted = new Set<string>();
    if (redeliveries.length === 0) return accounted;
    try {
      const out = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: [...new Set(redeliveries.map((r) => r.id))].map((id) => ({
                [STATUS_TABLE_KEYS.partitionKey]: statusKey(id),
              })),
              ProjectionExpression: '#id, #status, attempts, #runStatus',
              ExpressionAttributeNames: {
                '#id': 'id',
                '#status': 'status',
                '#runStatus': RUN_ATTRIBUTES.status,
              },
              ConsistentRead: true,
            },
          },
        }),
      );
      const rows = new Map((out.Responses?.[this.tableName] ?? []).map((row) => [String(row.id), row]));
      for (const r of redeliveries) {
        const row = rows.get(r.id);
        if (row && failedOnItsOwn(row, r.receiveCount)) accounted.add(r.id);
      }
    } catch {
      // None accounted for: the memo alone decides, as without this reader.
    }
    return accounted;
  }
}
