/**
 * The monthly cost model: a pure function of a synthesized CloudFormation template, the traffic
 * inputs, the requests per message (cost/requests-per-message.json) and the unit prices
 * (cost/prices.us-east-1.json). Everything the stack decides (memory sizes, architectures, batch
 * sizes, attempt budgets, retention, alarm and dashboard count, access logging, tracing, tables) is
 * read from the template, so the figure follows the stack; only traffic and per-message behaviour
 * come from the inputs. The template's lanes (one queue, DLQ and consumer each) are priced one by
 * one, with the traffic split the inputs give, and the estimate itemizes them besides the totals.
 */
import { spec as consumerVariables } from '../lambda/consumer/config';

/**
 * The CloudFormation tag that names a queue's lane. The same string as `LANE_TAG` in
 * `lib/constructs/event-pipeline.ts`, written again here so the model does not load the CDK library
 * to read a template (test/infra/cost.test.ts keeps the two equal).
 */
export const LANE_TAG = 'event-pipeline:lane';
/** The lane a template's standard queue is, when it has no {@link LANE_TAG} (a template from before lanes). */
export const DEFAULT_STANDARD_LANE = 'standard';
/** The lane a template's FIFO queue is, when it has no {@link LANE_TAG}. */
export const DEFAULT_FIFO_LANE = 'fifo';

/** Seconds in the 30-day month the model uses. */
export const SECONDS_PER_MONTH = 30 * 24 * 3600;

/** A synthesized CloudFormation template (only the parts the model reads). */
export interface CfnTemplate {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form CloudFormation JSON; the model converts what it reads
  readonly Resources: Readonly<Record<string, { readonly Type: string; readonly Properties?: any }>>;
}

/** Traffic the estimate is for. Rates are shares of all messages, each in [0, 1]. */
export interface CostInputs {
  /** Messages accepted per month. */
  readonly messages: number;
  /** Share that fails permanently (archived and dead-lettered on the first attempt). @default 0.01 */
  readonly failureRate: number;
  /** Share that fails once, then succeeds. @default 0.01 */
  readonly retryRate: number;
  /** Share that exhausts its retries and reaches the DLQ through the redrive policy. @default 0.001 */
  readonly exhaustedRate: number;
  /** Share of messages sent in batch POSTs of 10 (the rest one per POST). @default 1 */
  readonly batchShare: number;
  /** Share of messages sent to the default FIFO lane (`fifo`). @default 0 */
  readonly fifoShare: number;
  /**
   * Share of messages sent to each custom lane, by lane name. The default `fifo` lane's share is
   * {@link fifoShare}; the default `standard` lane gets the rest (1 − `fifoShare` − these), so all
   * shares together must not exceed 1.
   * @default {} (every message in the default lanes)
   * @example
   * { thumbnails: 0.2, ledger: 0.05 }
   */
  readonly laneShares?: Readonly<Record<string, number>>;
  /** Average message size in bytes (SQS bills every 64 KB chunk as one request). @default 1024 */
  readonly messageBytes: number;
}

/** Defaults of {@link CostInputs} besides `messages`. */
export const DEFAULT_INPUTS: Omit<CostInputs, 'messages'> = {
  failureRate: 0.01,
  retryRate: 0.01,
  exhaustedRate: 0.001,
  batchShare: 1,
  fifoShare: 0,
  laneShares: {},
  messageBytes: 1024,
};

/** Counts of one actor for one message. */
export interface ActorCounts {
  readonly apiRequests?: number;
  readonly invocations?: number;
  readonly sqs?: Readonly<Record<string, number>>;
  readonly s3?: Readonly<Record<string, number>>;
  readonly dynamodb?: { readonly readUnits?: number; readonly writeUnits?: number };
  readonly logBytes?: number;
}

/** Per-message counts of one scenario, by actor. */
export interface ScenarioCounts {
  readonly producer: ActorCounts;
  readonly poller: ActorCounts;
  readonly consumer: ActorCounts;
  /** Messages this scenario leaves in a DLQ. */
  readonly dlq?: number;
}

/** The shape of cost/requests-per-message.json. */
export interface RequestsPerMessage {
  readonly status: string;
  readonly measuredWith: { readonly batchSize: number; readonly maxAttempts: number };
  readonly scenarios: Readonly<
    Record<'happySingle' | 'happyBatch' | 'retryThenSucceed' | 'permanent' | 'exhausted', ScenarioCounts>
  >;
  readonly perInvocation: {
    readonly platformLogBytes: number;
    readonly durationMs: Readonly<Record<FunctionRole, number>>;
  };
  readonly apiAccessLogBytesPerRequest: number;
  readonly archiveRecordBytes: number;
  readonly dlqSweep: {
    readonly perRun: { readonly sqsPerQueue: Readonly<Record<string, number>>; readonly logBytes: number };
    readonly perDlqMessagePerRun: {
      readonly sqs: Readonly<Record<string, number>>;
      readonly s3: Readonly<Record<string, number>>;
    };
    readonly msPerMessage: number;
    readonly reservedMs: number;
  };
  readonly idlePolling: { readonly pollersPerMapping: number; readonly waitTimeSeconds: number };
  readonly customMetrics: CustomMetrics;
  /** A lane's rate limit and deferrals (issue 22); absent from files before them. */
  readonly rateLimit?: RateLimitCounts;
}

/** A scenario of {@link RequestsPerMessage} (`happyBatch`, `permanent`, …). */
export type ScenarioKey = keyof RequestsPerMessage['scenarios'];

/**
 * The custom metrics (EMF) the functions publish as traffic happens. CloudWatch bills a custom
 * metric (a name and dimension set) for each hour in which it receives data, prorated (the monthly
 * price / 720 per metric-hour): a metric nobody publishes costs nothing. Every name here is
 * published with the dimensions `service` and `type` (one metric per job type), and only when its
 * count is not 0 (`lambda/shared/consumer/metrics.ts`, `lambda/producer/api.ts`).
 */
export interface CustomMetrics {
  /** Job types that carry the traffic, evenly: each has its own metric of every name. */
  readonly jobTypes: number;
  /** Names the producer publishes for an accepted message. */
  readonly producer: readonly string[];
  /** Names a lane's consumer publishes for a message of each scenario. */
  readonly consumer: Readonly<Record<ScenarioKey, readonly string[]>>;
}

