import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { DynamoIdempotencyKeys, requestHash } from '../../lambda/producer/idempotency-keys';
import { idempotencyKeyKey } from '../../lambda/shared/status/keys';
import {
  InProgressElsewhere,
  PowertoolsRecordIdempotency,
  RUN_ATTRIBUTES,
  type RecordIdempotency,
} from '../../lambda/shared/consumer/idempotency';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import { SafeStatusStore } from '../../lambda/shared/status/safe-store';
import type { StatusStore, StatusSubject } from '../../lambda/shared/status/types';
import { FakeAws, silentLogger } from '../helpers/aws-fakes';
import { consumer, failedIds } from '../helpers/consumer';
import { fakeContext, probeRecord, T0 } from '../helpers/sqs-events';

const ddb = mockClient(DynamoDBDocumentClient);
const aws = new FakeAws();
beforeEach(() => {
  ddb.reset();
  aws.reset();
});
afterAll(() => ddb.restore());

const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));

/**
 * Evaluates the condition expressions the status store writes against a row, as DynamoDB would:
 * `attribute_not_exists(#a)`, `#a <> :v`, `#a = :v`, joined with `AND` / `OR`, in parentheses.
 * Anything else throws, so a new form of condition is noticed here rather than misread.
 */
function conditionHolds(input: UpdateCommandInput, row: Record<string, unknown>): boolean {
  const name = (n: string) => input.ExpressionAttributeNames?.[n] ?? n;
  const value = (v: string) => {
    if (!input.ExpressionAttributeValues || !(v in input.ExpressionAttributeValues))
      throw new Error(`condition uses ${v}, which has no value`);
    return input.ExpressionAttributeValues[v];
  };
  const evaluate = (expression: string): boolean => {
    const e = expression.trim();
    const split = (op: string) => {
      let depth = 0;
      for (let i = 0; i < e.length; i++) {
        if (e[i] === '(') depth++;
        else if (e[i] === ')') depth--;
        else if (depth === 0 && e.startsWith(` ${op} `, i))
          return [e.slice(0, i), e.slice(i + op.length + 2)];
      }
      return undefined;
    };
    const or = split('OR');
    if (or) return evaluate(or[0]!) || evaluate(or[1]!);
    const and = split('AND');
    if (and) return evaluate(and[0]!) && evaluate(and[1]!);
    if (e.startsWith('(') && e.endsWith(')')) return evaluate(e.slice(1, -1));
    const absent = /^attribute_not_exists\((#\w+)\)$/.exec(e);
    if (absent) return row[name(absent[1]!)] === undefined;
    const compare = /^(#\w+) (<>|=) (:\w+)$/.exec(e);
    if (compare) return (row[name(compare[1]!)] === value(compare[3]!)) === (compare[2] === '=');
    throw new Error(`unsupported condition: ${e}`);
  };
  return evaluate(input.ConditionExpression!);
}
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });
const SUBJECT: StatusSubject = {
  id: '11111111-1111-4111-8111-111111111111',
  type: 'probe',
  queue: 'standard',
  messageId: 'sqs-1',
  acceptedAt: T0.toISOString(),
};

describe('DynamoStatusStore', () => {
  const store = () => new DynamoStatusStore(doc(), { tableName: 'status', retentionDays: 7, now: () => T0 });
  const updates = () => ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);

  it('writes processing as one conditional update that counts the attempt and keeps succeeded final', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { messageIds: ['sqs-1'] } });

    await store().processing(SUBJECT);

    const [u] = updates();
    expect(updates()).toHaveLength(1);
    expect(u).toMatchObject({
      TableName: 'status',
      Key: { pk: `msg#${SUBJECT.id}` },
      ConditionExpression: 'attribute_not_exists(#status) OR #status <> :succeeded',
      ReturnValues: 'ALL_NEW',
    });
    expect(u!.UpdateExpression).toContain('attempts = if_not_exists(attempts, :zero) + :one');
    expect(u!.UpdateExpression).toContain('messageIds = if_not_exists(messageIds, :ids)');
    expect(u!.ExpressionAttributeValues).toMatchObject({
      ':state': 'processing',
      ':exp': Math.floor(T0.getTime() / 1000) + 7 * 86_400,
    });
  });

  it('appends a new SQS message id (redrive, replay) with a second, conditional update', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { messageIds: ['sqs-0'] } });

    await store().processing(SUBJECT);

    expect(updates()).toHaveLength(2);
    expect(updates()[1]).toMatchObject({
      UpdateExpression: 'SET messageIds = list_append(messageIds, :ids)',
      ConditionExpression: 'NOT contains(messageIds, :id)',
      ExpressionAttributeValues: { ':ids': ['sqs-1'], ':id': 'sqs-1' },
    });
  });

  it('leaves a succeeded row as it is when a late transition finds it (condition failed)', async () => {
    // Prepare: one stored row, and DynamoDB's rule: an update whose condition does not hold on the
    // row is refused with ConditionalCheckFailedException; any other update is applied.
    const row: Record<string, unknown> = { status: 'succeeded' };
    ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      if (input.ConditionExpression !== undefined && !conditionHolds(input, row)) throw conditionFailed();
      row.status = input.ExpressionAttributeValues?.[':state'];
      return {};
    });

    // Act
    const late = store().retrying(SUBJECT, new Error('late'));
    const redelivered = store().processing(SUBJECT);

    // Assess
    await expect(late).resolves.toBeUndefined();
    await expect(redelivered).resolves.toBeUndefined();
    expect(updates().map((u) => u.ExpressionAttributeValues?.[':state'])).toEqual(['retrying', 'processing']);
    expect(row).toEqual({ status: 'succeeded' });
  });

  it('writes the failure and error; the sweeper variant also spares failed rows', async () => {
    ddb.on(UpdateCommand).resolves({});

    await store().failed(SUBJECT, { kind: 'unknown', archiveKey: 'failed/q/k.json' }, new TypeError('boom'), {
      unlessFinal: true,
    });

    expect(updates()[0]).toMatchObject({
      ConditionExpression: 'attribute_not_exists(#status) OR (#status <> :succeeded AND #status <> :failed)',
      ExpressionAttributeValues: expect.objectContaining({
        ':state': 'failed',
        ':failure': { kind: 'unknown', archiveKey: 'failed/q/k.json' },
        ':err': { name: 'TypeError', message: 'boom' },
      }),
    });
  });

  it('writes accepted without overwriting a state a consumer already wrote', async () => {
    ddb.on(UpdateCommand).resolves({});

    await store().accepted(SUBJECT);

    expect(updates()[0]!.UpdateExpression).toContain('#status = if_not_exists(#status, :state)');
    expect(updates()[0]!.ConditionExpression).toBeUndefined();
  });

  it("sets the row's owner on accepted only, where it has none; consumers' transitions never write it", async () => {
    // Prepare: the subject as the producer (with its tenant) and a consumer (from the envelope) see it.
    ddb.on(UpdateCommand).resolves({ Attributes: { messageIds: ['sqs-1'] } });
    const subject = { ...SUBJECT, tenant: 'team-billing' };

    // Act
    await store().accepted(subject);
    await store().processing(subject);
    await store().retrying(subject, new Error('x'));
    await store().succeeded(subject);
    await store().failed(subject, { kind: 'permanent', archiveKey: 'k' }, new Error('x'));

    // Assess: OWNER is a reserved word, hence #owner.
    const [accepted, ...others] = updates();
    expect(accepted!.UpdateExpression).toContain('#owner = if_not_exists(#owner, :owner)');
    expect(accepted!.ExpressionAttributeNames).toMatchObject({ '#owner': 'owner' });
    expect(accepted!.ExpressionAttributeValues).toMatchObject({ ':owner': 'team-billing' });
    expect(others).toHaveLength(4);
    for (const u of others) {
      expect(u.UpdateExpression).not.toContain('owner');
      expect(Object.values(u.ExpressionAttributeValues ?? {})).not.toContain('team-billing');
    }
  });

  it('reads a row into the GET body, and undefined when there is none', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({
        Item: {
          pk: 'msg#x',
          id: SUBJECT.id,
          type: 'probe',
          queue: 'standard',
          status: 'succeeded',
          attempts: 2,
          owner: 'team-billing',
        },
      })
      .resolvesOnce({ Item: { pk: 'msg#x', id: SUBJECT.id, type: 'probe', queue: 'standard' } })
      .resolvesOnce({});

    const found = await store().get(SUBJECT.id);
    const ownerless = await store().get(SUBJECT.id);
    const missing = await store().get(SUBJECT.id);

    expect(found).toMatchObject({
      id: SUBJECT.id,
      attempts: 2,
      lastError: null,
      failure: null,
      messageIds: [],
      owner: 'team-billing',
    });
    expect(ownerless!.owner).toBeUndefined();
    expect(missing).toBeUndefined();
  });
});

