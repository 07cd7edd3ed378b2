import { catalogFromRegistry } from '../../lambda/producer/catalog';
import fc from 'fast-check';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../../lambda/producer/api';
import { ERROR_CODES } from '../../lambda/producer/http';
import { ATTR } from '../../lambda/shared/envelope';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import { defaultRegistry } from '../../tools/example-registry';
import { messageGroupIdOf } from '../../lambda/producer/group-id';
import { deduplicationIdFor } from '../../lambda/producer/idempotency-keys';
import { apiEvent, TENANTS } from '../helpers/api-events';
import { silentLogger } from '../helpers/aws-fakes';
import { TEST_AUTH } from '../helpers/producer';
import { FIFO_QUEUE, STANDARD_QUEUE } from '../helpers/sqs-events';
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/shared/constants';

// Fuzzes the producer's handler in-process where producer-api.property.test.ts does not: the
// headers (content-type spellings, Idempotency-Key values of any Unicode, header-name case, no
// headers at all), base64 bodies, and arbitrarily nested values inside each job type's payload.
// SQS always works here, so: the handler never throws and never answers 5xx; a 4xx carries the
// error contract and enqueues nothing; a 202 enqueues exactly one message, which carries what the
// request said.

const sqsMock = mockClient(SQSClient);
let sequence = 0;
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).callsFake(async (input: SendMessageCommandInput) => ({
    MessageId: `m-${++sequence}`,
    MD5OfMessageBody: 'md5',
    ...(input.QueueUrl === FIFO_QUEUE.url ? { SequenceNumber: String(10n ** 19n + BigInt(sequence)) } : {}),
  }));
});

const handle = createApi({
  catalog: catalogFromRegistry(defaultRegistry),
  sqs: new SQSClient({ region: 'eu-west-1' }),
  queues: { standardUrl: STANDARD_QUEUE.url, fifoUrl: FIFO_QUEUE.url },
  auth: TEST_AUTH,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  allowedProbeModes: ['succeed', 'sleep'],
  logger: silentLogger(),
});

/** SendMessage inputs since the last reset (the producer never batches a single message). */
function sent(): SendMessageCommandInput[] {
  expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  return sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
}

/**
 * Calls the handler once with SQS reset, and checks what holds for every answer: no exception,
 * no 5xx, the error contract on a 4xx with nothing enqueued, exactly one message on a 202.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(event: APIGatewayProxyEvent): Promise<{ res: APIGatewayProxyResult; body: any }> {
  sqsMock.resetHistory();
  let res: APIGatewayProxyResult;
  try {
    res = await handle(event);
  } catch (error) {
    throw new Error(`the handler threw: ${(error as Error).stack}`);
  }
  expect(res.statusCode).toBeLessThan(500);
  expect(res.headers?.['content-type']).toBe('application/json');
  const body = JSON.parse(res.body) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (res.statusCode >= 400) {
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error.code).toBe('string');
    expect(ERROR_CODES[body.error.code as keyof typeof ERROR_CODES]).toBe(res.statusCode);
    expect(typeof body.error.message).toBe('string');
    expect(sent(), 'nothing is enqueued for a refused request').toHaveLength(0);
  } else {
    expect(res.statusCode).toBe(202);
    expect(sent(), 'exactly one message is enqueued for an accepted request').toHaveLength(1);
    expect(body.messageId).toMatch(/^m-\d+$/);
  }
  return { res, body };
}

// ---------------------------------------------------------------- generators

const asciiId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,24}$/);
/** A valid single-message body of every type, on both queues. */
const validEntry: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    type: fc.constant('probe'),
    payload: fc.record(
      {
        mode: fc.constantFrom('succeed', 'sleep'),
        failTimes: fc.nat({ max: 5 }),
        tag: fc.string({ maxLength: 30 }),
      },
      { requiredKeys: ['mode'] },
    ),
  }),
  fc.record({
    type: fc.constant('email.send'),
    payload: fc.record({
      to: fc.constant('a@example.com'),
      subject: fc.string({ minLength: 1, maxLength: 30 }),
      body: fc.string({ maxLength: 60 }),
    }),
  }),
  fc.record({
    type: fc.constant('report.generate'),
    payload: fc.record({
      reportId: asciiId,
      format: fc.constantFrom('csv', 'pdf', 'json'),
      from: fc.constant('2026-01-01'),
      to: fc.constant('2026-02-01'),
    }),
  }),
  fc.record({
    type: fc.constant('activity.recorded'),
    payload: fc.record({ userId: asciiId, action: asciiId }),
    orderingKey: asciiId,
  }),
  fc.record({
    type: fc.constant('probe'),
    payload: fc.record({ mode: fc.constant('succeed') }),
    orderingKey: asciiId,
  }),
);

