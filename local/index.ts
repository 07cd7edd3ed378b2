import { SQSClient } from '@aws-sdk/client-sqs';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_LOCAL_TENANTS, LocalAuth, type AuthMode, type LocalAuthInfo } from './apigateway/local-auth';
import { issuerSettingsOf, LocalIssuer, type LocalTokenOptions } from './apigateway/local-issuer';
import { startApiServer, type ApiServer } from './apigateway/server';
import { createTable, startDynamo, streamSpecOf, tableNotReproduced } from './aws/dynamodb';
import { LocalEventBus, type RecordedEvent } from './aws/event-bus';
import { LOCAL_SECRETS_FILE, LocalSecrets } from './aws/secrets';
import {
  createBucket,
  createQueue,
  ensureEmulatorPatches,
  LOCAL_CREDENTIALS,
  startEmulator,
  type LocalQueue,
} from './aws/emulator';
import { AlarmEvaluator, type AlarmStatus } from './control/alarms';
import { LocalConsole } from './control/console';
import { EmfSeries, templateDashboards } from './control/dashboard';
import { healthReport } from './control/endpoints';
import { directInvocationRecord, Journal } from './control/journal';
import { functionEnv, logGroupNameOf } from './functions/environment';
import { FunctionHost } from './functions/host';
import { LocalModeError } from './errors';
import { createLocalLogger, type LocalLogger, type LogMode } from './log';
import { assertPortFree, LOCAL_CDK_OUT, PROJECT_ROOT, synthesize } from './startup';
import { analyzeLanes } from './template/lanes';
import { readJobTypes, readStageTemplate } from './template/reader';
import { DEFAULT_LOCAL_REGION, localPseudoParameters, Resolver } from './template/resolver';
import { analyzeTemplate } from './template/topology';
import { EventDelivery, type DeliveryOutcome } from './triggers/event-delivery';
import { SqsPoller } from './triggers/poller';
import { StreamPoller } from './triggers/stream-poller';
import { Scheduler, type ScheduleRun } from './triggers/schedules';

export { LocalModeError } from './errors';
export { assertPortFree, generateApiKey, synthesize } from './startup';
export type { InvocationRecord } from './control/journal';
export { AUTH_MODES, DEFAULT_LOCAL_TENANTS } from './apigateway/local-auth';
export type { AuthMode, LocalAuthInfo, LocalAuthMode, LocalTenantCredentials } from './apigateway/local-auth';
export type { LogMode } from './log';

/**
 * Writes `.local/env.json` readable by its owner only (0600, also when the file existed): it
 * holds the tenants' API keys and secret access keys.
 */
