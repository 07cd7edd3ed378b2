import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backgroundSynthReady } from '../helpers/background-synth';
import { drainView } from '../helpers/local';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import {
  DAILY_CALLS_FILE,
  DAILY_LIMIT,
  FETCH_CALLS_FILE,
  FITNESS_RATE,
} from '../fixtures/ratelimit-app/ratelimit-stack';
import { RATELIMIT_APP_DIR, RATELIMIT_CDK_OUT } from './global-setup-ratelimit';

// The fitness-API scenario (issue 22) in local mode: the fixture app's FIFO lane `fitness` may
// call its downstream 2 times a second across all its consumers (4 sandboxes). Ordered messages of
// several users arrive at once: none is dead-lettered, order per user holds, and the runs never
// exceed the limit, however many consumers take tokens.
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage({
    appDir: RATELIMIT_APP_DIR,
    cdkOut: RATELIMIT_CDK_OUT,
    // Synthesized while the other files ran (./global-setup-ratelimit.ts), else here.
    synth: !(await backgroundSynthReady(RATELIMIT_CDK_OUT)),
  });
}, 240_000);
afterAll(async () => {
  await stage?.stop();
});

type Status = { status: string; attempts: number; deferrals: number; updatedAt: string };

/** The downstream calls a job noted in its witness file (`CALLS_FILE`): time, user, sequence. */
function callsIn(file: string): { at: number; userId: string; seq: number }[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [at, userId, seq] = line.split(' ');
      return { at: Number(at), userId: userId!, seq: Number(seq) };
    });
}

/** The most of `times` (ms) within any window of `windowMs`. */
function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('lane rate limit (local mode)', () => {
  it('runs 12 ordered messages of 3 users under 2/s across its consumers, in order, none dead-lettered', async () => {
    // Prepare: the downstream's witness file, empty.
    mkdirSync(path.dirname(FETCH_CALLS_FILE), { recursive: true });
    writeFileSync(FETCH_CALLS_FILE, '');
    const users = ['u1', 'u2', 'u3'];
    const messages = users.flatMap((userId) =>
      [0, 1, 2, 3].map((seq) => ({ type: 'activity.fetch', orderingKey: userId, payload: { userId, seq } })),
    );

    // Act
    const started = Date.now();
    const res = await stage.post('/v1/messages/batch', { messages });
    expect(res.status, res.text).toBe(202);
    const ids = (res.body.results as { id: string }[]).map((r) => r.id);

    // Assess
    const done = await waitFor(
      'every message succeeded',
      async () => {
        const rows = await Promise.all(
          ids.map(async (id) => (await stage.get(`/v1/messages/${id}`)).body as Status),
        );
        return rows.every((r) => r.status === 'succeeded') ? rows : undefined;
      },
      90_000,
      250,
    );
    // Each ran once: waiting for a token spent no attempt.
    expect(done.map((r) => r.attempts)).toEqual(ids.map(() => 1));
    // When the downstream was called (the handler's own witness, not the status row's update time,
    // which a loaded machine can delay and bunch after the call).
    const calls = callsIn(FETCH_CALLS_FILE);
    expect(calls).toHaveLength(12);
    // Never more than the limit allows: 2 per second plus the burst of 1 in any second.
    expect(
      mostInWindow(
        calls.map((c) => c.at),
        1000,
      ),
    ).toBeLessThanOrEqual(FITNESS_RATE.perSecond + FITNESS_RATE.burst);
    // 12 runs at 2/s take at least 5.5 s.
    expect(Math.max(...calls.map((c) => c.at)) - started).toBeGreaterThanOrEqual(5_500);
    // In order per user.
    for (const userId of users)
      expect(calls.filter((c) => c.userId === userId).map((c) => c.seq)).toEqual([0, 1, 2, 3]);
    const dlq = await drainView(stage.sqs, stage.queue(stage.local.env.lanes.fitness!.dlq).url);
    expect(dlq).toEqual([]);
  }, 150_000);

  it('runs 12 ordered messages of 3 users under a quota of 4 per 10 s window: never more in a window, in order', async () => {
    // Prepare: the downstream's witness file, empty.
    mkdirSync(path.dirname(DAILY_CALLS_FILE), { recursive: true });
    writeFileSync(DAILY_CALLS_FILE, '');
    const { count, windowSeconds } = DAILY_LIMIT.quota;
    const users = ['u1', 'u2', 'u3'];
    const messages = users.flatMap((userId) =>
      [0, 1, 2, 3].map((seq) => ({ type: 'activity.daily', orderingKey: userId, payload: { userId, seq } })),
    );

    // Act
    const res = await stage.post('/v1/messages/batch', { messages });
    expect(res.status, res.text).toBe(202);
    const ids = (res.body.results as { id: string }[]).map((r) => r.id);

    // Assess
    const done = await waitFor(
      'every message succeeded',
      async () => {
        const rows = await Promise.all(
          ids.map(async (id) => (await stage.get(`/v1/messages/${id}`)).body as Status),
        );
        return rows.every((r) => r.status === 'succeeded') ? rows : undefined;
      },
      120_000,
      250,
    );
    // Each ran once: waiting for the next window spent no attempt.
    expect(done.map((r) => r.attempts)).toEqual(ids.map(() => 1));
    const calls = callsIn(DAILY_CALLS_FILE);
    expect(calls).toHaveLength(12);
    // Never more than the quota in a window (windows aligned to the epoch), so 3 windows at least.
    const perWindow = new Map<number, number>();
    for (const c of calls) {
      const w = Math.floor(c.at / (windowSeconds * 1000));
      perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    }
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(count);
    expect(perWindow.size).toBeGreaterThanOrEqual(3);
    // In order per user.
    for (const userId of users)
      expect(calls.filter((c) => c.userId === userId).map((c) => c.seq)).toEqual([0, 1, 2, 3]);
    const dlq = await drainView(stage.sqs, stage.queue(stage.local.env.lanes.daily!.dlq).url);
    expect(dlq).toEqual([]);
  }, 180_000);
});
