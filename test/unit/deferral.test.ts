import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEFERRAL_SECONDS,
  MAX_DEFERRAL_STEP_SECONDS,
  planDeferral,
  secondsUntil,
  type DeferralContext,
} from '../../lambda/shared/consumer/deferral';
import { failedOnItsOwn, runFactsOf } from '../../lambda/shared/consumer/run-state';
import { RetryableError, RetryLaterError } from '../../lambda/shared/errors';
import { retryAfter } from '../../lambda/shared/jobs/retry-after';
import * as jobs from '../../lambda/shared/jobs/public';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
/** Receive 2 of 50, 5 attempts left, enqueued at T0, the default cap. */
const context = (over: Partial<DeferralContext> = {}): DeferralContext => ({
  now: T0,
  sentAt: T0,
  receiveCount: 2,
  maxReceiveCount: 50,
  attemptsLeft: 5,
  maxDeferralSeconds: DEFAULT_MAX_DEFERRAL_SECONDS,
  ...over,
});

describe('RetryLaterError and retryAfter (event-pipeline/jobs)', () => {
  it('is exported by the jobs API, retryable to code that does not know it, and dates its notBefore', () => {
    expect(jobs.RetryLaterError).toBe(RetryLaterError);
    expect(typeof jobs.retryAfter).toBe('function');
    const bySeconds = new RetryLaterError({ after: 90 });
    expect(bySeconds).toBeInstanceOf(RetryableError);
    expect(bySeconds.name).toBe('RetryLaterError');
    expect(bySeconds.notBefore(T0)).toEqual(at(90));
    expect(bySeconds.message).toBe('retry later: after 90 s');
    const byDate = new RetryLaterError({ after: at(3600) }, 'quota used up');
    expect(byDate.notBefore(T0)).toEqual(at(3600));
    expect(byDate.message).toBe('quota used up');
  });

  it('refuses a negative, infinite or NaN wait and an invalid date', () => {
    for (const after of [-1, Number.NaN, Number.POSITIVE_INFINITY, new Date('nope')])
      expect(() => new RetryLaterError({ after })).toThrow(TypeError);
  });

  it('reads delta-seconds and HTTP-dates; nothing for absent or unreadable values', () => {
    expect(retryAfter('120', T0)).toEqual({ after: 120 });
    expect(retryAfter(' 0 ', T0)).toEqual({ after: 0 });
    expect(retryAfter('Tue, 01 Dec 2026 11:00:00 GMT', T0)).toEqual({ after: at(3600) });
    // A date in the past: at once.
    expect(retryAfter('Tue, 01 Dec 2026 09:00:00 GMT', T0)).toEqual({ after: 0 });
    for (const bad of [undefined, null, '', '  ', '-5', '1.5', '12abc', 'soon', '99999999999999999999'])
      expect(retryAfter(bad, T0), String(bad)).toBeUndefined();
  });
});

