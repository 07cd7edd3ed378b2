import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Emulator, LocalQueue } from '../aws/emulator';
import type { LocalLogger } from '../log';
import type { Resolver } from '../template/resolver';
import type { TemplateResource } from '../template/reader';

/** CloudWatch alarm states. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** Comparison operators local mode evaluates. */
const COMPARISONS = {
  GreaterThanOrEqualToThreshold: { symbol: '>=', test: (v: number, t: number) => v >= t },
  GreaterThanThreshold: { symbol: '>', test: (v: number, t: number) => v > t },
  LessThanThreshold: { symbol: '<', test: (v: number, t: number) => v < t },
  LessThanOrEqualToThreshold: { symbol: '<=', test: (v: number, t: number) => v <= t },
} as const;
type Comparison = keyof typeof COMPARISONS;

/** SQS metrics local mode can measure, and the queue attribute (or inspection) behind each. */
const SQS_METRICS = {
  ApproximateNumberOfMessagesVisible: 'ApproximateNumberOfMessages',
  ApproximateNumberOfMessagesNotVisible: 'ApproximateNumberOfMessagesNotVisible',
  ApproximateNumberOfMessagesDelayed: 'ApproximateNumberOfMessagesDelayed',
  ApproximateAgeOfOldestMessage: '(inspection)',
} as const;
type SqsMetric = keyof typeof SQS_METRICS;

/** An alarm local mode evaluates. */
export interface EvaluatedAlarm {
  readonly logicalId: string;
  /** `AlarmName`, or the logical id when the template leaves the name to CloudFormation. */
  readonly name: string;
  readonly metric: SqsMetric;
  readonly queue: LocalQueue;
  readonly threshold: number;
  readonly comparison: Comparison;
}

/** An alarm's current state, as `GET /_local/alarms` reports it. */
export interface AlarmStatus {
  readonly logicalId: string;
  readonly name: string;
  readonly state: AlarmState;
  readonly reason: string;
  readonly metric: string;
  readonly queue: string;
  readonly value: number | null;
  readonly threshold: number;
  readonly comparison: string;
  /** When the alarm was last evaluated (each sample). */
  readonly updatedAt: string;
  /**
   * When the alarm entered its current state (CloudWatch's `StateTransitionedTimestamp`): the
   * evaluator's start for `INSUFFICIENT_DATA`, then the sample that changed the state. `ops status`
   * shows it as `since`.
   */
  readonly stateChangedAt: string;
}

/** Parse result of one alarm: evaluable, or why not. */
export type AlarmPlan =
  | { readonly alarm: EvaluatedAlarm }
  | { readonly logicalId: string; readonly name: string; readonly reason: string };

/**
 * Decides whether local mode can evaluate an `AWS::CloudWatch::Alarm`: a single `AWS/SQS` metric
 * (`ApproximateNumberOfMessagesVisible`/`NotVisible`/`Delayed` or `ApproximateAgeOfOldestMessage`)
 * with a `QueueName` dimension naming a queue of the stack, either as top-level metric
 * properties or as the only returned `MetricStat` of `Metrics`, and a static-threshold comparison.
 */
export function planAlarm(
  r: TemplateResource,
  resolver: Resolver,
  queuesByName: ReadonlyMap<string, LocalQueue>,
): AlarmPlan {
  const at = (property: string) => ({ resource: r.logicalId, property });
  const p = r.properties;
  const name = p.AlarmName !== undefined ? resolver.resolveString(p.AlarmName, at('AlarmName')) : r.logicalId;
  const no = (reason: string): AlarmPlan => ({ logicalId: r.logicalId, name, reason });
  let metric: { MetricName?: unknown; Namespace?: unknown; Dimensions?: unknown } | undefined;
  let where = '';
  if (p.MetricName !== undefined) {
    metric = p;
  } else if (Array.isArray(p.Metrics)) {
    const returned = (p.Metrics as Record<string, unknown>[]).filter((m) => m.ReturnData !== false);
    if (returned.length !== 1 || returned[0]!.Expression !== undefined || !returned[0]!.MetricStat) {
      return no('metric math');
    }
    metric = (returned[0]!.MetricStat as { Metric?: typeof metric }).Metric;
    where = `Metrics[${(p.Metrics as unknown[]).indexOf(returned[0])}].MetricStat.Metric.`;
  }
  if (!metric) return no('no metric');
  const namespace = String(metric.Namespace);
  const metricName = String(metric.MetricName);
  if (namespace !== 'AWS/SQS' || !(metricName in SQS_METRICS)) return no(`${namespace} ${metricName}`);
  const comparison = String(p.ComparisonOperator);
  if (!(comparison in COMPARISONS)) return no(`comparison ${comparison}`);
  const dims = (Array.isArray(metric.Dimensions) ? metric.Dimensions : []) as {
    Name: unknown;
    Value: unknown;
  }[];
  const i = dims.findIndex((d) => d.Name === 'QueueName');
  if (i < 0 || dims.length !== 1) return no('dimensions other than one QueueName');
  const queueName = resolver.resolveString(dims[i]!.Value, at(`${where}Dimensions[${i}].Value`));
  const queue = queuesByName.get(queueName);
  if (!queue) return no(`queue ${queueName} is not a queue of this stack`);
  return {
    alarm: {
      logicalId: r.logicalId,
      name,
      metric: metricName as SqsMetric,
      queue,
      threshold: Number(resolver.resolve(p.Threshold, at('Threshold'))),
      comparison: comparison as Comparison,
    },
  };
}

