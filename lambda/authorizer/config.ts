import {
  defineEnvironment,
  oneOfList,
  text,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';
import { JWT_ALGORITHMS } from './algorithms';

/**
 * The JWT authorizer's environment contract: `JwtAuthorizer` writes it with {@link toEnvironment},
 * the entry point reads it with {@link fromEnvironment}. Local mode replaces `JWKS_URI` with its
 * own issuer's key set (the only variable it changes).
 */
const contract = defineEnvironment({
  /** The issuer tokens must name in `iss`. */
  issuer: text('JWT_ISSUER'),
  /** The audience tokens must name in `aud`. */
  audience: text('JWT_AUDIENCE'),
  /** Where the issuer's signing keys are (a JSON Web Key Set). */
  jwksUri: text('JWKS_URI'),
  /** The claim naming the tenant (`<issuer>#<value>`). */
  tenantClaim: text('JWT_TENANT_CLAIM'),
  /** Accepted JWS algorithms (comma-separated). */
  algorithms: oneOfList('JWT_ALGORITHMS', JWT_ALGORITHMS),
});

/** The parsed configuration (`fromEnvironment`). */
export type AuthorizerConfig = ConfigOf<typeof contract>;
/** What `JwtAuthorizer` gives `toEnvironment`. */
export type AuthorizerEnvironmentInput = EnvironmentInput<typeof contract>;

/**
 * `toEnvironment(input)`: the variables for the construct; `fromEnvironment(env)`: parses them at
 * cold start, throwing `ConfigError` naming the variable; `variables`: their names.
 */
export const { toEnvironment, fromEnvironment, variables } = contract;
