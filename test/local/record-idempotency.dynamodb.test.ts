import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InProgressElsewhere,
  PowertoolsRecordIdempotency,
  RUN_ATTRIBUTES,
} from '../../lambda/shared/consumer/idempotency';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import { statusKey } from '../../lambda/shared/status/keys';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { fakeContext, T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// The consumers' run-once guard (Powertools idempotency, its records on the status row:
// StatusRowPersistenceLayer) against the embedded DynamoDB emulator: Powertools' own conditions
// and the row's are evaluated by DynamoDB.

let table: StatusTableOnEmulator;
let idempotency: PowertoolsRecordIdempotency;
const WINDOW_SECONDS = 3_600;
beforeAll(async () => {
  table = await startStatusTable();
  const common = { tableName: table.tableName, retentionDays: 7 };
  idempotency = new PowertoolsRecordIdempotency({
    db: table.db,
    ...common,
    windowSeconds: WINDOW_SECONDS,
    store: new DynamoStatusStore(table.db, common),
  });
});
afterAll(async () => {
  await table?.stop();
});

const subject = (messageId = 'm-1', id: string = randomUUID()): StatusSubject => ({
  id,
  type: 'probe',
  queue: 'standard',
  messageId,
  acceptedAt: T0.toISOString(),
});
const rowOf = async (id: string) =>
  (
    await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: statusKey(id) }, ConsistentRead: true }),
    )
  ).Item;

/** Starts a run that never returns (the runtime died in it); resolves once its work began. */
function runThatNeverReturns(s: StatusSubject, remainingMs: number): Promise<void> {
  return new Promise<void>((started, failed) => {
    idempotency
      .run(s, () => (started(), new Promise<void>(() => undefined)), fakeContext({ remainingMs }))
      .catch(failed);
  });
}

describe('run-once records on the status row (emulator)', () => {
  it('runs a message once: a later delivery of a succeeded message is a duplicate and does not run', async () => {
    // Prepare
    const s = subject('m-1');
    const runs: string[] = [];

    // Act
    const first = await idempotency.run(s, async () => void runs.push('m-1'), fakeContext());
    const again = await idempotency.run(
      subject('m-2', s.id),
      async () => void runs.push('m-2'),
      fakeContext(),
    );

    // Assess
    expect([first, again]).toEqual(['ran', 'duplicate']);
    expect(runs).toEqual(['m-1']);
  });

  it('completes the record with succeeded in one write: COMPLETED for the window, one attempt', async () => {
    const s = subject();
    const before = Math.floor(Date.now() / 1000);

    await idempotency.run(s, async () => undefined, fakeContext());

    const row = await rowOf(s.id);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 1, runLog: ['m-1'] });
    expect(row![RUN_ATTRIBUTES.status]).toBe('COMPLETED');
    expect(row![RUN_ATTRIBUTES.expiry]).toBeGreaterThanOrEqual(before + WINDOW_SECONDS);
    expect(row![RUN_ATTRIBUTES.expiry]).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + WINDOW_SECONDS);
  });

  it("writes the run's result with succeeded, and the record's response: this run's token", async () => {
    const s = subject();

    await idempotency.run(s, async () => ({ json: '{"total":3}' }), fakeContext());

    const row = await rowOf(s.id);
    expect(row).toMatchObject({ status: 'succeeded', resultJson: '{"total":3}' });
    // run() tells its own run from an earlier one by this token (Date.now()-Math.random()).
    expect(row![RUN_ATTRIBUTES.data]).toEqual({ token: expect.stringMatching(/^\d+-0\.\d+$/) });
  });

  it('runs without a Lambda context (no in-progress expiry: the record holds for the window)', async () => {
    // A guard that never saw a context (a context, once given, stays registered with the guard)
    const common = { tableName: table.tableName, retentionDays: 7 };
    const guard = new PowertoolsRecordIdempotency({
      db: table.db,
      ...common,
      windowSeconds: WINDOW_SECONDS,
      store: new DynamoStatusStore(table.db, common),
    });
    const s = subject();

    const outcome = await guard.run(s, async () => undefined);

    expect(outcome).toBe('ran');
    expect((await rowOf(s.id))?.[RUN_ATTRIBUTES.inProgressExpiry]).toBeUndefined();
  });

  it('refuses a second run while the first is in progress, saying which message', async () => {
    const s = subject('m-1');
    await runThatNeverReturns(s, 30_000);

    const second = idempotency.run(subject('m-2', s.id), async () => undefined, fakeContext());

    await expect(second).rejects.toBeInstanceOf(InProgressElsewhere);
    await expect(second).rejects.toMatchObject({
      message: `Message ${s.id} is being processed by another delivery`,
      cause: expect.any(IdempotencyAlreadyInProgressError),
    });
  });

  it('frees a message whose run never returned once that invocation’s time is up: the next delivery runs it', async () => {
    // Prepare: the run's invocation had 50 ms left
    const s = subject('m-1');
    await runThatNeverReturns(s, 50);
    const expiry = (await rowOf(s.id))?.[RUN_ATTRIBUTES.inProgressExpiry] as number;
    await new Promise((r) => setTimeout(r, Math.max(0, expiry - Date.now()) + 20));

    // Act
    const next = await idempotency.run(subject('m-2', s.id), async () => undefined, fakeContext());

    // Assess
    expect(expiry).toBeGreaterThan(Date.now() - 10_000);
    expect(next).toBe('ran');
    expect(await rowOf(s.id)).toMatchObject({ status: 'succeeded', attempts: 2, runLog: ['m-1', 'm-2'] });
  });

  it('leaves the row to the next delivery after a failed run: the record is removed, the row stays', async () => {
    const s = subject('m-1');
    const error = new Error('failed');

    await expect(
      idempotency.run(
        s,
        async () => {
          throw error;
        },
        fakeContext(),
      ),
    ).rejects.toBe(error);

    const row = await rowOf(s.id);
    expect(row).toMatchObject({ status: 'processing', attempts: 1 });
    expect(row![RUN_ATTRIBUTES.status]).toBeUndefined();
    expect(await idempotency.run(subject('m-1', s.id), async () => undefined, fakeContext())).toBe('ran');
  });
});
