import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  isSuspect,
  planBatch,
  receiveCountOf,
  type BatchPlan,
} from '../../lambda/shared/consumer/crash-isolation';
import { SandboxDeliveryMemo } from '../../lambda/shared/consumer/delivery-memo';
import { fifoRecord, sqsRecord } from '../helpers/sqs-events';

/** Final attempt by receive count (the consumer passes its own rule, over the rows' runs). */
const finalAt = (max: number) => (r: SQSRecord) => receiveCountOf(r) >= max;
const STANDARD = { fifo: false, isFinal: finalAt(3) } as const;
const FIFO = { fifo: true, isFinal: finalAt(3) } as const;
const empty = new SandboxDeliveryMemo();

const rec = (messageId: string, receiveCount = 1) => sqsRecord({ messageId, receiveCount });
const fifo = (messageId: string, group: string, receiveCount = 1) =>
  fifoRecord({ messageId, messageGroupId: group, receiveCount });
const ids = (records: readonly SQSRecord[]) => records.map((r) => r.messageId);
const summary = (plan: BatchPlan) => ({
  urgent: plan.urgent.map((u) => [u.suspect.messageId, ...ids(u.followers)]),
  fresh: ids(plan.fresh),
  alone: plan.alone.map((u) => [u.suspect.messageId, ...ids(u.followers)]),
  handBack: plan.handBack.map((h) => ({ ids: ids(h.records), delaySeconds: h.delaySeconds })),
});

describe('crash isolation: who is a suspect', () => {
  it('is never a first delivery', () => {
    expect(isSuspect(rec('a', 1), empty)).toBe(false);
  });

  it('is a redelivery whose previous delivery the memo does not account for', () => {
    // Prepare
    const memo = new SandboxDeliveryMemo();
    memo.account('failed-on-its-own', 1);
    memo.account('older', 1);

    // Assess
    expect(isSuspect(rec('failed-on-its-own', 2), memo)).toBe(false);
    expect(isSuspect(rec('unknown', 2), memo)).toBe(true);
    // Delivery 2 is unaccounted (a crash in another sandbox): suspect again.
    expect(isSuspect(rec('older', 3), memo)).toBe(true);
  });

  it('forgets the oldest deliveries beyond its capacity', () => {
    const memo = new SandboxDeliveryMemo(2);
    memo.account('a', 1);
    memo.account('b', 1);
    memo.account('c', 1);
    expect([memo.accountedUpTo('a'), memo.accountedUpTo('b'), memo.accountedUpTo('c')]).toEqual([
      undefined,
      1,
      1,
    ]);
  });
});

describe('crash isolation: planBatch (standard queue)', () => {
  it('leaves a batch without suspects to one ordinary run', () => {
    // Prepare
    const memo = new SandboxDeliveryMemo();
    memo.account('retried', 1);
    const records = [rec('a'), rec('retried', 2), rec('b')];

    // Act
    const plan = planBatch(records, memo, STANDARD);

    // Assess
    expect(plan.isolated).toBe(false);
    expect(summary(plan)).toEqual({ urgent: [], fresh: ['a', 'retried', 'b'], alone: [], handBack: [] });
  });

  it('runs the fresh records first, one suspect alone, and hands the others back apart', () => {
    // Prepare: the batch-mates of a crash come back with receive count 2
    const records = [rec('s1', 2), rec('f1'), rec('s2', 2), rec('f2'), rec('s3', 2)];

    // Act
    const plan = planBatch(records, empty, STANDARD);

    // Assess
    expect(plan.isolated).toBe(true);
    expect(summary(plan)).toEqual({
      urgent: [],
      fresh: ['f1', 'f2'],
      alone: [['s1']],
      handBack: [
        { ids: ['s2'], delaySeconds: 2 },
        { ids: ['s3'], delaySeconds: 5 },
      ],
    });
  });

  it('runs the most-delivered suspect (the closest to its DLQ)', () => {
    const plan = planBatch([rec('s2', 2), rec('s3', 3), rec('s2b', 2)], empty, {
      ...STANDARD,
      isFinal: finalAt(5),
    });
    expect(summary(plan).alone).toEqual([['s3']]);
    expect(summary(plan).handBack.map((h) => h.ids)).toEqual([['s2'], ['s2b']]);
  });

  it('never hands back a suspect on its final attempt: each one runs alone, before anything else', () => {
    // Prepare: maxReceiveCount 3; a hand-back would send these to the DLQ unrun, and so would a
    // crash of the fresh record or of the other suspect if they ran first
    const records = [rec('final-1', 3), rec('s2', 2), rec('fresh'), rec('final-2', 3)];

    // Act
    const plan = planBatch(records, empty, STANDARD);

    // Assess
    expect(summary(plan)).toEqual({
      urgent: [['final-1'], ['final-2']],
      fresh: ['fresh'],
      alone: [['s2']],
      handBack: [],
    });
  });
  it('runs a final attempt first, apart, even in a batch without suspects', () => {
    // Prepare: 'last-try' failed on its own twice; a crash of a fresh record would take it
    const memo = new SandboxDeliveryMemo();
    memo.account('last-try', 2);
    const records = [rec('fresh-1'), rec('last-try', 3), rec('fresh-2')];

    // Act
    const plan = planBatch(records, memo, STANDARD);

    // Assess
    expect(plan.isolated).toBe(true);
    expect(summary(plan)).toEqual({
      urgent: [['last-try']],
      fresh: ['fresh-1', 'fresh-2'],
      alone: [],
      handBack: [],
    });
  });

  it('runs fresh records on their final attempt before any suspect, and the other fresh ones after', () => {
    // Prepare: 'last-try' failed on its own twice (accounted); a suspect's crash would kill it
    const memo = new SandboxDeliveryMemo();
    memo.account('last-try', 2);
    const records = [rec('fresh'), rec('final-suspect', 3), rec('last-try', 3)];

    // Act + Assess
    expect(summary(planBatch(records, memo, STANDARD))).toEqual({
      urgent: [['last-try'], ['final-suspect']],
      fresh: ['fresh'],
      alone: [],
      handBack: [],
    });
  });
});

