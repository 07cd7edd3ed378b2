import { LocalModeError } from './errors';

/** The command line of `npm start -- …`. */
export interface LocalArgs {
  /** `--no-synth`: run the assembly as it is instead of synthesizing first. @default true */
  readonly synth: boolean;
  /** `--json`: JSON log lines (same as `LOCAL_LOGS=json`). @default false */
  readonly json: boolean;
  /** `--help` / `-h`: print {@link LOCAL_USAGE} and exit. @default false */
  readonly help: boolean;
}

/** A command line `npm start` does not accept (exit code 2). */
export class UsageError extends LocalModeError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What `npm start -- --help` prints. */
export const LOCAL_USAGE = `usage: npm start [-- [--no-synth] [--json] [--help]]

Runs stage "local" of the stack on this machine: an SQS + S3 emulator, every function in its
own sandbox, a poller per event source mapping, the schedules, the API and the alarms.

options:
  --no-synth   run the assembly in cdk.out.local as it is (default: synthesize it first)
  --json       JSON log lines (same as LOCAL_LOGS=json)
  -h, --help   print this help and exit

environment:
  PORT            API port on 127.0.0.1 (default 3000; 0 picks a free one)
  LOCAL_AWS_PORT  emulator port (default 4566)
  LOCAL_DYNAMODB_PORT  DynamoDB emulator port (default: a free one)
  LOCAL_REGION    region of every local resource (default: the stack's, else us-east-1)
  LOCAL_API_KEY   the API key the local API accepts (default: a random key, printed)
  LOCAL_LOGS      pretty | json | silent (default pretty)
  LOCAL_CDK_OUT   assembly directory (default cdk.out.local)
  LOCAL_DEBUG=1   print the stack of a startup error
`;

const FLAGS = { '--no-synth': 'synth', '--json': 'json', '--help': 'help', '-h': 'help' } as const;

/** Parses `argv` (without node and the script); throws {@link UsageError} on anything unknown. */
export function parseLocalArgs(argv: readonly string[]): LocalArgs {
  let synth = true;
  let json = false;
  let help = false;
  for (const arg of argv) {
    const flag = FLAGS[arg as keyof typeof FLAGS];
    if (flag === 'synth') synth = false;
    else if (flag === 'json') json = true;
    else if (flag === 'help') help = true;
    else
      throw new UsageError(
        `${arg.startsWith('-') ? 'unknown option' : 'unexpected argument'} ${arg} (npm start -- --help lists the options)`,
      );
  }
  return { synth, json, help };
}
