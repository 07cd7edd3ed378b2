import { describe, expect, it } from 'vitest';
import {
  bucketed,
  drawDashboard,
  EmfSeries,
  parseDashboardBody,
  statistic,
  type DashboardSources,
} from '../../local/control/dashboard';
import type { InvocationRecord } from '../../local/control/journal';

// The local console's dashboard: the template's DashboardBody parsed into widgets, each metric
// drawn from local data (EMF lines, the journal, queue samples) or named as having no local source.

const body = JSON.stringify({
  start: '-PT8H',
  widgets: [
    { type: 'text', properties: { markdown: '### SQS Queue **[standard queue](https://x/y)**' } },
    {
      type: 'metric',
      properties: {
        title: 'Message Count',
        period: 60,
        metrics: [
          [
            'AWS/SQS',
            'ApproximateNumberOfMessagesVisible',
            'QueueName',
            'q1',
            { label: 'Visible', stat: 'Maximum' },
          ],
          ['.', 'NumberOfMessagesSent', '.', '.', { label: 'Incoming', stat: 'Sum', period: 300 }],
        ],
      },
    },
    {
      type: 'metric',
      properties: {
        title: 'TPS',
        metrics: [
          [{ label: 'TPS', expression: 'FILL(requests,0) / PERIOD(requests)' }],
          [
            'AWS/Lambda',
            'Invocations',
            'FunctionName',
            'fn-consumer',
            { id: 'requests', visible: false, stat: 'Sum' },
          ],
        ],
      },
    },
    {
      type: 'metric',
      properties: {
        title: 'Archive',
        stat: 'Sum',
        metrics: [
          ['EventPipeline', 'archiveFailed', 'service', 'consumer', { id: 'a' }],
          ['...', 'dlq-sweeper'],
        ],
      },
    },
    { type: 'alarm', properties: { alarms: ['arn'] } },
  ],
});

describe('parseDashboardBody', () => {
  it('lists each widget with its metrics: namespace, name, dimensions, stat, period, label', () => {
    // Act
    const widgets = parseDashboardBody(body);

    // Assert
    expect(widgets.map((w) => [w.type, w.title])).toEqual([
      ['text', 'SQS Queue standard queue'],
      ['metric', 'Message Count'],
      ['metric', 'TPS'],
      ['metric', 'Archive'],
      ['other', 'alarm'],
    ]);
    expect(widgets[1]!.metrics).toEqual([
      {
        namespace: 'AWS/SQS',
        name: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: 'q1' },
        stat: 'Maximum',
        period: 60,
        label: 'Visible',
        visible: true,
      },
      {
        namespace: 'AWS/SQS',
        name: 'NumberOfMessagesSent',
        dimensions: { QueueName: 'q1' },
        stat: 'Sum',
        period: 300,
        label: 'Incoming',
        visible: true,
      },
    ]);
    expect(widgets[2]!.expressions).toEqual([
      { expression: 'FILL(requests,0) / PERIOD(requests)', label: 'TPS', visible: true },
    ]);
    expect(widgets[2]!.metrics[0]).toMatchObject({
      namespace: 'AWS/Lambda',
      name: 'Invocations',
      stat: 'Sum',
      period: 300,
      visible: false,
      id: 'requests',
      label: 'Invocations',
    });
    // "..." repeats the previous metric's values but for the last one given; the widget's stat applies.
    expect(widgets[3]!.metrics.map((m) => [m.name, m.dimensions, m.stat])).toEqual([
      ['archiveFailed', { service: 'consumer' }, 'Sum'],
      ['archiveFailed', { service: 'dlq-sweeper' }, 'Sum'],
    ]);
  });

  it('refuses a body that is not JSON or has no widgets, saying which', () => {
    expect(() => parseDashboardBody('{')).toThrow(/^DashboardBody is not JSON: /);
    expect(() => parseDashboardBody('{"start":"-PT8H"}')).toThrow('DashboardBody has no widgets array');
  });
});

describe('EmfSeries', () => {
  it("keeps an EMF line's values per metric and dimensions; other lines are ignored", () => {
    // Arrange
    const emf = new EmfSeries(3);
    const line = (v: number | number[], t = 1000) =>
      JSON.stringify({
        _aws: {
          Timestamp: t,
          CloudWatchMetrics: [
            {
              Namespace: 'EventPipeline',
              Dimensions: [['service']],
              Metrics: [{ Name: 'processed', Unit: 'Count' }],
            },
          ],
        },
        service: 'consumer',
        processed: v,
      });

    // Act
    emf.ingest(line(1));
    emf.ingest(line([2, 3], 2000));
    emf.ingest(line(4, 3000));
    emf.ingest('{"level":"INFO","message":"not a metric"}');
    emf.ingest('plain text');

    // Assert: bounded at 3, oldest dropped
    expect(emf.values('EventPipeline', 'processed', { service: 'consumer' })).toEqual([
      { t: 2000, v: 2 },
      { t: 2000, v: 3 },
      { t: 3000, v: 4 },
    ]);
    expect(emf.values('EventPipeline', 'processed', { service: 'other' })).toBeUndefined();
    expect(emf.has('EventPipeline', 'processed')).toBe(true);
  });
});

