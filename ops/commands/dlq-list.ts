import type { Command } from '../lib/cli';
import { listDlq } from '../lib/dlq';
import { LANE_OPTIONS, parseLaneOption, parsePositive } from '../lib/filters';
import { clip, table } from '../lib/format';
import { isNotificationsLane, listNotifications, NOTIFICATIONS_LANE } from '../lib/notifications';
import { queueDepth } from '../lib/dlq';

/** `dlq list`: peeks at dead-lettered messages without consuming them. */
export const dlqListCommand: Command = {
  name: 'dlq list',
  summary:
    "dead-lettered messages (peeked, left in place), joined with their archive records; --lane notifications: the webhooks' undelivered events",
  usage: '[--lane <name> | --lane notifications | --queue standard|fifo] [--limit N]',
  options: { ...LANE_OPTIONS, limit: { type: 'string' } },
  async run(ctx) {
    const lane = parseLaneOption(ctx.values);
    const limit = parsePositive('limit', ctx.values.limit as string | undefined);
    const target = await ctx.target();
    if (isNotificationsLane(target, lane)) {
      const n = await listNotifications(target, limit ? { limit } : {});
      const note = `lane ${NOTIFICATIONS_LANE}, ${n.queue.dlq}: ${n.queue.depth} message(s)`;
      const text = n.messages.length
        ? [
            table(
              [
                'lane',
                'dlq message id',
                'detail-type',
                'envelope id',
                'type',
                'error',
                'retries',
                'failed at',
                'event id',
              ],
              n.messages.map((m) => [
                m.lane,
                m.dlqMessageId,
                m.detailType,
                m.envelopeId,
                m.type,
                clip([m.errorCode, m.errorMessage].filter(Boolean).join(': '), 60),
                m.retryAttempts,
                m.failedAt,
                m.eventId,
              ]),
            ),
            '',
            note,
          ].join('\n')
        : ['no undelivered notifications', note].join('\n');
      return { json: n, text };
    }
    const listing = await listDlq(target, {
      ...(lane ? { lane } : {}),
      ...(limit ? { limit } : {}),
    });
    // Without --lane: the notifications DLQ's depth too, when the stage has webhooks.
    const notifications =
      lane === undefined && target.notifications
        ? {
            dlq: target.notifications.dlq.name,
            depth: await queueDepth(target, target.notifications.dlq.url),
          }
        : undefined;
    const notes = listing.queues.map((q) => {
      const hidden = q.depth - q.shown;
      return `lane ${q.lane}, ${q.dlq}: ${q.depth} message(s)${hidden > 0 && q.dlq.endsWith('.fifo') && !limit ? `, ${hidden} behind the head of their message group (FIFO: not readable without moving the head)` : ''}`;
    });
    const text = listing.messages.length
      ? [
          table(
            [
              'lane',
              'message id',
              'type',
              'envelope id',
              'kind',
              'error',
              'receives',
              'failed at',
              'archive key',
            ],
            listing.messages.map((m) => [
              m.lane,
              m.messageId,
              m.type,
              m.envelopeId,
              m.kind,
              clip([m.errorName, m.errorMessage].filter(Boolean).join(': '), 60),
              m.receiveCount,
              m.failedAt,
              m.archiveKey,
            ]),
          ),
          '',
          ...notes,
          ...notificationNote(notifications),
        ].join('\n')
      : ['no dead-lettered messages', ...notes, ...notificationNote(notifications)].join('\n');
    return {
      json: notifications
        ? {
            ...listing,
            notifications: {
              lane: NOTIFICATIONS_LANE,
              dlq: notifications.dlq,
              depth: notifications.depth.visible + notifications.depth.inFlight + notifications.depth.delayed,
            },
          }
        : listing,
      text,
    };
  },
};

/** The line about the notifications DLQ under an unfiltered listing. */
function notificationNote(
  n: { dlq: string; depth: { visible: number; inFlight: number; delayed: number } } | undefined,
) {
  if (!n) return [];
  const depth = n.depth.visible + n.depth.inFlight + n.depth.delayed;
  return [
    `lane ${NOTIFICATIONS_LANE}, ${n.dlq}: ${depth} undelivered webhook notification(s)${depth ? ' (dlq list --lane notifications)' : ''}`,
  ];
}
