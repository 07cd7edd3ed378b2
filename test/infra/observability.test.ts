import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { MAPPING_EVENT_METRICS } from '../../lib/constructs/pipeline-monitoring';
import { synthConfig, synthStage } from '../helpers/synth';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const resources = (t: Template, type: string) =>
  Object.entries(t.findResources(type)) as [string, Resource][];

/** The pipeline's own functions (those with a Powertools service name), by service. */
function pipelineFunctions(t: Template): Record<string, [string, Resource]> {
  const out: Record<string, [string, Resource]> = {};
  for (const [id, r] of resources(t, 'AWS::Lambda::Function')) {
    const vars = (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    if (typeof vars?.POWERTOOLS_SERVICE_NAME === 'string') out[vars.POWERTOOLS_SERVICE_NAME] = [id, r];
  }
  return out;
}

/** Statements of the IAM policies attached to a role (by the role's logical id). */
function statementsOfRole(t: Template, roleId: string): Statement[] {
  return resources(t, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const roleOf = (fn: Resource) => (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/**
 * Actions that, like the X-Ray writes, support no resource type, so CDK merges them into the one
 * `Resource: "*"` statement: the relay's stream mapping lists the table's streams.
 */
const ALSO_ON_ANY_RESOURCE: Record<string, string[]> = { 'completion-relay': ['dynamodb:ListStreams'] };

/** The lane consumers' mappings (their source is a queue's Arn), not the relay's of the status table's stream. */
const queueMappings = (t: Template) =>
  resources(t, 'AWS::Lambda::EventSourceMapping').filter(
    ([, m]) => (m.Properties.EventSourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][1] === 'Arn',
  );

describe.each(['dev', 'staging', 'prod'] as const)('tracing on stage %s', (stage) => {
  let template: Template;
  beforeAll(() => {
    template = synthStage(stage);
  });

  it('traces every pipeline function actively', () => {
    const fns = pipelineFunctions(template);
    expect(Object.keys(fns).sort()).toEqual([
      'completion-relay',
      'consumer',
      'dlq-sweeper',
      'fifo-consumer',
      'producer',
    ]);
    for (const [, fn] of Object.values(fns)) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('traces the API stage', () => {
    const stages = resources(template, 'AWS::ApiGateway::Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0]![1].Properties.TracingEnabled).toBe(true);
  });

  it('grants each function only the two X-Ray write actions for tracing', () => {
    for (const [service, [, fn]] of Object.entries(pipelineFunctions(template))) {
      const xray = statementsOfRole(template, roleOf(fn)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('xray:')),
      );
      expect(xray, service).toHaveLength(1);
      expect(actionsOf(xray[0]!).sort(), service).toEqual(
        [
          ...(ALSO_ON_ANY_RESOURCE[service] ?? []),
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ].sort(),
      );
      expect(xray[0]!.Resource).toBe('*');
    }
  });
});

describe('tracing switched off', () => {
  it('is off on the local stage: no tracing settings and no X-Ray grants in its template', () => {
    const template = synthStage('local');

    for (const [, fn] of Object.values(pipelineFunctions(template)))
      expect(fn.Properties.TracingConfig).toBeUndefined();
    expect(resources(template, 'AWS::ApiGateway::Stage')[0]![1].Properties.TracingEnabled).toBe(false);
    expect(JSON.stringify(template.toJSON())).not.toContain('xray:');
  });

  it('follows the stage setting, not the stage name', () => {
    const template = synthConfig({ ...loadStageConfig('prod'), tracing: false });

    for (const [, fn] of Object.values(pipelineFunctions(template)))
      expect(fn.Properties.TracingConfig).toBeUndefined();
  });
});

describe('event source mapping metrics', () => {
  let template: Template;
  beforeAll(() => {
    template = synthStage('dev');
  });

  it('enables EventCount on both lane mappings (the third mapping is the completion relay of the status stream)', () => {
    const mappings = queueMappings(template);
    expect(mappings).toHaveLength(2);
    for (const [, m] of mappings) expect(m.Properties.MetricsConfig).toEqual({ Metrics: ['EventCount'] });
    const others = resources(template, 'AWS::Lambda::EventSourceMapping').filter(
      ([id]) => !mappings.some(([q]) => q === id),
    );
    expect(others.map(([, m]) => m.Properties.EventSourceArn)).toEqual([
      { 'Fn::GetAtt': ['StatusTable', 'StreamArn'] },
    ]);
  });

  it("graphs each lane mapping's event counts on the dashboard, by its UUID", () => {
    const mappingIds = queueMappings(template).map(([id]) => id);
    const [, dashboard] = resources(template, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);

    expect(mappingIds).toHaveLength(2);
    for (const id of mappingIds) expect(body).toContain(`{"Ref":"${id}"}`);
    for (const name of MAPPING_EVENT_METRICS) expect(body).toContain(name);
    expect(body).toContain('Consumer event source mapping');
    expect(body).toContain('FifoConsumer event source mapping');
  });
});

describe('consumer metric wiring', () => {
  it('keeps the archive alarm on the service-only dimension the consumer writes archiveFailed under', () => {
    const template = synthStage('dev');
    const alarms = resources(template, 'AWS::CloudWatch::Alarm').filter(([id]) =>
      id.includes('ArchiveFailureAlarm'),
    );
    expect(alarms).toHaveLength(1);
    const metrics = (alarms[0]![1].Properties.Metrics as { MetricStat?: { Metric: unknown } }[])
      .map((m) => m.MetricStat?.Metric)
      .filter(Boolean);
    expect(metrics).toHaveLength(3);
    for (const m of metrics)
      expect(m).toMatchObject({ MetricName: 'archiveFailed', Dimensions: [{ Name: 'service' }] });
  });
});