describe('SafeStatusStore', () => {
  it('resolves, logs and counts when a status write fails', async () => {
    const logger = silentLogger();
    const error = vi.spyOn(logger, 'error');
    const metric = { addDimension: vi.fn(), addMetric: vi.fn() };
    const metrics = { singleMetric: () => metric } as never;
    const failing = new DynamoStatusStore(doc(), { tableName: 'status', retentionDays: 7 });
    ddb.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceeded'));

    await expect(new SafeStatusStore(failing, logger, metrics).succeeded(SUBJECT)).resolves.toBeUndefined();

    expect(error).toHaveBeenCalledWith(
      expect.stringContaining('status write failed'),
      expect.objectContaining({ transition: 'succeeded', envelopeId: SUBJECT.id }),
    );
    expect(metric.addMetric).toHaveBeenCalledWith('statusWriteFailed', MetricUnit.Count, 1);
  });
});

/** A status store that records the transitions it is asked for. */
function recorder(fail = false): StatusStore & { log: string[] } {
  const log: string[] = [];
  const w =
    (name: string) =>
    async (s: StatusSubject, ...rest: unknown[]) => {
      const f = rest[0] as { kind?: string; archiveKey?: string } | undefined;
      log.push(name === 'failed' ? `failed:${f?.kind}:${f?.archiveKey ? 'key' : 'nokey'}` : name);
      if (fail) throw new Error(`cannot write ${name} of ${s.id}`);
    };
  return {
    log,
    accepted: w('accepted'),
    processing: w('processing'),
    succeeded: w('succeeded'),
    retrying: w('retrying'),
    deferred: w('deferred'),
    failed: w('failed'),
    childEnqueued: (parentId: string) => w('childEnqueued')({ id: parentId } as StatusSubject),
    get: async () => undefined,
  };
}

