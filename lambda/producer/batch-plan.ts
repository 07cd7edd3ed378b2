import { SQS_MAX_MESSAGE_BYTES } from '../shared/constants';

/** SQS's largest number of entries in one `SendMessageBatch` call. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** SQS's largest total size (bodies + attributes) of one `SendMessageBatch` call: 1 MiB. */
export const SQS_MAX_BATCH_BYTES = SQS_MAX_MESSAGE_BYTES;

/** What the planner needs to know of a batch entry. */
export interface PlannedEntry {
  /** True when the entry goes to the FIFO queue. */
  readonly fifo: boolean;
  /** The entry's `orderingKey` (FIFO message group), if any. */
  readonly key?: string;
  /** The entry's message size (`messageBytes`); each is at most {@link SQS_MAX_BATCH_BYTES}. */
  readonly bytes: number;
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
 * - every chunk holds at most {@link SQS_MAX_BATCH_ENTRIES} entries of at most
 *   {@link SQS_MAX_BATCH_BYTES} in total;
 * - standard entries: chunks filled in request order, sent in parallel;
 * - FIFO entries: chunks sent one after another, each holding at most one entry per
 *   `orderingKey` (SQS reports batch entries one by one, so a refused entry must not have a later
 *   entry of its key accepted in the same call); an entry goes in the first chunk after the one
 *   holding the previous entry of its key, so entries of one key keep request order.
 *
 * Pure: the send step (`./send.ts`) carries the plan out.
 *
 * @example planBatches([{ fifo: true, key: 'a', bytes: 9 }, { fifo: true, key: 'a', bytes: 9 }]).fifo.length // 2
 */
export function planBatches<T extends PlannedEntry>(entries: readonly T[]): BatchPlan<T> {
  return {
    fifo: fifoChunks(entries.filter((e) => e.fifo)),
    standard: chunks(entries.filter((e) => !e.fifo)),
  };
}

/** True when `entry` may join `chunk` (count and total size). */
function fits(chunk: { readonly n: number; readonly bytes: number }, entry: PlannedEntry): boolean {
  return (
    chunk.n < SQS_MAX_BATCH_ENTRIES && (chunk.n === 0 || chunk.bytes + entry.bytes <= SQS_MAX_BATCH_BYTES)
  );
}

function chunks<T extends PlannedEntry>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const p of list) {
    if (!fits({ n: chunk.length, bytes }, p)) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(p);
    bytes += p.bytes;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

function fifoChunks<T extends PlannedEntry>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  let rest = list;
  while (rest.length > 0) {
    const chunk: T[] = [];
    let bytes = 0;
    const keys = new Set<string | undefined>();
    const left: T[] = [];
    for (const p of rest) {
      if (!keys.has(p.key) && fits({ n: chunk.length, bytes }, p)) {
        chunk.push(p);
        bytes += p.bytes;
      } else left.push(p);
      keys.add(p.key);
    }
    out.push(chunk);
    rest = left;
  }
  return out;
}
