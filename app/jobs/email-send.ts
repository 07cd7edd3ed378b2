import { defineJob, PermanentError, z } from 'event-pipeline/jobs';

/** Send a transactional email (the delivery itself is logged: wire your provider here). */
export default defineJob({
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
