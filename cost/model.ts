/**
 * The monthly cost model: a pure function of a synthesized CloudFormation template, the traffic
 * inputs, the requests per message (cost/requests-per-message.json) and the unit prices
 * (cost/prices.us-east-1.json). Everything the stack decides (memory sizes, architectures, batch
 * sizes, attempt budgets, retention, alarm and dashboard count, access logging, tracing, tables) is
 * read from the template, so the figure follows the stack; only traffic and per-message behaviour
 * come from the inputs.
 */
import { spec as consumerVariables } from '../lambda/consumer/config';

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
  /** Share of messages sent to the FIFO queue. @default 0 */
  readonly fifoShare: number;
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
  readonly customMetrics: { readonly count: number };
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
}

/** What a function does in the pipeline, found from what triggers it in the template. */
export const FUNCTION_ROLES = ['producer', 'consumer', 'fifoConsumer', 'scheduled'] as const;
/** One of {@link FUNCTION_ROLES}. */
export type FunctionRole = (typeof FUNCTION_ROLES)[number];

/** How the estimate names a function of each role. */
export const ROLE_LABELS: Readonly<Record<FunctionRole, string>> = {
  producer: 'producer',
  consumer: 'consumer',
  fifoConsumer: 'FIFO consumer',
  scheduled: 'DLQ sweeper',
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
}

