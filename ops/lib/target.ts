import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFile } from 'node:fs/promises';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import type { MessageStatus } from '../../lambda/shared/status/types';
import { DEFAULT_FIFO_LANE, DEFAULT_STANDARD_LANE } from '../../lib/config/lanes';
import type { LocalEnv } from '../../local/index';
import { OpsError, UsageError } from './errors';
import {
  awsCompletionEvents,
  newest,
  viewOfLocalEvent,
  type CompletionEventsPage,
  type CompletionEventsQuery,
  type LocalLoggedEvent,
} from './events';
import { localTenantAuth, type ApiAuth } from './request-auth';
import { countWaiting, type WaitingCounts } from './waiting';

/**
 * The lanes every pipeline has (lib/config/lanes.ts), first in every target. `--queue
 * standard|fifo` names them, as it did before lanes existed.
 */
export const DEFAULT_LANES = [DEFAULT_STANDARD_LANE, DEFAULT_FIFO_LANE] as const;

/** One SQS queue the tool acts on. */
export interface QueueRef {
  readonly url: string;
  readonly arn: string;
  readonly name: string;
  readonly fifo: boolean;
}

/** A lane: its source queue and the DLQ that queue's redrive policy points at. */
export interface QueuePair {
  /** The lane's name: `standard`, `fifo` or one of the app's lanes (`thumbnails`). */
  readonly key: string;
  readonly source: QueueRef;
  readonly dlq: QueueRef;
}

/** An alarm and its state, from CloudWatch or the local alarm evaluator. */
export interface AlarmView {
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  /**
   * When the alarm entered its state: CloudWatch's `StateTransitionedTimestamp`; locally the
   * evaluator's `stateChangedAt`. `null` where the target does not tell it (local mode's evaluator
   * reports only when it last sampled, `updatedAt`).
   */
  readonly since: string | null;
  /** The alarm's last update: CloudWatch's `StateUpdatedTimestamp`; locally its last evaluation. */
  readonly updatedAt: string | null;
}

/** What a local invocation journal entry looks like (docs/DESIGN.md §6 item 8). */
export interface InvocationView {
  readonly function: string;
  readonly startedAt: string;
  readonly messageIds: readonly string[];
  readonly batchItemFailures: readonly string[];
  readonly error: null | { readonly name: string; readonly message: string };
}

/**
 * The notifications DLQ of a stage with webhooks (EventBridge's dead-letter queue of its API
 * destination targets: each message is an event, with ERROR_CODE, ERROR_MESSAGE, RULE_ARN and
 * TARGET_ARN attributes) and what publishes an event again on the stage's bus.
 */
export interface NotificationsTarget {
  readonly dlq: QueueRef;
  /** The stage's bus (`EventBusName`; locally the template's only bus); `undefined` when unknown. */
  readonly busName: string | undefined;
  readonly events: EventBridgeClient;
}

