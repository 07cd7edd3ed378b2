import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { messageGroupIdOf } from '../../lambda/producer/group-id';
import { deduplicationIdFor } from '../../lambda/producer/idempotency-keys';
import { RETRY_AFTER_SECONDS } from '../../lambda/producer/send';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import { defaultRegistry } from '../../tools/example-registry';
import { apiEvent, postBatch, postMessage, TENANTS } from '../helpers/api-events';
import { sqsError } from '../helpers/aws-fakes';
import { producerApi, uuid } from '../helpers/producer';
import { FIFO_QUEUE, STANDARD_QUEUE, T0 } from '../helpers/sqs-events';

const sqsMock = mockClient(SQSClient);

const api = producerApi;
/** The tenant every event comes from (its API key's), and its message groups. */
const TENANT = TENANTS.a.name;
const group = (orderingKey?: string) => messageGroupIdOf(TENANT, orderingKey);

type ErrorBody = { error: { code: string; message: string; details?: { field: string; message: string }[] } };
type BatchBody = {
  results: ({
    index: number;
    messageId?: string;
    queue?: string;
    sequenceNumber?: string;
  } & Partial<ErrorBody>)[];
};
const parse = <T>(res: APIGatewayProxyResult) => JSON.parse(res.body) as T;
const headerOf = (res: APIGatewayProxyResult, name: string) =>
  Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

const email = (n = 1) => ({
  type: 'email.send',
  payload: { to: `user${n}@example.com`, subject: `hello ${n}`, body: 'Hi there' },
});
const activity = (userId: string, seq: number) => ({
  type: 'activity.recorded',
  payload: { userId, action: 'login', seq },
  orderingKey: userId,
});

function sentSingles(): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
}
function sentBatches(): SendMessageBatchCommandInput[] {
  return sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
}
function nothingSent() {
  expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
}

/** SendMessageBatch accepts every entry except those `fail` selects. */
function batchAccepts(fail: (entry: SendMessageBatchRequestEntry) => boolean = () => false) {
  let seq = 1000;
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
    const entries = input.Entries ?? [];
    const fifo = input.QueueUrl === FIFO_QUEUE.url;
    return {
      Successful: entries
        .filter((e) => !fail(e))
        .map((e) => ({
          Id: e.Id,
          MessageId: `sqs-${e.Id}`,
          MD5OfMessageBody: 'md5',
          ...(fifo ? { SequenceNumber: String(++seq) } : {}),
        })),
      Failed: entries
        .filter(fail)
        .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
    };
  });
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-message-1', MD5OfMessageBody: 'md5' });
});

