import { catalogFromRegistry } from '../../lambda/producer/catalog';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/config/defaults';
import { SQS_LIMITS } from '../../lib/config/limits';
import { createApi, type ApiDeps } from '../../lambda/producer/api';
import { SQS_MAX_BATCH_BYTES } from '../../lambda/producer/batch-plan';
import {
  DEFAULT_MAX_BODY_BYTES,
  MAX_ENQUEUED_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  TENANT_MAX_BYTES,
} from '../../lambda/shared/constants';
import { isTenantName } from '../../lambda/shared/envelope';
import { deadLetterAttributes } from '../../lambda/shared/dlq-attributes';
import { PROBE_MODES } from '../../lambda/shared/jobs/probe';
import { defaultRegistry } from '../../tools/example-registry';
import * as codec from '../../lambda/shared/message-codec';
import { apiEvent, postBatch, TENANTS } from '../helpers/api-events';
import { silentLogger } from '../helpers/aws-fakes';
import { TEST_AUTH } from '../helpers/producer';
import { FIFO_QUEUE, queueRef, sqsRecord, STANDARD_QUEUE, T0 } from '../helpers/sqs-events';

const sqsMock = mockClient(SQSClient);
const KEY = 'k'.repeat(128);
const REQUEST_ID = 'r'.repeat(256);
/** The longest tenant name: `TENANT_MAX_BYTES` as JSON, quotes included. */
const LONGEST_TENANT = 't'.repeat(TENANT_MAX_BYTES - 2);

function api(overrides: Partial<ApiDeps> = {}) {
  return createApi({
    catalog: catalogFromRegistry(defaultRegistry),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queues: { standardUrl: STANDARD_QUEUE.url, fifoUrl: FIFO_QUEUE.url },
    auth: TEST_AUTH,
    maxBodyBytes: DEFAULTS.api.maxBodyBytes,
    allowedProbeModes: PROBE_MODES,
    logger: silentLogger(),
    now: () => T0,
    ...overrides,
  });
}

const probe = (padding: string) => ({ type: 'probe', payload: { mode: 'succeed', padding } });
/** A single-message body of exactly `bytes` bytes (ASCII padding). */
function bodyOf(bytes: number): string {
  const frame = JSON.stringify(probe('')).length;
  return JSON.stringify(probe('x'.repeat(bytes - frame)));
}
const post = (rawBody: string) =>
  apiEvent({ rawBody, requestId: REQUEST_ID, headers: { 'idempotency-key': KEY } });

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-1', MD5OfMessageBody: 'md5' });
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({
      Id: e.Id,
      MessageId: `sqs-${e.Id}`,
      MD5OfMessageBody: 'm',
    })),
    Failed: [],
  }));
});

