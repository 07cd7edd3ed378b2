import { AUTH_MODES, type AuthMode } from './apigateway/local-auth';
import { LocalModeError } from './errors';

/** The command line of `npm start -- …`. */
export interface LocalArgs {
  /** `--no-synth`: run the assembly as it is instead of synthesizing first. @default true */
  readonly synth: boolean;
  /** `--json`: JSON log lines (same as `LOCAL_LOGS=json`). @default false */
  readonly json: boolean;
  /** `--help` / `-h`: print {@link LOCAL_USAGE} and exit. @default false */
  readonly help: boolean;
  /**
   * `--auth iam|apiKey|jwt` (or `--auth=…`): synthesize the stage with that authentication mode
   * (`-c auth=<mode>`). @default the local stage's own mode (`apiKey`)
   */
  readonly auth?: AuthMode;
}

/** A command line `npm start` does not accept (exit code 2). */
export class UsageError extends LocalModeError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What `npm start -- --help` prints. */
export const LOCAL_USAGE = `usage: npm start [-- [--no-synth] [--auth iam|apiKey|jwt] [--json] [--help]]

Runs stage "local" of the stack on this machine: an SQS + S3 emulator, every function in its
own sandbox, a poller per event source mapping, the schedules, the API and the alarms.

options:
  --no-synth      run the assembly in cdk.out.local as it is (default: synthesize it first)
  --auth MODE     synthesize with this API authentication (-c auth=MODE): apiKey (one key per
                  tenant; the local stage's default), iam (SigV4 signatures of local IAM users) or
                  jwt (bearer tokens of local mode's own issuer, checked by the stack's authorizer);
                  the tenants' keys, credentials or tokens go to .local/env.json (auth.tenants).
  --json          JSON log lines (same as LOCAL_LOGS=json)
  -h, --help      print this help and exit

environment:
  PORT            API port on 127.0.0.1 (default 3000; 0 picks a free one)
  LOCAL_AWS_PORT  emulator port (default 4566)
  LOCAL_DYNAMODB_PORT  DynamoDB emulator port (default: a free one)
  LOCAL_EVENTS_PORT  EventBridge (PutEvents) port (default: a free one); webhook keys come
                  from .local/secrets.json ({ "<secret name or ARN>": "<value>" | { … } })
  LOCAL_REGION    region of every local resource (default: the stack's, else us-east-1)
  LOCAL_API_KEY   the first tenant's API key (default: a random key per tenant, printed)
  LOCAL_TENANTS   iam mode: the local IAM users, comma-separated (default tenant-a,tenant-b)
  LOCAL_LOGS      pretty | json | silent (default pretty)
  LOCAL_CDK_OUT   assembly directory (default cdk.out.local)
  LOCAL_DEBUG=1   print the stack of a startup error
`;

const FLAGS = { '--no-synth': 'synth', '--json': 'json', '--help': 'help', '-h': 'help' } as const;

/** The mode `--auth` names, or a {@link UsageError} saying which modes there are. */
function authMode(value: string | undefined): AuthMode {
  if (value === undefined || value === '' || value.startsWith('-'))
    throw new UsageError(`--auth needs a mode: ${AUTH_MODES.join(', ')}`);
  const mode = AUTH_MODES.find((m) => m === value);
  if (!mode) throw new UsageError(`--auth ${value} is not a mode (use ${AUTH_MODES.join(', ')})`);
  return mode;
}

/** Parses `argv` (without node and the script); throws {@link UsageError} on anything unknown. */
export function parseLocalArgs(argv: readonly string[]): LocalArgs {
  let synth = true;
  let json = false;
  let help = false;
  let auth: AuthMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--auth' || arg.startsWith('--auth=')) {
      if (auth !== undefined) throw new UsageError('--auth is given twice');
      auth = authMode(arg === '--auth' ? argv[++i] : arg.slice('--auth='.length));
      continue;
    }
    const flag = FLAGS[arg as keyof typeof FLAGS];
    if (flag === 'synth') synth = false;
    else if (flag === 'json') json = true;
    else if (flag === 'help') help = true;
    else
      throw new UsageError(
        `${arg.startsWith('-') ? 'unknown option' : 'unexpected argument'} ${arg} (npm start -- --help lists the options)`,
      );
  }
  return { synth, json, help, ...(auth === undefined ? {} : { auth }) };
}