/** The shape of cost/prices.us-east-1.json. */
export interface Prices {
  readonly region: string;
  readonly takenOn: string;
  readonly apiGateway: { readonly restRequestPerMillion: number };
  readonly lambda: {
    readonly requestPerMillion: number;
    readonly gbSecond: { readonly x86_64: number; readonly arm64: number };
  };
  readonly sqs: {
    readonly standardRequestPerMillion: number;
    readonly fifoRequestPerMillion: number;
    readonly chunkBytes: number;
  };
  readonly s3: {
    readonly putCopyPostListPerThousand: number;
    readonly getSelectOtherPerThousand: number;
    readonly storageGbMonth: number;
  };
  readonly cloudWatch: {
    readonly logsIngestionPerGb: number;
    readonly logsStorageGbMonth: number;
    readonly metricMonth: number;
    readonly standardAlarmMetricMonth: number;
    readonly dashboardMonth: number;
  };
  readonly xray: { readonly tracesRecordedPerMillion: number };
  readonly dynamodb: {
    readonly writeRequestUnitPerMillion: number;
    readonly readRequestUnitPerMillion: number;
    readonly storageGbMonth: number;
  };
  readonly kms: { readonly keyMonth: number };
  readonly eventBridge: {
    readonly customEventPerMillion: number;
    readonly apiDestinationInvocationPerMillion: number;
  };
}

/** The relay's `completion event published` log line (its JSON, measured locally). */
const RELAY_LOG_BYTES_PER_EVENT = 400;

/** What a function does in the pipeline, found from what triggers it in the template. */
export const FUNCTION_ROLES = ['producer', 'consumer', 'fifoConsumer', 'scheduled', 'relay'] as const;
/** One of {@link FUNCTION_ROLES}. */
export type FunctionRole = (typeof FUNCTION_ROLES)[number];

/** How the estimate names a function of each role. */
export const ROLE_LABELS: Readonly<Record<FunctionRole, string>> = {
  producer: 'producer',
  consumer: 'consumer',
  fifoConsumer: 'FIFO consumer',
  scheduled: 'DLQ sweeper',
  relay: 'completion relay',
};

/** A function of the template with the settings that cost money. */
export interface TemplateFunction {
  readonly logicalId: string;
  readonly role: FunctionRole;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly architecture: 'x86_64' | 'arm64';
  readonly tracing: boolean;
  /** Log retention of its log group in days (`undefined`: never expires). */
  readonly logRetentionDays?: number;
  /** Event source mapping batch size (consumers only). */
  readonly batchSize?: number;
  /**
   * Handler runs a message gets (consumers only): the function's `MAX_ATTEMPTS`, else (a template
   * without it) the consumed queue's redrive `maxReceiveCount`.
   */
  readonly maxAttempts?: number;
  /** Schedule period in minutes (scheduled functions only). */
  readonly everyMinutes?: number;
  /** The lane whose queue the function consumes (consumers only). */
  readonly lane?: string;
}

/** One lane of the template: a source queue, its DLQ and the function its event source mapping feeds. */
export interface TemplateLane {
  /** The queue's {@link LANE_TAG}; without one, `standard` or `fifo` by the queue's kind. */
  readonly name: string;
  readonly fifo: boolean;
  /** False when the name comes from the queue's kind (a template without lane tags). */
  readonly tagged: boolean;
  readonly queueLogicalId: string;
  /** The queue's DLQ (its redrive policy's target), if it has one. */
  readonly dlqLogicalId?: string;
  /** Message retention of the DLQ in days (0 without a DLQ). */
  readonly dlqRetentionDays: number;
  /** The lane's consumer (memory, timeout, batch size, attempt budget); `undefined`: no mapping reads the queue. */
  readonly consumer?: TemplateFunction;
}

/** What the model read from a template; printed with the estimate so a reader can check it. */
export interface TemplateFacts {
  readonly functions: readonly TemplateFunction[];
  /** Every source queue as a lane, in the template's order (the construct writes the default lanes first). */
  readonly lanes: readonly TemplateLane[];
  readonly queues: { readonly standard: number; readonly fifo: number; readonly dlqs: number };
  /** DLQ message retention in days (the longest, when several). */
  readonly dlqRetentionDays: number;
  readonly restApis: number;
  readonly apiAccessLogRetentionDays?: number;
  readonly apiAccessLogs: boolean;
  readonly apiTracing: boolean;
  /** Metrics billed for alarms (one per metric of a metric-math alarm). */
  readonly alarmMetrics: number;
  readonly alarms: number;
  readonly dashboards: number;
  readonly kmsKeys: number;
  readonly dynamodbTables: number;
  /** Webhooks: the template's EventBridge API destinations (each gets every event it matches). */
  readonly apiDestinations: number;
  /** Days after which archive records expire (`undefined`: kept). */
  readonly archiveExpirationDays?: number;
}

/** One priced line of the estimate. */
export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/**
 * What one lane costs: the requests on its queue and DLQ, its consumer, and the sweeper's work on
 * its DLQ. The API, the producer, the sweeper's runs themselves, the status table, the archive,
 * logs and monitoring are shared and appear in the totals only.
 */
export interface LaneCost {
  readonly lane: string;
  readonly fifo: boolean;
  /** Share of all messages the lane gets. */
  readonly share: number;
  /** Messages a month. */
  readonly messages: number;
  /**
   * SQS requests on the lane's queue and DLQ (64 KB chunks counted as the bill does): the
   * producer's sends, the mapping's receives and deletes (idle long polling included), the
   * consumer's visibility changes and DLQ sends. The sweeper's are in {@link dlqSweep}.
   */
  readonly sqsRequests: number;
  readonly sqsUsd: number;
  /** The consumer's invocations, GB-s and USD (requests and duration); 0 when it has none. */
  readonly consumer: {
    readonly logicalId?: string;
    readonly memoryMb?: number;
    readonly invocations: number;
    readonly gbSeconds: number;
    readonly usd: number;
  };
  /** Messages reaching the lane's DLQ a month. */
  readonly dlqMessages: number;
  /** The DLQ sweeper's work on this lane's DLQ in a month. */
  readonly dlqSweep: {
    /** DLQ messages read, over all runs (each message is read on every run while it stays). */
    readonly messagesRead: number;
    readonly sqsRequests: number;
    /** Archive checks (HEAD) of those messages. */
    readonly s3Requests: number;
    /** The sweeper's duration spent on them (its per-run base is shared). */
    readonly gbSeconds: number;
    readonly usd: number;
  };
  /** `sqsUsd + consumer.usd + dlqSweep.usd`. */
  readonly usd: number;
}

/** The result of {@link estimateMonthlyCost}. */
export interface CostEstimate {
  readonly region: string;
  readonly pricesTakenOn: string;
  readonly requestsStatus: string;
  readonly inputs: CostInputs;
  readonly template: TemplateFacts;
  readonly lines: readonly CostLine[];
  /** The per-lane breakdown (its items are also in {@link lines}). */
  readonly lanes: readonly LaneCost[];
  readonly totalUsd: number;
  /** Cost of one million messages at these inputs. */
  readonly usdPerMillionMessages: number;
  /**
   * The stage's cost at 0 messages with the same template and inputs: what it costs idle (alarms,
   * dashboards, keys, the mappings' idle long polls, the sweeper's runs). `totalUsd - idleUsd` is
   * what the traffic adds.
   */
  readonly idleUsd: number;
}

