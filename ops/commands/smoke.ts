import type { Command } from '../lib/cli';
import { parsePositive } from '../lib/filters';
import { table } from '../lib/format';
import { smoke } from '../lib/smoke';

/** `smoke`: the post-deploy check. */
export const smokeCommand: Command = {
  name: 'smoke',
  summary: 'send probes through the API and follow each to its expected outcome; exit 1 on a mismatch',
  usage: '[--timeout 120]',
  options: { timeout: { type: 'string' } },
  async run(ctx) {
    const seconds = parsePositive('timeout', ctx.values.timeout as string | undefined) ?? 120;
    const result = await smoke(await ctx.target(), {
      timeoutMs: seconds * 1000,
      progress: (l) => ctx.progress(l),
    });
    const text = [
      table(
        ['probe', 'expected', 'result', 'detail', 'message ids'],
        result.checks.map((c) => [c.name, c.expect, c.result, c.detail, c.messageIds.join(',')]),
      ),
      '',
      `${result.ok ? 'smoke passed' : 'smoke FAILED'} (followed through: ${result.source})`,
    ].join('\n');
    return { json: result, text, exitCode: result.ok ? 0 : 1 };
  },
};
