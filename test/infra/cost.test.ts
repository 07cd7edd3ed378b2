import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadCostData, main } from '../../cost/cli';
import {
  CostInputError,
  CostModelError,
  DEFAULT_INPUTS,
  estimateMonthlyCost,
  LANE_TAG,
  readTemplate,
  SECONDS_PER_MONTH,
  type CfnTemplate,
  type CostEstimate,
  type CostInputs,
  type Prices,
  type RequestsPerMessage,
} from '../../cost/model';
import { loadStageConfig } from '../../app/stages';
import { EventPipeline, LANE_TAG as CONSTRUCT_LANE_TAG } from 'event-pipeline';
import { synthConfig, synthStage, testApp } from '../helpers/synth';

const { prices, requests } = loadCostData();
const inputs = (over: Partial<CostInputs> = {}): CostInputs => ({
  ...DEFAULT_INPUTS,
  messages: 1e6,
  ...over,
});
const lineOf = (e: CostEstimate, item: string) => {
  const found = e.lines.filter((l) => l.item === item);
  expect(found, `one line "${item}" in ${e.lines.map((l) => l.item).join(' | ')}`).toHaveLength(1);
  return found[0]!;
};
const templateOf = (t: { toJSON(): unknown }) => t.toJSON() as CfnTemplate;
const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
const laneOf = (e: CostEstimate, name: string) => e.lanes.find((l) => l.lane === name)!;
const CUSTOM_METRICS = 'custom metrics (EMF; billed for the hours they receive data)';

const FIXTURES = join(__dirname, '..', 'fixtures', 'cost-lane');
let customLanes: CfnTemplate | undefined;
/**
 * A dev pipeline with two custom lanes besides the default ones: `mail` (standard; 1024 MB, 60 s,
 * batches of 5, 3 attempts) and `ledger` (FIFO, the FIFO defaults). Synthesized once, read-only.
 */
function customLaneTemplate(): CfnTemplate {
  if (!customLanes) {
    const stack = new Stack(testApp({ builtinCloudFormationValidation: false }), 'CostLanes');
    new EventPipeline(stack, 'Default', {
      stage: 'dev',
      jobs: [join(FIXTURES, 'mail-send.ts'), join(FIXTURES, 'ledger-append.ts')],
      lanes: {
        mail: { memoryMb: 1024, timeoutSeconds: 60, batchSize: 5, maxAttempts: 3 },
        ledger: { fifo: true },
      },
    });
    customLanes = templateOf(Template.fromStack(stack));
  }
  return customLanes;
}

