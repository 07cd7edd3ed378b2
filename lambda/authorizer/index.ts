import type { APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { createRemoteJWKSet } from 'jose';
import { createLogger } from '../shared/runtime';
import { authorize, type AuthorizerResult } from './authorize';
import { fromEnvironment } from './config';

const config = fromEnvironment(process.env);
const logger = createLogger('authorizer');
// Module scope: the key set is fetched once per sandbox and kept (refetched at most every 30 s
// when a token names a key it does not hold, e.g. after the issuer rotated its keys).
const keys = createRemoteJWKSet(new URL(config.jwksUri), {
  timeoutDuration: 3000,
  cooldownDuration: 30_000,
  cacheMaxAge: 600_000,
});

/** The `jwt` stage's REQUEST authorizer: checks the bearer token, returns the tenant (docs/DESIGN.md §3). */
export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
  context: Context,
): Promise<AuthorizerResult> => {
  logger.addContext(context);
  return authorize(
    event,
    {
      issuer: config.issuer,
      audience: config.audience,
      tenantClaim: config.tenantClaim,
      algorithms: config.algorithms,
      keys,
    },
    logger,
  );
};