/** A resolved stage: its queues, bucket and API, and clients to reach them. */
export interface Target {
  readonly kind: 'local' | 'aws';
  /** `local`, or the stage name. */
  readonly name: string;
  readonly region: string;
  /** One pair per lane: the default lanes first, then the app's own. */
  readonly queues: readonly QueuePair[];
  readonly bucket: string;
  readonly apiUrl: string;
  /** The API key; on AWS only when given with `--api-key`. */
  readonly apiKey?: string;
  /** How the API authenticates the tool: SigV4 on iam stages, the API key on apiKey ones. @default the API key */
  readonly auth?: ApiAuth;
  /**
   * A second tenant's credentials, for `smoke`'s isolation check (that tenant must not read the
   * first one's message): locally the env file's second tenant; on AWS a key from
   * `EVENT_PIPELINE_SECOND_API_KEY` (apiKey stages) or the profile `EVENT_PIPELINE_SECOND_PROFILE`
   * names (iam stages). Absent: the check is skipped.
   */
  readonly secondTenant?: { readonly name: string; readonly auth: ApiAuth };
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  /** Whether `StartMessageMoveTask` exists there (not in the local emulator). */
  readonly moveTasks: boolean;
  alarms(): Promise<AlarmView[]>;
  /** Age in seconds of the oldest message of each queue (by URL); `null` where unknown. */
  oldestAges(queues: readonly QueueRef[]): Promise<Map<string, number | null>>;
  /** Local only: the invocation journal. */
  invocations?(): Promise<InvocationView[]>;
  /**
   * The status row of an envelope id (`GET /v1/messages/{id}`'s body), read from the status table;
   * absent where the target names no status table (an env file or a stack from before it).
   */
  messageStatus?(envelopeId: string): Promise<MessageStatus | undefined>;
  /**
   * Deferred and scheduled messages per lane, counted from the status table (`./waiting.ts`: a
   * scan that reads every row); absent where the target names no status table.
   */
  waitingMessages?(): Promise<WaitingCounts>;
  /**
   * Recent completion events (`ops events`): the relay's log group on AWS, the events log
   * locally; absent where the stage has none (a stack or env file from before them).
   */
  completionEvents?(query: CompletionEventsQuery): Promise<CompletionEventsPage>;
  /** The notifications DLQ; absent on a stage without webhooks. */
  readonly notifications?: NotificationsTarget;
  close(): void;
}

/**
 * Reads status rows, read-only: the status store's own `get` (one `GetItem`), so a row reads as
 * the API answers it. The store is never asked to write.
 */
function statusReader(
  db: DynamoDBClient,
  tableName: string,
): (envelopeId: string) => Promise<MessageStatus | undefined> {
  // retentionDays only sets the TTL of writes, which this store never makes.
  const store = new DynamoStatusStore(DynamoDBDocumentClient.from(db), { tableName, retentionDays: 1 });
  return async (envelopeId) => {
    try {
      return await store.get(envelopeId);
    } catch (error) {
      throw awsFailure(`cannot read the status of ${envelopeId} from ${tableName}`, error);
    }
  };
}

/** {@link countWaiting} on the status table, its failure told as an {@link OpsError}. */
function waitingCounter(db: DynamoDBClient, tableName: string): () => Promise<WaitingCounts> {
  return async () => {
    try {
      return await countWaiting(db, tableName);
    } catch (error) {
      throw awsFailure(`cannot count the waiting messages of ${tableName}`, error);
    }
  };
}

/** The local env file's status table: `StatusTable` (its pinned logical id), else the only table. */
function localStatusTable(env: LocalEnvFile): string | undefined {
  const tables = env.tables ?? {};
  const names = Object.values(tables);
  return tables.StatusTable ?? (names.length === 1 ? names[0] : undefined);
}

/**
 * The pair of lane `lane`; a lane the target does not have is bad usage ({@link UsageError}, exit
 * 2) in one line that lists the lanes it has.
 */
export function pairOf(target: Target, lane: string): QueuePair {
  const pair = target.queues.find((q) => q.key === lane);
  if (!pair)
    throw new UsageError(
      `no lane ${lane} in ${target.name} (lanes: ${target.queues.map((q) => q.key).join(', ')})`,
    );
  return pair;
}

/** How a library call names a lane: `lane`, or `queue`, its name from before lanes existed. */
export interface LaneSelection {
  /** The lane's name. @default every lane */
  readonly lane?: string;
  /** Same as `lane` (`standard` and `fifo` were the pipeline's two queues before lanes). @default every lane */
  readonly queue?: string;
}

/** The lane a {@link LaneSelection} names, if any. */
export function selectedLane(s: LaneSelection): string | undefined {
  return s.lane ?? s.queue;
}

/** The pairs of lane `lane` ({@link pairOf}), or every lane's when it is `undefined`. */
export function pairsOf(target: Target, lane: string | undefined): QueuePair[] {
  return lane === undefined ? [...target.queues] : [pairOf(target, lane)];
}

