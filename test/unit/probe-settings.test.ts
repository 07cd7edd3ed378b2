import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { DEFAULTS } from '../../lib/config/defaults';
import { resolveSettings } from '../../lib/config/settings';

const ROLE = 'arn:aws:iam::111122223333:role/oncall';

describe('probe settings', () => {
  it('lets anyone send every probe by default (the schema limits)', () => {
    expect(resolveSettings('dev').probes).toEqual({
      senders: 'any',
      maxFailTimes: 1000,
      maxSleepMs: 900_000,
      maxFailUntilSeconds: 86_400,
    });
  });

  it('turns probes off in the reference app prod stage, with limits that keep a probe from dead-lettering', () => {
    const prod = loadStageConfig('prod');

    expect(prod.probes).toEqual({
      senders: [],
      maxFailTimes: 2,
      maxSleepMs: 10_000,
      maxFailUntilSeconds: 60,
    });
    expect(prod.probes.maxFailTimes).toBeLessThan(prod.maxAttempts);
    expect(prod.probes.maxSleepMs).toBeLessThan(prod.consumer.timeoutSeconds * 1000);
  });

  it('takes operator roles as probe senders on an iam stage', () => {
    const prod = loadStageConfig('prod', { probes: { ...loadStageConfig('prod').probes, senders: [ROLE] } });

    expect(prod.probes.senders).toEqual([ROLE]);
  });

  it('refuses limits that let a succeed or sleep probe fail for good where fail-always is refused', () => {
    const stage = { allowedProbeModes: ['succeed', 'sleep'] as const, maxAttempts: 5 };

    expect(() =>
      resolveSettings('prod', { ...stage, probes: { ...DEFAULTS.probes, maxSleepMs: 0 } }),
    ).toThrow(
      'Stage "prod": probes.maxFailTimes must be below maxAttempts (5) on a stage without the fail-always probe mode, or a succeed probe dead-letters',
    );
    expect(() =>
      resolveSettings('prod', {
        ...stage,
        probes: { ...DEFAULTS.probes, maxFailTimes: 4, maxSleepMs: 30_000 },
      }),
    ).toThrow(
      'Stage "prod": probes.maxSleepMs must be below the consumers\' timeout (30000 ms) on a stage without the fail-always probe mode, or a sleep probe times out',
    );
  });

  it('refuses senders the stage cannot name and limits outside the probe schema', () => {
    expect(() => resolveSettings('dev', { probes: { ...DEFAULTS.probes, senders: ['tenant-a'] } })).toThrow(
      'Stage "dev": probes.senders: "tenant-a" is not an IAM principal ARN (the tenant of an iam caller)',
    );
    expect(() =>
      resolveSettings('dev', {
        auth: { mode: 'apiKey', tenants: ['tenant-a'], allowedPrincipals: [] },
        probes: { ...DEFAULTS.probes, senders: ['tenant-b'] },
      }),
    ).toThrow('Stage "dev": probes.senders: "tenant-b" is not one of auth.tenants');
    expect(() => resolveSettings('dev', { probes: { ...DEFAULTS.probes, maxFailTimes: 1001 } })).toThrow(
      'Stage "dev": probes.maxFailTimes must be an integer 0–1000',
    );
  });
});