/** Thrown when a template lacks something the model needs; the message names it. */
export class CostModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostModelError';
  }
}

/**
 * Thrown when the inputs are invalid, alone or for the template (a share for a lane it does not
 * have); the message names the input field (`fifoShare`, `laneShares.thumbnails`).
 */
export class CostInputError extends CostModelError {
  constructor(message: string) {
    super(message);
    this.name = 'CostInputError';
  }
}

type Resource = CfnTemplate['Resources'][string];

function refOf(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const v = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
    if (typeof v.Ref === 'string') return v.Ref;
    if (Array.isArray(v['Fn::GetAtt']) && typeof v['Fn::GetAtt'][0] === 'string') return v['Fn::GetAtt'][0];
  }
  return undefined;
}

/** Logical ids of the resources `value` refers to (Ref / GetAtt anywhere inside it). */
function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  const r = refOf(value);
  if (r) out.add(r);
  if (value && typeof value === 'object') for (const v of Object.values(value)) refsIn(v, out);
  return out;
}

function scheduleMinutes(expression: unknown): number | undefined {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(String(expression));
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2]!.startsWith('minute') ? n : m[2]!.startsWith('hour') ? n * 60 : n * 1440;
}

/** Reads the settings that cost money from a template. Throws {@link CostModelError} on gaps. */
export function readTemplate(template: CfnTemplate): TemplateFacts {
  const entries = Object.entries(template.Resources ?? {});
  const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);
  const byId = (id: string): Resource | undefined => template.Resources[id];

  const queues = ofType('AWS::SQS::Queue');
  const dlqIds = new Set(
    queues.map(([, q]) => refOf(q.Properties?.RedrivePolicy?.deadLetterTargetArn)).filter(Boolean),
  );
  const isFifo = (q: Resource) => q.Properties?.FifoQueue === true || q.Properties?.FifoQueue === 'true';
  const retentionDaysOf = (q: Resource | undefined) =>
    Number(q?.Properties?.MessageRetentionPeriod ?? 345_600) / 86_400;

  // Lanes: every source queue (one with a redrive policy), named by its lane tag (a template without
  // tags: by its kind). Queues without one hold what could not be delivered (completion events'
  // outbox failures, webhook notifications): they cost only the requests of a failure.
  const laneOfQueue = new Map<string, Omit<TemplateLane, 'consumer'>>();
  for (const [id, q] of queues) {
    if (dlqIds.has(id) || !q.Properties?.RedrivePolicy) continue;
    const tag = (q.Properties?.Tags as { Key?: unknown; Value?: unknown }[] | undefined)?.find(
      (t) => t.Key === LANE_TAG,
    )?.Value;
    const fifo = isFifo(q);
    const name = typeof tag === 'string' ? tag : fifo ? DEFAULT_FIFO_LANE : DEFAULT_STANDARD_LANE;
    const same = [...laneOfQueue.values()].find((l) => l.name === name);
    if (same)
      throw new CostModelError(
        `queues ${same.queueLogicalId} and ${id} are both lane "${name}"${typeof tag === 'string' ? '' : ` (no ${LANE_TAG} tag)`}: the model cannot split its traffic`,
      );
    const dlq = refOf(q.Properties?.RedrivePolicy?.deadLetterTargetArn);
    laneOfQueue.set(id, {
      name,
      fifo,
      tagged: typeof tag === 'string',
      queueLogicalId: id,
      ...(dlq ? { dlqLogicalId: dlq } : {}),
      dlqRetentionDays: dlq ? retentionDaysOf(byId(dlq)) : 0,
    });
  }

  const mappings = ofType('AWS::Lambda::EventSourceMapping');
  const apiTargets = new Set<string>();
  for (const [, m] of ofType('AWS::ApiGateway::Method'))
    for (const r of refsIn(m.Properties?.Integration)) apiTargets.add(r);
  const schedules = new Map<string, number>();
  for (const [, rule] of ofType('AWS::Events::Rule')) {
    const every = scheduleMinutes(rule.Properties?.ScheduleExpression);
    if (every === undefined) continue;
    for (const t of rule.Properties?.Targets ?? []) {
      const id = refOf(t.Arn);
      if (id) schedules.set(id, every);
    }
  }
  const retentionOf = (logGroup: unknown): number | undefined => {
    const id = refOf(logGroup);
    const days = id ? byId(id)?.Properties?.RetentionInDays : undefined;
    return typeof days === 'number' ? days : undefined;
  };

  const functions: TemplateFunction[] = [];
  for (const [id, fn] of ofType('AWS::Lambda::Function')) {
    const p = fn.Properties ?? {};
    const mapping = mappings.find(([, m]) => refOf(m.Properties?.FunctionName) === id);
    let role: FunctionRole | undefined;
    let batchSize: number | undefined;
    let maxAttempts: number | undefined;
    let lane: string | undefined;
    const source = mapping ? byId(refOf(mapping[1].Properties?.EventSourceArn) ?? '') : undefined;
    if (source?.Type === 'AWS::DynamoDB::Table') {
      // The completion relay (the status table's stream, issue 18): one event per terminal
      // outcome; the stream reads of a Lambda trigger are free.
      role = 'relay';
    } else if (mapping) {
      const queueId = refOf(mapping[1].Properties?.EventSourceArn) ?? '';
      const queue = byId(queueId);
      if (!queue || queue.Type !== 'AWS::SQS::Queue')
        throw new CostModelError(
          `event source mapping ${mapping[0]} does not read an SQS queue of the template`,
        );
      role = isFifo(queue) ? 'fifoConsumer' : 'consumer';
      batchSize = Number(mapping[1].Properties?.BatchSize ?? 10);
      maxAttempts = Number(
        p.Environment?.Variables?.[consumerVariables.maxAttempts.name] ??
          queue.Properties?.RedrivePolicy?.maxReceiveCount ??
          1,
      );
      lane = laneOfQueue.get(queueId)?.name;
    } else if (apiTargets.has(id)) role = 'producer';
    else if (schedules.has(id)) role = 'scheduled';
    if (!role) continue; // CDK's own custom-resource functions: a handful of invocations per deploy.
    functions.push({
      logicalId: id,
      role,
      memoryMb: Number(p.MemorySize ?? 128),
      timeoutSeconds: Number(p.Timeout ?? 3),
      architecture: (p.Architectures ?? ['x86_64'])[0] === 'arm64' ? 'arm64' : 'x86_64',
      tracing: p.TracingConfig?.Mode === 'Active',
      logRetentionDays: retentionOf(p.LoggingConfig?.LogGroup),
      batchSize,
      maxAttempts,
      everyMinutes: schedules.get(id),
      lane,
    });
  }
  if (!functions.some((f) => f.role === 'producer'))
    throw new CostModelError(
      'no function is integrated with an API Gateway method: is this an EventPipeline template?',
    );
  if (!functions.some((f) => f.role === 'consumer' || f.role === 'fifoConsumer'))
    throw new CostModelError(
      'no function has an SQS event source mapping: is this an EventPipeline template?',
    );

  const stages = ofType('AWS::ApiGateway::Stage');
  const accessLog = stages.find(([, s]) => s.Properties?.AccessLogSetting?.DestinationArn)?.[1];
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.reduce(
    (n, [, a]) =>
      n +
      (Array.isArray(a.Properties?.Metrics)
        ? Math.max(1, a.Properties.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).length)
        : 1),
    0,
  );
  const bucket = ofType('AWS::S3::Bucket')[0]?.[1];
  const expiration = bucket?.Properties?.LifecycleConfiguration?.Rules?.find(
    (r: { ExpirationInDays?: number }) => r.ExpirationInDays,
  )?.ExpirationInDays;

  const lanes: TemplateLane[] = [...laneOfQueue.values()].map((l) => {
    const consumers = functions.filter((f) => f.lane === l.name);
    if (consumers.length > 1)
      throw new CostModelError(
        `lane "${l.name}" has more than one consumer (${consumers.map((f) => f.logicalId).join(', ')}): the model cannot split its traffic`,
      );
    return consumers[0] ? { ...l, consumer: consumers[0] } : l;
  });

  return {
    functions,
    lanes,
    queues: {
      // Source queues are the lanes' (the queues that hold undelivered completion events are not).
      standard: [...laneOfQueue.values()].filter((l) => !l.fifo).length,
      fifo: [...laneOfQueue.values()].filter((l) => l.fifo).length,
      dlqs: dlqIds.size,
    },
    dlqRetentionDays: Math.max(
      0,
      ...queues.filter(([id]) => dlqIds.has(id)).map(([, q]) => retentionDaysOf(q)),
    ),
    restApis: ofType('AWS::ApiGateway::RestApi').length,
    apiAccessLogs: accessLog !== undefined,
    apiAccessLogRetentionDays: accessLog
      ? retentionOf(accessLog.Properties.AccessLogSetting.DestinationArn)
      : undefined,
    apiTracing: stages.some(([, s]) => s.Properties?.TracingEnabled === true),
    alarms: alarms.length,
    alarmMetrics,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    dynamodbTables: ofType('AWS::DynamoDB::Table').length + ofType('AWS::DynamoDB::GlobalTable').length,
    apiDestinations: ofType('AWS::Events::ApiDestination').length,
    archiveExpirationDays: typeof expiration === 'number' ? expiration : undefined,
  };
}

