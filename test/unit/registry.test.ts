import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidMessageError, isPermanent, UnknownJobTypeError } from '../../lambda/shared/errors';
import { probeJob } from '../../lambda/shared/jobs/probe';
import { JobRegistry } from '../../lambda/shared/jobs/registry';
import { defaultRegistry } from '../../tools/example-registry';
import type { JobDefinition } from '../../lambda/shared/jobs/types';

function invalid(type: string, payload: unknown): InvalidMessageError {
  try {
    defaultRegistry.parsePayload(type, payload);
  } catch (e) {
    return e as InvalidMessageError;
  }
  throw new Error('expected parsePayload to throw');
}

describe('job registry', () => {
  // Derived from schemas/ rather than pinned, so adding a type as the README says (define, register,
  // `npm run schema`) keeps this green, while a type registered without its published schema, or a
  // schema left behind by a removed type, fails it.
  it('registers exactly the job types whose payload schemas are published in schemas/', () => {
    const published = readdirSync(join(__dirname, '..', '..', 'schemas'))
      .map((f) => /^payload\.(.+)\.schema\.json$/.exec(f)?.[1])
      .filter((t): t is string => t !== undefined)
      .sort();

    expect(published.length).toBeGreaterThan(0);
    expect(defaultRegistry.types().sort()).toEqual(published);
  });

  it('ships email.send, report.generate, activity.recorded and probe', () => {
    expect(defaultRegistry.types()).toEqual(
      expect.arrayContaining(['activity.recorded', 'email.send', 'probe', 'report.generate']),
    );
  });

  it('marks activity.recorded as ordered and the other shipped types as unordered', () => {
    expect(defaultRegistry.get('activity.recorded').ordered).toBe(true);
    for (const t of ['email.send', 'report.generate', 'probe'])
      expect(defaultRegistry.get(t).ordered, t).toBe(false);
  });

  it('throws a permanent UnknownJobTypeError for an unregistered type', () => {
    expect(defaultRegistry.has('nope')).toBe(false);
    expect(() => defaultRegistry.get('nope')).toThrow(UnknownJobTypeError);
    expect(() => defaultRegistry.get('nope')).toThrow('Unknown job type "nope"');
    expect(isPermanent(new UnknownJobTypeError('nope'))).toBe(true);
  });

  it('refuses to register a type twice', () => {
    const r = new JobRegistry([probeJob as unknown as JobDefinition]);

    expect(() => r.register(probeJob as unknown as JobDefinition)).toThrow(
      'Job type "probe" is registered twice',
    );
  });

  it('returns the parsed payload, defaults applied', () => {
    expect(defaultRegistry.parsePayload('probe', { mode: 'succeed' })).toEqual({
      mode: 'succeed',
      failTimes: 0,
      sleepMs: 0,
    });
  });

  it('names each invalid payload field as payload.<path>', () => {
    const error = invalid('email.send', { to: 'x', subject: '', body: 'b' });

    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.issues.map((i) => i.split(':')[0])).toEqual(['payload.to', 'payload.subject']);
    expect(error.message).toContain('Payload of "email.send" is invalid');
  });

  it('names the payload itself for root-level problems', () => {
    expect(invalid('email.send', 'hello').issues[0]).toMatch(/^payload: /);
    expect(invalid('probe', { mode: 'succeed', colour: 'red' }).issues[0]).toMatch(/^payload: .*colour/);
  });

  it('runs cross-field rules (report.generate: from must not be after to)', () => {
    const ok = defaultRegistry.parsePayload('report.generate', {
      reportId: 'r',
      format: 'csv',
      from: '2026-01-01',
      to: '2026-01-31',
    });
    const error = invalid('report.generate', {
      reportId: 'r',
      format: 'csv',
      from: '2026-02-01',
      to: '2026-01-31',
    });

    expect(ok).toMatchObject({ from: '2026-01-01' });
    expect(error.issues).toEqual(['payload.from: from must not be after to']);
  });
});
