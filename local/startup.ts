import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { PACKAGE_ROOT } from '../lib/package-root';
import { LocalModeError } from './errors';

/** The package's folder: this repository (and its reference app), or `node_modules/event-pipeline` in an app. */
export const PROJECT_ROOT = PACKAGE_ROOT;

/** A random API key shaped like API Gateway's (40 letters and digits). */
export function generateApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 40 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/**
 * Fails fast (before a synth that takes seconds) when `port` on 127.0.0.1 is taken. Port 0 is
 * always free. The real bind later reports the same error if the port is taken in between.
 */
export async function assertPortFree(port: number, variable: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new LocalModeError(`port ${port} is in use; set ${variable}=<free port>`)
          : error,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/**
 * Synthesizes `stage` into `cdkOut` with the project's CDK CLI, with `context` as more `-c
 * key=value` pairs (local mode passes `auth=<mode>` for `--auth`). Throws a one-line
 * {@link LocalModeError} when synth fails (the app's own `error: …` line when it printed one).
 */
export async function synthesize(
  stage: string,
  cdkOut: string,
  appDir: string = PROJECT_ROOT,
  context: Readonly<Record<string, string>> = {},
): Promise<void> {
  // The app's own CDK CLI when it has one, else the one this package depends on.
  const cli = require.resolve('aws-cdk/bin/cdk', { paths: [appDir, PROJECT_ROOT] });
  // `cli-telemetry=false` is what CDK_DISABLE_CLI_TELEMETRY=true does, without touching the
  // environment the CLI inherits (local mode reads no environment; see main.ts).
  const args = [
    cli,
    'synth',
    // Without CDK's built-in CloudFormation template validation (AppProps
    // `builtinCloudFormationValidation`: "run `cdk synth --no-validation`"): it reports only, and
    // took 5 of a local synth's 11.6 s of CPU (wasm, in the app's process). `cdk synth` and
    // `cdk deploy` still run it; the app's own plugins (cdk-nag) run here as there.
    '--no-validation',
    '--no-notices',
    '--no-color',
    '-q',
    '-c',
    'cli-telemetry=false',
    '-c',
    `stage=${stage}`,
    ...Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    '-o',
    cdkOut,
  ];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: appDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code === 0) return;
  throw new LocalModeError(`synth of stage ${stage} failed: ${synthFailureReason(output.join(''), code)}`);
}

/**
 * The reason a failed `cdk synth` printed, on one line: esbuild's `[ERROR]` messages with their
 * `file:line:column` (bundling failures, which the CLI itself reports only as "Subprocess exited
 * with error 1"), else the app's own `error: …` line, else the first `…Error: …` line, else the
 * last line.
 */
export function synthFailureReason(output: string, code: number | null): string {
  const lines = output
    .split('\n')
    .map((l) => stripVTControlCharacters(l).trim())
    .filter((l) => l && !/^npm warn/i.test(l));
  const esbuild: string[] = [];
  lines.forEach((l, i) => {
    const m = /\[ERROR\]\s*(.*)$/.exec(l);
    if (!m) return;
    const where = /^(\S+:\d+:\d+):$/.exec(lines[i + 1] ?? '')?.[1];
    const message = `[ERROR] ${m[1]}${where ? ` (${where})` : ''}`;
    if (!esbuild.includes(message)) esbuild.push(message);
  });
  if (esbuild.length > 0) return esbuild.join('; ');
  return (
    lines.find((l) => /^error:/i.test(l))?.replace(/^error:\s*/i, '') ??
    lines.find((l) => /Error:/.test(l) && !/Subprocess exited/.test(l)) ??
    lines.at(-1) ??
    `exit code ${code}`
  );
}

/** Local mode's own cloud assembly directory, so another `cdk synth` (into `cdk.out`) leaves it alone. */
export const LOCAL_CDK_OUT = path.join(PROJECT_ROOT, 'cdk.out.local');
