import type { Command } from '../lib/cli';
import { table } from '../lib/format';
import { status } from '../lib/status';

/**
 * `status`: per queue depth and oldest age, and alarm states (`since`: when each entered its
 * state); with `--waiting`, each lane's deferred and scheduled messages from the status table.
 */
export const statusCommand: Command = {
  name: 'status',
  summary:
    "per lane, its queue's and its DLQ's visible, in flight, delayed, oldest age; alarm states; " +
    '--waiting: deferred and scheduled messages per lane (a scan of the status table: it reads every row, ' +
    'billed as such)',
  usage: '[--waiting]',
  options: { waiting: { type: 'boolean' } },
  async run(ctx) {
    const report = await status(await ctx.target(), { waiting: ctx.values.waiting === true });
    const waiting = report.waiting;
    const age = (s: number | null) => (s === null ? null : `${Math.round(s)} s`);
    const text = [
      `target ${report.target}`,
      '',
      table(
        ['lane', 'role', 'name', 'visible', 'in flight', 'delayed', 'oldest'],
        report.queues.map((q) => [
          q.lane,
          q.role,
          q.name,
          q.visible,
          q.inFlight,
          q.delayed,
          age(q.oldestAgeSeconds),
        ]),
      ),
      ...(waiting
        ? [
            '',
            table(
              ['lane', 'deferred', 'scheduled'],
              Object.entries(waiting.lanes).map(([lane, c]) => [lane, c.deferred, c.scheduled]),
            ),
            `(status table scanned: ${waiting.scannedRows} row(s) read` +
              (waiting.readUnits === null ? ')' : `, ${waiting.readUnits} read unit(s))`),
          ]
        : []),
      '',
      report.alarms.length
        ? table(
            ['alarm', 'state', 'since', 'reason'],
            report.alarms.map((a) => [a.name, a.state, a.since, a.reason]),
          )
        : 'no alarms',
    ].join('\n');
    return { json: report, text };
  },
};
