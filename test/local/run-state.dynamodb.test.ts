import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProgressElsewhere, PowertoolsRecordIdempotency } from '../../lambda/shared/consumer/idempotency';
import { DynamoRunStates, failedOnItsOwn } from '../../lambda/shared/consumer/run-state';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { fakeContext, T0 } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// What crash isolation reads about a redelivery (DynamoRunStates: one BatchGetItem with a
// projection) from rows the consumer's own writers left on the emulator: the status store and
// the Powertools idempotency records on the status row. A run that failed on its own and a run
// that never returned leave different rows, and must read differently.

let table: StatusTableOnEmulator;
let store: DynamoStatusStore;
let idempotency: PowertoolsRecordIdempotency;
let states: DynamoRunStates;
beforeAll(async () => {
  table = await startStatusTable();
  const common = { tableName: table.tableName, retentionDays: 7 };
  store = new DynamoStatusStore(table.db, common);
  idempotency = new PowertoolsRecordIdempotency({ db: table.db, ...common, windowSeconds: 3_600, store });
  states = new DynamoRunStates(table.db, table.tableName);
});
afterAll(async () => {
  await table?.stop();
});

const subject = (messageId: string, id = randomUUID()): StatusSubject => ({
  id,
  type: 'probe',
  queue: 'standard',
  messageId,
  acceptedAt: T0.toISOString(),
});

/** One delivery whose run fails on its own: the record is removed, then `retrying` is written. */
async function failedRun(s: StatusSubject): Promise<void> {
  const error = new Error('failed on its own');
  await expect(
    idempotency.run(
      s,
      async () => {
        throw error;
      },
      fakeContext(),
    ),
  ).rejects.toBe(error);
  await store.retrying(s, error);
}

/** One delivery whose run never returns (the runtime died during it); resolves once it started. */
async function runThatNeverReturns(s: StatusSubject): Promise<void> {
  await new Promise<void>((started) => {
    void idempotency.run(s, () => (started(), new Promise<void>(() => undefined)), fakeContext());
  });
}

describe('run state of a redelivery, from rows the consumer wrote on the emulator', () => {
  it('reads a run that failed on its own as such: retrying, one run, nothing in progress', async () => {
    // Prepare
    const s = subject('m-1');
    await failedRun(s);

    // Act
    const facts = (await states.read([{ id: s.id, messageId: s.messageId }])).get(s.messageId)!;

    // Assess
    expect(facts).toMatchObject({ runs: 1, status: 'retrying', runInProgress: false });
    expect(failedOnItsOwn(facts, 2)).toBe(true);
  });

  it('reads a run that never returned as in progress: processing, its record INPROGRESS', async () => {
    // Prepare
    const s = subject('m-1');
    await runThatNeverReturns(s);

    // Act
    const facts = (await states.read([{ id: s.id, messageId: s.messageId }])).get(s.messageId)!;

    // Assess
    expect(facts).toMatchObject({ runs: 1, status: 'processing', runInProgress: true });
    expect(failedOnItsOwn(facts, 2)).toBe(false);
  });

  it('keeps the second run of a redelivery from starting while the first is in progress', async () => {
    const s = subject('m-1');
    await runThatNeverReturns(s);

    await expect(idempotency.run(s, async () => undefined, fakeContext())).rejects.toBeInstanceOf(
      InProgressElsewhere,
    );
    const facts = (await states.read([{ id: s.id, messageId: s.messageId }])).get(s.messageId)!;
    expect(facts.runs).toBe(1);
  });

  it('reads a retried run that then never returned as in progress, not as failed on its own', async () => {
    // Prepare: the first run failed on its own, the second was running when the runtime died
    const s = subject('m-1');
    await failedRun(s);
    await runThatNeverReturns(s);

    // Act
    const facts = (await states.read([{ id: s.id, messageId: s.messageId }])).get(s.messageId)!;

    // Assess: two runs of three deliveries; not accounted for
    expect(facts).toMatchObject({ runs: 2, status: 'processing', runInProgress: true });
    expect(failedOnItsOwn(facts, 3)).toBe(false);
  });

  it("counts only this SQS message's runs (a redrive starts a new count) and reads a batch's rows at once", async () => {
    // Prepare: `a` failed twice as m-0, was redriven as m-1 and failed once; `b` never had a row
    const id = randomUUID();
    await failedRun(subject('m-0', id));
    await failedRun(subject('m-0', id));
    await failedRun(subject('m-1', id));
    const before = await table.dynamo.requests();

    // Act
    const facts = await states.read([
      { id, messageId: 'm-1' },
      { id: randomUUID(), messageId: 'm-b' },
    ]);

    // Assess
    expect([...facts.keys()]).toEqual(['m-1']);
    expect(facts.get('m-1')).toMatchObject({ runs: 1, status: 'retrying', runInProgress: false });
    expect(failedOnItsOwn(facts.get('m-1')!, 2)).toBe(true);
    const after = await table.dynamo.requests();
    expect((after.BatchGetItem ?? 0) - (before.BatchGetItem ?? 0)).toBe(1);
  });

  it('reads the give-up of a message: failed, with its failure', async () => {
    const s = subject('m-1');
    await failedRun(s);
    await store.failed(s, { kind: 'exhausted', archiveKey: 'failed/standard/x.json' }, new Error('last'));

    const facts = (await states.read([{ id: s.id, messageId: s.messageId }])).get(s.messageId)!;

    expect(facts).toMatchObject({
      runs: 1,
      status: 'failed',
      failure: { kind: 'exhausted', archiveKey: 'failed/standard/x.json' },
    });
    expect(failedOnItsOwn(facts, 2)).toBe(false);
  });
});