describe('statistic and bucketed', () => {
  it('computes CloudWatch statistics', () => {
    const v = [5, 1, 3, 2, 4];
    expect([
      statistic('Sum', v),
      statistic('Average', v),
      statistic('Maximum', v),
      statistic('Minimum', v),
      statistic('SampleCount', v),
      statistic('p50', v),
      statistic('p99', v),
    ]).toEqual([15, 3, 5, 1, 5, 3, 5]);
    expect(statistic('Sum', [])).toBe(0);
  });

  it('groups values into buckets over the window, zeros for counts', () => {
    const values = [
      { t: 10_500, v: 1 },
      { t: 10_900, v: 1 },
      { t: 30_100, v: 1 },
      { t: -1_000, v: 9 },
    ];
    expect(bucketed(values, 'Sum', 35_000, 30_000, 10_000, true)).toEqual([
      [0, 0],
      [10_000, 2],
      [20_000, 0],
      [30_000, 1],
    ]);
    expect(bucketed(values, 'Maximum', 35_000, 30_000, 10_000, false)).toEqual([
      [10_000, 1],
      [30_000, 1],
    ]);
  });
});

describe('drawDashboard', () => {
  it('draws each metric from its local source, and names the metrics without one', () => {
    // Arrange
    const now = 600_000;
    const run = (at: number, error = false): InvocationRecord => ({
      function: 'Consumer',
      startedAt: new Date(at).toISOString(),
      durationMs: 10,
      messageIds: ['m'],
      batchItemFailures: [],
      error: error ? { name: 'Error', message: 'x' } : null,
    });
    const emf = new EmfSeries();
    emf.ingest(
      JSON.stringify({
        _aws: {
          Timestamp: now - 5000,
          CloudWatchMetrics: [
            { Namespace: 'EventPipeline', Dimensions: [['service']], Metrics: [{ Name: 'archiveFailed' }] },
          ],
        },
        service: 'consumer',
        archiveFailed: 2,
      }),
    );
    const sources: DashboardSources = {
      emf,
      journal: () => [run(now - 3000), run(now - 2000, true)],
      functionsByName: new Map([['fn-consumer', 'Consumer']]),
      functionsByMapping: new Map(),
      queueSamples: (name) =>
        name === 'q1' ? [{ t: now - 1000, visible: 4, inFlight: 0, delayed: 0, age: null }] : undefined,
    };

    // Act
    const drawn = drawDashboard(parseDashboardBody(body), sources, now);

    // Assert
    expect(drawn[1]!.series.map((s) => [s.label, s.source, s.points.at(-1)])).toEqual([
      ['Visible', 'queue attributes (sampled by the console)', [590_000, 4]],
    ]);
    expect(drawn[1]!.missing).toEqual(['no local source for AWS/SQS NumberOfMessagesSent']);
    expect(drawn[2]!.series[0]).toMatchObject({ label: 'Invocations', source: 'journal' });
    expect(drawn[2]!.series[0]!.points.at(-2)).toEqual([590_000, 2]);
    expect(drawn[2]!.expressions).toEqual(['TPS']);
    expect(drawn[3]!.series[0]).toMatchObject({ source: 'EMF', label: 'archiveFailed' });
    expect(drawn[3]!.series[0]!.points.at(-2)).toEqual([590_000, 2]);
    expect(drawn[0]!).toEqual({
      type: 'text',
      title: 'SQS Queue standard queue',
      series: [],
      missing: [],
      expressions: [],
    });
  });
});

describe('drawDashboard: SEARCH expressions', () => {
  it('sums every EMF series a SEARCH over a custom namespace finds, and lists other expressions', () => {
    // Arrange
    const now = 600_000;
    const emf = new EmfSeries();
    const archived = (type: string, v: number) =>
      JSON.stringify({
        _aws: {
          Timestamp: now - 5000,
          CloudWatchMetrics: [
            {
              Namespace: 'EventPipeline',
              Dimensions: [['service', 'type']],
              Metrics: [{ Name: 'archived' }],
            },
          ],
        },
        service: 'consumer',
        type,
        archived: v,
      });
    emf.ingest(archived('probe', 1));
    emf.ingest(archived('email', 2));
    const widgets = parseDashboardBody(
      JSON.stringify({
        widgets: [
          {
            type: 'metric',
            properties: {
              title: 'Archive',
              metrics: [
                [
                  {
                    label: 'archived',
                    expression: `SUM(SEARCH('{EventPipeline,service,type} MetricName="archived"', 'Sum', 300))`,
                  },
                ],
                [{ label: 'other', expression: 'FILL(a, 0)' }],
              ],
            },
          },
        ],
      }),
    );

    // Act
    const [drawn] = drawDashboard(
      widgets,
      {
        emf,
        journal: () => [],
        functionsByName: new Map(),
        functionsByMapping: new Map(),
        queueSamples: () => undefined,
      },
      now,
    );

    // Assert
    expect(drawn!.series).toHaveLength(1);
    expect(drawn!.series[0]).toMatchObject({
      label: 'archived',
      metric: 'EventPipeline archived',
      source: 'EMF (search)',
    });
    expect(drawn!.series[0]!.points.at(-2)).toEqual([590_000, 3]);
    expect(drawn!.expressions).toEqual(['other']);
  });
});
