import { defineJob, z } from 'event-pipeline/jobs';

/** Record a user's activity; ordered per user (send with `orderingKey` = the user id). */
export default defineJob({
  type: 'activity.recorded',
  description: "Record a user's activity, in order per user",
  schema: z
    .object({
      userId: z.string().min(1).max(128),
      action: z.string().min(1).max(128),
      seq: z.number().int().nonnegative().optional(),
      at: z.iso.datetime().optional(),
    })
    .strict(),
  ordered: true,
  async handle(p, ctx) {
    ctx.logger.info('activity recorded', { userId: p.userId, action: p.action, seq: p.seq });
  },
});
