/**
 * `npm run ops -- <command> [options]`: the operations tool (docs/DESIGN.md §8; docs/OPERATIONS.md).
 * The only module of the tool that reads the process's argv, streams and environment.
 */
// The SDK's notice about future Node versions is not the tool's to print (local mode silences it too).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { COMMANDS } from './commands';
import { runCli } from './lib/cli';

void runCli(
  process.argv.slice(2),
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