/** Every spelling of a header name (header names are case-insensitive). */
function anyCase(name: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((ups) => [...name].map((c, i) => (ups[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
}

const ows = fc.constantFrom('', ' ', '  ', '\t');
/** Content types around application/json: case, whitespace, parameters, and near misses. */
const contentType: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        ows,
        anyCase('application/json'),
        ows,
        fc.array(
          fc.tuple(
            fc.constantFrom('charset', 'Charset', 'CHARSET', 'profile', 'q', 'x'),
            fc.constantFrom('utf-8', 'UTF-8', 'latin1', '"utf-8"', '', 'a;b'),
          ),
          { maxLength: 3 },
        ),
      )
      .map(([a, media, b, params]) => `${a}${media}${b}${params.map(([k, v]) => `;${k}=${v}`).join('')}`),
  },
  fc
    .tuple(
      anyCase('application/json'),
      fc.constantFrom('x', '-patch+json', '5', '+', 's', ',text/plain', ' ,', '/'),
    )
    .map(([m, s]) => m + s),
  fc.constantFrom(
    'application/ json',
    'application /json',
    'application',
    'json',
    'text/json',
    'text/plain',
    'application/*',
    '*/*',
    'application/vnd.api+json',
    'application/problem+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
    ';application/json',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** What RFC 9110 means: the media type before any parameter, case-insensitively, is application/json. */
function isJsonMediaType(value: string | undefined): boolean {
  return value !== undefined && value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** Idempotency keys: valid ones, near misses, and any Unicode (astral, surrogates, controls). */
const idempotencyKey: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
  fc.constantFrom(
    '',
    ' ',
    'a b',
    '\t',
    'x'.repeat(128),
    'x'.repeat(129),
    'ключ',
    'key\u0000',
    '😀',
    '\ud800',
    'ok\u00a0',
  ),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 140 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.string({ minLength: 120, maxLength: 140 }),
);

/** SQS's FIFO deduplication id alphabet: 1–128 of alphanumerics and punctuation (printable ASCII). */
function isValidDeduplicationId(value: string): boolean {
  return value.length >= 1 && value.length <= 128 && [...value].every((c) => c >= '!' && c <= '~');
}

/** Arbitrarily nested JSON, a deep chain sometimes (up to thousands of levels), or a plain scalar. */
const nested: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.nat({ max: 100 })), weight: 5 },
  { arbitrary: fc.jsonValue({ maxDepth: 6 }), weight: 4 },
  { arbitrary: fc.anything({ maxDepth: 4, values: [fc.jsonValue({ maxDepth: 1 })] }), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.integer({ min: 10, max: 3000 }),
        fc.constantFrom('array', 'object'),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(([depth, shape, leaf]) => {
        let v: unknown = leaf;
        for (let i = 0; i < depth; i++) v = shape === 'array' ? [v] : { a: v };
        return v;
      }),
    weight: 1,
  },
);

// ---------------------------------------------------------------- properties

