#!/usr/bin/env node
/**
 * The `event-pipeline` command an app gets with the package (`npx event-pipeline <command>`):
 * - `local [options]`: local mode for the CDK app in the working directory (synthesized with
 *   `-c stage=local`; docs/DESIGN.md §6);
 * - `ops <command> [options]`: the operations tool (docs/DESIGN.md §8).
 * In this repository `npm start` and `npm run ops` run the same code for the reference app.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { failLocal, runLocal } from '../local/main';
import { runOps } from '../ops/main';

const USAGE = `usage: event-pipeline <command> [options]

commands:
  local [--no-synth] [--json] [--help]   run the CDK app in this folder on this machine (stage "local")
  ops <command> [options]                operations: status, dlq list/show/redrive, archive list,
                                         replay, purge, send, smoke (event-pipeline ops --help)
`;

const [command, ...rest] = process.argv.slice(2);
if (command === 'local') {
  runLocal(rest, process.cwd()).catch(failLocal);
} else if (command === 'ops') {
  runOps(rest);
} else if (command === undefined || command === '--help' || command === '-h') {
  process.stdout.write(USAGE);
} else {
  process.stderr.write(`error: unknown command ${command} (event-pipeline --help lists them)\n`);
  process.exitCode = 2;
}
