import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoIdempotencyKeys, envelopeIdFor, requestHash } from '../../lambda/producer/idempotency-keys';
import { IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import {
  InProgressElsewhere,
  PowertoolsRecordIdempotency,
  RUN_ATTRIBUTES,
} from '../../lambda/shared/consumer/idempotency';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { fakeContext, T0 } from '../helpers/sqs-events';

// What the two idempotency guards do when DynamoDB fails them for another reason than their
// condition, what they read on a conflict, and the fingerprints a keyed retry depends on across
// releases. (Against the emulator: test/local/*.dynamodb.test.ts.)

const ddb = mockClient(DynamoDBDocumentClient);
afterAll(() => ddb.restore());
beforeEach(() => ddb.reset());

const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
  });
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });

describe('Idempotency-Key fingerprints (stable across releases)', () => {
  // A keyed retry that spans a deploy must fingerprint and derive its envelope id as before, or
  // the retry is refused as a reuse (422) or runs as a second message. Computed independently
  // (sha256 of "route\nbody" and of "tenant\nkey\nfingerprint", UUID v4 form; 0.3.0 scoped the
  // derivation by tenant, CHANGELOG.md).
  const body = { type: 'probe', payload: { mode: 'succeed' } };

  it('fingerprints a request as sha256 of its route, a newline and its JSON', () => {
    expect(requestHash('single', body)).toBe(
      '68af3f86c7babd17508e80b8ab8861e97baa1e2715ad28a2ee90b5899aab63c8',
    );
  });

  it('derives the envelope id of a keyed request from the tenant, the key and the fingerprint', () => {
    expect(envelopeIdFor('tenant-a', 'order-1234-confirmation', requestHash('single', body))).toBe(
      '96852824-4e3e-4231-89f9-d4dcb9a8f594',
    );
  });
});

describe('Idempotency-Key claims when DynamoDB fails', () => {
  const keys = () =>
    new DynamoIdempotencyKeys(doc(), { tableName: 'status', windowSeconds: 86_400, now: () => T0 });

  it('throws what the claim write threw when it is not its condition, and reads nothing', async () => {
    ddb.on(PutCommand).rejects(throttled());
    ddb
      .on(GetCommand)
      .resolves({ Item: { pk: 'key#k', state: 'in-flight', requestHash: 'h', lockUntil: 0 } });

    await expect(keys().claim('tenant-a', 'k', 'h')).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('run-once records on the status row when DynamoDB fails', () => {
  const SUBJECT: StatusSubject = {
    id: '11111111-1111-4111-8111-111111111111',
    type: 'probe',
    queue: 'standard',
    messageId: 'sqs-1',
    acceptedAt: T0.toISOString(),
  };
  const guard = () => {
    const db = doc();
    return new PowertoolsRecordIdempotency({
      db,
      tableName: 'status',
      windowSeconds: 900,
      retentionDays: 7,
      store: new DynamoStatusStore(db, { tableName: 'status', retentionDays: 7 }),
    });
  };

  it('fails the run without running it or reading the row when the in-progress write fails otherwise', async () => {
    // Prepare: were the row read, it would say succeeded (a duplicate)
    ddb.on(UpdateCommand).rejects(throttled());
    ddb.on(GetCommand).resolves({ Item: { pk: `msg#${SUBJECT.id}`, status: 'succeeded' } });
    let ran = false;

    // Act
    const run = guard().run(SUBJECT, async () => void (ran = true), fakeContext());

    // Assess: the record is retried later (nothing acknowledged on a write that did not happen)
    await expect(run).rejects.toMatchObject({ cause: { name: 'ProvisionedThroughputExceededException' } });
    expect(ran).toBe(false);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads the row consistently on a conflict', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: `msg#${SUBJECT.id}`, status: 'succeeded' } });

    expect(await guard().run(SUBJECT, async () => undefined, fakeContext())).toBe('duplicate');
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.ConsistentRead)).toEqual([true]);
  });

  it.each([
    ['the row is gone (its TTL)', undefined],
    ['the row has no record (the other run failed and removed it)', { status: 'processing', attempts: 1 }],
  ])(
    'fails the run without running it when, on a conflict, %s by the read: Powertools’ not-found error',
    async (_what, item) => {
      ddb.on(UpdateCommand).rejects(conditionFailed());
      ddb.on(GetCommand).resolves({ Item: item && { pk: `msg#${SUBJECT.id}`, ...item } });
      let ran = false;

      const run = guard().run(SUBJECT, async () => void (ran = true), fakeContext());

      // The record is retried later: the next delivery finds the id free.
      await expect(run).rejects.toBeInstanceOf(IdempotencyItemNotFoundError);
      expect(ran).toBe(false);
    },
  );

  it('refuses to run a message without an id (such messages would share one record), writing nothing', async () => {
    let ran = false;

    const run = guard().run({ ...SUBJECT, id: '' }, async () => void (ran = true), fakeContext());

    await expect(run).rejects.toMatchObject({
      cause: { name: 'IdempotencyKeyError', message: 'No data found to create a hashed idempotency_key' },
    });
    expect(ran).toBe(false);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('names the record Powertools hashes as run#<md5 of the envelope id> when another delivery holds it', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const now = Date.now();
    ddb.on(GetCommand).resolves({
      Item: {
        pk: `msg#${SUBJECT.id}`,
        status: 'processing',
        [RUN_ATTRIBUTES.status]: 'INPROGRESS',
        [RUN_ATTRIBUTES.expiry]: Math.floor(now / 1000) + 900,
        [RUN_ATTRIBUTES.inProgressExpiry]: now + 60_000,
      },
    });
    const key = `run#${createHash('md5').update(JSON.stringify(SUBJECT.id)).digest('base64')}`;

    const run = guard().run(SUBJECT, async () => undefined, fakeContext());

    await expect(run).rejects.toBeInstanceOf(InProgressElsewhere);
    await expect(run).rejects.toMatchObject({
      cause: { message: `There is already an execution in progress with idempotency key: ${key}` },
    });
  });
});
