import type { Command } from '../lib/cli';
import { isFiltered, queueDepth, redrive } from '../lib/dlq';
import { OpsError } from '../lib/errors';
import { parseSelection, selectionOptions } from '../lib/filters';
import { outcomeTable, table } from '../lib/format';
import { pairsOf, selectedLane, type Target } from '../lib/target';
import type { CommandContext } from '../lib/cli';
import {
  isNotificationsLane,
  NOTIFICATION_IDS_HELP,
  redriveNotifications,
  refuseLaneOnlyOptions,
} from '../lib/notifications';

/** `dlq redrive`: moves dead-lettered messages back to their source queues. */
export const dlqRedriveCommand: Command = {
  name: 'dlq redrive',
  summary:
    'move dead-lettered messages back to their source queue (send first, then delete); --lane notifications: publish undelivered events again on the bus',
  usage:
    '[--lane <name> | --lane notifications | --queue standard|fifo] [--type T] [--kind permanent|exhausted|unknown] [--ids <envelope or message ids>] [--one-by-one] [--dry-run] [--yes]',
  options: {
    ...selectionOptions(['lane', 'type', 'kind', 'ids']),
    'dry-run': { type: 'boolean' },
    'one-by-one': { type: 'boolean' },
    yes: { type: 'boolean' },
  },
  async run(ctx) {
    const v = ctx.values;
    const filter = parseSelection(v, ['lane', 'type', 'kind', 'ids']);
    const dryRun = v['dry-run'] === true;
    const target = await ctx.target();
    if (isNotificationsLane(target, selectedLane(filter)))
      return redriveNotificationsCommand(ctx, target, filter.ids, dryRun);
    // A lane the target lacks is refused as such first (pairsOf); a lane alone is no filter.
    const pairs = pairsOf(target, selectedLane(filter));
    if (!isFiltered(filter) && !dryRun) {
      const depths = await Promise.all(pairs.map((p) => queueDepth(target, p.dlq.url)));
      const n = depths.reduce((sum, d) => sum + d.visible + d.inFlight + d.delayed, 0);
      const lane = selectedLane(filter);
      const what = `every message of ${lane === undefined ? "every lane's DLQ" : `the ${lane} DLQ`} (${n} message${n === 1 ? '' : 's'}) back to its queue`;
      await ctx.confirm({
        refusal: `dlq redrive without --type, --kind or --ids moves ${what}`,
        question: `move ${what}`,
        notDone: 'nothing was moved',
      });
    }
    const result = await redrive(target, filter, {
      dryRun,
      oneByOne: v['one-by-one'] === true,
      progress: (l) => ctx.progress(l),
    });
    if (result.unmatchedIds.length)
      throw new OpsError(
        `--ids: no dead-lettered message has the id ${result.unmatchedIds.join(', ')} (an envelope id or an SQS message id; dlq list shows them)`,
      );
    const verb = result.dryRun ? 'would move' : 'moved';
    const lines =
      result.mode === 'move-task'
        ? [
            table(
              ['lane', 'task status', 'moved', 'to move', 'failure'],
              result.tasks.map((t) => [t.lane, t.status, t.moved, t.toMove, t.failureReason]),
            ),
          ]
        : result.items.length
          ? [outcomeTable(result.items, 'error', (i) => i.error)]
          : [];
    const summary =
      `${verb} ${result.dryRun ? result.items.length : result.moved}, skipped ${result.skipped}, failed ${result.failed}` +
      (result.notDeleted
        ? `; ${result.notDeleted} resent but still in the DLQ (duplicates: delete or purge them)`
        : '') +
      (result.failed ? '; messages that failed to move stay in the DLQ' : '');
    return {
      json: result,
      text: [...lines, '', summary].join('\n').trimStart(),
      exitCode: result.failed || result.notDeleted ? 1 : 0,
    };
  },
};

/** `dlq redrive --lane notifications`: republishes the undelivered events on the stage's bus. */
async function redriveNotificationsCommand(
  ctx: CommandContext,
  target: Target,
  ids: readonly string[] | undefined,
  dryRun: boolean,
): Promise<{ json: unknown; text: string; exitCode?: number }> {
  refuseLaneOnlyOptions(ctx.values);
  if (!ids?.length && !dryRun) {
    const d = await queueDepth(target, target.notifications!.dlq.url);
    const n = d.visible + d.inFlight + d.delayed;
    const what = `every undelivered notification (${n} event${n === 1 ? '' : 's'}) again on the bus`;
    await ctx.confirm({
      refusal: `dlq redrive --lane notifications without --ids publishes ${what}`,
      question: `publish ${what}`,
      notDone: 'nothing was published',
    });
  }
  const result = await redriveNotifications(target, { ...(ids ? { ids } : {}), dryRun });
  if (result.unmatchedIds.length)
    throw new OpsError(
      `--ids: no undelivered notification has the id ${result.unmatchedIds.join(', ')} (${NOTIFICATION_IDS_HELP})`,
    );
  const lines = result.items.length
    ? [
        table(
          ['lane', 'dlq message id', 'detail-type', 'envelope id', 'outcome', 'new EventBridge id', 'error'],
          result.items.map((i) => [
            i.lane,
            i.dlqMessageId,
            i.detailType,
            i.envelopeId,
            i.outcome,
            i.newEventBridgeId,
            i.error,
          ]),
        ),
        '',
      ]
    : [];
  const summary =
    `${result.dryRun ? 'would publish' : 'published'} ${result.dryRun ? result.items.filter((i) => i.outcome === 'would-republish').length : result.republished} on ${result.bus}, skipped ${result.skipped}, failed ${result.failed}` +
    (result.notDeleted
      ? `; ${result.notDeleted} published but still in the DLQ (duplicates: purge them)`
      : '') +
    (result.failed ? '; events that failed to publish stay in the DLQ' : '') +
    '. Every rule of the bus that matches gets them again (receivers de-duplicate on detail.eventId)';
  return {
    json: result,
    text: [...lines, summary].join('\n'),
    exitCode: result.failed || result.notDeleted ? 1 : 0,
  };
}
