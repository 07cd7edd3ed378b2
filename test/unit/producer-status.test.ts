import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  requestHash,
  type Claim,
  type IdempotencyKeys,
  type StoredResponse,
} from '../../lambda/producer/idempotency-keys';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import type { StatusStore, StatusSubject, StoredStatus } from '../../lambda/shared/status/types';
import {
  CALLER_ACCOUNT,
  getStatus,
  iamIdentity,
  jwtAuthorizer,
  postBatch,
  postMessage,
  TENANTS,
} from '../helpers/api-events';
import { sqsError } from '../helpers/aws-fakes';
import { producerApi, uuid } from '../helpers/producer';
import { T0 } from '../helpers/sqs-events';

const sqsMock = mockClient(SQSClient);
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-1', MD5OfMessageBody: 'md5' });
});

const email = (n = 1) => ({
  type: 'email.send',
  payload: { to: `user${n}@example.com`, subject: `hello ${n}`, body: 'Hi' },
});
const body = (res: APIGatewayProxyResult) => JSON.parse(res.body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const sends = () =>
  sqsMock.commandCalls(SendMessageCommand).length + sqsMock.commandCalls(SendMessageBatchCommand).length;

const A = TENANTS.a.name;
const B = TENANTS.b.name;
/** A key's row in {@link memoryKeys}: the tenant's name and the key. */
const rowOf = (tenant: string, key: string) => `${tenant}\n${key}`;

/** Keys in memory with the same rules as the DynamoDB records: one per tenant and key. */
function memoryKeys(): IdempotencyKeys & {
  rows: Map<string, { hash: string; response?: StoredResponse }>;
  released: string[];
} {
  const rows = new Map<string, { hash: string; response?: StoredResponse }>();
  const released: string[] = [];
  return {
    rows,
    released,
    async claim(tenant, key, hash): Promise<Claim> {
      const row = rows.get(rowOf(tenant, key));
      if (!row) {
        rows.set(rowOf(tenant, key), { hash });
        return { outcome: 'claimed' };
      }
      if (row.hash !== hash) return { outcome: 'reused' };
      if (row.response) return { outcome: 'replay', response: row.response };
      return { outcome: 'in-progress', retryAfterSeconds: 7 };
    },
    async complete(tenant, key, response) {
      rows.get(rowOf(tenant, key))!.response = response;
    },
    async release(tenant, key) {
      released.push(rowOf(tenant, key));
      rows.delete(rowOf(tenant, key));
    },
  };
}

/** Status rows in memory: `accepted` records the subject and sets the owner where there is none. */
function memoryStatus(): StatusStore & { accepted_: StatusSubject[]; rows: Map<string, StoredStatus> } {
  const accepted_: StatusSubject[] = [];
  const rows = new Map<string, StoredStatus>();
  const noop = async () => undefined;
  return {
    accepted_,
    rows,
    accepted: async (s) => {
      accepted_.push(s);
      const row = rows.get(s.id) ?? storedRow(s.id, undefined);
      rows.set(s.id, { ...row, owner: row.owner ?? s.tenant });
    },
    processing: noop,
    succeeded: noop,
    retrying: noop,
    deferred: noop,
    failed: noop,
    childEnqueued: noop,
    get: async (id) => rows.get(id),
  };
}

const api = producerApi;

/** A status row as the store reads it, owned by `owner`. */
const storedRow = (id: string, owner: string | undefined): StoredStatus => ({
  id,
  type: 'email.send',
  queue: 'standard',
  lane: 'standard',
  status: 'failed',
  attempts: 3,
  deferrals: 0,
  notBefore: null,
  acceptedAt: T0.toISOString(),
  updatedAt: T0.toISOString(),
  lastError: { name: 'SmtpRejected', message: 'mailbox unavailable: user1@example.com' },
  failure: { kind: 'exhausted', archiveKey: `failed/standard/2024/11/22/${id}.json` },
  messageIds: ['sqs-1'],
  correlationId: 'req-1',
  result: null,
  resultRef: null,
  parentId: null,
  children: [],
  owner,
});

describe('producer: status of accepted messages', () => {
  it('answers 202 with the envelope id, an absolute Location with the stage, and writes accepted', async () => {
    const status = memoryStatus();

    const res = await api({ status })(postMessage(email()));

    expect(res.statusCode).toBe(202);
    expect(body(res)).toEqual({ id: uuid(1), messageId: 'sqs-1', queue: 'standard', lane: 'standard' });
    expect(res.headers?.location).toBe(
      `https://abcdef1234.execute-api.eu-west-1.amazonaws.com/dev/v1/messages/${uuid(1)}`,
    );
    expect(status.accepted_).toEqual([
      {
        id: uuid(1),
        type: 'email.send',
        queue: 'standard',
        lane: 'standard',
        messageId: 'sqs-1',
        acceptedAt: T0.toISOString(),
        correlationId: expect.any(String),
        tenant: A,
      },
    ]);
  });

  it('has no base path off the execute-api domain (local mode, custom domains)', async () => {
    const res = await api()(
      postMessage(email(), { headers: { Host: '127.0.0.1:3000', 'X-Forwarded-Proto': 'http' } }),
    );

    expect(res.headers?.location).toBe(`http://127.0.0.1:3000/v1/messages/${uuid(1)}`);
  });

  it('serves GET /v1/messages/{id}: 200 with the row (not its owner), 404 unknown, 400 not a UUID, 405 other methods', async () => {
    const status = memoryStatus();
    const { owner: _, resultRef: __, ...stored } = storedRow(uuid(9), A);
    const row = { ...stored, resultUrl: null, resultBytes: null };
    status.rows.set(uuid(9), storedRow(uuid(9), A));
    const handle = api({ status });
    const get = (id: string, method = 'GET') => handle(getStatus(id, { method }));

    const ok = await get(uuid(9));
    const missing = await get(uuid(8));
    const bad = await get('12345');
    const del = await get(uuid(9), 'DELETE');

    expect([ok.statusCode, missing.statusCode, bad.statusCode, del.statusCode]).toEqual([200, 404, 400, 405]);
    expect(body(ok)).toEqual(row);
    expect(body(missing).error).toMatchObject({ code: 'NotFound', requestId: expect.any(String) });
    expect(body(bad).error).toMatchObject({ code: 'ValidationError', details: [{ field: 'id' }] });
    expect(del.headers?.allow).toBe('GET');
  });
});

describe('producer: Idempotency-Key', () => {
  const withKey = (b: unknown, key = 'k-1') => postMessage(b, { headers: { 'Idempotency-Key': key } });

  it('answers a repeat with the first response and sends nothing more', async () => {
    const idempotencyKeys = memoryKeys();
    const handle = api({ idempotencyKeys });

    const first = await handle(withKey(email()));
    const repeat = await handle(withKey(email()));

    expect(repeat.statusCode).toBe(202);
    expect(body(repeat)).toEqual(body(first));
    expect(repeat.headers?.location).toBe(first.headers?.location);
    expect(sends()).toBe(1);
  });

  it('refuses the same key with another body (422 IdempotencyKeyReused) and one in flight (409 + Retry-After)', async () => {
    const idempotencyKeys = memoryKeys();
    // 'busy': claimed by the same request, still in flight (no response yet).
    idempotencyKeys.rows.set(rowOf(A, 'busy'), { hash: requestHash('single', email(1)) });
    const handle = api({ idempotencyKeys });
    await handle(withKey(email(1)));

    const reused = await handle(withKey(email(2)));
    const inFlight = await handle(withKey(email(1), 'busy'));

    expect(reused.statusCode).toBe(422);
    expect(body(reused).error).toMatchObject({
      code: 'IdempotencyKeyReused',
      details: [{ field: 'Idempotency-Key' }],
    });
    expect(inFlight.statusCode).toBe(409);
    expect(body(inFlight).error.code).toBe('RequestInProgress');
    expect(inFlight.headers?.['retry-after']).toBe('7');
    expect(sends()).toBe(1);
    expect(idempotencyKeys.rows.get(rowOf(A, 'busy'))!.response).toBeUndefined();
  });

  it('answers RequestInProgress with Retry-After while the same request is in flight', async () => {
    const idempotencyKeys = memoryKeys();
    const handle = api({ idempotencyKeys });
    idempotencyKeys.rows.set(rowOf(A, 'k-1'), { hash: requestHash('single', email()) });

    const res = await handle(withKey(email()));

    expect(res.statusCode).toBe(409);
    expect(body(res).error.code).toBe('RequestInProgress');
    expect(res.headers?.['retry-after']).toBe('7');
    expect(sends()).toBe(0);
  });

  it('releases the key when the queue refuses, so the retry is sent', async () => {
    const idempotencyKeys = memoryKeys();
    const handle = api({ idempotencyKeys });
    sqsMock
      .on(SendMessageCommand)
      .rejectsOnce(sqsError())
      .resolves({ MessageId: 'sqs-2', MD5OfMessageBody: 'md5' });

    const refused = await handle(withKey(email()));
    const retried = await handle(withKey(email()));

    expect(refused.statusCode).toBe(503);
    expect(idempotencyKeys.released).toEqual([rowOf(A, 'k-1')]);
    expect(retried.statusCode).toBe(202);
    expect(body(retried).messageId).toBe('sqs-2');
    // The retry carries the same envelope id: had the refused send reached the queue, the
    // consumers' idempotency would see one message.
    const ids = sqsMock
      .commandCalls(SendMessageCommand)
      .map((c) => parseEnvelope(c.args[0].input.MessageBody!).id);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(body(retried).id).toBe(ids[0]);
  });

  it('applies the rules per batch entry and refuses the header on the batch endpoint', async () => {
    const idempotencyKeys = memoryKeys();
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input) => ({
      Successful: input.Entries.map((e: { Id: string }) => ({
        Id: e.Id,
        MessageId: `sqs-b${e.Id}`,
        MD5OfMessageBody: 'm',
      })),
      Failed: [],
    }));
    const handle = api({ idempotencyKeys });
    const entries = { messages: [{ ...email(1), idempotencyKey: 'e-1' }, email(2)] };

    const first = await handle(postBatch(entries));
    const again = await handle(
      postBatch({
        messages: [
          { ...email(1), idempotencyKey: 'e-1' },
          { ...email(3), idempotencyKey: 'e-1' },
        ],
      }),
    );
    const header = await handle(postBatch(entries, { headers: { 'Idempotency-Key': 'whole' } }));

    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(207);
    expect(body(again).results[0]).toEqual(body(first).results[0]);
    expect(body(again).results[1].error.code).toBe('IdempotencyKeyReused');
    expect(header.statusCode).toBe(400);
    expect(body(header).error.details).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });
});

