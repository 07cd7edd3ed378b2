import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError, EventPipeline, type PipelineSettingsInput } from 'event-pipeline';
import { JOB_MODULES } from '../../app/event-pipeline-stack';
import { loadStageConfig } from '../../app/stages';
import { synthStage, testApp } from '../helpers/synth';

/** A pipeline of stage dev with `settings` over the reference app's dev settings. */
function pipelineWith(settings: PipelineSettingsInput): Template {
  const stack = new Stack(testApp({ builtinCloudFormationValidation: false }), 'EventPipeline-dev');
  new EventPipeline(stack, 'Default', {
    stage: 'dev',
    jobs: JOB_MODULES,
    settings: { ...loadStageConfig('dev'), ...settings },
  });
  return Template.fromStack(stack);
}

const producerEnv = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function')).find(
    (f) => f.Properties.Environment?.Variables?.AUTH_MODE !== undefined,
  )!.Properties.Environment.Variables as Record<string, unknown>;

describe('authentication: iam (the default of dev, staging and prod)', () => {
  it.each(['dev', 'staging', 'prod'] as const)(
    'makes every method of stage %s AWS_IAM, without API keys',
    (stage) => {
      const t = synthStage(stage);
      const methods = Object.values(t.findResources('AWS::ApiGateway::Method'));

      // ANY on /v1/messages, /v1/messages/batch, /v1/messages/{id} and /v1/messages/{id}/result
      expect(methods.length).toBe(4);
      for (const m of methods) {
        expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
        expect(m.Properties.ApiKeyRequired).toBeUndefined();
      }
      expect(t.findResources('AWS::ApiGateway::ApiKey')).toEqual({});
      expect(t.findResources('AWS::ApiGateway::UsagePlan')).toEqual({});
      expect(producerEnv(t)).toMatchObject({ AUTH_MODE: 'iam' });
    },
  );

  it('answers an unsigned request (and an unknown route) with 403, not the 404 of an API-key stage', () => {
    synthStage('dev').hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '403',
    });
    synthStage('dev').hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INVALID_SIGNATURE',
      StatusCode: '403',
    });
  });

  it('lets callers of other accounts in by an API resource policy naming them, and only then', () => {
    expect(synthStage('dev').toJSON().Resources).not.toMatchObject({ Policy: expect.anything() });
    const t = pipelineWith({
      auth: {
        mode: 'iam',
        tenants: [],
        allowedPrincipals: ['111122223333', 'arn:aws:iam::444455556666:role/orders-service'],
      },
    });

    t.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: [
          Match.objectLike({
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Principal: {
              AWS: [
                'arn:aws:iam::444455556666:role/orders-service',
                { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111122223333:root']] },
              ],
            },
            Resource: 'execute-api:/*',
          }),
        ],
      },
    });
  });

  it('writes who called into the access log: principal, account and API key id', () => {
    const [stage] = Object.values(synthStage('dev').findResources('AWS::ApiGateway::Stage'));
    const format = JSON.parse(stage!.Properties.AccessLogSetting.Format as string) as Record<string, string>;

    expect(format).toMatchObject({
      requestId: '$context.requestId',
      userArn: '$context.identity.userArn',
      accountId: '$context.identity.accountId',
      apiKeyId: '$context.identity.apiKeyId',
      caller: '$context.identity.caller',
    });
  });
});

describe('authentication: apiKey (one key per tenant)', () => {
  const t = pipelineWith({
    auth: { mode: 'apiKey', tenants: ['orders', 'billing-eu'], allowedPrincipals: [] },
  });

  it('requires an API key on every method', () => {
    for (const m of Object.values(t.findResources('AWS::ApiGateway::Method'))) {
      expect(m.Properties.ApiKeyRequired).toBe(true);
      expect(m.Properties.AuthorizationType).toBe('NONE');
    }
  });

  it("gives each tenant a key and a usage plan of its own, with limits below the stage's", () => {
    const keys = t.findResources('AWS::ApiGateway::ApiKey');
    const plans = t.findResources('AWS::ApiGateway::UsagePlan');
    const links = Object.values(t.findResources('AWS::ApiGateway::UsagePlanKey'));

    expect(Object.values(keys).map((k) => k.Properties.Description)).toEqual([
      'tenant orders',
      'tenant billing-eu',
    ]);
    expect(Object.keys(plans)).toHaveLength(2);
    const dev = loadStageConfig('dev').api;
    for (const plan of Object.values(plans)) {
      expect(plan.Properties.Throttle).toEqual({
        RateLimit: dev.rateLimit / 2,
        BurstLimit: dev.burstLimit / 2,
      });
      expect(plan.Properties.Quota).toEqual({ Limit: dev.quotaPerDay / 2, Period: 'DAY' });
    }
    // Each key in exactly one plan, each plan with exactly one key.
    expect(links.map((l) => l.Properties.KeyId.Ref).sort()).toEqual(Object.keys(keys).sort());
    expect(links.map((l) => l.Properties.UsagePlanId.Ref).sort()).toEqual(Object.keys(plans).sort());
  });

  it("tells the producer which key id is which tenant's", () => {
    const env = producerEnv(t);
    const keyIds = Object.keys(t.findResources('AWS::ApiGateway::ApiKey'));

    expect(env.AUTH_MODE).toBe('apiKey');
    const mapping = JSON.stringify(env.API_KEY_TENANTS);
    for (const id of keyIds) expect(mapping).toContain(JSON.stringify({ Ref: id }));
    expect(mapping).toContain('orders');
    expect(mapping).toContain('billing-eu');
  });

  it('outputs each tenant key id and the mode, for operators and ops', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(outputs.AuthMode!.Value).toBe('apiKey');
    expect(
      Object.keys(outputs)
        .filter((o) => /^Tenant\w+ApiKeyId$/.test(o))
        .sort(),
    ).toEqual(['TenantBillingEuApiKeyId', 'TenantOrdersApiKeyId']);
  });
});

describe('authentication settings refused at synth', () => {
  it.each([
    [{ mode: 'apiKey', tenants: [], allowedPrincipals: [] }, 'auth.mode apiKey needs at least one tenant'],
    [{ mode: 'token', tenants: [], allowedPrincipals: [] }, 'auth.mode must be one of iam, apiKey'],
    [{ mode: 'apiKey', tenants: ['Orders'], allowedPrincipals: [] }, 'auth.tenants: "Orders"'],
    [{ mode: 'apiKey', tenants: ['a', 'a'], allowedPrincipals: [] }, 'names a tenant twice'],
    [{ mode: 'iam', tenants: [], allowedPrincipals: ['*'] }, 'auth.allowedPrincipals: "*"'],
    [
      { mode: 'apiKey', tenants: ['a'], allowedPrincipals: ['111122223333'] },
      'applies to auth.mode iam only',
    ],
    [
      {
        mode: 'apiKey',
        tenants: ['a'],
        allowedPrincipals: [],
        tenantLimits: { rateLimit: 500, burstLimit: 1, quotaPerDay: 1 },
      },
      "must not exceed the stage's api limits",
    ],
  ])('refuses %j in one line', (auth, message) => {
    let error: unknown;
    try {
      pipelineWith({ auth: auth as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
