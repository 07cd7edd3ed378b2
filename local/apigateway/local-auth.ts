import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LocalModeError } from '../errors';
import type { InvokeOutcome } from '../functions/host';
import type { ApiKeySpec } from '../template/api-keys';
import { generateApiKey } from '../startup';
import { deterministicId } from '../template/resolver';
import type { ApiSpec, AuthorizerSpec, MethodSpec } from '../template/topology';
import type { GatewayResponseType } from './gateway-responses';
import type { LocalIssuer } from './local-issuer';
import { verifySigV4, type ReceivedRequest, type SigV4Failure } from './sigv4';

/**
 * How the local API authenticates callers, read from the template's methods: `iam` when a method
 * has `AuthorizationType: AWS_IAM`, else `jwt` when a method has a Lambda authorizer (`CUSTOM`),
 * else `apiKey` when a method requires an API key, else `none`.
 */
export type LocalAuthMode = 'iam' | 'jwt' | 'apiKey' | 'none';

/** The authentication modes a stage can be synthesized with (`npm start -- --auth <mode>`). */
export const AUTH_MODES = ['iam', 'apiKey', 'jwt'] as const;

/** A stage's authentication mode (`-c auth=<mode>`). */
export type AuthMode = (typeof AUTH_MODES)[number];

/** The local principals of `iam` and `jwt` mode when `LOCAL_TENANTS` names none. */
export const DEFAULT_LOCAL_TENANTS: readonly string[] = ['tenant-a', 'tenant-b'];