export function writeEnvFile(file: string, env: LocalEnv): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Options of {@link startLocal}. */
export interface StartLocalOptions {
  /**
   * The CDK app's folder (its `cdk.json`): where the synth runs. @default this repository (its
   * reference app); the `event-pipeline local` command passes the working directory
   */
  readonly appDir?: string;
  /** Cloud assembly directory. @default `<appDir>/cdk.out.local` (local mode's own) */
  readonly cdkOut?: string;
  /** Synthesize the stage with the project's CDK CLI first (else the assembly must exist). @default false */
  readonly synth?: boolean;
  /** Stage to run; the stack is `EventPipeline-<stage>`. @default 'local' */
  readonly stage?: string;
  /** API port on 127.0.0.1; 0 picks a free one. @default 3000 */
  readonly apiPort?: number;
  /** Emulator (SQS + S3) port on 127.0.0.1; 0 picks a free one. @default 4566 */
  readonly awsPort?: number;
  /**
   * Whether standard queues prefer quiet tenants' messages as SQS fair queues do (bench: off for
   * the baseline). @default true
   */
  readonly fairQueues?: boolean;
  /** DynamoDB emulator (dynalite) port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly dynamodbPort?: number;
  /** Region of every local resource. @default the stack's region, else us-east-1 */
  readonly region?: string;
  /**
   * The value of the first tenant's API key (the template's first `AWS::ApiGateway::ApiKey`).
   * @default a random 40-character key, like every other tenant's
   */
  readonly apiKey?: string;
  /**
   * The authentication mode to synthesize the stage with (`-c auth=<mode>`, which the app's
   * `bin/` reads); the template must then use it (the methods' `AuthorizationType` and
   * `ApiKeyRequired`, a Lambda authorizer for `jwt`), else startup fails saying so.
   * @default the mode the stage's config gives (the template decides)
   */
  readonly auth?: AuthMode;
  /**
   * The local tenants of `iam` mode (one local IAM user each, with a generated access key) and of
   * `jwt` mode (one token each, the tenant claim's value). @default `tenant-a`, `tenant-b`
   */
  readonly iamTenants?: readonly string[];
  /** Terminal output. @default 'pretty' */
  readonly logs?: LogMode;
  /** Where to write the env file; `null` writes none. @default `<cwd>/.local/env.json` */
  readonly envFile?: string | null;
  /** Most concurrent sandboxes of a function that sets no reserved concurrency. @default 10 */
  readonly functionConcurrency?: number;
  /** Concurrent batches of an event source mapping without `ScalingConfig.MaximumConcurrency`. @default 5 */
  readonly mappingConcurrency?: number;
  /** How long `stop()` lets invocations in flight finish. @default 5000 */
  readonly drainTimeoutMs?: number;
  /** How often alarms are evaluated. @default 2000 */
  readonly alarmIntervalMs?: number;
  /** Capacity of the invocation journal. @default 50 000 */
  readonly journalCapacity?: number;
  /**
   * Puts something between the functions and the emulator, e.g. a fault-injecting proxy: called
   * with the emulator's endpoint once it is up, it returns the endpoint the functions' SDK clients
   * use instead (queues are created through it, so their URLs lead there too). Local mode's own
   * pollers and alarms, like Lambda's, keep talking to the emulator directly.
   * @default the functions talk to the emulator directly
   */
  readonly frontEndpoint?: (emulatorEndpoint: string) => Promise<string>;
  /** `PATH` of the functions' sandboxes. @default Lambda's, `/usr/local/bin:/usr/bin/:/bin:/opt/bin` */
  readonly sandboxPath?: string;
  /** Local EventBridge (PutEvents) port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly eventsPort?: number;
  /**
   * Secrets Manager values (secret name or ARN → SecretString, or a JSON object) for the
   * `{{resolve:secretsmanager:…}}` references of the template (an API destination's key).
   * @default the contents of `.local/secrets.json` in the working directory, if it exists
   */
  readonly secrets?: Readonly<Record<string, unknown>>;
  /**
   * First retry delay (ms) of an EventBridge target delivery, doubling up to 2 s; the target's
   * MaximumEventAgeInSeconds counts one local second per AWS minute. @default 100
   */
  readonly eventRetryBaseMs?: number;
  /**
   * Where local mode sends an API destination's requests instead of its `InvocationEndpoint`: the
   * destination's logical id or name → URL (e.g. a receiver of a test on a free port).
   * @default each destination's own endpoint
   */
  readonly apiDestinationEndpoints?: Readonly<Record<string, string>>;
}

