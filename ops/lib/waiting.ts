import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Deferred and scheduled messages of one lane. */
export interface LaneWaiting {
  /** Rows `deferred`: their handler or the lane's rate limit said "not now" (`notBefore`). */
  readonly deferred: number;
  /** Rows `scheduled`: sent with a `notBefore` not yet due, never run. */
  readonly scheduled: number;
}

/** What counting the waiting messages found, and what it cost. */
export interface WaitingCounts {
  /** By lane; a lane without any is absent. */
  readonly lanes: Readonly<Record<string, LaneWaiting>>;
  /** Rows the scan read (every row of the table, whatever its kind). */
  readonly scannedRows: number;
  /** Read capacity units the scan consumed, as DynamoDB reports them; `null` where it does not. */
  readonly readUnits: number | null;
}

/**
 * Counts the status rows `deferred` and `scheduled` per lane: one paginated `Scan` of the status
 * table, filtered on the state and projecting only lane and state. DynamoDB bills a scan for
 * every row it reads, not for those it returns (eventually consistent: half a read unit per 4 KB
 * of rows read), so this costs about the table's size: fine on demand, not for a dashboard that
 * polls. The table has no index on the state, and no write path pays for one. A row written
 * before lanes existed counts under its queue's default lane.
 */
export async function countWaiting(db: DynamoDBClient, tableName: string): Promise<WaitingCounts> {
  const lanes: Record<string, { deferred: number; scheduled: number }> = {};
  let scannedRows = 0;
  let readUnits: number | null = null;
  let start: Record<string, never> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#status IN (:deferred, :scheduled)',
        ProjectionExpression: '#lane, #queue, #status',
        ExpressionAttributeNames: { '#lane': 'lane', '#queue': 'queue', '#status': 'status' },
        ExpressionAttributeValues: { ':deferred': { S: 'deferred' }, ':scheduled': { S: 'scheduled' } },
        ReturnConsumedCapacity: 'TOTAL',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    scannedRows += page.ScannedCount ?? 0;
    const units = page.ConsumedCapacity?.CapacityUnits;
    if (units !== undefined) readUnits = (readUnits ?? 0) + units;
    for (const item of page.Items ?? []) {
      const lane = item.lane?.S ?? item.queue?.S ?? 'unknown';
      const state = item.status?.S === 'deferred' ? 'deferred' : 'scheduled';
      const counts = (lanes[lane] ??= { deferred: 0, scheduled: 0 });
      counts[state]++;
    }
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return { lanes, scannedRows, readUnits };
}
