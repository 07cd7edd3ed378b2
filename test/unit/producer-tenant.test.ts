import { describe, expect, it } from 'vitest';
import { messageGroupIdOf, SQS_MAX_GROUP_ID_LENGTH, tenantGroupOf } from '../../lambda/producer/group-id';
import { principalOf, tenantOf, type TenantOptions } from '../../lambda/producer/tenant';
import { TENANT_MAX_BYTES } from '../../lambda/shared/constants';
import {
  API_KEY_TENANTS,
  apiEvent,
  CALLER_ACCOUNT,
  iamIdentity,
  jwtAuthorizer,
  TENANTS,
} from '../helpers/api-events';

const IAM: TenantOptions = { mode: 'iam', apiKeyTenants: {} };
const JWT: TenantOptions = { mode: 'jwt', apiKeyTenants: {} };
const API_KEY: TenantOptions = { mode: 'apiKey', apiKeyTenants: API_KEY_TENANTS };

/** The request context of a SigV4 request by `principal` (no API key). */
const signedBy = (principal: Parameters<typeof iamIdentity>[0], account?: string) =>
  apiEvent({ identity: iamIdentity(principal, account), headers: { 'x-api-key': undefined } }).requestContext;

describe('the tenant of a request', () => {
  describe('iam (SigV4)', () => {
    it.each([
      [
        "a role's session: the role, whatever the session",
        signedBy({ assumedRole: 'billing-producer', session: 'i-0abc123def4567890' }),
        `arn:aws:iam::${CALLER_ACCOUNT}:role/billing-producer`,
      ],
      ['an IAM user', signedBy({ user: 'ci-deployer' }), `arn:aws:iam::${CALLER_ACCOUNT}:user/ci-deployer`],
      [
        'an IAM user with a path, kept',
        signedBy({ user: 'alice', path: '/division_abc/subdivision_xyz/' }),
        `arn:aws:iam::${CALLER_ACCOUNT}:user/division_abc/subdivision_xyz/alice`,
      ],
      ["the account's root user", signedBy({ root: true }), `arn:aws:iam::${CALLER_ACCOUNT}:root`],
    ])('is %s', (_caller, context, tenant) => {
      expect(tenantOf(context, IAM)).toBe(tenant);
    });

    it("makes one tenant of all of a role's sessions, and another of each other role or account", () => {
      const tenants = [
        signedBy({ assumedRole: 'billing-producer', session: 'lambda-a' }),
        signedBy({ assumedRole: 'billing-producer', session: 'botocore-session-1732' }),
        signedBy({ assumedRole: 'search-indexer', session: 'lambda-a' }),
        signedBy({ assumedRole: 'billing-producer', session: 'lambda-a' }, '111122223333'),
      ].map((c) => tenantOf(c, IAM));

      expect(tenants[0]).toBe(tenants[1]);
      expect(new Set(tenants).size).toBe(3);
    });

    it('normalizes an assumed role in any partition, and keeps a role ARN with its path', () => {
      expect(principalOf('arn:aws-cn:sts::444455556666:assumed-role/etl/run-7')).toBe(
        'arn:aws-cn:iam::444455556666:role/etl',
      );
      expect(
        principalOf(
          'arn:aws-us-gov:sts::444455556666:assumed-role/AWSReservedSSO_Admin_0a1b/jane@example.com',
        ),
      ).toBe('arn:aws-us-gov:iam::444455556666:role/AWSReservedSSO_Admin_0a1b');
      expect(principalOf('arn:aws:iam::444455556666:role/service-role/producer')).toBe(
        'arn:aws:iam::444455556666:role/service-role/producer',
      );
      expect(principalOf('arn:aws:sts::444455556666:federated-user/bob')).toBe(
        'arn:aws:sts::444455556666:federated-user/bob',
      );
    });

    it.each([
      ['no userArn (an unsigned request)', { ...iamIdentity({ root: true }), userArn: null }],
      ['no accountId', { ...iamIdentity({ user: 'alice' }), accountId: null }],
      [
        'an accountId other than the ARN account',
        { ...iamIdentity({ user: 'alice' }), accountId: '111122223333' },
      ],
      [
        'a group ARN',
        { ...iamIdentity({ root: true }), userArn: `arn:aws:iam::${CALLER_ACCOUNT}:group/admins` },
      ],
      [
        'an assumed role without session',
        { ...iamIdentity({ root: true }), userArn: `arn:aws:sts::${CALLER_ACCOUNT}:assumed-role/x` },
      ],
      ['not an ARN', { ...iamIdentity({ root: true }), userArn: 'AIDA3EXAMPLEUSERID7Q' }],
      ['only an API key', { apiKey: TENANTS.a.apiKey, apiKeyId: TENANTS.a.apiKeyId }],
    ])('is none for %s', (_case, identity) => {
      const context = apiEvent({ identity }).requestContext;

      expect(tenantOf(context, IAM)).toBeUndefined();
    });
  });

  describe('jwt (Lambda authorizer)', () => {
    it("is the authorizer's tenant: issuer and tenant claim", () => {
      const context = apiEvent({
        authorizer: jwtAuthorizer('https://login.example.com/', 'acme'),
      }).requestContext;

      expect(tenantOf(context, JWT)).toBe('https://login.example.com/#acme');
    });

    it.each([
      ['no authorizer context', undefined],
      ['an authorizer context without tenant', { principalId: 'svc', integrationLatency: 3 }],
      ['an empty tenant', { principalId: 'svc', tenant: '' }],
      ['a tenant that is not a string', { principalId: 'svc', tenant: 42 }],
      [
        'a tenant with a control character',
        { principalId: 'svc', tenant: 'https://idp#acme\nforged log line' },
      ],
      [
        'a tenant over the size limit',
        { principalId: 'svc', tenant: `https://idp#${'x'.repeat(TENANT_MAX_BYTES)}` },
      ],
    ])('is none for %s', (_case, authorizer) => {
      const context = apiEvent(authorizer === undefined ? {} : { authorizer }).requestContext;

      expect(tenantOf(context, JWT)).toBeUndefined();
    });

    it("ignores the API key's id (the usage plan key the authorizer returns)", () => {
      expect(tenantOf(apiEvent().requestContext, JWT)).toBeUndefined();
    });
  });

  describe('apiKey', () => {
    it("is the tenant the stage names for the key's id", () => {
      expect(tenantOf(apiEvent().requestContext, API_KEY)).toBe(TENANTS.a.name);
      expect(tenantOf(apiEvent({ tenant: 'b' }).requestContext, API_KEY)).toBe(TENANTS.b.name);
    });

    it.each([
      ['a key id the stage does not name', 'zz9yy8xx7w'],
      ['no key id', null],
      ["an inherited property's name", 'constructor'],
      ['__proto__', '__proto__'],
    ])('is none for %s', (_case, apiKeyId) => {
      const context = apiEvent({ identity: { apiKeyId } }).requestContext;

      expect(tenantOf(context, API_KEY)).toBeUndefined();
    });

    it('does not take a SigV4 identity or an authorizer tenant for a key', () => {
      const context = apiEvent({
        identity: { ...iamIdentity({ root: true }) },
        authorizer: jwtAuthorizer('https://idp', 'acme'),
      }).requestContext;

      expect(tenantOf(context, API_KEY)).toBeUndefined();
    });
  });

  it('is none without a request context', () => {
    expect(tenantOf(undefined, API_KEY)).toBeUndefined();
    expect(tenantOf(null, IAM)).toBeUndefined();
  });
});

