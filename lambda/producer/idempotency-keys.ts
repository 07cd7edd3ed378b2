import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { idempotencyKeyKey, STATUS_TABLE_KEYS } from '../shared/status/keys';

/** The response remembered for a completed key: what a repeat answers. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** What a claim of an `Idempotency-Key` found. */
export type Claim =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'replay'; readonly response: StoredResponse }
  | { readonly outcome: 'reused' }
  | { readonly outcome: 'in-progress'; readonly retryAfterSeconds: number };

/**
 * The API's `Idempotency-Key` records (docs/DESIGN.md §3), one per tenant and key: a tenant's
 * keys are its own, another tenant using the same key neither sees nor blocks them. Injectable
 * for tests.
 */
export interface IdempotencyKeys {
  /** Claims `tenant`'s `key` for a request with fingerprint `hash`, or says why it cannot. */
  claim(tenant: string, key: string, hash: string): Promise<Claim>;
  /** Remembers the response of a claimed key for the window. */
  complete(tenant: string, key: string, response: StoredResponse): Promise<void>;
  /** Releases a claimed key whose request was not accepted, so a retry can succeed. */
  release(tenant: string, key: string): Promise<void>;
}

/** The fingerprint of a request: its route and its body (as parsed JSON). */
export function requestHash(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(JSON.stringify(body)).digest('hex');
}

/**
 * The envelope id of a keyed request: derived from the tenant, the key and the request's
 * fingerprint (a UUID v4 in form), so every retry of the same request carries the same envelope
 * id, and two tenants' requests never share one whatever their keys and bodies. (The parts are
 * joined with a newline, which neither a tenant name nor a key contains.)
 */
export function envelopeIdFor(tenant: string, key: string, hash: string): string {
  const h = createHash('sha256')
    .update(tenant)
    .update('\n')
    .update(key)
    .update('\n')
    .update(hash)
    .digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Options of {@link DynamoIdempotencyKeys}. */
export interface DynamoIdempotencyKeysOptions {
  readonly tableName: string;
  /** How long a completed key answers repeats, in seconds. */
  readonly windowSeconds: number;
  /** How long a claim blocks repeats while its request is in flight, in seconds. @default 30 */
  readonly lockSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The FIFO `MessageDeduplicationId` of a keyed request: the SHA-256 (hex) of the tenant and the
 * key. SQS deduplicates across the whole queue (or group): with the bare key, another tenant's
 * message with the same key would be dropped as a duplicate.
 */
export function deduplicationIdFor(tenant: string, key: string): string {
  return createHash('sha256').update(tenant).update('\n').update(key).digest('hex');
}

/**
 * {@link IdempotencyKeys} on the status table (`key#<tenant hash>#<key>` rows, with the tenant's
 * name as attribute `tenant`, for operators): a conditional `PutItem` claims
 * a key that is absent, expired, released or whose in-flight lock ran out; on a conflict the row
 * is read (consistently) to tell a replay, a reuse with another request, and one in flight apart.
 */
export class DynamoIdempotencyKeys implements IdempotencyKeys {
  readonly #now: () => Date;
  readonly #lock: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: DynamoIdempotencyKeysOptions,
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#lock = options.lockSeconds ?? 30;
  }

  async claim(tenant: string, key: string, hash: string): Promise<Claim> {
    const nowS = Math.floor(this.#now().getTime() / 1000);
    const pk = idempotencyKeyKey(tenant, key);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            [STATUS_TABLE_KEYS.partitionKey]: pk,
            tenant,
            state: 'in-flight',
            requestHash: hash,
            lockUntil: nowS + this.#lock,
            [STATUS_TABLE_KEYS.ttlAttribute]: nowS + this.options.windowSeconds,
          },
          ConditionExpression:
            'attribute_not_exists(#pk) OR #exp < :now OR #state = :released OR (#state = :inflight AND lockUntil < :now)',
          ExpressionAttributeNames: {
            '#pk': STATUS_TABLE_KEYS.partitionKey,
            '#exp': STATUS_TABLE_KEYS.ttlAttribute,
            '#state': 'state',
          },
          ExpressionAttributeValues: { ':now': nowS, ':released': 'released', ':inflight': 'in-flight' },
        }),
      );
      return { outcome: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const out = await this.db.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: pk },
        ConsistentRead: true,
      }),
    );
    const row = out.Item;
    // Released or expired between the two calls: let the client retry at once.
    if (!row) return { outcome: 'in-progress', retryAfterSeconds: 1 };
    if (row.requestHash !== hash) return { outcome: 'reused' };
    if (row.state === 'completed' && row.response)
      return { outcome: 'replay', response: row.response as StoredResponse };
    return {
      outcome: 'in-progress',
      retryAfterSeconds: Math.max(1, Number(row.lockUntil ?? nowS + 1) - nowS),
    };
  }

  async complete(tenant: string, key: string, response: StoredResponse): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: idempotencyKeyKey(tenant, key) },
        UpdateExpression: 'SET #state = :completed, #response = :response',
        ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
        ExpressionAttributeValues: { ':completed': 'completed', ':response': response },
      }),
    );
  }

  async release(tenant: string, key: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [STATUS_TABLE_KEYS.partitionKey]: idempotencyKeyKey(tenant, key) },
        UpdateExpression: 'SET #state = :released',
        ConditionExpression: '#state = :inflight',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':released': 'released', ':inflight': 'in-flight' },
      }),
    );
  }
}
