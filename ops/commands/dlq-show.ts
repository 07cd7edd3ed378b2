import type { Command } from '../lib/cli';
import { showDlqMessage } from '../lib/dlq';
import { UsageError } from '../lib/errors';

/** `dlq show <messageId>`: the whole archive record and the DLQ copy's attributes. */
export const dlqShowCommand: Command = {
  name: 'dlq show',
  summary: "one message's whole archive record and its DLQ copy's attributes (source or DLQ message id)",
  usage: '<messageId>',
  options: {},
  async run(ctx) {
    const [id, extra] = ctx.positionals;
    if (!id || extra !== undefined) throw new UsageError('dlq show: give exactly one message id');
    const shown = await showDlqMessage(await ctx.target(), id);
    const text = [
      shown.dlqCopy
        ? `in ${shown.dlqCopy.queue} (lane ${shown.dlqCopy.lane})`
        : 'not in a DLQ (or not readable there: FIFO, behind its group head)',
      shown.archive ? `archive record ${shown.archive.key}:` : 'no archive record',
      ...(shown.archive ? [JSON.stringify(shown.archive.record, null, 2)] : []),
      ...(shown.dlqCopy
        ? [
            'DLQ copy attributes:',
            JSON.stringify(
              { attributes: shown.dlqCopy.attributes, messageAttributes: shown.dlqCopy.messageAttributes },
              null,
              2,
            ),
          ]
        : []),
    ].join('\n');
    return { json: shown, text };
  },
};
