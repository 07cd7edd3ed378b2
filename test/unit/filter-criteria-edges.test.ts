import { describe, expect, it } from 'vitest';
import {
  compileEventPattern,
  compileFilterCriteria,
  FilterCriteriaError,
  MAX_PATTERN_LENGTH,
  type FilterCriteria,
} from '../../local/triggers/filter-criteria';
import { sqsRecord } from '../helpers/sqs-events';

// Edges of local mode's filter criteria that the mutation run (npm run mutation,
// bench/README.md) showed no test pinned: operators on fields holding lists, the bounds of
// numeric ranges, anything-but's forms, and the refusals of malformed patterns with the field
// they name. The documented cases are in test/unit/filter-criteria.test.ts.

const criteria = (p: unknown): FilterCriteria => ({ Filters: [{ Pattern: JSON.stringify(p) }] });
/** Whether a record with this JSON body passes `pattern`'s filter on `body`. */
const passes = (bodyPattern: unknown, body: unknown) =>
  compileFilterCriteria(criteria({ body: bodyPattern }))(sqsRecord({ body: JSON.stringify(body) }));
/** The refusal of a mapping with these criteria (fails the test when there is none). */
function refusal(c: FilterCriteria): FilterCriteriaError {
  try {
    compileFilterCriteria(c);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterCriteriaError);
    expect((error as Error).name).toBe('FilterCriteriaError');
    return error as FilterCriteriaError;
  }
  throw new Error('expected a FilterCriteriaError');
}
const refused = (bodyPattern: unknown) => refusal(criteria({ body: bodyPattern })).message;
/** A pattern written as text: JSON.stringify cannot write 1e999, which JSON.parse reads as Infinity. */
const refusedRaw = (pattern: string) => refusal({ Filters: [{ Pattern: pattern }] }).message;

describe('filter criteria: operators on a field that holds a list (one element matching is enough)', () => {
  it.each([
    ['a string', { tags: ['b'] }, { tags: ['a', 'b'] }],
    ['a number', { n: [2] }, { n: [1, 2] }],
    ['prefix', { tags: [{ prefix: 'ab' }] }, { tags: ['x', 'abc'] }],
    ['suffix', { tags: [{ suffix: 'bc' }] }, { tags: ['x', 'abc'] }],
    ['equals-ignore-case', { tags: [{ 'equals-ignore-case': 'ABC' }] }, { tags: ['x', 'abc'] }],
    ['numeric', { n: [{ numeric: ['>', 5] }] }, { n: [1, 9] }],
  ])('matches %s against one element', (_op, pattern, body) => {
    expect(passes(pattern, body)).toBe(true);
  });

  it('matches a nested pattern over a list of objects only when one element matches all of it', () => {
    const pattern = { items: { a: ['1'], b: ['2'] } };

    expect(
      passes(pattern, {
        items: [
          { a: '1', b: 'x' },
          { a: 'y', b: '2' },
        ],
      }),
    ).toBe(false);
    expect(
      passes(pattern, {
        items: [
          { a: 'y', b: 'x' },
          { a: '1', b: '2' },
        ],
      }),
    ).toBe(true);
  });

  it('sees a field holding a list of objects as present (exists: false does not match it)', () => {
    expect(passes({ f: [{ exists: false }] }, { f: [{ x: 1 }] })).toBe(false);
    expect(passes({ f: [{ exists: true }] }, { f: [{ x: 1 }] })).toBe(true);
  });

  it('never matches a body that is JSON null against an object pattern', () => {
    expect(passes({ a: ['x'] }, null)).toBe(false);
  });
});

