import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { bearerTokenOf, checkBearerToken, type TokenCheck } from './verify';

/** What the authorizer returns: an IAM policy, the principal, and the tenant as context. */
export type AuthorizerResult = APIGatewayAuthorizerResult & {
  readonly context?: { readonly tenant: string };
};

/** What API Gateway makes a 401 of (`UNAUTHORIZED` gateway response): the error's message must be exactly this. */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * Every method of the API's stage: `arn:…:execute-api:<region>:<account>:<api id>/<stage>/*`.
 * The result is cached per token (identity source `Authorization`) for the authorizer's TTL and
 * reused for the API's other methods, so the policy must cover all of them, not just the method
 * of the first request.
 */
export function stageArnOf(methodArn: string): string {
  const [api, stage] = methodArn.split('/');
  return `${api}/${stage}/*`;
}

function policy(effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult['policyDocument'] {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
  };
}

/**
 * Decides a REQUEST authorizer event: a valid bearer token with a tenant → Allow on the stage's
 * methods, principal and `context.tenant` the tenant (`<issuer>#<tenant claim>`, what the producer's
 * `tenantOf` reads); a token without the tenant claim → Deny (403); no, a malformed, an expired or
 * a wrongly signed token → throws `Error('Unauthorized')` (401). When the issuer's keys cannot be
 * fetched it throws another error: API Gateway answers 500 (`AUTHORIZER_FAILURE`) and caches
 * nothing. Logs the outcome's reason, never the token.
 */
export async function authorize(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'methodArn'>,
  check: TokenCheck,
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<AuthorizerResult> {
  const outcome = await checkBearerToken(bearerTokenOf(event.headers), check);
  const resource = stageArnOf(event.methodArn);
  if (outcome.ok) {
    logger.info('authorized', { tenant: outcome.tenant });
    return {
      principalId: outcome.tenant,
      policyDocument: policy('Allow', resource),
      context: { tenant: outcome.tenant },
    };
  }
  const claim = outcome.claim === undefined ? {} : { claim: outcome.claim };
  if (outcome.reason === 'keys-unavailable') {
    logger.warn('the issuer keys could not be read', { reason: outcome.reason });
    throw new Error('the issuer keys (JWKS) could not be read');
  }
  logger.info('refused', { reason: outcome.reason, ...claim });
  if (outcome.reason === 'no-tenant')
    return { principalId: 'unknown', policyDocument: policy('Deny', resource) };
  throw new Error(UNAUTHORIZED);
}