type Counter = Record<string, number>;

function add(into: Counter, from: Readonly<Record<string, number>> | undefined, factor: number): void {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v * factor;
}

/** Shares that add up to this much over 1 are rounding, not an error. */
const SHARE_TOLERANCE = 1e-9;

/** Validates inputs; throws {@link CostInputError} naming the first bad one. */
export function validateInputs(inputs: CostInputs): void {
  if (!Number.isFinite(inputs.messages) || inputs.messages < 0)
    throw new CostInputError(`messages must be a number >= 0, got ${inputs.messages}`);
  for (const k of ['failureRate', 'retryRate', 'exhaustedRate', 'batchShare', 'fifoShare'] as const)
    if (!(inputs[k] >= 0 && inputs[k] <= 1))
      throw new CostInputError(`${k} must be between 0 and 1, got ${inputs[k]}`);
  if (inputs.failureRate + inputs.retryRate + inputs.exhaustedRate > 1)
    throw new CostInputError('failureRate + retryRate + exhaustedRate must not exceed 1');
  const lanes = Object.entries(inputs.laneShares ?? {});
  for (const [lane, share] of lanes) {
    if (lane === DEFAULT_STANDARD_LANE)
      throw new CostInputError(
        `laneShares cannot name the ${DEFAULT_STANDARD_LANE} lane: it gets the rest (1 - fifoShare - the other lanes' shares)`,
      );
    if (lane === DEFAULT_FIFO_LANE)
      throw new CostInputError(
        `laneShares cannot name the ${DEFAULT_FIFO_LANE} lane: its share is fifoShare`,
      );
    if (!(share >= 0 && share <= 1))
      throw new CostInputError(`laneShares.${lane} must be between 0 and 1, got ${share}`);
  }
  const sum = lanes.reduce((a, [, share]) => a + share, inputs.fifoShare);
  if (lanes.length > 0 && sum > 1 + SHARE_TOLERANCE)
    throw new CostInputError(
      `fifoShare + laneShares must not exceed 1, got ${Number(sum.toFixed(6))} (${[
        [DEFAULT_FIFO_LANE, inputs.fifoShare] as const,
        ...lanes,
      ]
        .map(([lane, share]) => `${lane} ${share}`)
        .join(', ')})`,
    );
  if (!(inputs.messageBytes > 0 && inputs.messageBytes <= 1024 * 1024))
    throw new CostInputError(`messageBytes must be between 1 and 1048576, got ${inputs.messageBytes}`);
}

/**
 * The share of all messages each lane of the template gets, in the template's lane order: the
 * custom lanes' from `laneShares` (0 when not named), the default `fifo` lane's `fifoShare`, the
 * default `standard` lane the rest. Throws {@link CostInputError} for a share of a lane the
 * template does not have (or a rest with no standard lane to take it).
 */
export function laneSharesOf(facts: TemplateFacts, inputs: CostInputs): Map<string, number> {
  const given = inputs.laneShares ?? {};
  const names = facts.lanes.map((l) => l.name);
  for (const lane of Object.keys(given))
    if (!names.includes(lane))
      throw new CostInputError(
        `laneShares names lane "${lane}", which the template does not have (lanes: ${names.join(', ')})`,
      );
  if (inputs.fifoShare > 0 && !names.includes(DEFAULT_FIFO_LANE))
    throw new CostInputError(
      `fifoShare is ${inputs.fifoShare} but the template has no ${DEFAULT_FIFO_LANE} lane (lanes: ${names.join(', ')})`,
    );
  const custom = Object.values(given).reduce((a, b) => a + b, 0);
  // The standard lane's share is written as before lanes (1 - fifoShare) when no custom lane gets one.
  // Shares that fill 1 only up to rounding leave the standard lane nothing, not 1e-16.
  const unrounded = 1 - inputs.fifoShare - custom;
  const rest = custom === 0 ? 1 - inputs.fifoShare : unrounded > SHARE_TOLERANCE ? unrounded : 0;
  if (rest > SHARE_TOLERANCE && !names.includes(DEFAULT_STANDARD_LANE))
    throw new CostInputError(
      `the rest of the messages (${Number(rest.toFixed(6))}) goes to the ${DEFAULT_STANDARD_LANE} lane, which the template does not have: make fifoShare + laneShares add up to 1`,
    );
  return new Map(
    facts.lanes.map((l) => [
      l.name,
      l.name === DEFAULT_STANDARD_LANE
        ? rest
        : l.name === DEFAULT_FIFO_LANE
          ? inputs.fifoShare
          : (given[l.name] ?? 0),
    ]),
  );
}

