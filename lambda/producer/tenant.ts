import { isTenantName } from '../shared/envelope';

/** How a stage authenticates its callers (docs/DESIGN.md §3). */
export const AUTH_MODES = ['iam', 'apiKey', 'jwt'] as const;
/** One of {@link AUTH_MODES}. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** What {@link tenantOf} needs to know of the stage. */
export interface TenantOptions {
  readonly mode: AuthMode;
  /** `apiKey` mode: the tenant of each API key, by the key's **id** (not its value). */
  readonly apiKeyTenants: Readonly<Record<string, string>>;
}

/** The parts of an API Gateway REST request context the tenant comes from. */
export interface TenantRequestContext {
  readonly identity?: {
    readonly accountId?: string | null;
    readonly userArn?: string | null;
    readonly apiKeyId?: string | null;
  } | null;
  /** What the Lambda authorizer returned as `context` (`jwt` mode). */
  readonly authorizer?: Readonly<Record<string, unknown>> | null;
}

/**
 * `arn:<partition>:<iam|sts>::<account>:<resource>`: the ARN of an IAM principal as SigV4
 * authentication reports it (`$context.identity.userArn`).
 */
const PRINCIPAL_ARN = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$/;
/** IAM user and role names, session and federated user names: `[\w+=,.@-]`. */
const NAME = '[\\w+=,.@-]+';
/** `user/<path/><name>`, `role/<path/><name>` (a path's segments are printable ASCII). */
const IAM_USER_OR_ROLE = new RegExp(`^(user|role)/(?:[\\x21-\\x7e]*/)?${NAME}$`);
const ASSUMED_ROLE = new RegExp(`^assumed-role/(${NAME})/${NAME}$`);
const FEDERATED_USER = new RegExp(`^federated-user/${NAME}$`);

/**
 * The tenant of an IAM principal ARN: the principal a stage's resource policy names, one per
 * user or role whatever the session.
 *
 * | caller                         | `userArn`                                              | tenant                                      |
 * |--------------------------------|--------------------------------------------------------|---------------------------------------------|
 * | IAM user (path kept)           | `arn:aws:iam::111122223333:user/ops/alice`             | the same                                    |
 * | a role's session               | `arn:aws:sts::111122223333:assumed-role/billing/i-0ab` | `arn:aws:iam::111122223333:role/billing`    |
 * | the account's root user        | `arn:aws:iam::111122223333:root`                       | the same                                    |
 * | a federated user (GetFederationToken) | `arn:aws:sts::111122223333:federated-user/bob`  | the same                                    |
 *
 * An assumed-role ARN does not show the role's path, so a role's tenant never has one; a role ARN
 * seen as such keeps its path. Anything else (a group, a malformed ARN) is no tenant.
 */
export function principalOf(userArn: string): string | undefined {
  const m = PRINCIPAL_ARN.exec(userArn);
  if (!m) return undefined;
  const [, partition, service, account, resource] = m;
  if (service === 'iam') return resource === 'root' || IAM_USER_OR_ROLE.test(resource!) ? userArn : undefined;
  const assumed = ASSUMED_ROLE.exec(resource!);
  if (assumed) return `arn:${partition}:iam::${account}:role/${assumed[1]}`;
  return FEDERATED_USER.test(resource!) ? userArn : undefined;
}

/**
 * The tenant of a request: who is calling, as the stage's authentication established it.
 *
 * - `iam` (SigV4): the caller's principal ARN (`identity.userArn`, normalized by
 *   {@link principalOf}), whose account must be `identity.accountId`;
 * - `jwt`: `authorizer.tenant`, which the stage's Lambda authorizer returns as context once it
 *   has checked the token (`<issuer>#<tenant claim>`);
 * - `apiKey`: the tenant the stage's configuration names for the key's id
 *   (`identity.apiKeyId`); a key the configuration does not name has none.
 *
 * `undefined` when there is none, or when it is not a valid tenant name (`isTenantName`: no
 * control characters, at most `TENANT_MAX_BYTES` as JSON): the API answers 403. API Gateway
 * normally refuses such a request before the producer runs; this is defence in depth.
 *
 * @example tenantOf({ identity: { apiKeyId: 'k1' } }, { mode: 'apiKey', apiKeyTenants: { k1: 'billing' } }) // 'billing'
 */
export function tenantOf(
  context: TenantRequestContext | null | undefined,
  options: TenantOptions,
): string | undefined {
  const tenant = rawTenantOf(context, options);
  return isTenantName(tenant) ? tenant : undefined;
}

function rawTenantOf(context: TenantRequestContext | null | undefined, options: TenantOptions): unknown {
  const identity = context?.identity;
  switch (options.mode) {
    case 'iam': {
      const arn = identity?.userArn;
      const account = identity?.accountId;
      if (!arn || !account) return undefined;
      const principal = principalOf(arn);
      // The ARN's account is the caller's: anything else is not a request IAM authenticated.
      return principal?.split(':')[4] === account ? principal : undefined;
    }
    case 'jwt':
      return context?.authorizer?.tenant;
    case 'apiKey': {
      const id = identity?.apiKeyId;
      // Own properties only: a key id of "constructor" or "__proto__" names nothing.
      return id && Object.prototype.hasOwnProperty.call(options.apiKeyTenants, id)
        ? options.apiKeyTenants[id]
        : undefined;
    }
    default:
      return undefined;
  }
}
