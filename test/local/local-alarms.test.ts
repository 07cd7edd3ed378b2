import { describe, expect, it } from 'vitest';
import { AlarmEvaluator, planAlarm } from '../../local/control/alarms';
import type { Emulator, LocalQueue } from '../../local/aws/emulator';
import type { LocalLogger } from '../../local/log';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import type { TemplateResource } from '../../local/template/reader';

const resource = (
  logicalId: string,
  type: string,
  properties: Record<string, unknown>,
): TemplateResource => ({
  logicalId,
  type,
  properties,
  metadata: {},
  dependsOn: [],
  stackName: 'S',
});

const dlq = resource('Dlq', 'AWS::SQS::Queue', {});
const queueName = { 'Fn::GetAtt': ['Dlq', 'QueueName'] };
const alarms = {
  depth: resource('DepthAlarm', 'AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: queueName }],
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
  }),
  age: resource('AgeAlarm', 'AWS::CloudWatch::Alarm', {
    AlarmName: 'S-age',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 120,
    Metrics: [
      {
        Id: 'm1',
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SQS',
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: queueName }],
          },
          Period: 300,
          Stat: 'Maximum',
        },
        ReturnData: true,
      },
    ],
  }),
  lambda: resource('ErrorsAlarm', 'AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0,
  }),
  math: resource('MathAlarm', 'AWS::CloudWatch::Alarm', {
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
    Metrics: [
      { Id: 'e', Expression: 'FILL(a, 0)', ReturnData: true },
      { Id: 'a', MetricStat: {}, ReturnData: false },
    ],
  }),
};

const resolver = new Resolver({
  pseudo: localPseudoParameters('S'),
  resources: new Map([dlq, ...Object.values(alarms)].map((r) => [r.logicalId, r])),
});
const queue: LocalQueue = {
  logicalId: 'Dlq',
  name: resolver.physicalName('Dlq'),
  url: 'http://q',
  arn: 'arn',
  fifo: false,
};
const byName = new Map([[queue.name, queue]]);

describe('local alarm evaluation plan', () => {
  it('evaluates a DLQ depth alarm on its queue', () => {
    expect(planAlarm(alarms.depth, resolver, byName)).toEqual({
      alarm: {
        logicalId: 'DepthAlarm',
        name: 'DepthAlarm',
        metric: 'ApproximateNumberOfMessagesVisible',
        queue,
        threshold: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
      },
    });
  });

  it('evaluates an oldest-message-age alarm given as a single MetricStat, under its AlarmName', () => {
    expect(planAlarm(alarms.age, resolver, byName)).toMatchObject({
      alarm: {
        name: 'S-age',
        metric: 'ApproximateAgeOfOldestMessage',
        threshold: 120,
        comparison: 'GreaterThanThreshold',
      },
    });
  });

  it.each([
    ['a Lambda metric', alarms.lambda, 'AWS/Lambda Errors'],
    ['metric math', alarms.math, 'metric math'],
  ])('does not evaluate %s', (_, alarm, reason) => {
    expect(planAlarm(alarm, resolver, byName)).toEqual({
      logicalId: alarm.logicalId,
      name: alarm.logicalId,
      reason,
    });
  });
});

describe('local alarm evaluator: when a state began', () => {
  /** An evaluator of the DLQ depth alarm over a queue whose depth is `depths[n]` at sample n. */
  function evaluatorOver(depths: number[]) {
    let sample = 0;
    let clock = Date.parse('2026-12-01T10:00:00.000Z');
    const lines: string[] = [];
    const emulator = {
      sqs: {
        send: async () => ({ Attributes: { ApproximateNumberOfMessages: String(depths[sample++]) } }),
      },
    } as unknown as Emulator;
    const logger: LocalLogger = {
      mode: 'silent',
      info: (line) => lines.push(line),
      warn: () => undefined,
      functionLine: () => undefined,
    };
    const evaluator = new AlarmEvaluator({
      alarms: [alarms.depth],
      resolver,
      emulator,
      queues: [queue],
      logger,
      now: () => new Date(clock),
    });
    const tick = async () => {
      clock += 60_000;
      await evaluator.evaluate();
      const [s] = evaluator.states();
      return { state: s!.state, updatedAt: s!.updatedAt, stateChangedAt: s!.stateChangedAt };
    };
    return { evaluator, tick, lines };
  }

  it('reports stateChangedAt: the start, then the sample that changed the state, kept while it holds', async () => {
    const { evaluator, tick, lines } = evaluatorOver([0, 1, 2, 0]);

    const before = evaluator.states()[0]!;
    const samples = [await tick(), await tick(), await tick(), await tick()];

    expect(before).toMatchObject({
      state: 'INSUFFICIENT_DATA',
      updatedAt: '2026-12-01T10:00:00.000Z',
      stateChangedAt: '2026-12-01T10:00:00.000Z',
    });
    expect(samples).toEqual([
      { state: 'OK', updatedAt: '2026-12-01T10:01:00.000Z', stateChangedAt: '2026-12-01T10:01:00.000Z' },
      { state: 'ALARM', updatedAt: '2026-12-01T10:02:00.000Z', stateChangedAt: '2026-12-01T10:02:00.000Z' },
      { state: 'ALARM', updatedAt: '2026-12-01T10:03:00.000Z', stateChangedAt: '2026-12-01T10:02:00.000Z' },
      { state: 'OK', updatedAt: '2026-12-01T10:04:00.000Z', stateChangedAt: '2026-12-01T10:04:00.000Z' },
    ]);
    expect(lines.map((l) => l.split('  ')[0]!.trim())).toEqual(['ALARM', 'OK']);
  });
});
