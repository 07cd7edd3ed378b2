import { catalogFromRegistry } from '../../lambda/producer/catalog';
import fc from 'fast-check';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
  type SendMessageBatchCommandInput,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../../lambda/producer/api';
import { ERROR_CODES } from '../../lambda/producer/http';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import { defaultRegistry } from '../../tools/example-registry';
import { tenantGroupOf } from '../../lambda/producer/group-id';
import { apiEvent, TENANTS } from '../helpers/api-events';
import { silentLogger } from '../helpers/aws-fakes';
import { TEST_AUTH } from '../helpers/producer';
import { FIFO_QUEUE, STANDARD_QUEUE } from '../helpers/sqs-events';
import { DEFAULT_MAX_BODY_BYTES, MAX_ENQUEUED_MESSAGE_BYTES } from '../../lambda/shared/constants';

const sqsMock = mockClient(SQSClient);
let sequence = 0;

beforeEach(() => {
  sqsMock.reset();
  installAcceptingQueue();
});

/** SQS accepts everything (the properties check what is sent against SQS's documented limits). */
function installAcceptingQueue() {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).callsFake(async (input: SendMessageCommandInput) => ({
    MessageId: `m-${++sequence}`,
    MD5OfMessageBody: 'md5',
    ...(input.QueueUrl === FIFO_QUEUE.url ? { SequenceNumber: String(10n ** 19n + BigInt(sequence)) } : {}),
  }));
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({
      Id: e.Id,
      MessageId: `m-${++sequence}`,
      MD5OfMessageBody: 'md5',
    })),
    Failed: [],
  }));
}

const handle = createApi({
  catalog: catalogFromRegistry(defaultRegistry),
  sqs: new SQSClient({ region: 'eu-west-1' }),
  queues: { standardUrl: STANDARD_QUEUE.url, fifoUrl: FIFO_QUEUE.url },
  auth: TEST_AUTH,
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  allowedProbeModes: ['succeed', 'sleep'],
  logger: silentLogger(),
});

const SUCCESS = [202, 207];
const REFUSALS = [400, 404, 405, 413, 415];

type Sent = {
  params: SendMessageCommandInput | NonNullable<SendMessageBatchCommandInput['Entries']>[number];
  fifo: boolean;
};

function sentMessages(): Sent[] {
  const singles = sqsMock
    .commandCalls(SendMessageCommand)
    .map((c) => ({ params: c.args[0].input, fifo: c.args[0].input.QueueUrl === FIFO_QUEUE.url }));
  const batched = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => {
    const input = c.args[0].input;
    expect(input.Entries!.length).toBeGreaterThanOrEqual(1);
    expect(input.Entries!.length).toBeLessThanOrEqual(10);
    return input.Entries!.map((params) => ({ params, fifo: input.QueueUrl === FIFO_QUEUE.url }));
  });
  return [...singles, ...batched];
}

const SQS_ID = /^[\x21-\x7e]{1,128}$/;
/** SQS's allowed body characters: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF. */
function sqsCharsOnly(s: string): boolean {
  return [...s].every((ch) => {
    const c = ch.codePointAt(0)!;
    return (
      c === 0x9 ||
      c === 0xa ||
      c === 0xd ||
      (c >= 0x20 && c <= 0xd7ff) ||
      (c >= 0xe000 && c <= 0xfffd) ||
      c >= 0x10000
    );
  });
}

/** What SQS would refuse (InvalidParameterValue and friends) must never reach it. */
function assertSqsWouldAccept({ params, fifo }: Sent) {
  const body = params.MessageBody!;
  expect(sqsCharsOnly(body), 'body has only characters SQS carries').toBe(true);
  const attrs: Record<string, MessageAttributeValue> = params.MessageAttributes ?? {};
  expect(Object.keys(attrs).length).toBeLessThanOrEqual(10);
  for (const [name, a] of Object.entries(attrs)) {
    expect(name).toMatch(/^[A-Za-z0-9_.-]{1,256}$/);
    expect(a.StringValue!.length).toBeGreaterThan(0);
    expect(sqsCharsOnly(a.StringValue!), `attribute ${name} has only characters SQS carries`).toBe(true);
  }
  const size =
    Buffer.byteLength(body) +
    Object.entries(attrs).reduce(
      (n, [k, a]) => n + k.length + a.DataType!.length + Buffer.byteLength(a.StringValue!),
      0,
    );
  expect(size).toBeLessThanOrEqual(MAX_ENQUEUED_MESSAGE_BYTES);
  if (fifo) {
    expect(params.MessageGroupId).toMatch(SQS_ID);
    expect(params.MessageGroupId!.startsWith(`${tenantGroupOf(TENANTS.a.name)}:`)).toBe(true);
    expect(params.MessageDeduplicationId).toMatch(SQS_ID);
    expect(params.DelaySeconds).toBeUndefined();
  } else {
    // SQS fair queues: a standard message's group names its tenant (the events' tenant A).
    expect(params.MessageGroupId).toBe(tenantGroupOf(TENANTS.a.name));
    expect(params.MessageDeduplicationId).toBeUndefined();
    if (params.DelaySeconds !== undefined) {
      expect(Number.isInteger(params.DelaySeconds)).toBe(true);
      expect(params.DelaySeconds).toBeGreaterThanOrEqual(0);
      expect(params.DelaySeconds).toBeLessThanOrEqual(900);
    }
  }
  // The consumer can read what the producer wrote.
  const envelope = parseEnvelope(body);
  expect(envelope.tenant).toBe(TENANTS.a.name);
  expect(() => defaultRegistry.parsePayload(envelope.type, envelope.payload)).not.toThrow();
  expect(attrs.type?.StringValue).toBe(envelope.type);
}