/** The queue name in an SQS ARN. */
function nameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/**
 * `.local/env.json` as written by `npm start` (docs/DESIGN.md §6 item 8): local mode's own type,
 * with `lanes` optional, as files written before lanes existed lack it.
 */
export type LocalEnvFile = Omit<LocalEnv, 'lanes' | 'dynamodbEndpoint' | 'tables'> &
  Partial<Pick<LocalEnv, 'lanes' | 'dynamodbEndpoint' | 'tables'>>;

/** Reads `.local/env.json`; a missing or unreadable file is "local mode is not running". */
export async function readLocalEnv(file: string): Promise<LocalEnvFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new OpsError(
      `local mode is not running (no ${file}): start it with npm start, or pass --stage <name>`,
    );
  }
  try {
    const env = JSON.parse(text) as LocalEnvFile;
    if (typeof env.apiUrl !== 'string' || typeof env.awsEndpoint !== 'string' || !env.queues)
      throw new Error('fields missing');
    return env;
  } catch (error) {
    throw new OpsError(`${file} is not a local-mode env file: ${(error as Error).message}`);
  }
}

/** Default lanes first (in {@link DEFAULT_LANES} order), then the others in the order given. */
function laneOrder(pairs: QueuePair[]): QueuePair[] {
  const rank = (p: QueuePair) => {
    const i = (DEFAULT_LANES as readonly string[]).indexOf(p.key);
    return i < 0 ? DEFAULT_LANES.length : i;
  };
  return pairs
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
    .map((x) => x.p);
}

type LocalQueue = LocalEnvFile['queues'][string];

/** The pairs of an env file's `lanes`; one call to the emulator tells whether it is up. */
async function lanePairs(
  env: LocalEnvFile,
  lanes: NonNullable<LocalEnvFile['lanes']>,
  sqs: SQSClient,
): Promise<QueuePair[]> {
  const queue = (lane: string, id: string): LocalQueue => {
    const q = env.queues[id];
    if (!q) throw new OpsError(`the env file's lane ${lane} names queue ${id}, which its queues lack`);
    return q;
  };
  const pairs = Object.entries(lanes).map(([key, l]) => {
    const source = queue(key, l.queue);
    const dlq = queue(key, l.dlq);
    return {
      key,
      source: { ...source, fifo: l.fifo },
      dlq: { ...dlq, fifo: dlq.name.endsWith('.fifo') },
    };
  });
  const first = pairs[0];
  if (first)
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.source.url, AttributeNames: ['QueueArn'] }),
    );
  return laneOrder(pairs);
}

/**
 * The pairs of an env file from before lanes: each queue whose redrive policy names another
 * queue of the file is a source, `fifo` or `standard` by its name's `.fifo` suffix.
 */
async function redrivePairs(env: LocalEnvFile, sqs: SQSClient): Promise<QueuePair[]> {
  const byArn = new Map(Object.values(env.queues).map((q) => [q.arn, q]));
  const pairs: QueuePair[] = [];
  for (const q of Object.values(env.queues)) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['RedrivePolicy'] }),
    );
    const policy = out.Attributes?.RedrivePolicy;
    if (!policy) continue;
    const dlqArn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    const dlq = dlqArn ? byArn.get(dlqArn) : undefined;
    if (!dlq) continue;
    const fifo = q.name.endsWith('.fifo');
    const key = fifo ? DEFAULT_FIFO_LANE : DEFAULT_STANDARD_LANE;
    if (pairs.some((p) => p.key === key))
      throw new OpsError(`more than one ${key} queue with a DLQ in local mode`);
    pairs.push({ key, source: { ...q, fifo }, dlq: { ...dlq, fifo: dlq.name.endsWith('.fifo') } });
  }
  return laneOrder(pairs);
}

/**
 * How the tool authenticates to local mode: the first tenant's credentials of the env file's
 * `auth` (SigV4 in iam mode, the key in apiKey mode); an env file from before tenants: its key.
 */