describe('producer handler fuzzing (properties)', () => {
  it('accepts exactly the application/json content types, whatever their case, spacing and parameters', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        validEntry,
        fc.option(contentType, { nil: undefined }),
        anyCase('content-type'),
        async (entry, type, name) => {
          const { res } = await call(
            apiEvent({ body: entry, headers: { 'content-type': undefined, [name]: type } }),
          );
          if (isJsonMediaType(type)) {
            expect(res.statusCode, `content-type ${JSON.stringify(type)}`).toBe(202);
            accepted++;
          } else {
            expect(res.statusCode, `content-type ${JSON.stringify(type)}`).toBe(415);
            expect(JSON.parse(res.body).error.code).toBe('UnsupportedMediaType');
          }
        },
      ),
      { numRuns: 400 },
    );
    console.log(`content types: ${accepted} of 400 accepted`);
    expect(accepted).toBeGreaterThan(80);
  });

  it('answers an event without any headers with 415, not an exception', async () => {
    await fc.assert(
      fc.asyncProperty(
        validEntry,
        fc.constantFrom<Record<string, string> | null>(null, {}),
        async (entry, h) => {
          const event = {
            ...apiEvent({ body: entry }),
            headers: h as Record<string, string>,
            multiValueHeaders: {},
          };
          const { res } = await call(event);
          expect(res.statusCode).toBe(415);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('accepts an Idempotency-Key exactly when SQS could use it as a deduplication id, and carries it', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(validEntry, idempotencyKey, anyCase('idempotency-key'), async (entry, key, name) => {
        const { res, body } = await call(apiEvent({ body: entry, headers: { [name]: key } }));
        if (!isValidDeduplicationId(key)) {
          expect(res.statusCode, `key ${JSON.stringify(key)}`).toBe(400);
          expect(body.error.code).toBe('ValidationError');
          expect(body.error.details.map((d: { field: string }) => d.field)).toContain('Idempotency-Key');
          return;
        }
        expect(res.statusCode, `key ${JSON.stringify(key)}: ${res.body}`).toBe(202);
        accepted++;
        const [input] = sent();
        expect(input!.MessageAttributes?.[ATTR.idempotencyKey]?.StringValue).toBe(key);
        if (entry.orderingKey !== undefined) {
          expect(input!.QueueUrl).toBe(FIFO_QUEUE.url);
          // The tenant's own deduplication id and group: another tenant's same key is another message.
          expect(input!.MessageDeduplicationId).toBe(deduplicationIdFor(TENANTS.a.name, key));
          expect(input!.MessageGroupId).toBe(messageGroupIdOf(TENANTS.a.name, entry.orderingKey as string));
        } else {
          expect(input!.QueueUrl).toBe(STANDARD_QUEUE.url);
          expect(input!.MessageDeduplicationId).toBeUndefined();
          expect(input!.MessageGroupId).toBe(messageGroupIdOf(TENANTS.a.name));
        }
      }),
      { numRuns: 400 },
    );
    console.log(`idempotency keys: ${accepted} of 400 accepted`);
    expect(accepted).toBeGreaterThan(50);
  });

  it('answers a valid body the same whether it comes as text or base64', async () => {
    await fc.assert(
      fc.asyncProperty(validEntry, async (entry) => {
        const text = JSON.stringify(entry);
        const plain = await call(apiEvent({ rawBody: text }));
        const encoded = await call(
          apiEvent({ rawBody: Buffer.from(text, 'utf8').toString('base64'), isBase64Encoded: true }),
        );
        expect(plain.res.statusCode).toBe(202);
        expect(encoded.res.statusCode).toBe(202);
        expect(parseEnvelope(sent()[0]!.MessageBody!).payload).toEqual(
          defaultRegistry.parsePayload(entry.type as string, entry.payload),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a payload with nested values exactly when the consumer would, enqueuing what the consumer reads', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        validEntry,
        fc.constantFrom('existing', 'existing', 'existing', 'existing', 'new', 'whole'),
        fc.nat(),
        fc.string({ maxLength: 10 }),
        nested,
        async (entry, where, pick, newKey, value) => {
          // Arrange: one payload field (an existing one, a new one, or the payload itself) is `value`
          const payload = entry.payload as Record<string, unknown>;
          const keys = Object.keys(payload);
          const fuzzed =
            where === 'whole'
              ? value
              : { ...payload, [where === 'existing' ? keys[pick % keys.length]! : newKey]: value };
          const request = { ...entry, payload: fuzzed };
          const text = JSON.stringify(request);
          fc.pre(text !== undefined);

          // Act
          const { res, body } = await call(apiEvent({ rawBody: text }));
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);

          // Assess: the producer agrees with the consumer's validation of the payload as sent
          const wire = JSON.parse(text) as { payload: unknown };
          let consumerAccepts = true;
          let parsed: unknown;
          try {
            parsed = defaultRegistry.parsePayload(entry.type as string, wire.payload);
          } catch {
            consumerAccepts = false;
          }
          if (res.statusCode === 413) {
            expect(text.length).toBeGreaterThan(100_000); // only ever for a body near the limit
            return;
          }
          if (consumerAccepts) {
            expect(res.statusCode, res.body).toBe(202);
            expect(parseEnvelope(sent()[0]!.MessageBody!).payload).toEqual(parsed);
          } else {
            expect(res.statusCode, res.body).toBe(400);
            expect(body.error.code).toBe('ValidationError');
            const fields = (body.error.details as { field: string }[]).map((d) => d.field);
            expect(fields.length, 'the refusal names the fields').toBeGreaterThan(0);
            expect(fields.filter((f) => !/^payload(\.|$)/.test(f))).toEqual([]);
          }
        },
      ),
      { numRuns: 400 },
    );
    console.log(`nested payloads: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(statuses.get(400)).toBeGreaterThan(100);
    expect(statuses.get(202)).toBeGreaterThan(10);
  });
});
