/**
 * `npm start`: synthesizes stage `local` and runs it on this machine (docs/DESIGN.md §6).
 *
 * The only place of local mode that reads the environment and the command line:
 * - `PORT` (API, default 3000), `LOCAL_AWS_PORT` (emulator, default 4566), `LOCAL_REGION`,
 *   `LOCAL_API_KEY` (the first tenant's key; default: a random key per tenant, printed),
 *   `LOCAL_TENANTS` (iam mode's local IAM users, jwt mode's token tenants, comma-separated;
 *   default `tenant-a,tenant-b`),
 *   `LOCAL_LOGS` (`pretty` | `json` | `silent`),
 *   `LOCAL_CDK_OUT` (assembly directory, default `cdk.out.local`: local mode's own, so another
 *   `cdk synth` into `cdk.out` does not break `--no-synth`);
 * - `--no-synth` reuses the assembly as it is; `--auth iam|apiKey|jwt` synthesizes with that
 *   authentication mode; `--json` is `LOCAL_LOGS=json`; `--help` ({@link LOCAL_USAGE}). Anything
 *   else: one line on stderr and exit 2.
 *
 * Stops cleanly on Ctrl-C / SIGTERM (exit 0); `npm start` execs node, so signalling npm's PID
 * works too (npm forwards SIGINT/SIGTERM to its script). Startup problems print one line,
 * `error: …`, and exit 1 (`LOCAL_DEBUG=1` adds the stack).
 */
import * as path from 'node:path';
import { LOCAL_USAGE, parseLocalArgs, UsageError, type LocalArgs } from './cli-args';
import { LocalModeError, startLocal, type LocalEnv, type LocalHandle, type LogMode } from './index';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LocalModeError(`${name}=${raw} is not a port number`);
  return n;
}

/** `LOCAL_TENANTS=a,b`: the local IAM users of iam mode; `undefined` when unset. */
function localTenants(): string[] | undefined {
  const raw = process.env.LOCAL_TENANTS;
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((t) => t.trim());
}

function logMode(args: LocalArgs): LogMode {
  if (args.json) return 'json';
  const raw = process.env.LOCAL_LOGS ?? 'pretty';
  if (raw !== 'pretty' && raw !== 'json' && raw !== 'silent')
    throw new LocalModeError(`LOCAL_LOGS=${raw}: use pretty, json or silent`);
  return raw;
}

/**
 * The request to try, ready to paste, as the first tenant: signed with its access key
 * (`curl --aws-sigv4`) in iam mode, with its API key in apiKey mode, with its bearer token in jwt mode.
 */
export function tryCommand(env: Pick<LocalEnv, 'apiUrl' | 'apiKey' | 'auth' | 'region'>): string {
  const body = `'{"type":"probe","payload":{"mode":"succeed"}}'`;
  const [first] = Object.values(env.auth?.tenants ?? {});
  const sign =
    env.auth?.mode === 'iam' && first?.accessKeyId
      ? ` --aws-sigv4 'aws:amz:${env.region}:execute-api' --user '${first.accessKeyId}:${first.secretAccessKey}'`
      : '';
  const apiKey = first?.apiKey ?? env.apiKey;
  const key = apiKey ? ` -H 'x-api-key: ${apiKey}'` : '';
  const bearer = env.auth?.mode === 'jwt' && first?.token ? ` -H 'Authorization: Bearer ${first.token}'` : '';
  return `curl -s${sign} -X POST ${env.apiUrl}/v1/messages -H 'content-type: application/json'${key}${bearer} -d ${body}`;
}

/**
 * What `npm start` prints once the stage is up (pretty logs): where the API, the emulator and the
 * env file are, how callers authenticate (each tenant; the first one's key or access key),
 * each lane with its queue and DLQ (queues outside every lane by logical id, as all of them were
 * before lanes), the buckets, and a request to try as the first tenant.
 */
