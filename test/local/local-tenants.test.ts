import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { authModeOf, LocalAuth } from '../../local/apigateway/local-auth';
import type { ReceivedRequest } from '../../local/apigateway/sigv4';
import { LOCAL_USAGE, parseLocalArgs, UsageError } from '../../local/cli-args';
import type { LocalEnv } from '../../local/index';
import { banner, tryCommand } from '../../local/main';
import { PROJECT_ROOT } from '../../local/startup';
import type { TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { tenantOfApiKey } from '../../local/template/api-keys';
import { authResources } from '../helpers/auth-assembly';
import { ASSET, useTemplateFixture, type RawResource } from '../helpers/topology';

const { analyze } = useTemplateFixture('local-tenants-');

/** The producer's environment as local mode resolves it (the same resolution as the key ids'). */
function producerVariable(resources: Record<string, RawResource>, name: string): string {
  const map = new Map<string, TemplateResource>(
    Object.entries(resources).map(([logicalId, r]) => [
      logicalId,
      {
        logicalId,
        type: r.Type,
        properties: r.Properties ?? {},
        metadata: {},
        dependsOn: [],
        stackName: 'S',
      },
    ]),
  );
  const resolver = new Resolver({ pseudo: localPseudoParameters('S'), resources: map });
  const variables = (resources.Producer!.Properties!.Environment as { Variables: Record<string, unknown> })
    .Variables;
  return resolver.resolveString(variables[name], { resource: 'Producer', property: name });
}

const request = (headers: Record<string, string>): ReceivedRequest => ({
  method: 'POST',
  target: '/v1/messages',
  rawHeaders: Object.entries(headers).flat(),
  body: Buffer.alloc(0),
});

describe('tenants of the template', () => {
  it("reads one API key per tenant, its id the Ref the producer's API_KEY_TENANTS maps", () => {
    const resources = authResources({
      mode: 'apiKey',
      stackName: 'S',
      asset: ASSET,
      tenants: ['tenant-a', 'tenant-b', 'c'],
    });
    const api = analyze(resources).api!;
    const tenants = JSON.parse(producerVariable(resources, 'API_KEY_TENANTS')) as Record<string, string>;

    expect(api.apiKeys!.map((k) => k.tenant)).toEqual(['tenant-a', 'tenant-b', 'c']);
    expect(api.apiKeys!.map((k) => k.id)).toEqual(Object.keys(tenants));
    for (const key of api.apiKeys!) expect(tenants[key.id]).toBe(key.tenant);
    expect(api.apiKeys![0]!.id).toMatch(/^[a-z0-9]{10}$/);
    expect(authModeOf(api)).toBe('apiKey');
  });

  it('names a tenant by the key’s description, else its name, else default for a lone key', () => {
    expect(tenantOfApiKey({ logicalId: 'K', description: 'tenant billing', name: 'S-x' }, 'S', false)).toBe(
      'billing',
    );
    expect(tenantOfApiKey({ logicalId: 'K', name: 'S-orders' }, 'S', false)).toBe('orders');
    expect(
      tenantOfApiKey({ logicalId: 'K', description: 'Default client key (generated value)' }, 'S', true),
    ).toBe('default');
    expect(tenantOfApiKey({ logicalId: 'K2', name: 'other' }, 'S', false)).toBe('K2');
  });

  it('leaves out a disabled key and a key in no usage plan, saying why; refuses two keys of one tenant', () => {
    const resources = authResources({ mode: 'apiKey', stackName: 'S', asset: ASSET });
    const disabled = structuredClone(resources);
    disabled.Keytenanta!.Properties!.Enabled = false;
    const planless = structuredClone(resources);
    delete planless.PlanKeytenantb;
    const twice = structuredClone(resources);
    twice.Keytenantb!.Properties!.Description = 'tenant tenant-a';

    const a = analyze(disabled);
    expect(a.api!.apiKeys!.map((k) => k.tenant)).toEqual(['tenant-b']);
    expect(a.notes).toContain('API key Keytenanta is disabled: no local caller can use it');
    const b = analyze(planless);
    expect(b.api!.apiKeys!.map((k) => k.tenant)).toEqual(['tenant-a']);
    expect(b.notes.join('\n')).toMatch(/Keytenantb is in no usage plan/);
    expect(() => analyze(twice)).toThrow(/Keytenantb .*tenant tenant-a already has API key Keytenanta/);
  });

  it('runs AWS_IAM methods and refuses authorizers it cannot run yet', () => {
    const iam = analyze(authResources({ mode: 'iam', stackName: 'S', asset: ASSET })).api!;
    const cognito = authResources({ mode: 'iam', stackName: 'S', asset: ASSET });
    cognito.MessageGet!.Properties!.AuthorizationType = 'COGNITO_USER_POOLS';

    expect(authModeOf(iam)).toBe('iam');
    expect(iam.apiKeys).toEqual([]);
    expect(() => analyze(cognito)).toThrow(
      /MessageGet .*AuthorizationType COGNITO_USER_POOLS is not supported locally yet/,
    );
  });
});

describe('API keys per tenant', () => {
  const resources = authResources({ mode: 'apiKey', stackName: 'S', asset: ASSET });
  const api = () => analyze(resources).api!;
  const method = () => api().resources.find((r) => r.path === '/v1/messages')!.methods[0]!;

  it('generates a key per tenant; LOCAL_API_KEY is the first tenant’s', () => {
    const auth = LocalAuth.create({
      api: api(),
      region: 'us-east-1',
      accountId: '000000000000',
      stackName: 'S',
      firstApiKey: 'first-tenant-key',
    });
    const { mode, tenants } = auth.info();

    expect(mode).toBe('apiKey');
    expect(Object.keys(tenants)).toEqual(['tenant-a', 'tenant-b']);
    expect(tenants['tenant-a']).toEqual({ apiKey: 'first-tenant-key', apiKeyId: api().apiKeys![0]!.id });
    expect(tenants['tenant-b']!.apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(auth.firstApiKey).toBe('first-tenant-key');
  });

  it("puts the matching key's id into the identity, and refuses a missing, wrong or repeated key", () => {
    const auth = LocalAuth.create({
      api: api(),
      region: 'us-east-1',
      accountId: '000000000000',
      stackName: 'S',
    });
    const { tenants } = auth.info();
    const b = tenants['tenant-b']!;

    expect(auth.authenticate(method(), request({ 'x-api-key': b.apiKey! }), new Date())).toEqual({
      ok: true,
      tenant: 'tenant-b',
      identity: {
        apiKey: b.apiKey,
        apiKeyId: b.apiKeyId,
        accountId: null,
        caller: null,
        accessKey: null,
        user: null,
        userArn: null,
      },
    });
    const refused: Record<string, string>[] = [
      {},
      { 'x-api-key': `${b.apiKey}x` },
      { 'x-api-key': b.apiKey!, 'X-Api-Key': b.apiKey! },
    ];
    for (const headers of refused) {
      expect(auth.authenticate(method(), request(headers), new Date())).toMatchObject({
        ok: false,
        response: 'INVALID_API_KEY',
      });
    }
  });

  it("keeps today's single-key template working: one tenant, default", () => {
    const single = authResources({ mode: 'apiKey', stackName: 'S', asset: ASSET, tenants: ['x'] });
    delete single.Keyx!.Properties!.Description;
    delete single.Keyx!.Properties!.Name;
    const auth = LocalAuth.create({
      api: analyze(single).api!,
      region: 'us-east-1',
      accountId: '000000000000',
      stackName: 'S',
      firstApiKey: 'k',
    });

    expect(Object.keys(auth.info().tenants)).toEqual(['default']);
    expect(auth.firstApiKey).toBe('k');
  });
});

describe('local IAM users', () => {
  const api = () => analyze(authResources({ mode: 'iam', stackName: 'S', asset: ASSET })).api!;
  const create = (iamTenants?: string[]) =>
    LocalAuth.create({
      api: api(),
      region: 'us-east-1',
      accountId: '000000000000',
      stackName: 'S',
      iamTenants,
    });

  it('are tenant-a and tenant-b unless named, each with its own access key and user ARN', () => {
    const tenants = create().info().tenants;
    const named = create(['orders', 'billing', 'ops']).info();

    expect(Object.keys(tenants)).toEqual(['tenant-a', 'tenant-b']);
    expect(tenants['tenant-a']).toEqual({
      accessKeyId: expect.stringMatching(/^AKIA[A-Z2-7]{16}$/),
      secretAccessKey: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      userArn: 'arn:aws:iam::000000000000:user/tenant-a',
    });
    expect(named.mode).toBe('iam');
    expect(Object.keys(named.tenants)).toEqual(['orders', 'billing', 'ops']);
    expect(create().firstApiKey).toBeUndefined();
  });

  it('refuses a tenant name IAM would refuse, or the same name twice', () => {
    expect(() => create(['ok', 'not ok'])).toThrow(/"not ok" is not an IAM user name/);
    expect(() => create(['a', 'a'])).toThrow(/name a tenant twice/);
  });
});

describe('npm start --auth', () => {
  it('reads --auth MODE and --auth=MODE', () => {
    expect(parseLocalArgs(['--auth', 'iam'])).toEqual({ synth: true, json: false, help: false, auth: 'iam' });
    expect(parseLocalArgs(['--no-synth', '--auth=apiKey']).auth).toBe('apiKey');
    expect(parseLocalArgs(['--auth', 'jwt']).auth).toBe('jwt');
    expect(parseLocalArgs([]).auth).toBeUndefined();
  });

  it.each([
    [['--auth'], /--auth needs a mode: iam, apiKey, jwt/],
    [['--auth', '--json'], /--auth needs a mode/],
    [['--auth', 'IAM'], /--auth IAM is not a mode \(use iam, apiKey, jwt\)/],
    [['--auth=iam', '--auth', 'apiKey'], /--auth is given twice/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseLocalArgs(argv)).toThrow(UsageError);
    expect(() => parseLocalArgs(argv)).toThrow(message);
  });

  it('lists --auth and LOCAL_TENANTS in the usage', () => {
    expect(LOCAL_USAGE).toMatch(/--auth MODE/);
    expect(LOCAL_USAGE).toMatch(/LOCAL_TENANTS/);
  });

  it('answers an unknown --auth mode with one line on stderr and exit code 2', () => {
    const out = spawnSync('npm', ['start', '-s', '--', '--auth', 'token'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });

    expect(out.status).toBe(2);
    expect(out.stderr.trim().split('\n')).toEqual([
      'error: --auth token is not a mode (use iam, apiKey, jwt)',
    ]);
  });
});

describe('the command npm start prints', () => {
  const base: LocalEnv = {
    apiUrl: 'http://127.0.0.1:3000',
    awsEndpoint: 'http://127.0.0.1:4566',
    region: 'eu-west-1',
    queues: {},
    buckets: {},
    dynamodbEndpoint: 'http://127.0.0.1:8000',
    tables: {},
    lanes: {},
  };
  const key = { accessKeyId: 'AKIAEXAMPLEHIJKLMNOP', secretAccessKey: 's'.repeat(40) };

  it('signs with the first tenant’s access key in iam mode', () => {
    const env: LocalEnv = {
      ...base,
      auth: { mode: 'iam', tenants: { 'tenant-a': key, 'tenant-b': { ...key, accessKeyId: 'AKIAOTHER' } } },
    };

    expect(tryCommand(env)).toBe(
      `curl -s --aws-sigv4 'aws:amz:eu-west-1:execute-api' --user 'AKIAEXAMPLEHIJKLMNOP:${'s'.repeat(40)}' -X POST http://127.0.0.1:3000/v1/messages -H 'content-type: application/json' -d '{"type":"probe","payload":{"mode":"succeed"}}'`,
    );
    const text = banner({ ...env, env }, '/app/.local/env.json', 1);
    expect(text).toMatch(
      /^ {2}auth {7}iam \(SigV4, service execute-api, region eu-west-1\); tenants tenant-a, tenant-b$/m,
    );
    expect(text).toMatch(/^ {2}access key AKIAEXAMPLEHIJKLMNOP \(tenant-a; secrets in the env file\)$/m);
    expect(text).not.toMatch(/API key/);
  });

  it('sends the first tenant’s bearer token in jwt mode', () => {
    const env: LocalEnv = {
      ...base,
      auth: {
        mode: 'jwt',
        tenants: { 'tenant-a': { token: 'h.p.s' }, 'tenant-b': { token: 'h.q.t' } },
        jwt: {
          issuer: 'https://issuer.local.invalid',
          audience: 'event-pipeline-local',
          jwksUri: 'http://127.0.0.1:4000/.well-known/jwks.json',
        },
      },
    };

    expect(tryCommand(env)).toBe(
      `curl -s -X POST http://127.0.0.1:3000/v1/messages -H 'content-type: application/json' -H 'Authorization: Bearer h.p.s' -d '{"type":"probe","payload":{"mode":"succeed"}}'`,
    );
    const text = banner({ ...env, env }, '/app/.local/env.json', 1);
    expect(text).toMatch(
      /^ {2}auth {7}jwt \(Authorization: Bearer; issuer https:\/\/issuer.local.invalid, audience event-pipeline-local\); tenants tenant-a, tenant-b$/m,
    );
    expect(text).toMatch(/^ {2}key set {4}http:\/\/127.0.0.1:4000\/.well-known\/jwks.json/m);
  });

  it('sends the first tenant’s key in apiKey mode', () => {
    const env: LocalEnv = {
      ...base,
      apiKey: 'k'.repeat(40),
      auth: { mode: 'apiKey', tenants: { 'tenant-a': { apiKey: 'k'.repeat(40), apiKeyId: 'abc' } } },
    };

    expect(tryCommand(env)).toContain(` -H 'x-api-key: ${'k'.repeat(40)}' -d `);
    expect(tryCommand(env)).not.toContain('--aws-sigv4');
    expect(banner({ ...env, env }, '/app/.local/env.json', 1)).toMatch(
      new RegExp(`^ {2}API key {4}${'k'.repeat(40)} \\(tenant-a\\)$`, 'm'),
    );
  });
});
