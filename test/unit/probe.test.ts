import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isPermanent, PermanentError, RetryableError } from '../../lambda/shared/errors';
import {
  PROBE_MODES,
  ProbeAlwaysFailsError,
  ProbePayload,
  ProbePermanentError,
  ProbeTransientError,
  probeJob,
  type ProbeMode,
} from '../../lambda/shared/jobs/probe';
import type { JobContext } from '../../lambda/shared/jobs/types';
import { silentLogger } from '../helpers/aws-fakes';

function ctx(receiveCount = 1, signal: AbortSignal = new AbortController().signal): JobContext {
  return {
    messageId: 'm-1',
    receiveCount,
    correlationId: 'req-1',
    logger: silentLogger(),
    signal,
    enqueue: () => Promise.reject(new Error('no follow-up jobs here')),
  };
}
const run = (
  mode: ProbeMode,
  extra: { failTimes?: number; sleepMs?: number; failUntil?: string } = {},
  c: JobContext = ctx(),
) => probeJob.handle(ProbePayload.parse({ mode, ...extra }), c);

/** Settles-or-not probe for a promise after the fake clock has moved. */
function track(p: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown };
  p.then(
    () => (state.settled = true),
    (e: unknown) => {
      state.settled = true;
      state.error = e;
    },
  );
  return state;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('probe job', () => {
  it('has the documented payload contract, with defaults', () => {
    expect(PROBE_MODES).toEqual(['succeed', 'sleep', 'fail-permanent', 'fail-always', 'timeout', 'crash']);
    expect(ProbePayload.parse({ mode: 'sleep' })).toEqual({ mode: 'sleep', failTimes: 0, sleepMs: 0 });
    expect(ProbePayload.parse({ mode: 'succeed', failTimes: 3, sleepMs: 10, tag: 'smoke-42' })).toEqual({
      mode: 'succeed',
      failTimes: 3,
      sleepMs: 10,
      tag: 'smoke-42',
    });
  });

  it.each([
    [{ mode: 'explode' }],
    [{ mode: 'succeed', failTimes: -1 }],
    [{ mode: 'succeed', failTimes: 1001 }],
    [{ mode: 'sleep', sleepMs: 900_001 }],
    [{ mode: 'sleep', sleepMs: 1.5 }],
    [{ mode: 'succeed', tag: 't'.repeat(257) }],
    [{ mode: 'succeed', extra: 1 }],
  ])('refuses the payload %j', (payload) => {
    expect(ProbePayload.safeParse(payload).success).toBe(false);
  });

  it('succeed: fails retryably while receiveCount <= failTimes, then succeeds', async () => {
    const attempts = [1, 2, 3].map((n) =>
      run('succeed', { failTimes: 2 }, ctx(n)).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );

    const [a1, a2, a3] = await Promise.all(attempts);

    expect(a1).toBeInstanceOf(ProbeTransientError);
    expect(a2).toBeInstanceOf(ProbeTransientError);
    expect(isPermanent(a1)).toBe(false);
    expect((a2 as Error).message).toBe('probe failing attempt 2 of 2');
    expect(a3).toBe('ok');
  });

  it('succeed: fails retryably until failUntil whatever the receive count, then succeeds', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00.000Z') });
    const failUntil = '2026-11-22T10:05:00.000Z';

    // Act
    const before = await run('succeed', { failUntil }, ctx(7)).catch((e: unknown) => e);
    vi.setSystemTime(new Date('2026-11-22T10:04:59.999Z'));
    const justBefore = await run('succeed', { failUntil }, ctx(8)).catch((e: unknown) => e);
    vi.setSystemTime(new Date(failUntil));
    const at = await run('succeed', { failUntil }, ctx(1)).then(() => 'ok');

    // Assess
    expect(before).toBeInstanceOf(ProbeTransientError);
    expect(isPermanent(before)).toBe(false);
    expect((before as Error).message).toBe(`probe failing attempt 7 until ${failUntil}`);
    expect(justBefore).toBeInstanceOf(ProbeTransientError);
    expect(at).toBe('ok');
  });

  it('succeed: applies failTimes and failUntil both (a past failUntil leaves failTimes in charge)', async () => {
    const failUntil = new Date(Date.now() - 60_000).toISOString();
    await expect(run('succeed', { failTimes: 1, failUntil }, ctx(1))).rejects.toBeInstanceOf(
      ProbeTransientError,
    );
    await expect(run('succeed', { failTimes: 1, failUntil }, ctx(2))).resolves.toBeUndefined();
  });

  it('accepts failUntil as an ISO time with an offset, and refuses anything else', () => {
    expect(ProbePayload.parse({ mode: 'succeed', failUntil: '2026-11-22T11:00:00+01:00' }).failUntil).toBe(
      '2026-11-22T11:00:00+01:00',
    );
    for (const failUntil of ['tomorrow', '2026-11-22', 1764000000000, '']) {
      expect(ProbePayload.safeParse({ mode: 'succeed', failUntil }).success, String(failUntil)).toBe(false);
    }
  });

  it('succeed: succeeds at once with failTimes 0', async () => {
    await expect(run('succeed')).resolves.toBeUndefined();
  });

  it('sleep: waits sleepMs, then succeeds', async () => {
    // Prepare
    vi.useFakeTimers();
    const state = track(run('sleep', { sleepMs: 5_000 }));

    // Act / Assess
    await vi.advanceTimersByTimeAsync(4_999);
    expect(state.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(state).toEqual({ settled: true, error: undefined });
  });

  it('sleep: stops early with a retryable error when its deadline aborts it', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const state = track(run('sleep', { sleepMs: 60_000 }, ctx(1, controller.signal)));

    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);

    expect(state.settled).toBe(true);
    expect(state.error).toBeInstanceOf(RetryableError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fail-permanent: throws a permanent error', async () => {
    const error = await run('fail-permanent').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProbePermanentError);
    expect(error).toBeInstanceOf(PermanentError);
    expect(isPermanent(error)).toBe(true);
  });

  it('fail-always: throws a retryable error on every attempt', async () => {
    for (const n of [1, 5, 50]) {
      const error = await run('fail-always', {}, ctx(n)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProbeAlwaysFailsError);
      expect(isPermanent(error)).toBe(false);
    }
  });

  it('timeout: outlives any Lambda timeout and ignores its abort signal', async () => {
    // Prepare
    vi.useFakeTimers();
    const controller = new AbortController();
    const state = track(run('timeout', {}, ctx(1, controller.signal)));

    // Act
    controller.abort();
    await vi.advanceTimersByTimeAsync(15 * 60 * 1000);

    // Assess
    expect(state.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(60 * 1000);
    expect(state.settled).toBe(true);
  });

  // `crash` calls process.exit: never run it in the test process, only in a child.
  it('crash: kills its process with exit code 137', () => {
    const script = [
      "const { probeJob } = require('./lambda/shared/jobs/probe');",
      "const { Logger } = require('@aws-lambda-powertools/logger');",
      "const logger = new Logger({ logLevel: 'SILENT' });",
      "probeJob.handle({ mode: 'crash', failTimes: 0, sleepMs: 0 },",
      "  { messageId: 'm', receiveCount: 1, correlationId: 'c', logger, signal: new AbortController().signal })",
      "  .then(() => console.log('survived'));",
    ].join('\n');

    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '../..'),
      encoding: 'utf8',
      timeout: 20_000,
    });

    expect(child.status).toBe(137);
    expect(child.stdout).not.toContain('survived');
  });
});