/** Idempotency that remembers completed ids in memory. */
function memoryIdempotency(): RecordIdempotency & { done: Set<string> } {
  const done = new Set<string>();
  return {
    done,
    writesStatus: false,
    async run(subject, work) {
      if (done.has(subject.id)) return 'duplicate';
      await work();
      done.add(subject.id);
      return 'ran';
    },
  };
}

describe('consumer status transitions', () => {
  it('writes processing then succeeded for a record that succeeds', async () => {
    const status = recorder();

    const res = await consumer({ status }).run([probeRecord({ mode: 'succeed' })]);

    expect(failedIds(res)).toEqual([]);
    expect(status.log).toEqual(['processing', 'succeeded']);
  });

  it('writes retrying for a retryable failure and failed permanent with the archive key', async () => {
    const retry = recorder();
    const permanent = recorder();

    await consumer({ status: retry }).run([probeRecord({ mode: 'fail-always' })]);
    await consumer({ status: permanent }).run([probeRecord({ mode: 'fail-permanent' })]);

    expect(retry.log).toEqual(['processing', 'retrying']);
    expect(permanent.log).toEqual(['processing', 'failed:permanent:key']);
  });

  it('writes failed exhausted on the last attempt', async () => {
    const status = recorder();

    await consumer({ status }).run([probeRecord({ mode: 'fail-always' }, { receiveCount: 5 })]);

    expect(status.log).toEqual(['processing', 'failed:exhausted:key']);
  });

  it('acknowledges a duplicate of a message that succeeded without running it or counting an attempt', async () => {
    const status = recorder();
    const idempotency = memoryIdempotency();
    const c = consumer({ status, idempotency });
    const first = probeRecord({ mode: 'succeed' });
    const duplicate = { ...first, messageId: 'another-delivery' };

    await c.run([first]);
    const res = await c.run([duplicate]);

    expect(failedIds(res)).toEqual([]);
    expect(status.log).toEqual(['processing', 'succeeded', 'succeeded']);
  });

  it('retries a record whose message is in progress elsewhere, with a backoff and no status write', async () => {
    const status = recorder();
    const busy: RecordIdempotency = {
      writesStatus: false,
      run: async () => {
        throw new InProgressElsewhere('busy');
      },
    };
    const record = probeRecord({ mode: 'succeed' });

    const res = await consumer({ status, idempotency: busy }).run([record]);

    expect(failedIds(res)).toEqual([record.messageId]);
    expect(status.log).toEqual([]);
    expect(aws.visibilityChanges()).toHaveLength(1);
  });

  it('never fails a record because its status writes fail', async () => {
    const status = new SafeStatusStore(recorder(true), silentLogger());

    const res = await consumer({ status }).run([probeRecord({ mode: 'succeed' })]);

    expect(failedIds(res)).toEqual([]);
  });
});

