import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, EventPipeline, type AuthSettings, type PipelineSettingsInput } from 'event-pipeline';
import { JOB_MODULES } from '../../app/event-pipeline-stack';
import { loadStageConfig } from '../../app/stages';
import { buildStack, testApp } from '../helpers/synth';
import * as authorizerConfig from '../../lambda/authorizer/config';

const JWT = { issuer: 'https://login.example.com/', audience: 'orders-api', tenantClaim: 'tenant' };
const JWT_AUTH: AuthSettings = { mode: 'jwt', tenants: [], allowedPrincipals: [], jwt: JWT };

/** A pipeline of stage dev with `settings` over the reference app's dev settings. */
function pipelineWith(settings: PipelineSettingsInput): { stack: Stack; t: Template } {
  const stack = new Stack(testApp({ builtinCloudFormationValidation: false }), 'EventPipeline-dev');
  new EventPipeline(stack, 'Default', {
    stage: 'dev',
    jobs: JOB_MODULES,
    settings: { ...loadStageConfig('dev'), ...settings },
  });
  return { stack, t: Template.fromStack(stack) };
}

const functionWith = (t: Template, variable: string) =>
  Object.entries(t.findResources('AWS::Lambda::Function')).find(
    ([, f]) => f.Properties.Environment?.Variables?.[variable] !== undefined,
  )!;

describe('authentication: jwt (a Lambda authorizer checks bearer tokens)', () => {
  const { t } = pipelineWith({ auth: JWT_AUTH });

  it('has one REQUEST authorizer: identity source the Authorization header, results cached 300 s', () => {
    const authorizers = Object.values(t.findResources('AWS::ApiGateway::Authorizer'));

    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]!.Properties).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('makes every method CUSTOM with that authorizer, without API keys or usage plans', () => {
    const [authorizerId] = Object.keys(t.findResources('AWS::ApiGateway::Authorizer'));
    const methods = Object.values(t.findResources('AWS::ApiGateway::Method'));

    // ANY on /v1/messages, /v1/messages/batch, /v1/messages/{id} and /v1/messages/{id}/result
    expect(methods).toHaveLength(4);
    for (const m of methods) {
      expect(m.Properties.AuthorizationType).toBe('CUSTOM');
      expect(m.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
      expect(m.Properties.ApiKeyRequired).toBeUndefined();
    }
    expect(t.findResources('AWS::ApiGateway::ApiKey')).toEqual({});
    expect(t.findResources('AWS::ApiGateway::UsagePlan')).toEqual({});
  });

  it('gives the authorizer the issuer, audience, JWKS, tenant claim and algorithms; the producer the mode', () => {
    const [, authorizer] = functionWith(t, 'JWT_ISSUER');
    const [, producer] = functionWith(t, 'AUTH_MODE');

    expect(authorizer.Properties.Environment.Variables).toMatchObject({
      JWT_ISSUER: 'https://login.example.com/',
      JWT_AUDIENCE: 'orders-api',
      JWKS_URI: 'https://login.example.com/.well-known/jwks.json',
      JWT_TENANT_CLAIM: 'tenant',
      JWT_ALGORITHMS: 'RS256,ES256',
      POWERTOOLS_SERVICE_NAME: 'authorizer',
    });
    expect(producer.Properties.Environment.Variables.AUTH_MODE).toBe('jwt');
  });

  it('gives the authorizer exactly the variables its config contract reads, which it parses', () => {
    const variables = functionWith(t, 'JWT_ISSUER')[1].Properties.Environment.Variables as Record<
      string,
      string
    >;

    expect(Object.keys(variables).sort()).toEqual(
      ['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', ...authorizerConfig.variables].sort(),
    );
    expect(authorizerConfig.fromEnvironment(variables)).toEqual({
      issuer: 'https://login.example.com/',
      audience: 'orders-api',
      jwksUri: 'https://login.example.com/.well-known/jwks.json',
      tenantClaim: 'tenant',
      algorithms: ['RS256', 'ES256'],
    });
  });

  it('lets API Gateway (this API only) invoke the authorizer function', () => {
    const [authorizerFn] = functionWith(t, 'JWT_ISSUER');
    const permissions = Object.values(t.findResources('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(authorizerFn),
    );

    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Properties.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(permissions[0]!.Properties.SourceArn)).toContain('/authorizers/');
  });

  it('answers a missing or bad token 401 with WWW-Authenticate: Bearer, an unknown route 404', () => {
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseParameters: { 'gatewayresponse.header.WWW-Authenticate': "'Bearer'" },
    });
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'AUTHORIZER_FAILURE',
      StatusCode: '503',
    });
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '404',
    });
  });

  it("writes the authorizer's principal and tenant into the access log", () => {
    const [stage] = Object.values(t.findResources('AWS::ApiGateway::Stage'));
    const format = JSON.parse(stage!.Properties.AccessLogSetting.Format as string) as Record<string, string>;

    expect(format).toMatchObject({
      principalId: '$context.authorizer.principalId',
      tenant: '$context.authorizer.tenant',
    });
  });

  it('defaults the tenant claim to sub and takes a JWKS URI and algorithms as given', () => {
    const { t: other } = pipelineWith({
      auth: {
        ...JWT_AUTH,
        jwt: {
          issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
          audience: 'client-1',
          jwksUri: 'https://keys.example.com/jwks',
          algorithms: ['PS256'],
        },
      },
    });

    expect(functionWith(other, 'JWT_ISSUER')[1].Properties.Environment.Variables).toMatchObject({
      JWKS_URI: 'https://keys.example.com/jwks',
      JWT_TENANT_CLAIM: 'sub',
      JWT_ALGORITHMS: 'PS256',
    });
  });
});