describe('cost model on the synthesized stage', () => {
  it('reads the functions, queues, alarms and retention of the prod template', () => {
    const facts = readTemplate(templateOf(synthStage('prod')));
    const config = loadStageConfig('prod');

    expect(facts.functions.map((f) => f.role).sort()).toEqual([
      'consumer',
      'fifoConsumer',
      'producer',
      'relay',
      'scheduled',
    ]);
    expect(facts.functions.find((f) => f.role === 'relay')).toMatchObject({
      memoryMb: 256,
      timeoutSeconds: 30,
    });
    expect(facts.apiDestinations).toBe(0);
    const consumer = facts.functions.find((f) => f.role === 'consumer')!;
    expect(consumer).toMatchObject({
      memoryMb: config.consumer.memoryMb,
      timeoutSeconds: config.consumer.timeoutSeconds,
      architecture: 'arm64',
      batchSize: config.consumer.batchSize,
      maxAttempts: config.maxAttempts,
      logRetentionDays: config.logRetentionDays,
    });
    expect(facts.functions.find((f) => f.role === 'scheduled')?.everyMinutes).toBe(config.sweepEveryMinutes);
    expect(facts.queues).toEqual({ standard: 1, fifo: 1, dlqs: 2 });
    expect(facts.dlqRetentionDays).toBe(14);
    expect(facts.apiAccessLogs).toBe(true);
    expect(facts.alarms).toBeGreaterThan(0);
    expect(facts.dashboards).toBe(1);
    expect(facts.archiveExpirationDays).toBe(config.archiveExpirationDays);
  });

  it('follows a consumer memory size change in the stage config into the Lambda GB-s figure only', () => {
    const base = loadStageConfig('prod');
    const doubled = synthConfig({
      ...base,
      consumer: { ...base.consumer, memoryMb: base.consumer.memoryMb * 2 },
    });

    const before = estimateMonthlyCost(templateOf(synthStage('prod')), inputs(), requests, prices);
    const after = estimateMonthlyCost(templateOf(doubled), inputs(), requests, prices);

    const mb = base.consumer.memoryMb;
    const gbBefore = lineOf(before, `consumer duration (${mb} MB arm64)`);
    const gbAfter = lineOf(after, `consumer duration (${mb * 2} MB arm64)`);
    expect(gbAfter.quantity).toBeCloseTo(gbBefore.quantity * 2, 6);
    expect(gbAfter.usd).toBeCloseTo(gbBefore.usd * 2, 9);
    expect(after.totalUsd - before.totalUsd).toBeCloseTo(gbAfter.usd - gbBefore.usd, 9);
  });

  it('prices completion events: one per message, the relay, and each webhook; none when the stage turns them off', () => {
    const base = loadStageConfig('prod');
    const hook = { url: 'https://hooks.example.com/x', auth: { header: 'x-key', secretName: 's' } };
    const withHooks = synthConfig({
      ...base,
      completionEvents: {
        enabled: true,
        webhooks: [
          { name: 'a', ...hook },
          { name: 'b', ...hook },
        ],
      },
    });
    const without = synthConfig({ ...base, completionEvents: { enabled: false, webhooks: [] } });

    const hooked = estimateMonthlyCost(templateOf(withHooks), inputs(), requests, prices);
    const off = estimateMonthlyCost(templateOf(without), inputs(), requests, prices);

    const M = inputs().messages;
    expect(lineOf(hooked, 'completion events published')).toMatchObject({
      quantity: M,
      usd: (M / 1e6) * 1.0,
    });
    expect(lineOf(hooked, 'webhook deliveries (2 API destinations)')).toMatchObject({
      quantity: 2 * M,
      usd: ((2 * M) / 1e6) * 0.2,
    });
    expect(lineOf(hooked, 'completion relay requests').quantity).toBe(M);
    expect(
      off.lines.filter((l) => l.service === 'EventBridge' || l.item.startsWith('completion relay')),
    ).toEqual([]);
  });

  it('follows the mapping batch size into invocations and receives', () => {
    const base = loadStageConfig('prod');
    const halved = synthConfig({
      ...base,
      consumer: { ...base.consumer, batchSize: base.consumer.batchSize / 2 },
    });

    const before = estimateMonthlyCost(templateOf(synthStage('prod')), inputs(), requests, prices);
    const after = estimateMonthlyCost(templateOf(halved), inputs(), requests, prices);

    expect(lineOf(after, 'consumer requests').quantity).toBeCloseTo(
      lineOf(before, 'consumer requests').quantity * 2,
      3,
    );
    expect(lineOf(after, 'standard DeleteMessageBatch').quantity).toBeCloseTo(
      lineOf(before, 'standard DeleteMessageBatch').quantity * 2,
      3,
    );
  });

  it("follows the consumers' attempt budget into the visibility changes of exhausted messages", () => {
    const base = loadStageConfig('prod');
    const more = synthConfig({ ...base, maxAttempts: base.maxAttempts + 2 });
    const only = inputs({ failureRate: 0, retryRate: 0, exhaustedRate: 0.1 });

    const before = estimateMonthlyCost(templateOf(synthStage('prod')), only, requests, prices);
    const after = estimateMonthlyCost(templateOf(more), only, requests, prices);

    // Each extra attempt adds one ChangeMessageVisibility per exhausted message.
    expect(lineOf(after, 'standard ChangeMessageVisibility').quantity).toBeCloseTo(
      lineOf(before, 'standard ChangeMessageVisibility').quantity + 2 * 0.1 * 1e6,
      3,
    );
  });

  it('lists the default lanes of the prod template, each with its consumer', () => {
    const facts = readTemplate(templateOf(synthStage('prod')));
    const config = loadStageConfig('prod');

    expect(facts.lanes.map((l) => [l.name, l.fifo, l.tagged])).toEqual([
      ['standard', false, true],
      ['fifo', true, true],
    ]);
    expect(facts.lanes[1]!.consumer).toMatchObject({
      role: 'fifoConsumer',
      lane: 'fifo',
      memoryMb: config.fifoConsumer.memoryMb,
      batchSize: config.fifoConsumer.batchSize,
      maxAttempts: config.maxAttempts,
    });
    expect(facts.lanes.map((l) => l.dlqRetentionDays)).toEqual([14, 14]);
  });

  it('splits the prod estimate into the standard and fifo lanes by fifoShare', () => {
    const e = estimateMonthlyCost(
      templateOf(synthStage('prod')),
      inputs({ fifoShare: 0.25 }),
      requests,
      prices,
    );
    const mb = loadStageConfig('prod').consumer.memoryMb;

    expect(e.lanes.map((l) => [l.lane, l.share, l.messages])).toEqual([
      ['standard', 0.75, 750_000],
      ['fifo', 0.25, 250_000],
    ]);
    expect(laneOf(e, 'standard').consumer.gbSeconds).toBe(
      lineOf(e, `consumer duration (${mb} MB arm64)`).quantity,
    );
    expect(laneOf(e, 'fifo').sqsRequests).toBeGreaterThan(0);
  });

  it('prices a template without lane tags as its two default lanes, with the same figures', () => {
    const tagged = templateOf(synthStage('prod'));
    const untagged = structuredClone(tagged) as {
      Resources: Record<string, { Properties?: { Tags?: unknown } }>;
    };
    for (const r of Object.values(untagged.Resources)) delete r.Properties?.Tags;
    const mixed = inputs({ fifoShare: 0.3 });

    const before = estimateMonthlyCost(tagged, mixed, requests, prices);
    const after = estimateMonthlyCost(untagged as CfnTemplate, mixed, requests, prices);

    expect(readTemplate(untagged as CfnTemplate).lanes.map((l) => [l.name, l.tagged])).toEqual([
      ['standard', false],
      ['fifo', false],
    ]);
    expect(after.lines).toEqual(before.lines);
    expect(after.lanes).toEqual(before.lanes);
  });

  it('prices the template of every stage', () => {
    for (const stage of ['dev', 'staging', 'prod', 'local'] as const) {
      const e = estimateMonthlyCost(templateOf(synthStage(stage)), inputs(), requests, prices);
      expect(e.totalUsd, stage).toBeGreaterThan(0);
      expect(
        e.lines.every((l) => Number.isFinite(l.usd) && l.usd >= 0),
        stage,
      ).toBe(true);
    }
  });
});