describe('deferral plan', () => {
  it('runs a record whose notBefore has come, defers one that has not for the time left', () => {
    expect(planDeferral(T0, context())).toEqual({ action: 'run' });
    expect(planDeferral(at(-5), context())).toEqual({ action: 'run' });
    expect(planDeferral(at(5), context())).toEqual({ action: 'defer', visibilitySeconds: 5, steps: 1 });
    // Rounded up: never back before its notBefore.
    expect(planDeferral(new Date(T0.getTime() + 4_001), context())).toMatchObject({ visibilitySeconds: 5 });
    expect(secondsUntil(new Date(T0.getTime() + 1), T0)).toBe(1);
  });

  it('takes steps of at most 12 h less 10 min: the 12-hour boundary', () => {
    expect(MAX_DEFERRAL_STEP_SECONDS).toBe(43_200 - 600);
    expect(planDeferral(at(MAX_DEFERRAL_STEP_SECONDS), context())).toEqual({
      action: 'defer',
      visibilitySeconds: MAX_DEFERRAL_STEP_SECONDS,
      steps: 1,
    });
    expect(planDeferral(at(MAX_DEFERRAL_STEP_SECONDS + 1), context())).toEqual({
      action: 'defer',
      visibilitySeconds: MAX_DEFERRAL_STEP_SECONDS,
      steps: 2,
    });
    expect(planDeferral(at(3 * 86_400), context())).toMatchObject({ steps: 7 });
  });

  it('gives up a notBefore past the cap, counted from when the message was enqueued', () => {
    const c = context({ sentAt: at(-1000), maxDeferralSeconds: 3600 });
    expect(planDeferral(at(2600), c)).toMatchObject({ action: 'defer' });
    const plan = planDeferral(at(2601), c);
    expect(plan.action).toBe('exhausted');
    expect(plan).toMatchObject({ reason: expect.stringMatching(/past the lane's deferral cap \(3600 s/) });
  });

  it("keeps enough of the queue's receives for the record's remaining attempts", () => {
    // Receive 45 of 50 with 5 attempts left: this receive, then 5 more runs fit exactly.
    expect(planDeferral(at(5), context({ receiveCount: 45 }))).toMatchObject({ action: 'defer' });
    expect(planDeferral(at(5), context({ receiveCount: 46 }))).toMatchObject({
      action: 'exhausted',
      reason: expect.stringMatching(/receives would run out/),
    });
    // A two-step wait needs one receive more.
    const twoSteps = at(MAX_DEFERRAL_STEP_SECONDS + 60);
    expect(planDeferral(twoSteps, context({ receiveCount: 44 }))).toMatchObject({ action: 'defer' });
    expect(planDeferral(twoSteps, context({ receiveCount: 45 }))).toMatchObject({ action: 'exhausted' });
    // The last attempt still needs its own receive, even with none counted left.
    expect(planDeferral(at(5), context({ receiveCount: 49, attemptsLeft: 0 }))).toMatchObject({
      action: 'defer',
    });
    expect(planDeferral(at(5), context({ receiveCount: 50, attemptsLeft: 0 }))).toMatchObject({
      action: 'exhausted',
    });
  });
});

describe('run facts with deferrals', () => {
  it('does not count a run that deferred as an attempt, and accounts for every receive', () => {
    // Three runs of m1 deferred, one hidden again unrun, then a run that failed.
    const row = {
      status: 'retrying',
      attempts: 1,
      runLog: ['m0', 'm1', 'm1', 'm1', 'm1'],
      deferLog: ['m1', 'm1', 'm1'],
      waitLog: ['m1'],
      notBefore: null,
    };
    const facts = runFactsOf(row, 'm1');
    expect(facts).toMatchObject({ runs: 1, receivesAccounted: 5, notBefore: undefined });
    expect(failedOnItsOwn(facts, 6)).toBe(true);
    expect(failedOnItsOwn(facts, 7)).toBe(false);
  });

  it('reads the notBefore of a deferred row, and a deferred row ended on its own', () => {
    const row = {
      status: 'deferred',
      attempts: 0,
      runLog: ['m1'],
      deferLog: ['m1'],
      notBefore: at(5).toISOString(),
    };
    const facts = runFactsOf(row, 'm1');
    expect(facts).toMatchObject({ runs: 0, receivesAccounted: 1, notBefore: at(5) });
    expect(failedOnItsOwn(facts, 2)).toBe(true);
  });

  it('reads a scheduled row hidden again unrun as ended on its own', () => {
    // A message scheduled for later, received once before its notBefore and hidden again.
    const row = {
      status: 'scheduled',
      attempts: 0,
      runLog: [],
      waitLog: ['m1'],
      notBefore: at(60).toISOString(),
    };
    const facts = runFactsOf(row, 'm1');
    expect(facts).toMatchObject({ runs: 0, receivesAccounted: 1, notBefore: at(60) });
    expect(failedOnItsOwn(facts, 2)).toBe(true);
    expect(failedOnItsOwn({ ...facts, status: 'processing' }, 2)).toBe(false);
  });

  it('reads a notBefore that is not a time as none', () => {
    const facts = runFactsOf({ status: 'deferred', attempts: 0, runLog: ['m1'], notBefore: 'soon' }, 'm1');
    expect(facts.notBefore).toBeUndefined();
  });
});
