import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { failedOnItsOwn, type RunFacts, type RunStates } from '../../lambda/shared/consumer/run-state';
import { FakeAws } from '../helpers/aws-fakes';
import { consumer, failedIds } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { probeRecord } from '../helpers/sqs-events';

// Crash isolation trusts a status row over the sandbox memo only when the row shows that every
// earlier delivery ran and ended in a failure of its own (`failedOnItsOwn`). Two facts of the row
// say so together, and each alone is not enough: the state `retrying` (the last run ended, and
// failed) and no idempotency record left `INPROGRESS` (no run is unaccounted for). A row that says
// `processing` without a record in progress (a run that started and never ended, its record gone
// or never written), or `retrying` with one (a later run's record, or a failed removal), is a
// suspect's.

const aws = new FakeAws();
beforeEach(() => aws.reset());

/** The facts of a record at its `receiveCount`-th delivery: one run per earlier delivery by default. */
const factsAt = (receiveCount: number, more: Partial<RunFacts> = {}): RunFacts => ({
  runs: receiveCount - 1,
  status: 'retrying',
  runInProgress: false,
  failure: undefined,
  ...more,
});

describe('failedOnItsOwn: in progress is not processing', () => {
  it.each([
    ['retrying, no run in progress, one run per earlier delivery', true, factsAt(3)],
    ['retrying, but a run’s record still in progress', false, factsAt(3, { runInProgress: true })],
    ['processing, no record in progress (the run never ended)', false, factsAt(3, { status: 'processing' })],
    [
      'processing with its record in progress',
      false,
      factsAt(3, { status: 'processing', runInProgress: true }),
    ],
    ['succeeded (not a failure of its own: it is done)', false, factsAt(3, { status: 'succeeded' })],
    ['failed (given up on)', false, factsAt(3, { status: 'failed' })],
    ['no state at all', false, factsAt(3, { status: undefined })],
    ['more runs than earlier deliveries', false, factsAt(3, { runs: 3 })],
    ['fewer runs than earlier deliveries', false, factsAt(3, { runs: 1 })],
  ])('%s → %s', (_case, expected, facts) => {
    expect(failedOnItsOwn(facts, 3)).toBe(expected);
  });
});

describe('standard consumer: a redelivery the sandbox does not know', () => {
  /** Status rows that say `facts` of `record`, and nothing of the others. */
  const rows = (record: SQSRecord, facts: RunFacts): RunStates => ({
    read: async (redeliveries) =>
      new Map(redeliveries.some((r) => r.messageId === record.messageId) ? [[record.messageId, facts]] : []),
  });
  const ok = (receiveCount = 1) => probeRecord({ mode: 'succeed' }, { receiveCount });

  it('runs it with the fresh records when its row shows it failed on its own', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const [retry, fresh] = [ok(2), ok()];

    // Act
    const res = await consumer({ registry, runStates: rows(retry!, factsAt(2)) }).run([retry!, fresh!]);

    // Assess: one run of the whole batch, nothing deleted early
    expect(runs).toEqual([retry!.messageId, fresh!.messageId]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.deletes()).toEqual([]);
  });

  it.each([
    ['its row says retrying but a run’s record is still in progress', factsAt(2, { runInProgress: true })],
    ['its row says processing and no record is in progress', factsAt(2, { status: 'processing' })],
  ])(
    'keeps it a suspect when %s: the fresh record runs first, deleted, then it alone',
    async (_case, facts) => {
      // Prepare
      const { registry, runs } = recordingRegistry();
      const [suspect, fresh] = [ok(2), ok()];

      // Act
      const res = await consumer({ registry, runStates: rows(suspect!, facts) }).run([suspect!, fresh!]);

      // Assess
      expect(runs).toEqual([fresh!.messageId, suspect!.messageId]);
      expect(aws.deletes()).toEqual([[fresh!.receiptHandle]]);
      expect(failedIds(res)).toEqual([]);
    },
  );

  it('hands back the second of two such suspects instead of running it', async () => {
    // Prepare: both rows say retrying with a run in progress
    const { registry, runs } = recordingRegistry();
    const [a, b] = [ok(2), ok(2)];
    const inProgress = factsAt(2, { runInProgress: true });
    const states: RunStates = {
      read: async (redeliveries) => new Map(redeliveries.map((r) => [r.messageId, inProgress])),
    };

    // Act
    const res = await consumer({ registry, runStates: states }).run([a!, b!]);

    // Assess
    expect(runs).toEqual([a!.messageId]);
    expect(failedIds(res)).toEqual([b!.messageId]);
  });
});