describe('producer API: POST /v1/messages', () => {
  it('accepts a message without orderingKey with 202 and enqueues one envelope on the standard queue', async () => {
    // Prepare
    const handle = api();
    const event = postMessage(email(), { requestId: 'req-abc-123' });

    // Act
    const res = await handle(event);

    // Assess
    expect(res.statusCode).toBe(202);
    expect(parse(res)).toEqual({
      id: uuid(1),
      messageId: 'sqs-message-1',
      queue: 'standard',
      lane: 'standard',
    });
    expect(headerOf(res, 'content-type')).toBe('application/json');
    const [sent] = sentSingles();
    expect(sentSingles()).toHaveLength(1);
    expect(sent!.QueueUrl).toBe(STANDARD_QUEUE.url);
    // SQS fair queues: on a standard queue the message group names the tenant.
    expect(sent!.MessageGroupId).toBe(group());
    expect(sent!.MessageDeduplicationId).toBeUndefined();
    expect(JSON.parse(sent!.MessageBody!)).toEqual({
      v: 1,
      id: uuid(1),
      type: 'email.send',
      payload: email().payload,
      createdAt: T0.toISOString(),
      correlationId: 'req-abc-123',
      tenant: TENANT,
    });
    expect(sent!.MessageAttributes).toEqual({
      type: { DataType: 'String', StringValue: 'email.send' },
      'correlation-id': { DataType: 'String', StringValue: 'req-abc-123' },
    });
  });

  it('enqueues an envelope the consumer can parse and re-validate', async () => {
    // Prepare
    const handle = api();

    // Act
    await handle(postMessage({ type: 'probe', payload: { mode: 'sleep', sleepMs: 5, tag: 'smoke' } }));

    // Assess
    const envelope = parseEnvelope(sentSingles()[0]!.MessageBody!);
    expect(envelope.type).toBe('probe');
    expect(defaultRegistry.parsePayload(envelope.type, envelope.payload)).toMatchObject({
      mode: 'sleep',
      sleepMs: 5,
      tag: 'smoke',
    });
  });

  it('escapes U+FFFE and U+FFFF, which SQS does not carry in a body, so the payload arrives unchanged', async () => {
    // Prepare
    const payload = {
      to: 'a@example.com',
      subject: 'odd \uffff and \ufffe\\\uffff',
      body: '\ud83d\ude00 \u0007',
    };

    // Act
    const res = await api()(postMessage({ type: 'email.send', payload }));

    // Assess
    expect(res.statusCode).toBe(202);
    const body = sentSingles()[0]!.MessageBody!;
    expect(body).not.toMatch(/[\ufffe\uffff]/);
    expect(parseEnvelope(body).payload).toEqual(payload);
  });

  it('passes delaySeconds through to the standard queue', async () => {
    const res = await api()(postMessage({ ...email(), delaySeconds: 120 }));

    expect(res.statusCode).toBe(202);
    expect(sentSingles()[0]!.DelaySeconds).toBe(120);
  });

  it('carries the Idempotency-Key header as the idempotency-key attribute on standard messages', async () => {
    const res = await api()(
      postMessage(email(), { headers: { 'Idempotency-Key': 'order-7781-confirmation' } }),
    );

    expect(res.statusCode).toBe(202);
    const sent = sentSingles()[0]!;
    expect(sent.MessageAttributes?.['idempotency-key']).toEqual({
      DataType: 'String',
      StringValue: 'order-7781-confirmation',
    });
    expect(sent.MessageDeduplicationId).toBeUndefined();
  });

  it("sends a message with orderingKey to the FIFO queue, grouped by the tenant's key and deduplicated by the envelope id", async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'fifo-1', SequenceNumber: '18849496460467696128' });

    // Act
    const res = await api()(postMessage(activity('user-42', 1)));

    // Assess
    expect(res.statusCode).toBe(202);
    expect(parse(res)).toEqual({
      id: uuid(1),
      messageId: 'fifo-1',
      queue: 'fifo',
      lane: 'fifo',
      sequenceNumber: '18849496460467696128',
    });
    const sent = sentSingles()[0]!;
    expect(sent.QueueUrl).toBe(FIFO_QUEUE.url);
    expect(sent.MessageGroupId).toBe(group('user-42'));
    expect(sent.MessageGroupId).toMatch(/^[0-9a-f]{16}:user-42$/);
    expect(sent.MessageDeduplicationId).toBe(uuid(1));
    expect(JSON.parse(sent.MessageBody!).id).toBe(uuid(1));
    expect(sent.DelaySeconds).toBeUndefined();
  });

  it('derives the FIFO deduplication id from the tenant and the Idempotency-Key header (any case)', async () => {
    const res = await api()(
      postMessage(activity('user-42', 1), { headers: { 'idempotency-KEY': 'retry-safe-1' } }),
    );
    const other = await api()(
      postMessage(activity('user-42', 1), { headers: { 'Idempotency-Key': 'retry-safe-1' }, tenant: 'b' }),
    );

    expect([res.statusCode, other.statusCode]).toEqual([202, 202]);
    const [mine, theirs] = sentSingles();
    expect(mine!.MessageDeduplicationId).toBe(deduplicationIdFor(TENANT, 'retry-safe-1'));
    expect(mine!.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    // SQS deduplicates across the queue: the other tenant's same key must not be a duplicate.
    expect(theirs!.MessageDeduplicationId).not.toBe(mine!.MessageDeduplicationId);
    expect(theirs!.MessageGroupId).not.toBe(mine!.MessageGroupId);
    expect(mine!.MessageAttributes?.['idempotency-key']?.StringValue).toBe('retry-safe-1');
  });

  it('accepts a base64-encoded body and a content-type with parameters', async () => {
    const raw = Buffer.from(JSON.stringify(email())).toString('base64');

    const res = await api()(
      apiEvent({
        rawBody: raw,
        isBase64Encoded: true,
        headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      }),
    );

    expect(res.statusCode).toBe(202);
    expect(JSON.parse(sentSingles()[0]!.MessageBody!).payload).toEqual(email().payload);
  });

  it('allows orderingKey with delaySeconds 0', async () => {
    const res = await api()(postMessage({ ...activity('u1', 1), delaySeconds: 0 }));

    expect(res.statusCode).toBe(202);
    expect(sentSingles()[0]!.QueueUrl).toBe(FIFO_QUEUE.url);
  });
});