function localAuth(env: LocalEnvFile): ApiAuth {
  const mode = env.auth?.mode;
  const first = env.auth ? Object.values(env.auth.tenants)[0] : undefined;
  // apiKey mode (and an env file from before tenants) uses the env file's key: the first tenant's.
  const auth = mode === 'apiKey' ? undefined : localTenantAuth(mode, first);
  if (auth) return auth;
  if (mode === 'jwt') return { mode };
  return { mode: 'apiKey', ...(env.apiKey ? { apiKey: env.apiKey } : {}) };
}

/** The env file's second tenant, as {@link Target.secondTenant}; nothing with fewer than two. */
function secondLocalTenant(env: LocalEnvFile): { secondTenant?: Target['secondTenant'] } {
  const [, second] = Object.entries(env.auth?.tenants ?? {});
  const auth = second && localTenantAuth(env.auth?.mode, second[1]);
  return second && auth ? { secondTenant: { name: second[0], auth } } : {};
}

/**
 * A deployed stage's second tenant for `smoke`'s isolation check, from the environment (never the
 * command line): `EVENT_PIPELINE_SECOND_API_KEY` on an apiKey stage, `EVENT_PIPELINE_SECOND_PROFILE`
 * (a profile of the default credential chain) on an iam stage, `EVENT_PIPELINE_SECOND_TOKEN` (a
 * bearer token of another tenant) on a jwt stage.
 */
export function secondAwsTenant(
  mode: 'iam' | 'apiKey' | 'jwt',
  env: NodeJS.ProcessEnv,
): { secondTenant?: Target['secondTenant'] } {
  const key = env.EVENT_PIPELINE_SECOND_API_KEY;
  const profile = env.EVENT_PIPELINE_SECOND_PROFILE;
  if (mode === 'apiKey' && key)
    return { secondTenant: { name: 'EVENT_PIPELINE_SECOND_API_KEY', auth: { mode, apiKey: key } } };
  if (mode === 'iam' && profile)
    return { secondTenant: { name: `profile ${profile}`, auth: { mode, profile } } };
  const token = env.EVENT_PIPELINE_SECOND_TOKEN;
  if (mode === 'jwt' && token)
    return { secondTenant: { name: 'EVENT_PIPELINE_SECOND_TOKEN', auth: { mode, token } } };
  return {};
}

/** A stack's `AuthMode` output as a mode (`apiKey` for stacks from before 0.3.0, which have none). */
function authModeOutput(value: string | undefined): 'iam' | 'apiKey' | 'jwt' {
  return value === 'iam' || value === 'jwt' ? value : 'apiKey';
}