describe('Idempotency-Key records', () => {
  const keys = () =>
    new DynamoIdempotencyKeys(doc(), { tableName: 'status', windowSeconds: 86_400, now: () => T0 });
  const nowS = Math.floor(T0.getTime() / 1000);
  const hash = requestHash('single', { a: 1 });

  const TENANT = 'https://login.example.com/#acme';
  /** The row key: the SHA-256 of the tenant, then the key. */
  const PK = `key#${createHash('sha256').update(TENANT).digest('hex')}#k1`;

  it("keys a record by tenant and key, so that no tenant name and key make another's row", () => {
    expect(idempotencyKeyKey(TENANT, 'k1')).toBe(PK);
    expect(idempotencyKeyKey('a#b', 'c')).not.toBe(idempotencyKeyKey('a', 'b#c'));
    expect(idempotencyKeyKey('team-a', 'k1')).not.toBe(idempotencyKeyKey('team-b', 'k1'));
  });

  it('claims an absent, expired, released or stale key with one conditional put', async () => {
    ddb.on(PutCommand).resolves({});

    expect(await keys().claim(TENANT, 'k1', hash)).toEqual({ outcome: 'claimed' });

    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(put.Item).toMatchObject({
      pk: PK,
      tenant: TENANT,
      state: 'in-flight',
      requestHash: hash,
      expiration: nowS + 86_400,
    });
    expect(put.ConditionExpression).toBe(
      'attribute_not_exists(#pk) OR #exp < :now OR #state = :released OR (#state = :inflight AND lockUntil < :now)',
    );
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  const stored = { statusCode: 202, body: '{"id":"first"}', headers: { location: '/v1/messages/first' } };
  it.each([
    [
      'the first response for the same request once completed',
      { state: 'completed', requestHash: hash, response: stored },
      { outcome: 'replay', response: stored },
    ],
    [
      // A completed row with a stored response: only the fingerprint tells reuse from a replay.
      'reused for a different request',
      { state: 'completed', requestHash: requestHash('single', { a: 2 }), response: stored },
      { outcome: 'reused' },
    ],
    [
      'reused for a different request still in flight',
      { state: 'in-flight', requestHash: 'other', lockUntil: nowS + 12 },
      { outcome: 'reused' },
    ],
    [
      'in progress while the first is in flight',
      { state: 'in-flight', requestHash: hash, lockUntil: nowS + 12 },
      { outcome: 'in-progress', retryAfterSeconds: 12 },
    ],
  ])('answers %s', async (_what, item, expected) => {
    ddb.on(PutCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: PK, ...item } });

    const claim = await keys().claim(TENANT, 'k1', hash);

    expect(claim).toEqual(expected);
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      Key: { pk: PK },
      ConsistentRead: true,
    });
  });

  it("completes and releases the tenant's own record", async () => {
    ddb.on(UpdateCommand).resolves({});

    await keys().complete(TENANT, 'k1', stored);
    await keys().release(TENANT, 'k1');

    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key)).toEqual([{ pk: PK }, { pk: PK }]);
  });

  it('fingerprints the route and the body', () => {
    expect(requestHash('single', { a: 1 })).toBe(hash);
    expect(requestHash('batch-entry', { a: 1 })).not.toBe(hash);
    expect(requestHash('single', { a: 1, b: 2 })).not.toBe(hash);
  });
});

