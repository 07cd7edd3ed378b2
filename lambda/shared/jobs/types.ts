import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from './zod';

/** What a job handler knows about the message it is processing. */
export interface JobContext {
  readonly messageId: string;
  /** `ApproximateReceiveCount` of this delivery (1 on the first). */
  readonly receiveCount: number;
  readonly correlationId: string;
  readonly logger: Logger;
  /** Aborted when the record's deadline passes; long-running handlers should stop early. */
  readonly signal: AbortSignal;
  /**
   * Enqueues a follow-up job (issue 18): validated as the API validates a request, sent with this
   * message's correlation id and tenant, under an id derived from this message's id and the call's
   * position in the run (`enqueue`'s n-th call of every run gets the same id), so a retried run
   * does not enqueue its children twice. The parent's status lists the children's ids.
   */
  readonly enqueue: (
    type: string,
    payload: Record<string, unknown>,
    options?: EnqueueOptions,
  ) => Promise<Enqueued>;
}

/** Options of {@link JobContext.enqueue}: as a `POST /v1/messages` body's. */
export interface EnqueueOptions {
  /** Required by ordered types (FIFO lanes): the message group, scoped by the tenant. */
  readonly orderingKey?: string;
  /** Not run before this time (ISO 8601, or a Date). */
  readonly notBefore?: string | Date;
  /** Seconds of SQS delay (0-900). */
  readonly delaySeconds?: number;
}

/** What {@link JobContext.enqueue} answers: the child's envelope id and lane. */
export interface Enqueued {
  readonly id: string;
  readonly lane: string;
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
  /**
   * The lane (queue + DLQ + consumer function) that runs this type, as named in the app's
   * `EventPipeline` props. @default the default FIFO lane when `ordered`, else the default standard lane
   */
  readonly lane?: string;
  /**
   * Throw a `PermanentError` to dead-letter at once, a `RetryLaterError` to defer, anything else to
   * retry. What it returns (a JSON value, at most 4 MiB as JSON text) is the message's `result`.
   */
  readonly handle: (payload: z.infer<S>, ctx: JobContext) => Promise<unknown>;
}

/** Marks the objects {@link defineJob} returns, so a job module's exports can be told apart. */
export const JOB_BRAND: unique symbol = Symbol.for('event-pipeline.job') as never;

/**
 * Declares a job type. Keeps the payload type of `handle` tied to `schema`, and marks the
 * definition so the pipeline finds it among a job module's exports.
 *
 * @example
 * export default defineJob({
 *   type: 'thumbnail.create',
 *   description: 'Make a thumbnail of an uploaded image',
 *   schema: z.object({ key: z.string() }).strict(),
 *   ordered: false,
 *   lane: 'thumbnails',
 *   async handle(payload, ctx) { ctx.logger.info('made', { key: payload.key }); },
 * });
 */
export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  return Object.assign({ [JOB_BRAND]: true }, def);
}

/** True for a value {@link defineJob} returned. */
export function isJobDefinition(value: unknown): value is JobDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[JOB_BRAND] === true &&
    typeof (value as JobDefinition).type === 'string' &&
    typeof (value as JobDefinition).handle === 'function'
  );
}

/**
 * The job definitions a job module exports (its default export and any named export made with
 * {@link defineJob}), without duplicates. A module that exports none is a mistake of the app:
 * the error names it.
 */
export function jobsOfModule(moduleExports: unknown, name: string): JobDefinition[] {
  const found = new Set<JobDefinition>();
  const visit = (v: unknown) => {
    if (isJobDefinition(v)) found.add(v);
  };
  if (moduleExports && typeof moduleExports === 'object') {
    for (const value of Object.values(moduleExports as Record<string, unknown>)) {
      visit(value);
      // CommonJS interop: a default export seen through `module.exports.default`.
      if (value && typeof value === 'object' && 'default' in value)
        visit((value as { default: unknown }).default);
    }
  }
  if (found.size === 0) throw new Error(`Job module ${name} exports no job defined with defineJob()`);
  return [...found];
}
