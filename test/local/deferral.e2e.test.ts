import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import { drainView, probe } from '../helpers/local';
import { attemptsOf, startStage, waitFor, type LocalStage } from '../../tools/local-stage';

// Deferral end to end (issue 22): real bundles, fauxqs (SQS + S3), dynalite (DynamoDB). A probe
// with `deferTimes` throws RetryLaterError on its first deliveries: each deferral hides the same
// SQS message until its notBefore without spending an attempt.
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

type Status = {
  id: string;
  status: string;
  attempts: number;
  deferrals: number;
  notBefore: string | null;
  acceptedAt: string;
  updatedAt: string;
  lastError: { name: string; message: string } | null;
  failure: { kind: string; archiveKey: string } | null;
  messageIds: string[];
};

const statusOf = async (id: string): Promise<Status | undefined> => {
  const res = await stage.get(`/v1/messages/${id}`);
  return res.status === 200 ? (res.body as Status) : undefined;
};
const until = (id: string, state: string, timeoutMs = 60_000) =>
  waitFor(
    `${id} ${state}`,
    async () => {
      const s = await statusOf(id);
      return s?.status === state ? s : undefined;
    },
    timeoutMs,
    100,
  );
const envelopeIdOf = (m: Message) => (JSON.parse(m.Body!) as { id: string }).id;

describe('deferral (RetryLaterError)', () => {
  it('defers 3 times by 5 s without spending an attempt, shows deferred with notBefore, then succeeds', async () => {
    // Act
    const sentAt = Date.now();
    const res = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', deferTimes: 3, deferSeconds: 5, tag: 'defer-3' }),
    );
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };

    // Assess: between runs it is `deferred`, with a notBefore about 5 s after its last run.
    const deferred = await until(id, 'deferred', 20_000);
    expect(deferred.attempts).toBe(0);
    expect(deferred.deferrals).toBeGreaterThanOrEqual(1);
    const wait = Date.parse(deferred.notBefore!) - Date.parse(deferred.updatedAt);
    expect(wait).toBeGreaterThanOrEqual(4_900);
    expect(wait).toBeLessThanOrEqual(5_100);

    const done = await until(id, 'succeeded', 60_000);
    const elapsed = Date.now() - sentAt;
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      deferrals: 3,
      notBefore: null,
      lastError: null,
      failure: null,
      messageIds: [messageId],
    });
    // Three waits of 5 s: never run before its notBefore.
    expect(elapsed).toBeGreaterThanOrEqual(15_000);
    expect(Date.parse(done.updatedAt) - Date.parse(done.acceptedAt)).toBeGreaterThanOrEqual(15_000);
    // Four deliveries of the same SQS message: three deferred (reported failed), one succeeded.
    // The row reads succeeded before the invocation that wrote it has ended and been journaled.
    await waitFor('its succeeded run in the journal', () => attemptsOf(stage.local, messageId).succeeded > 0);
    expect(attemptsOf(stage.local, messageId)).toEqual({ attempts: 4, succeeded: 1, failed: 3 });
    // Never dead-lettered.
    const dlq = await drainView(stage.sqs, stage.queue('StandardDlq').url);
    expect(dlq.map(envelopeIdOf)).not.toContain(id);
  }, 90_000);

  it('gives up a deferral past the lane cap at once: archived, dead-lettered, kind deferral-exhausted', async () => {
    // Act: 14 days, past the local stage's cap (queue retention 4 days less 2 hours).
    const res = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', deferTimes: 1, deferSeconds: 1_209_600, tag: 'defer-cap' }),
    );
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };

    // Assess
    const failed = await until(id, 'failed', 30_000);
    expect(failed.failure?.kind).toBe('deferral-exhausted');
    expect(failed.lastError?.name).toBe('DeferralExhausted');
    expect(failed.lastError?.message).toMatch(/past the lane's deferral cap/);
    expect(failed.attempts).toBe(1);
    expect(failed.deferrals).toBe(0);
    const copy = await waitFor('its DLQ copy', async () => {
      const dlq = await drainView(stage.sqs, stage.queue('StandardDlq').url);
      return dlq.find((m) => envelopeIdOf(m) === id);
    });
    expect(copy.MessageAttributes?.[DLQ_ATTR.failureKind]?.StringValue).toBe('deferral-exhausted');
    expect(copy.MessageAttributes?.[DLQ_ATTR.originalMessageId]?.StringValue).toBe(messageId);
    // Its archive record exists under the key the status row names.
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const head = await stage.s3.send(
      new HeadObjectCommand({ Bucket: stage.bucket(), Key: failed.failure!.archiveKey }),
    );
    expect(head.ContentLength).toBeGreaterThan(0);
  }, 60_000);

  it('keeps a FIFO group in order behind its deferred head while another group completes', async () => {
    // Act: group A's head defers once by 5 s; A's second message and group B's message do not.
    const key = `defer-${Date.now()}`;
    const head = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', deferTimes: 1, deferSeconds: 5, tag: 'a1' }, { orderingKey: `${key}-a` }),
    );
    const second = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'a2' }, { orderingKey: `${key}-a` }),
    );
    const other = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'b1' }, { orderingKey: `${key}-b` }),
    );
    for (const r of [head, second, other]) expect(r.status, r.text).toBe(202);

    // Assess
    const b = await until(other.body.id as string, 'succeeded', 30_000);
    const a1 = await until(head.body.id as string, 'succeeded', 60_000);
    const a2 = await until(second.body.id as string, 'succeeded', 30_000);
    expect(a1).toMatchObject({ attempts: 1, deferrals: 1 });
    expect(a2).toMatchObject({ attempts: 1, deferrals: 0 });
    // Group B did not wait for group A's deferral; A's second ran only after its head.
    expect(Date.parse(b.updatedAt)).toBeLessThan(Date.parse(a1.updatedAt));
    expect(Date.parse(a2.updatedAt)).toBeGreaterThan(Date.parse(a1.updatedAt));
    expect(Date.parse(a1.updatedAt) - Date.parse(a1.acceptedAt)).toBeGreaterThanOrEqual(5_000);
  }, 90_000);
});

