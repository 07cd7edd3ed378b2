import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as path from 'node:path';
import { OpsError, UsageError } from './errors';
import { awsTarget, localTarget, readLocalEnv, type AwsClients, type Target } from './target';

/** Where a command writes, and what it may know of the terminal and the environment. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress lines are shown then). */
  readonly isTTY: boolean;
  readonly cwd: string;
  /** Whether stdin is a terminal: then a bulk operation without `--yes` asks before it starts. @default false */
  readonly stdinIsTTY?: boolean;
  /** Asks the operator `question` on the terminal; resolves the line answered. */
  readonly ask?: (question: string) => Promise<string>;
  /** The whole of stdin (`--api-key-stdin`, `--token-stdin`). */
  readonly readStdin?: () => Promise<string>;
  /** The process's environment: {@link API_KEY_ENV}, {@link TOKEN_ENV}. @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The environment variable the stage's API key may come from (instead of `--api-key`, which `ps` shows). */
export const API_KEY_ENV = 'EVENT_PIPELINE_API_KEY';
/** The environment variable a jwt stage's bearer token comes from (or `--token-stdin`; never an argument). */
export const TOKEN_ENV = 'EVENT_PIPELINE_TOKEN';

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'api-key': { type: 'string' },
  'api-key-stdin': { type: 'boolean' },
  'token-stdin': { type: 'boolean' },
  // Not `--env-file`: Node 20 takes that flag for itself wherever it appears on the command line.
  'local-env': { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Parsed option values. */
export type Values = Record<string, string | boolean | undefined>;

/** What a command gets. */
export interface CommandContext {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly io: Io;
  readonly json: boolean;
  /** Resolves the target (local or `--stage`), once. */
  target(): Promise<Target>;
  /** A progress line on stderr when it is a TTY (and not `--json`… progress never goes to stdout). */
  progress(line: string): void;
  /**
   * Goes on when the operator confirmed a bulk operation: `--yes` was given, or stdin is a
   * terminal and they answered `y` to `question` (a refusal then, {@link OpsError}, exit 1, says
   * `notDone`). Without either, a {@link UsageError} (exit 2): `refusal`, plus how to confirm.
   */
  confirm(o: {
    readonly refusal: string;
    readonly question: string;
    readonly notDone: string;
  }): Promise<void>;
}

/** One command of the tool. */
export interface Command {
  /** `status`, `dlq list`, … */
  readonly name: string;
  readonly summary: string;
  /** Usage after the name, e.g. `[--lane <name> | --queue standard|fifo] [--limit N]`. */
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Returns what `--json` prints and the human text. */
  run(ctx: CommandContext): Promise<{ json: unknown; text: string; exitCode?: number }>;
}

/** How a run resolves targets; tests give mocked AWS clients or a local env. */
export interface TargetFactory {
  readonly awsClients?: AwsClients;
  readonly local?: (envFile: string) => Promise<Target>;
}

function help(commands: readonly Command[]): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: npm run ops -- <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'target: local mode (.local/env.json, --local-env) by default; --stage <name> [--region R] [--profile P] for EventPipeline-<name>',
    'every command: --json (one JSON document on stdout), --debug (stack traces)',
    `the API key on AWS (send, smoke): ${API_KEY_ENV}, --api-key-stdin, or --api-key (ps shows it)`,
    `the bearer token of a jwt stage (send, smoke): ${TOKEN_ENV} or --token-stdin (never an argument)`,
    "a lane (its queue and DLQ): --lane <name>; --queue standard|fifo names the default lanes; --lane notifications: the webhooks' DLQ (dlq list|show|redrive, purge)",
    'npm run ops -- <command> --help  shows its options',
  ].join('\n');
}

