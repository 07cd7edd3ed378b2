import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, synthesize, type LocalEnv, type LocalHandle } from '../../local';
import { tryCommand } from '../../local/main';
import { send } from '../../ops/lib/api';
import { isolationCheck } from '../../ops/lib/smoke';
import { localTarget, readLocalEnv } from '../../ops/lib/target';

// Local mode on the reference app's local stage synthesized with `-c auth=jwt` (what
// `npm start -- --auth jwt` does): the real authorizer and producer bundles, local mode the issuer.
const ISSUER = 'https://issuer.local.invalid';
const CDK_OUT = path.join(__dirname, '..', '..', 'cdk.out.test-jwt');
let dir = '';
let local: LocalHandle;
let env: LocalEnv;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'local-auth-jwt-'));
  // Inside the project (cdk.out* is ignored): the bundles' externals (the AWS SDK, as Lambda's
  // runtime provides it) resolve from its node_modules.
  await synthesize('local', CDK_OUT, undefined, { auth: 'jwt' });
  local = await startLocal({
    cdkOut: CDK_OUT,
    apiPort: 0,
    awsPort: 0,
    logs: 'silent',
    envFile: path.join(dir, '.local', 'env.json'),
  });
  env = JSON.parse(readFileSync(path.join(dir, '.local', 'env.json'), 'utf8')) as LocalEnv;
}, 300_000);
afterAll(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tokenOf = (tenant: string) => env.auth!.tenants[tenant]!.token!;
const call = (
  urlPath: string,
  init: { method?: string; token?: string; authorization?: string; body?: string },
) =>
  fetch(`${local.apiUrl}${urlPath}`, {
    method: init.method ?? 'GET',
    headers: {
      'content-type': 'application/json',
      ...(init.authorization !== undefined
        ? { authorization: init.authorization }
        : init.token !== undefined
          ? { authorization: `Bearer ${init.token}` }
          : {}),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
const probe = (token: string | undefined) =>
  call('/v1/messages', {
    method: 'POST',
    token,
    body: JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } }),
  });
/** The answer's body and the journal's failed invocations, for a failed assertion's message. */
const explain = async (res: Response) =>
  JSON.stringify({
    body: await res.clone().text(),
    failed: local.journal
      .list()
      .filter((r) => r.error !== null)
      .map((r) => ({ fn: r.function, error: r.error })),
  });
const authorizerRuns = () => local.journal.list().filter((r) => /Authorizer/.test(r.function)).length;

describe('local mode in jwt mode (npm start -- --auth jwt)', () => {
  it('is the issuer: a token per tenant in .local/env.json (0600), its key set served on loopback', async () => {
    expect(statSync(path.join(dir, '.local', 'env.json')).mode & 0o777).toBe(0o600);
    expect(env.auth!.mode).toBe('jwt');
    expect(Object.keys(env.auth!.tenants)).toEqual(['tenant-a', 'tenant-b']);
    expect(env.auth!.jwt).toEqual({
      issuer: ISSUER,
      audience: 'event-pipeline-local',
      jwksUri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json$/),
    });
    const payload = JSON.parse(
      Buffer.from(tokenOf('tenant-b').split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: ISSUER, aud: 'event-pipeline-local', tenant: 'tenant-b' });
    const jwks = (await (await fetch(env.auth!.jwt!.jwksUri)).json()) as {
      keys: { kty: string; alg: string }[];
    };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', alg: 'ES256' })]);
    expect(tryCommand(env)).toContain(`-H 'Authorization: Bearer ${tokenOf('tenant-a')}'`);
  });

  it('answers a request without a token 401 Unauthorized, without running the authorizer', async () => {
    const before = authorizerRuns();
    const res = await probe(undefined);

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
    expect(authorizerRuns()).toBe(before);
  });

  it.each<[string, () => Promise<string>]>([
    ['a token that is no JWT', () => Promise.resolve('Bearer not-a-token')],
    ['another scheme', async () => `Basic ${tokenOf('tenant-a')}`],
    [
      'an expired token of the issuer',
      async () => `Bearer ${await local.issueToken('tenant-a', { expiresInSeconds: -120 })}`,
    ],
    [
      'a token valid only from 10 minutes on',
      async () => `Bearer ${await local.issueToken('tenant-a', { notBeforeSeconds: 600 })}`,
    ],
    [
      'a token signed by another key',
      async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        const kid = (await exportJWK(publicKey)).x!;
        const jwt = await new SignJWT({ tenant: 'tenant-a' })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuer(ISSUER)
          .setAudience('event-pipeline-local')
          .setExpirationTime('5m')
          .sign(privateKey);
        return `Bearer ${jwt}`;
      },
    ],
  ])('answers %s 401', async (_name, authorization) => {
    const res = await call('/v1/messages', {
      method: 'POST',
      authorization: await authorization(),
      body: JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } }),
    });

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
  });

  it("accepts a tenant's token; another tenant cannot read its message (404, as an unknown id)", async () => {
    const sent = await probe(tokenOf('tenant-a'));
    expect(sent.status, await explain(sent)).toBe(202);
    const { id } = (await sent.json()) as { id: string };

    const own = await call(`/v1/messages/${id}`, { token: tokenOf('tenant-a') });
    const other = await call(`/v1/messages/${id}`, { token: tokenOf('tenant-b') });
    const unknown = await call('/v1/messages/00000000-0000-4000-8000-000000000000', {
      token: tokenOf('tenant-b'),
    });

    expect(own.status).toBe(200);
    expect(((await own.json()) as { id: string }).id).toBe(id);
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    const code = ((await unknown.json()) as { error: { code: string } }).error.code;
    expect(await other.json()).toMatchObject({ error: { code } });
  });

  it("ops sends with the first tenant's token and finds the second tenant isolated", async () => {
    const target = await localTarget(await readLocalEnv(path.join(dir, '.local', 'env.json')));
    try {
      expect(target.auth).toEqual({ mode: 'jwt', token: tokenOf('tenant-a') });
      const accepted = await send(target, { type: 'probe', payload: { mode: 'succeed' } });

      expect(await isolationCheck(target, accepted, fetch)).toMatchObject({
        result: 'pass',
        detail: `its tenant reads ${accepted.id} (200); tenant tenant-b gets 404`,
      });
    } finally {
      target.close();
    }
  });

  it('caches the authorizer result per token: a second request with the same token runs it no more', async () => {
    const token = await local.issueToken('tenant-b');
    const before = authorizerRuns();
    expect((await probe(token)).status).toBe(202);
    expect((await probe(token)).status).toBe(202);

    expect(authorizerRuns()).toBe(before + 1);
  });
});