/** Options of {@link localTarget}. */
export interface LocalTargetOptions {
  /** SDK endpoint instead of the env file's `awsEndpoint` (tests put a fault proxy there). */
  readonly endpoint?: string;
  /** Attempts per SDK call. @default the SDK's (3) */
  readonly maxAttempts?: number;
  /** `fetch` used for the local control routes and the API. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * The local stage of `env`: one pair per lane of its `lanes`. An env file from before lanes has
 * none; then source queues and DLQs are told apart by their redrive policies (a DLQ is a queue
 * another queue's `RedrivePolicy` targets), and the `standard` and `fifo` lanes by the `.fifo`
 * suffix, as then.
 */
export async function localTarget(env: LocalEnvFile, options: LocalTargetOptions = {}): Promise<Target> {
  const client = {
    endpoint: options.endpoint ?? env.awsEndpoint,
    region: env.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  const sqs = new SQSClient({ ...client, useQueueUrlAsEndpoint: false });
  const s3 = new S3Client({ ...client, forcePathStyle: true });
  const statusTable = localStatusTable(env);
  const dynamoDb =
    env.dynamodbEndpoint && statusTable
      ? new DynamoDBClient({ ...client, endpoint: env.dynamodbEndpoint })
      : undefined;
  const doFetch = options.fetch ?? globalThis.fetch;
  const notificationsDlq = Object.entries(env.queues).find(([id]) => id.includes('NotificationsDlq'))?.[1];
  const buses = Object.values(env.eventBuses ?? {});
  const events =
    env.eventsEndpoint !== undefined
      ? new EventBridgeClient({ ...client, endpoint: env.eventsEndpoint })
      : undefined;
  const getJson = async (route: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await doFetch(`${env.apiUrl}${route}`);
    } catch {
      throw new OpsError(
        `local mode is not running (nothing answers at ${env.apiUrl}): start it with npm start`,
      );
    }
    if (!res.ok) throw new OpsError(`GET ${route} answered ${res.status}`);
    return res.json();
  };
  let pairs: QueuePair[];
  try {
    // A template without lane tags (an app from before lanes) gives an empty `lanes`.
    pairs =
      env.lanes && Object.keys(env.lanes).length > 0
        ? await lanePairs(env, env.lanes, sqs)
        : await redrivePairs(env, sqs);
  } catch (error) {
    sqs.destroy();
    s3.destroy();
    dynamoDb?.destroy();
    events?.destroy();
    if (error instanceof OpsError) throw error;
    throw new OpsError(
      `local mode is not running (the emulator at ${client.endpoint} does not answer: ${(error as Error).message})`,
    );
  }
  const [bucket] = Object.values(env.buckets);
  if (!bucket) {
    sqs.destroy();
    s3.destroy();
    dynamoDb?.destroy();
    events?.destroy();
    throw new OpsError('local mode has no archive bucket');
  }
  return {
    kind: 'local',
    name: 'local',
    region: env.region,
    queues: pairs,
    bucket,
    apiUrl: env.apiUrl,
    ...(env.apiKey ? { apiKey: env.apiKey } : {}),
    auth: localAuth(env),
    ...secondLocalTenant(env),
    sqs,
    s3,
    moveTasks: false,
    async alarms() {
      const list = (await getJson('/_local/alarms')) as {
        name: string;
        state: string;
        reason: string;
        /** When the state began, if the evaluator tells it. */
        stateChangedAt?: string;
        /** The evaluator's last sample: not when the state began. */
        updatedAt?: string;
      }[];
      return list.map((a) => ({
        name: a.name,
        state: a.state,
        reason: a.reason,
        since: a.stateChangedAt ?? null,
        updatedAt: a.updatedAt ?? null,
      }));
    },
    async oldestAges(queues) {
      // The local evaluator inspects the emulator for its age alarms; queues without one are unknown.
      const list = (await getJson('/_local/alarms')) as {
        metric: string;
        queue: string;
        value: number | null;
      }[];
      const out = new Map<string, number | null>();
      for (const q of queues) {
        const a = list.find(
          (x) => x.metric === 'ApproximateAgeOfOldestMessage' && (x.queue === q.name || x.queue === q.url),
        );
        out.set(q.url, a?.value ?? null);
      }
      return out;
    },
    async invocations() {
      return (await getJson('/_local/invocations')) as InvocationView[];
    },
    ...(env.eventsEndpoint !== undefined
      ? {
          async completionEvents(query: CompletionEventsQuery): Promise<CompletionEventsPage> {
            const route = `/_local/events${query.id === undefined ? '' : `?id=${encodeURIComponent(query.id)}`}`;
            const log = (await getJson(route)) as LocalLoggedEvent[];
            const views = log.flatMap((e) => viewOfLocalEvent(e) ?? []);
            return { events: newest(views, query), source: 'local events log', truncated: false };
          },
        }
      : {}),
    ...(notificationsDlq && events
      ? {
          notifications: {
            dlq: { ...notificationsDlq, fifo: notificationsDlq.name.endsWith('.fifo') },
            busName: buses.length === 1 ? buses[0] : undefined,
            events,
          },
        }
      : {}),
    ...(dynamoDb && statusTable
      ? {
          messageStatus: statusReader(dynamoDb, statusTable),
          waitingMessages: waitingCounter(dynamoDb, statusTable),
        }
      : {}),
    close() {
      sqs.destroy();
      s3.destroy();
      dynamoDb?.destroy();
      events?.destroy();
    },
  };
}

/**
 * The stack outputs the tool needs (lib/constructs/event-pipeline.ts); each of the app's own lanes
 * adds `Lane<Name>QueueUrl`, `…QueueArn`, `…DlqUrl` and `…DlqArn` ({@link laneOutputs}).
 */
export const STACK_OUTPUTS = [
  'ApiUrl',
  'ArchiveBucketName',
  'StandardQueueUrl',
  'StandardQueueArn',
  'StandardDlqUrl',
  'StandardDlqArn',
  'FifoQueueUrl',
  'FifoQueueArn',
  'FifoDlqUrl',
  'FifoDlqArn',
  'AlarmNamePrefix',
] as const;

/** A stack output's value and description. */
export interface StackOutput {
  readonly value: string;
  readonly description?: string;
}

/** What the description of a lane's output starts with: `lane <name>` (`lane thumbnails: …`). */
const LANE_DESCRIPTION = /^lane ([a-z][a-z0-9-]*)(?::|\s|$)/;

/**
 * The app's own lanes of a stack, from its outputs: each `Lane<Name>QueueUrl` with its
 * `…QueueArn`, `…DlqUrl` and `…DlqArn` is one lane, named by the description `lane <name>` (the
 * output key's `<Name>` is the lane's name in PascalCase, which does not always say where its
 * dashes were). Default lanes (`StandardQueueUrl`, `FifoQueueUrl`, …) are not among them.
 * Throws an {@link OpsError} naming what a lane's outputs lack.
 *
 * @example
 * laneOutputs('EventPipeline-dev', outputs); // [{ key: 'thumbnails', queueUrl: …, queueArn: …, dlqUrl: …, dlqArn: … }]
 */
export function laneOutputs(
  stackName: string,
  outputs: ReadonlyMap<string, StackOutput>,
): { key: string; queueUrl: string; queueArn: string; dlqUrl: string; dlqArn: string }[] {
  const lanes: ReturnType<typeof laneOutputs> = [];
  const missing: string[] = [];
  for (const [outputKey, output] of outputs) {
    const prefix = /^(Lane[A-Z0-9][A-Za-z0-9]*)QueueUrl$/.exec(outputKey)?.[1];
    if (!prefix) continue;
    const keys = [`${prefix}QueueArn`, `${prefix}DlqUrl`, `${prefix}DlqArn`];
    const lacking = keys.filter((k) => !outputs.get(k)?.value);
    if (lacking.length) {
      missing.push(...lacking);
      continue;
    }
    const name = LANE_DESCRIPTION.exec(output.description ?? '')?.[1];
    if (!name)
      throw new OpsError(
        `stack ${stackName}: the output ${outputKey} has no description "lane <name>" (deploy this version of the app)`,
      );
    if ((DEFAULT_LANES as readonly string[]).includes(name) || lanes.some((l) => l.key === name))
      throw new OpsError(`stack ${stackName}: more than one set of outputs is lane ${name} (${outputKey})`);
    lanes.push({
      key: name,
      queueUrl: output.value,
      queueArn: outputs.get(keys[0]!)!.value,
      dlqUrl: outputs.get(keys[1]!)!.value,
      dlqArn: outputs.get(keys[2]!)!.value,
    });
  }
  if (missing.length)
    throw new OpsError(
      `stack ${stackName} lacks the outputs ${missing.join(', ')} (deploy this version of the app)`,
    );
  return lanes.sort((a, b) => a.key.localeCompare(b.key));
}

/** SDK clients of the AWS path; injectable so tests can mock them. */
export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly cloudWatch: CloudWatchClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  /** Reads the status table (`StatusTableName`). @default none: status rows are not read */
  readonly dynamoDb?: DynamoDBClient;
  /** Reads the completion relay's log group (`ops events`). @default none: `ops events` is refused */
  readonly logs?: CloudWatchLogsClient;
  /** Publishes to the stage's bus (`dlq redrive --lane notifications`). @default none */
  readonly events?: EventBridgeClient;
}

