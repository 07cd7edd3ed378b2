import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../../local';
import { attemptsOf, startStage, waitFor, type ApiAnswer, type LocalStage } from '../../tools/local-stage';
import { LANES_APP_DIR, LANES_CDK_OUT, lanesOfAssembly, type TemplateLane } from '../helpers/lanes-app';
import { probe } from '../helpers/local';

// Lanes end to end: the fixture app (test/fixtures/lanes-app) synthesized through the CDK CLI in
// its own folder and run in local mode on free ports. Its `thumbnails` lane has a 2 s timeout
// (the default lanes 3 s on stage local), its `ledger` lane is FIFO; the default lanes run `probe`.
let stage: LocalStage;
let lanes: Record<string, TemplateLane>;
beforeAll(async () => {
  stage = await startStage({ appDir: LANES_APP_DIR, cdkOut: LANES_CDK_OUT, synth: true });
  lanes = lanesOfAssembly(LANES_CDK_OUT);
});
afterAll(async () => {
  await stage?.stop();
});

/** One entry of a 202 answer. */
type Accepted = { id: string; messageId: string; lane: string; queue: string };
type Status = {
  lane: string;
  type: string;
  status: string;
  attempts: number;
  lastError: { name: string; message: string } | null;
  failure: { kind: string; archiveKey: string | null } | null;
};

const thumbnail = (payload: Record<string, unknown>) => ({ type: 'thumbnail.create', payload });
const ledgerPost = (account: string, seq: number) => ({
  type: 'ledger.post',
  orderingKey: account,
  payload: { account, amountCents: 100 * seq, seq },
});

/** POSTs a batch that must be accepted whole; its entries in request order. */
async function sendBatch(messages: unknown[]): Promise<Accepted[]> {
  const res = await stage.post('/v1/messages/batch', { messages });
  expect(res.status, res.text).toBe(202);
  return res.body.results as Accepted[];
}

const statusOf = async (id: string): Promise<Status | undefined> => {
  const res: ApiAnswer = await stage.get(`/v1/messages/${id}`);
  return res.status === 200 ? (res.body as Status) : undefined;
};
const until = (id: string, state: string, timeoutMs = 30_000) =>
  waitFor(
    `${id} ${state}`,
    async () => {
      const s = await statusOf(id);
      return s?.status === state ? s : undefined;
    },
    timeoutMs,
  );

/** Waits until the journal holds an invocation that succeeded with `messageId` (it is recorded after the status row). */
const ranOk = (messageId: string) =>
  waitFor(`a successful run of ${messageId}`, () => attemptsOf(stage.local, messageId).succeeded > 0);

/** The journal records of a lane's consumer. */
const invocationsOf = (lane: string): InvocationRecord[] =>
  stage.local.journal.list().filter((i) => i.function === lanes[lane]!.consumer);

/** Local mode's DLQ depth alarm of a lane (the alarm on its DLQ's visible messages). */
function dlqAlarmOf(lane: string) {
  const dlq = stage.queue(lanes[lane]!.dlq).name;
  return stage.local
    .alarms()
    .find((a) => a.queue === dlq && a.metric === 'ApproximateNumberOfMessagesVisible');
}

describe('lanes in local mode', () => {
  it('runs every lane in a consumer of its own, bundled with its own job modules only', () => {
    expect(Object.keys(lanes).sort()).toEqual(['fifo', 'ledger', 'standard', 'thumbnails']);
    expect(new Set(Object.values(lanes).map((l) => l.consumer)).size).toBe(4);
    // The job modules' log messages mark their code in a bundle.
    const jobsIn = (lane: string) =>
      ['thumbnail made', 'ledger entry posted'].filter((marker) => lanes[lane]!.bundle!.includes(marker));
    expect(Object.fromEntries(Object.keys(lanes).map((l) => [l, jobsIn(l)]))).toEqual({
      standard: [],
      fifo: [],
      thumbnails: ['thumbnail made'],
      ledger: ['ledger entry posted'],
    });
  });
});