describe('cost model per lane', () => {
  it('reads each lane from its queue tag, with its consumer settings', () => {
    const facts = readTemplate(customLaneTemplate());

    expect(facts.lanes.map((l) => [l.name, l.fifo, l.tagged])).toEqual([
      ['standard', false, true],
      ['fifo', true, true],
      ['mail', false, true],
      ['ledger', true, true],
    ]);
    expect(facts.lanes.find((l) => l.name === 'mail')!.consumer).toMatchObject({
      role: 'consumer',
      lane: 'mail',
      memoryMb: 1024,
      timeoutSeconds: 60,
      batchSize: 5,
      maxAttempts: 3,
    });
    expect(facts.lanes.find((l) => l.name === 'ledger')!.consumer).toMatchObject({
      role: 'fifoConsumer',
      lane: 'ledger',
    });
    expect(facts.queues).toEqual({ standard: 2, fifo: 2, dlqs: 4 });
  });

  it("prices a custom lane's share with its own consumer's memory and batch size", () => {
    // Half the messages in the standard lane (512 MB, batches of 10), half in mail (1024 MB, batches of 5).
    const happy = inputs({ failureRate: 0, retryRate: 0, exhaustedRate: 0, laneShares: { mail: 0.5 } });

    const e = estimateMonthlyCost(customLaneTemplate(), happy, requests, prices);

    const mail = lineOf(e, 'mail lane consumer duration (1024 MB arm64)');
    expect(lineOf(e, 'mail lane consumer requests').quantity).toBeCloseTo(
      2 * lineOf(e, 'consumer requests').quantity,
      6,
    );
    expect(mail.quantity).toBeCloseTo(4 * lineOf(e, 'consumer duration (512 MB arm64)').quantity, 6);
    expect(laneOf(e, 'mail')).toMatchObject({ share: 0.5, messages: 500_000, fifo: false });
    expect(laneOf(e, 'mail').consumer).toMatchObject({ memoryMb: 1024, gbSeconds: mail.quantity });
    expect(laneOf(e, 'standard').share).toBe(0.5);
  });

  it("follows a lane's attempt budget into its exhausted messages only", () => {
    const exhausted = inputs({ failureRate: 0, retryRate: 0, exhaustedRate: 0.1 });
    const only = (lane: string) =>
      estimateMonthlyCost(
        customLaneTemplate(),
        { ...exhausted, laneShares: lane === 'standard' ? {} : { [lane]: 1 } },
        requests,
        prices,
      );

    // The same traffic in the standard lane (5 attempts) and in mail (3, as measured): mail's
    // exhausted messages take 2 fewer visibility changes each.
    expect(lineOf(only('standard'), 'standard ChangeMessageVisibility').quantity).toBeCloseTo(
      lineOf(only('mail'), 'standard ChangeMessageVisibility').quantity + 2 * 0.1 * 1e6,
      3,
    );
  });

  it('adds up: lanes and their DLQ sweeps make the SQS lines, lane consumers the consumer lines', () => {
    const e = estimateMonthlyCost(
      customLaneTemplate(),
      inputs({ fifoShare: 0.1, laneShares: { mail: 0.2, ledger: 0.1 } }),
      requests,
      prices,
    );
    const consumerLines = e.lines.filter((l) => /consumer (requests|duration)/.test(l.item));

    expect(e.lanes.map((l) => l.lane)).toEqual(['standard', 'fifo', 'mail', 'ledger']);
    expect(laneOf(e, 'standard').share).toBeCloseTo(0.6, 12);
    expect(sum(e.lanes, (l) => l.sqsRequests + l.dlqSweep.sqsRequests)).toBeCloseTo(
      sum(
        e.lines.filter((l) => l.service === 'SQS'),
        (l) => l.quantity,
      ),
      3,
    );
    expect(consumerLines).toHaveLength(8);
    expect(sum(e.lanes, (l) => l.consumer.usd)).toBeCloseTo(
      sum(consumerLines, (l) => l.usd),
      9,
    );
    expect(sum(e.lanes, (l) => l.dlqSweep.s3Requests)).toBeCloseTo(
      lineOf(e, 'GET/HEAD requests (sweeper checks)').quantity,
      3,
    );
    // Every DLQ keeps messages 14 days: the sweeper reads each in proportion to its lane's traffic.
    expect(laneOf(e, 'standard').dlqSweep.messagesRead).toBeCloseTo(
      3 * laneOf(e, 'mail').dlqSweep.messagesRead,
      3,
    );
    for (const l of e.lanes) expect(l.usd).toBeCloseTo(l.sqsUsd + l.consumer.usd + l.dlqSweep.usd, 12);
  });

  it('leaves a custom lane without traffic its fixed part: idle polling and an empty receive per sweep', () => {
    const t = customLaneTemplate();
    const e = estimateMonthlyCost(t, inputs(), requests, prices);
    const sweeper = readTemplate(t).functions.find((f) => f.role === 'scheduled')!;
    const runs = SECONDS_PER_MONTH / 60 / sweeper.everyMinutes!;
    const { pollersPerMapping, waitTimeSeconds } = requests.idlePolling;

    const mail = laneOf(e, 'mail');
    expect(mail).toMatchObject({ share: 0, messages: 0, dlqMessages: 0 });
    expect(mail.consumer.invocations).toBe(0);
    expect(mail.sqsRequests).toBeCloseTo((pollersPerMapping * SECONDS_PER_MONTH) / waitTimeSeconds, 6);
    expect(mail.dlqSweep).toMatchObject({ messagesRead: 0, s3Requests: 0 });
    expect(mail.dlqSweep.sqsRequests).toBeCloseTo(
      runs * requests.dlqSweep.perRun.sqsPerQueue.ReceiveMessage!,
      6,
    );
  });

  it('refuses shares adding up to more than 1 and shares of lanes the template lacks, in one line', () => {
    const t = customLaneTemplate();
    const estimate = (over: Partial<CostInputs>) => () =>
      estimateMonthlyCost(t, inputs(over), requests, prices);

    expect(estimate({ fifoShare: 0.5, laneShares: { mail: 0.6 } })).toThrow(CostInputError);
    expect(estimate({ fifoShare: 0.5, laneShares: { mail: 0.6 } })).toThrow(
      /^fifoShare \+ laneShares must not exceed 1, got 1.1 \(fifo 0.5, mail 0.6\)$/,
    );
    expect(estimate({ laneShares: { thumbnails: 0.1 } })).toThrow(
      /^laneShares names lane "thumbnails", which the template does not have \(lanes: standard, fifo, mail, ledger\)$/,
    );
    expect(estimate({ laneShares: { standard: 0.1 } })).toThrow(/cannot name the standard lane/);
    expect(estimate({ laneShares: { mail: -0.1 } })).toThrow(/^laneShares.mail must be between 0 and 1/);
    // Shares that add up to 1 only up to rounding are accepted; the standard lane gets nothing.
    const full = estimateMonthlyCost(
      t,
      inputs({ fifoShare: 0.1, laneShares: { mail: 0.7, ledger: 0.2 } }),
      requests,
      prices,
    );
    expect(laneOf(full, 'standard').share).toBe(0);
  });

  it("keeps the construct's lane tag", () => {
    expect(LANE_TAG).toBe(CONSTRUCT_LANE_TAG);
  });
});

