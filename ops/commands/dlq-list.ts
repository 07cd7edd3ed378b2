import type { Command } from '../lib/cli';
import { listDlq } from '../lib/dlq';
import { LANE_OPTIONS, parseLaneOption, parsePositive } from '../lib/filters';
import { clip, table } from '../lib/format';

/** `dlq list`: peeks at dead-lettered messages without consuming them. */
export const dlqListCommand: Command = {
  name: 'dlq list',
  summary: 'dead-lettered messages (peeked, left in place), joined with their archive records',
  usage: '[--lane <name> | --queue standard|fifo] [--limit N]',
  options: { ...LANE_OPTIONS, limit: { type: 'string' } },
  async run(ctx) {
    const lane = parseLaneOption(ctx.values);
    const limit = parsePositive('limit', ctx.values.limit as string | undefined);
    const listing = await listDlq(await ctx.target(), {
      ...(lane ? { lane } : {}),
      ...(limit ? { limit } : {}),
    });
    const notes = listing.queues.map((q) => {
      const hidden = q.depth - q.shown;
      return `lane ${q.lane}, ${q.dlq}: ${q.depth} message(s)${hidden > 0 && q.dlq.endsWith('.fifo') && !limit ? `, ${hidden} behind the head of their message group (FIFO: not readable without moving the head)` : ''}`;
    });
    const text = listing.messages.length
      ? [
          table(
            [
              'lane',
              'message id',
              'type',
              'envelope id',
              'kind',
              'error',
              'receives',
              'failed at',
              'archive key',
            ],
            listing.messages.map((m) => [
              m.lane,
              m.messageId,
              m.type,
              m.envelopeId,
              m.kind,
              clip([m.errorName, m.errorMessage].filter(Boolean).join(': '), 60),
              m.receiveCount,
              m.failedAt,
              m.archiveKey,
            ]),
          ),
          '',
          ...notes,
        ].join('\n')
      : ['no dead-lettered messages', ...notes].join('\n');
    return { json: listing, text };
  },
};
