import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import * as producerConfig from '../../lambda/producer/config';
import type { ProbePolicy } from '../../lambda/producer/probe-policy';
import { postBatch, postMessage, TENANTS } from '../helpers/api-events';
import { PRODUCER_ENV, producerApi } from '../helpers/producer';
import { T0 } from '../helpers/sqs-events';

const sqsMock = mockClient(SQSClient);

/** The reference app's prod limits, with tenant A as the one probe sender. */
const PROD: ProbePolicy = {
  senders: [TENANTS.a.name],
  maxFailTimes: 2,
  maxSleepMs: 10_000,
  maxFailUntilSeconds: 60,
};
const prodApi = (policy: ProbePolicy = PROD) =>
  producerApi({ allowedProbeModes: ['succeed', 'sleep'], probePolicy: policy });

type ErrorBody = { error: { code: string; message: string; details: { field: string; message: string }[] } };
const bodyOf = (res: APIGatewayProxyResult) => JSON.parse(res.body) as ErrorBody;
const probe = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'probe',
  payload: { mode: 'succeed', ...payload },
  ...extra,
});
function nothingSent() {
  expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-message-1', MD5OfMessageBody: 'md5' });
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({
      Id: e.Id,
      MessageId: `sqs-${e.Id}`,
      MD5OfMessageBody: 'md5',
    })),
    Failed: [],
  }));
});

describe('producer: probe senders and limits of the stage', () => {
  it('accepts a probe within the limits from a probe sender', async () => {
    const res = await prodApi()(postMessage(probe({ failTimes: 2 })));

    expect(res.statusCode).toBe(202);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('answers 403 Forbidden naming type to a caller that is not a probe sender, and sends nothing', async () => {
    const res = await prodApi()(postMessage(probe({}), { tenant: 'b' }));

    expect(res.statusCode).toBe(403);
    expect(bodyOf(res).error).toEqual({
      requestId: expect.any(String) as unknown,
      code: 'Forbidden',
      message: 'type: this caller may not send probes on this stage (it is not one of its probe senders)',
      details: [
        {
          field: 'type',
          message: 'this caller may not send probes on this stage (it is not one of its probe senders)',
        },
      ],
    });
    nothingSent();
  });

  it('answers 403 to every caller when the stage lists no probe sender (probes off)', async () => {
    const res = await prodApi({ ...PROD, senders: [] })(postMessage(probe({})));

    expect(res.statusCode).toBe(403);
    expect(bodyOf(res).error.details).toEqual([{ field: 'type', message: 'probes are off on this stage' }]);
    nothingSent();
  });

  it('answers 400 naming failTimes, sleepMs and failUntil over the limits, and sends nothing', async () => {
    const late = new Date(T0.getTime() + 61_000).toISOString();

    const res = await prodApi()(postMessage(probe({ failTimes: 1000, sleepMs: 900_000, failUntil: late })));

    expect(res.statusCode).toBe(400);
    expect(bodyOf(res).error.code).toBe('ValidationError');
    expect(bodyOf(res).error.details).toEqual([
      { field: 'payload.failTimes', message: 'at most 2 on this stage' },
      { field: 'payload.sleepMs', message: 'at most 10000 on this stage' },
      { field: 'payload.failUntil', message: 'at most 60 s after the request on this stage' },
    ]);
    nothingSent();
  });

  it('takes the limits themselves (failTimes 2, sleepMs 10000, failUntil 60 s after the request)', async () => {
    const edge = new Date(T0.getTime() + 60_000).toISOString();
    const handle = prodApi();

    const a = await handle(postMessage(probe({ failTimes: 2, failUntil: edge })));
    const b = await handle(postMessage(probe({ mode: 'sleep', sleepMs: 10_000 })));

    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
  });

  it('refuses a probe in a FIFO group (orderingKey) by the same rules', async () => {
    const res = await prodApi()(postMessage(probe({ failTimes: 1000 }, { orderingKey: 'user-42' })));

    expect(res.statusCode).toBe(400);
    expect(bodyOf(res).error.details.map((d) => d.field)).toEqual(['payload.failTimes']);
    nothingSent();
  });

  it('refuses only the batch entries over the limits (207), naming each entry', async () => {
    const res = await prodApi()(
      postBatch({ messages: [probe({ failTimes: 1 }), probe({ failTimes: 3 }), probe({ sleepMs: 10_001 })] }),
    );

    expect(res.statusCode).toBe(207);
    const results = (JSON.parse(res.body) as { results: { index: number; error?: ErrorBody['error'] }[] })
      .results;
    expect(results.map((r) => r.error?.details.map((d) => d.field) ?? 'accepted')).toEqual([
      'accepted',
      ['messages.1.payload.failTimes'],
      ['messages.2.payload.sleepMs'],
    ]);
  });

  it('leaves other types alone', async () => {
    const res = await prodApi({ ...PROD, senders: [] })(
      postMessage({ type: 'email.send', payload: { to: 'a@b.co', subject: 's', body: 'b' } }),
    );

    expect(res.statusCode).toBe(202);
  });

  it('reads PROBE_LIMITS at cold start, refusing a malformed one naming the field', () => {
    const limits = { senders: ['ops'], maxFailTimes: 2, maxSleepMs: 10_000, maxFailUntilSeconds: 60 };

    const config = producerConfig.fromEnvironment({ ...PRODUCER_ENV, PROBE_LIMITS: JSON.stringify(limits) });

    expect(config.probePolicy).toEqual(limits);
    expect(() =>
      producerConfig.fromEnvironment({
        ...PRODUCER_ENV,
        PROBE_LIMITS: JSON.stringify({ ...limits, maxSleepMs: -1 }),
      }),
    ).toThrow(/PROBE_LIMITS/);
    expect(() =>
      producerConfig.fromEnvironment({
        ...PRODUCER_ENV,
        PROBE_LIMITS: JSON.stringify({ ...limits, senders: 'ops' }),
      }),
    ).toThrow(/PROBE_LIMITS/);
  });
});