/** A three-function pipeline: API method → producer; queue (+DLQ) → consumer; schedule → sweeper. */
function smallTemplate(
  over: { memory?: number; arch?: string; table?: boolean; tracing?: boolean } = {},
): CfnTemplate {
  const fn = (memory: number) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      MemorySize: memory,
      Timeout: 10,
      Architectures: [over.arch ?? 'arm64'],
      ...(over.tracing ? { TracingConfig: { Mode: 'Active' } } : {}),
      LoggingConfig: { LogGroup: { Ref: 'Logs' } },
    },
  });
  return {
    Resources: {
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
      Producer: fn(1024),
      Consumer: fn(over.memory ?? 2048),
      Sweeper: fn(1024),
      Dlq: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 30 * 86_400 } },
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 2 },
        },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { Ref: 'Consumer' },
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          BatchSize: 5,
        },
      },
      Method: {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          Integration: { Uri: { 'Fn::Join': ['', ['arn:', { 'Fn::GetAtt': ['Producer', 'Arn'] }]] } },
        },
      },
      Schedule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(1 day)',
          Targets: [{ Arn: { 'Fn::GetAtt': ['Sweeper', 'Arn'] } }],
        },
      },
      Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'x' } },
      MathAlarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Metrics: [{ MetricStat: {} }, { MetricStat: {} }, { Expression: 'a+b' }] },
      },
      ...(over.table
        ? { Table: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'PAY_PER_REQUEST' } } }
        : {}),
    },
  };
}