/** The contents of `.local/env.json` (docs/DESIGN.md §6 item 8). */
export interface LocalEnv {
  readonly apiUrl: string;
  /** The local console page (`<apiUrl>/_local/console`). (Absent from env files written before it.) */
  readonly consoleUrl?: string;
  /**
   * The first tenant's API key, for scripts that read one key; absent when no method requires
   * an API key (`iam` mode).
   */
  readonly apiKey?: string;
  /**
   * How the API authenticates callers and every local tenant's credentials: `{ apiKey, apiKeyId }`
   * in `apiKey` mode, `{ accessKeyId, secretAccessKey, userArn }` in `iam` mode, `{ token }` in
   * `jwt` mode (with `jwt: { issuer, audience, jwksUri }`).
   * (Absent from env files written before tenants.)
   */
  readonly auth?: LocalAuthInfo;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly queues: Readonly<
    Record<string, { readonly url: string; readonly arn: string; readonly name: string }>
  >;
  readonly buckets: Readonly<Record<string, string>>;
  /** The DynamoDB emulator's endpoint (`AWS_ENDPOINT_URL_DYNAMODB` of the functions). */
  readonly dynamodbEndpoint: string;
  /** DynamoDB tables: logical id → table name. */
  readonly tables: Readonly<Record<string, string>>;
  /**
   * The local EventBridge's endpoint (`AWS_ENDPOINT_URL_EVENTBRIDGE` of the functions; PutEvents).
   * (Absent from env files written before completion events.)
   */
  readonly eventsEndpoint?: string;
  /**
   * The template's event buses (not `default`): logical id → bus name (`ops dlq redrive --lane
   * notifications` publishes there). (Absent from env files written before it.)
   */
  readonly eventBuses?: Readonly<Record<string, string>>;
  /**
   * The pipeline's lanes by name (`standard`, `fifo`, then the app's own): the logical ids of the
   * lane's queue and DLQ (keys of {@link LocalEnv.queues}) and whether it is FIFO. Read from the
   * template's queues: the `event-pipeline:lane` tag and the redrive policies
   * (`local/template/lanes.ts`).
   */
  readonly lanes: Readonly<
    Record<string, { readonly queue: string; readonly dlq: string; readonly fifo: boolean }>
  >;
}

/** A running local stage. */
export interface LocalHandle {
  /** Base URL of the API, e.g. `http://127.0.0.1:3000` (routes as in the template: `/v1/messages`). */
  readonly apiUrl: string;
  /** The first tenant's API key; `''` when no method requires one (`iam` mode). */
  readonly apiKey: string;
  /** The authentication mode and every local tenant's credentials (also in {@link LocalEnv.auth}). */
  readonly auth: LocalAuthInfo;
  /** Endpoint for SDK clients (SQS and S3): `http://127.0.0.1:<port>`. */
  readonly awsEndpoint: string;
  readonly region: string;
  /** What `.local/env.json` holds. */
  readonly env: LocalEnv;
  /** Requests the DynamoDB emulator answered so far, by operation (`PutItem`, `UpdateItem`, …). */
  dynamodbRequests(): Promise<Record<string, number>>;
  /** Every invocation so far (also `GET /_local/invocations`). */
  readonly journal: Journal;
  /** Logical ids of the template's schedule rules. */
  schedules(): string[];
  /** Runs a schedule rule's targets now; `undefined` for an unknown rule. */
  triggerSchedule(ruleLogicalId: string): Promise<ScheduleRun> | undefined;
  /** Current alarm states (also `GET /_local/alarms`). */
  alarms(): AlarmStatus[];
  /**
   * The events log: every event the stage's buses accepted (PutEvents), oldest first, with its
   * bus, the time it was accepted, its EventBridge envelope and the log group targets it reached;
   * `id` keeps those of one envelope id (or EventBridge event id), `limit` the newest ones.
   * Also `GET /_local/events?id=&limit=`.
   */
  events(filter?: { readonly id?: string; readonly limit?: number }): readonly RecordedEvent[];
  /** How each EventBridge target delivery ended so far (delivered, dead-lettered, dropped). */
  eventDeliveries(): readonly DeliveryOutcome[];
  /**
   * `jwt` mode: a new token of local mode's issuer for `tenant` (e.g. an expired one, to test a
   * client: `{ expiresInSeconds: -120 }`); rejects in other modes.
   */
  issueToken(tenant: string, options?: LocalTokenOptions): Promise<string>;
  /** Stops pollers, lets invocations in flight finish (up to `drainTimeoutMs`), terminates sandboxes, closes servers. */
  stop(): Promise<void>;
}