/** How the estimate names a function: its role, and its lane when that is not the role's default lane. */
export function functionLabel(f: TemplateFunction): string {
  const label = ROLE_LABELS[f.role];
  const defaultLane =
    f.role === 'consumer' ? DEFAULT_STANDARD_LANE : f.role === 'fifoConsumer' ? DEFAULT_FIFO_LANE : undefined;
  return f.lane === undefined || f.lane === defaultLane ? label : `${f.lane} lane ${label}`;
}

/** What one lane accumulates while the estimate walks the scenarios. */
interface LaneTally {
  readonly sqs: Counter;
  readonly sweepSqs: Counter;
  readonly sweepS3: Counter;
  dlqMessages: number;
  /** DLQ messages the sweeper holds at steady state (those within the DLQ's retention). */
  backlog: number;
  messagesRead: number;
}

/**
 * The monthly cost of a stage, itemized, with a breakdown per lane.
 *
 * @example
 * const estimate = estimateMonthlyCost(template, { ...DEFAULT_INPUTS, messages: 1e6 }, requests, prices);
 * console.log(estimate.totalUsd);
 * // A custom lane `thumbnails` gets a fifth of the messages:
 * estimateMonthlyCost(template, { ...DEFAULT_INPUTS, messages: 1e6, laneShares: { thumbnails: 0.2 } }, requests, prices);
 */
