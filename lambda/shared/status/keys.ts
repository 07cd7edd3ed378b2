import { createHash } from 'node:crypto';

/**
 * The status table's layout (docs/DESIGN.md §5), shared by the construct and the functions: one
 * string partition key and one TTL attribute; rows are told apart by their key prefix.
 */
export const STATUS_TABLE_KEYS = {
  /** The partition key attribute of every row. */
  partitionKey: 'pk',
  /** The TTL attribute (epoch seconds) of every row. */
  ttlAttribute: 'expiration',
  /** Key prefix of a status row: `msg#<envelope id>`. */
  statusPrefix: 'msg#',
  /** Key prefix of an API `Idempotency-Key` record: `key#<tenant hash>#<key>`. */
  idempotencyKeyPrefix: 'key#',
} as const;

/** The key of a message's status row. */
export function statusKey(id: string): string {
  return `${STATUS_TABLE_KEYS.statusPrefix}${id}`;
}

/**
 * The key of an API `Idempotency-Key` record: the client's key scoped by its tenant
 * (`key#<SHA-256 of the tenant, hex>#<key>`; the hash is fixed-length, so no tenant name and key
 * can make another's row key), as the IETF Idempotency-Key draft asks: the client's key combined
 * with what only the server knows of the client.
 */
export function idempotencyKeyKey(tenant: string, key: string): string {
  const scope = createHash('sha256').update(tenant).digest('hex');
  return `${STATUS_TABLE_KEYS.idempotencyKeyPrefix}${scope}#${key}`;
}

/**
 * The attribute of a status row listing the SQS message id of each handler run, oldest first
 * (appended by the `processing` transition): the consumer counts a message's runs in it
 * (`lambda/shared/consumer/run-state.ts`). Internal; the API does not return it.
 */
export const RUN_LOG_ATTRIBUTE = 'runLog';

/**
 * The attribute of a status row listing the SQS message id of each handler run that deferred
 * (`RetryLaterError`), oldest first: those runs spent no attempt, so the consumer subtracts them
 * from the message's runs (`lambda/shared/consumer/run-state.ts`). Internal.
 */
export const DEFER_LOG_ATTRIBUTE = 'deferLog';

/**
 * The attribute of a status row listing the SQS message id of each delivery the consumer hid again
 * without running it (its `notBefore` had not come): receives that ran nothing, which crash
 * isolation accounts for. Internal.
 */
export const WAIT_LOG_ATTRIBUTE = 'waitLog';
