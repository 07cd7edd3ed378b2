import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { catalogFromRegistry } from '../../lambda/producer/catalog';
import { ApiError } from '../../lambda/producer/http';
import {
  childId,
  FollowUpJobNotSent,
  InvalidFollowUpJob,
  SqsChildEnqueuer,
  type SqsChildEnqueuerDeps,
} from '../../lambda/shared/consumer/children';
import type { Envelope } from '../../lambda/shared/envelope';
import { PermanentError, RetryableError } from '../../lambda/shared/errors';
import { JobRegistry } from '../../lambda/shared/jobs/registry';
import { defineJob, type JobDefinition } from '../../lambda/shared/jobs/types';
import type { StatusSubject } from '../../lambda/shared/status/types';
import { defaultRegistry } from '../../tools/example-registry';
import { silentLogger } from '../helpers/aws-fakes';

const PARENT: Envelope = {
  v: 1,
  id: '9b57748c-c30c-40cf-93a1-89d5cee9db8e',
  type: 'probe',
  payload: { mode: 'succeed' },
  createdAt: '2026-12-05T10:00:00.000Z',
  correlationId: 'req-parent',
  tenant: 'acme',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('follow-up job ids', () => {
  it('are UUIDs derived from the parent and the call: the same on every run, different per call and parent', () => {
    const ids = [0, 1, 2].map((n) => childId(PARENT.id, n));
    expect(ids.every((id) => UUID.test(id))).toBe(true);
    expect([0, 1, 2].map((n) => childId(PARENT.id, n))).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
    expect(childId('3c1f2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b', 0)).not.toBe(ids[0]);
  });
});

describe('follow-up job ids: the derivation', () => {
  it('is the first 16 bytes of SHA-256("event-pipeline/child/<parent id>/<n>") with the version 8 and variant bits', () => {
    // SHA-256 of "event-pipeline/child/9b57748c-c30c-40cf-93a1-89d5cee9db8e/0" starts 722c4c89 7a08 84bb 12e5
    // 4035b763ce58: byte 6 (0x84) becomes 0x84 (version 8), byte 8 (0x12) becomes 0x92 (variant 10).
    // Pinned: a deployment that changed it would give a retried parent's children new ids.
    expect(childId(PARENT.id, 0)).toBe('722c4c89-7a08-84bb-92e5-4035b763ce58');
    expect(childId(PARENT.id, 1)).toBe('b9169a95-b905-8acf-9707-58ca22aab773');
  });
});

describe('ctx.enqueue over SQS', () => {
  const sqs = mockClient(SQSClient);
  let sent: number;
  beforeEach(() => {
    sqs.reset();
    sent = 0;
    sqs.on(SendMessageCommand).callsFake(() => ({ MessageId: `sqs-${++sent}` }));
  });
  const status = () => {
    const accepted: { subject: StatusSubject; options: unknown }[] = [];
    const children: [string, string][] = [];
    return {
      accepted,
      children,
      store: {
        accepted: async (subject: StatusSubject, options?: unknown) => {
          accepted.push({ subject, options });
        },
        childEnqueued: async (parentId: string, id: string) => {
          children.push([parentId, id]);
        },
      },
    };
  };
  const enqueuer = (s = status(), more: Partial<SqsChildEnqueuerDeps> = {}) =>
    new SqsChildEnqueuer({
      catalog: catalogFromRegistry(defaultRegistry),
      sqs: new SQSClient({}),
      queues: { standardUrl: 'https://sqs/standard', fifoUrl: 'https://sqs/fifo.fifo', lanes: {} },
      allowedProbeModes: ['succeed', 'fail-permanent'],
      status: s.store,
      now: () => new Date('2026-12-05T10:00:05.000Z'),
      ...more,
    });

  it('sends the child with the parent correlation id, tenant and id, writes its row and the parent list', async () => {
    const s = status();
    const enqueue = enqueuer(s).forParent(PARENT, silentLogger());

    const first = await enqueue('probe', { mode: 'succeed', tag: 'a' });
    const second = await enqueue('email.send', { to: 'ada@example.org', subject: 's', body: 'b' });

    expect(first).toEqual({ id: childId(PARENT.id, 0), lane: 'standard' });
    expect(second).toEqual({ id: childId(PARENT.id, 1), lane: 'standard' });
    const input = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(input.QueueUrl).toBe('https://sqs/standard');
    expect(JSON.parse(input.MessageBody!)).toEqual({
      v: 1,
      id: childId(PARENT.id, 0),
      type: 'probe',
      payload: { mode: 'succeed', tag: 'a', failTimes: 0, sleepMs: 0 },
      createdAt: '2026-12-05T10:00:05.000Z',
      correlationId: 'req-parent',
      tenant: 'acme',
      parentId: PARENT.id,
    });
    expect(s.accepted.map((a) => a.subject)).toEqual([
      expect.objectContaining({
        id: childId(PARENT.id, 0),
        type: 'probe',
        lane: 'standard',
        messageId: 'sqs-1',
        correlationId: 'req-parent',
        parentId: PARENT.id,
        tenant: 'acme',
      }),
      expect.objectContaining({ id: childId(PARENT.id, 1), type: 'email.send', messageId: 'sqs-2' }),
    ]);
    expect(s.children).toEqual([
      [PARENT.id, childId(PARENT.id, 0)],
      [PARENT.id, childId(PARENT.id, 1)],
    ]);
  });

  it('a parent without a tenant, notBefore as a Date: the child due at its ISO time, no tenant, its row accepted with it', async () => {
    const s = status();
    const { tenant: _, ...untenanted } = PARENT;
    const enqueue = enqueuer(s).forParent(untenanted, silentLogger());

    const out = await enqueue(
      'probe',
      { mode: 'succeed' },
      { notBefore: new Date('2026-12-05T10:30:00.000Z') },
    );

    const id = childId(PARENT.id, 0);
    expect(out).toEqual({ id, lane: 'standard' });
    const input = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(input.DelaySeconds).toBe(900);
    expect(JSON.parse(input.MessageBody!)).toEqual({
      v: 1,
      id,
      type: 'probe',
      payload: { mode: 'succeed', failTimes: 0, sleepMs: 0 },
      createdAt: '2026-12-05T10:00:05.000Z',
      correlationId: 'req-parent',
      notBefore: '2026-12-05T10:30:00.000Z',
      parentId: PARENT.id,
    });
    expect(s.accepted).toStrictEqual([
      {
        subject: {
          id,
          type: 'probe',
          queue: 'standard',
          lane: 'standard',
          messageId: 'sqs-1',
          acceptedAt: '2026-12-05T10:00:05.000Z',
          correlationId: 'req-parent',
          parentId: PARENT.id,
        },
        options: { notBefore: '2026-12-05T10:30:00.000Z' },
      },
    ]);
  });

  it('passes delaySeconds to the queue, and writes the row with no notBefore', async () => {
    const s = status();
    const enqueue = enqueuer(s).forParent(PARENT, silentLogger());

    await enqueue('probe', { mode: 'succeed' }, { delaySeconds: 30 });

    const input = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(input.DelaySeconds).toBe(30);
    expect(JSON.parse(input.MessageBody!)).not.toHaveProperty('notBefore');
    expect(s.accepted.map((a) => a.options)).toStrictEqual([{}]);
  });

  it('a retried parent (a new run) sends the same ids again; FIFO children deduplicate on them', async () => {
    const e = enqueuer();
    const run1 = e.forParent(PARENT, silentLogger());
    const run2 = e.forParent(PARENT, silentLogger());

    const a = await run1('activity.recorded', { userId: 'u-1', action: 'run' }, { orderingKey: 'u-1' });
    const b = await run2('activity.recorded', { userId: 'u-1', action: 'run' }, { orderingKey: 'u-1' });

    expect(a.id).toBe(b.id);
    const inputs = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => [i.QueueUrl, i.MessageDeduplicationId])).toEqual([
      ['https://sqs/fifo.fifo', a.id],
      ['https://sqs/fifo.fifo', a.id],
    ]);
    expect(inputs[0]!.MessageGroupId).toMatch(/^[0-9a-f]{16}:u-1$/);
  });

  it('refuses what the API refuses, naming the field, as a permanent failure of the parent', async () => {
    const enqueue = enqueuer().forParent(PARENT, silentLogger());

    const unknown = enqueue('no.such.type', {});
    await expect(unknown).rejects.toBeInstanceOf(InvalidFollowUpJob);
    await expect(unknown).rejects.toThrow('ctx.enqueue("no.such.type"): Unknown message type "no.such.type"');
    const invalid = enqueue('probe', { mode: 'crash' });
    await expect(invalid).rejects.toBeInstanceOf(PermanentError);
    await expect(invalid).rejects.toMatchObject({
      details: [expect.objectContaining({ field: 'payload.mode' })],
    });
    const unordered = enqueue('activity.recorded', { userId: 'u-1', action: 'run' });
    await expect(unordered).rejects.toMatchObject({
      details: [expect.objectContaining({ field: 'orderingKey' })],
    });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('logs each child sent: its id, type and lane', async () => {
    const log = silentLogger();
    const info = vi.spyOn(log, 'info');

    await enqueuer().forParent(PARENT, log)('probe', { mode: 'succeed' });

    expect(info.mock.calls).toEqual([
      ['follow-up job enqueued', { childId: childId(PARENT.id, 0), childType: 'probe', lane: 'standard' }],
    ]);
  });

  it("applies the stage's probe policy to the parent's tenant, as the API does to the caller", async () => {
    const probePolicy = { senders: ['acme'], maxFailTimes: 2, maxSleepMs: 0, maxFailUntilSeconds: 0 };
    const e = enqueuer(status(), { probePolicy });

    await expect(e.forParent(PARENT, silentLogger())('probe', { mode: 'succeed' })).resolves.toEqual({
      id: childId(PARENT.id, 0),
      lane: 'standard',
    });
    await expect(
      e.forParent({ ...PARENT, tenant: 'other' }, silentLogger())('probe', { mode: 'succeed' }),
    ).rejects.toMatchObject({
      details: [
        {
          field: 'type',
          message: 'this caller may not send probes on this stage (it is not one of its probe senders)',
        },
      ],
    });
    await expect(
      e.forParent(PARENT, silentLogger())('probe', { mode: 'succeed', failTimes: 3 }),
    ).rejects.toMatchObject({
      details: [{ field: 'payload.failTimes', message: 'at most 2 on this stage' }],
    });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it("bounds notBefore by the lane's deferral cap", async () => {
    const e = enqueuer(status(), { maxNotBeforeSeconds: { standard: 60 } });
    const enqueue = e.forParent(PARENT, silentLogger());

    const late = enqueue('probe', { mode: 'succeed' }, { notBefore: '2026-12-05T10:02:05.000Z' });

    await expect(late).rejects.toBeInstanceOf(InvalidFollowUpJob);
    await expect(late).rejects.toMatchObject({ details: [expect.objectContaining({ field: 'notBefore' })] });
    await expect(
      enqueue('probe', { mode: 'succeed' }, { notBefore: '2026-12-05T10:01:05.000Z' }),
    ).resolves.toMatchObject({ lane: 'standard' });
  });

  it('refuses a child too large for the queue as a permanent failure of the parent, naming it', async () => {
    const blob = defineJob({
      type: 'blob.store',
      description: 'takes any string',
      schema: z.object({ data: z.string() }),
      ordered: false,
      async handle() {},
    }) as unknown as JobDefinition;
    const e = enqueuer(status(), { catalog: catalogFromRegistry(new JobRegistry([blob])) });

    const big = e.forParent(PARENT, silentLogger())('blob.store', { data: 'x'.repeat(1_100_000) });

    await expect(big).rejects.toBeInstanceOf(InvalidFollowUpJob);
    await expect(big).rejects.toThrow(/^ctx\.enqueue\("blob\.store"\): /);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('a queue that does not take the child fails the parent retryably (its retry sends the same id)', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('throttled'));
    const s = status();
    const enqueue = enqueuer(s).forParent(PARENT, silentLogger());

    const out = enqueue('probe', { mode: 'succeed' });

    await expect(out).rejects.toBeInstanceOf(FollowUpJobNotSent);
    await expect(out).rejects.toBeInstanceOf(RetryableError);
    await expect(out).rejects.toThrow('ctx.enqueue("probe"): the queue did not take the message');
    // The cause is `sendOne`'s error for a queue that did not take the message.
    await expect(out).rejects.toMatchObject({ cause: expect.any(ApiError) });
    expect(s.accepted).toEqual([]);
    expect(s.children).toEqual([]);
  });
});
