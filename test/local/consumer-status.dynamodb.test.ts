import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PowertoolsRecordIdempotency } from '../../lambda/shared/consumer/idempotency';
import { DynamoRunStates } from '../../lambda/shared/consumer/run-state';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import { SafeStatusStore } from '../../lambda/shared/status/safe-store';
import { FakeAws, silentLogger } from '../helpers/aws-fakes';
import { consumer, failedIds } from '../helpers/consumer';
import { probeRecord } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// The consumer with its status store, its Powertools idempotency records on the status row and
// its run states wired as lambda/shared/consumer-runtime.ts wires them, against the embedded
// DynamoDB emulator (SQS and S3 are fakes): what each delivery writes and reads, and the row it
// leaves (README, "The status table": 2 writes per processed message, 3 more per failed run).

let table: StatusTableOnEmulator;
const aws = new FakeAws();
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});
beforeEach(() => aws.reset());

const WINDOW_SECONDS = 86_400;

/** The consumer as consumer-runtime.ts builds it, on the emulator's table. */
function wiredConsumer() {
  const common = { tableName: table.tableName, retentionDays: 7 };
  const store = new DynamoStatusStore(table.db, common);
  return consumer({
    status: new SafeStatusStore(store, silentLogger()),
    idempotency: new PowertoolsRecordIdempotency({
      db: table.db,
      ...common,
      windowSeconds: WINDOW_SECONDS,
      store,
    }),
    runStates: new DynamoRunStates(table.db, table.tableName),
  });
}

const envelopeIdOf = (r: SQSRecord) => (JSON.parse(r.body) as { id: string }).id;
const statusOf = (r: SQSRecord) =>
  new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 7 }).get(envelopeIdOf(r));

/** Requests the emulator answered while `act` ran, by operation. */
async function requestsDuring(act: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await table.dynamo.requests();
  await act();
  const after = await table.dynamo.requests();
  return Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

describe('consumer on the emulator: status and run-once records on one row', () => {
  it('processes a message with two UpdateItems and no read: succeeded, one attempt', async () => {
    // Prepare
    const record = probeRecord({ mode: 'succeed' });

    // Act
    let failed: string[] = [];
    const requests = await requestsDuring(async () => {
      failed = failedIds(await wiredConsumer().run([record]));
    });

    // Assess
    expect(failed).toEqual([]);
    expect(requests).toEqual({ UpdateItem: 2 });
    expect(await statusOf(record)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      lastError: null,
      messageIds: [record.messageId],
    });
  });

  it('acknowledges a duplicate delivery without running it; the row lists its message id, still one attempt', async () => {
    // Prepare: the same envelope, delivered again under another SQS message id
    const id = randomUUID();
    const first = probeRecord({ mode: 'succeed' }, { id });
    const duplicate = probeRecord({ mode: 'fail-permanent' }, { id });
    await wiredConsumer().run([first]);

    // Act: were it run, the duplicate would fail permanently
    const res = await wiredConsumer().run([duplicate]);

    // Assess
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends()).toEqual([]);
    expect(await statusOf(first)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      failure: null,
      messageIds: [first.messageId, duplicate.messageId],
    });
  });

  it('writes three more per failed run (in progress, its removal, retrying) and runs the next delivery', async () => {
    // Prepare
    const id = randomUUID();
    const failing = probeRecord({ mode: 'fail-always' }, { id });

    // Act
    let failed: string[] = [];
    const requests = await requestsDuring(async () => {
      failed = failedIds(await wiredConsumer().run([failing]));
    });
    const afterFailure = await statusOf(failing);
    const retry = { ...probeRecord({ mode: 'succeed' }, { id }), messageId: failing.messageId };
    retry.attributes = { ...retry.attributes, ApproximateReceiveCount: '2' };
    const retried = await wiredConsumer().run([retry]);

    // Assess
    expect(failed).toEqual([failing.messageId]);
    expect(requests).toEqual({ UpdateItem: 3 });
    expect(afterFailure).toMatchObject({ status: 'retrying', attempts: 1, lastError: expect.any(Object) });
    expect(failedIds(retried)).toEqual([]);
    expect(await statusOf(failing)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});
