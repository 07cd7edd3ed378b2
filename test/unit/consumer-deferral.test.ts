import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConsumerSettings } from '../../lambda/shared/consumer';
import { MAX_DEFERRAL_STEP_SECONDS } from '../../lambda/shared/consumer/deferral';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import { ATTR, createEnvelope } from '../../lambda/shared/envelope';
import type { StatusStore } from '../../lambda/shared/status/types';
import { FakeAws } from '../helpers/aws-fakes';
import { accountedMemo, consumer, failedIds, STANDARD_SETTINGS } from '../helpers/consumer';
import { fakeContext, jobRecord, sqsRecord, T0 } from '../helpers/sqs-events';

// The consumer's clock in `consumer()` is T0 + 60 s; records were enqueued at T0.
const NOW = T0.getTime() + 60_000;
const aws = new FakeAws();
beforeEach(() => aws.reset());

/** 5 attempts, 50 receives (the stages' ratio), a cap of one day. */
const settings: ConsumerSettings = {
  ...STANDARD_SETTINGS,
  maxReceiveCount: 50,
  maxAttempts: 5,
  maxDeferralSeconds: 86_400,
};

/** A status store noting each transition with what matters here. */
function transitions() {
  const log: unknown[] = [];
  const note =
    (name: string) =>
    async (...args: unknown[]) => {
      log.push([name, ...args.slice(1)]);
    };
  const store: StatusStore = {
    accepted: note('accepted'),
    processing: note('processing'),
    succeeded: note('succeeded'),
    retrying: note('retrying'),
    deferred: note('deferred'),
    childEnqueued: note('childEnqueued'),
    failed: async (_s, f, e) => {
      log.push(['failed', f.kind, (e as Error).name]);
    },
    get: async () => undefined,
  };
  return { log, store };
}

const deferringProbe = (deferSeconds: number, receiveCount = 1) =>
  jobRecord({ type: 'probe', payload: { mode: 'succeed', deferTimes: 1, deferSeconds }, receiveCount });

