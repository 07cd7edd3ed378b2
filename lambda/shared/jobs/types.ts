import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';

/** What a job handler knows about the message it is processing. */
export interface JobContext {
  readonly messageId: string;
  /** `ApproximateReceiveCount` of this delivery (1 on the first). */
  readonly receiveCount: number;
  readonly correlationId: string;
  readonly logger: Logger;
  /** Aborted when the record's deadline passes; long-running handlers should stop early. */
  readonly signal: AbortSignal;
}

/**
 * One registered job type: its payload schema, whether it must be sent with an
 * `orderingKey`, and the code that processes it.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly description: string;
  readonly schema: S;
  /** Ordered types require `orderingKey` (FIFO queue, one message group per key). */
  readonly ordered: boolean;
  /** Throw a `PermanentError` to dead-letter at once, anything else to retry. */
  readonly handle: (payload: z.infer<S>, ctx: JobContext) => Promise<void>;
}

/** Helper that keeps the payload type of `handle` tied to `schema`. */
export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  return def;
}