/** What a caller of one local tenant uses (`.local/env.json` → `auth.tenants.<name>`). */
export interface LocalTenantCredentials {
  /** The tenant's API key (methods with `ApiKeyRequired`). */
  readonly apiKey?: string;
  /** Its id, as the producer sees it in `requestContext.identity.apiKeyId`. */
  readonly apiKeyId?: string;
  /** The access key id of the tenant's local IAM user (methods with `AWS_IAM`). */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** `arn:aws:iam::000000000000:user/<tenant>`, as the producer sees it in `requestContext.identity.userArn`. */
  readonly userArn?: string;
  /** A bearer token of local mode's issuer naming the tenant (methods with a JWT authorizer): `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** `.local/env.json` → `auth`. */
export interface LocalAuthInfo {
  readonly mode: LocalAuthMode;
  /** Credentials by tenant name, in the stage's order (the first tenant first). */
  readonly tenants: Readonly<Record<string, LocalTenantCredentials>>;
  /** `jwt`: the tokens' issuer and audience, and where local mode serves the issuer's key set. */
  readonly jwt?: { readonly issuer: string; readonly audience: string; readonly jwksUri: string };
}

/** The outcome of {@link LocalAuth.authorize}: the authorizer's context for the proxy event, or the refusal. */
export type AuthorizerOutcome =
  | { readonly ok: true; readonly context: Readonly<Record<string, unknown>> }
  | {
      readonly ok: false;
      readonly response: GatewayResponseType;
      /** For the terminal: why. */
      readonly detail: string;
    };

/** Invokes a function of the stack (the authorizer's) with an event, as the API server does the integration. */
export type InvokeFunction = (functionId: string, event: unknown) => Promise<InvokeOutcome>;

/** The caller's identity fields of the proxy event (`requestContext.identity`). */
export interface CallerIdentity {
  readonly apiKey: string | null;
  readonly apiKeyId: string | null;
  readonly accountId: string | null;
  readonly caller: string | null;
  readonly accessKey: string | null;
  readonly user: string | null;
  readonly userArn: string | null;
}

/** The outcome of {@link LocalAuth.authenticate}. */
export type AuthOutcome =
  | { readonly ok: true; readonly identity: CallerIdentity; readonly tenant?: string }
  | {
      readonly ok: false;
      /** The gateway response API Gateway answers with. */
      readonly response: GatewayResponseType;
      readonly message?: string;
      readonly errorType?: string;
      /** For the terminal: why, with the canonical request of a signature mismatch. */
      readonly detail: string;
    };

/** Options of {@link LocalAuth.create}. */
export interface LocalAuthOptions {
  readonly api?: Pick<ApiSpec, 'resources' | 'apiKeys'>;
  /** The region signatures must be scoped to. */
  readonly region: string;
  /** The account of the local IAM users. */
  readonly accountId: string;
  /** Seeds the IAM users' stable ids (`AIDA…`). */
  readonly stackName: string;
  /** The first tenant's API key value (`LOCAL_API_KEY`). @default generated */
  readonly firstApiKey?: string;
  /** Names of the local IAM users in `iam` mode and of the local tenants in `jwt` mode. @default {@link DEFAULT_LOCAL_TENANTS} */
  readonly iamTenants?: readonly string[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** The alphabet of AWS access key ids after their `AKIA` prefix (base32). */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const random = (length: number, alphabet: string) =>
  Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');

/** A random long-term access key: `AKIA` + 16 characters, and a 40-character secret. */
export function generateAccessKey(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: `AKIA${random(16, BASE32)}`, secretAccessKey: random(40, ALNUM) };
}

/** IAM user names: up to 64 of `A-Z a-z 0-9 + = , . @ _ -`. */
const IAM_USER_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

/** The mode the template's methods ask for (see {@link LocalAuthMode}). */
export function authModeOf(api: Pick<ApiSpec, 'resources'> | undefined): LocalAuthMode {
  const methods = api?.resources.flatMap((r) => r.methods) ?? [];
  if (methods.some((m) => m.authorizationType === 'AWS_IAM')) return 'iam';
  if (methods.some((m) => m.authorizationType === 'CUSTOM')) return 'jwt';
  if (methods.some((m) => m.apiKeyRequired)) return 'apiKey';
  return 'none';
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

interface KeyEntry {
  readonly tenant: string;
  readonly value: string;
  readonly digest: Buffer;
  readonly id: string;
}

interface IamUser {
  readonly tenant: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly userId: string;
  readonly userArn: string;
}

/**
 * The local API's callers and how it checks them, method by method, as API Gateway does: an API
 * key of one tenant (`x-api-key`) on methods with `ApiKeyRequired`, a SigV4 signature by one
 * tenant's local IAM user on methods with `AWS_IAM` (both when a method asks for both). It
 * generates the credentials: a 40-character key per API key of the template (the first one
 * `LOCAL_API_KEY` when given; a key's `Value` when the template sets one), and an access key per
 * local IAM user.
 */
export class LocalAuth {
  readonly mode: LocalAuthMode;
  private readonly keys: readonly KeyEntry[];
  /** Whether a method requires an API key (else the template's keys are of no use to a caller). */
  private readonly keysRequired: boolean;
  private readonly users: ReadonlyMap<string, IamUser>;
  private readonly region: string;
  private readonly accountId: string;
  /** `jwt`: local mode's issuer, each tenant's token, how to run the authorizer, its cached results. */
  private issuer?: LocalIssuer;
  private readonly tokens = new Map<string, string>();
  private invoke?: InvokeFunction;
  private readonly authorizerCache = new Map<
    string,
    {
      readonly expires: number;
      readonly principalId: string;
      readonly policy: unknown;
      readonly context: unknown;
    }
  >();

  private constructor(
    mode: LocalAuthMode,
    keys: KeyEntry[],
    keysRequired: boolean,
    users: IamUser[],
    region: string,
    accountId: string,
  ) {
    this.mode = mode;
    this.keys = keys;
    this.keysRequired = keysRequired;
    this.users = new Map(users.map((u) => [u.accessKeyId, u]));
    this.region = region;
    this.accountId = accountId;
  }

  /** Generates the local credentials for the template's API. */
  static create(options: LocalAuthOptions): LocalAuth {
    const mode = authModeOf(options.api);
    const methods = options.api?.resources.flatMap((r) => r.methods) ?? [];
    const keySpecs: readonly ApiKeySpec[] = options.api?.apiKeys ?? [];
    const keys = keySpecs.map((k, i): KeyEntry => {
      const value = (i === 0 ? options.firstApiKey : undefined) ?? k.value ?? generateApiKey();
      return { tenant: k.tenant, value, digest: sha256(value), id: k.id };
    });
    const names = mode === 'iam' ? (options.iamTenants ?? DEFAULT_LOCAL_TENANTS) : [];
    const bad = names.find((n) => !IAM_USER_NAME.test(n));
    if (bad !== undefined) {
      throw new LocalModeError(
        `local tenant "${bad}" is not an IAM user name (up to 64 of A-Z a-z 0-9 + = , . @ _ -)`,
      );
    }
    if (new Set(names).size !== names.length) {
      throw new LocalModeError(`local tenants ${names.join(',')} name a tenant twice`);
    }
    if (mode === 'iam' && names.length === 0)
      throw new LocalModeError('iam mode needs at least one local tenant');
    const users = names.map((tenant): IamUser => {
      const userId = `AIDA${deterministicId(`${options.stackName}/iam-user/${tenant}`, 17, BASE32)}`;
      return {
        tenant,
        ...generateAccessKey(),
        userId,
        userArn: `arn:aws:iam::${options.accountId}:user/${tenant}`,
      };
    });
    const keysRequired = methods.some((m) => m.apiKeyRequired);
    return new LocalAuth(mode, keys, keysRequired, users, options.region, options.accountId);
  }

  /**
   * The first tenant's API key (`.local/env.json` → `apiKey`); `undefined` when no method requires
   * a key or the template has none.
   */
  get firstApiKey(): string | undefined {
    return this.keysRequired ? this.keys[0]?.value : undefined;
  }

  /** What `.local/env.json` holds under `auth`: every tenant's credentials. */
  info(): LocalAuthInfo {
    const tenants: Record<string, LocalTenantCredentials> = {};
    if (this.keysRequired) {
      for (const k of this.keys) tenants[k.tenant] = { apiKey: k.value, apiKeyId: k.id };
    }
    for (const [tenant, token] of this.tokens) tenants[tenant] = { ...tenants[tenant], token };
    for (const u of this.users.values()) {
      tenants[u.tenant] = {
        ...tenants[u.tenant],
        accessKeyId: u.accessKeyId,
        secretAccessKey: u.secretAccessKey,
        userArn: u.userArn,
      };
    }
    const jwt = this.issuer
      ? {
          jwt: {
            issuer: this.issuer.settings.issuer,
            audience: this.issuer.settings.audience,
            jwksUri: this.issuer.jwksUri,
          },
        }
      : {};
    return { mode: this.mode, tenants, ...jwt };
  }

  /**
   * `jwt`: local mode's issuer signs a token per tenant (`tenants`, in order; names as the tenant
   * claim's value), and `invoke` runs the authorizer functions of `CUSTOM` methods.
   */
  async useAuthorizers(
    invoke: InvokeFunction,
    issuer: LocalIssuer | undefined,
    tenants: readonly string[],
  ): Promise<void> {
    this.invoke = invoke;
    this.issuer = issuer;
    if (new Set(tenants).size !== tenants.length)
      throw new LocalModeError(`local tenants ${tenants.join(',')} name a tenant twice`);
    if (issuer) for (const t of tenants) this.tokens.set(t, await issuer.sign(t));
  }

  /**
   * Runs `method`'s Lambda authorizer (REQUEST type) as API Gateway does: a request without every
   * identity source header is 401 without running it; the result is cached per authorizer and
   * identity source values for its TTL; an authorizer that throws `Unauthorized` is 401, another
   * failure 500; the returned policy must allow `execute-api:Invoke` on the method's ARN (an
   * explicit Deny wins), else 403. The context (with `principalId`) becomes
   * `requestContext.authorizer` of the proxy event.
   */
  async authorize(method: MethodSpec, event: APIGatewayProxyEvent, now: Date): Promise<AuthorizerOutcome> {
    const authorizer = method.authorizer!;
    const header = (name: string) =>
      Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
    const identity = authorizer.identityHeaders.map(header);
    if (identity.some((v) => v === undefined || v === '')) {
      return {
        ok: false,
        response: 'UNAUTHORIZED',
        detail: `no ${authorizer.identityHeaders.join(', ')} header (the authorizer's identity source)`,
      };
    }
    const { apiId, stage } = event.requestContext;
    const methodArn = `arn:aws:execute-api:${this.region}:${this.accountId}:${apiId}/${stage}/${event.httpMethod}${event.path}`;
    const key = `${authorizer.logicalId}\n${identity.join('\n')}`;
    let cached = this.authorizerCache.get(key);
    if (!cached || cached.expires <= now.getTime()) {
      this.authorizerCache.delete(key);
      const outcome = await this.runAuthorizer(authorizer, event, methodArn);
      if (!outcome.ok) return outcome;
      cached = outcome.result;
      if (authorizer.ttlSeconds > 0) this.authorizerCache.set(key, cached);
    }
    if (!policyAllows(cached.policy, methodArn)) {
      return {
        ok: false,
        response: 'ACCESS_DENIED',
        detail: `the authorizer's policy does not allow ${methodArn}`,
      };
    }
    const context = (
      typeof cached.context === 'object' && cached.context !== null ? cached.context : {}
    ) as Record<string, unknown>;
    return { ok: true, context: { ...context, principalId: cached.principalId } };
  }

  private async runAuthorizer(
    authorizer: AuthorizerSpec,
    event: APIGatewayProxyEvent,
    methodArn: string,
  ): Promise<
    | { ok: true; result: { expires: number; principalId: string; policy: unknown; context: unknown } }
    | Extract<AuthorizerOutcome, { ok: false }>
  > {
    if (!this.invoke) throw new LocalModeError('the API has Lambda authorizers but local mode runs none');
    const { body: _body, isBase64Encoded: _b64, ...request } = event;
    const outcome = await this.invoke(authorizer.functionId, { type: 'REQUEST', methodArn, ...request });
    if (!outcome.ok) {
      const unauthorized = outcome.error.message === 'Unauthorized';
      return {
        ok: false,
        response: unauthorized ? 'UNAUTHORIZED' : 'AUTHORIZER_FAILURE',
        detail: `authorizer ${authorizer.functionId}: ${outcome.error.message}`,
      };
    }
    const payload = outcome.payload as {
      principalId?: unknown;
      policyDocument?: unknown;
      context?: unknown;
    } | null;
    if (!payload || typeof payload.principalId !== 'string' || typeof payload.policyDocument !== 'object') {
      return {
        ok: false,
        response: 'AUTHORIZER_FAILURE',
        detail: `authorizer ${authorizer.functionId} answered no principalId and policyDocument`,
      };
    }
    return {
      ok: true,
      result: {
        expires: outcome.startedAt.getTime() + authorizer.ttlSeconds * 1000,
        principalId: payload.principalId,
        policy: payload.policyDocument,
        context: payload.context,
      },
    };
  }

  /**
   * Authenticates a request to `method`: the signature first (an IAM method), then the API key
   * (a method with `ApiKeyRequired`), as API Gateway does. `request.body` is the body as received.
   */
  authenticate(method: MethodSpec, request: ReceivedRequest, now: Date): AuthOutcome {
    let identity: CallerIdentity = {
      apiKey: null,
      apiKeyId: null,
      accountId: null,
      caller: null,
      accessKey: null,
      user: null,
      userArn: null,
    };
    let tenant: string | undefined;
    if (method.authorizationType === 'AWS_IAM') {
      const result = verifySigV4(request, {
        region: this.region,
        now,
        secretOf: (id) => this.users.get(id)?.secretAccessKey,
      });
      if (!result.ok) {
        return {
          ok: false,
          ...SIGV4_RESPONSES[result.failure],
          message: result.message,
          detail: `SigV4 ${result.failure}: ${result.message}${
            result.canonicalRequest ? `; local mode's canonical request:\n${result.canonicalRequest}` : ''
          }`,
        };
      }
      const user = this.users.get(result.accessKeyId)!;
      tenant = user.tenant;
      identity = {
        ...identity,
        accountId: this.accountId,
        caller: user.userId,
        accessKey: user.accessKeyId,
        user: user.userId,
        userArn: user.userArn,
      };
    }
    if (method.apiKeyRequired) {
      const given = apiKeyHeader(request.rawHeaders);
      const digest = given === undefined ? undefined : sha256(given);
      // Every key is compared (in constant time), so the answer's timing says nothing about them.
      let found: KeyEntry | undefined;
      for (const k of this.keys) if (digest && timingSafeEqual(digest, k.digest)) found ??= k;
      if (!found) {
        return {
          ok: false,
          response: 'INVALID_API_KEY',
          detail: given === undefined ? 'no x-api-key header' : 'an x-api-key that is no tenant’s key',
        };
      }
      tenant ??= found.tenant;
      identity = { ...identity, apiKey: found.value, apiKeyId: found.id };
    }
    return { ok: true, identity, ...(tenant === undefined ? {} : { tenant }) };
  }
}

/** `*` and `?` wildcards of IAM resource and action patterns. */
function wildcardMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
}

/** Whether an authorizer's policy document allows `execute-api:Invoke` on `methodArn` (a Deny wins). */
export function policyAllows(policy: unknown, methodArn: string): boolean {
  const statements = (policy as { Statement?: unknown } | null)?.Statement;
  const list = (Array.isArray(statements) ? statements : [statements]) as Record<string, unknown>[];
  const asArray = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
  const applies = (st: Record<string, unknown>) =>
    asArray(st.Action).some((a) => wildcardMatch(a.toLowerCase(), 'execute-api:invoke')) &&
    asArray(st.Resource).some((r) => wildcardMatch(r, methodArn));
  const matching = list.filter((st) => st && typeof st === 'object' && applies(st));
  return matching.some((st) => st.Effect === 'Allow') && !matching.some((st) => st.Effect === 'Deny');
}

/** The gateway response of each SigV4 failure (the `x-amzn-errortype` AWS answers with). */
const SIGV4_RESPONSES: Record<SigV4Failure, { response: GatewayResponseType; errorType?: string }> = {
  // API Gateway answers an unsigned request to an IAM method as it answers an unknown route.
  missing: { response: 'MISSING_AUTHENTICATION_TOKEN' },
  incomplete: { response: 'INVALID_SIGNATURE', errorType: 'IncompleteSignatureException' },
  'unknown-key': { response: 'INVALID_SIGNATURE', errorType: 'UnrecognizedClientException' },
  scope: { response: 'INVALID_SIGNATURE' },
  expired: { response: 'INVALID_SIGNATURE' },
  payload: { response: 'INVALID_SIGNATURE' },
  mismatch: { response: 'INVALID_SIGNATURE' },
};

/** The single `x-api-key` header; `undefined` when there is none or more than one. */
function apiKeyHeader(rawHeaders: readonly string[]): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'x-api-key') values.push(rawHeaders[i + 1]!);
  }
  return values.length === 1 ? values[0] : undefined;
}
