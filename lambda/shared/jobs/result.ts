/**
 * A job's result (issue 18, item 1; docs/DESIGN.md §3.4): the JSON value its handler returned,
 * kept with the message. Small results live on the status row (`resultJson`, the JSON text);
 * larger ones in an S3 object of the stage's result bucket (`results/<envelope id>.json`,
 * referenced from the row as `resultRef`), expiring with the rows. A value that JSON cannot represent, or
 * whose JSON text is over {@link RESULT_LIMITS.maxBytes}, fails the run permanently: running it
 * again would return the same value.
 */
import { PermanentError } from '../errors';

/** The size limits of a result's JSON text (UTF-8 bytes). */
export const RESULT_LIMITS = {
  /**
   * Up to this size the result is stored on the status row (a row holds at most 400 KB; this
   * keeps a row, and the completion event that carries the result, far below EventBridge's
   * 256 KB event limit).
   */
  inlineBytes: 16 * 1024,
  /**
   * The hard limit: the API returns the result through the producer, whose Lambda response is
   * at most 6 MB.
   */
  maxBytes: 4 * 1024 * 1024,
} as const;

/** Where results too large for the row are kept, in the result bucket. */
export const RESULT_PREFIX = 'results/';

/** The S3 key of a message's result object. */
export function resultObjectKey(id: string): string {
  return `${RESULT_PREFIX}${id}.json`;
}

/** The handler returned a value JSON cannot represent (a BigInt, a cycle, a function). */
export class ResultNotSerializable extends PermanentError {}

/** The handler returned a value whose JSON text is over {@link RESULT_LIMITS.maxBytes}. */
export class ResultTooLarge extends PermanentError {
  constructor(readonly bytes: number) {
    super(`The job's result is ${bytes} bytes of JSON; at most ${RESULT_LIMITS.maxBytes} are kept`);
  }
}

/** A result ready to be kept: nothing, JSON text for the row, or JSON text for an S3 object. */
export type PreparedResult =
  | { readonly where: 'none' }
  | { readonly where: 'row'; readonly json: string; readonly bytes: number }
  | { readonly where: 's3'; readonly json: string; readonly bytes: number };

/**
 * What a handler's return value becomes. `undefined` (a handler that returns nothing) is no
 * result; anything else must be JSON: `JSON.stringify` semantics (a nested `undefined` or
 * function is left out of an object, `NaN` becomes `null`), but a value that has no JSON text at
 * all (a function, a symbol), a BigInt or a cycle throws {@link ResultNotSerializable}.
 */
export function prepareResult(value: unknown, limits: typeof RESULT_LIMITS = RESULT_LIMITS): PreparedResult {
  if (value === undefined) return { where: 'none' };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new ResultNotSerializable(
      `The job's result cannot be serialized as JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (json === undefined)
    throw new ResultNotSerializable(`The job's result cannot be serialized as JSON: a ${typeof value}`);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > limits.maxBytes) throw new ResultTooLarge(bytes);
  return { where: bytes <= limits.inlineBytes ? 'row' : 's3', json, bytes };
}

/** How a status row refers to a result kept in S3. */
export interface ResultRef {
  /** The object's key in the result bucket ({@link resultObjectKey}). */
  readonly key: string;
  readonly bytes: number;
}

/** What the `succeeded` transition writes about a result. */
export type StoredResult =
  | { readonly json: string; readonly ref?: undefined }
  | { readonly ref: ResultRef; readonly json?: undefined };
