import { describe, expect, it } from 'vitest';
import { planBatches, SQS_MAX_BATCH_ENTRIES } from '../../lambda/producer/batch-plan';

const fifo = (key: string, id: number) => ({ fifo: true, key, id });
const standard = (id: number) => ({ fifo: false, id });
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
});