/** The error contract: `{ error: { code, message, details? } }`, the code matching the status. */
function assertContract(res: APIGatewayProxyResult) {
  expect([...SUCCESS, ...REFUSALS]).toContain(res.statusCode);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  const sent = sentMessages();
  if (res.statusCode >= 400) {
    const error = body.error as { code: keyof typeof ERROR_CODES; message: unknown; details?: unknown };
    expect(Object.keys(body)).toEqual(['error']);
    expect(ERROR_CODES[error.code]).toBe(res.statusCode);
    expect(typeof error.message).toBe('string');
    if (error.details !== undefined) {
      for (const d of error.details as { field: unknown; message: unknown }[]) {
        expect(typeof d.field).toBe('string');
        expect(typeof d.message).toBe('string');
      }
    }
    expect(sent, 'nothing is enqueued for a refused request').toHaveLength(0);
  } else {
    expect(sent.length).toBeGreaterThan(0);
    sent.forEach(assertSqsWouldAccept);
  }
}

/**
 * What a batch answer says of each entry, in answer order: a 202/207 lists one result per entry
 * (accepted ones carry a messageId); a 400 refuses the whole batch with one detail per entry
 * (`messages.<index>`). Any other answer has no per-entry outcome, and fails the property.
 */
function entryOutcomes(res: APIGatewayProxyResult): { index: number; accepted: boolean }[] {
  const body = JSON.parse(res.body) as {
    results?: { index: number; messageId?: string }[];
    error?: { details?: { field: string }[] };
  };
  const refused = (body.error?.details ?? []).map((d) => ({
    index: Number(/^messages\.(\d+)$/.exec(d.field)?.[1] ?? NaN),
    accepted: false,
  }));
  const answered = (body.results ?? []).map((r) => ({ index: r.index, accepted: r.messageId !== undefined }));
  return SUCCESS.includes(res.statusCode) ? answered : refused;
}

async function call(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  installAcceptingQueue();
  const res = await handle(event);
  assertContract(res);
  return res;
}

const route = fc.constantFrom('/v1/messages', '/v1/messages/batch');

/** Some string form of a value, even of one `String()` cannot convert (a null-prototype object). */
function textOf(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** `JSON.stringify` of anything, or its `String` form when that is not JSON-able. */
const stringified = fc
  .anything({ withBigInt: true, withMap: true, withSet: true, withDate: true })
  .map((v) => {
    try {
      return JSON.stringify(v) ?? textOf(v);
    } catch {
      return textOf(v);
    }
  });

const anyText = fc.string({ unit: 'binary', maxLength: 140 });
/** Mostly printable ASCII (what SQS ids allow), sometimes any Unicode, spaces and astral characters included. */
const idish = fc.oneof(
  { arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,128}$/), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }), weight: 1 },
);
const text = (maxLength: number) => fc.string({ unit: 'binary', minLength: 1, maxLength });

/** A valid entry of each registered type (ordered types with their orderingKey). */
const validEntry: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    type: fc.constant('email.send'),
    payload: fc.record({
      to: fc.constantFrom('a@example.com', 'first.last+tag@mail.example.org'),
      subject: text(60),
      body: anyText,
    }),
  }),
  fc.record({
    type: fc.constant('report.generate'),
    payload: fc.record({
      reportId: text(40),
      format: fc.constantFrom('csv', 'pdf', 'json'),
      from: fc.constant('2026-01-01'),
      to: fc.constantFrom('2026-01-01', '2026-12-31'),
    }),
  }),
  fc.record({
    type: fc.constant('activity.recorded'),
    payload: fc.record(
      { userId: text(40), action: text(40), seq: fc.nat() },
      { requiredKeys: ['userId', 'action'] },
    ),
    orderingKey: idish,
  }),
  fc
    .record({
      type: fc.constant('probe'),
      payload: fc.record(
        {
          mode: fc.constantFrom('succeed', 'sleep'),
          failTimes: fc.nat({ max: 3 }),
          sleepMs: fc.nat({ max: 10 }),
          tag: anyText,
        },
        { requiredKeys: ['mode'] },
      ),
      route: fc.oneof(
        fc.record({ orderingKey: idish }),
        fc.record({ delaySeconds: fc.integer({ min: 0, max: 900 }) }, { requiredKeys: [] }),
      ),
    })
    .map(({ route, ...e }) => ({ ...e, ...route })),
);