/** Round prices and a requests file whose figures are easy to follow by hand. */
const PRICES: Prices = {
  ...prices,
  apiGateway: { restRequestPerMillion: 4 },
  lambda: { requestPerMillion: 1, gbSecond: { x86_64: 0.02, arm64: 0.01 } },
  sqs: { standardRequestPerMillion: 1, fifoRequestPerMillion: 2, chunkBytes: 65_536 },
  s3: { putCopyPostListPerThousand: 0.01, getSelectOtherPerThousand: 0.001, storageGbMonth: 1 },
  cloudWatch: {
    logsIngestionPerGb: 1,
    logsStorageGbMonth: 0,
    metricMonth: 1,
    standardAlarmMetricMonth: 1,
    dashboardMonth: 5,
  },
  dynamodb: { writeRequestUnitPerMillion: 1, readRequestUnitPerMillion: 1, storageGbMonth: 0 },
  xray: { tracesRecordedPerMillion: 10 },
};
const ZERO = { producer: {}, poller: {}, consumer: {} };
const REQUESTS: RequestsPerMessage = {
  status: 'test figures',
  measuredWith: { batchSize: 10, maxAttempts: 2 },
  scenarios: {
    happySingle: ZERO,
    happyBatch: {
      producer: { apiRequests: 0.1, invocations: 0.1, sqs: { SendMessageBatch: 0.1 } },
      poller: { sqs: { ReceiveMessage: 0.1 } },
      consumer: { invocations: 0.1, dynamodb: { writeUnits: 2 } },
    },
    retryThenSucceed: ZERO,
    permanent: ZERO,
    exhausted: ZERO,
  },
  perInvocation: {
    platformLogBytes: 0,
    durationMs: { producer: 100, consumer: 1000, fifoConsumer: 0, scheduled: 0, relay: 0 },
  },
  apiAccessLogBytesPerRequest: 0,
  archiveRecordBytes: 0,
  dlqSweep: {
    perRun: { sqsPerQueue: {}, logBytes: 0 },
    perDlqMessagePerRun: { sqs: {}, s3: {} },
    msPerMessage: 1,
    reservedMs: 0,
  },
  idlePolling: { pollersPerMapping: 0, waitTimeSeconds: 20 },
  customMetrics: {
    jobTypes: 1,
    producer: ['accepted'],
    consumer: {
      happySingle: ['processed'],
      happyBatch: ['processed'],
      retryThenSucceed: ['failed', 'processed'],
      permanent: ['failed', 'archived', 'deadLettered'],
      exhausted: ['failed', 'archived', 'deadLettered'],
    },
  },
};
const HAPPY: CostInputs = {
  ...DEFAULT_INPUTS,
  messages: 1e6,
  failureRate: 0,
  retryRate: 0,
  exhaustedRate: 0,
};

