import { describe, expect, it } from 'vitest';
import { resolveLanes } from '../../lib/config/lanes';
import { loadStageConfig } from '../../app/stages';

describe('lane settings: deferral and rate limit', () => {
  const dev = loadStageConfig('dev');
  const retention = dev.queueRetentionDays * 86_400;
  const lane = (props: Parameters<typeof resolveLanes>[1]) => resolveLanes(dev, props).at(-1)!;

  it('defaults the deferral cap to the queue retention less 2 hours, on every lane, and no rate limit', () => {
    for (const l of resolveLanes(dev, { thumbs: {} })) {
      expect(l.maxDeferralSeconds, l.name).toBe(retention - 7200);
      expect(l.rateLimit, l.name).toBeNull();
    }
  });

  it('takes a lane cap up to the retention less 2 hours, and refuses more', () => {
    expect(lane({ thumbs: { deferral: { maxSeconds: 3600 } } }).maxDeferralSeconds).toBe(3600);
    expect(lane({ thumbs: { deferral: { maxSeconds: retention - 7200 } } }).maxDeferralSeconds).toBe(
      retention - 7200,
    );
    expect(() => lane({ thumbs: { deferral: { maxSeconds: retention - 7199 } } })).toThrow(
      `Lane "thumbs": deferral.maxSeconds must be an integer 1–${retention - 7200}`,
    );
    expect(() => lane({ thumbs: { deferral: { maxSeconds: 0 } } })).toThrow(/deferral.maxSeconds/);
  });

  it("sizes the queue's maxReceiveCount for the deferral steps a lane expects, within SQS's 1000", () => {
    const base = lane({ thumbs: {} }).maxReceiveCount;
    expect(lane({ thumbs: { deferral: { maxSteps: 200 } } }).maxReceiveCount).toBe(
      Math.max(base, dev.maxAttempts * 10 + 200),
    );
    expect(lane({ thumbs: { deferral: { maxSteps: 1000 } } }).maxReceiveCount).toBe(1000);
    expect(() => lane({ thumbs: { deferral: { maxSteps: -1 } } })).toThrow(/deferral.maxSteps/);
  });

  it('takes a rate limit with a burst of 1 by default, and refuses a zero or fractional one', () => {
    expect(lane({ api: { rateLimit: { perSecond: 5 } } }).rateLimit).toEqual({ perSecond: 5, burst: 1 });
    expect(lane({ api: { rateLimit: { perSecond: 0.5, burst: 3 } } }).rateLimit).toEqual({
      perSecond: 0.5,
      burst: 3,
    });
    expect(() => lane({ api: { rateLimit: { perSecond: 0 } } })).toThrow(/rateLimit/);
    expect(() => lane({ api: { rateLimit: { perSecond: 5, burst: 1.5 } } })).toThrow(/rateLimit/);
  });

  it('takes a quota per window up to the deferral cap, and refuses a partial or longer one', () => {
    const quota = { count: 10_000, windowSeconds: 86_400 };
    expect(lane({ api: { rateLimit: { perSecond: 5, quota } } }).rateLimit).toEqual({
      perSecond: 5,
      burst: 1,
      quota,
    });
    expect(() =>
      lane({ api: { rateLimit: { perSecond: 5, quota: { count: 0, windowSeconds: 10 } } } }),
    ).toThrow(
      `Lane "api": rateLimit.quota needs an integer count >= 1 and an integer windowSeconds 1–${retention - 7200}`,
    );
    expect(() =>
      lane({ api: { rateLimit: { perSecond: 5, quota: { count: 5, windowSeconds: 2.5 } } } }),
    ).toThrow(/rateLimit.quota/);
    expect(() =>
      lane({
        api: {
          deferral: { maxSeconds: 3600 },
          rateLimit: { perSecond: 5, quota: { count: 5, windowSeconds: 7200 } },
        },
      }),
    ).toThrow(/windowSeconds 1–3600 \(the deferral cap/);
  });

  it("refuses a lane named notifications: ops names the webhooks' DLQ so", () => {
    expect(() => lane({ notifications: {} })).toThrow(
      'Lane "notifications": "notifications" names the webhooks\' DLQ in ops (--lane notifications); choose another name',
    );
  });
});
