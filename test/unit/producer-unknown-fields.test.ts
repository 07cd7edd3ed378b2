import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { postBatch, postMessage } from '../helpers/api-events';
import { producerApi } from '../helpers/producer';

// A field the API does not know is an error of its own entry, named where it sits: a client that
// misspells a field (`orderingkey`, `delay`) learns which entry and which field, and the other
// entries of its batch are sent.

const sqsMock = mockClient(SQSClient);
afterAll(() => sqsMock.restore());
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-single', MD5OfMessageBody: 'md5' });
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({
      Id: e.Id,
      MessageId: `sqs-${e.Id}`,
      MD5OfMessageBody: 'md5',
    })),
    Failed: [],
  }));
});

type Detail = { field: string; message: string };
type ErrorBody = { error: { code: string; details?: Detail[] } };
type BatchBody = { results: ({ index: number; messageId?: string } & Partial<ErrorBody>)[] };
const parse = <T>(res: APIGatewayProxyResult) => JSON.parse(res.body) as T;

const email = (n: number) => ({
  type: 'email.send',
  payload: { to: `user${n}@example.com`, subject: `hello ${n}`, body: 'Hi there' },
});
const sentBodies = () =>
  sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => JSON.parse(e.MessageBody!) as { payload: { to: string } });

describe('producer API: unknown fields of a batch entry', () => {
  it('gives the entry with an unknown field its own ValidationError naming messages.<i>.<field>, and sends the others', async () => {
    // Prepare
    const messages = [email(0), { ...email(1), priority: 'high' }, email(2)];

    // Act
    const res = await producerApi()(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(207);
    const { results } = parse<BatchBody>(res);
    expect(results.map((r) => [r.index, r.error?.code ?? 'sent'])).toEqual([
      [0, 'sent'],
      [1, 'ValidationError'],
      [2, 'sent'],
    ]);
    expect(results[1]!.error!.details).toEqual([
      { field: 'messages.1.priority', message: 'not a field of a message entry' },
    ]);
    expect(sentBodies().map((b) => b.payload.to)).toEqual(['user0@example.com', 'user2@example.com']);
  });

  it('names every unknown field of an entry, after the problems of its known fields', async () => {
    const messages = [
      email(0),
      { type: 'email.send', payload: 'not an object', orderingkey: 'u-1', delay: 5 },
    ];

    const res = await producerApi()(postBatch({ messages }));

    const { results } = parse<BatchBody>(res);
    expect(results[1]!.error).toEqual(
      expect.objectContaining({
        code: 'ValidationError',
        details: [
          { field: 'messages.1.payload', message: 'a JSON object' },
          { field: 'messages.1.orderingkey', message: 'not a field of a message entry' },
          { field: 'messages.1.delay', message: 'not a field of a message entry' },
        ],
      }),
    );
  });

  it('answers 400 with one detail per entry, naming its unknown field, when no entry is valid', async () => {
    const messages = [
      { ...email(0), extra: 1 },
      { ...email(1), idempotency_key: 'k-1' },
    ];

    const res = await producerApi()(postBatch({ messages }));

    expect(res.statusCode).toBe(400);
    expect(parse<ErrorBody>(res).error).toMatchObject({
      code: 'ValidationError',
      details: [
        { field: 'messages.0', message: 'messages.0.extra: not a field of a message entry' },
        { field: 'messages.1', message: 'messages.1.idempotency_key: not a field of a message entry' },
      ],
    });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('takes idempotencyKey in a batch entry only: a single message carries its key in the header', async () => {
    // Act
    const batch = await producerApi()(postBatch({ messages: [{ ...email(0), idempotencyKey: 'k-0' }] }));
    const single = await producerApi()(postMessage({ ...email(0), idempotencyKey: 'k-0' }));

    // Assess
    expect(batch.statusCode).toBe(202);
    expect(single.statusCode).toBe(400);
    expect(parse<ErrorBody>(single).error).toMatchObject({
      code: 'ValidationError',
      message: 'idempotencyKey: not a field of a message',
      details: [{ field: 'idempotencyKey', message: 'not a field of a message' }],
    });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});
