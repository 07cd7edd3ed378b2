import { envelopeIdOfBody } from '../lib/archive';
import type { Command } from '../lib/cli';
import { showDlqMessage } from '../lib/dlq';
import { UsageError } from '../lib/errors';
import { findNotification } from '../lib/notifications';

/** `dlq show <id>`: the whole archive record and the DLQ copy's attributes. */
export const dlqShowCommand: Command = {
  name: 'dlq show',
  summary:
    "one message's whole archive record and its DLQ copy's attributes (its envelope id, source message id or DLQ copy id); or an undelivered notification's event and attributes",
  usage: '<envelope id | message id>',
  options: {},
  async run(ctx) {
    const [id, extra] = ctx.positionals;
    if (!id || extra !== undefined)
      throw new UsageError('dlq show: give exactly one id (an envelope id or an SQS message id)');
    const target = await ctx.target();
    const notification = await findNotification(target, id);
    if (notification) {
      const v = notification.notification;
      return {
        json: notification,
        text: [
          `undelivered notification ${v.detailType ?? '–'} of envelope ${v.envelopeId ?? '–'} (event id ${v.eventId ?? '–'}), DLQ message ${v.dlqMessageId}`,
          `in ${notification.dlqCopy.queue} (lane ${notification.dlqCopy.lane}): ${v.errorCode ?? '–'}: ${v.errorMessage ?? '–'} after ${v.retryAttempts ?? '–'} retries`,
          `rule ${v.ruleArn ?? '–'}, target ${v.targetArn ?? '–'}`,
          'event:',
          JSON.stringify(notification.event, null, 2),
          'DLQ copy attributes:',
          JSON.stringify(
            {
              attributes: notification.dlqCopy.attributes,
              messageAttributes: notification.dlqCopy.messageAttributes,
            },
            null,
            2,
          ),
        ].join('\n'),
      };
    }
    const shown = await showDlqMessage(target, id);
    const envelopeId =
      shown.message?.envelopeId ?? (shown.archive ? envelopeIdOfBody(shown.archive.record.body) : null);
    const messageId = shown.message?.messageId ?? shown.archive?.record.messageId;
    const text = [
      `envelope id ${envelopeId ?? '– (the body is not an envelope)'}, message id ${messageId}` +
        (shown.message && shown.message.dlqMessageId !== shown.message.messageId
          ? ` (DLQ copy ${shown.message.dlqMessageId})`
          : ''),
      shown.dlqCopy
        ? `in ${shown.dlqCopy.queue} (lane ${shown.dlqCopy.lane})`
        : 'not in a DLQ (or not readable there: FIFO, behind its group head)',
      shown.archive ? `archive record ${shown.archive.key}:` : 'no archive record',
      ...(shown.archive ? [JSON.stringify(shown.archive.record, null, 2)] : []),
      ...(shown.otherArchiveKeys.length
        ? [`older records of the same envelope: ${shown.otherArchiveKeys.join(', ')}`]
        : []),
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
