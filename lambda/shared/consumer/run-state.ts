/**
 * What the status rows say about earlier runs, for crash isolation (`./crash-isolation.ts`). A
 * record delivered before whose sandbox memo has no entry (its earlier delivery ran in another
 * sandbox, or this one restarted) is a suspect only if its row still holds an `INPROGRESS`
 * idempotency record (`./idempotency.ts`): a run that ended, in success or failure, replaced or
 * removed it, and a record that never started has none. So a retry that lands in another sandbox
 * is not taken for a crash's batch-mate (before, it was isolated and handed back, which cost it a
 * receive), and on a FIFO queue, whose records run one at a time, the record that was running
 * when the runtime died is told from the records behind it that never started.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { STATUS_TABLE_KEYS, statusKey } from '../status/keys';
import { RUN_ATTRIBUTES } from './idempotency';

/** Reads whether messages have a run in progress (an unfinished run) on their status rows. */
export interface RunStates {
  /**
   * The envelope ids among `ids` whose rows hold an `INPROGRESS` run; ids it could not read are
   * in `unknown`. Never throws: a failed read leaves every id unknown.
   */
  inProgress(ids: readonly string[]): Promise<{ inProgress: Set<string>; unknown: Set<string> }>;
}

/** {@link RunStates} with one `BatchGetItem` (at most 100 keys; an SQS batch has at most 10). */
export class DynamoRunStates implements RunStates {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async inProgress(ids: readonly string[]) {
    const unknown = new Set(ids);
    const inProgress = new Set<string>();
    if (ids.length === 0) return { inProgress, unknown };
    try {
      const out = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: [...new Set(ids)].map((id) => ({ [STATUS_TABLE_KEYS.partitionKey]: statusKey(id) })),
              ProjectionExpression: '#id, #runStatus',
              ExpressionAttributeNames: { '#id': 'id', '#runStatus': RUN_ATTRIBUTES.status },
              ConsistentRead: true,
            },
          },
        }),
      );
      const unprocessed = new Set(
        (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []).map((k) =>
          String(k[STATUS_TABLE_KEYS.partitionKey]).slice(STATUS_TABLE_KEYS.statusPrefix.length),
        ),
      );
      for (const id of ids) if (!unprocessed.has(id)) unknown.delete(id);
      for (const item of out.Responses?.[this.tableName] ?? [])
        if (item[RUN_ATTRIBUTES.status] === IdempotencyRecordStatus.INPROGRESS)
          inProgress.add(String(item.id));
    } catch {
      // Every id stays unknown: the memo alone decides, as without this reader.
    }
    return { inProgress, unknown };
  }
}