describe('message size limits', () => {
  it('states SQS 1 MiB once: queues, codec and batch planner use the same constant', () => {
    expect(SQS_MAX_MESSAGE_BYTES).toBe(1_048_576);
    expect(SQS_LIMITS.maxMessageBytes).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(codec.SQS_MAX_MESSAGE_BYTES).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(SQS_MAX_BATCH_BYTES).toBe(SQS_MAX_MESSAGE_BYTES);
    expect(DEFAULTS.api.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(DEFAULT_MAX_BODY_BYTES).toBe(1_044_480);
  });

  it('encodes a message up to the enqueue limit and refuses one byte more', () => {
    const meta = { correlationId: 'c', now: T0, id: '00000000-0000-4000-8000-000000000001' };
    const base = codec.encodeMessage({ type: 'probe', payload: { padding: '' } }, meta).bytes;
    const at = (n: number) =>
      codec.encodeMessage({ type: 'probe', payload: { padding: 'x'.repeat(n) } }, meta);

    const fits = at(MAX_ENQUEUED_MESSAGE_BYTES - base);

    expect(fits.bytes).toBe(MAX_ENQUEUED_MESSAGE_BYTES);
    expect(() => at(MAX_ENQUEUED_MESSAGE_BYTES - base + 1)).toThrow(codec.MessageTooLargeError);
  });

  it('keeps room for the DLQ copy: a largest message plus its failure attributes fits 1 MiB', () => {
    // Prepare: the largest body the default limit lets through, with the longest attributes and tenant.
    const msg = codec.encodeMessage(
      { type: 'probe', payload: { mode: 'succeed', padding: 'x'.repeat(DEFAULT_MAX_BODY_BYTES - 60) } },
      { correlationId: REQUEST_ID, idempotencyKey: KEY, now: T0, tenant: LONGEST_TENANT },
    );
    const attrs = Object.fromEntries(
      Object.entries(msg.params.MessageAttributes).map(([k, v]) => [k, v.StringValue!]),
    );
    const record = sqsRecord({
      body: msg.params.MessageBody,
      messageAttributes: attrs,
      queue: queueRef('q'.repeat(80)),
    });

    // Act
    const dlqAttrs = deadLetterAttributes(record, 'E'.repeat(5000));

    // Assess
    expect(msg.bytes).toBeLessThanOrEqual(MAX_ENQUEUED_MESSAGE_BYTES);
    expect(codec.messageBytes(msg.params.MessageBody, dlqAttrs)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });

  it('accepts a body of exactly the default limit (longest key, request id and tenant) and answers 413 one byte over', async () => {
    expect(isTenantName(LONGEST_TENANT)).toBe(true);
    expect(isTenantName(`${LONGEST_TENANT}t`)).toBe(false);
    const handle = api({
      auth: { mode: 'apiKey', apiKeyTenants: { [TENANTS.a.apiKeyId]: LONGEST_TENANT } },
    });

    const ok = await handle(post(bodyOf(DEFAULT_MAX_BODY_BYTES)));
    expect(ok.statusCode).toBe(202);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(JSON.parse(sent).tenant).toBe(LONGEST_TENANT);
    sqsMock.resetHistory();
    const tooBig = await handle(post(bodyOf(DEFAULT_MAX_BODY_BYTES + 1)));

    expect(tooBig.statusCode).toBe(413);
    expect(JSON.parse(tooBig.body).error.code).toBe('PayloadTooLarge');
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers 413 for a batch body over the limit and sends nothing', async () => {
    const messages = Array.from({ length: 4 }, () => probe('x'.repeat(DEFAULT_MAX_BODY_BYTES / 4)));

    const res = await api()(postBatch({ messages }));

    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PayloadTooLarge');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('splits a batch so that no SendMessageBatch call carries more than 1 MiB, each entry sent once', async () => {
    // Prepare: ten 300 KB entries (a stage may allow bodies up to 10 MiB).
    const messages = Array.from({ length: 10 }, (_, i) => probe(String(i).repeat(300_000)));

    // Act
    const res = await api({ maxBodyBytes: 10 * 1024 * 1024 })(postBatch({ messages }));

    // Assess
    expect(res.statusCode).toBe(202);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const entries of calls) {
      const total = entries.reduce((n, e) => n + codec.messageBytes(e.MessageBody!, e.MessageAttributes!), 0);
      expect(total).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
    }
    expect(
      calls
        .flat()
        .map((e) => Number(e.Id))
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses only the batch entry too large for one queue message, with PayloadTooLarge', async () => {
    const messages = [probe('a'), probe('b'.repeat(MAX_ENQUEUED_MESSAGE_BYTES)), probe('c')];

    const res = await api({ maxBodyBytes: 10 * 1024 * 1024 })(postBatch({ messages }));

    expect(res.statusCode).toBe(207);
    const results = JSON.parse(res.body).results as { index: number; error?: { code: string } }[];
    expect(results.map((r) => r.error?.code ?? 'ok')).toEqual(['ok', 'PayloadTooLarge', 'ok']);
    expect(
      sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => e.Id)),
    ).toEqual(['0', '2']);
  });
});
