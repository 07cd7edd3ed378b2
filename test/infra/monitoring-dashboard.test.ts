import { Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { PipelineMonitoring } from '../../lib/constructs/pipeline-monitoring';
import { QueueWithDlq } from '../../lib/constructs/queue-with-dlq';
import { loadStageConfig } from '../../app/stages';
import { estimateMonthlyCost, DEFAULT_INPUTS, type CfnTemplate } from '../../cost/model';
import { loadCostData } from '../../cost/cli';
import { synthConfig, synthStage, testApp } from '../helpers/synth';

/** PipelineMonitoring alone, on one queue, one function and one API. */
function monitoringTemplate(dashboard: boolean | undefined): Template {
  const stack = new Stack(
    testApp({ builtinCloudFormationValidation: false }),
    `Monitoring${String(dashboard)}`,
  );
  const queue = new QueueWithDlq(stack, 'Standard', {
    label: 'standard',
    consumerTimeout: Duration.seconds(30),
  });
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
  const api = new apigw.RestApi(stack, 'Api');
  api.root.addMethod('GET', new apigw.LambdaIntegration(fn));
  new PipelineMonitoring(stack, 'Monitoring', {
    name: 'EventPipeline-test',
    queues: [queue],
    functions: { consumer: fn },
    api,
    maxMessageAgeSeconds: 300,
    ...(dashboard === undefined ? {} : { dashboard }),
  });
  return Template.fromStack(stack);
}

describe('PipelineMonitoring dashboard', () => {
  it('creates the dashboard by default, and none with dashboard: false, with the same alarms', () => {
    const withDefault = monitoringTemplate(undefined);
    const without = monitoringTemplate(false);

    withDefault.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    without.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    const alarms = (t: Template) =>
      Object.values(t.findResources('AWS::CloudWatch::Alarm'))
        .map((a) => JSON.stringify((a as { Properties: { AlarmName?: unknown } }).Properties.AlarmName ?? a))
        .sort();
    expect(alarms(without)).toEqual(alarms(withDefault));
    expect(alarms(without).length).toBeGreaterThan(0);
  });
});

describe('the dashboard setting', () => {
  it('leaves the dashboard and its outputs out of a stage with dashboard: false, keeping every alarm; the idle cost falls by the dashboard price', () => {
    // Prepare
    const withDashboard = synthStage('dev');

    // Act
    const without = synthConfig({ ...loadStageConfig('dev'), dashboard: false });

    // Assess
    withDashboard.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    without.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(without.findOutputs('*')).filter((k) => k.startsWith('Dashboard'))).toEqual([]);
    expect(
      Object.keys(withDashboard.findOutputs('*'))
        .filter((k) => k.startsWith('Dashboard'))
        .sort(),
    ).toEqual(['DashboardName', 'DashboardUrl']);
    expect(Object.keys(without.findResources('AWS::CloudWatch::Alarm')).sort()).toEqual(
      Object.keys(withDashboard.findResources('AWS::CloudWatch::Alarm')).sort(),
    );
    const { prices, requests } = loadCostData();
    const idle = (t: Template) =>
      estimateMonthlyCost(t.toJSON() as CfnTemplate, { ...DEFAULT_INPUTS, messages: 0 }, requests, prices)
        .totalUsd;
    expect(idle(withDashboard) - idle(without)).toBeCloseTo(prices.cloudWatch.dashboardMonth, 9);
  });
});
