import { Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { PipelineMonitoring } from '../../lib/constructs/pipeline-monitoring';
import { QueueWithDlq } from '../../lib/constructs/queue-with-dlq';
import { testApp } from '../helpers/synth';

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
