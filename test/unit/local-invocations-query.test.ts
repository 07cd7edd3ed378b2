import { describe, expect, it } from 'vitest';
import {
  filterInvocations,
  InvocationQueryError,
  outcomeOf,
  parseInvocationQuery,
} from '../../local/control/invocations-query';
import { Journal, type InvocationRecord } from '../../local/control/journal';

const rec = (n: number, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  function: 'A',
  startedAt: new Date(n).toISOString(),
  durationMs: n,
  messageIds: [],
  batchItemFailures: [],
  error: null,
  ...over,
});
const FUNCTIONS = ['A', 'B'];
const parse = (q: string) => parseInvocationQuery(new URLSearchParams(q), FUNCTIONS);

describe('GET /_local/invocations query (parseInvocationQuery, filterInvocations)', () => {
  const records = [
    rec(1, { messageIds: ['m1', 'm2'] }),
    rec(2, { function: 'B' }),
    rec(3, { messageIds: ['m2'], batchItemFailures: ['m2'] }),
    rec(4, { function: 'B', error: { name: 'Sandbox.Timedout', message: 't' } }),
    rec(5, { messageIds: ['m3'] }),
  ];
  const durations = (q: string) => filterInvocations(records, parse(q)).map((r) => r.durationMs);

  it.each([
    ['', [1, 2, 3, 4, 5]],
    ['function=B', [2, 4]],
    ['outcome=failed', [3, 4]],
    ['outcome=ok', [1, 2, 5]],
    ['messageId=m2', [1, 3]],
    ['function=A&outcome=ok&messageId=m2', [1]],
    ['limit=2', [4, 5]],
    ['function=A&limit=1', [5]],
  ])('?%s selects %j, oldest first', (q, expected) => {
    expect(durations(q)).toEqual(expected);
  });

  it.each([
    ['function=C', 'function', 'no function C (functions: A, B)'],
    ['outcome=partial', 'outcome', 'outcome must be ok or failed, not partial'],
    ['messageId=%20', 'messageId', 'messageId must not be empty'],
    ['limit=0', 'limit', 'limit must be a positive integer, not 0'],
    ['limit=2.5', 'limit', 'limit must be a positive integer, not 2.5'],
    ['fn=A', 'fn', 'unknown parameter fn (use function=, outcome=, messageId=, envelopeId=, limit=)'],
  ])('refuses ?%s naming %s', (q, field, message) => {
    let caught: unknown;
    try {
      parse(q);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvocationQueryError);
    expect(caught).toMatchObject({ field, message });
  });

  it('calls an invocation failed when it threw or reported a batch item failure', () => {
    expect(records.map(outcomeOf)).toEqual(['ok', 'ok', 'failed', 'failed', 'ok']);
  });
});

describe('journal listeners (Journal.onRecord)', () => {
  it('hears each record appended until it stops listening', () => {
    // Arrange
    const journal = new Journal(2);
    const heard: number[] = [];
    const stop = journal.onRecord((r) => heard.push(r.durationMs));

    // Act
    journal.record(rec(1));
    journal.record(rec(2));
    journal.record(rec(3));
    stop();
    journal.record(rec(4));

    // Assert
    expect(heard).toEqual([1, 2, 3]);
  });
});
