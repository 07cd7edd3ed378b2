import type { Command } from '../lib/cli';
import { parsePositive } from '../lib/filters';
import { table } from '../lib/format';
import { smoke, statusApiSource } from '../lib/smoke';

/** `smoke`: the post-deploy check; it removes its dead-lettered probe from the DLQ (its archive record stays). */
export const smokeCommand: Command = {
  name: 'smoke',
  summary: 'send probes through the API and follow each to its expected outcome; exit 1 on a mismatch',
  usage: '[--timeout 120] [--status-api]',
  // --status-api follows each probe through GET /v1/messages/{id} (locally too; on a deployed stage it is the default).
  options: { timeout: { type: 'string' }, 'status-api': { type: 'boolean' } },
  async run(ctx) {
    const seconds = parsePositive('timeout', ctx.values.timeout as string | undefined) ?? 120;
    const target = await ctx.target();
    const result = await smoke(target, {
      timeoutMs: seconds * 1000,
      progress: (l) => ctx.progress(l),
      ...(ctx.values['status-api'] === true ? { source: statusApiSource(target) } : {}),
    });
    const text = [
      table(
        ['probe', 'expected', 'result', 'detail', 'message ids'],
        result.checks.map((c) => [c.name, c.expect, c.result, c.detail, c.messageIds.join(',')]),
      ),
      '',
      ...(result.cleanup
        ? [
            result.cleanup.removed
              ? `removed the dead-lettered fail-permanent probe ${result.cleanup.messageId} from ${result.cleanup.dlq}; its archive record stays (${result.cleanup.archiveKey}, tag ${result.tag})`
              : `the dead-lettered fail-permanent probe ${result.cleanup.messageId} is still in ${result.cleanup.dlq}: ${result.cleanup.detail}`,
          ]
        : []),
      `${result.ok ? 'smoke passed' : 'smoke FAILED'} (followed through: ${result.source})`,
    ].join('\n');
    return { json: result, text, exitCode: result.ok ? 0 : 1 };
  },
};