describe('cost model arithmetic', () => {
  it('prices a million happy batch messages line by line', () => {
    const e = estimateMonthlyCost(smallTemplate(), HAPPY, REQUESTS, PRICES);

    expect(lineOf(e, 'REST API requests')).toMatchObject({ quantity: 100_000, usd: 0.4 });
    // 1e6 messages / batch of 5 in the template (measured at 10): 200k invocations of 1 s at 2 GB.
    expect(lineOf(e, 'consumer requests').quantity).toBeCloseTo(200_000, 6);
    expect(lineOf(e, 'consumer duration (2048 MB arm64)').quantity).toBeCloseTo(400_000, 6);
    expect(lineOf(e, 'consumer duration (2048 MB arm64)').usd).toBeCloseTo(4000, 6);
    expect(lineOf(e, 'producer duration (1024 MB arm64)').quantity).toBeCloseTo(10_000, 6);
    expect(lineOf(e, 'standard SendMessageBatch').quantity).toBeCloseTo(100_000, 6);
    expect(lineOf(e, 'standard ReceiveMessage').quantity).toBeCloseTo(200_000, 6);
    expect(lineOf(e, 'alarms (2 alarms)')).toMatchObject({ quantity: 3, usd: 3 });
    // accepted (producer) and processed (consumer), each received data in (nearly) every hour.
    expect(lineOf(e, CUSTOM_METRICS).quantity).toBeCloseTo(2, 9);
    expect(lineOf(e, CUSTOM_METRICS).usd).toBeCloseTo(2, 9);
    // The sweeper runs once a day, with nothing in its DLQ.
    expect(lineOf(e, 'DLQ sweeper requests').quantity).toBeCloseTo(30, 9);
    expect(e.lines.some((l) => l.service === 'DynamoDB')).toBe(false);
    expect(e.totalUsd).toBeCloseTo(
      e.lines.reduce((a, l) => a + l.usd, 0),
      12,
    );
    expect(e.usdPerMillionMessages).toBeCloseTo(e.totalUsd, 12);
  });

  it('bills a custom metric for the share of hours it receives data, nothing at 0 messages', () => {
    // 7,200 messages a month in batches of 5 (1,440 consumer invocations, 720 producer ones): the
    // producer's accepted is published once an hour on average, processed twice.
    const few = estimateMonthlyCost(smallTemplate(), { ...HAPPY, messages: 7200 }, REQUESTS, PRICES);
    expect(lineOf(few, CUSTOM_METRICS).quantity).toBeCloseTo(1 - Math.exp(-1) + 1 - Math.exp(-2), 9);
    // With 2 job types sharing the traffic: 2 metrics each, each half as often (capped by invocations).
    const twoTypes = { ...REQUESTS, customMetrics: { ...REQUESTS.customMetrics, jobTypes: 2 } };
    const split = estimateMonthlyCost(smallTemplate(), { ...HAPPY, messages: 7200 }, twoTypes, PRICES);
    expect(lineOf(split, CUSTOM_METRICS).quantity).toBeCloseTo(
      2 * (1 - Math.exp(-1)) + 2 * (1 - Math.exp(-2)),
      9,
    );
    // Failures add their metrics: 1% permanent failures are failed, archived and deadLettered.
    const failing = estimateMonthlyCost(smallTemplate(), { ...HAPPY, failureRate: 0.01 }, REQUESTS, PRICES);
    expect(lineOf(failing, CUSTOM_METRICS).quantity).toBeCloseTo(5, 4);
    const idle = estimateMonthlyCost(smallTemplate(), { ...HAPPY, messages: 0 }, REQUESTS, PRICES);
    expect(lineOf(idle, CUSTOM_METRICS)).toMatchObject({ quantity: 0, usd: 0 });
  });

  it('gives the idle cost (0 messages, same template) with every estimate', () => {
    const busy = estimateMonthlyCost(smallTemplate(), HAPPY, REQUESTS, PRICES);
    const idle = estimateMonthlyCost(smallTemplate(), { ...HAPPY, messages: 0 }, REQUESTS, PRICES);

    expect(idle.idleUsd).toBe(idle.totalUsd);
    expect(busy.idleUsd).toBe(idle.totalUsd);
    // Idle: the 3 alarm metrics and the sweeper's 30 daily runs (0 s each here); no custom metric.
    expect(idle.totalUsd).toBeCloseTo(3 + 30 / 1e6, 9);
  });

  it('uses the x86 duration price for an x86_64 function', () => {
    const e = estimateMonthlyCost(smallTemplate({ arch: 'x86_64' }), HAPPY, REQUESTS, PRICES);
    expect(lineOf(e, 'consumer duration (2048 MB x86_64)').usd).toBeCloseTo(8000, 6);
  });

  it('adds DynamoDB lines when the template has a table', () => {
    const e = estimateMonthlyCost(smallTemplate({ table: true }), HAPPY, REQUESTS, PRICES);
    expect(lineOf(e, 'on-demand write request units')).toMatchObject({ quantity: 2e6, usd: 2 });
  });

  it('adds X-Ray traces with default sampling when tracing is active', () => {
    const many = { ...HAPPY, messages: 100e6 };
    const e = estimateMonthlyCost(smallTemplate({ tracing: true }), many, REQUESTS, PRICES);
    // 10 M producer invocations: the first each second of the month, then 5% of the rest.
    const expected = SECONDS_PER_MONTH + 0.05 * (10e6 - SECONDS_PER_MONTH);
    expect(lineOf(e, 'traces recorded (default sampling)').quantity).toBeCloseTo(expected, 3);
    expect(
      estimateMonthlyCost(smallTemplate(), many, REQUESTS, PRICES).lines.some((l) => l.service === 'X-Ray'),
    ).toBe(false);
  });

  it('bills a message over 64 KB as several SQS requests', () => {
    const e = estimateMonthlyCost(smallTemplate(), { ...HAPPY, messageBytes: 100 * 1024 }, REQUESTS, PRICES);
    // A batch of 10 × 100 KB is 16 chunks of 64 KB.
    expect(lineOf(e, 'standard SendMessageBatch').quantity).toBeCloseTo(1_600_000, 3);
  });

  it('refuses rates outside [0, 1] and a template without a producer, naming them', () => {
    expect(() =>
      estimateMonthlyCost(smallTemplate(), { ...HAPPY, failureRate: 1.5 }, REQUESTS, PRICES),
    ).toThrow(/failureRate must be between 0 and 1/);
    const noApi = smallTemplate();
    delete (noApi.Resources as Record<string, unknown>).Method;
    expect(() => readTemplate(noApi)).toThrow(CostModelError);
    expect(() => readTemplate(noApi)).toThrow(/API Gateway method/);
  });
});

