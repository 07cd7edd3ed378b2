import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { LocalModeError } from '../errors';
import type { Resolver } from '../template/resolver';
import type { FunctionSpec } from '../template/topology';

/** What local mode's issuer signs for: read from the template's authorizer function. */
export interface LocalIssuerSettings {
  /** `iss` of the tokens (the authorizer's `JWT_ISSUER`). */
  readonly issuer: string;
  /** `aud` of the tokens (`JWT_AUDIENCE`). */
  readonly audience: string;
  /** The claim naming the tenant (`JWT_TENANT_CLAIM`). */
  readonly tenantClaim: string;
  /** The algorithms the authorizer accepts (`JWT_ALGORITHMS`): the issuer signs with ES256 when allowed, else the first. */
  readonly algorithms: readonly string[];
}

/** Options of {@link LocalIssuer.sign}. */
export interface LocalTokenOptions {
  /** Seconds from now to `exp` (negative: an expired token). @default 12 h */
  readonly expiresInSeconds?: number;
  /** Seconds from now to `nbf`. @default none */
  readonly notBeforeSeconds?: number;
}

/** Default lifetime of a local token: a working day, then `npm start` again gives new ones. */
export const LOCAL_TOKEN_SECONDS = 12 * 3600;

/**
 * The settings of the JWT authorizer function `spec` (its environment, resolved like every
 * function's): `undefined` when it does not look like this package's authorizer (no `JWT_ISSUER`).
 */
export function issuerSettingsOf(spec: FunctionSpec, resolver: Resolver): LocalIssuerSettings | undefined {
  const variables = resolver.resolve(
    (spec.resource.properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    { resource: spec.logicalId, property: 'Environment.Variables' },
  ) as Record<string, unknown>;
  const text = (name: string) =>
    typeof variables[name] === 'string' ? (variables[name] as string) : undefined;
  const issuer = text('JWT_ISSUER');
  const audience = text('JWT_AUDIENCE');
  if (!issuer || !audience) return undefined;
  return {
    issuer,
    audience,
    tenantClaim: text('JWT_TENANT_CLAIM') ?? 'sub',
    algorithms: (text('JWT_ALGORITHMS') ?? 'ES256').split(',').map((a) => a.trim()),
  };
}

/**
 * Local mode's token issuer for `jwt` stages: a key pair generated at startup (never written
 * anywhere), its public key served as a JSON Web Key Set on a loopback port of its own
 * (`jwksUri`, which local mode gives the authorizer function as `JWKS_URI`), and tokens for local
 * tenants with the template's issuer, audience and tenant claim.
 */
export class LocalIssuer {
  readonly settings: LocalIssuerSettings;
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  readonly jwksUri: string;
  private readonly alg: string;
  private readonly kid: string;
  private readonly privateKey: CryptoKey;
  private readonly server: Server;

  private constructor(
    settings: LocalIssuerSettings,
    alg: string,
    kid: string,
    privateKey: CryptoKey,
    server: Server,
  ) {
    this.settings = settings;
    this.alg = alg;
    this.kid = kid;
    this.privateKey = privateKey;
    this.server = server;
    this.jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  /** Generates the key pair and serves its JWKS on 127.0.0.1 (`port` 0: a free one). */
  static async start(settings: LocalIssuerSettings, port = 0): Promise<LocalIssuer> {
    const alg = settings.algorithms.includes('ES256') ? 'ES256' : settings.algorithms[0];
    if (!alg) throw new LocalModeError('the JWT authorizer accepts no algorithm (JWT_ALGORITHMS)');
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const kid = `local-${Date.now().toString(36)}`;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] });
    const server = createServer((req, res) => {
      req.resume();
      const found = req.method === 'GET' && req.url === '/.well-known/jwks.json';
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
      res.end(found ? jwks : '{"message":"not found"}');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new LocalIssuer(settings, alg, kid, privateKey, server);
  }

  /** A token of `tenant` (its tenant claim), valid for {@link LOCAL_TOKEN_SECONDS} unless `options` say otherwise. */
  async sign(tenant: string, options: LocalTokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const { tenantClaim, issuer, audience } = this.settings;
    const jwt = new SignJWT({ [tenantClaim]: tenant })
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? LOCAL_TOKEN_SECONDS));
    if (tenantClaim !== 'sub') jwt.setSubject(tenant);
    if (options.notBeforeSeconds !== undefined) jwt.setNotBefore(now + options.notBeforeSeconds);
    return jwt.sign(this.privateKey);
  }

  /** Stops serving the key set. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
