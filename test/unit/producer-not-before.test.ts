import { describe, expect, it } from 'vitest';
import { dueTime, isNotBeforeShape, notBeforeProblem } from '../../lambda/producer/not-before';
import { encodeMessage } from '../../lambda/shared/message-codec';

const T0 = Date.parse('2026-12-05T10:00:00.000Z');

describe('POST notBefore', () => {
  it('takes RFC 3339 date-times with a time zone only', () => {
    for (const ok of ['2026-12-05T10:00:00Z', '2026-12-05T10:00Z', '2026-12-05T11:00:00.123+01:00'])
      expect(isNotBeforeShape(ok), ok).toBe(true);
    for (const bad of [
      '2026-12-05T10:00:00',
      '2026-12-05',
      'tomorrow',
      1733392800,
      '2026-13-05T10:00:00Z',
      '',
    ])
      expect(isNotBeforeShape(bad), String(bad)).toBe(false);
  });

  it("bounds it by the lane's deferral cap, from the request's time", () => {
    expect(notBeforeProblem('2026-12-05T11:00:00Z', 3600, T0)).toBeUndefined();
    expect(notBeforeProblem('2026-12-05T11:00:01Z', 3600, T0)).toBe(
      "at most 3600 s after the request (this lane's deferral cap), got 3601 s",
    );
    expect(notBeforeProblem('2030-01-01T00:00:00Z', undefined, T0)).toBeUndefined();
  });

  it('normalizes a future time to UTC and drops one that has come', () => {
    expect(dueTime('2026-12-05T11:30:00+01:00', T0)).toBe('2026-12-05T10:30:00.000Z');
    expect(dueTime('2026-12-05T10:00:00Z', T0)).toBeUndefined();
    expect(dueTime(undefined, T0)).toBeUndefined();
  });

  it('carries it in the envelope and delays a standard message by at most 15 minutes', () => {
    const meta = { correlationId: 'req-1', now: new Date(T0) };
    const soon = encodeMessage({ type: 'probe', payload: {}, notBefore: '2026-12-05T10:00:30.500Z' }, meta);
    expect(soon.envelope.notBefore).toBe('2026-12-05T10:00:30.500Z');
    expect(soon.params.DelaySeconds).toBe(31);
    const later = encodeMessage({ type: 'probe', payload: {}, notBefore: '2026-12-05T12:00:00.000Z' }, meta);
    expect(later.params.DelaySeconds).toBe(900);
    const fifo = encodeMessage(
      { type: 'probe', payload: {}, orderingKey: 'k', notBefore: '2026-12-05T12:00:00.000Z' },
      meta,
    );
    expect(fifo.params.DelaySeconds).toBeUndefined();
    expect(JSON.parse(fifo.params.MessageBody).notBefore).toBe('2026-12-05T12:00:00.000Z');
  });
});