export function estimateMonthlyCost(
  template: CfnTemplate,
  inputs: CostInputs,
  requests: RequestsPerMessage,
  prices: Prices,
): CostEstimate {
  validateInputs(inputs);
  const facts = readTemplate(template);
  const shares = laneSharesOf(facts, inputs);
  const { scenarios, measuredWith } = requests;
  const M = inputs.messages;
  const GB = 1024 ** 3;
  const chunks = Math.max(1, Math.ceil(inputs.messageBytes / prices.sqs.chunkBytes));
  const batchChunks = Math.max(1, Math.ceil((10 * inputs.messageBytes) / prices.sqs.chunkBytes));

  const sqsStd: Counter = {};
  const sqsFifo: Counter = {};
  const s3: Counter = {};
  const ddb = { readUnits: 0, writeUnits: 0 };
  // Invocations and log bytes: per function for consumers (one per lane), per role for the others.
  const keyOf = (f: TemplateFunction) =>
    f.role === 'consumer' || f.role === 'fifoConsumer' ? `consumer:${f.logicalId}` : f.role;
  const invocations = new Map<string, number>();
  const logBytes = new Map<string, number>();
  const bump = (into: Map<string, number>, key: string, n: number) => into.set(key, (into.get(key) ?? 0) + n);
  const fn = (role: FunctionRole) => facts.functions.find((f) => f.role === role);
  const sqsCost = (counter: Counter, ops: Readonly<Record<string, number>> | undefined, factor: number) => {
    for (const [op, n] of Object.entries(ops ?? {}))
      counter[op] = (counter[op] ?? 0) + n * factor * (op.endsWith('Batch') ? batchChunks : chunks);
  };
  const tallies = new Map<string, LaneTally>(
    facts.lanes.map((l) => [
      l.name,
      { sqs: {}, sweepSqs: {}, sweepS3: {}, dlqMessages: 0, backlog: 0, messagesRead: 0 },
    ]),
  );
  const tallyOf = (lane: TemplateLane) => tallies.get(lane.name)!;
  /** SQS requests on a lane's queues: into the totals of its kind and into the lane's own tally. */
  const laneSqs = (
    lane: TemplateLane,
    ops: Readonly<Record<string, number>> | undefined,
    factor: number,
    counter: 'sqs' | 'sweepSqs' = 'sqs',
  ) => {
    sqsCost(lane.fifo ? sqsFifo : sqsStd, ops, factor);
    sqsCost(tallyOf(lane)[counter], ops, factor);
  };

  // Producer side: a mix of single and batch POSTs, each message sent to its lane's queue.
  let apiRequests = 0;
  for (const [scenario, share] of [
    [scenarios.happyBatch, inputs.batchShare],
    [scenarios.happySingle, 1 - inputs.batchShare],
  ] as const) {
    const p = scenario.producer;
    apiRequests += (p.apiRequests ?? 0) * share * M;
    bump(invocations, 'producer', (p.invocations ?? 0) * share * M);
    bump(logBytes, 'producer', (p.logBytes ?? 0) * share * M);
    for (const lane of facts.lanes) laneSqs(lane, p.sqs, share * M * shares.get(lane.name)!);
  }
  const apiAccessLogBytes = facts.apiAccessLogs ? apiRequests * requests.apiAccessLogBytesPerRequest : 0;

  // Consumer side: scenarios weighted by their rates, per lane, rescaled to the lane's consumer.
  const happyShare = 1 - inputs.failureRate - inputs.retryRate - inputs.exhaustedRate;
  let dlqMessages = 0;
  let archiveRecords = 0;
  for (const lane of facts.lanes) {
    const laneShare = shares.get(lane.name)!;
    if (laneShare === 0) continue;
    const f = lane.consumer;
    if (!f)
      throw new CostModelError(
        `lane "${lane.name}" gets ${laneShare} of the messages but no function consumes its queue ${lane.queueLogicalId}`,
      );
    const key = keyOf(f);
    const tally = tallyOf(lane);
    const perBatch = measuredWith.batchSize / (f.batchSize ?? measuredWith.batchSize);
    const extraAttempts = (f.maxAttempts ?? measuredWith.maxAttempts) - measuredWith.maxAttempts;
    const weighted: [ScenarioCounts, number][] = [
      [scenarios.happyBatch, happyShare],
      [scenarios.retryThenSucceed, inputs.retryRate],
      [scenarios.permanent, inputs.failureRate],
      [scenarios.exhausted, inputs.exhaustedRate],
    ];
    // The exhausted scenario at the consumer's maxAttempts: add (or take off) retry increments.
    const retry = scenarios.retryThenSucceed;
    const happy = scenarios.happyBatch;
    const delta = (a: Readonly<Record<string, number>> = {}, b: Readonly<Record<string, number>> = {}) => {
      const out: Counter = {};
      add(out, a, 1);
      add(out, b, -1);
      return out;
    };
    const n = laneShare * M;
    for (const [s, rate] of weighted) {
      const k = rate * n;
      laneSqs(lane, s.poller.sqs, k * perBatch);
      laneSqs(lane, s.consumer.sqs, k);
      add(s3, s.consumer.s3, k);
      ddb.readUnits += (s.consumer.dynamodb?.readUnits ?? 0) * k;
      ddb.writeUnits += (s.consumer.dynamodb?.writeUnits ?? 0) * k;
      bump(invocations, key, (s.consumer.invocations ?? 0) * k * perBatch);
      bump(logBytes, key, (s.consumer.logBytes ?? 0) * k);
      dlqMessages += (s.dlq ?? 0) * k;
      tally.dlqMessages += (s.dlq ?? 0) * k;
      archiveRecords += (s.consumer.s3?.PutObject ?? 0) > 0 ? k : 0;
    }
    const kx = inputs.exhaustedRate * n * extraAttempts;
    if (kx !== 0) {
      laneSqs(lane, delta(retry.poller.sqs, happy.poller.sqs), kx * perBatch);
      laneSqs(lane, delta(retry.consumer.sqs, happy.consumer.sqs), kx);
      bump(
        invocations,
        key,
        ((retry.consumer.invocations ?? 0) - (happy.consumer.invocations ?? 0)) * kx * perBatch,
      );
      bump(logBytes, key, ((retry.consumer.logBytes ?? 0) - (happy.consumer.logBytes ?? 0)) * kx);
    }
  }

  // Idle long polling of every mapping, whatever the traffic.
  const pollsPerMapping =
    (requests.idlePolling.pollersPerMapping * SECONDS_PER_MONTH) / requests.idlePolling.waitTimeSeconds;
  for (const lane of facts.lanes) if (lane.consumer) laneSqs(lane, { ReceiveMessage: pollsPerMapping }, 1);

  // The scheduled DLQ sweeper reads every DLQ message on every run, as far as its timeout allows.
  const sweeper = fn('scheduled');
  let sweepSeconds = 0;
  let runs = 0;
  if (sweeper?.everyMinutes) {
    runs = SECONDS_PER_MONTH / 60 / sweeper.everyMinutes;
    const sweep = requests.dlqSweep;
    const backlog = dlqMessages * Math.min(1, facts.dlqRetentionDays / 30) || 0;
    for (const lane of facts.lanes) {
      const t = tallyOf(lane);
      t.backlog = t.dlqMessages * Math.min(1, lane.dlqRetentionDays / 30) || 0;
    }
    const laneBacklog = [...tallies.values()].reduce((a, t) => a + t.backlog, 0);
    const perRunCap = Math.max(0, (sweeper.timeoutSeconds * 1000 - sweep.reservedMs) / sweep.msPerMessage);
    const swept = Math.min(backlog, perRunCap);
    bump(invocations, 'scheduled', runs);
    bump(logBytes, 'scheduled', runs * sweep.perRun.logBytes);
    // Each DLQ: one empty receive a run, plus its part of what the run reads.
    for (const lane of facts.lanes) {
      if (!lane.dlqLogicalId) continue;
      const t = tallyOf(lane);
      const part = laneBacklog > 0 ? t.backlog / laneBacklog : 0;
      laneSqs(lane, sweep.perRun.sqsPerQueue, runs, 'sweepSqs');
      laneSqs(lane, sweep.perDlqMessagePerRun.sqs, runs * swept * part, 'sweepSqs');
      add(t.sweepS3, sweep.perDlqMessagePerRun.s3, runs * swept * part);
      t.messagesRead = runs * swept * part;
    }
    add(s3, sweep.perDlqMessagePerRun.s3, runs * swept);
    sweepSeconds = (runs * (swept * sweep.msPerMessage)) / 1000;
  }

  const lines: CostLine[] = [];
  const line = (service: string, item: string, quantity: number, unit: string, usd: number) =>
    lines.push({ service, item, quantity, unit, usd });

  line(
    'API Gateway',
    'REST API requests',
    apiRequests,
    'requests',
    (apiRequests / 1e6) * prices.apiGateway.restRequestPerMillion,
  );

  // The relay: at most one invocation per terminal outcome (at low rates each 1 s window holds one
  // record; busier streams batch up to 100), each logging one line per event.
  bump(invocations, 'relay', M);
  bump(logBytes, 'relay', M * RELAY_LOG_BYTES_PER_EVENT);

  const lambdaOf = new Map<string, { invocations: number; gbSeconds: number; usd: number }>();
  for (const f of facts.functions) {
    const count = invocations.get(keyOf(f)) ?? 0;
    const perInvocationMs = requests.perInvocation.durationMs[f.role];
    const seconds =
      f.role === 'scheduled'
        ? count * (perInvocationMs / 1000) + sweepSeconds
        : count * (perInvocationMs / 1000);
    const gbSeconds = Math.min(seconds, count * f.timeoutSeconds) * (f.memoryMb / 1024);
    const label = functionLabel(f);
    const requestsUsd = (count / 1e6) * prices.lambda.requestPerMillion;
    const durationUsd = gbSeconds * prices.lambda.gbSecond[f.architecture];
    line('Lambda', `${label} requests`, count, 'invocations', requestsUsd);
    line('Lambda', `${label} duration (${f.memoryMb} MB ${f.architecture})`, gbSeconds, 'GB-s', durationUsd);
    bump(logBytes, keyOf(f), count * requests.perInvocation.platformLogBytes);
    lambdaOf.set(f.logicalId, { invocations: count, gbSeconds, usd: requestsUsd + durationUsd });
  }

  for (const [kind, counter, price] of [
    ['standard', sqsStd, prices.sqs.standardRequestPerMillion],
    ['FIFO', sqsFifo, prices.sqs.fifoRequestPerMillion],
  ] as const)
    for (const [op, n] of Object.entries(counter))
      if (n > 0) line('SQS', `${kind} ${op}`, n, 'requests', (n / 1e6) * price);

  const S3_PUT_OPS = ['PutObject', 'CopyObject', 'ListObjectsV2'];
  const S3_GET_OPS = ['GetObject', 'HeadObject'];
  const sumOf = (counter: Counter, ops: readonly string[]) =>
    ops.reduce((a, op) => a + (counter[op] ?? 0), 0);
  const puts = sumOf(s3, S3_PUT_OPS);
  const gets = sumOf(s3, S3_GET_OPS);
  line(
    'S3',
    'PUT requests (archive records)',
    puts,
    'requests',
    (puts / 1000) * prices.s3.putCopyPostListPerThousand,
  );
  line(
    'S3',
    'GET/HEAD requests (sweeper checks)',
    gets,
    'requests',
    (gets / 1000) * prices.s3.getSelectOtherPerThousand,
  );
  const keptMonths = facts.archiveExpirationDays === undefined ? 12 : facts.archiveExpirationDays / 30;
  const storedGb = (archiveRecords * requests.archiveRecordBytes * keptMonths) / GB;
  line(
    'S3',
    `archive storage (steady state, ${facts.archiveExpirationDays ?? '365+'} days kept)`,
    storedGb,
    'GB-month',
    storedGb * prices.s3.storageGbMonth,
  );

  if (facts.dynamodbTables > 0) {
    line(
      'DynamoDB',
      'on-demand write request units',
      ddb.writeUnits,
      'WRU',
      (ddb.writeUnits / 1e6) * prices.dynamodb.writeRequestUnitPerMillion,
    );
    line(
      'DynamoDB',
      'on-demand read request units',
      ddb.readUnits,
      'RRU',
      (ddb.readUnits / 1e6) * prices.dynamodb.readRequestUnitPerMillion,
    );
  }

  // Completion events (issue 18): one per message (its one terminal outcome), published by the
  // relay; every webhook gets each event (an upper bound: a webhook may take one tenant or outcome).
  const relay = fn('relay');
  if (relay) {
    line(
      'EventBridge',
      'completion events published',
      M,
      'events',
      (M / 1e6) * prices.eventBridge.customEventPerMillion,
    );
    const calls = M * facts.apiDestinations;
    if (calls > 0)
      line(
        'EventBridge',
        `webhook deliveries (${facts.apiDestinations} API destinations)`,
        calls,
        'invocations',
        (calls / 1e6) * prices.eventBridge.apiDestinationInvocationPerMillion,
      );
  }

  const ingestedGb = ([...logBytes.values()].reduce((a, b) => a + b, 0) + apiAccessLogBytes) / GB;
  line(
    'CloudWatch',
    'Logs ingestion (function logs, EMF, API access logs)',
    ingestedGb,
    'GB',
    ingestedGb * prices.cloudWatch.logsIngestionPerGb,
  );
  const retentionMonths = (days: number | undefined) => (days === undefined ? 12 : days / 30);
  const storedLogGb =
    (facts.functions.reduce(
      (a, f) => a + (logBytes.get(keyOf(f)) ?? 0) * retentionMonths(f.logRetentionDays),
      0,
    ) +
      apiAccessLogBytes * retentionMonths(facts.apiAccessLogRetentionDays)) /
    GB;
  line(
    'CloudWatch',
    'Logs storage (steady state, uncompressed upper bound)',
    storedLogGb,
    'GB-month',
    storedLogGb * prices.cloudWatch.logsStorageGbMonth,
  );
  const metricMonths = customMetricMonths(facts, inputs, shares, requests.customMetrics, invocations, keyOf);
  line(
    'CloudWatch',
    'custom metrics (EMF; billed for the hours they receive data)',
    metricMonths,
    'metric-months',
    metricMonths * prices.cloudWatch.metricMonth,
  );
  line(
    'CloudWatch',
    `alarms (${facts.alarms} alarms)`,
    facts.alarmMetrics,
    'alarm metrics',
    facts.alarmMetrics * prices.cloudWatch.standardAlarmMetricMonth,
  );
  line(
    'CloudWatch',
    'dashboards',
    facts.dashboards,
    'dashboards',
    facts.dashboards * prices.cloudWatch.dashboardMonth,
  );

  if (facts.apiTracing || facts.functions.some((f) => f.tracing)) {
    // X-Ray's default sampling rule: the first request each second, then 5% of the rest.
    const entry = facts.apiTracing ? apiRequests : (invocations.get('producer') ?? 0);
    const traces = Math.min(entry, SECONDS_PER_MONTH) + 0.05 * Math.max(0, entry - SECONDS_PER_MONTH);
    line(
      'X-Ray',
      'traces recorded (default sampling)',
      traces,
      'traces',
      (traces / 1e6) * prices.xray.tracesRecordedPerMillion,
    );
  }
  if (facts.kmsKeys > 0)
    line('KMS', 'customer managed keys', facts.kmsKeys, 'keys', facts.kmsKeys * prices.kms.keyMonth);

  // Per lane: the same figures as the lines above, split by the lane they arise in.
  const total = (counter: Counter) => Object.values(counter).reduce((a, b) => a + b, 0);
  const lanes: LaneCost[] = facts.lanes.map((lane) => {
    const t = tallyOf(lane);
    const sqsPrice = lane.fifo ? prices.sqs.fifoRequestPerMillion : prices.sqs.standardRequestPerMillion;
    const sqsRequests = total(t.sqs);
    const sqsUsd = (sqsRequests / 1e6) * sqsPrice;
    const f = lane.consumer;
    const consumer = f
      ? { logicalId: f.logicalId, memoryMb: f.memoryMb, ...lambdaOf.get(f.logicalId)! }
      : { invocations: 0, gbSeconds: 0, usd: 0 };
    const sweepGbSeconds =
      sweeper && runs > 0
        ? ((t.messagesRead * requests.dlqSweep.msPerMessage) / 1000) * (sweeper.memoryMb / 1024)
        : 0;
    const sweepSqsRequests = total(t.sweepSqs);
    const sweepUsd =
      (sweepSqsRequests / 1e6) * sqsPrice +
      (sumOf(t.sweepS3, S3_PUT_OPS) / 1000) * prices.s3.putCopyPostListPerThousand +
      (sumOf(t.sweepS3, S3_GET_OPS) / 1000) * prices.s3.getSelectOtherPerThousand +
      (sweeper ? sweepGbSeconds * prices.lambda.gbSecond[sweeper.architecture] : 0);
    return {
      lane: lane.name,
      fifo: lane.fifo,
      share: shares.get(lane.name)!,
      messages: shares.get(lane.name)! * M,
      sqsRequests,
      sqsUsd,
      consumer,
      dlqMessages: t.dlqMessages,
      dlqSweep: {
        messagesRead: t.messagesRead,
        sqsRequests: sweepSqsRequests,
        s3Requests: total(t.sweepS3),
        gbSeconds: sweepGbSeconds,
        usd: sweepUsd,
      },
      usd: sqsUsd + consumer.usd + sweepUsd,
    };
  });

  const totalUsd = lines.reduce((a, l) => a + l.usd, 0);
  return {
    region: prices.region,
    pricesTakenOn: prices.takenOn,
    requestsStatus: requests.status,
    inputs,
    template: facts,
    lines,
    lanes,
    totalUsd,
    usdPerMillionMessages: M > 0 ? (totalUsd / M) * 1e6 : 0,
    idleUsd:
      M === 0
        ? totalUsd
        : estimateMonthlyCost(template, { ...inputs, messages: 0 }, requests, prices).totalUsd,
  };
}