/** What the model read from a template; printed with the estimate so a reader can check it. */
export interface TemplateFacts {
  readonly functions: readonly TemplateFunction[];
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

/** The result of {@link estimateMonthlyCost}. */
export interface CostEstimate {
  readonly region: string;
  readonly pricesTakenOn: string;
  readonly requestsStatus: string;
  readonly inputs: CostInputs;
  readonly template: TemplateFacts;
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  /** Cost of one million messages at these inputs. */
  readonly usdPerMillionMessages: number;
}

/** Thrown when a template lacks something the model needs; the message names it. */
export class CostModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostModelError';
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
    if (mapping) {
      const queue = byId(refOf(mapping[1].Properties?.EventSourceArn) ?? '');
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

  return {
    functions,
    queues: {
      standard: queues.filter(([id, q]) => !dlqIds.has(id) && !isFifo(q)).length,
      fifo: queues.filter(([id, q]) => !dlqIds.has(id) && isFifo(q)).length,
      dlqs: dlqIds.size,
    },
    dlqRetentionDays: Math.max(
      0,
      ...queues
        .filter(([id]) => dlqIds.has(id))
        .map(([, q]) => Number(q.Properties?.MessageRetentionPeriod ?? 345_600) / 86_400),
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
    archiveExpirationDays: typeof expiration === 'number' ? expiration : undefined,
  };
}

type Counter = Record<string, number>;

function add(into: Counter, from: Readonly<Record<string, number>> | undefined, factor: number): void {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v * factor;
}

/** Validates inputs; throws {@link CostModelError} naming the first bad one. */
export function validateInputs(inputs: CostInputs): void {
  if (!Number.isFinite(inputs.messages) || inputs.messages < 0)
    throw new CostModelError(`messages must be a number >= 0, got ${inputs.messages}`);
  for (const k of ['failureRate', 'retryRate', 'exhaustedRate', 'batchShare', 'fifoShare'] as const)
    if (!(inputs[k] >= 0 && inputs[k] <= 1))
      throw new CostModelError(`${k} must be between 0 and 1, got ${inputs[k]}`);
  if (inputs.failureRate + inputs.retryRate + inputs.exhaustedRate > 1)
    throw new CostModelError('failureRate + retryRate + exhaustedRate must not exceed 1');
  if (!(inputs.messageBytes > 0 && inputs.messageBytes <= 1024 * 1024))
    throw new CostModelError(`messageBytes must be between 1 and 1048576, got ${inputs.messageBytes}`);
}

/**
 * The monthly cost of a stage, itemized.
 *
 * @example
 * const estimate = estimateMonthlyCost(template, { ...DEFAULT_INPUTS, messages: 1e6 }, requests, prices);
 * console.log(estimate.totalUsd);
 */
export function estimateMonthlyCost(
  template: CfnTemplate,
  inputs: CostInputs,
  requests: RequestsPerMessage,
  prices: Prices,
): CostEstimate {
  validateInputs(inputs);
  const facts = readTemplate(template);
  const { scenarios, measuredWith } = requests;
  const M = inputs.messages;
  const GB = 1024 ** 3;
  const chunks = Math.max(1, Math.ceil(inputs.messageBytes / prices.sqs.chunkBytes));
  const batchChunks = Math.max(1, Math.ceil((10 * inputs.messageBytes) / prices.sqs.chunkBytes));

  const sqsStd: Counter = {};
  const sqsFifo: Counter = {};
  const s3: Counter = {};
  const ddb = { readUnits: 0, writeUnits: 0 };
  const invocations: Record<FunctionRole, number> = {
    producer: 0,
    consumer: 0,
    fifoConsumer: 0,
    scheduled: 0,
  };
  const logBytes: Record<FunctionRole | 'apiAccess', number> = {
    producer: 0,
    consumer: 0,
    fifoConsumer: 0,
    scheduled: 0,
    apiAccess: 0,
  };
  const fn = (role: FunctionRole) => facts.functions.find((f) => f.role === role);
  const sqsCost = (counter: Counter, ops: Readonly<Record<string, number>> | undefined, factor: number) => {
    for (const [op, n] of Object.entries(ops ?? {}))
      counter[op] = (counter[op] ?? 0) + n * factor * (op.endsWith('Batch') ? batchChunks : chunks);
  };

  // Producer side: a mix of single and batch POSTs.
  let apiRequests = 0;
  for (const [scenario, share] of [
    [scenarios.happyBatch, inputs.batchShare],
    [scenarios.happySingle, 1 - inputs.batchShare],
  ] as const) {
    const p = scenario.producer;
    apiRequests += (p.apiRequests ?? 0) * share * M;
    invocations.producer += (p.invocations ?? 0) * share * M;
    logBytes.producer += (p.logBytes ?? 0) * share * M;
    sqsCost(sqsStd, p.sqs, share * M * (1 - inputs.fifoShare));
    sqsCost(sqsFifo, p.sqs, share * M * inputs.fifoShare);
  }
  logBytes.apiAccess = facts.apiAccessLogs ? apiRequests * requests.apiAccessLogBytesPerRequest : 0;

  // Consumer side: scenarios weighted by their rates, per queue kind, rescaled to the template.
  const happyShare = 1 - inputs.failureRate - inputs.retryRate - inputs.exhaustedRate;
  let dlqMessages = 0;
  let archiveRecords = 0;
  for (const [role, kindShare, counter] of [
    ['consumer', 1 - inputs.fifoShare, sqsStd],
    ['fifoConsumer', inputs.fifoShare, sqsFifo],
  ] as const) {
    if (kindShare === 0) continue;
    const f = fn(role);
    if (!f) throw new CostModelError(`fifoShare/standard share > 0 but the template has no ${role} function`);
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
    const n = kindShare * M;
    for (const [s, rate] of weighted) {
      const k = rate * n;
      sqsCost(counter, s.poller.sqs, k * perBatch);
      sqsCost(counter, s.consumer.sqs, k);
      add(s3, s.consumer.s3, k);
      ddb.readUnits += (s.consumer.dynamodb?.readUnits ?? 0) * k;
      ddb.writeUnits += (s.consumer.dynamodb?.writeUnits ?? 0) * k;
      invocations[role] += (s.consumer.invocations ?? 0) * k * perBatch;
      logBytes[role] += (s.consumer.logBytes ?? 0) * k;
      dlqMessages += (s.dlq ?? 0) * k;
      archiveRecords += (s.consumer.s3?.PutObject ?? 0) > 0 ? k : 0;
    }
    const kx = inputs.exhaustedRate * n * extraAttempts;
    if (kx !== 0) {
      sqsCost(counter, delta(retry.poller.sqs, happy.poller.sqs), kx * perBatch);
      sqsCost(counter, delta(retry.consumer.sqs, happy.consumer.sqs), kx);
      invocations[role] +=
        ((retry.consumer.invocations ?? 0) - (happy.consumer.invocations ?? 0)) * kx * perBatch;
      logBytes[role] += ((retry.consumer.logBytes ?? 0) - (happy.consumer.logBytes ?? 0)) * kx;
    }
  }

  // Idle long polling of every mapping, whatever the traffic.
  const pollsPerMapping =
    (requests.idlePolling.pollersPerMapping * SECONDS_PER_MONTH) / requests.idlePolling.waitTimeSeconds;
  for (const f of facts.functions) {
    if (f.role === 'consumer') add(sqsStd, { ReceiveMessage: pollsPerMapping }, 1);
    if (f.role === 'fifoConsumer') add(sqsFifo, { ReceiveMessage: pollsPerMapping }, 1);
  }

  // The scheduled DLQ sweeper reads every DLQ message on every run, as far as its timeout allows.
  const sweeper = fn('scheduled');
  let sweepSeconds = 0;
  if (sweeper?.everyMinutes) {
    const runs = SECONDS_PER_MONTH / 60 / sweeper.everyMinutes;
    const sweep = requests.dlqSweep;
    const backlog = dlqMessages * Math.min(1, facts.dlqRetentionDays / 30) || 0;
    const perRunCap = Math.max(0, (sweeper.timeoutSeconds * 1000 - sweep.reservedMs) / sweep.msPerMessage);
    const swept = Math.min(backlog, perRunCap);
    invocations.scheduled += runs;
    logBytes.scheduled += runs * sweep.perRun.logBytes;
    // DLQs of both kinds: split the sweep by queue kind like the traffic.
    for (const [counter, share, queues] of [
      [sqsStd, 1 - inputs.fifoShare, facts.queues.standard],
      [sqsFifo, inputs.fifoShare, facts.queues.fifo],
    ] as const) {
      add(counter, sweep.perRun.sqsPerQueue, runs * queues);
      sqsCost(counter, sweep.perDlqMessagePerRun.sqs, runs * swept * share);
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

  for (const f of facts.functions) {
    const count = invocations[f.role];
    const perInvocationMs = requests.perInvocation.durationMs[f.role];
    const seconds =
      f.role === 'scheduled'
        ? count * (perInvocationMs / 1000) + sweepSeconds
        : count * (perInvocationMs / 1000);
    const gbSeconds = Math.min(seconds, count * f.timeoutSeconds) * (f.memoryMb / 1024);
    line(
      'Lambda',
      `${ROLE_LABELS[f.role]} requests`,
      count,
      'invocations',
      (count / 1e6) * prices.lambda.requestPerMillion,
    );
    line(
      'Lambda',
      `${ROLE_LABELS[f.role]} duration (${f.memoryMb} MB ${f.architecture})`,
      gbSeconds,
      'GB-s',
      gbSeconds * prices.lambda.gbSecond[f.architecture],
    );
    logBytes[f.role] += count * requests.perInvocation.platformLogBytes;
  }

  for (const [kind, counter, price] of [
    ['standard', sqsStd, prices.sqs.standardRequestPerMillion],
    ['FIFO', sqsFifo, prices.sqs.fifoRequestPerMillion],
  ] as const)
    for (const [op, n] of Object.entries(counter))
      if (n > 0) line('SQS', `${kind} ${op}`, n, 'requests', (n / 1e6) * price);

  const puts = (s3.PutObject ?? 0) + (s3.CopyObject ?? 0) + (s3.ListObjectsV2 ?? 0);
  const gets = (s3.GetObject ?? 0) + (s3.HeadObject ?? 0);
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

  const ingestedGb = Object.values(logBytes).reduce((a, b) => a + b, 0) / GB;
  line(
    'CloudWatch',
    'Logs ingestion (function logs, EMF, API access logs)',
    ingestedGb,
    'GB',
    ingestedGb * prices.cloudWatch.logsIngestionPerGb,
  );
  const retentionMonths = (days: number | undefined) => (days === undefined ? 12 : days / 30);
  const storedLogGb =
    (facts.functions.reduce((a, f) => a + logBytes[f.role] * retentionMonths(f.logRetentionDays), 0) +
      logBytes.apiAccess * retentionMonths(facts.apiAccessLogRetentionDays)) /
    GB;
  line(
    'CloudWatch',
    'Logs storage (steady state, uncompressed upper bound)',
    storedLogGb,
    'GB-month',
    storedLogGb * prices.cloudWatch.logsStorageGbMonth,
  );
  line(
    'CloudWatch',
    'custom metrics (EMF)',
    requests.customMetrics.count,
    'metrics',
    requests.customMetrics.count * prices.cloudWatch.metricMonth,
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
    const entry = facts.apiTracing ? apiRequests : invocations.producer;
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

  const totalUsd = lines.reduce((a, l) => a + l.usd, 0);
  return {
    region: prices.region,
    pricesTakenOn: prices.takenOn,
    requestsStatus: requests.status,
    inputs,
    template: facts,
    lines,
    totalUsd,
    usdPerMillionMessages: M > 0 ? (totalUsd / M) * 1e6 : 0,
  };
}
