import type { InvocationError } from '../control/journal';

/** What the event source mapping does with a batch after the invocation. */
export interface BatchVerdict {
  /** Ids of the records that failed, in event order; every id when the whole batch failed. */
  readonly failed: readonly string[];
  /** The whole batch failed (function error, or a response Lambda rejects). */
  readonly wholeBatch: boolean;
  /** Why the whole batch failed; `null` otherwise. */
  readonly reason: string | null;
}

/** The invocation result the verdict is based on. */
export type InvocationResult =
  { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly error: InvocationError };

/**
 * Interprets a function's answer to an SQS batch the way the Lambda event source mapping does
 * (AWS Lambda developer guide, "Implementing partial batch responses"):
 *
 * - the invocation failed (thrown error, timeout, crash) → the whole batch failed;
 * - without `ReportBatchItemFailures` in `FunctionResponseTypes`, any success → every record succeeded;
 * - with it, success for every record when the response is `null`/`undefined`, an empty object, or
 *   has a `null` or empty `batchItemFailures` list;
 * - the listed `itemIdentifier`s failed, the others succeeded;
 * - the whole batch failed when the response is malformed (not an object, `batchItemFailures` not
 *   a list, an entry that is not an object) or an `itemIdentifier` is empty, `null`, missing (bad
 *   key name), not a string, or not the id of a record of this batch.
 *
 * @example
 * interpretBatchResponse(['a', 'b'], { ok: true, payload: { batchItemFailures: [{ itemIdentifier: 'b' }] } }, true);
 * // { failed: ['b'], wholeBatch: false, reason: null }
 */
export function interpretBatchResponse(
  messageIds: readonly string[],
  result: InvocationResult,
  reportBatchItemFailures: boolean,
): BatchVerdict {
  const all = (reason: string): BatchVerdict => ({ failed: [...messageIds], wholeBatch: true, reason });
  const none: BatchVerdict = { failed: [], wholeBatch: false, reason: null };
  if (!result.ok) return all(`invocation failed: ${result.error.name}: ${result.error.message}`);
  if (!reportBatchItemFailures) return none;
  const payload = result.payload;
  if (payload === null || payload === undefined) return none;
  if (typeof payload !== 'object' || Array.isArray(payload)) return all('the response is not a JSON object');
  const list = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return none;
  if (!Array.isArray(list)) return all('batchItemFailures is not a list');
  const inBatch = new Set(messageIds);
  const failed = new Set<string>();
  for (const [i, entry] of list.entries()) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return all(`batchItemFailures[${i}] is not an object`);
    const id = (entry as { itemIdentifier?: unknown }).itemIdentifier;
    if (id === undefined) return all(`batchItemFailures[${i}] has no itemIdentifier`);
    if (id === null) return all(`batchItemFailures[${i}].itemIdentifier is null`);
    if (typeof id !== 'string') return all(`batchItemFailures[${i}].itemIdentifier is not a string`);
    if (id === '') return all(`batchItemFailures[${i}].itemIdentifier is empty`);
    if (!inBatch.has(id))
      return all(`batchItemFailures[${i}].itemIdentifier "${id}" is not a message of this batch`);
    failed.add(id);
  }
  return { failed: messageIds.filter((id) => failed.has(id)), wholeBatch: false, reason: null };
}
