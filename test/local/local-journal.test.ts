import { describe, expect, it } from 'vitest';
import { DEFAULT_JOURNAL_CAPACITY, Journal, type InvocationRecord } from '../../local/control/journal';

const entry = (n: number): InvocationRecord => ({
  function: 'Fn',
  startedAt: new Date(n).toISOString(),
  durationMs: n,
  messageIds: [],
  batchItemFailures: [],
  error: null,
});

describe('invocation journal', () => {
  it('keeps at least the last 50,000 invocations by default', () => {
    expect(DEFAULT_JOURNAL_CAPACITY).toBeGreaterThanOrEqual(50_000);
    expect(new Journal().capacity).toBe(DEFAULT_JOURNAL_CAPACITY);
  });

  it('lists records oldest first', () => {
    const j = new Journal(5);
    [1, 2, 3].forEach((n) => j.record(entry(n)));
    expect(j.list().map((r) => r.durationMs)).toEqual([1, 2, 3]);
    expect(j.length).toBe(3);
  });

  it('lists records by start although they are recorded when they finish', () => {
    const j = new Journal(5);
    // A long invocation that started first finishes last; two started at the same instant.
    [3, 1, 4, 2].forEach((n) => j.record({ ...entry(n === 4 ? 2 : n), durationMs: n }));
    expect(j.list().map((r) => r.durationMs)).toEqual([1, 4, 2, 3]);
  });

  it('drops the oldest records once full', () => {
    const j = new Journal(3);
    [1, 2, 3, 4, 5].forEach((n) => j.record(entry(n)));
    expect(j.list().map((r) => r.durationMs)).toEqual([3, 4, 5]);
    expect(j.length).toBe(3);
  });

  it('forgets everything on clear', () => {
    const j = new Journal(3);
    [1, 2].forEach((n) => j.record(entry(n)));
    j.clear();
    expect(j.list()).toEqual([]);
    j.record(entry(7));
    expect(j.list().map((r) => r.durationMs)).toEqual([7]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Journal(0)).toThrow(/positive integer/);
  });
});
