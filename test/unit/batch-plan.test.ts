import { describe, expect, it } from 'vitest';
import { planBatches, SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES } from '../../lambda/producer/batch-plan';

const fifo = (key: string, id: number, bytes = 100) => ({ fifo: true, key, id, bytes });
const standard = (id: number, bytes = 100) => ({ fifo: false, id, bytes });
const ids = (chunks: readonly (readonly { id: number }[])[]) => chunks.map((c) => c.map((e) => e.id));

describe('producer batch planner', () => {
  it('chunks standard entries by ten in request order', () => {
    const plan = planBatches(Array.from({ length: 23 }, (_, i) => standard(i)));

    expect(plan.fifo).toEqual([]);
    expect(plan.standard.map((c) => c.length)).toEqual([SQS_MAX_BATCH_ENTRIES, SQS_MAX_BATCH_ENTRIES, 3]);
    expect(plan.standard.flat().map((e) => e.id)).toEqual(Array.from({ length: 23 }, (_, i) => i));
  });

  it('puts at most one entry per ordering key in a FIFO chunk, keeping request order per key', () => {
    const plan = planBatches([
      fifo('a', 0),
      fifo('b', 1),
      fifo('a', 2),
      standard(3),
      fifo('b', 4),
      fifo('c', 5),
    ]);

    expect(ids(plan.fifo)).toEqual([
      [0, 1, 5],
      [2, 4],
    ]);
    expect(ids(plan.standard)).toEqual([[3]]);
  });

  it('keeps a key out of a chunk once one of its entries did not fit', () => {
    const entries = [
      ...Array.from({ length: 10 }, (_, i) => fifo(`k${i}`, i)),
      fifo('x', 10),
      fifo('x', 11),
      fifo('k0', 12),
    ];

    const plan = planBatches(entries);

    expect(ids(plan.fifo)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 12], [11]]);
  });

  it('splits standard chunks so no SendMessageBatch call exceeds 1 MiB in total', () => {
    const third = Math.floor(SQS_MAX_BATCH_BYTES / 3);
    const plan = planBatches([
      standard(0, third),
      standard(1, third),
      standard(2, third),
      standard(3, third + 10),
      standard(4, SQS_MAX_BATCH_BYTES),
      standard(5, 10),
    ]);

    expect(ids(plan.standard)).toEqual([[0, 1, 2], [3], [4], [5]]);
    for (const c of plan.standard) {
      expect(c.reduce((n, e) => n + e.bytes, 0)).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
    }
  });

  it('splits FIFO chunks by total size, keeping request order per key', () => {
    const half = SQS_MAX_BATCH_BYTES / 2;
    const plan = planBatches([
      fifo('a', 0, half),
      fifo('b', 1, half),
      fifo('c', 2, half),
      fifo('c', 3, 10),
      fifo('d', 4, 10),
    ]);

    // a + b fill the first call; c's second entry waits for the call after its first.
    expect(ids(plan.fifo)).toEqual([[0, 1], [2, 4], [3]]);
    for (const c of plan.fifo) {
      expect(c.reduce((n, e) => n + e.bytes, 0)).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
    }
  });
});