export function banner(
  local: Pick<LocalHandle, 'apiUrl' | 'awsEndpoint' | 'region' | 'env'>,
  envFile: string,
  seconds: number,
): string {
  const curl = tryCommand(local.env);
  const auth = local.env.auth;
  const tenants = Object.entries(auth?.tenants ?? {});
  const [firstName, first] = tenants[0] ?? [];
  const authLines =
    auth?.mode === 'iam'
      ? [
          `  auth       iam (SigV4, service execute-api, region ${local.region}); tenants ${tenants.map(([n]) => n).join(', ')}`,
          ...(first?.accessKeyId
            ? [`  access key ${first.accessKeyId} (${firstName}; secrets in the env file)`]
            : []),
        ]
      : auth?.mode === 'jwt'
        ? [
            `  auth       jwt (Authorization: Bearer; issuer ${auth.jwt?.issuer ?? '?'}, audience ${auth.jwt?.audience ?? '?'}); tenants ${tenants.map(([n]) => n).join(', ')}`,
            ...(auth.jwt ? [`  key set    ${auth.jwt.jwksUri} (tokens of each tenant in the env file)`] : []),
          ]
        : auth?.mode === 'apiKey'
          ? [
              `  auth       apiKey (header x-api-key); tenants ${tenants.map(([n]) => n).join(', ')}`,
              ...(local.env.apiKey ? [`  API key    ${local.env.apiKey} (${firstName})`] : []),
            ]
          : local.env.apiKey
            ? [`  API key    ${local.env.apiKey}`]
            : [];
  const { queues, lanes } = local.env;
  const nameOf = (id: string) => queues[id]?.name ?? id;
  const laneWidth = Math.max(8, ...Object.keys(lanes).map((n) => n.length));
  const queueWidth = Math.max(0, ...Object.values(lanes).map((l) => nameOf(l.queue).length));
  const laneLines = Object.entries(lanes).map(
    ([name, l]) => `${name.padEnd(laneWidth)}  ${nameOf(l.queue).padEnd(queueWidth)}  (DLQ ${nameOf(l.dlq)})`,
  );
  const inLane = new Set(Object.values(lanes).flatMap((l) => [l.queue, l.dlq]));
  const others = Object.entries(queues)
    .filter(([id]) => !inLane.has(id))
    .map(([id, q]) => `${id.padEnd(14)} ${q.name}`);
  const buckets = Object.entries(local.env.buckets).map(([id, name]) => `${id.padEnd(14)} ${name}`);
  const indent = '\n             ';
  return [
    '',
    `  API        ${local.apiUrl}`,
    ...(local.env.consoleUrl ? [`  console    ${local.env.consoleUrl}`] : []),
    ...authLines,
    `  AWS        ${local.awsEndpoint}   (SQS + S3, region ${local.region}; any credentials)`,
    ...(laneLines.length ? [`  lanes      ${laneLines.join(indent)}`] : []),
    ...(others.length ? [`  queues     ${others.join(indent)}`] : []),
    `  buckets    ${buckets.join(indent)}`,
    `  env file   ${path.relative(process.cwd(), envFile) || envFile}`,
    `  journal    curl -s ${local.apiUrl}/_local/invocations`,
    '',
    `  try:  ${curl}`,
    '',
    `ready in ${seconds.toFixed(1)} s — Ctrl-C stops`,
    '',
  ].join('\n');
}

/**
 * Runs local mode for the CDK app in `appDir` until a signal stops it; `argv` are the options
 * after the command. Used by `npm start` (this repository's app) and `event-pipeline local`.
 */
export async function runLocal(argv: readonly string[], appDir: string): Promise<void> {
  const args = parseLocalArgs(argv);
  if (args.help) {
    process.stdout.write(LOCAL_USAGE);
    return;
  }
  // Lambda runs nodejs24.x; the SDK's "Node < 22" notice is noise for local mode.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const logs = logMode(args);
  const envFile = path.resolve(appDir, '.local', 'env.json');
  const local = await startLocal({
    appDir,
    cdkOut: process.env.LOCAL_CDK_OUT ? path.resolve(process.env.LOCAL_CDK_OUT) : undefined,
    synth: args.synth,
    apiPort: port('PORT', 3000),
    awsPort: port('LOCAL_AWS_PORT', 4566),
    dynamodbPort: port('LOCAL_DYNAMODB_PORT', 0),
    eventsPort: port('LOCAL_EVENTS_PORT', 0),
    region: process.env.LOCAL_REGION || undefined,
    apiKey: process.env.LOCAL_API_KEY || undefined,
    auth: args.auth,
    iamTenants: localTenants(),
    logs,
    envFile,
    sandboxPath: process.env.PATH,
  });
  if (logs === 'pretty') process.stdout.write(banner(local, envFile, process.uptime()));
  if (logs === 'json') {
    const ready = { ...local.env, envFile, readySeconds: Number(process.uptime().toFixed(1)) };
    process.stdout.write(
      `${JSON.stringify({ timestamp: new Date().toISOString(), level: 'INFO', source: 'local', message: 'ready', ...ready })}\n`,
    );
  }

  // Ctrl-C reaches every process of the group: npm and tsx relay it too, so one key press can
  // arrive more than once. Only a signal a second or more after the first forces an exit.
  let firstSignalAt = 0;
  const shutdown = (signal: string) => {
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt < 1000) return;
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(130);
    }
    firstSignalAt = Date.now();
    local.stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** Prints a startup failure as one line (`LOCAL_DEBUG=1` adds the stack) and exits 2 (usage) or 1. */
export function failLocal(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message.split('\n')[0]}\n`);
  if (process.env.LOCAL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}

// `npm start` in this repository runs this file for the repository's own app.
if (require.main === module) runLocal(process.argv.slice(2), process.cwd()).catch(failLocal);
