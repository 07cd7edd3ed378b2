import type { Command } from '../lib/cli';
import { redrive } from '../lib/dlq';
import { parseIds, parseKind, parseQueue, parseType } from '../lib/filters';
import { table } from '../lib/format';

/** `dlq redrive`: moves dead-lettered messages back to their source queues. */
export const dlqRedriveCommand: Command = {
  name: 'dlq redrive',
  summary: 'move dead-lettered messages back to their source queue (send first, then delete)',
  usage:
    '[--queue standard|fifo] [--type T] [--kind permanent|exhausted|unknown] [--ids a,b,…] [--one-by-one] [--dry-run]',
  options: {
    queue: { type: 'string' },
    type: { type: 'string' },
    kind: { type: 'string' },
    ids: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'one-by-one': { type: 'boolean' },
  },
  async run(ctx) {
    const v = ctx.values;
    const queue = parseQueue(v.queue as string | undefined);
    const type = parseType(v.type as string | undefined);
    const kind = parseKind(v.kind as string | undefined);
    const ids = parseIds(v.ids as string | undefined);
    const result = await redrive(
      await ctx.target(),
      {
        ...(queue ? { queue } : {}),
        ...(type ? { type } : {}),
        ...(kind ? { kind } : {}),
        ...(ids ? { ids } : {}),
      },
      { dryRun: v['dry-run'] === true, oneByOne: v['one-by-one'] === true, progress: (l) => ctx.progress(l) },
    );
    const verb = result.dryRun ? 'would move' : 'moved';
    const lines =
      result.mode === 'move-task'
        ? [
            table(
              ['queue', 'task status', 'moved', 'to move', 'failure'],
              result.tasks.map((t) => [t.queue, t.status, t.moved, t.toMove, t.failureReason]),
            ),
          ]
        : result.items.length
          ? [
              table(
                ['queue', 'message id', 'type', 'kind', 'outcome', 'new message id', 'error'],
                result.items.map((i) => [
                  i.queue,
                  i.messageId,
                  i.type,
                  i.kind,
                  i.outcome,
                  i.newMessageId,
                  i.error,
                ]),
              ),
            ]
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
