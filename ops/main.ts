/**
 * `npm run ops -- <command> [options]`: the operations tool (docs/DESIGN.md §8; docs/OPERATIONS.md).
 * The only module of the tool that reads the process's argv, streams and environment; the
 * `event-pipeline ops` command (cli/main.ts) runs it too.
 */
// The SDK's notice about future Node versions is not the tool's to print (local mode silences it too).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { createInterface } from 'node:readline/promises';
import { COMMANDS } from './commands';
import { runCli } from './lib/cli';

/**
 * What a process that SIGPIPE ended reports in a shell (128 + 13): `ops status --json | head -3`
 * under `set -o pipefail` fails as `yes | head -1` does. Node ignores SIGPIPE and reports EPIPE as
 * an error on the stream instead; the tool ends quietly with this code.
 */
export const EXIT_CLOSED_STDOUT = 141;

/**
 * What to do when a standard stream's reader has gone (EPIPE): `code` ends the process quietly
 * with it, `undefined` goes on without the stream. Other errors are rethrown.
 */
function onClosedPipe(stream: NodeJS.WriteStream, code: number | undefined): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (code !== undefined) process.exit(code);
  });
}

/** Runs one `ops` command line (`argv` after `ops`) on this process's streams; sets the exit code. */
export function runOps(argv: readonly string[]): void {
  onClosedPipe(process.stdout, EXIT_CLOSED_STDOUT);
  // Nobody reads stderr any more: the command goes on, and its exit code says how it ended.
  onClosedPipe(process.stderr, undefined);
  void runCli(
    [...argv],
    {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      isTTY: process.stderr.isTTY === true,
      cwd: process.cwd(),
      stdinIsTTY: process.stdin.isTTY === true,
      ask: async (question) => {
        // The question goes to stderr: stdout carries the command's output (or its JSON) only.
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      },
      readStdin: async () => {
        let text = '';
        for await (const chunk of process.stdin) text += String(chunk);
        return text;
      },
      env: process.env,
    },
    COMMANDS,
  ).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runOps(process.argv.slice(2));
