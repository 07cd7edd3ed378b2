import { defineJob, z } from 'event-pipeline/jobs';

/** Generate a report for a period. */
export default defineJob({
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