describe('filter criteria: numeric', () => {
  it.each([
    [['<', 10], 9, true],
    [['<', 10], 10, false],
    [['>=', 10], 10, true],
    [['>=', 10], 9, false],
    [['>=', 0, '<', 10], 0, true],
    [['>', 0, '<=', 10], 10, true],
    [['>', 0, '<=', 10], 0, false],
  ])('%j: %s → %s', (numeric, n, expected) => {
    expect(passes({ n: [{ numeric }] }, { n })).toBe(expected);
  });

  it('takes the bounds of the range EventBridge compares (-5e9 and 5e9 inclusive)', () => {
    expect(passes({ n: [{ numeric: ['<=', 5e9] }] }, { n: 5e9 })).toBe(true);
    expect(passes({ n: [{ numeric: ['>=', -5e9] }] }, { n: -5e9 })).toBe(true);
  });

  it.each([
    [['<', 10, '>', 0], 'is not a range (lower bound first)'],
    [['>', 0, '>', 10], 'is not a range (lower bound first)'],
    [['<', 0, '<', 10], 'is not a range (lower bound first)'],
    [['>', 5, '<', 5], 'has an empty range'],
  ])('refuses %j: %s', (numeric, why) => {
    expect(refused({ n: [{ numeric }] })).toContain(
      `FilterCriteria.Filters[0].Pattern: body.n.numeric ${why}`,
    );
  });

  it('refuses numbers that JSON makes infinite', () => {
    expect(refusedRaw('{"body":{"n":[{"numeric":["<",1e999]}]}}')).toContain(
      'body.n.numeric compares with null, not a number',
    );
    expect(refusedRaw('{"body":{"n":[{"anything-but":[1,1e999]}]}}')).toContain(
      'body.n.anything-but must be a non-empty list of strings or of numbers',
    );
    expect(refusedRaw('{"body":{"n":[1e999]}}')).toBe(
      'FilterCriteria.Filters[0].Pattern: body.n: Infinity is not a finite number',
    );
  });
});

describe('filter criteria: anything-but', () => {
  it.each([
    ['a string', 'a', 'a', false],
    ['a string', 'a', 'b', true],
    ['a number', 5, 5, false],
    ['a number', 5, 6, true],
    ['a suffix', { suffix: 'z' }, 'abc', true],
    ['a suffix', { suffix: 'c' }, 'abc', false],
    ['a case-insensitive string', { 'equals-ignore-case': 'A' }, 'a', false],
    ['a case-insensitive string', { 'equals-ignore-case': 'A' }, 'b', true],
    ['case-insensitive strings', { 'equals-ignore-case': ['A', 'B'] }, 'c', true],
    ['case-insensitive strings', { 'equals-ignore-case': ['A', 'B'] }, 'b', false],
  ])('of %s (%j) on %j → %s', (_what, operand, value, expected) => {
    expect(passes({ f: [{ 'anything-but': operand }] }, { f: value })).toBe(expected);
  });

  it.each([
    [[1, 'a'], 'must be a non-empty list of strings or of numbers'],
    [{ prefix: 'a', suffix: 'b' }, 'must be a string, a number, a list of them, or'],
    [{ prefix: '' }, '.prefix must be a non-empty string'],
    [{ 'equals-ignore-case': [] }, '.equals-ignore-case must be a string or a non-empty list of strings'],
    [
      { 'equals-ignore-case': ['a', 1] },
      '.equals-ignore-case must be a string or a non-empty list of strings',
    ],
    [{ 'equals-ignore-case': 5 }, '.equals-ignore-case must be a string or a non-empty list of strings'],
  ])('refuses %j', (operand, why) => {
    expect(refused({ f: [{ 'anything-but': operand }] })).toContain(
      `FilterCriteria.Filters[0].Pattern: body.f.anything-but${why.startsWith('.') ? '' : ' '}${why}`,
    );
  });
});

describe('filter criteria: malformed patterns are refused, naming the filter and the field', () => {
  it.each([
    [{ f: [{ prefix: { 'equals-ignore-case': '' } }] }, 'body.f.prefix must not be empty'],
    [
      { f: [{ prefix: { 'equals-ignore-case': 'a', x: 1 } }] },
      'body.f.prefix must be a string or {"equals-ignore-case": "<string>"}',
    ],
    [
      { f: [{ nope: 1 }] },
      'body.f: unknown operator "nope" (supported: anything-but, equals-ignore-case, exists, numeric, prefix, suffix)',
    ],
    [[['a']], 'body: a match value must not be an array (["a"])'],
  ])('%j', (bodyPattern, message) => {
    expect(refused(bodyPattern)).toBe(`FilterCriteria.Filters[0].Pattern: ${message}`);
  });

  it('names a metadata field without a prefix', () => {
    expect(refusal(criteria({ attributes: 'x' })).message).toBe(
      'FilterCriteria.Filters[0].Pattern: attributes must be an array of match values or an object of fields, not "x"',
    );
  });

  it('refuses a body pattern that is null', () => {
    expect(refused(null)).toContain('body must be an object (JSON bodies) or an array of match values');
  });

  it('refuses Filters that is not a list, and a filter that is not an object', () => {
    expect(refusal({ Filters: {} } as unknown as FilterCriteria).message).toBe(
      'FilterCriteria.Filters must be an array',
    );
    expect(refusal({ Filters: [null] } as unknown as FilterCriteria).message).toBe(
      'FilterCriteria.Filters[0].Pattern must be a string',
    );
  });

  it(`accepts a pattern of exactly ${MAX_PATTERN_LENGTH} characters, refuses one longer`, () => {
    const sized = (n: number) => {
      const empty = JSON.stringify({ body: { a: [''] } });
      return JSON.stringify({ body: { a: ['x'.repeat(n - empty.length)] } });
    };
    const exact = sized(MAX_PATTERN_LENGTH);

    expect(exact).toHaveLength(MAX_PATTERN_LENGTH);
    expect(() => compileFilterCriteria({ Filters: [{ Pattern: exact }] })).not.toThrow();
    expect(refusal({ Filters: [{ Pattern: sized(MAX_PATTERN_LENGTH + 1) }] }).message).toContain(
      `is ${MAX_PATTERN_LENGTH + 1} characters long`,
    );
  });
});