describe('PowertoolsRecordIdempotency (records on the status row)', () => {
  const FIFTEEN_MIN = 900;
  const idem = () => {
    const db = doc();
    const store = new DynamoStatusStore(db, { tableName: 'status', retentionDays: 7, now: () => T0 });
    return new PowertoolsRecordIdempotency({
      db,
      tableName: 'status',
      windowSeconds: FIFTEEN_MIN,
      retentionDays: 7,
      store,
      now: () => T0,
    });
  };
  const updates = () => ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);

  it('writes INPROGRESS with processing in one update, then COMPLETED with succeeded in one more', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: { messageIds: [SUBJECT.messageId] } });
    let ranAfter = -1;

    // Act
    const outcome = await idem().run(
      SUBJECT,
      async () => {
        ranAfter = updates().length;
      },
      fakeContext(),
    );

    // Assess
    expect(outcome).toBe('ran');
    expect(ranAfter).toBe(1);
    const [put, done] = updates();
    expect(updates()).toHaveLength(2);
    expect(put!.Key).toEqual({ pk: `msg#${SUBJECT.id}` });
    expect(put!.UpdateExpression).toContain('attempts = if_not_exists(attempts, :zero) + :one');
    expect(put!.UpdateExpression).toContain('#runStatus = :runStatus');
    expect(put!.ExpressionAttributeValues).toMatchObject({
      ':state': 'processing',
      ':runStatus': 'INPROGRESS',
    });
    expect(put!.ExpressionAttributeNames).toMatchObject({ '#runStatus': RUN_ATTRIBUTES.status });
    expect(put!.ConditionExpression).toContain('attribute_not_exists(#runStatus)');
    expect(put!.ConditionExpression).toContain('#status <> :succeeded');
    expect(done!.Key).toEqual({ pk: `msg#${SUBJECT.id}` });
    expect(done!.ExpressionAttributeValues).toMatchObject({
      ':state': 'succeeded',
      ':runStatus': 'COMPLETED',
    });
    expect(done!.ConditionExpression).toBeUndefined();
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('answers duplicate without running when the row says succeeded', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: `msg#${SUBJECT.id}`, status: 'succeeded' } });
    let ran = false;

    // Act
    const outcome = await idem().run(
      SUBJECT,
      async () => {
        ran = true;
      },
      fakeContext(),
    );

    // Assess
    expect(outcome).toBe('duplicate');
    expect(ran).toBe(false);
  });

  it('throws InProgressElsewhere while another delivery holds a live INPROGRESS record', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({
      Item: {
        pk: `msg#${SUBJECT.id}`,
        status: 'processing',
        [RUN_ATTRIBUTES.status]: 'INPROGRESS',
        [RUN_ATTRIBUTES.expiry]: Math.floor(Date.now() / 1000) + FIFTEEN_MIN,
        [RUN_ATTRIBUTES.inProgressExpiry]: Date.now() + 60_000,
      },
    });

    await expect(idem().run(SUBJECT, async () => {}, fakeContext())).rejects.toBeInstanceOf(
      InProgressElsewhere,
    );
  });

  it('removes the record (not the row) when the work fails, so the next delivery runs it', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { messageIds: [SUBJECT.messageId] } });

    await expect(
      idem().run(
        SUBJECT,
        async () => {
          throw new Error('boom');
        },
        fakeContext(),
      ),
    ).rejects.toThrow('boom');

    const last = updates().at(-1)!;
    expect(last.UpdateExpression).toBe('REMOVE #runStatus, #runExpiry, #runInProgressExpiry, #runData');
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});

describe('consumer with idempotency that writes the status itself', () => {
  it('writes no processing or succeeded of its own; a duplicate still writes succeeded', async () => {
    const status = recorder();
    const seen = new Set<string>();
    const idempotency: RecordIdempotency = {
      writesStatus: true,
      async run(subject, work) {
        if (seen.has(subject.id)) return 'duplicate';
        await work();
        seen.add(subject.id);
        return 'ran';
      },
    };
    const c = consumer({ status, idempotency });
    const first = probeRecord({ mode: 'succeed' });

    await c.run([first]);
    expect(status.log).toEqual([]);
    await c.run([{ ...first, messageId: 'another-delivery' }]);
    expect(status.log).toEqual(['succeeded']);
  });
});