describe('npm run cost', () => {
  afterEach(() => vi.restoreAllMocks());
  const capture = () => ({
    out: vi.spyOn(console, 'log').mockImplementation(() => undefined),
    err: vi.spyOn(console, 'error').mockImplementation(() => undefined),
  });

  it('prints one JSON document for a template file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-'));
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(templateOf(synthStage('dev'))));
    const { out } = capture();

    expect(main(['--stage', 'dev', '--template', file, '--messages', '100_000_000', '--json'])).toBe(0);

    const doc = JSON.parse(String(out.mock.calls[0]![0])) as CostEstimate & { stage: string };
    expect(doc.stage).toBe('dev');
    expect(doc.inputs.messages).toBe(100e6);
    expect(doc.lanes.map((l) => l.lane)).toEqual(['standard', 'fifo']);
    expect(doc.totalUsd).toBeCloseTo(
      doc.lines.reduce((a, l) => a + l.usd, 0),
      9,
    );
  });

  it('exits 2 with one stderr line on a usage error', () => {
    const { err } = capture();
    expect(main(['--stage', 'qa'])).toBe(2);
    expect(main(['--messages', 'lots'])).toBe(2);
    expect(main(['--failure-rate=1.5'])).toBe(2);
    expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/^error: --stage must be one of dev, staging, prod, local, got "qa"/),
      expect.stringMatching(/^error: --messages must be a number, got "lots"/),
      expect.stringMatching(/^error: --failure-rate must be between 0 and 1, got 1.5/),
    ]);
    expect(err.mock.calls.every((c) => !String(c[0]).includes('\n'))).toBe(true);
  });

  it('takes a share per custom lane and prints the per-lane breakdown after the totals', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-'));
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(customLaneTemplate()));
    const { out } = capture();

    const args = [
      '--stage',
      'dev',
      '--template',
      file,
      '--lane-share',
      'mail=0.2',
      '--lane-share',
      'fifo=0.1',
    ];
    expect(main([...args, '--json'])).toBe(0);
    expect(main(args)).toBe(0);

    const doc = JSON.parse(String(out.mock.calls[0]![0])) as CostEstimate;
    expect(doc.inputs).toMatchObject({ fifoShare: 0.1, laneShares: { mail: 0.2 } });
    expect(doc.lanes.map((l) => [l.lane, l.share])).toEqual([
      ['standard', 0.7],
      ['fifo', 0.1],
      ['mail', 0.2],
      ['ledger', 0],
    ]);
    const text = String(out.mock.calls[1]![0]).split('\n');
    const total = text.findIndex((l) => l.startsWith('total '));
    const header = text.findIndex((l) => /^lane +queue +share +SQS requests/.test(l));
    expect(total).toBeGreaterThan(0);
    expect(header).toBeGreaterThan(total);
    // The lane rows end at the blank line before what rate limits and deferrals add (issue 22).
    const end = text.indexOf('', header);
    expect(end).toBeGreaterThan(header);
    expect(text.slice(header + 1, end).map((l) => l.split(/ +/).slice(0, 3))).toEqual([
      ['standard', 'standard', '0.7'],
      ['fifo', 'FIFO', '0.1'],
      ['mail', 'standard', '0.2'],
      ['ledger', 'FIFO', '0'],
    ]);
    expect(text[end + 1]).toMatch(/^rate limits and deferrals \(/);
  });

  it('exits 2 with one stderr line when lane shares do not fit the template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-'));
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(customLaneTemplate()));
    const { err } = capture();

    expect(main(['--template', file, '--lane-share', 'mail=0.8', '--fifo-share', '0.3'])).toBe(2);
    expect(main(['--template', file, '--lane-share', 'thumbnails=0.1'])).toBe(2);
    expect(main(['--template', file, '--lane-share', 'mail'])).toBe(2);
    expect(main(['--template', file, '--lane-share', 'fifo=0.1', '--fifo-share', '0.1'])).toBe(2);
    expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(
        /^error: --fifo-share \+ --lane-share must not exceed 1, got 1.1 \(fifo 0.3, mail 0.8\)/,
      ),
      expect.stringMatching(/^error: --lane-share names lane "thumbnails", which the template does not have/),
      expect.stringMatching(/^error: --lane-share must be LANE=SHARE/),
      expect.stringMatching(/^error: --lane-share fifo=… and --fifo-share both give the fifo lane's share/),
    ]);
    expect(err.mock.calls.every((c) => !String(c[0]).includes('\n'))).toBe(true);
  });

  it('exits 1 when the template cannot be read', () => {
    const { err } = capture();
    expect(main(['--template', join(tmpdir(), 'no-such-template.json')])).toBe(1);
    expect(String(err.mock.calls[0]![0])).toMatch(/^error: .*no-such-template\.json/);
  });
});
