import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type LocalEnv, type LocalHandle } from '../../local';
import { tryCommand } from '../../local/main';
import { writeAuthAssembly, type EchoBody } from '../helpers/auth-assembly';
import { sdkSignedInit } from '../helpers/sigv4';

const STACK = 'EventPipeline-local';

/** A stage of the auth fixture (test/helpers/auth-assembly.ts) in its own folder, with its env file. */
function useFixtureStage(
  mode: 'apiKey' | 'iam',
  options: Partial<Parameters<typeof startLocal>[0]> = {},
): { local: () => LocalHandle; envFile: () => string; cdkOut: () => string } {
  let dir = '';
  let local: LocalHandle | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `local-auth-${mode}-`));
    writeAuthAssembly(path.join(dir, 'cdk.out'), { mode, stackName: STACK });
    local = await startLocal({
      cdkOut: path.join(dir, 'cdk.out'),
      apiPort: 0,
      awsPort: 0,
      logs: 'silent',
      envFile: path.join(dir, '.local', 'env.json'),
      ...options,
    });
  });
  afterAll(async () => {
    await local?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    local: () => local!,
    envFile: () => path.join(dir, '.local', 'env.json'),
    cdkOut: () => path.join(dir, 'cdk.out'),
  };
}

const body = JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } });

describe('local mode in apiKey mode', () => {
  const stage = useFixtureStage('apiKey', { apiKey: 'first-tenant-key-from-LOCAL_API_KEY' });
  const post = (key: string | undefined) =>
    fetch(`${stage.local().apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'x-api-key': key }) },
      body,
    });

  it('writes every tenant’s key and its id to .local/env.json (0600), the first one also as apiKey', () => {
    const env = JSON.parse(readFileSync(stage.envFile(), 'utf8')) as LocalEnv;

    expect(statSync(stage.envFile()).mode & 0o777).toBe(0o600);
    expect(env.auth!.mode).toBe('apiKey');
    expect(Object.keys(env.auth!.tenants)).toEqual(['tenant-a', 'tenant-b']);
    expect(env.auth!.tenants['tenant-a']).toEqual({
      apiKey: 'first-tenant-key-from-LOCAL_API_KEY',
      apiKeyId: expect.stringMatching(/^[a-z0-9]{10}$/),
    });
    expect(env.auth!.tenants['tenant-b']!.apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(env.apiKey).toBe('first-tenant-key-from-LOCAL_API_KEY');
    expect(stage.local().apiKey).toBe(env.apiKey);
  });

  it("gives the producer the caller's key id, which its API_KEY_TENANTS maps to the caller's tenant", async () => {
    for (const [tenant, credentials] of Object.entries(stage.local().auth.tenants)) {
      const res = await post(credentials.apiKey);
      expect(res.status).toBe(200);
      const echo = (await res.json()) as EchoBody;

      expect(echo.identity).toMatchObject({ apiKey: credentials.apiKey, apiKeyId: credentials.apiKeyId });
      expect(JSON.parse(echo.env.API_KEY_TENANTS!)).toMatchObject({ [credentials.apiKeyId!]: tenant });
      expect(echo.env.AUTH_MODE).toBe('apiKey');
    }
  });

  it('answers 403 INVALID_API_KEY for a missing or unknown key', async () => {
    for (const key of [undefined, 'k'.repeat(40)]) {
      const res = await post(key);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_API_KEY');
    }
  });

  it('refuses to start when --auth asks for a mode the template does not use', async () => {
    await expect(
      startLocal({
        cdkOut: stage.cdkOut(),
        auth: 'iam',
        apiPort: 0,
        awsPort: 0,
        logs: 'silent',
        envFile: null,
      }),
    ).rejects.toThrow(
      "auth iam was asked for, but the template's API uses apiKey: the app's bin/ must read the \"auth\" context (-c auth=iam) and give it to the stage's settings",
    );
  });
});

describe('local mode in iam mode', () => {
  const stage = useFixtureStage('iam', { iamTenants: ['orders', 'billing'], region: 'eu-central-1' });

  it('writes every local IAM user’s access key to .local/env.json, and no API key', () => {
    const env = JSON.parse(readFileSync(stage.envFile(), 'utf8')) as LocalEnv;

    expect(env.auth!.mode).toBe('iam');
    expect(Object.keys(env.auth!.tenants)).toEqual(['orders', 'billing']);
    expect(env.auth!.tenants.orders).toEqual({
      accessKeyId: expect.stringMatching(/^AKIA[A-Z2-7]{16}$/),
      secretAccessKey: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      userArn: 'arn:aws:iam::000000000000:user/orders',
    });
    expect(env).not.toHaveProperty('apiKey');
    expect(stage.local().apiKey).toBe('');
  });

  it('accepts the signed curl command npm start prints, as the first tenant', async () => {
    const command = tryCommand(stage.local().env);
    const out = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', command], { encoding: 'utf8' }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    const echo = JSON.parse(out) as EchoBody;

    expect(echo.identity).toMatchObject({
      accountId: '000000000000',
      userArn: 'arn:aws:iam::000000000000:user/orders',
      accessKey: stage.local().auth.tenants.orders!.accessKeyId,
      apiKeyId: null,
    });
    expect(echo.env).toEqual({ AUTH_MODE: 'iam', API_KEY_TENANTS: '{}' });
  });

  it("accepts the AWS SDK's signature for the stage's region, and refuses an unsigned request", async () => {
    const { accessKeyId, secretAccessKey } = stage.local().auth.tenants.billing!;
    const url = `${stage.local().apiUrl}/v1/messages/m-1`;
    const signed = await fetch(
      url,
      await sdkSignedInit(url, {
        method: 'GET',
        credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! },
        region: 'eu-central-1',
      }),
    );
    const unsigned = await fetch(url);

    expect(signed.status).toBe(200);
    expect(((await signed.json()) as EchoBody).identity.userArn).toBe(
      'arn:aws:iam::000000000000:user/billing',
    );
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe(
      'MISSING_AUTHENTICATION_TOKEN',
    );
  });
});
