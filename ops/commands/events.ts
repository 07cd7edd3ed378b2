import type { Command } from '../lib/cli';
import { OpsError } from '../lib/errors';
import { MAX_SCANNED, parseDuration, parseEnvelopeId } from '../lib/events';
import { parsePositive } from '../lib/filters';
import { table } from '../lib/format';

/** How far back `ops events` looks without `--since`. */
export const DEFAULT_EVENTS_SINCE = '1h';
/** How many events `ops events` shows without `--limit`. */
export const DEFAULT_EVENTS_LIMIT = 20;

/**
 * `events [--id <envelope id>] [--limit N] [--since <duration>]`: recent completion events, oldest
 * first: the completion relay's log lines on AWS, local mode's events log locally.
 */
export const eventsCommand: Command = {
  name: 'events',
  summary:
    'recent completion events (Message Succeeded / Message Failed): the relay log group on AWS, the events log locally',
  usage: `[--id <envelope id>] [--limit N (default ${DEFAULT_EVENTS_LIMIT})] [--since <duration: 90s, 30m, 2h, 7d> (default ${DEFAULT_EVENTS_SINCE})]`,
  options: { id: { type: 'string' }, limit: { type: 'string' }, since: { type: 'string' } },
  async run(ctx) {
    const id = parseEnvelopeId(ctx.values.id as string | undefined);
    const limit = parsePositive('limit', ctx.values.limit as string | undefined) ?? DEFAULT_EVENTS_LIMIT;
    const sinceText = (ctx.values.since as string | undefined) ?? DEFAULT_EVENTS_SINCE;
    const since = new Date(Date.now() - parseDuration('since', sinceText)!);
    const target = await ctx.target();
    if (!target.completionEvents)
      throw new OpsError(
        target.kind === 'aws'
          ? `stack EventPipeline-${target.name} has no CompletionRelayLogGroup output (deploy this version of the app)`
          : 'local mode has no event bus (restart npm start with this version of the app)',
      );
    const page = await target.completionEvents({ ...(id === undefined ? {} : { id }), limit, since });
    const what = `${id === undefined ? '' : ` of ${id}`} since ${since.toISOString()} (${sinceText} ago), from ${page.source}`;
    const notes = [
      ...(page.truncated
        ? [`more than ${MAX_SCANNED} log lines in that window: older events are missing; narrow --since`]
        : []),
    ];
    const text = page.events.length
      ? [
          table(
            [
              'time',
              'detail-type',
              'envelope id',
              'type',
              'lane',
              'status',
              'attempts',
              'failure kind',
              'event id',
            ],
            page.events.map((e) => [
              e.time,
              e.detailType,
              e.envelopeId,
              e.type,
              e.lane,
              e.status,
              e.attempts,
              e.failureKind,
              e.eventId,
            ]),
          ),
          '',
          `${page.events.length} event(s)${what}${page.events.length === limit ? ` (the newest ${limit}: --limit)` : ''}`,
          ...notes,
        ].join('\n')
      : [`no completion events${what}`, ...notes].join('\n');
    return {
      json: {
        since: since.toISOString(),
        source: page.source,
        truncated: page.truncated,
        events: page.events,
      },
      text,
    };
  },
};