/** Runs the tool with `argv` (after `ops`); returns the exit code. Never throws. */
export async function runCli(
  argv: readonly string[],
  io: Io,
  commands: readonly Command[],
  factory: TargetFactory = {},
): Promise<number> {
  const debug = argv.includes('--debug');
  let target: Target | undefined;
  try {
    // The command comes first: `dlq redrive --queue fifo`, `status --stage dev`.
    const words = argv
      .slice(0, 2)
      .filter((a, i) => !a.startsWith('-') && (i === 0 || !argv[0]!.startsWith('-')));
    const command =
      commands.find((c) => c.name.includes(' ') && c.name === `${words[0]} ${words[1]}`) ??
      commands.find((c) => c.name === words[0]);
    if (!command) {
      if (!words.length && (argv.includes('--help') || argv.includes('-h'))) {
        io.stdout(`${help(commands)}\n`);
        return 0;
      }
      if (!argv.length) {
        // Bad usage: the help goes to stderr, stdout stays empty.
        io.stderr(`${help(commands)}\n`);
        return 2;
      }
      const group = commands.filter((c) => c.name.startsWith(`${words[0]} `));
      throw new UsageError(
        group.length
          ? `${words[0]}: give a subcommand (${group.map((c) => c.name.split(' ')[1]).join(', ')})`
          : `unknown command ${words[0] ?? ''} (commands: ${[...new Set(commands.map((c) => c.name.split(' ')[0]))].join(', ')})`,
      );
    }
    const nameWords = command.name.split(' ').length;
    const rest = argv.slice(nameWords);
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError(`${command.name}: ${(error as Error).message.split('\n')[0]}`);
    }
    const values = parsed.values as Values;
    if (values.help) {
      io.stdout(`usage: npm run ops -- ${command.name} ${command.usage}\n${command.summary}\n`);
      return 0;
    }
    const json = values.json === true;
    if (values['api-key'] !== undefined && values['api-key-stdin'])
      throw new UsageError('give the API key once: --api-key or --api-key-stdin');
    if (values['token-stdin'] && (values['api-key'] !== undefined || values['api-key-stdin']))
      throw new UsageError('give either an API key or a bearer token (--token-stdin)');
    const token = async (): Promise<string | undefined> => {
      if (values['token-stdin']) {
        const [line] = ((await io.readStdin?.()) ?? '').trim().split('\n');
        if (!line?.trim()) throw new UsageError('--token-stdin: stdin holds no token');
        return line.trim().replace(/^Bearer\s+/i, '');
      }
      return io.env?.[TOKEN_ENV] || undefined;
    };
    const apiKey = async (): Promise<string | undefined> => {
      if (values['api-key'] !== undefined) return values['api-key'] as string;
      if (values['api-key-stdin']) {
        const [line] = ((await io.readStdin?.()) ?? '').trim().split('\n');
        if (!line?.trim()) throw new UsageError('--api-key-stdin: stdin holds no key');
        return line.trim();
      }
      return io.env?.[API_KEY_ENV] || undefined;
    };
    const ctx: CommandContext = {
      values,
      positionals: parsed.positionals,
      io,
      json,
      async target() {
        if (target) return target;
        const stage = values.stage as string | undefined;
        if (stage !== undefined) {
          if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage))
            throw new UsageError(`--stage ${stage}: not a stage name`);
          const key = await apiKey();
          const bearer = await token();
          target = await awsTarget({
            stage,
            ...(values.region ? { region: values.region as string } : {}),
            ...(values.profile ? { profile: values.profile as string } : {}),
            ...(key ? { apiKey: key } : {}),
            ...(bearer ? { token: bearer } : {}),
            ...(factory.awsClients ? { clients: factory.awsClients } : {}),
          });
        } else {
          if (values.region || values.profile)
            throw new UsageError('--region and --profile need --stage <name>');
          const file = path.resolve(io.cwd, (values['local-env'] as string | undefined) ?? '.local/env.json');
          target = factory.local ? await factory.local(file) : await localTarget(await readLocalEnv(file));
        }
        return target;
      },
      progress(line) {
        if (io.isTTY) io.stderr(`\r\x1b[2K${line}`);
      },
      async confirm({ refusal, question, notDone }) {
        if (values.yes === true) return;
        if (!io.stdinIsTTY || !io.ask) throw new UsageError(`${refusal}: add --yes (or --dry-run)`);
        const answer = await io.ask(`${question}? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new OpsError(`not confirmed: ${notDone}`);
      },
    };
    const out = await command.run(ctx);
    if (io.isTTY) io.stderr('\r\x1b[2K');
    io.stdout(json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text}\n`);
    return out.exitCode ?? 0;
  } catch (error) {
    if (io.isTTY) io.stderr('\r\x1b[2K');
    if (error instanceof OpsError) {
      io.stderr(`error: ${error.message}\n`);
      if (debug && error.stack) io.stderr(`${error.stack}\n`);
      return error.exitCode;
    }
    io.stderr(`error: ${(error as Error)?.message ?? String(error)}\n`);
    if (debug && (error as Error)?.stack) io.stderr(`${(error as Error).stack}\n`);
    return 1;
  } finally {
    target?.close();
  }
}
