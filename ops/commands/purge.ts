import type { Command } from '../lib/cli';
import { purgeDlq } from '../lib/dlq';
import { UsageError } from '../lib/errors';
import { LANE_OPTIONS, parseLane } from '../lib/filters';
import { pairOf } from '../lib/target';
import { isNotificationsLane, purgeNotifications } from '../lib/notifications';

/**
 * `purge --lane <name> --yes` (or `--queue standard|fifo|<dlq name>`): empties a DLQ of messages
 * that have an archive record (refusing while one lacks it; `--archive-missing` writes it first);
 * archive records stay.
 */
export const purgeCommand: Command = {
  name: 'purge',
  summary:
    "empty a lane's DLQ (archive records stay); needs --yes; refuses while a message has no archive record (--archive-missing writes it)",
  usage:
    '--lane <name> | --lane notifications | --queue standard|fifo|<dlq name> --yes [--archive-missing] [--dry-run]',
  options: {
    ...LANE_OPTIONS,
    yes: { type: 'boolean' },
    'archive-missing': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  async run(ctx) {
    const lane = parseLane(ctx.values.lane as string | undefined);
    const queue = ctx.values.queue as string | undefined;
    if (lane !== undefined && queue !== undefined)
      throw new UsageError('give --lane <name> or --queue standard|fifo|<dlq name>, not both');
    const which = lane ?? queue;
    if (!which)
      throw new UsageError('purge: give --lane <name> (its DLQ), --queue standard|fifo or a DLQ name');
    const dryRun = ctx.values['dry-run'] === true;
    if (!dryRun && ctx.values.yes !== true)
      throw new UsageError(
        `purge deletes every message of the ${which} DLQ for good: add --yes (or --dry-run)`,
      );
    const target = await ctx.target();
    if (isNotificationsLane(target, lane)) {
      if (ctx.values['archive-missing'] !== undefined)
        throw new UsageError(
          '--archive-missing does not apply to --lane notifications (notifications have no archive)',
        );
      const result = await purgeNotifications(target, { dryRun });
      return {
        json: result,
        text:
          `${dryRun ? 'would purge' : 'purged'} ${result.queue}: ${result.purged} undelivered notification(s); the webhook will not get them (status rows and results stay)` +
          (result.unread ? `; ${result.unread} could not be read and stay: run purge again` : ''),
      };
    }
    // A lane the target lacks is refused as such (listing its lanes), not as an unknown DLQ name.
    if (lane !== undefined) pairOf(target, lane);
    const result = await purgeDlq(target, which, {
      dryRun,
      archiveMissing: ctx.values['archive-missing'] === true,
    });
    const text =
      `${dryRun ? 'would purge' : 'purged'} ${result.queue}: ${result.purged} message(s)` +
      (result.archived
        ? `, ${result.archived} of them archived first (the record the DLQ sweeper writes)`
        : '') +
      '; archive records stay' +
      (result.unread
        ? `; ${result.unread} could not be read (FIFO: behind their group's head, or held by another reader) and stay: run purge again`
        : '');
    return { json: result, text };
  },
};
