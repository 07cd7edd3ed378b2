import type { Command } from '../lib/cli';
import { parseDate, parseIds, parseKind, parseQueue, parseType } from '../lib/filters';
import { table } from '../lib/format';
import { replay } from '../lib/replay';

/** `replay`: re-enqueues archived messages into the queue they came from. */
export const replayCommand: Command = {
  name: 'replay',
  summary: 're-enqueue archived messages (original envelope + replay-of); skips ones still in a DLQ',
  usage:
    '[--queue standard|fifo] [--type T] [--kind K] [--since <date>] [--until <date>] [--ids a,b,…] [--include-dead-lettered] [--dry-run]',
  options: {
    queue: { type: 'string' },
    type: { type: 'string' },
    kind: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    ids: { type: 'string' },
    'include-dead-lettered': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  async run(ctx) {
    const v = ctx.values;
    const filter = {
      ...(v.queue ? { queue: parseQueue(v.queue as string)! } : {}),
      ...(v.type ? { type: parseType(v.type as string)! } : {}),
      ...(v.kind ? { kind: parseKind(v.kind as string)! } : {}),
      ...(v.since ? { since: parseDate('since', v.since as string)! } : {}),
      ...(v.until ? { until: parseDate('until', v.until as string)! } : {}),
      ...(v.ids ? { ids: parseIds(v.ids as string)! } : {}),
    };
    const result = await replay(await ctx.target(), filter, {
      dryRun: v['dry-run'] === true,
      includeDeadLettered: v['include-dead-lettered'] === true,
      progress: (l) => ctx.progress(l),
    });
    const text = [
      result.items.length
        ? table(
            ['queue', 'message id', 'type', 'kind', 'outcome', 'new message id', 'detail'],
            result.items.map((i) => [
              i.queue,
              i.messageId,
              i.type,
              i.kind,
              i.outcome,
              i.newMessageId,
              i.detail,
            ]),
          )
        : 'no archive records match',
      '',
      `${result.dryRun ? 'would replay' : 'replayed'} ${result.replayed}, skipped ${result.skipped}, failed ${result.failed}`,
    ].join('\n');
    return { json: result, text, exitCode: result.failed ? 1 : 0 };
  },
};