describe('crash isolation: planBatch (FIFO queue)', () => {
  it('holds back the later records of a suspect group only; other groups flow', () => {
    // Prepare: group A was in a crashed batch; group B is new
    const records = [fifo('a1', 'A', 2), fifo('b1', 'B'), fifo('a2', 'A', 1), fifo('b2', 'B')];

    // Act
    const plan = planBatch(records, empty, FIFO);

    // Assess: a2 runs after a1, in the same unit
    expect(summary(plan)).toEqual({ urgent: [], fresh: ['b1', 'b2'], alone: [['a1', 'a2']], handBack: [] });
  });

  it("runs a group's records before its first suspect with the fresh ones", () => {
    const memo = new SandboxDeliveryMemo();
    memo.account('a1', 1);
    const records = [fifo('a1', 'A', 2), fifo('a2', 'A', 2), fifo('a3', 'A')];
    expect(summary(planBatch(records, memo, FIFO))).toEqual({
      urgent: [],
      fresh: ['a1'],
      alone: [['a2', 'a3']],
      handBack: [],
    });
  });

  it("hands back a group's second suspect with everything after it", () => {
    const records = [fifo('a1', 'A', 2), fifo('a2', 'A'), fifo('a3', 'A', 2), fifo('a4', 'A')];
    expect(summary(planBatch(records, empty, FIFO))).toEqual({
      urgent: [],
      fresh: [],
      alone: [['a1', 'a2']],
      handBack: [{ ids: ['a3', 'a4'], delaySeconds: 2 }],
    });
  });

  it('runs the first segment of every suspect group alone, in turn: a hand-back would not spare a FIFO record its receive', () => {
    const records = [
      fifo('a1', 'A', 2),
      fifo('c1', 'C', 2),
      fifo('b1', 'B'),
      fifo('c2', 'C'),
      fifo('a2', 'A'),
    ];
    expect(summary(planBatch(records, empty, FIFO))).toEqual({
      urgent: [],
      fresh: ['b1'],
      alone: [
        ['a1', 'a2'],
        ['c1', 'c2'],
      ],
      handBack: [],
    });
  });

  it("runs a group's later segments too when one of its records is on its final attempt", () => {
    // Prepare: a4 and a6 came back together after a crash; a6 cannot be handed back again
    const records = [fifo('a4', 'A', 3), fifo('a6', 'A', 3), fifo('c5', 'C', 2)];

    // Act + Assess
    expect(summary(planBatch(records, empty, FIFO))).toEqual({
      urgent: [['a4'], ['a6']],
      fresh: [],
      alone: [['c5']],
      handBack: [],
    });
  });

  it('runs every final-attempt suspect group alone, in turn', () => {
    const records = [fifo('a1', 'A', 3), fifo('c1', 'C', 3), fifo('c2', 'C')];
    expect(summary(planBatch(records, empty, FIFO))).toEqual({
      urgent: [['a1'], ['c1', 'c2']],
      fresh: [],
      alone: [],
      handBack: [],
    });
  });

  it("runs an urgent group's fresh records first, in order, before its final-attempt segment", () => {
    // Prepare: b1 was accounted for (it failed on its own); b2 is on its final attempt
    const memo = new SandboxDeliveryMemo();
    memo.account('b1', 2);
    const records = [fifo('b1', 'B', 3), fifo('a1', 'A'), fifo('b2', 'B', 3), fifo('b3', 'B')];

    // Act + Assess
    expect(summary(planBatch(records, memo, FIFO))).toEqual({
      urgent: [['b1'], ['b2', 'b3']],
      fresh: ['a1'],
      alone: [],
      handBack: [],
    });
  });

  it('runs equally delivered suspect groups alone in the order of their first suspects, not of their groups', () => {
    // Group A starts first (a fresh a1), but its suspect a2 comes after B's b1: b1 runs first.
    const records = [fifo('a1', 'A'), fifo('b1', 'B', 2), fifo('a2', 'A', 2)];

    expect(summary(planBatch(records, empty, FIFO))).toEqual({
      urgent: [],
      fresh: ['a1'],
      alone: [['b1'], ['a2']],
      handBack: [],
    });
  });

  it("runs a fresh record on its final attempt first with its own group only; other groups' fresh records after", () => {
    const memo = new SandboxDeliveryMemo();
    memo.account('a1', 2);
    const records = [fifo('a1', 'A', 3), fifo('b1', 'B'), fifo('a2', 'A')];

    expect(summary(planBatch(records, memo, FIFO))).toEqual({
      urgent: [['a1', 'a2']],
      fresh: ['b1'],
      alone: [],
      handBack: [],
    });
  });
});
