import { createHash } from 'node:crypto';
import { defineJob, PermanentError, z } from 'event-pipeline/jobs';

/**
 * A stable, non-reversible name for an address in logs: its domain and a short hash of the whole
 * address, so one recipient's messages can be followed without the address in clear.
 */
export function recipientRef(address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const hash = createHash('sha256').update(address.toLowerCase()).digest('hex').slice(0, 12);
  return `${hash}@${domain}`;
}

/** Send a transactional email (the delivery itself is logged: wire your provider here). */
export default defineJob({
  type: 'email.send',
  description: 'Send a transactional email',
  schema: z
    .object({
      to: z.email(),
      // One header line: a CR or LF would let a caller add headers (`Bcc:`) once a provider is wired.
      subject: z
        .string()
        .min(1)
        .max(998)
        .regex(/^[^\r\n]*$/, 'one line: no CR or LF'),
      body: z.string().max(100_000),
      replyTo: z.email().optional(),
    })
    .strict(),
  ordered: false,
  async handle(p, ctx) {
    if (p.to.endsWith('.invalid')) {
      // RFC 2606: the .invalid TLD can never be delivered to; retrying would not help. The
      // message reaches logs, the status row's lastError and the archive: no address in it.
      throw new PermanentError('Recipient domain .invalid cannot receive mail');
    }
    ctx.logger.info('email sent', {
      to: recipientRef(p.to),
      subjectLength: p.subject.length,
      bodyBytes: p.body.length,
    });
  },
});