describe('a lane with a short timeout', () => {
  it("times out alone: its consumer is cut off while the default lane's jobs sent with it succeed", async () => {
    // Act: one request; the thumbnail holds its thread for 5 s on its first delivery (lane timeout 2 s).
    const [thumb, ...probes] = await sendBatch([
      thumbnail({ key: 'huge.png', renderMs: 5000, slowDeliveries: 1, blocking: true }),
      probe({ mode: 'succeed', tag: 'beside-timeout-1' }),
      probe({ mode: 'succeed', tag: 'beside-timeout-2' }),
      probe({ mode: 'succeed', tag: 'beside-timeout-3' }),
    ]);

    // Assess: the thumbnails consumer timed out, at the lane's own timeout.
    expect([thumb!.lane, ...probes.map((p) => p.lane)]).toEqual([
      'thumbnails',
      'standard',
      'standard',
      'standard',
    ]);
    const timedOut = await waitFor('the thumbnail timing out', () =>
      invocationsOf('thumbnails').find((i) => i.messageIds.includes(thumb!.messageId) && i.error !== null),
    );
    expect(timedOut.error).toEqual({
      name: 'Sandbox.Timedout',
      message: 'Task timed out after 2.00 seconds',
    });
    expect(timedOut.batchItemFailures).toContain(thumb!.messageId);
    // The probes ran once each, in the standard lane's consumer, none failing.
    for (const p of probes) {
      expect(await until(p.id, 'succeeded')).toMatchObject({
        lane: 'standard',
        attempts: 1,
        lastError: null,
      });
      await ranOk(p.messageId);
      const ran = stage.local.journal.list().filter((i) => i.messageIds.includes(p.messageId));
      expect(ran.map((i) => [i.function, i.error, i.batchItemFailures])).toEqual([
        [lanes.standard!.consumer, null, []],
      ]);
    }
    // The timed-out thumbnail is delivered again when its visibility expires and succeeds then.
    const done = await until(thumb!.id, 'succeeded', 60_000);
    expect(done).toMatchObject({ lane: 'thumbnails', type: 'thumbnail.create', attempts: 2 });
    await ranOk(thumb!.messageId);
    expect(attemptsOf(stage.local, thumb!.messageId)).toEqual({ attempts: 2, succeeded: 1, failed: 1 });
  });
});

describe('DLQ alarms', () => {
  it("raises the failing lane's DLQ alarm alone", async () => {
    // Act: a permanent failure in the thumbnails lane.
    const [corrupt] = await sendBatch([thumbnail({ key: 'scan.corrupt' })]);

    // Assess
    const failed = await until(corrupt!.id, 'failed');
    expect(failed).toMatchObject({ lane: 'thumbnails', failure: { kind: 'permanent' } });
    const alarm = await waitFor("the thumbnails lane's DLQ alarm in ALARM", () =>
      dlqAlarmOf('thumbnails')?.state === 'ALARM' ? dlqAlarmOf('thumbnails') : undefined,
    );
    expect(alarm.logicalId).toMatch(/^LaneThumbnailsDlqDepthAlarm/);
    expect(alarm.value).toBeGreaterThanOrEqual(1);
    // Every other lane's DLQ alarm stays OK.
    expect(Object.fromEntries(['standard', 'fifo', 'ledger'].map((l) => [l, dlqAlarmOf(l)?.state]))).toEqual({
      standard: 'OK',
      fifo: 'OK',
      ledger: 'OK',
    });
  });
});

describe('a failing lane', () => {
  it('does not hold back the other lanes', async () => {
    // Prepare: the thumbnails lane failing, its renders outliving their deadline on every delivery.
    const stuck = await sendBatch(
      [1, 2, 3].map((i) => thumbnail({ key: `stuck-${i}.png`, renderMs: 30_000 })),
    );
    const stuckIds = new Set(stuck.map((s) => s.messageId));
    await waitFor('every stuck thumbnail failed once', () =>
      stuck.every((s) => invocationsOf('thumbnails').some((i) => i.batchItemFailures.includes(s.messageId))),
    );
    const othersSentAt = new Date().toISOString();

    // Act: work for every other lane.
    const others = await sendBatch([
      ...[1, 2, 3].map((i) => probe({ mode: 'succeed', tag: `flowing-${i}` })),
      probe({ mode: 'succeed', tag: 'flowing-fifo-1' }, { orderingKey: 'flowing' }),
      probe({ mode: 'succeed', tag: 'flowing-fifo-2' }, { orderingKey: 'flowing' }),
      ...[1, 2, 3].map((seq) => ledgerPost('acct-7', seq)),
    ]);

    // Assess: each ran once, in its own lane, while the thumbnails lane went on failing.
    expect(others.map((o) => o.lane)).toEqual([
      'standard',
      'standard',
      'standard',
      'fifo',
      'fifo',
      'ledger',
      'ledger',
      'ledger',
    ]);
    for (const o of others) {
      expect(await until(o.id, 'succeeded'), o.lane).toMatchObject({ lane: o.lane, attempts: 1 });
      await ranOk(o.messageId);
      expect(attemptsOf(stage.local, o.messageId)).toEqual({ attempts: 1, succeeded: 1, failed: 0 });
    }
    const ledgerOrder = invocationsOf('ledger').flatMap((i) =>
      i.messageIds.filter((id) => !i.batchItemFailures.includes(id)),
    );
    expect(ledgerOrder.filter((id) => others.some((o) => o.messageId === id))).toEqual(
      others.filter((o) => o.lane === 'ledger').map((o) => o.messageId),
    );
    await waitFor('a thumbnails failure after the other lanes got their work', () =>
      invocationsOf('thumbnails').some(
        (i) => i.startedAt >= othersSentAt && i.batchItemFailures.some((id) => stuckIds.has(id)),
      ),
    );
    for (const s of stuck) expect(attemptsOf(stage.local, s.messageId).succeeded, s.messageId).toBe(0);
  });
});
