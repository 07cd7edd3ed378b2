import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, stageArnOf } from '../../lambda/authorizer/authorize';
import { bearerTokenOf, checkBearerToken, type TokenCheck } from '../../lambda/authorizer/verify';

const ISSUER = 'https://login.example.com/';
const AUDIENCE = 'orders-api';
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:111122223333:abc123/dev/POST/v1/messages';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let issuerKey: KeyPair;
let otherKey: KeyPair;
let server: Server;
let jwksUri: URL;
let check: TokenCheck;

beforeAll(async () => {
  issuerKey = await generateKeyPair('ES256');
  otherKey = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(issuerKey.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  // The issuer's JWKS, served over HTTP as an issuer serves it (jose fetches it with fetch()).
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUri = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
  check = {
    issuer: ISSUER,
    audience: AUDIENCE,
    tenantClaim: 'tenant',
    algorithms: ['RS256', 'ES256'],
    keys: createRemoteJWKSet(jwksUri),
  };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A token of the issuer (or of `key`), valid for 5 minutes unless `claims`/`options` say otherwise. */
async function token(
  claims: JWTPayload = {},
  options: { key?: KeyPair; kid?: string; exp?: number | string; alg?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ tenant: 'orders', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? 'k1' })
    .setIssuedAt()
    .setSubject('client-7')
    .setExpirationTime(options.exp ?? '5m');
  if (!('iss' in claims)) jwt.setIssuer(ISSUER);
  if (!('aud' in claims)) jwt.setAudience(AUDIENCE);
  return jwt.sign((options.key ?? issuerKey).privateKey);
}

const logs: { level: string; message: string; extra: unknown }[] = [];
const logger = {
  info: (message: string, extra?: unknown) => void logs.push({ level: 'info', message, extra }),
  warn: (message: string, extra?: unknown) => void logs.push({ level: 'warn', message, extra }),
} as Parameters<typeof authorize>[2];

const event = (authorization?: string) => ({
  methodArn: METHOD_ARN,
  headers: authorization === undefined ? {} : { Authorization: authorization },
});

/** The error `authorize` throws, or `undefined`. */
async function refusalOf(authorization?: string, c: TokenCheck = check): Promise<string | undefined> {
  try {
    await authorize(event(authorization), c, logger);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

describe('JWT authorizer: a valid token', () => {
  it('is allowed on every method of the stage, the tenant <issuer>#<claim> as principal and context', async () => {
    const result = await authorize(event(`Bearer ${await token()}`), check, logger);

    expect(result).toEqual({
      principalId: 'https://login.example.com/#orders',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: 'arn:aws:execute-api:eu-west-1:111122223333:abc123/dev/*',
          },
        ],
      },
      context: { tenant: 'https://login.example.com/#orders' },
    });
  });

  it('takes the tenant from the configured claim (sub by default in the stack)', async () => {
    const outcome = await checkBearerToken(await token(), { ...check, tenantClaim: 'sub' });

    expect(outcome).toMatchObject({ ok: true, tenant: 'https://login.example.com/#client-7' });
  });

  it('accepts an audience list naming the API, and a token issued within the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const outcome = await checkBearerToken(await token({ aud: ['other', AUDIENCE], nbf: now + 10 }), check);

    expect(outcome).toMatchObject({ ok: true, tenant: 'https://login.example.com/#orders' });
  });
});

