import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { planBatches, SQS_MAX_BATCH_BYTES } from '../../lambda/producer/batch-plan';
import { laneFor } from '../../lambda/producer/routing';
import { planBatch, receiveCountOf, type BatchPlan } from '../../lambda/shared/consumer/crash-isolation';
import { SandboxDeliveryMemo } from '../../lambda/shared/consumer/delivery-memo';
import { fifoRecord, sqsRecord } from '../helpers/sqs-events';

// Edges of three small decisions that the mutation run (npm run mutation, bench/README.md) showed
// no test pinned: the producer's batch plan with one kind of entry or an oversize one, a custom
// lane whose kind the catalog leaves out, and crash isolation's FIFO grouping and urgency.

describe('producer batch plan: edges', () => {
  const entry = (fifo: boolean, key?: string, bytes = 100) => ({ fifo, bytes, ...(key ? { key } : {}) });

  it('plans no call for a queue none of the entries goes to', () => {
    expect(planBatches([entry(true, 'a')])).toEqual({ fifo: [[entry(true, 'a')]], standard: [] });
    expect(planBatches([entry(false)])).toEqual({ fifo: [], standard: [[entry(false)]] });
    expect(planBatches([])).toEqual({ fifo: [], standard: [] });
  });

  it('puts an entry larger than a whole call alone in its call (SQS refuses it there, alone)', () => {
    const big = entry(false, undefined, SQS_MAX_BATCH_BYTES + 1);

    expect(planBatches([big, entry(false)]).standard).toEqual([[big], [entry(false)]]);
  });
});

describe('lane routing: a custom lane the catalog does not say is FIFO', () => {
  it('is a standard lane: no orderingKey needed, none accepted', () => {
    const facts = { ordered: false, lane: 'thumbnails' };

    expect(laneFor('thumbnail.make', facts, undefined)).toEqual({
      ok: true,
      lane: 'thumbnails',
      fifo: false,
    });
    expect(laneFor('thumbnail.make', facts, 'k')).toMatchObject({ ok: false, field: 'orderingKey' });
  });
});

describe('crash isolation: edges of the plan', () => {
  const finalAt = (max: number) => (r: SQSRecord) => receiveCountOf(r) >= max;
  const FIFO = { fifo: true, isFinal: finalAt(5) } as const;
  const memo = new SandboxDeliveryMemo();
  const fifo = (messageId: string, group: string, receiveCount = 1) =>
    fifoRecord({ messageId, messageGroupId: group, receiveCount });
  const ids = (records: readonly SQSRecord[]) => records.map((r) => r.messageId);
  const units = (plan: BatchPlan, key: 'urgent' | 'alone') =>
    plan[key].map((u) => [u.suspect.messageId, ...ids(u.followers)]);

  it('counts a record without ApproximateReceiveCount as a first delivery', () => {
    const record = sqsRecord({ messageId: 'a' });
    delete (record.attributes as Partial<SQSRecord['attributes']>).ApproximateReceiveCount;

    expect(receiveCountOf(record)).toBe(1);
  });

  it("runs only the final-attempt record's own group first, not every group's fresh records", () => {
    // Prepare: A's fresh record is on its final attempt; B's fresh records are not; C has a suspect
    const batch = [fifo('a1', 'A', 5), fifo('b1', 'B'), fifo('b2', 'B'), fifo('c1', 'C', 2)];

    // Act
    const plan = planBatch(batch, memo, FIFO);

    // Assess
    expect(units(plan, 'urgent')).toEqual([['a1']]);
    expect(ids(plan.fresh)).toEqual(['b1', 'b2']);
    expect(units(plan, 'alone')).toEqual([['c1']]);
  });

  it('runs the suspect group with the most-delivered record first (its highest receive count, not its lowest)', () => {
    // Prepare: group A's suspect is at its 4th receive, with a fresh record behind it; B's at its 3rd
    const batch = [fifo('b1', 'B', 3), fifo('a1', 'A', 4), fifo('a2', 'A', 1)];

    // Act
    const plan = planBatch(batch, memo, FIFO);

    // Assess: A is closer to its DLQ
    expect(units(plan, 'alone')).toEqual([['a1', 'a2'], ['b1']]);
  });
});
