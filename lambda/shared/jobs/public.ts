/**
 * `event-pipeline/jobs`: everything a job module imports. A job module defines one or more job
 * types with {@link defineJob} (its default export or named exports) and lives in the adopter's
 * app; the app lists it in the `EventPipeline` construct's `jobs`.
 *
 * @example
 * import { defineJob, PermanentError, z } from 'event-pipeline/jobs';
 *
 * export default defineJob({
 *   type: 'thumbnail.create',
 *   description: 'Make a thumbnail of an uploaded image',
 *   schema: z.object({ bucket: z.string(), key: z.string() }).strict(),
 *   ordered: false,
 *   lane: 'thumbnails',
 *   async handle(payload, ctx) {
 *     if (!payload.key.endsWith('.png')) throw new PermanentError(`not a PNG: ${payload.key}`);
 *     ctx.logger.info('thumbnail made', { key: payload.key });
 *   },
 * });
 */
export { z } from './zod';
export { defineJob, type EnqueueOptions, type Enqueued, type JobContext, type JobDefinition } from './types';
export { RESULT_LIMITS, ResultNotSerializable, ResultTooLarge } from './result';
export { PermanentError, RetryableError, RetryLaterError, type RetryLater } from '../errors';
export { retryAfter } from './retry-after';
