import { describe, expect, it } from 'vitest';
import { interpretBatchResponse, type InvocationResult } from '../../local/triggers/batch-response';

const IDS = ['m-1', 'm-2', 'm-3'];
const ok = (payload: unknown): InvocationResult => ({ ok: true, payload });
const verdict = (payload: unknown, report = true) => interpretBatchResponse(IDS, ok(payload), report);

describe('event source mapping response interpretation (ReportBatchItemFailures)', () => {
  describe('treats the batch as a complete success', () => {
    it.each([
      ['a null response', null],
      ['an undefined response', undefined],
      ['an empty object', {}],
      ['an empty batchItemFailures list', { batchItemFailures: [] }],
      ['a null batchItemFailures list', { batchItemFailures: null }],
      ['an object without batchItemFailures', { processed: 3 }],
    ])('for %s', (_, payload) => {
      expect(verdict(payload)).toEqual({ failed: [], wholeBatch: false, reason: null });
    });
  });

  describe('fails only the listed records', () => {
    it('returns the listed ids in event order, without duplicates', () => {
      const out = verdict({
        batchItemFailures: [{ itemIdentifier: 'm-3' }, { itemIdentifier: 'm-1' }, { itemIdentifier: 'm-3' }],
      });
      expect(out).toEqual({ failed: ['m-1', 'm-3'], wholeBatch: false, reason: null });
    });

    it('fails every record when every record is listed', () => {
      const out = verdict({ batchItemFailures: IDS.map((itemIdentifier) => ({ itemIdentifier })) });
      expect(out.failed).toEqual(IDS);
      expect(out.wholeBatch).toBe(false);
    });
  });

  describe('treats the batch as a complete failure', () => {
    it.each([
      ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }, /is empty/],
      ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }, /is null/],
      [
        'a missing itemIdentifier (bad key name)',
        { batchItemFailures: [{ itemIdentifer: 'm-1' }] },
        /has no itemIdentifier/,
      ],
      [
        'an itemIdentifier not in the batch',
        { batchItemFailures: [{ itemIdentifier: 'm-9' }] },
        /not a message of this batch/,
      ],
      ['a non-string itemIdentifier', { batchItemFailures: [{ itemIdentifier: 1 }] }, /not a string/],
      [
        'a valid entry followed by an invalid one',
        { batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: '' }] },
        /is empty/,
      ],
      ['a response that is not an object (string)', 'ok', /not a JSON object/],
      ['a response that is not an object (number)', 42, /not a JSON object/],
      ['a response that is a list', [{ itemIdentifier: 'm-1' }], /not a JSON object/],
      [
        'batchItemFailures that is not a list',
        { batchItemFailures: { itemIdentifier: 'm-1' } },
        /not a list/,
      ],
      ['a list entry that is not an object', { batchItemFailures: ['m-1'] }, /is not an object/],
      ['a null list entry', { batchItemFailures: [null] }, /is not an object/],
    ])('for %s', (_, payload, reason) => {
      const out = verdict(payload);
      expect(out.failed).toEqual(IDS);
      expect(out.wholeBatch).toBe(true);
      expect(out.reason).toMatch(reason);
    });

    it.each([
      ['a thrown error', { name: 'Error', message: 'boom' }],
      ['a timeout', { name: 'Sandbox.Timedout', message: 'Task timed out after 3.00 seconds' }],
      ['a crash', { name: 'Runtime.ExitError', message: 'Runtime exited with error: exit status 137' }],
    ])('for %s', (_, error) => {
      for (const report of [true, false]) {
        const out = interpretBatchResponse(IDS, { ok: false, error }, report);
        expect(out).toEqual({ failed: IDS, wholeBatch: true, reason: expect.stringContaining(error.name) });
      }
    });
  });

  describe('without ReportBatchItemFailures', () => {
    it.each([
      ['a batchItemFailures response', { batchItemFailures: [{ itemIdentifier: 'm-1' }] }],
      ['a malformed response', 'not json object'],
      ['null', null],
    ])('treats any successful invocation as success of every record (%s)', (_, payload) => {
      expect(verdict(payload, false)).toEqual({ failed: [], wholeBatch: false, reason: null });
    });
  });
});
