/**
 * Lambda's payload limit for the batches of an SQS event source mapping. AWS passes the records
 * of a batch to the function in one call "up to the payload limit for synchronous invocation
 * (6 MB)" (Lambda API reference, `BatchSize`): a batch stops growing before its event would
 * exceed 6 MB, whatever `BatchSize` says. With 1 MiB messages that can be 5 records of 10.
 */

/** Lambda's largest synchronous invocation payload, in bytes. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Bytes of `{"Records":[]}`, the event around the records. */
const EVENT_FRAME_BYTES = Buffer.byteLength('{"Records":[]}');

/** Bytes a record adds to an SQS event (its JSON and a separating comma). */
export function recordBytes(record: unknown): number {
  return Buffer.byteLength(JSON.stringify(record)) + 1;
}

/**
 * Splits `items` into the longest prefix whose SQS event stays within `limit` bytes and the rest
 * (kept in order, for the next batch). The prefix holds at least one item: one SQS message
 * (≤ 1 MiB) always fits Lambda's 6 MB.
 */
export function takeWithinPayload<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limit = MAX_INVOKE_PAYLOAD_BYTES,
): { readonly batch: T[]; readonly rest: T[] } {
  let bytes = EVENT_FRAME_BYTES;
  let n = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (n > 0 && bytes + size > limit) break;
    bytes += size;
    n++;
  }
  return { batch: items.slice(0, n), rest: items.slice(n) };
}