/** One field of an entry set to something arbitrary (possibly still valid). */
const mutation = fc.oneof(
  fc.record({
    field: fc.constantFrom('type', 'payload', 'orderingKey', 'delaySeconds', 'extra'),
    value: fc.jsonValue(),
  }),
  fc.record({
    field: fc.constant('type'),
    value: fc.oneof(fc.constantFrom('nope', '', 'a b', 'probe'), anyText),
  }),
  fc.record({ field: fc.constant('orderingKey'), value: idish }),
  fc.record({
    field: fc.constant('delaySeconds'),
    value: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double()),
  }),
  fc.record({
    field: fc.constant('payload'),
    value: fc.oneof(
      fc.record({
        mode: fc.constantFrom('fail-permanent', 'crash', 'explode'),
        failTimes: fc.integer({ min: -1, max: 1001 }),
      }),
      fc.record({ to: anyText, subject: fc.constant(''), body: anyText }),
      fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
    ),
  }),
);

/** Entries close enough to valid that many are accepted, with every field sometimes wrong. */
const entry = fc.oneof(
  { arbitrary: validEntry, weight: 3 },
  {
    arbitrary: fc
      .tuple(validEntry, fc.array(mutation, { minLength: 1, maxLength: 2 }))
      .map(([e, ms]) => Object.assign({ ...e }, ...ms.map((m) => ({ [m.field]: m.value })))),
    weight: 2,
  },
);
const batchEntry = fc
  .tuple(entry, fc.option(idish, { nil: undefined }))
  .map(([e, key]) => (key === undefined ? e : { ...e, idempotencyKey: key }));

describe('producer API (properties)', () => {
  it('answers any JSON value with 2xx or a 4xx error contract, never throwing or 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json(), route, async (body, path) => {
        await call(apiEvent({ path, rawBody: body }));
      }),
      { numRuns: 150 },
    );
  });

  it('answers anything stringified the same way', async () => {
    await fc.assert(
      fc.asyncProperty(stringified, route, async (body, path) => {
        await call(apiEvent({ path, rawBody: body }));
      }),
      { numRuns: 150 },
    );
  });

  it('answers arbitrary bytes sent base64-encoded the same way', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), route, async (bytes, path) => {
        await call(apiEvent({ path, rawBody: Buffer.from(bytes).toString('base64'), isBase64Encoded: true }));
      }),
      { numRuns: 150 },
    );
  });

  it('accepts or refuses near-valid single messages, and what it enqueues SQS and the consumer accept', async () => {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(entry, fc.option(idish, { nil: undefined }), async (body, key) => {
        const res = await call(apiEvent({ path: '/v1/messages', body, headers: { 'Idempotency-Key': key } }));
        statuses.push(res.statusCode);
        // Accepted: exactly one message enqueued; refused: none.
        expect(sentMessages()).toHaveLength(res.statusCode === 202 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
    // The generator must exercise both sides, or the property proves little.
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(statuses.length / 5);
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThan(statuses.length / 10);
  });

  it('answers near-valid batches with one result per entry, enqueuing each accepted entry once', async () => {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(batchEntry, { minLength: 1, maxLength: 25 }), async (messages) => {
        const res = await call(apiEvent({ path: '/v1/messages/batch', body: { messages } }));
        statuses.push(res.statusCode);
        const outcomes = entryOutcomes(res);
        expect(outcomes.map((o) => o.index)).toEqual(messages.map((_, i) => i));
        expect(sentMessages()).toHaveLength(outcomes.filter((o) => o.accepted).length);
      }),
      { numRuns: 150 },
    );
    expect(statuses.filter((s) => s === 207).length).toBeGreaterThan(statuses.length / 5);
  });

  it('answers any method, path and content type within the contract', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.oneof(route, fc.webPath(), fc.constantFrom('/v1/messages/', '/v1', '/')),
        fc.option(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''), {
          nil: undefined,
        }),
        fc.option(fc.json(), { nil: null }),
        async (method, path, contentType, rawBody) => {
          await call(apiEvent({ method, path, rawBody, headers: { 'content-type': contentType } }));
        },
      ),
      { numRuns: 150 },
    );
  });
});
