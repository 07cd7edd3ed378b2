/**
 * A small stage template with the stack's authentication shapes (issue 17): a REST API whose
 * methods use API keys (one `AWS::ApiGateway::ApiKey` per tenant, each in its own usage plan,
 * and the producer's `API_KEY_TENANTS` mapping each key's id to its tenant) or `AWS_IAM`, and a
 * producer that answers with what it received. As resources for template analysis, or written
 * as a cloud assembly local mode runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RawResource } from './topology';

/** The echo producer's asset folder inside the assembly. */
export const ECHO_ASSET = 'asset.echo';

/** What the echo producer answers: the caller's identity and its own auth environment. */
export interface EchoBody {
  readonly identity: Record<string, string | null>;
  readonly env: { readonly AUTH_MODE?: string; readonly API_KEY_TENANTS?: string };
}

const ECHO_HANDLER = `export const handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({
    identity: event.requestContext.identity,
    env: { AUTH_MODE: process.env.AUTH_MODE, API_KEY_TENANTS: process.env.API_KEY_TENANTS },
  }),
});
`;

/** Options of {@link authResources}. */
export interface AuthTemplateOptions {
  readonly mode: 'apiKey' | 'iam';
  readonly stackName: string;
  /** Tenants with an API key (apiKey mode). @default ['tenant-a', 'tenant-b'] */
  readonly tenants?: readonly string[];
  /** The producer's asset folder. @default {@link ECHO_ASSET} */
  readonly asset?: string;
}

const logicalIdOf = (tenant: string) => tenant.replace(/[^A-Za-z0-9]/g, '');

/**
 * The template's resources: keys named `<stack>-<tenant>` (the first tenant's name as a literal,
 * the others through `AWS::StackName`) and described `tenant <name>`.
 */
export function authResources(options: AuthTemplateOptions): Record<string, RawResource> {
  const iam = options.mode === 'iam';
  const tenants = iam ? [] : (options.tenants ?? ['tenant-a', 'tenant-b']);
  const method = (resource: string, httpMethod: string): RawResource => ({
    Type: 'AWS::ApiGateway::Method',
    Properties: {
      RestApiId: { Ref: 'Api' },
      ResourceId: { Ref: resource },
      HttpMethod: httpMethod,
      AuthorizationType: iam ? 'AWS_IAM' : 'NONE',
      ...(iam ? {} : { ApiKeyRequired: true }),
      Integration: {
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        Uri: {
          'Fn::Join': [
            '',
            [
              'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
              { 'Fn::GetAtt': ['Producer', 'Arn'] },
              '/invocations',
            ],
          ],
        },
      },
    },
  });
  const keyTenants: unknown[] = ['{'];
  tenants.forEach((t, i) => {
    keyTenants.push(`${i ? ',' : ''}"`, { Ref: `Key${logicalIdOf(t)}` }, `":"${t}"`);
  });
  keyTenants.push('}');
  const resources: Record<string, RawResource> = {
    Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'ingest' } },
    V1: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: {
        RestApiId: { Ref: 'Api' },
        ParentId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
        PathPart: 'v1',
      },
    },
    Messages: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: { Ref: 'Api' }, ParentId: { Ref: 'V1' }, PathPart: 'messages' },
    },
    Message: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: { Ref: 'Api' }, ParentId: { Ref: 'Messages' }, PathPart: '{id}' },
    },
    MessagesAny: method('Messages', 'ANY'),
    MessageGet: method('Message', 'GET'),
    Stage: { Type: 'AWS::ApiGateway::Stage', Properties: { RestApiId: { Ref: 'Api' }, StageName: 'local' } },
    Default4xx: {
      Type: 'AWS::ApiGateway::GatewayResponse',
      Properties: {
        RestApiId: { Ref: 'Api' },
        ResponseType: 'DEFAULT_4XX',
        ResponseTemplates: {
          'application/json':
            '{"error":{"code":"$context.error.responseType","message":$context.error.messageString,"requestId":"$context.requestId"}}',
        },
      },
    },
    Producer: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Timeout: 5,
        Environment: {
          Variables: {
            AUTH_MODE: options.mode,
            API_KEY_TENANTS: iam ? '{}' : { 'Fn::Join': ['', keyTenants] },
          },
        },
      },
      Metadata: { 'aws:asset:path': options.asset ?? ECHO_ASSET },
    },
  };
  tenants.forEach((t, i) => {
    const id = logicalIdOf(t);
    resources[`Key${id}`] = {
      Type: 'AWS::ApiGateway::ApiKey',
      Properties: {
        Name:
          i === 0 ? `${options.stackName}-${t}` : { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, `-${t}`]] },
        Description: `tenant ${t}`,
        Enabled: true,
        StageKeys: [{ RestApiId: { Ref: 'Api' }, StageName: { Ref: 'Stage' } }],
      },
    };
    resources[`Plan${id}`] = {
      Type: 'AWS::ApiGateway::UsagePlan',
      Properties: { ApiStages: [{ ApiId: { Ref: 'Api' }, Stage: { Ref: 'Stage' } }] },
    };
    resources[`PlanKey${id}`] = {
      Type: 'AWS::ApiGateway::UsagePlanKey',
      Properties: { KeyId: { Ref: `Key${id}` }, KeyType: 'API_KEY', UsagePlanId: { Ref: `Plan${id}` } },
    };
  });
  return resources;
}

/** Writes {@link authResources} as a cloud assembly (manifest, template, the echo asset) into `dir`. */
export function writeAuthAssembly(dir: string, options: AuthTemplateOptions): void {
  mkdirSync(path.join(dir, ECHO_ASSET), { recursive: true });
  writeFileSync(path.join(dir, ECHO_ASSET, 'index.mjs'), ECHO_HANDLER);
  const templateFile = `${options.stackName}.template.json`;
  writeFileSync(path.join(dir, templateFile), JSON.stringify({ Resources: authResources(options) }, null, 2));
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '48.0.0',
      artifacts: {
        [options.stackName]: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/unknown-region',
          properties: { templateFile },
        },
      },
    }),
  );
}
