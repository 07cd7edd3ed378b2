import type { Command } from '../lib/cli';
import { OpsError } from '../lib/errors';
import { parseSelection, selectionOptions } from '../lib/filters';
import { outcomeTable } from '../lib/format';
import { replay } from '../lib/replay';
import { pairsOf, selectedLane } from '../lib/target';

const SELECTION = ['lane', 'type', 'kind', 'since', 'until', 'ids'] as const;

/** `replay`: re-enqueues archived messages into the queue they came from. */
export const replayCommand: Command = {
  name: 'replay',
  summary:
    're-enqueue archived messages (original envelope + replay-of); skips ones still in a DLQ or that succeeded since (--force: a copy under a new envelope id)',
  usage:
    '[--lane <name> | --queue standard|fifo] [--type T] [--kind K] [--since <date>] [--until <date>] [--ids <envelope or message ids>] [--include-dead-lettered] [--force] [--dry-run] [--yes]',
  options: {
    ...selectionOptions(SELECTION),
    'include-dead-lettered': { type: 'boolean' },
    force: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean' },
  },
  async run(ctx) {
    const v = ctx.values;
    const filter = parseSelection(v, SELECTION);
    const dryRun = v['dry-run'] === true;
    const target = await ctx.target();
    const lane = selectedLane(filter);
    // A lane the target lacks is refused as such first; a lane alone is no filter.
    pairsOf(target, lane);
    const filtered = (['type', 'kind', 'since', 'until', 'ids'] as const).some(
      (k) => filter[k] !== undefined,
    );
    if (!filtered && !dryRun) {
      const what = `every archived message of ${lane === undefined ? 'every lane' : `the ${lane} lane`}`;
      await ctx.confirm({
        refusal: `replay without --type, --kind, --since, --until or --ids re-enqueues ${what}`,
        question: `re-enqueue ${what}`,
        notDone: 'nothing was replayed',
      });
    }
    const result = await replay(target, filter, {
      dryRun,
      includeDeadLettered: v['include-dead-lettered'] === true,
      force: v.force === true,
      progress: (l) => ctx.progress(l),
    });
    if (result.unmatchedIds.length)
      throw new OpsError(
        `--ids: no archive record matches ${result.unmatchedIds.join(', ')} (an envelope id or an SQS message id; archive list shows them)`,
      );
    const succeeded = result.items.filter((i) => i.outcome === 'skipped-succeeded').length;
    const text = [
      result.items.length
        ? outcomeTable(result.items, 'detail', (i) => i.detail)
        : 'no archive records match',
      '',
      `${result.dryRun ? 'would replay' : 'replayed'} ${result.replayed}, skipped ${result.skipped}, failed ${result.failed}` +
        (succeeded
          ? `; ${succeeded} had succeeded already (--force replays a copy under a new envelope id)`
          : ''),
    ].join('\n');
    return { json: result, text, exitCode: result.failed ? 1 : 0 };
  },
};