/** Hours in the model's 30-day month. */
const HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600;

/**
 * The custom metrics a month of traffic is billed for, in metric-months: each metric (name × job
 * type × function) counts for the share of hours in which it receives data. A metric published
 * `k` times an hour at random is silent in an hour with probability `e^-k`, so it is billed
 * `1 - e^-k` of the month; it is published at most once per invocation (one EMF document per job
 * type and batch), so `k` is the smaller of its messages and its function's invocations an hour.
 * The sweeper's `archived` and the `archiveFailed` counts appear only when a message reaches a DLQ
 * unarchived or an archive write fails, which the traffic inputs do not model: 0 here.
 */
export function customMetricMonths(
  facts: TemplateFacts,
  inputs: CostInputs,
  shares: ReadonlyMap<string, number>,
  metrics: CustomMetrics,
  invocations: ReadonlyMap<string, number>,
  keyOf: (f: TemplateFunction) => string,
): number {
  const types = Math.max(1, metrics.jobTypes);
  /** Metric-months of `names`, each published for `messages` a month by a function invoked `calls` times. */
  const billed = (names: number, messages: number, calls: number) => {
    const perHour = Math.min(messages / types, calls) / HOURS_PER_MONTH;
    return names * types * (1 - Math.exp(-perHour));
  };
  const M = inputs.messages;
  let total = billed(metrics.producer.length, M, invocations.get('producer') ?? 0);
  const rates: Record<ScenarioKey, number> = {
    happySingle: 0,
    happyBatch: 1 - inputs.failureRate - inputs.retryRate - inputs.exhaustedRate,
    retryThenSucceed: inputs.retryRate,
    permanent: inputs.failureRate,
    exhausted: inputs.exhaustedRate,
  };
  for (const lane of facts.lanes) {
    const f = lane.consumer;
    const n = (shares.get(lane.name) ?? 0) * M;
    if (!f || n === 0) continue;
    const messagesOf = new Map<string, number>();
    for (const [scenario, rate] of Object.entries(rates) as [ScenarioKey, number][])
      for (const name of metrics.consumer[scenario] ?? [])
        messagesOf.set(name, (messagesOf.get(name) ?? 0) + rate * n);
    const calls = invocations.get(keyOf(f)) ?? 0;
    for (const messages of messagesOf.values()) if (messages > 0) total += billed(1, messages, calls);
  }
  return total;
}

