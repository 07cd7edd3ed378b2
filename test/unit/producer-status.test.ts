import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  requestHash,
  type Claim,
  type IdempotencyKeys,
  type StoredResponse,
} from '../../lambda/producer/idempotency-keys';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import type { MessageStatus, StatusStore, StatusSubject } from '../../lambda/shared/status/types';
import { apiEvent, postBatch, postMessage } from '../helpers/api-events';
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

/** Keys in memory with the same rules as the DynamoDB records. */
function memoryKeys(): IdempotencyKeys & {
  rows: Map<string, { hash: string; response?: StoredResponse }>;
  released: string[];
} {
  const rows = new Map<string, { hash: string; response?: StoredResponse }>();
  const released: string[] = [];
  return {
    rows,
    released,
    async claim(key, hash): Promise<Claim> {
      const row = rows.get(key);
      if (!row) {
        rows.set(key, { hash });
        return { outcome: 'claimed' };
      }
      if (row.hash !== hash) return { outcome: 'reused' };
      if (row.response) return { outcome: 'replay', response: row.response };
      return { outcome: 'in-progress', retryAfterSeconds: 7 };
    },
    async complete(key, response) {
      rows.get(key)!.response = response;
    },
    async release(key) {
      released.push(key);
      rows.delete(key);
    },
  };
}

function memoryStatus(): StatusStore & { accepted_: StatusSubject[]; rows: Map<string, MessageStatus> } {
  const accepted_: StatusSubject[] = [];
  const rows = new Map<string, MessageStatus>();
  const noop = async () => undefined;
  return {
    accepted_,
    rows,
    accepted: async (s) => {
      accepted_.push(s);
    },
    processing: noop,
    succeeded: noop,
    retrying: noop,
    failed: noop,
    get: async (id) => rows.get(id),
  };
}

const api = producerApi;

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
      },
    ]);
  });

  it('has no base path off the execute-api domain (local mode, custom domains)', async () => {
    const res = await api()(
      postMessage(email(), { headers: { Host: '127.0.0.1:3000', 'X-Forwarded-Proto': 'http' } }),
    );

    expect(res.headers?.location).toBe(`http://127.0.0.1:3000/v1/messages/${uuid(1)}`);
  });

  it('serves GET /v1/messages/{id}: 200 with the row, 404 unknown, 400 not a UUID, 405 other methods', async () => {
    const status = memoryStatus();
    const row = { id: uuid(9), status: 'succeeded' } as unknown as MessageStatus;
    status.rows.set(uuid(9), row);
    const handle = api({ status });
    const get = (id: string, method = 'GET') =>
      handle(
        apiEvent({
          method,
          path: `/v1/messages/${id}`,
          resource: '/v1/messages/{id}',
          pathParameters: { id },
        } as never),
      );

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

  it('refuses the same key with another body (409 IdempotencyKeyReused) and one in flight (409 + Retry-After)', async () => {
    const idempotencyKeys = memoryKeys();
    idempotencyKeys.rows.set('busy', { hash: 'x' });
    const handle = api({ idempotencyKeys });
    await handle(withKey(email(1)));

    const reused = await handle(withKey(email(2)));
    const inFlight = await handle(withKey(email(1), 'busy'));

    expect(reused.statusCode).toBe(409);
    expect(body(reused).error).toMatchObject({
      code: 'IdempotencyKeyReused',
      details: [{ field: 'Idempotency-Key' }],
    });
    expect(inFlight.statusCode).toBe(409);
    expect(sends()).toBe(1);
    expect(idempotencyKeys.rows.get('busy')!.hash).toBe('x');
  });

  it('answers RequestInProgress with Retry-After while the same request is in flight', async () => {
    const idempotencyKeys = memoryKeys();
    const handle = api({ idempotencyKeys });
    idempotencyKeys.rows.set('k-1', { hash: requestHash('single', email()) });

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
    expect(idempotencyKeys.released).toEqual(['k-1']);
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
