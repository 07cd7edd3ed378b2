import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm run ops -- status --json | head -3`: npm's own header fills head's three lines, head exits,
// and the tool writes into a closed pipe. The tool ends quietly with 141 (128 + SIGPIPE), what a
// shell reports for a program that SIGPIPE ended (`yes | head -1`, under `set -o pipefail`).
const MAIN = join(__dirname, '..', '..', 'ops', 'main.ts');

/** Runs the tool with its stdout closed before it writes; resolves its exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away at once, as head does after its lines; the tool has not written yet (tsx loads first).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('ops with a closed stdout', () => {
  it('ends quietly with exit code 141 when the reader has gone (--help)', async () => {
    const out = await withClosedStdout(['--help']);

    expect(out.stderr).toBe('');
    expect(out.code).toBe(141);
  });

  it('keeps a failure that writes nothing on stdout as it was: its error line, exit code 1', async () => {
    // No local mode at this path: the one error line goes to stderr, stdout is never written.
    const out = await withClosedStdout(['status', '--local-env', '/nonexistent/env.json']);

    expect(out.stderr).toBe(
      'error: local mode is not running (no /nonexistent/env.json): start it with npm start, or pass --stage <name>\n',
    );
    expect(out.code).toBe(1);
  });
});
