import { z } from 'zod';
import { PermanentError } from '../errors';
import { defineJob } from './types';

/** Send a transactional email (the delivery itself is logged: wire your provider here). */
export const emailSendJob = defineJob({
  type: 'email.send',
  description: 'Send a transactional email',
  schema: z
    .object({
      to: z.email(),
      subject: z.string().min(1).max(998),
      body: z.string().max(100_000),
      replyTo: z.email().optional(),
    })
    .strict(),
  ordered: false,
  async handle(p, ctx) {
    if (p.to.endsWith('.invalid')) {
      // RFC 2606: the .invalid TLD can never be delivered to; retrying would not help.
      throw new PermanentError(`Recipient domain of ${p.to} cannot receive mail`);
    }
    ctx.logger.info('email sent', { to: p.to, subjectLength: p.subject.length, bodyBytes: p.body.length });
  },
});

/** Generate a report for a period. */
export const reportGenerateJob = defineJob({
  type: 'report.generate',
  description: 'Generate a report for a period',
  schema: z
    .object({
      reportId: z.string().min(1).max(128),
      format: z.enum(['csv', 'pdf', 'json']),
      from: z.iso.date(),
      to: z.iso.date(),
    })
    .strict()
    .refine((r) => r.from <= r.to, { message: 'from must not be after to', path: ['from'] }),
  ordered: false,
  async handle(p, ctx) {
    const days = Math.round((Date.parse(p.to) - Date.parse(p.from)) / 86_400_000) + 1;
    ctx.logger.info('report generated', { reportId: p.reportId, format: p.format, days });
  },
});

/** Record a user's activity; ordered per user (send with `orderingKey` = the user id). */
export const activityRecordedJob = defineJob({
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
