import { describe, expect, it, vi } from 'vitest';
import { TENANT_MAX_BYTES } from '../../lambda/shared/constants';
import { createEnvelope, isTenantName, JOB_TYPE_PATTERN } from '../../lambda/shared/envelope';
import { parseEnvelope } from '../../lambda/shared/envelope-schema';
import { InvalidMessageError, isPermanent } from '../../lambda/shared/errors';
import { T0 } from '../helpers/sqs-events';

const ID = '3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b';
const valid = () =>
  createEnvelope({ type: 'email.send', payload: { to: 'a@b.co' }, correlationId: 'req-1' }, T0, ID);

function parseError(body: string): InvalidMessageError {
  try {
    parseEnvelope(body);
  } catch (e) {
    return e as InvalidMessageError;
  }
  throw new Error('expected parseEnvelope to throw');
}

describe('envelope', () => {
  it('is built as { v: 1, id, type, payload, createdAt, correlationId }', () => {
    expect(valid()).toEqual({
      v: 1,
      id: ID,
      type: 'email.send',
      payload: { to: 'a@b.co' },
      createdAt: '2026-11-22T10:00:00.000Z',
      correlationId: 'req-1',
    });
  });

  it('gets a fresh UUID and the current time by default', () => {
    // Prepare: a clock that reads T0
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    try {
      // Act
      const a = createEnvelope({ type: 't', payload: {}, correlationId: 'c' });
      const b = createEnvelope({ type: 't', payload: {}, correlationId: 'c' });

      // Assess
      expect(a.createdAt).toBe(T0.toISOString());
      expect(b.createdAt).toBe(T0.toISOString());
      expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(a.id).not.toBe(b.id);
      expect(() => parseEnvelope(JSON.stringify(a))).not.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });

  it('round-trips through JSON', () => {
    expect(parseEnvelope(JSON.stringify(valid()))).toEqual(valid());
  });

  it('refuses a body that is not JSON with a permanent InvalidMessageError', () => {
    const error = parseError('{"v":1,');

    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toBe('Message body is not JSON');
  });

  it.each([
    ['the version is not 1', { v: 2 }, 'v'],
    ['the id is not a UUID', { id: 'abc' }, 'id'],
    ['the type has a space', { type: 'email send' }, 'type'],
    ['the payload is an array', { payload: [] }, 'payload'],
    ['createdAt is not an ISO date-time', { createdAt: '22/11/2026' }, 'createdAt'],
    ['correlationId is empty', { correlationId: '' }, 'correlationId'],
    ['correlationId is over 256 characters', { correlationId: 'c'.repeat(257) }, 'correlationId'],
    ['the tenant is empty', { tenant: '' }, 'tenant'],
    ['the tenant is not a string', { tenant: { name: 'a' } }, 'tenant'],
    ['the tenant has a control character', { tenant: 'team-a\u001b[31m' }, 'tenant'],
    ['the tenant is over its size limit', { tenant: 'é'.repeat(TENANT_MAX_BYTES / 2) }, 'tenant'],
  ])('refuses an envelope where %s, naming the field', (_case, change, field) => {
    const error = parseError(JSON.stringify({ ...valid(), ...change }));

    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.issues.some((i) => i.startsWith(`${field}:`))).toBe(true);
    expect(error.message).toContain(`${field}:`);
  });

  it('refuses missing fields and unknown fields', () => {
    const { correlationId: _dropped, ...missing } = valid();

    expect(parseError(JSON.stringify(missing)).issues.join()).toContain('correlationId');
    expect(parseError(JSON.stringify({ ...valid(), extra: true })).message).toContain('extra');
  });

  it.each([['null'], ['42'], ['"a string"'], ['[]']])('refuses the JSON value %s as (root)', (body) => {
    expect(parseError(body).issues[0]).toMatch(/^\(root\): /);
  });

  it('carries the tenant that sent it when there is one, and none otherwise', () => {
    const owned = createEnvelope(
      { type: 'email.send', payload: {}, correlationId: 'req-1', tenant: 'team-billing' },
      T0,
      ID,
    );

    expect(owned.tenant).toBe('team-billing');
    expect(parseEnvelope(JSON.stringify(owned))).toEqual(owned);
    expect('tenant' in valid()).toBe(false);
    expect(parseEnvelope(JSON.stringify(valid()))).not.toHaveProperty('tenant');
  });

  it('accepts tenant names without control characters up to the size limit as JSON', () => {
    expect(isTenantName('arn:aws:iam::444455556666:role/billing')).toBe(true);
    expect(isTenantName('https://login.example.com/#Ünïcødé 租户 😀')).toBe(true);
    expect(isTenantName('x'.repeat(TENANT_MAX_BYTES - 2))).toBe(true);
    expect(isTenantName('x'.repeat(TENANT_MAX_BYTES - 1))).toBe(false);
    // Quotes are escaped in JSON, and count twice.
    expect(isTenantName('"'.repeat(TENANT_MAX_BYTES / 2 - 1))).toBe(true);
    expect(isTenantName('"'.repeat(TENANT_MAX_BYTES / 2))).toBe(false);
    expect(isTenantName('')).toBe(false);
    expect(isTenantName('a\u0085b')).toBe(false); // C1 control
    expect(isTenantName('a\ud800b')).toBe(false); // lone surrogate
    expect(isTenantName(7)).toBe(false);
  });

  it('accepts job type names of the documented pattern only', () => {
    expect(JOB_TYPE_PATTERN.test('report.generate')).toBe(true);
    expect(JOB_TYPE_PATTERN.test('a:b_c-d.e')).toBe(true);
    expect(JOB_TYPE_PATTERN.test('x'.repeat(128))).toBe(true);
    expect(JOB_TYPE_PATTERN.test('x'.repeat(129))).toBe(false);
    expect(JOB_TYPE_PATTERN.test('')).toBe(false);
    expect(JOB_TYPE_PATTERN.test('émoji')).toBe(false);
  });
});