describe('cdk-nag AwsSolutions on a jwt stage', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-jwt-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const { app } = buildStack(
    loadStageConfig('dev', { auth: JWT_AUTH }),
    testApp({ outdir, builtinCloudFormationValidation: false }),
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let synthError: unknown;
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  const reports = (
    JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: { ruleName: string }[];
        suppressedViolations?: { ruleName: string; acknowledgedId: string; reason: string }[];
      }[];
    }
  ).pluginReports;
  const nag = reports.find((r) => r.pluginName === 'AwsSolutions')!;

  it('has no unacknowledged finding', () => {
    expect(synthError).toBeUndefined();
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('needs no APIG4 acknowledgement (every method has an authorizer); COG4 names the Lambda authorizer', () => {
    const suppressed = nag.suppressedViolations ?? [];
    expect(suppressed.filter((s) => s.acknowledgedId.includes('APIG4'))).toEqual([]);
    const cog4 = suppressed.filter((s) => s.acknowledgedId.includes('COG4'));
    expect(cog4).toHaveLength(4);
    for (const s of cog4) expect(s.reason).toContain('Lambda authorizer');
  });
});

describe('jwt settings refused at synth', () => {
  it.each([
    [{ ...JWT_AUTH, jwt: undefined }, 'auth.mode jwt needs auth.jwt'],
    [
      { ...JWT_AUTH, jwt: { ...JWT, issuer: 'http://login.example.com' } },
      'auth.jwt.issuer must be an https:// URL',
    ],
    [{ ...JWT_AUTH, jwt: { ...JWT, issuer: 'login' } }, 'auth.jwt.issuer'],
    [{ ...JWT_AUTH, jwt: { ...JWT, audience: '' } }, 'auth.jwt.audience'],
    [{ ...JWT_AUTH, jwt: { ...JWT, jwksUri: 'ftp://x/y' } }, 'auth.jwt.jwksUri'],
    [{ ...JWT_AUTH, jwt: { ...JWT, tenantClaim: 'a b' } }, 'auth.jwt.tenantClaim'],
    [{ ...JWT_AUTH, jwt: { ...JWT, algorithms: ['HS256'] } }, 'auth.jwt.algorithms: "HS256"'],
    [{ ...JWT_AUTH, jwt: { ...JWT, algorithms: ['none'] } }, 'auth.jwt.algorithms: "none"'],
    [{ ...JWT_AUTH, jwt: { ...JWT, algorithms: [] } }, 'auth.jwt.algorithms must name at least one'],
    [{ ...JWT_AUTH, allowedPrincipals: ['111122223333'] }, 'applies to auth.mode iam only'],
  ])('refuses %j in one line naming the field', (auth, message) => {
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

  it('refuses a probe sender that is not <issuer>#<claim>', () => {
    expect(() =>
      pipelineWith({ auth: JWT_AUTH, probes: { ...loadStageConfig('dev').probes, senders: ['orders'] } }),
    ).toThrow(/probes.senders: "orders" is not <auth.jwt.issuer>#<tenant claim>/);
    expect(() =>
      pipelineWith({
        auth: JWT_AUTH,
        probes: { ...loadStageConfig('dev').probes, senders: ['https://login.example.com/#ops'] },
      }),
    ).not.toThrow();
  });
});