describe('message group ids', () => {
  const PRINTABLE = /^[\x21-\x7e]{1,128}$/;
  const A = TENANTS.a.name;
  const B = TENANTS.b.name;

  it("are the tenant's group on a standard queue (fair queues), the same for every message", () => {
    expect(messageGroupIdOf(A)).toBe(tenantGroupOf(A));
    expect(messageGroupIdOf(A)).toMatch(/^[0-9a-f]{16}$/);
    expect(messageGroupIdOf(A)).toBe(messageGroupIdOf(A));
    expect(messageGroupIdOf(B)).not.toBe(messageGroupIdOf(A));
  });

  it('are per tenant and orderingKey: deterministic, and two tenants never share one', () => {
    expect(messageGroupIdOf(A, 'user-1')).toBe(`${tenantGroupOf(A)}:user-1`);
    expect(messageGroupIdOf(A, 'user-1')).toBe(messageGroupIdOf(A, 'user-1'));
    expect(messageGroupIdOf(B, 'user-1')).not.toBe(messageGroupIdOf(A, 'user-1'));
    expect(messageGroupIdOf(A, 'user-2')).not.toBe(messageGroupIdOf(A, 'user-1'));
  });

  it('hash an orderingKey too long to fit beside the tenant, keeping keys apart', () => {
    const longest = 'k'.repeat(128);
    const fits = 'k'.repeat(SQS_MAX_GROUP_ID_LENGTH - 17);

    expect(messageGroupIdOf(A, fits)).toBe(`${tenantGroupOf(A)}:${fits}`);
    expect(messageGroupIdOf(A, `${fits}k`)).toMatch(/^[0-9a-f]{16}:h[0-9a-f]{64}$/);
    expect(messageGroupIdOf(A, longest)).not.toBe(messageGroupIdOf(A, `${'k'.repeat(127)}j`));
    expect(messageGroupIdOf(A, longest)).not.toBe(messageGroupIdOf(B, longest));
  });

  it('are always 1–128 printable ASCII characters, whatever the tenant and key', () => {
    const tenants = [A, 'arn:aws:iam::444455556666:role/billing', 'https://idp.example/#Ünïcødé 租户', 't'];
    const keys = [undefined, 'a', 'user-42', '!'.repeat(111), '~'.repeat(112), 'x'.repeat(128), '#:/"\\'];
    for (const tenant of tenants)
      for (const key of keys) expect(messageGroupIdOf(tenant, key), `${tenant} ${key}`).toMatch(PRINTABLE);
  });
});