/**
 * Starts the stage's stack on this machine, from the synthesized template only: the emulator
 * with every queue and bucket, every function's bundled asset in its own sandboxes, a poller per
 * event source mapping, the schedules, the API and the alarms; writes the env file.
 *
 * @example
 * const local = await startLocal({ apiPort: 0, awsPort: 0, logs: 'silent', envFile: null });
 * await fetch(`${local.apiUrl}/v1/messages`, { method: 'POST', headers: { 'x-api-key': local.apiKey, … }, body });
 * await local.stop();
 */
export async function startLocal(options: StartLocalOptions = {}): Promise<LocalHandle> {
  const started = Date.now();
  const logger: LocalLogger = createLocalLogger(options.logs ?? 'pretty');
  const stage = options.stage ?? 'local';
  const stackName = `EventPipeline-${stage}`;
  const appDir = path.resolve(options.appDir ?? PROJECT_ROOT);
  const cdkOut = path.resolve(
    options.cdkOut ?? (options.appDir ? path.join(appDir, 'cdk.out.local') : LOCAL_CDK_OUT),
  );
  const drainMs = options.drainTimeoutMs ?? 5000;
  const apiPort = options.apiPort ?? 3000;
  const awsPort = options.awsPort ?? 4566;
  await assertPortFree(apiPort, 'PORT');
  await assertPortFree(awsPort, 'LOCAL_AWS_PORT');

  if (options.synth) {
    logger.info(`synthesizing stage ${stage}${options.auth ? ` with auth ${options.auth}` : ''}…`);
    const t = Date.now();
    await synthesize(stage, cdkOut, appDir, options.auth ? { auth: options.auth } : {});
    logger.info(`synthesized in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const template = readStageTemplate(cdkOut, stackName);
  const region = options.region ?? template.region ?? DEFAULT_LOCAL_REGION;
  const pseudo = localPseudoParameters(stackName, region);
  const resolver = new Resolver({ pseudo, resources: template.resources, parameters: template.parameters });
  const topology = analyzeTemplate(template, resolver);
  const lanes = analyzeLanes(topology.queues, resolver);
  const auth = LocalAuth.create({
    api: topology.api,
    region,
    accountId: pseudo.accountId,
    stackName,
    firstApiKey: options.apiKey,
    iamTenants: options.iamTenants,
  });
  if (options.auth && options.auth !== auth.mode) {
    throw new LocalModeError(
      `auth ${options.auth} was asked for, but the template's API uses ${auth.mode}: the app's bin/ must read the "auth" context (-c auth=${options.auth}) and give it to the stage's settings`,
    );
  }

  // Everything started so far, stopped in reverse order if startup fails.
  const cleanup: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    for (const file of ensureEmulatorPatches())
      logger.info(`applied the package's emulator patch to ${file} (npm had not run its postinstall)`);
    const emulator = await startEmulator({
      port: awsPort,
      region,
      ...(options.fairQueues === undefined ? {} : { fairQueues: options.fairQueues }),
    });
    cleanup.push(() => emulator.stop());
    logger.info(`emulator up on ${emulator.endpoint} (SQS + S3)`);

    const front = options.frontEndpoint ? await options.frontEndpoint(emulator.endpoint) : emulator.endpoint;
    if (front !== emulator.endpoint) logger.info(`functions reach the emulator through ${front}`);
    const frontSqs =
      front === emulator.endpoint
        ? emulator.sqs
        : new SQSClient({ endpoint: front, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const queues: LocalQueue[] = [];
    try {
      for (const q of topology.queues) queues.push(await createQueue(emulator, q, resolver, frontSqs));
    } finally {
      if (frontSqs !== emulator.sqs) frontSqs.destroy();
    }
    const buckets: Record<string, string> = {};
    for (const b of topology.buckets) buckets[b.logicalId] = await createBucket(emulator, b, resolver);
    logger.info(
      `${queues.length} queues (lanes: ${lanes.lanes.map((l) => l.name).join(', ') || 'none'}), ${Object.keys(buckets).length} bucket${topology.buckets.length === 1 ? '' : 's'} created`,
    );
    const dynamo = await startDynamo({ port: options.dynamodbPort ?? 0, region });
    cleanup.push(() => dynamo.stop());
    const tables: Record<string, string> = {};
    for (const t of topology.tables) tables[t.logicalId] = await createTable(dynamo, t, resolver);
    logger.info(
      `DynamoDB emulator up on ${dynamo.endpoint}; tables: ${
        Object.entries(tables)
          .map(([id, name]) => `${id} (${name})`)
          .join(', ') || 'none'
      }`,
    );
    const streamTables: string[] = [];
    for (const t of topology.tables) {
      const spec = streamSpecOf(t, resolver);
      if (!spec) continue;
      await dynamo.enableStream(tables[t.logicalId]!, {
        ...spec,
        streamArn: String(
          resolver.getAtt(t.logicalId, 'StreamArn', { resource: t.logicalId, property: 'StreamArn' }),
        ),
      });
      streamTables.push(`${t.logicalId} (${spec.viewType})`);
    }
    if (streamTables.length) logger.info(`DynamoDB streams: ${streamTables.join(', ')}`);
    for (const t of topology.tables) {
      const missing = tableNotReproduced(t);
      if (missing.length) logger.info(`not reproduced locally for ${t.logicalId}: ${missing.join(', ')}`);
    }

    // jwt: local mode is the token issuer; the authorizer functions read its key set (JWKS_URI).
    const authorizerIds = new Set(
      (topology.api?.resources ?? []).flatMap((r) =>
        r.methods.flatMap((m) => m.authorizer?.functionId ?? []),
      ),
    );
    const issuerSettings = [...authorizerIds]
      .map((id) =>
        issuerSettingsOf(
          topology.functions.find((f) => f.logicalId === id)!,
          resolver,
        ),
      )
      .find((x) => x !== undefined);
    const issuer = issuerSettings ? await LocalIssuer.start(issuerSettings) : undefined;
    if (issuer) {
      cleanup.push(() => issuer.stop());
      logger.info(
        `token issuer ${issuer.settings.issuer} (audience ${issuer.settings.audience}): key set on ${issuer.jwksUri}`,
      );
    } else if (authorizerIds.size) {
      logger.info(
        'note: the API has Lambda authorizers without JWT_ISSUER/JWT_AUDIENCE: local mode issues no tokens',
      );
    }

    const journal = new Journal(options.journalCapacity);
    const hosts = new Map<string, FunctionHost>();
    const queueById = new Map(queues.map((q) => [q.logicalId, q]));
    const secrets = new LocalSecrets(
      topology.secrets,
      resolver,
      options.secrets ?? LocalSecrets.readFile(path.resolve(LOCAL_SECRETS_FILE)),
    );
    const apiDestinations = topology.apiDestinations.map((d) => {
      const endpoint =
        options.apiDestinationEndpoints?.[d.logicalId] ?? options.apiDestinationEndpoints?.[d.name];
      return endpoint ? { ...d, endpoint } : d;
    });
    const eventBus: LocalEventBus = new LocalEventBus({
      buses: topology.eventBuses,
      rules: topology.eventRules,
      region,
      accountId: pseudo.accountId,
      logger,
      delivery: new EventDelivery({
        queues: queueById,
        sqs: emulator.sqs,
        hosts,
        apiDestinations,
        secrets,
        journal,
        logger,
        ...(options.eventRetryBaseMs === undefined ? {} : { retryBaseMs: options.eventRetryBaseMs }),
        onLogged: (entry) => eventBus.log(entry),
      }),
    });
    await eventBus.listen(options.eventsPort ?? 0);
    cleanup.push(() => eventBus.stop(0));
    logger.info(
      `EventBridge (PutEvents) on ${eventBus.endpoint}; buses: ${topology.eventBuses.map((b) => b.name).join(', ')}`,
    );
    for (const r of topology.eventRules) {
      logger.info(
        `rule ${r.logicalId} on ${r.busName}${r.enabled ? '' : ' (disabled)'}: ${JSON.stringify(r.pattern)} → ${r.targets
          .map((t) => {
            const where =
              t.kind === 'sqs'
                ? t.queueId
                : t.kind === 'lambda'
                  ? t.functionId
                  : t.kind === 'logs'
                    ? `log group ${t.logGroupName}`
                    : `API destination ${t.destinationId} (${apiDestinations.find((d) => d.logicalId === t.destinationId)?.endpoint})`;
            return `${where}${t.deadLetterQueueId ? ` (DLQ ${t.deadLetterQueueId})` : ''}`;
          })
          .join(', ')}`,
      );
    }

    const mappingConcurrency = options.mappingConcurrency ?? 5;
    // The functions' EMF lines feed the console's dashboard (then go to the terminal as before):
    // with silent logs too, the sandboxes keep their output (the terminal still shows nothing).
    const emf = new EmfSeries();
    const functionLogger: LocalLogger = {
      mode: logger.mode === 'silent' ? 'json' : logger.mode,
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      functionLine(functionId, stream, line) {
        if (stream === 'stdout') emf.ingest(line);
        logger.functionLine(functionId, stream, line);
      },
    };
    for (const spec of topology.functions) {
      const logGroupName = logGroupNameOf(spec, resolver);
      const pollers = topology.mappings
        .filter((m) => m.functionId === spec.logicalId && m.enabled)
        .reduce((n, m) => n + (m.maxConcurrency ?? mappingConcurrency), 0);
      const host = new FunctionHost({
        spec,
        env: {
          ...functionEnv(spec, {
            resolver,
            region,
            endpoint: front,
            logGroupName,
            path: options.sandboxPath,
            dynamodbEndpoint: dynamo.endpoint,
            eventsEndpoint: eventBus.endpoint,
          }),
          ...(issuer && authorizerIds.has(spec.logicalId) ? { JWKS_URI: issuer.jwksUri } : {}),
        },
        maxConcurrency: spec.reservedConcurrency ?? Math.max(options.functionConcurrency ?? 10, pollers),
        logger: functionLogger,
        logGroupName,
      });
      hosts.set(spec.logicalId, host);
    }
    cleanup.push(async () => {
      await Promise.all([...hosts.values()].map((h) => h.stop()));
    });
    logger.info(`${hosts.size} functions (${topology.functions.map((f) => f.logicalId).join(', ')})`);

    await auth.useAuthorizers(
      (functionId, event) =>
        hosts
          .get(functionId)!
          .invoke(event)
          .then((outcome) => {
            journal.record(directInvocationRecord(functionId, outcome));
            return outcome;
          }),
      issuer,
      options.iamTenants ?? DEFAULT_LOCAL_TENANTS,
    );
    const pollers = topology.mappings
      .filter((m) => m.enabled)
      .map(
        (mapping) =>
          new SqsPoller({
            mapping,
            queue: queueById.get(mapping.queueId)!,
            host: hosts.get(mapping.functionId)!,
            sqs: emulator.sqs,
            journal,
            region,
            logger,
            // As Lambda's pollers: an idle poller asks once in 20 s, not every second (an idle
            // stage: 5.4 → 3.1 % of a core). The stage stops its pollers, then the emulator.
            waitTimeSeconds: 20,
            concurrency: Math.min(
              mapping.maxConcurrency ?? mappingConcurrency,
              hosts.get(mapping.functionId)!.spec.reservedConcurrency ?? Infinity,
            ),
          }),
      );
    const disabled = topology.mappings.filter((m) => !m.enabled);
    logger.info(
      `${pollers.length} event source mapping${pollers.length === 1 ? '' : 's'} (${topology.mappings
        .filter((m) => m.enabled)
        .map(
          (m) =>
            `${m.queueId} → ${m.functionId}, batch ${m.batchSize}, concurrency ${m.maxConcurrency ?? mappingConcurrency}`,
        )
        .join('; ')})${disabled.length ? `; disabled: ${disabled.map((m) => m.logicalId).join(', ')}` : ''}`,
    );
    const streamPollers = topology.streamMappings
      .filter((m) => m.enabled)
      .map((mapping) => {
        const onFailure = mapping.onFailureQueueId ? queueById.get(mapping.onFailureQueueId) : undefined;
        return new StreamPoller({
          mapping,
          stream: dynamo.stream(tables[mapping.tableId]!)!,
          host: hosts.get(mapping.functionId)!,
          journal,
          logger,
          ...(onFailure ? { onFailure: { queue: onFailure, sqs: emulator.sqs } } : {}),
        });
      });
    for (const m of topology.streamMappings) {
      logger.info(
        `stream mapping ${m.logicalId}: ${m.tableId} stream → ${m.functionId}, batch ${m.batchSize}, ${m.startingPosition}${
          m.filter ? ', filtered' : ''
        }, retries ${m.maximumRetryAttempts === -1 ? 'until expiry' : m.maximumRetryAttempts}${
          m.bisectBatchOnFunctionError ? ', bisect on error' : ''
        }${m.onFailureQueueId ? `, on failure → ${m.onFailureQueueId}` : ''}${m.enabled ? '' : ' (disabled)'}`,
      );
    }
    const scheduler = new Scheduler(topology.schedules, hosts, journal, pseudo, logger);
    for (const s of topology.schedules) {
      logger.info(
        `schedule ${s.logicalId}: ${s.expression}${s.enabled ? '' : ' (disabled)'} → ${s.targets.map((t) => t.functionId).join(', ')}`,
      );
    }
    const alarms = new AlarmEvaluator({
      alarms: topology.alarms,
      resolver,
      emulator,
      queues,
      logger,
      intervalMs: options.alarmIntervalMs,
    });
    logger.info(
      `${alarms.evaluated.length} alarms evaluated locally (${alarms.evaluated.map((a) => a.name).join(', ')})`,
    );
    if (alarms.notEvaluated.length) {
      logger.info(
        `not evaluated locally: ${alarms.notEvaluated.map((a) => `${a.name} (${a.reason})`).join(', ')}`,
      );
    }
    for (const note of [...topology.notes, ...lanes.notes]) logger.info(`note: ${note}`);

    const authInfo = auth.info();
    logger.info(
      `API authentication: ${auth.mode}${
        Object.keys(authInfo.tenants).length ? `; tenants ${Object.keys(authInfo.tenants).join(', ')}` : ''
      }`,
    );
    const methods = topology.api?.resources.flatMap((r) => r.methods) ?? [];
    if (methods.some((m) => m.apiKeyRequired) && !topology.api?.apiKeys?.length) {
      logger.info(
        'note: methods require an API key but the template creates none: they refuse every request',
      );
    }
    const localConsole = new LocalConsole({
      stage,
      jobTypes: readJobTypes(cdkOut, stackName),
      topology,
      lanes: lanes.lanes,
      queues,
      buckets,
      tables,
      emulator,
      journal,
      hosts,
      alarms,
      dynamodb: dynamo.client,
      logger,
      events: (filter) => eventBus.events(filter),
      dashboard: {
        dashboards: templateDashboards(template.resources.values(), resolver),
        sources: {
          emf,
          functionsByName: new Map(topology.functions.map((f) => [f.name, f.logicalId])),
          functionsByMapping: new Map(
            topology.mappings.map((m) => [
              resolver.resolveString({ Ref: m.logicalId }, { resource: m.logicalId, property: 'Ref' }),
              m.functionId,
            ]),
          ),
        },
      },
    });
    cleanup.push(() => localConsole.stop());
    const apiKey = auth.firstApiKey ?? '';
    const server: ApiServer = await startApiServer({
      port: apiPort,
      api: topology.api,
      auth,
      accountId: pseudo.accountId,
      hosts,
      journal,
      logger,
      local: {
        health: () =>
          healthReport(
            started,
            journal,
            hosts,
            new Map<string, { readonly activeBatches: number }>([
              ...pollers.map(
                (p, i) => [topology.mappings.filter((m) => m.enabled)[i]!.logicalId, p] as const,
              ),
              ...streamPollers.map(
                (p, i) => [topology.streamMappings.filter((m) => m.enabled)[i]!.logicalId, p] as const,
              ),
            ]),
          ),
        alarms: () => alarms.states(),
        triggerSchedule: (id) => scheduler.trigger(id),
        functions: () => topology.functions.map((f) => f.logicalId),
        messageIdsOf: (envelopeId) => localConsole.messageIdsOf(envelopeId),
        events: (filter) => eventBus.events(filter),
      },
      console: (req, res, url) => localConsole.handle(req, res, url),
    });
    cleanup.push(() => server.stop());

    const env: LocalEnv = {
      apiUrl: server.url,
      consoleUrl: `${server.url}/_local/console`,
      ...(auth.firstApiKey === undefined ? {} : { apiKey: auth.firstApiKey }),
      auth: authInfo,
      awsEndpoint: emulator.endpoint,
      region,
      queues: Object.fromEntries(queues.map((q) => [q.logicalId, { url: q.url, arn: q.arn, name: q.name }])),
      buckets,
      dynamodbEndpoint: dynamo.endpoint,
      tables,
      eventsEndpoint: eventBus.endpoint,
      eventBuses: Object.fromEntries(
        topology.eventBuses.flatMap((b) => (b.logicalId ? [[b.logicalId, b.name] as const] : [])),
      ),
      lanes: Object.fromEntries(
        lanes.lanes.map((l) => [l.name, { queue: l.queueId, dlq: l.dlqId, fifo: l.fifo }]),
      ),
    };
    const envFile = options.envFile === undefined ? path.resolve('.local', 'env.json') : options.envFile;
    if (envFile) writeEnvFile(envFile, env);
    localConsole.ready(env);

    for (const p of pollers) p.start();
    for (const p of streamPollers) p.start();
    scheduler.start();
    alarms.start();
    localConsole.start();
    logger.info(`local stage up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    let stopping: Promise<void> | undefined;
    return {
      apiUrl: env.apiUrl,
      apiKey,
      auth: authInfo,
      awsEndpoint: env.awsEndpoint,
      region,
      env,
      journal,
      dynamodbRequests: () => dynamo.requests(),
      schedules: () => scheduler.ruleIds,
      triggerSchedule: (id) => scheduler.trigger(id),
      alarms: () => alarms.states(),
      events: (filter) => eventBus.events(filter),
      eventDeliveries: () => eventBus.deliveries(),
      issueToken: (tenant, tokenOptions) =>
        issuer
          ? issuer.sign(tenant, tokenOptions)
          : Promise.reject(new LocalModeError('issueToken: the API has no JWT authorizer (auth mode jwt)')),
      stop() {
        stopping ??= (async () => {
          logger.info('stopping…');
          // Open event streams would hold the server's close until the drain timeout.
          await localConsole.stop();
          const apiClosed = server.stop(drainMs);
          await Promise.all([
            ...pollers.map((p) => p.stop(drainMs)),
            ...streamPollers.map((p) => p.stop(drainMs)),
            eventBus.stop(drainMs),
            scheduler.stop(drainMs),
            ...[...hosts.values()].map((h) => h.drain(drainMs)),
            apiClosed,
          ]);
          await alarms.stop();
          await unwind();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

export type { AlarmStatus } from './control/alarms';
export type { ScheduleRun } from './triggers/schedules';