describe('consumer: deferral', () => {
  it('defers a record whose handler says so: no attempt spent, hidden until notBefore, reported failed', async () => {
    // Prepare
    const { log, store } = transitions();
    const record = deferringProbe(120);

    // Act
    const res = await consumer({ settings, status: store }).run([record]);

    // Assess
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([120]);
    expect(aws.sends()).toEqual([]);
    expect(aws.archived()).toEqual([]);
    expect(log).toEqual([
      ['processing'],
      ['deferred', { notBefore: new Date(NOW + 120_000).toISOString(), ran: true }],
    ]);
  });

  it('hides a long deferral one step at a time (SQS allows 12 h of visibility per receive)', async () => {
    const { log, store } = transitions();
    const record = deferringProbe(2 * 86_400 - 3600);

    await consumer({ settings: { ...settings, maxDeferralSeconds: 3 * 86_400 }, status: store }).run([
      record,
    ]);

    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([MAX_DEFERRAL_STEP_SECONDS]);
    expect(log.at(-1)).toEqual([
      'deferred',
      { notBefore: new Date(NOW + (2 * 86_400 - 3600) * 1000).toISOString(), ran: true },
    ]);
  });

  it('gives up a deferral past the cap: archived and dead-lettered as deferral-exhausted, acknowledged', async () => {
    const { log, store } = transitions();
    const record = deferringProbe(2 * 86_400);

    const res = await consumer({ settings, status: store }).run([record]);

    expect(failedIds(res)).toEqual([]);
    const [sent] = aws.sends();
    expect(sent?.MessageAttributes?.[DLQ_ATTR.failureKind]?.StringValue).toBe('deferral-exhausted');
    expect(sent?.MessageAttributes?.[DLQ_ATTR.errorName]?.StringValue).toBe('DeferralExhausted');
    expect(aws.archived().map((a) => [a.failure.kind, a.failure.errorName])).toEqual([
      ['deferral-exhausted', 'DeferralExhausted'],
    ]);
    expect(log).toEqual([['processing'], ['failed', 'deferral-exhausted', 'DeferralExhausted']]);
  });

  it("gives up a deferral the queue's receives cannot hold with the attempts left", async () => {
    // Prepare: receive 46 of 50, its 45 earlier receives all deferrals (its row): 5 attempts left,
    // and one more receive would leave too few for them.
    const record = jobRecord({
      type: 'probe',
      payload: { mode: 'succeed', deferTimes: 100, deferSeconds: 5 },
      receiveCount: 46,
    });
    const runStates = {
      read: async () =>
        new Map([
          [
            record.messageId,
            { runs: 0, receivesAccounted: 45, status: 'deferred', runInProgress: false, failure: undefined },
          ],
        ]),
    };

    // Act
    const res = await consumer({ settings, runStates }).run([record]);

    // Assess
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends()[0]?.MessageAttributes?.[DLQ_ATTR.failureKind]?.StringValue).toBe('deferral-exhausted');
    expect(aws.archived()[0]?.failure.errorMessage).toMatch(/receives would run out \(receive 46 of 50/);
  });

  it('defers the same record one receive earlier, with room for its attempts', async () => {
    const record = jobRecord({
      type: 'probe',
      payload: { mode: 'succeed', deferTimes: 100, deferSeconds: 5 },
      receiveCount: 45,
    });
    const runStates = {
      read: async () =>
        new Map([
          [
            record.messageId,
            { runs: 0, receivesAccounted: 44, status: 'deferred', runInProgress: false, failure: undefined },
          ],
        ]),
    };

    const res = await consumer({ settings, runStates }).run([record]);

    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([5]);
    expect(aws.sends()).toEqual([]);
  });

  it('holds a scheduled message without running it until its notBefore, keeping it scheduled', async () => {
    // Prepare: a message its caller scheduled an hour after T0; running it would dead-letter it.
    const { log, store } = transitions();
    const notBefore = new Date(T0.getTime() + 3_600_000).toISOString();
    const envelope = {
      ...createEnvelope(
        { type: 'probe', payload: { mode: 'fail-permanent' }, correlationId: 'req-1' },
        T0,
        randomUUID(),
      ),
      notBefore,
    };
    const record = sqsRecord({
      body: JSON.stringify(envelope),
      messageAttributes: { [ATTR.type]: 'probe', [ATTR.correlationId]: 'req-1' },
    });

    // Act
    const res = await consumer({ settings, status: store }).run([record]);

    // Assess: not run (no processing, no DLQ), hidden for the 59 minutes left.
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([3540]);
    expect(aws.sends()).toEqual([]);
    expect(log).toEqual([['deferred', { notBefore, ran: false, state: 'scheduled' }]]);
  });

  it("defers a record that finds no token in the lane's rate limit, without running it", async () => {
    // Prepare: the bucket's next token is 1.5 s away; running the probe would dead-letter it.
    const { log, store } = transitions();
    const record = jobRecord({ type: 'probe', payload: { mode: 'fail-permanent' } });
    const asked: unknown[] = [];
    const rateLimiter = {
      take: async (at: Date, lookaheadMs?: number) => {
        asked.push([at.getTime(), lookaheadMs]);
        return { admitted: false, waitMs: 1500 };
      },
    };

    // Act
    const res = await consumer({ settings, status: store, rateLimiter }).run([record]);

    // Assess: not run, hidden 2 s (whole seconds, rounded up), status deferred to the token's time.
    // It asked for a token due within the default hold (a second).
    expect(asked).toEqual([[NOW, 1000]]);
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([2]);
    expect(aws.sends()).toEqual([]);
    expect(log).toEqual([
      ['deferred', { notBefore: new Date(NOW + 1500).toISOString(), ran: false, state: 'deferred' }],
    ]);
  });

  it('runs a record that gets a token', async () => {
    const record = jobRecord({ type: 'probe', payload: { mode: 'succeed' } });

    const res = await consumer({
      settings,
      rateLimiter: { take: async () => ({ admitted: true, waitMs: 0 }) },
      sleep: async () => {
        throw new Error('a token due now is not waited for');
      },
    }).run([record]);

    expect(failedIds(res)).toEqual([]);
    expect(aws.visibilityChanges()).toEqual([]);
  });

  it('waits in-process for a token reserved within the hold, then runs the record: no deferral', async () => {
    // Prepare: the bucket reserves a token due in 350 ms; running the probe would dead-letter it.
    const { log, store } = transitions();
    const record = jobRecord({ type: 'probe', payload: { mode: 'succeed' } });
    const rateLimiter = { take: async () => ({ admitted: true, waitMs: 349.6 }) };

    // Act
    const res = await consumer({
      settings,
      status: store,
      rateLimiter,
      sleep: async (ms) => {
        log.push(['slept', ms]);
      },
    }).run([record]);

    // Assess: ran once, never hidden; it slept until the token's slot (whole ms, rounded up)
    // right before its handler, its status write done before (so the call lags the slot least).
    expect(failedIds(res)).toEqual([]);
    expect(aws.visibilityChanges()).toEqual([]);
    const names = log.map((entry) =>
      (entry as unknown[]).slice(0, (entry as unknown[])[0] === 'slept' ? 2 : 1),
    );
    expect(names).toEqual([['processing'], ['slept', 350], ['succeeded']]);
  });

  it.each([
    ['runs a record whose handler starts inside the quota window its token was counted in', 0],
    ['does not run a record whose handler would start after that window ended: deferred to the next', 700],
  ])('%s', async (_title, lateMs) => {
    // Prepare: a token reserved 350 ms ahead, counted in a quota window ending at NOW + 1 s; the
    // in-process wait overshoots by `lateMs` (a loaded machine). Running the probe dead-letters it.
    const { log, store } = transitions();
    const record = jobRecord({ type: 'probe', payload: { mode: 'fail-permanent' } });
    let clock = NOW;
    const rateLimiter = { take: async () => ({ admitted: true, waitMs: 350, startBy: NOW + 1000 }) };

    // Act
    const res = await consumer({
      settings,
      status: store,
      rateLimiter,
      now: () => new Date(clock),
      sleep: async (ms) => {
        clock += ms + lateMs;
      },
    }).run([record]);

    // Assess
    if (lateMs === 0) {
      // It ran at NOW + 350: a permanent failure, dead-lettered and acknowledged.
      expect(failedIds(res)).toEqual([]);
      expect(aws.sends().map((m) => m.MessageAttributes?.[DLQ_ATTR.failureKind]?.StringValue)).toEqual([
        'permanent',
      ]);
      return;
    }
    // Not run (NOW + 1050 is past the window): not dead-lettered, reported failed, deferred to the
    // next window with its attempt given back (`ran`: its `processing` write had counted one),
    // visible again at once (that time is already past).
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.sends()).toEqual([]);
    expect(log).toEqual([
      ['processing'],
      ['deferred', { notBefore: new Date(NOW + 1000).toISOString(), ran: true }],
    ]);
    expect(aws.visibilityChanges().map((c) => c.VisibilityTimeout)).toEqual([0]);
  });

  it('reserves no further ahead than the hold, nor than half the record budget', async () => {
    // Prepare: a limiter noting the look-ahead it is asked for, refusing.
    const asked: (number | undefined)[] = [];
    const rateLimiter = {
      take: async (_at: Date, lookaheadMs?: number) => {
        asked.push(lookaheadMs);
        return { admitted: false, waitMs: 5000 };
      },
    };
    const record = () => jobRecord({ type: 'probe', payload: { mode: 'succeed' } });

    // Act: hold 0 (defer every record without a token now); the default hold with 1 s left
    // (budget 750 ms: half of it less the minimum, 362 ms); a hold of 200 ms with 30 s left.
    await consumer({ settings, rateLimiter, rateLimitHoldMs: 0 }).run([record()]);
    await consumer({ settings, rateLimiter }).run(
      [record()],
      fakeContext({ remainingMs: 1000, frozen: true }),
    );
    await consumer({ settings, rateLimiter, rateLimitHoldMs: 200 }).run([record()]);

    // Assess
    expect(asked).toEqual([0, 362, 200]);
  });

  it('takes no token for a redelivery its row says succeeded: the duplicate is acknowledged unrun', async () => {
    // Prepare: a second delivery of a message whose row says it succeeded; idempotency finds it done.
    const record = jobRecord({ type: 'probe', payload: { mode: 'fail-permanent' }, receiveCount: 2 });
    const taken: number[] = [];
    const rateLimiter = {
      take: async (at: Date) => {
        taken.push(at.getTime());
        return { admitted: true, waitMs: 0 };
      },
    };
    const runStates = {
      read: async () =>
        new Map([
          [
            record.messageId,
            { runs: 1, status: 'succeeded', runInProgress: false, failure: undefined } as const,
          ],
        ]),
    };
    const ran: string[] = [];
    const idempotency = {
      writesStatus: true,
      run: async (subject: { id: string }) => {
        ran.push(subject.id);
        return 'duplicate' as const;
      },
    };

    // Act
    const res = await consumer({
      settings,
      rateLimiter,
      runStates,
      idempotency,
      memo: accountedMemo([record]),
    }).run([record]);

    // Assess: acknowledged as a duplicate, and the downstream's bucket was not touched.
    expect(failedIds(res)).toEqual([]);
    expect(ran).toHaveLength(1);
    expect(taken).toEqual([]);
    expect(aws.sends()).toEqual([]);
  });

  it('FIFO: hands back at once the records skipped behind a deferred head; other groups run', async () => {
    // Prepare: group a's head defers; a's second is skipped behind it; group b runs.
    const fifo = { ...settings, queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo' };
    const head = jobRecord({
      type: 'probe',
      payload: { mode: 'succeed', deferTimes: 1, deferSeconds: 30 },
      messageGroupId: 'a',
    });
    const behind = jobRecord({ type: 'probe', payload: { mode: 'succeed' }, messageGroupId: 'a' });
    const other = jobRecord({ type: 'probe', payload: { mode: 'succeed' }, messageGroupId: 'b' });

    // Act
    const res = await consumer({ fifo: true, settings: fifo }).run([head, behind, other]);

    // Assess: the head hidden 30 s, the skipped record visible again at once (its group still
    // waits: SQS delivers none of it while the head is in flight).
    expect(failedIds(res)).toEqual([head.messageId, behind.messageId]);
    expect(aws.visibilityChanges().map((c) => [c.ReceiptHandle, c.VisibilityTimeout])).toEqual([
      [head.receiptHandle, 30],
    ]);
    const batches = aws.sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
    expect(batches).toEqual([
      {
        QueueUrl: fifo.queueUrl,
        Entries: [{ Id: '0', ReceiptHandle: behind.receiptHandle, VisibilityTimeout: 0 }],
      },
    ]);
  });
});