describe('JWT authorizer: refused tokens (401 Unauthorized: authorize throws "Unauthorized")', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it.each<[string, () => Promise<string | undefined>, string]>([
    ['no Authorization header', () => Promise.resolve(undefined), 'no-bearer-token'],
    ['a scheme other than Bearer', async () => `Basic ${await token()}`, 'no-bearer-token'],
    ['a token that is no JWT', () => Promise.resolve('Bearer not.a.jwt'), 'malformed'],
    ['another audience', async () => `Bearer ${await token({ aud: 'billing-api' })}`, 'claim'],
    ['another issuer', async () => `Bearer ${await token({ iss: 'https://evil.example.com/' })}`, 'claim'],
    ['an expired token', async () => `Bearer ${await token({}, { exp: now() - 120 })}`, 'expired'],
    [
      'a token not valid before a minute from now',
      async () => `Bearer ${await token({ nbf: now() + 60 })}`,
      'not-yet-valid',
    ],
    [
      'a token signed by another key under the issuer key id',
      async () => `Bearer ${await token({}, { key: otherKey })}`,
      'signature',
    ],
    [
      'a key id the issuer does not have',
      async () => `Bearer ${await token({}, { key: otherKey, kid: 'k9' })}`,
      'unknown-key',
    ],
  ])('%s', async (_name, header, reason) => {
    logs.length = 0;

    expect(await refusalOf(await header())).toBe('Unauthorized');
    expect(logs).toEqual([{ level: 'info', message: 'refused', extra: expect.objectContaining({ reason }) }]);
  });

  it('an unsigned token (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, tenant: 'orders', exp: now() + 300 }),
    ).toString('base64url');

    expect(await refusalOf(`Bearer ${header}.${payload}.`)).toBe('Unauthorized');
  });

  it('an algorithm outside the allow-list (ES256 token, RS256 only)', async () => {
    logs.length = 0;
    expect(await refusalOf(`Bearer ${await token()}`, { ...check, algorithms: ['RS256'] })).toBe(
      'Unauthorized',
    );
    expect(logs[0]!.extra).toEqual({ reason: 'algorithm' });
  });

  it('a token without expiry', async () => {
    const jwt = await new SignJWT({ tenant: 'orders' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(issuerKey.privateKey);

    expect(await refusalOf(`Bearer ${jwt}`)).toBe('Unauthorized');
  });

  it('two Authorization headers', () => {
    expect(bearerTokenOf({ authorization: 'Bearer a.b.c', Authorization: 'Bearer d.e.f' })).toBeUndefined();
    expect(bearerTokenOf({ authorization: 'bearer a.b.c' })).toBe('a.b.c');
  });
});

describe('JWT authorizer: other outcomes', () => {
  it('denies (403) a valid token without the tenant claim', async () => {
    const result = await authorize(event(`Bearer ${await token({ tenant: undefined })}`), check, logger);

    expect(result.principalId).toBe('unknown');
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Deny',
        Resource: 'arn:aws:execute-api:eu-west-1:111122223333:abc123/dev/*',
      },
    ]);
    expect(result.context).toBeUndefined();
  });

  it('fails (500, nothing cached) when the issuer keys cannot be fetched, not 401', async () => {
    const down = createRemoteJWKSet(new URL('http://127.0.0.1:9/jwks.json'), { timeoutDuration: 1000 });
    logs.length = 0;

    const message = await refusalOf(`Bearer ${await token()}`, { ...check, keys: down });

    expect(message).toBe('the issuer keys (JWKS) could not be read');
    expect(logs).toEqual([
      { level: 'warn', message: 'the issuer keys could not be read', extra: { reason: 'keys-unavailable' } },
    ]);
  });

  it('never logs the token', async () => {
    logs.length = 0;
    const jwt = await token({ aud: 'billing-api' });
    await refusalOf(`Bearer ${jwt}`);
    await authorize(event(`Bearer ${await token()}`), check, logger);

    expect(JSON.stringify(logs)).not.toContain(jwt.split('.')[2]);
    expect(logs.map((l) => l.message)).toEqual(['refused', 'authorized']);
  });

  it('covers the whole stage whatever method the first request called', () => {
    expect(stageArnOf('arn:aws:execute-api:us-east-1:123456789012:a1/local/GET/v1/messages/abc')).toBe(
      'arn:aws:execute-api:us-east-1:123456789012:a1/local/*',
    );
  });
});