describe('run later (POST notBefore)', () => {
  it('accepts a message for 20 s ahead as scheduled and first runs it at or after that time', async () => {
    // Act
    const notBefore = new Date(Date.now() + 20_000).toISOString();
    const res = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'later' }, { notBefore }));

    // Assess
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };
    const scheduled = await statusOf(id);
    expect(scheduled).toMatchObject({ status: 'scheduled', notBefore, attempts: 0, deferrals: 0 });
    const done = await until(id, 'succeeded', 60_000);
    expect(done).toMatchObject({ attempts: 1, deferrals: 0, notBefore: null, messageIds: [messageId] });
    // The row reads succeeded before the invocation that wrote it has ended and been journaled.
    const runs = await waitFor('its run in the journal', () => {
      const found = stage.local.journal.list().filter((i) => i.messageIds.includes(messageId));
      return found.length > 0 ? found : undefined;
    });
    for (const run of runs) expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(Date.parse(notBefore));
  }, 90_000);

  it('holds a scheduled FIFO message, unrun, in its group until its time; another group flows', async () => {
    // Act: no per-message delay on FIFO: the consumer hides it again without running it.
    const key = `later-${Date.now()}`;
    const notBefore = new Date(Date.now() + 10_000).toISOString();
    const first = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'f1' }, { orderingKey: `${key}-a`, notBefore }),
    );
    const second = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'f2' }, { orderingKey: `${key}-a` }),
    );
    const other = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'f3' }, { orderingKey: `${key}-b` }),
    );
    for (const r of [first, second, other]) expect(r.status, r.text).toBe(202);

    // Assess
    const b = await until(other.body.id as string, 'succeeded', 30_000);
    const a1 = await until(first.body.id as string, 'succeeded', 60_000);
    const a2 = await until(second.body.id as string, 'succeeded', 30_000);
    expect(a1).toMatchObject({ attempts: 1, deferrals: 0 });
    expect(Date.parse(a1.updatedAt)).toBeGreaterThanOrEqual(Date.parse(notBefore));
    expect(Date.parse(b.updatedAt)).toBeLessThan(Date.parse(notBefore));
    expect(Date.parse(a2.updatedAt)).toBeGreaterThan(Date.parse(a1.updatedAt));
  }, 90_000);

  it('refuses a notBefore past the deferral cap, malformed, or with delaySeconds: 400 naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { notBefore: new Date(Date.now() + 30 * 86_400_000).toISOString() },
        /at most \d+ s after the request/,
      ],
      [{ notBefore: 'tomorrow' }, /RFC 3339/],
      [{ notBefore: '2026-12-05T10:00:00' }, /RFC 3339/],
      [{ notBefore: new Date(Date.now() + 60_000).toISOString(), delaySeconds: 5 }, /not with delaySeconds/],
    ];
    for (const [extra, message] of cases) {
      const res = await stage.post('/v1/messages', probe({ mode: 'succeed' }, extra));
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.details).toEqual([
        { field: 'notBefore', message: expect.stringMatching(message) },
      ]);
    }
  });
});