describe('producer API: refusals', () => {
  async function refused(res: Promise<APIGatewayProxyResult>, status: number, code: string) {
    const r = await res;
    expect(r.statusCode).toBe(status);
    const body = parse<ErrorBody>(r);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(0);
    nothingSent();
    return { res: r, body };
  }
  const fields = (body: ErrorBody) => body.error.details?.map((d) => d.field) ?? [];

  it('answers 400 InvalidJson for a malformed body', async () => {
    await refused(api()(apiEvent({ rawBody: '{"type": "email.send", ' })), 400, 'InvalidJson');
  });

  it('answers 400 InvalidJson for an empty body', async () => {
    await refused(api()(apiEvent({ rawBody: null })), 400, 'InvalidJson');
  });

  it.each([
    ['type is missing', { payload: {} }, 'type'],
    ['type has characters outside the pattern', { type: 'email send', payload: {} }, 'type'],
    ['payload is not an object', { type: 'email.send', payload: [1, 2] }, 'payload'],
    ['orderingKey is empty', { ...email(), orderingKey: '' }, 'orderingKey'],
    ['orderingKey is longer than 128', { ...email(), orderingKey: 'k'.repeat(129) }, 'orderingKey'],
    // SQS accepts only printable ASCII in MessageGroupId; anything else would be a 503 on every retry.
    ['orderingKey has a space', { ...email(), orderingKey: 'user 42' }, 'orderingKey'],
    ['orderingKey is not ASCII', { ...email(), orderingKey: 'josé' }, 'orderingKey'],
    ['delaySeconds is over 900', { ...email(), delaySeconds: 901 }, 'delaySeconds'],
    ['delaySeconds is not an integer', { ...email(), delaySeconds: 1.5 }, 'delaySeconds'],
    [
      'the payload violates its schema',
      { type: 'email.send', payload: { to: 'not-an-email', subject: 's', body: '' } },
      'payload.to',
    ],
    [
      'a payload field is missing',
      { type: 'email.send', payload: { to: 'a@b.co', body: '' } },
      'payload.subject',
    ],
    [
      'an ordered type has no orderingKey',
      { type: 'activity.recorded', payload: { userId: 'u1', action: 'x' } },
      'orderingKey',
    ],
    ['delaySeconds is combined with orderingKey', { ...activity('u1', 1), delaySeconds: 30 }, 'delaySeconds'],
  ])('answers 400 ValidationError naming the field when %s', async (_case, body, field) => {
    const { body: err } = await refused(api()(postMessage(body)), 400, 'ValidationError');

    expect(fields(err)).toContain(field);
    expect(err.error.message).toContain(field);
  });

  it('answers 400 ValidationError naming an unknown top-level field', async () => {
    const { body } = await refused(
      api()(postMessage({ ...email(), priority: 'high' })),
      400,
      'ValidationError',
    );

    expect(body.error.message).toContain('priority');
  });

  it('answers 400 ValidationError for a "__proto__" key in the payload instead of dropping it', async () => {
    // Prepare: JSON.parse makes "__proto__" an own key, which a strict payload schema refuses
    const raw =
      '{"type":"activity.recorded","orderingKey":"u1","payload":{"userId":"u1","action":"x","__proto__":[1]}}';

    // Act
    const { body } = await refused(api()(apiEvent({ rawBody: raw })), 400, 'ValidationError');

    // Assess
    expect(body.error.message).toContain('__proto__');
    expect(fields(body).every((f) => f.startsWith('payload'))).toBe(true);
  });

  it('answers 400 ValidationError for an Idempotency-Key header with spaces or over 128 characters', async () => {
    const a = await refused(
      api()(postMessage(email(), { headers: { 'Idempotency-Key': 'has space' } })),
      400,
      'ValidationError',
    );
    const b = await refused(
      api()(postMessage(email(), { headers: { 'Idempotency-Key': 'k'.repeat(129) } })),
      400,
      'ValidationError',
    );

    expect(fields(a.body)).toEqual(['Idempotency-Key']);
    expect(fields(b.body)).toEqual(['Idempotency-Key']);
  });

  it('answers 400 ValidationError for a probe mode the stage does not allow', async () => {
    const handle = api({ allowedProbeModes: ['succeed', 'sleep'] });

    const { body } = await refused(
      handle(postMessage({ type: 'probe', payload: { mode: 'fail-permanent' } })),
      400,
      'ValidationError',
    );

    expect(fields(body)).toEqual(['payload.mode']);
    expect(body.error.details![0]!.message).toContain('fail-permanent');
  });

  it('accepts a probe mode the stage allows', async () => {
    const res = await api({ allowedProbeModes: ['succeed', 'sleep'] })(
      postMessage({ type: 'probe', payload: { mode: 'succeed' } }),
    );

    expect(res.statusCode).toBe(202);
  });

  it('answers 400 UnknownType for an unregistered type, naming no other type', async () => {
    const { body } = await refused(
      api()(postMessage({ type: 'invoice.pay', payload: {} })),
      400,
      'UnknownType',
    );

    expect(body.error).toEqual({
      code: 'UnknownType',
      message: 'Unknown message type "invoice.pay"',
      details: [{ field: 'type', message: 'not a registered type' }],
      requestId: expect.any(String),
    });
    for (const t of defaultRegistry.types()) expect(JSON.stringify(body)).not.toContain(t);
  });

  it('answers 404 NotFound for an unknown route', async () => {
    await refused(api()(apiEvent({ path: '/v1/mesages', body: email() })), 404, 'NotFound');
  });

  it('answers 405 MethodNotAllowed with an Allow header for a method other than POST', async () => {
    const { res } = await refused(
      api()(apiEvent({ method: 'GET', path: '/v1/messages', rawBody: null })),
      405,
      'MethodNotAllowed',
    );

    expect(headerOf(res, 'allow')).toBe('POST');
  });

  it('answers 413 PayloadTooLarge for a body over the configured limit, counting decoded bytes', async () => {
    // Prepare
    const handle = api({ maxBodyBytes: 1024 });
    const big = { type: 'email.send', payload: { to: 'a@b.co', subject: 's', body: 'x'.repeat(2000) } };

    // Act
    const plain = await refused(handle(postMessage(big)), 413, 'PayloadTooLarge');
    const base64 = await refused(
      handle(
        apiEvent({ rawBody: Buffer.from(JSON.stringify(big)).toString('base64'), isBase64Encoded: true }),
      ),
      413,
      'PayloadTooLarge',
    );

    // Assess
    expect(plain.body.error.message).toContain('1024');
    expect(base64.body.error.message).toContain('1024');
  });

  it('answers 413 PayloadTooLarge when the wrapped message would not fit in one queue message', async () => {
    const handle = api({ maxBodyBytes: 2 * 1024 * 1024 });
    const big = { type: 'probe', payload: { mode: 'succeed', padding: 'x'.repeat(1_000_000) } };
    // 350,000 characters (within the schema's 1 MiB) of 3 bytes each: 1,050,000 bytes once encoded.
    const tooBig = { ...big, payload: { ...big.payload, padding: '€'.repeat(350_000) } };

    const ok = await handle(postMessage(big));
    sqsMock.resetHistory();
    const { body } = await refused(handle(postMessage(tooBig)), 413, 'PayloadTooLarge');

    expect(ok.statusCode).toBe(202);
    expect(fields(body)).toEqual(['payload']);
  });

  it.each([
    ['missing', undefined],
    ['text/plain', 'text/plain'],
    ['form encoded', 'application/x-www-form-urlencoded'],
  ])('answers 415 UnsupportedMediaType when content-type is %s', async (_case, contentType) => {
    const { body } = await refused(
      api()(postMessage(email(), { headers: { 'content-type': contentType } })),
      415,
      'UnsupportedMediaType',
    );

    expect(fields(body)).toEqual(['content-type']);
  });

  it('answers 503 QueueUnavailable with Retry-After when SQS rejects the send', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(sqsError('ServiceUnavailable', 503));

    // Act
    const res = await api()(postMessage(email()));

    // Assess
    expect(res.statusCode).toBe(503);
    expect(parse<ErrorBody>(res).error.code).toBe('QueueUnavailable');
    expect(headerOf(res, 'retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect(sentSingles()).toHaveLength(1);
  });

  it('answers 503 QueueUnavailable when SQS returns no message id', async () => {
    sqsMock.on(SendMessageCommand).resolves({});

    const res = await api()(postMessage(email()));

    expect(res.statusCode).toBe(503);
    expect(headerOf(res, 'retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  });
});

describe('producer API: POST /v1/messages/batch', () => {
  it('answers 202 with one result per entry when all are accepted', async () => {
    // Prepare
    batchAccepts();
    const body = { messages: [email(1), activity('u1', 1), { ...email(2), idempotencyKey: 'batch-key-2' }] };

    // Act
    const res = await api()(postBatch(body));

    // Assess
    expect(res.statusCode).toBe(202);
    expect(parse<BatchBody>(res).results).toEqual([
      { index: 0, id: uuid(1), messageId: 'sqs-0', queue: 'standard', lane: 'standard' },
      {
        index: 1,
        id: uuid(2),
        messageId: 'sqs-1',
        queue: 'fifo',
        lane: 'fifo',
        sequenceNumber: expect.any(String),
      },
      { index: 2, id: uuid(3), messageId: 'sqs-2', queue: 'standard', lane: 'standard' },
    ]);
    const byQueue: Record<string, SendMessageBatchRequestEntry[]> = Object.fromEntries(
      sentBatches().map((b) => [b.QueueUrl, b.Entries!]),
    );
    expect(byQueue[STANDARD_QUEUE.url]!.map((e) => e.Id)).toEqual(['0', '2']);
    expect(byQueue[FIFO_QUEUE.url]!.map((e) => e.Id)).toEqual(['1']);
    expect(byQueue[FIFO_QUEUE.url]![0]!.MessageGroupId).toBe(group('u1'));
    expect(byQueue[STANDARD_QUEUE.url]!.map((e) => e.MessageGroupId)).toEqual([group(), group()]);
    expect(byQueue[STANDARD_QUEUE.url]![1]!.MessageAttributes?.['idempotency-key']?.StringValue).toBe(
      'batch-key-2',
    );
  });

  it("derives an entry's FIFO deduplication id from the tenant and its idempotencyKey", async () => {
    batchAccepts();

    await api()(
      postBatch({ messages: [{ ...activity('u1', 1), idempotencyKey: 'evt-991' }, activity('u1', 2)] }),
    );

    const entries = sentBatches().flatMap((b) => b.Entries!);
    expect(entries[0]!.MessageDeduplicationId).toBe(deduplicationIdFor(TENANT, 'evt-991'));
    expect(entries[1]!.MessageDeduplicationId).toBe(JSON.parse(entries[1]!.MessageBody!).id);
  });

  it('sends at most 10 entries per SendMessageBatch call, each entry exactly once', async () => {
    // Prepare
    batchAccepts();
    const messages = Array.from({ length: 25 }, (_, i) => email(i));

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(202);
    const sizes = sentBatches().map((b) => b.Entries!.length);
    expect(sizes.sort((a, b) => b - a)).toEqual([10, 10, 5]);
    const ids = sentBatches().flatMap((b) => b.Entries!.map((e) => Number(e.Id)));
    expect(ids.sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
  });

  it('keeps request order per orderingKey across chunks, sending FIFO chunks one after another', async () => {
    // Prepare: 23 entries over 3 keys; count concurrent FIFO sends.
    let inFlight = 0;
    let maxInFlight = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Stay in flight until the next turn of the event loop: any send started alongside is counted.
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return {
        Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: '' })),
      };
    });
    const keys = ['alice', 'bob', 'carol'];
    const messages = Array.from({ length: 23 }, (_, i) => activity(keys[i % 3]!, i));

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(202);
    expect(maxInFlight).toBe(1);
    const sent = sentBatches().flatMap((b) => b.Entries!);
    expect(sent).toHaveLength(23);
    for (const key of keys) {
      const seqs = sent
        .filter((e) => e.MessageGroupId === group(key))
        .map((e) => JSON.parse(e.MessageBody!).payload.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs).toHaveLength(key === 'alice' || key === 'bob' ? 8 : 7);
    }
  });

  it('answers 207 with per-entry errors for invalid entries and entries SQS failed', async () => {
    // Prepare
    batchAccepts((e) => e.Id === '3');
    const messages = [
      email(0),
      { type: 'email.send', payload: { to: 'nope', subject: 's', body: '' } },
      { type: 'no.such.type', payload: {} },
      email(3),
      email(4),
    ];

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(207);
    const { results } = parse<BatchBody>(res);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(results[0]).toEqual({
      index: 0,
      id: uuid(1),
      messageId: 'sqs-0',
      queue: 'standard',
      lane: 'standard',
    });
    expect(results[1]!.error).toMatchObject({
      code: 'ValidationError',
      details: [{ field: 'messages.1.payload.to', message: expect.any(String) }],
    });
    expect(results[2]!.error).toMatchObject({ code: 'UnknownType', details: [{ field: 'messages.2.type' }] });
    expect(results[3]!.error).toMatchObject({
      code: 'QueueUnavailable',
      message: expect.stringContaining('InternalError'),
    });
    expect(results[4]).toEqual({
      index: 4,
      id: uuid(3),
      messageId: 'sqs-4',
      queue: 'standard',
      lane: 'standard',
    });
    const sentIds = sentBatches().flatMap((b) => b.Entries!.map((e) => e.Id));
    expect(sentIds.sort()).toEqual(['0', '3', '4']);
  });

  it('puts at most one entry per orderingKey in a FIFO call, so a refused entry is never overtaken in its own call', async () => {
    // Prepare
    batchAccepts();
    const messages = [
      activity('a', 0),
      activity('a', 1),
      activity('b', 2),
      activity('a', 3),
      activity('c', 4),
    ];

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(202);
    const calls = sentBatches().map((c) => c.Entries!.map((e) => Number(e.Id)));
    expect(calls).toEqual([[0, 2, 4], [1], [3]]);
  });

  it('does not send later entries of an orderingKey once an earlier one failed, and keeps other keys flowing', async () => {
    // Prepare: entry 8 (an "a") fails; later "a" entries must not be sent, "b" entries keep going.
    batchAccepts((e) => e.Id === '8');
    const messages = Array.from({ length: 16 }, (_, i) => activity(i % 2 === 0 ? 'a' : 'b', i));

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(207);
    const calls = sentBatches();
    const keyOf = (groupId: string | undefined) => (groupId === group('a') ? 'a' : 'b');
    expect(calls.map((c) => c.Entries!.map((e) => keyOf(e.MessageGroupId)).join(''))).toEqual([
      'ab',
      'ab',
      'ab',
      'ab',
      'ab',
      'b',
      'b',
      'b',
    ]);
    const { results } = parse<BatchBody>(res);
    for (const r of results) {
      const heldBack = r.index % 2 === 0 && r.index >= 8;
      if (heldBack) expect(r.error?.code, `entry ${r.index}`).toBe('QueueUnavailable');
      else expect(r.messageId, `entry ${r.index}`).toBe(`sqs-${r.index}`);
    }
    expect(results[10]!.error!.message).toContain('orderingKey "a"');
  });

  it('marks every entry of a FIFO call that fails, and holds back later entries of their keys', async () => {
    // Prepare: the first FIFO call is refused outright.
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      if (input.QueueUrl === FIFO_QUEUE.url && call++ === 0) throw sqsError('RequestThrottled', 400);
      return {
        Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: '' })),
      };
    });
    const messages = [activity('a', 0), activity('a', 1), activity('z', 2), email(3)];

    // Act
    const res = await api()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(207);
    const { results } = parse<BatchBody>(res);
    expect(results.slice(0, 3).map((r) => r.error?.code)).toEqual([
      'QueueUnavailable',
      'QueueUnavailable',
      'QueueUnavailable',
    ]);
    expect(results[1]!.error!.message).toContain('orderingKey "a"');
    expect(results[3]!.messageId).toBe('m3');
    const fifoCalls = sentBatches().filter((b) => b.QueueUrl === FIFO_QUEUE.url);
    expect(fifoCalls.map((c) => c.Entries!.map((e) => e.Id))).toEqual([['0', '2']]);
  });

  it('answers 503 with Retry-After when the queue accepted no entry', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(sqsError());

    const res = await api()(postBatch({ messages: [email(0), activity('u', 1)] }));

    expect(res.statusCode).toBe(503);
    expect(parse<ErrorBody>(res).error.code).toBe('QueueUnavailable');
    expect(headerOf(res, 'retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  });

  it('answers 400 ValidationError and sends nothing when no entry is valid', async () => {
    // Act
    const res = await api()(
      postBatch({ messages: [{ type: 'email.send', payload: {} }, { type: 'nope', payload: {} }, 42] }),
    );

    // Assess
    expect(res.statusCode).toBe(400);
    const body = parse<ErrorBody>(res);
    expect(body.error.code).toBe('ValidationError');
    expect(body.error.details!.map((d) => d.field)).toEqual(['messages.0', 'messages.1', 'messages.2']);
    nothingSent();
  });

  it.each([
    ['messages is empty', { messages: [] }],
    ['messages has over 100 entries', { messages: Array.from({ length: 101 }, (_, i) => email(i)) }],
    ['messages is missing', { entries: [email()] }],
    ['the body is an array', [email()]],
  ])('answers 400 ValidationError when %s', async (_case, body) => {
    const res = await api()(postBatch(body));

    expect(res.statusCode).toBe(400);
    expect(parse<ErrorBody>(res).error.code).toBe('ValidationError');
    nothingSent();
  });

  it('applies the stage probe-mode rule per entry', async () => {
    batchAccepts();

    const res = await api({ allowedProbeModes: ['succeed'] })(
      postBatch({
        messages: [
          { type: 'probe', payload: { mode: 'succeed' } },
          { type: 'probe', payload: { mode: 'crash' } },
        ],
      }),
    );

    expect(res.statusCode).toBe(207);
    const { results } = parse<BatchBody>(res);
    expect(results[1]!.error!.details).toEqual([
      { field: 'messages.1.payload.mode', message: expect.stringContaining('crash') },
    ]);
  });
});