/** Options of {@link awsTarget}. */
export interface AwsTargetOptions {
  readonly stage: string;
  readonly region?: string;
  readonly profile?: string;
  readonly apiKey?: string;
  /** The bearer token of a jwt stage (`EVENT_PIPELINE_TOKEN`, `--token-stdin`). */
  readonly token?: string;
  /** @default real clients with the default credential chain, `region` and `profile` */
  readonly clients?: AwsClients;
}

function describeAwsError(error: unknown): string {
  const e = error as { name?: string; message?: string };
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? ''))
    return `no AWS credentials (${e.message}); configure the default chain or pass --profile`;
  if (/region/i.test(e.message ?? '') && /missing/i.test(e.message ?? ''))
    return 'no AWS region: pass --region or configure one for the profile';
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

/** A deployed stage `EventPipeline-<stage>`, resolved through its CloudFormation outputs. */
export async function awsTarget(options: AwsTargetOptions): Promise<Target> {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const clients = options.clients ?? {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
    dynamoDb: new DynamoDBClient(config),
    logs: new CloudWatchLogsClient(config),
    events: new EventBridgeClient(config),
  };
  const close = () => {
    for (const c of Object.values(clients)) (c as { destroy(): void } | undefined)?.destroy();
  };
  const stackName = `EventPipeline-${options.stage}`;
  let outputs: Map<string, StackOutput>;
  let region: string;
  try {
    const out = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new OpsError(`stack ${stackName} not found`);
    outputs = new Map(
      (stack.Outputs ?? []).map((o) => [
        o.OutputKey ?? '',
        { value: o.OutputValue ?? '', ...(o.Description ? { description: o.Description } : {}) },
      ]),
    );
    region = (await clients.cloudFormation.config.region()) ?? options.region ?? '';
  } catch (error) {
    close();
    if (error instanceof OpsError) throw error;
    if (/does not exist/.test((error as Error).message ?? ''))
      throw new OpsError(
        `stack ${stackName} does not exist in this account/region (deploy it, or check --region/--profile)`,
      );
    throw new OpsError(`cannot read stack ${stackName}: ${describeAwsError(error)}`);
  }
  const missing = STACK_OUTPUTS.filter((k) => !outputs.get(k)?.value);
  if (missing.length) {
    close();
    throw new OpsError(
      `stack ${stackName} lacks the outputs ${missing.join(', ')} (deploy this version of the app)`,
    );
  }
  let custom: ReturnType<typeof laneOutputs>;
  try {
    custom = laneOutputs(stackName, outputs);
  } catch (error) {
    close();
    throw error;
  }
  const o = (k: (typeof STACK_OUTPUTS)[number]) => outputs.get(k)!.value;
  const statusTable = outputs.get('StatusTableName')?.value;
  const relayLogGroup = outputs.get('CompletionRelayLogGroup')?.value;
  const notificationsDlqUrl = outputs.get('NotificationsDlqUrl')?.value;
  const notificationsDlqArn = outputs.get('NotificationsDlqArn')?.value;
  const ref = (url: string, arn: string): QueueRef => ({
    url,
    arn,
    name: nameOfArn(arn),
    fifo: arn.endsWith('.fifo'),
  });
  const queues: QueuePair[] = [
    {
      key: DEFAULT_STANDARD_LANE,
      source: ref(o('StandardQueueUrl'), o('StandardQueueArn')),
      dlq: ref(o('StandardDlqUrl'), o('StandardDlqArn')),
    },
    {
      key: DEFAULT_FIFO_LANE,
      source: ref(o('FifoQueueUrl'), o('FifoQueueArn')),
      dlq: ref(o('FifoDlqUrl'), o('FifoDlqArn')),
    },
    ...custom.map((l) => ({ key: l.key, source: ref(l.queueUrl, l.queueArn), dlq: ref(l.dlqUrl, l.dlqArn) })),
  ];
  return {
    kind: 'aws',
    name: options.stage,
    region,
    queues,
    bucket: o('ArchiveBucketName'),
    apiUrl: o('ApiUrl').replace(/\/$/, ''),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    // An iam stage (output AuthMode, since 0.3.0) is signed with the default credential chain.
    // A jwt stage takes the bearer token given through the environment or stdin.
    auth:
      outputs.get('AuthMode')?.value === 'iam'
        ? { mode: 'iam' }
        : outputs.get('AuthMode')?.value === 'jwt'
          ? { mode: 'jwt', ...(options.token ? { token: options.token } : {}) }
          : { mode: 'apiKey', ...(options.apiKey ? { apiKey: options.apiKey } : {}) },
    ...secondAwsTenant(authModeOutput(outputs.get('AuthMode')?.value), process.env),
    sqs: clients.sqs,
    s3: clients.s3,
    moveTasks: true,
    ...(clients.dynamoDb && statusTable
      ? {
          messageStatus: statusReader(clients.dynamoDb, statusTable),
          waitingMessages: waitingCounter(clients.dynamoDb, statusTable),
        }
      : {}),
    ...(clients.logs && relayLogGroup
      ? {
          completionEvents: async (query: CompletionEventsQuery) => {
            try {
              return await awsCompletionEvents(clients.logs!, relayLogGroup, query);
            } catch (error) {
              throw awsFailure(`cannot read the completion events in ${relayLogGroup}`, error);
            }
          },
        }
      : {}),
    ...(clients.events && notificationsDlqUrl && notificationsDlqArn
      ? {
          notifications: {
            dlq: ref(notificationsDlqUrl, notificationsDlqArn),
            busName: outputs.get('EventBusName')?.value || undefined,
            events: clients.events,
          },
        }
      : {}),
    async alarms() {
      const alarms: AlarmView[] = [];
      let token: string | undefined;
      do {
        const page = await clients.cloudWatch.send(
          new DescribeAlarmsCommand({
            AlarmNamePrefix: o('AlarmNamePrefix'),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken: token,
          }),
        );
        for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
          alarms.push({
            name: a.AlarmName ?? '',
            state: a.StateValue ?? 'INSUFFICIENT_DATA',
            reason: a.StateReason ?? '',
            // StateUpdatedTimestamp moves on any update (a composite alarm's on every evaluation).
            since: (a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp)?.toISOString() ?? null,
            updatedAt: a.StateUpdatedTimestamp?.toISOString() ?? null,
          });
        }
        token = page.NextToken;
      } while (token);
      return alarms.sort((a, b) => a.name.localeCompare(b.name));
    },
    async oldestAges(list) {
      const end = new Date();
      const out = await clients.cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(end.getTime() - 15 * 60_000),
          EndTime: end,
          ScanBy: 'TimestampDescending',
          MetricDataQueries: list.map((q, i) => ({
            Id: `q${i}`,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateAgeOfOldestMessage',
                Dimensions: [{ Name: 'QueueName', Value: q.name }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          })),
        }),
      );
      const ages = new Map<string, number | null>();
      list.forEach((q, i) => {
        const r = out.MetricDataResults?.find((x) => x.Id === `q${i}`);
        ages.set(q.url, r?.Values?.[0] ?? null);
      });
      return ages;
    },
    close,
  };
}

/** Wraps an AWS SDK failure into one readable {@link OpsError} line. */
export function awsFailure(what: string, error: unknown): OpsError {
  if (error instanceof OpsError) return error;
  return new OpsError(`${what}: ${describeAwsError(error)}`);
}
