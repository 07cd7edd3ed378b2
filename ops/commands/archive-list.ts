import { ArchiveReader, typeOfBody } from '../lib/archive';
import type { Command } from '../lib/cli';
import { parseSelection, selectionOptions } from '../lib/filters';
import { clip, table } from '../lib/format';

const SELECTION = ['lane', 'type', 'kind', 'since', 'until'] as const;

/** `archive list`: archive records, newest first. */
export const archiveListCommand: Command = {
  name: 'archive list',
  summary: 'failure archive records, newest first',
  usage: '[--lane <name> | --queue standard|fifo] [--type T] [--kind K] [--since <date>] [--until <date>]',
  options: selectionOptions(SELECTION),
  async run(ctx) {
    const filter = parseSelection(ctx.values, SELECTION);
    const target = await ctx.target();
    const records = await new ArchiveReader(target).list(filter, (d, n) =>
      ctx.progress(`read ${d}/${n} records`),
    );
    const text = records.length
      ? table(
          ['archived at', 'lane', 'message id', 'type', 'envelope id', 'kind', 'error', 'receives', 'key'],
          records.map((r) => [
            r.record.archivedAt,
            r.lane ?? r.record.queue.name,
            r.record.messageId,
            typeOfBody(r.record.body),
            r.envelopeId,
            r.record.failure.kind,
            clip(`${r.record.failure.errorName}: ${r.record.failure.errorMessage}`, 50),
            r.record.receiveCount,
            r.key,
          ]),
        ) + `\n\n${records.length} record(s)`
      : 'no archive records';
    return { json: { records }, text };
  },
};
