import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isTenantName } from '../shared/envelope';

/** How a bearer token is checked. */
export interface TokenCheck {
  /** `iss` must be exactly this. */
  readonly issuer: string;
  /** `aud` must name this. */
  readonly audience: string;
  /** The claim naming the tenant. */
  readonly tenantClaim: string;
  /** Accepted JWS algorithms (`alg` of the header). */
  readonly algorithms: readonly string[];
  /** The issuer's keys: jose's `createRemoteJWKSet(jwksUri)`, cached across invocations. */
  readonly keys: JWTVerifyGetKey;
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. @default 30 */
  readonly clockToleranceSeconds?: number;
  /** The time tokens are checked at. @default now */
  readonly now?: Date;
}

/** Why a request was refused (logged; the caller learns only 401 or 403). */
export type RefusalReason =
  | 'no-bearer-token'
  | 'expired'
  | 'not-yet-valid'
  | 'claim'
  | 'signature'
  | 'algorithm'
  | 'unknown-key'
  | 'malformed'
  | 'keys-unavailable'
  | 'no-tenant';

/** The outcome of {@link checkBearerToken}. */
export type TokenOutcome =
  | { readonly ok: true; readonly tenant: string; readonly payload: JWTPayload }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      /** The claim a `claim` refusal is about (`iss`, `aud`, …). */
      readonly claim?: string;
    };

/** The single `Authorization` header's bearer token; `undefined` when there is none (RFC 6750 §2.1). */
export function bearerTokenOf(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): string | undefined {
  const values = Object.entries(headers ?? {}).filter(([k]) => k.toLowerCase() === 'authorization');
  if (values.length !== 1) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(values[0]![1] ?? '');
  return m?.[1];
}

/**
 * Checks a bearer token as the `jwt` stage's Lambda authorizer does: a compact JWS signed with one
 * of `algorithms` by a key of the issuer's JWKS, `iss` equal to `issuer`, `aud` naming `audience`,
 * `exp` in the future and `nbf` (when present) in the past, with a small clock tolerance; then the
 * tenant: `<issuer>#<tenant claim>` (the claim a non-empty string).
 *
 * @example await checkBearerToken(token, { issuer, audience: 'orders-api', tenantClaim: 'sub', algorithms: ['RS256'], keys })
 */
export async function checkBearerToken(token: string | undefined, check: TokenCheck): Promise<TokenOutcome> {
  if (token === undefined) return { ok: false, reason: 'no-bearer-token' };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, check.keys, {
      issuer: check.issuer,
      audience: check.audience,
      algorithms: [...check.algorithms],
      clockTolerance: check.clockToleranceSeconds ?? 30,
      requiredClaims: ['exp'],
      ...(check.now ? { currentDate: check.now } : {}),
    }));
  } catch (error) {
    return refusal(error);
  }
  const claim = payload[check.tenantClaim];
  const tenant = typeof claim === 'string' && claim !== '' ? `${check.issuer}#${claim}` : undefined;
  if (!isTenantName(tenant)) return { ok: false, reason: 'no-tenant', claim: check.tenantClaim };
  return { ok: true, tenant, payload };
}

function refusal(error: unknown): TokenOutcome {
  if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reason = error.claim === 'nbf' && error.reason === 'check_failed' ? 'not-yet-valid' : 'claim';
    return { ok: false, reason, claim: error.claim };
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'signature' };
  if (error instanceof errors.JOSEAlgNotAllowed) return { ok: false, reason: 'algorithm' };
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: 'unknown-key' };
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
    return { ok: false, reason: 'keys-unavailable' };
  if (error instanceof errors.JOSEError) return { ok: false, reason: 'malformed' };
  // A JWKS that could not be fetched (network) is the issuer's outage, not the caller's fault.
  if (error instanceof TypeError || (error as { name?: string })?.name === 'AbortError')
    return { ok: false, reason: 'keys-unavailable' };
  return { ok: false, reason: 'malformed' };
}