/** Options of {@link AlarmEvaluator}. */
export interface AlarmEvaluatorOptions {
  readonly alarms: readonly TemplateResource[];
  readonly resolver: Resolver;
  readonly emulator: Emulator;
  readonly queues: readonly LocalQueue[];
  readonly logger: LocalLogger;
  /** How often to sample the queues. @default 2000 */
  readonly intervalMs?: number;
  /** The clock of `updatedAt` and `stateChangedAt`. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Evaluates the template's SQS alarms against the emulator every few seconds and prints each
 * state change as one line (`ALARM  <name>  <reason>` / `OK     <name>  <reason>`). Each sample is
 * one datapoint compared with the threshold right away: local mode has no metric history, so
 * `Period`, `EvaluationPeriods`, `DatapointsToAlarm` and the statistic are not applied. The
 * first evaluation of an alarm that is OK is not printed (CloudWatch's INSUFFICIENT_DATA → OK).
 */
export class AlarmEvaluator {
  /** Alarms not evaluated locally, with the reason. */
  readonly notEvaluated: readonly {
    readonly logicalId: string;
    readonly name: string;
    readonly reason: string;
  }[];
  readonly evaluated: readonly EvaluatedAlarm[];
  private readonly status = new Map<string, AlarmStatus>();
  private timer?: NodeJS.Timeout;
  private evaluating?: Promise<void>;

  constructor(private readonly options: AlarmEvaluatorOptions) {
    const started = this.now();
    const byName = new Map(options.queues.map((q) => [q.name, q]));
    const plans = options.alarms.map((a) => planAlarm(a, options.resolver, byName));
    this.evaluated = plans.flatMap((p) => ('alarm' in p ? [p.alarm] : []));
    this.notEvaluated = plans.flatMap((p) => ('alarm' in p ? [] : [p]));
    for (const a of this.evaluated) {
      this.status.set(a.logicalId, {
        logicalId: a.logicalId,
        name: a.name,
        state: 'INSUFFICIENT_DATA',
        reason: 'not evaluated yet',
        metric: a.metric,
        queue: a.queue.name,
        value: null,
        threshold: a.threshold,
        comparison: a.comparison,
        updatedAt: started,
        stateChangedAt: started,
      });
    }
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  /** Current state of every evaluated alarm. */
  states(): AlarmStatus[] {
    return [...this.status.values()];
  }

  /** Evaluates now, then every `intervalMs`. */
  start(): void {
    if (this.timer || this.evaluated.length === 0) return;
    void this.evaluate();
    this.timer = setInterval(() => void this.evaluate(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** Stops evaluating (waits for an evaluation in progress). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.evaluating;
  }

  /** Samples every alarm's queue once and applies state changes. */
  evaluate(): Promise<void> {
    this.evaluating ??= this.sample().finally(() => (this.evaluating = undefined));
    return this.evaluating;
  }

  private async sample(): Promise<void> {
    const values = new Map<string, Promise<number | undefined>>();
    for (const a of this.evaluated) {
      const key = `${a.queue.url}|${a.metric}`;
      if (!values.has(key))
        values.set(
          key,
          this.measure(a.queue, a.metric).catch(() => undefined),
        );
    }
    for (const a of this.evaluated) {
      const value = await values.get(`${a.queue.url}|${a.metric}`)!;
      if (value === undefined) continue;
      const c = COMPARISONS[a.comparison];
      const breaching = c.test(value, a.threshold);
      const state: AlarmState = breaching ? 'ALARM' : 'OK';
      const previous = this.status.get(a.logicalId)!;
      const shown = a.metric === 'ApproximateAgeOfOldestMessage' ? `${value} s` : String(value);
      const reason = breaching
        ? `Threshold crossed: ${a.metric} of ${a.queue.name} is ${shown} (${c.symbol} ${a.threshold})`
        : `${a.metric} of ${a.queue.name} is ${shown} (not ${c.symbol} ${a.threshold})`;
      const at = this.now();
      this.status.set(a.logicalId, {
        ...previous,
        state,
        reason,
        value,
        updatedAt: at,
        stateChangedAt: state === previous.state ? previous.stateChangedAt : at,
      });
      if (state !== previous.state && !(previous.state === 'INSUFFICIENT_DATA' && state === 'OK')) {
        this.options.logger.info(`${state.padEnd(5)}  ${a.name}  ${reason}`);
      }
    }
  }

  private async measure(queue: LocalQueue, metric: SqsMetric): Promise<number> {
    const { emulator } = this.options;
    if (metric === 'ApproximateAgeOfOldestMessage') {
      const q = await emulator.inspectQueue(queue.name);
      if (!q) return 0;
      const sent = [...q.messages.ready, ...q.messages.inflight.map((m) => m.message)].map(
        (m) => m.sentTimestamp,
      );
      return sent.length ? Math.floor((Date.now() - Math.min(...sent)) / 1000) : 0;
    }
    const out = await emulator.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.url,
        AttributeNames: [SQS_METRICS[metric] as 'ApproximateNumberOfMessages'],
      }),
    );
    return Number(out.Attributes?.[SQS_METRICS[metric]] ?? 0);
  }
}
