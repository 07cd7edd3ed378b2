import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { STAGE_NAMES } from '../../app/stages';
import {
  API_GATEWAY_ACCOUNT_STACK,
  ApiGatewayAccountStack,
} from '../../lib/stacks/api-gateway-account-stack';
import { STACK_OUTPUTS } from '../../ops/lib/target';
import { buildStack, testApp } from '../helpers/synth';

const outdirs: string[] = [];
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

describe('API Gateway account stack', () => {
  it('holds the account-wide CloudWatch role setting, with the AWS-managed logs policy only', () => {
    // Prepare
    const app = testApp();

    // Act
    const stack = new ApiGatewayAccountStack(app, API_GATEWAY_ACCOUNT_STACK);
    const t = Template.fromStack(stack);

    // Assess
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    t.resourceCountIs('AWS::IAM::Role', 1);
    t.hasResourceProperties('AWS::ApiGateway::Account', {
      CloudWatchRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CloudWatchRole'), 'Arn'] },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
      }),
      ManagedPolicyArns: [
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
            ],
          ],
        },
      ],
    });
    t.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('passes cdk-nag AwsSolutions, its one acknowledgement carrying a reason', () => {
    // Prepare
    const outdir = mkdtempSync(join(tmpdir(), 'nag-account-'));
    outdirs.push(outdir);
    const app = testApp({ outdir });
    new ApiGatewayAccountStack(app, API_GATEWAY_ACCOUNT_STACK);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        conclusion: string;
        violations: unknown[];
        suppressedViolations?: { reason: string }[];
      }[];
    };

    // Assess
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.violations).toEqual([]);
    expect(nag?.conclusion).toBe('success');
    expect(nag?.suppressedViolations?.map((s) => s.reason.length > 40)).toEqual([true]);
  });
});

describe.each(STAGE_NAMES)('stage %s stack', (stage) => {
  const { stack } = buildStack(loadStageConfig(stage));
  const t = Template.fromStack(stack);

  it('leaves the account-wide API Gateway setting alone', () => {
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(Object.keys(t.findResources('AWS::IAM::Role')).filter((id) => /CloudWatchRole/.test(id))).toEqual(
      [],
    );
  });

  it('outputs what operators and the ops tool need, without exports', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown; Export?: unknown }>;
    // What the ops tool reads (its own list, so a rename on either side fails here), and what operators read.
    for (const name of [...STACK_OUTPUTS, 'AuthMode', 'AlarmTopicArn', 'DashboardName', 'DashboardUrl']) {
      expect(outputs, name).toHaveProperty(name);
      expect(outputs[name]!.Export, name).toBeUndefined();
    }
    expect(outputs.StandardDlqArn!.Value).toEqual({ 'Fn::GetAtt': ['StandardDlq', 'Arn'] });
    expect(outputs.FifoDlqArn!.Value).toEqual({ 'Fn::GetAtt': ['FifoDlq', 'Arn'] });
    expect(outputs.StandardQueueUrl!.Value).toEqual({ Ref: 'StandardQueue' });
    expect(outputs.FifoQueueArn!.Value).toEqual({ 'Fn::GetAtt': ['FifoQueue', 'Arn'] });
    expect(outputs.AlarmNamePrefix!.Value).toBe(`EventPipeline-${stage}-`);
  });
});