describe('producer: tenants are kept apart', () => {
  const withKey = (b: unknown, key: string, tenant: 'a' | 'b' = 'a') =>
    postMessage(b, { headers: { 'Idempotency-Key': key }, tenant });
  /** An error body without its request id (which differs from answer to answer). */
  const withoutRequestId = (res: APIGatewayProxyResult) => {
    const { requestId: _, ...error } = body(res).error;
    return error;
  };

  it("answers another tenant's request with the same key and body as its own message, not a replay", async () => {
    // Prepare
    const idempotencyKeys = memoryKeys();
    const status = memoryStatus();
    const handle = api({ idempotencyKeys, status });

    // Act
    const a = await handle(withKey(email(), 'order-1'));
    const b = await handle(withKey(email(), 'order-1', 'b'));

    // Assess
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(body(b).id).not.toBe(body(a).id);
    expect(b.headers?.location).not.toBe(a.headers?.location);
    expect(sends()).toBe(2);
    const [sentA, sentB] = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(parseEnvelope(sentA!.MessageBody!).tenant).toBe(A);
    expect(parseEnvelope(sentB!.MessageBody!).tenant).toBe(B);
    expect(status.accepted_.map((s) => [s.id, s.tenant])).toEqual([
      [body(a).id, A],
      [body(b).id, B],
    ]);
  });

  it("lets no tenant probe another's keys: the same key with another body is accepted, not 422", async () => {
    const idempotencyKeys = memoryKeys();
    const handle = api({ idempotencyKeys });
    await handle(withKey(email(1), 'order-1'));

    const probe = await handle(withKey(email(2), 'order-1', 'b'));
    const ownReuse = await handle(withKey(email(3), 'order-1'));

    expect(probe.statusCode).toBe(202);
    expect(ownReuse.statusCode).toBe(422);
    expect(sends()).toBe(2);
  });

  it('lets no tenant block another: a key another tenant claimed first is still free', async () => {
    const idempotencyKeys = memoryKeys();
    // B's request with the key is still in flight (claimed, no response yet).
    idempotencyKeys.rows.set(rowOf(B, 'order-1'), { hash: requestHash('single', email()) });
    const handle = api({ idempotencyKeys });

    const a = await handle(withKey(email(), 'order-1'));
    const b = await handle(withKey(email(), 'order-1', 'b'));

    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(409);
    expect(body(b).error.code).toBe('RequestInProgress');
  });

  it('derives different envelope ids for two tenants with the same key and body', async () => {
    const handle = api({ idempotencyKeys: memoryKeys() });

    const a = await handle(withKey(email(), 'k'));
    const b = await handle(withKey(email(), 'k', 'b'));
    const again = await api({ idempotencyKeys: memoryKeys() })(withKey(email(), 'k'));

    expect(body(a).id).not.toBe(body(b).id);
    // Still derived, not random: the same tenant's retry after a lost key record is the same message.
    expect(body(again).id).toBe(body(a).id);
  });

  it('applies the tenant scope per batch entry', async () => {
    // Prepare
    const idempotencyKeys = memoryKeys();
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input) => ({
      Successful: input.Entries.map((e: { Id: string }) => ({
        Id: e.Id,
        MessageId: `m-${e.Id}`,
        MD5OfMessageBody: 'm',
      })),
      Failed: [],
    }));
    const handle = api({ idempotencyKeys });
    await handle(postBatch({ messages: [{ ...email(1), idempotencyKey: 'e-1' }] }));

    // Act: B with A's key (same body, other body), then A repeating its entry at another index.
    const b = await handle(
      postBatch(
        {
          messages: [
            { ...email(1), idempotencyKey: 'e-1' },
            { ...email(2), idempotencyKey: 'e-1' },
          ],
        },
        { tenant: 'b' },
      ),
    );
    const a = await handle(postBatch({ messages: [email(5), { ...email(1), idempotencyKey: 'e-1' }] }));

    // Assess
    expect(b.statusCode).toBe(207);
    expect(body(b).results[0]).toMatchObject({ index: 0, messageId: 'm-0' });
    expect(body(b).results[1].error.code).toBe('IdempotencyKeyReused'); // B's own key, reused
    expect(a.statusCode).toBe(202);
    expect(body(a).results[1]).toMatchObject({ index: 1, messageId: 'm-0' }); // A's replay, at its index
  });

  it("answers another tenant's message exactly as an unknown id: 404 NotFound, same body", async () => {
    // Prepare
    const status = memoryStatus();
    status.rows.set(uuid(1), storedRow(uuid(1), A));
    const handle = api({ status });

    // Act
    const own = await handle(getStatus(uuid(1)));
    const others = await handle(getStatus(uuid(1), { tenant: 'b' }));
    const unknown = await handle(getStatus(uuid(2), { tenant: 'b' }));
    const unknownSameId = await api({ status: memoryStatus() })(getStatus(uuid(1), { tenant: 'b' }));

    // Assess
    expect(own.statusCode).toBe(200);
    expect([others.statusCode, unknown.statusCode]).toEqual([404, 404]);
    expect(withoutRequestId(others)).toEqual(withoutRequestId(unknownSameId));
    expect(withoutRequestId(others)).toEqual({
      code: 'NotFound',
      message: `No message with id ${uuid(1)}`,
      details: [],
    });
    expect(others.headers).toEqual(unknownSameId.headers);
    expect(others.body).not.toContain('SmtpRejected');
  });

  it('shows a row without owner (before tenants, or from a consumer) to nobody', async () => {
    const status = memoryStatus();
    status.rows.set(uuid(1), storedRow(uuid(1), undefined));
    const handle = api({ status });

    const a = await handle(getStatus(uuid(1)));
    const b = await handle(getStatus(uuid(1), { tenant: 'b' }));

    expect([a.statusCode, b.statusCode]).toEqual([404, 404]);
  });

  it("keeps a role's messages its own across its sessions (iam mode), and apart from another role's", async () => {
    // Prepare
    const status = memoryStatus();
    const handle = api({ status, auth: { mode: 'iam', apiKeyTenants: {} } });
    const as = (assumedRole: string, session: string) => ({
      identity: iamIdentity({ assumedRole, session }),
      headers: { 'x-api-key': undefined },
    });

    // Act: one session sends; another session of the role and another role read its status.
    const sent = await handle(postMessage(email(), as('billing-producer', 'lambda-1')));
    const { id } = body(sent);
    const sameRole = await handle(getStatus(id, as('billing-producer', 'lambda-2')));
    const otherRole = await handle(getStatus(id, as('search-indexer', 'lambda-1')));

    // Assess
    expect(sent.statusCode).toBe(202);
    expect(status.accepted_[0]!.tenant).toBe(`arn:aws:iam::${CALLER_ACCOUNT}:role/billing-producer`);
    expect(sameRole.statusCode).toBe(200);
    expect(otherRole.statusCode).toBe(404);
  });

  it('takes the tenant from the JWT authorizer in jwt mode', async () => {
    const status = memoryStatus();
    const handle = api({ status, auth: { mode: 'jwt', apiKeyTenants: {} } });

    const res = await handle(
      postMessage(email(), { authorizer: jwtAuthorizer('https://login.example.com/', 'acme') }),
    );
    const keyOnly = await handle(postMessage(email()));

    expect(res.statusCode).toBe(202);
    expect(status.accepted_.map((s) => s.tenant)).toEqual(['https://login.example.com/#acme']);
    expect(keyOnly.statusCode).toBe(403);
  });

  it('logs every line of a request with its tenant, and no line of the next request with it', async () => {
    // Prepare: a logger that writes to the global console (POWERTOOLS_DEV), which records its lines.
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    const logger = new Logger({ serviceName: 'producer', logLevel: 'INFO' });
    vi.unstubAllEnvs();
    const lines: Record<string, unknown>[] = [];
    for (const level of ['info', 'warn'] as const)
      vi.spyOn(console, level).mockImplementation((line: string) => void lines.push(JSON.parse(line)));
    const handle = api({ logger });

    // Act
    await handle(postMessage(email()));
    await handle(postMessage(email(), { tenant: 'b' }));
    await handle(postMessage(email(), { identity: { apiKeyId: 'zz9yy8xx7w' } }));
    vi.restoreAllMocks();

    // Assess
    expect(lines.map((l) => [l.message, l.tenant])).toEqual([
      ['message accepted', A],
      ['message accepted', B],
      ['request refused: no tenant for the caller', undefined],
    ]);
    expect(lines[2]).toMatchObject({ authMode: 'apiKey', apiKeyId: 'zz9yy8xx7w' });
  });

  it('answers 403 Forbidden to a request without a tenant, before reading or sending anything', async () => {
    // Prepare: an API key the stage does not name, and a key-less request.
    const status = memoryStatus();
    const idempotencyKeys = memoryKeys();
    status.rows.set(uuid(1), storedRow(uuid(1), A));
    const handle = api({ status, idempotencyKeys });
    const unknownKey = { identity: { apiKey: 'revoked-key', apiKeyId: 'zz9yy8xx7w' } };
    const noKey = { identity: { apiKey: null, apiKeyId: null } };

    // Act
    const answers = await Promise.all([
      handle(postMessage(email(), { ...unknownKey, headers: { 'Idempotency-Key': 'k' } })),
      handle(postBatch({ messages: [email()] }, noKey)),
      handle(getStatus(uuid(1), unknownKey)),
      handle(postMessage({ type: 'nope' }, noKey)),
    ]);

    // Assess
    for (const res of answers) {
      expect(res.statusCode).toBe(403);
      expect(body(res)).toEqual({
        error: { code: 'Forbidden', message: 'Access denied', details: [], requestId: expect.any(String) },
      });
    }
    expect(sends()).toBe(0);
    expect(idempotencyKeys.rows.size).toBe(0);
    expect(status.accepted_).toEqual([]);
  });
});
