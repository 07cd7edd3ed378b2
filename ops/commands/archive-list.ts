import { ArchiveReader, typeOfBody } from '../lib/archive';
import type { Command } from '../lib/cli';
import { parseDate, parseKind, parseQueue, parseType } from '../lib/filters';
import { clip, table } from '../lib/format';

/** `archive list`: archive records, newest first. */
export const archiveListCommand: Command = {
  name: 'archive list',
  summary: 'failure archive records, newest first',
  usage: '[--queue standard|fifo] [--type T] [--kind K] [--since <date>] [--until <date>]',
  options: {
    queue: { type: 'string' },
    type: { type: 'string' },
    kind: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
  },
  async run(ctx) {
    const v = ctx.values;
    const filter = {
      ...(v.queue ? { queue: parseQueue(v.queue as string)! } : {}),
      ...(v.type ? { type: parseType(v.type as string)! } : {}),
      ...(v.kind ? { kind: parseKind(v.kind as string)! } : {}),
      ...(v.since ? { since: parseDate('since', v.since as string)! } : {}),
      ...(v.until ? { until: parseDate('until', v.until as string)! } : {}),
    };
    const target = await ctx.target();
    const records = await new ArchiveReader(target).list(filter, (d, n) =>
      ctx.progress(`read ${d}/${n} records`),
    );
    const text = records.length
      ? table(
          ['archived at', 'queue', 'message id', 'type', 'kind', 'error', 'receives', 'key'],
          records.map((r) => [
            r.record.archivedAt,
            r.queue ?? r.record.queue.name,
            r.record.messageId,
            typeOfBody(r.record.body),
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
