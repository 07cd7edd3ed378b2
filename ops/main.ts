/**
 * `npm run ops -- <command> [options]`: the operations tool (docs/DESIGN.md §8; docs/OPERATIONS.md).
 * The only module of the tool that reads the process's argv, streams and environment; the
 * `event-pipeline ops` command (cli/main.ts) runs it too.
 */
// The SDK's notice about future Node versions is not the tool's to print (local mode silences it too).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { COMMANDS } from './commands';
import { runCli } from './lib/cli';

/** Runs one `ops` command line (`argv` after `ops`) on this process's streams; sets the exit code. */
export function runOps(argv: readonly string[]): void {
  void runCli(
    [...argv],
    {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      isTTY: process.stderr.isTTY === true,
      cwd: process.cwd(),
    },
    COMMANDS,
  ).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runOps(process.argv.slice(2));
