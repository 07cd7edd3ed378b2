/** SQS's largest number of entries in one `SendMessageBatch` call. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** What the planner needs to know of a batch entry. */
export interface PlannedEntry {
  /** True when the entry goes to the FIFO queue. */
  readonly fifo: boolean;
  /** The entry's `orderingKey` (FIFO message group), if any. */
  readonly key?: string;
}

/** The `SendMessageBatch` calls of one batch request. */
export interface BatchPlan<T> {
  /** FIFO chunks, to send one after another in this order. */
  readonly fifo: readonly (readonly T[])[];
  /** Standard-queue chunks, to send in parallel. */
  readonly standard: readonly (readonly T[])[];
}

/**
 * Plans the queue calls of a batch request, keeping request order per `orderingKey`:
 *
 * - standard entries: chunks of {@link SQS_MAX_BATCH_ENTRIES} in request order, sent in parallel;
 * - FIFO entries: chunks sent one after another, each holding at most one entry per
 *   `orderingKey` (SQS reports batch entries one by one, so a refused entry must not have a later
 *   entry of its key accepted in the same call); an entry goes in the first chunk after the one
 *   holding the previous entry of its key, so entries of one key keep request order.
 *
 * Pure: the send step (`./send.ts`) carries the plan out.
 *
 * @example planBatches([{ fifo: true, key: 'a' }, { fifo: true, key: 'a' }]).fifo.length // 2
 */
export function planBatches<T extends PlannedEntry>(entries: readonly T[]): BatchPlan<T> {
  return {
    fifo: fifoChunks(entries.filter((e) => e.fifo)),
    standard: chunks(entries.filter((e) => !e.fifo)),
  };
}

function chunks<T>(list: readonly T[]): T[][] {
  return Array.from({ length: Math.ceil(list.length / SQS_MAX_BATCH_ENTRIES) }, (_, i) =>
    list.slice(i * SQS_MAX_BATCH_ENTRIES, (i + 1) * SQS_MAX_BATCH_ENTRIES),
  );
}

function fifoChunks<T extends PlannedEntry>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  let rest = list;
  while (rest.length > 0) {
    const chunk: T[] = [];
    const keys = new Set<string | undefined>();
    const left: T[] = [];
    for (const p of rest) {
      if (chunk.length < SQS_MAX_BATCH_ENTRIES && !keys.has(p.key)) chunk.push(p);
      else left.push(p);
      keys.add(p.key);
    }
    out.push(chunk);
    rest = left;
  }
  return out;
}