/**
 * What a lane's rate limit and a deferral cost besides a message's scenario (issue 22), as
 * measured by bench/rate-limit.ts (`npm run bench:rate-limit`).
 */
export interface RateLimitCounts {
  readonly $comment?: string;
  readonly source: string;
  /**
   * Requests on a rate-limited lane's bucket row per admitted run (conditional `UpdateItem`s are
   * write units, consistent `GetItem`s read units), from a lane sized to its limit (`low`) to one
   * with many more records in flight than tokens (`high`).
   */
  readonly bucketPerRun: {
    readonly low: { readonly writeUnits: number; readonly readUnits: number };
    readonly high: { readonly writeUnits: number; readonly readUnits: number };
  };
  /** Deferrals per admitted run from no token, same two cases. */
  readonly deferralsPerRun: { readonly low: number; readonly high: number };
  /**
   * One deferral (a handler's `RetryLaterError`, a `notBefore` not due, a record without a
   * token): its `deferred` status write, its `ChangeMessageVisibility`, and its redelivery (a
   * share of a `ReceiveMessage`, up to `measuredWith.batchSize` records per receive).
   */
  readonly perDeferral: {
    readonly dynamodb: { readonly writeUnits: number };
    readonly sqs: Readonly<Record<string, number>>;
  };
}

/** What {@link rateLimitExtras} finds. */
export interface RateLimitExtras {
  readonly source: string;
  /** USD per million deferrals of a standard / FIFO queue's record. */
  readonly perDeferralUsdPerMillion: { readonly standard: number; readonly fifo: number };
  /** Extra requests and USD per million admitted runs of a rate-limited (standard) lane. */
  readonly perRun: Readonly<
    Record<
      'low' | 'high',
      {
        readonly bucketWriteUnits: number;
        readonly bucketReadUnits: number;
        readonly deferrals: number;
        readonly usdPerMillion: number;
      }
    >
  >;
  /** The template's lanes with a rate limit (their consumer's `RATE_LIMIT`), by lane. */
  readonly rateLimitedLanes: Readonly<Record<string, { readonly perSecond: number; readonly burst: number }>>;
}

/**
 * The extra cost of rate limits and deferrals per million runs or deferrals, from the measured
 * counts and the prices; and which lanes of the template have a rate limit. Not in the monthly
 * totals: how often a lane's records wait depends on its traffic against its limit, which the
 * traffic inputs do not model.
 */
export function rateLimitExtras(
  template: CfnTemplate,
  counts: RateLimitCounts,
  prices: Prices,
): RateLimitExtras {
  const deferralUsd = (fifo: boolean) =>
    counts.perDeferral.dynamodb.writeUnits * prices.dynamodb.writeRequestUnitPerMillion +
    Object.values(counts.perDeferral.sqs).reduce((a, n) => a + n, 0) *
      (fifo ? prices.sqs.fifoRequestPerMillion : prices.sqs.standardRequestPerMillion);
  const perRun = (k: 'low' | 'high') => {
    const b = counts.bucketPerRun[k];
    const deferrals = counts.deferralsPerRun[k];
    return {
      bucketWriteUnits: b.writeUnits,
      bucketReadUnits: b.readUnits,
      deferrals,
      usdPerMillion:
        b.writeUnits * prices.dynamodb.writeRequestUnitPerMillion +
        b.readUnits * prices.dynamodb.readRequestUnitPerMillion +
        deferrals * deferralUsd(false),
    };
  };
  const rateLimitedLanes: Record<string, { perSecond: number; burst: number }> = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = (r.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
    const raw = vars[consumerVariables.rateLimit.name];
    const lane = vars[consumerVariables.lane.name];
    if (typeof raw !== 'string' || typeof lane !== 'string' || raw === 'null') continue;
    try {
      const limit = JSON.parse(raw) as { perSecond?: unknown; burst?: unknown };
      if (typeof limit.perSecond === 'number' && typeof limit.burst === 'number')
        rateLimitedLanes[lane] = { perSecond: limit.perSecond, burst: limit.burst };
    } catch {
      // Not a literal (a token): the lane is not listed.
    }
  }
  return {
    source: counts.source,
    perDeferralUsdPerMillion: { standard: deferralUsd(false), fifo: deferralUsd(true) },
    perRun: { low: perRun('low'), high: perRun('high') },
    rateLimitedLanes,
  };
}
