import type { Command } from '../lib/cli';
import { table } from '../lib/format';
import { status } from '../lib/status';

/** `status`: per queue depth and oldest age, and alarm states (`since`: when each entered its state). */
export const statusCommand: Command = {
  name: 'status',
  summary: "per lane, its queue's and its DLQ's visible, in flight, delayed, oldest age; alarm states",
  usage: '',
  options: {},
  async run(ctx) {
    const report = await status(await ctx.target());
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