describe("an EventBridge rule's EventPattern (compileEventPattern)", () => {
  const refusalOf = (pattern: unknown) => {
    try {
      compileEventPattern(pattern, 'Rule.EventPattern');
    } catch (error) {
      expect(error).toBeInstanceOf(FilterCriteriaError);
      return (error as Error).message;
    }
    throw new Error('expected a FilterCriteriaError');
  };

  it('takes the pattern as JSON text as well as an object', () => {
    const test = compileEventPattern('{"source":["app"]}', 'Rule.EventPattern');

    expect([test({ source: 'app' }), test({ source: 'other' })]).toEqual([true, false]);
  });

  it('refuses text that is not JSON, and JSON that is not an object, naming the pattern', () => {
    expect(refusalOf('{"source":')).toMatch(/^Rule\.EventPattern is not valid JSON \(.+\)$/);
    expect(refusalOf('[1]')).toBe('Rule.EventPattern must be a JSON object');
  });

  it('names a nested field of the pattern from its top', () => {
    expect(refusalOf({ detail: { n: [{ prefix: '' }] } })).toBe(
      'Rule.EventPattern: detail.n.prefix must not be empty',
    );
  });
});

describe('filter criteria without a data key (dataKey: null, DynamoDB stream records)', () => {
  const streamFilter = (pattern: unknown) =>
    compileFilterCriteria<object>(criteria(pattern), { dataKey: null });

  it('matches a field named body in the record itself, not a JSON body', () => {
    // A stream record has no SQS body: `body` is a field like any other.
    const test = streamFilter({ body: { a: ['1'] } });

    expect([test({ body: { a: '1' } }), test({ body: { a: '2' } }), test({ body: '{"a":"1"}' })]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('names a nested field from the top of the pattern when it refuses it', () => {
    expect(() => streamFilter({ dynamodb: {} })).toThrow(
      new FilterCriteriaError('FilterCriteria.Filters[0].Pattern: dynamodb must not be an empty object'),
    );
    expect(() => streamFilter({ dynamodb: { Keys: { pk: [{ prefix: '' }] } } })).toThrow(
      new FilterCriteriaError('FilterCriteria.Filters[0].Pattern: dynamodb.Keys.pk.prefix must not be empty'),
    );
  });
});

describe('filter criteria: the last refusals and a record without a body', () => {
  it('does not match a record without a body against an object body pattern', () => {
    const test = compileFilterCriteria(criteria({ body: { a: ['1'] } }));
    const { body: _, ...withoutBody } = sqsRecord({ body: '{"a":"1"}' });

    expect(test(withoutBody as never)).toBe(false);
    expect(test(sqsRecord({ body: '{"a":"1"}' }))).toBe(true);
  });

  it('refuses a numeric comparison with a string, naming the field', () => {
    expect(refused({ n: [{ numeric: ['>', '5'] }] })).toBe(
      'FilterCriteria.Filters[0].Pattern: body.n.numeric compares with "5", not a number: expected ["<op>", <number>] or [">"|">=", <number>, "<"|"<=", <number>], got [">","5"]',
    );
  });

  it('names the pattern itself when an EventPattern is an empty object', () => {
    expect(() => compileEventPattern({}, 'Rule.EventPattern')).toThrow(
      new FilterCriteriaError('Rule.EventPattern: the pattern must not be an empty object'),
    );
  });

  it('refuses a match value JSON cannot carry (an EventPattern given as an object)', () => {
    expect(() => compileEventPattern({ source: [undefined] }, 'Rule.EventPattern')).toThrow(
      new FilterCriteriaError('Rule.EventPattern: source: unsupported match value undefined'),
    );
  });
});
