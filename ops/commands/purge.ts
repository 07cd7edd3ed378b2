import type { Command } from '../lib/cli';
import { purgeDlq } from '../lib/dlq';
import { UsageError } from '../lib/errors';

/** `purge --queue <dlq> --yes`: empties a DLQ; archive records stay. */
export const purgeCommand: Command = {
  name: 'purge',
  summary: 'empty a DLQ (archive records stay); needs --yes; refuses source queues',
  usage: '--queue standard|fifo|<dlq name> --yes [--dry-run]',
  options: { queue: { type: 'string' }, yes: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  async run(ctx) {
    const queue = ctx.values.queue as string | undefined;
    if (!queue) throw new UsageError('purge: give --queue standard|fifo (its DLQ) or a DLQ name');
    const dryRun = ctx.values['dry-run'] === true;
    if (!dryRun && ctx.values.yes !== true)
      throw new UsageError(
        `purge deletes every message of the ${queue} DLQ for good: add --yes (or --dry-run)`,
      );
    const result = await purgeDlq(await ctx.target(), queue, { dryRun });
    const text = `${dryRun ? 'would purge' : 'purged'} ${result.queue}: ${result.purged} message(s); archive records stay`;
    return { json: result, text };
  },
};
