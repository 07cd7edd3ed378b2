import { createHash } from 'node:crypto';

/** SQS's longest `MessageGroupId` (printable ASCII). */
export const SQS_MAX_GROUP_ID_LENGTH = 128;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The tenant's part of every group id it sends: 16 hex digits of the SHA-256 of its name. Tenant
 * names do not fit a group id (up to 768 bytes, any Unicode), their hashes do; 64 bits keep two
 * tenants apart (finding a name that matches another tenant's prefix takes about 2^64 tries).
 */
export function tenantGroupOf(tenant: string): string {
  return sha256(tenant).slice(0, 16);
}

/**
 * The `MessageGroupId` of a message from `tenant`:
 *
 * - without `orderingKey` (a standard queue): `<tenant group>`, which names the tenant to SQS
 *   fair queues, so a tenant with a large backlog does not delay the others' messages;
 * - with `orderingKey` (a FIFO queue): `<tenant group>:<orderingKey>`, so two tenants' equal
 *   ordering keys are two groups that never block each other; when that is over SQS's 128
 *   characters (an `orderingKey` over 111), `<tenant group>:h<SHA-256 of orderingKey, hex>`.
 *
 * Deterministic (every retry and every entry of a key lands in the same group), always 1–128
 * printable ASCII characters for an `orderingKey` the API accepts (1–128 printable ASCII).
 *
 * @example messageGroupIdOf('billing', 'user-42') // '<16 hex>:user-42'
 */
export function messageGroupIdOf(tenant: string, orderingKey?: string): string {
  const group = tenantGroupOf(tenant);
  if (orderingKey === undefined) return group;
  const direct = `${group}:${orderingKey}`;
  return direct.length <= SQS_MAX_GROUP_ID_LENGTH ? direct : `${group}:h${sha256(orderingKey)}`;
}
