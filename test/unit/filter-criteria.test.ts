import { describe, expect, it } from 'vitest';
import {
  compileFilterCriteria,
  FilterCriteriaError,
  MAX_PATTERN_LENGTH,
} from '../../local/triggers/filter-criteria';
import { fifoRecord, sqsRecord } from '../helpers/sqs-events';

/*
 * Cases cite AWS's documentation:
 * [EF]  Lambda Developer Guide, "Lambda event filtering" (invocation-eventfiltering), "Filter rule syntax" table
 * [SQS] Lambda Developer Guide, "Using event filtering with an Amazon SQS event source" (with-sqs-filtering)
 * [EB]  EventBridge User Guide, "Comparison operators for use in event patterns" (eb-create-pattern-operators)
 * [API] Lambda API Reference, "Filter" (Pattern: at most 4096 characters)
 */

const pattern = (p: unknown) => ({ Filters: [{ Pattern: JSON.stringify(p) }] });
const matches = (p: unknown, body: string, messageAttributes?: Record<string, string>) =>
  compileFilterCriteria(pattern(p))(sqsRecord({ body, messageAttributes }));

const json = (o: unknown) => JSON.stringify(o);

interface Case {
  readonly doc: string;
  readonly pattern: unknown;
  readonly body: string;
  readonly matches: boolean;
}

const BODY_CASES: readonly Case[] = [
  // [SQS] the documented examples
  {
    doc: '[SQS] RequestCode is BBBB',
    pattern: { body: { RequestCode: ['BBBB'] } },
    body: json({ RequestCode: 'BBBB' }),
    matches: true,
  },
  {
    doc: '[SQS] RequestCode is BBBB (AAAA)',
    pattern: { body: { RequestCode: ['BBBB'] } },
    body: json({ RequestCode: 'AAAA' }),
    matches: false,
  },
  {
    doc: '[SQS] RecordNumber > 9999',
    pattern: { body: { RecordNumber: [{ numeric: ['>', 9999] }] } },
    body: json({ RecordNumber: 10000 }),
    matches: true,
  },
  {
    doc: '[SQS] RecordNumber > 9999 (1234)',
    pattern: { body: { RecordNumber: [{ numeric: ['>', 9999] }] } },
    body: json({ RecordNumber: 1234 }),
    matches: false,
  },
  // [EF] Null, Empty, Equals
  {
    doc: '[EF] Null: UserID is null',
    pattern: { body: { UserID: [null] } },
    body: json({ UserID: null }),
    matches: true,
  },
  {
    doc: '[EF] Null: a missing field is not null',
    pattern: { body: { UserID: [null] } },
    body: json({}),
    matches: false,
  },
  {
    doc: '[EF] Null: a string is not null',
    pattern: { body: { UserID: [null] } },
    body: json({ UserID: 'u' }),
    matches: false,
  },
  {
    doc: '[EF] Empty: LastName is empty',
    pattern: { body: { LastName: [''] } },
    body: json({ LastName: '' }),
    matches: true,
  },
  {
    doc: '[EF] Empty: non-empty',
    pattern: { body: { LastName: [''] } },
    body: json({ LastName: 'x' }),
    matches: false,
  },
  {
    doc: '[EF] Equals: Name is Alice',
    pattern: { body: { Name: ['Alice'] } },
    body: json({ Name: 'Alice' }),
    matches: true,
  },
  {
    doc: '[EF] Equals is case-sensitive',
    pattern: { body: { Name: ['Alice'] } },
    body: json({ Name: 'alice' }),
    matches: false,
  },
  {
    doc: '[EF] Equals: a number does not equal its string',
    pattern: { body: { n: [5] } },
    body: json({ n: '5' }),
    matches: false,
  },
  { doc: '[EF] Equals: a number', pattern: { body: { n: [5] } }, body: json({ n: 5 }), matches: true },
  {
    doc: '[EF] Equals: a boolean',
    pattern: { body: { ok: [true] } },
    body: json({ ok: true }),
    matches: true,
  },
  {
    doc: '[EF] Equals: a missing field does not match',
    pattern: { body: { Name: ['Alice'] } },
    body: json({ Other: 'Alice' }),
    matches: false,
  },
  // [EF] Equals (ignore case)
  {
    doc: '[EF] Equals (ignore case)',
    pattern: { body: { Name: [{ 'equals-ignore-case': 'alice' }] } },
    body: json({ Name: 'ALICE' }),
    matches: true,
  },
  {
    doc: '[EF] Equals (ignore case), other',
    pattern: { body: { Name: [{ 'equals-ignore-case': 'alice' }] } },
    body: json({ Name: 'Bob' }),
    matches: false,
  },
  // [EF] And, Or
  {
    doc: '[EF] And: both keys match',
    pattern: { body: { Location: ['New York'], Day: ['Monday'] } },
    body: json({ Location: 'New York', Day: 'Monday' }),
    matches: true,
  },
  {
    doc: '[EF] And: one key fails',
    pattern: { body: { Location: ['New York'], Day: ['Monday'] } },
    body: json({ Location: 'New York', Day: 'Tuesday' }),
    matches: false,
  },
  {
    doc: '[EF] Or: Credit',
    pattern: { body: { PaymentType: ['Credit', 'Debit'] } },
    body: json({ PaymentType: 'Credit' }),
    matches: true,
  },
  {
    doc: '[EF] Or: Debit',
    pattern: { body: { PaymentType: ['Credit', 'Debit'] } },
    body: json({ PaymentType: 'Debit' }),
    matches: true,
  },
  {
    doc: '[EF] Or: Cash',
    pattern: { body: { PaymentType: ['Credit', 'Debit'] } },
    body: json({ PaymentType: 'Cash' }),
    matches: false,
  },
  // [EF] Not (anything-but) and [EB] its variants
  {
    doc: '[EF] Not: Sunny',
    pattern: { body: { Weather: [{ 'anything-but': ['Raining'] }] } },
    body: json({ Weather: 'Sunny' }),
    matches: true,
  },
  {
    doc: '[EF] Not: Raining',
    pattern: { body: { Weather: [{ 'anything-but': ['Raining'] }] } },
    body: json({ Weather: 'Raining' }),
    matches: false,
  },
  {
    doc: '[EB] anything-but: a missing field does not match',
    pattern: { body: { Weather: [{ 'anything-but': ['Raining'] }] } },
    body: json({}),
    matches: false,
  },
  {
    doc: '[EB] anything-but: a single string',
    pattern: { body: { state: [{ 'anything-but': 'initializing' }] } },
    body: json({ state: 'running' }),
    matches: true,
  },
  {
    doc: '[EB] anything-but: a list of numbers',
    pattern: { body: { code: [{ 'anything-but': [100, 200] }] } },
    body: json({ code: 200 }),
    matches: false,
  },
  {
    doc: '[EB] anything-but prefix: eu-west-1',
    pattern: { body: { Region: [{ 'anything-but': { prefix: 'us-' } }] } },
    body: json({ Region: 'eu-west-1' }),
    matches: true,
  },
  {
    doc: '[EB] anything-but prefix: us-east-1',
    pattern: { body: { Region: [{ 'anything-but': { prefix: 'us-' } }] } },
    body: json({ Region: 'us-east-1' }),
    matches: false,
  },
  {
    doc: '[EB] anything-but suffix',
    pattern: { body: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
    body: json({ FileName: 'a.png' }),
    matches: false,
  },
  {
    doc: '[EB] anything-but equals-ignore-case',
    pattern: { body: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing'] } }] } },
    body: json({ state: 'INITIALIZING' }),
    matches: false,
  },
  // [EF] Numeric (equals), Numeric (range)
  {
    doc: '[EF] Numeric equals: Price is 100',
    pattern: { body: { Price: [{ numeric: ['=', 100] }] } },
    body: json({ Price: 100 }),
    matches: true,
  },
  {
    doc: '[EF] Numeric equals: 101',
    pattern: { body: { Price: [{ numeric: ['=', 100] }] } },
    body: json({ Price: 101 }),
    matches: false,
  },
  {
    doc: '[EF] Numeric: a numeric string is not a number',
    pattern: { body: { Price: [{ numeric: ['=', 100] }] } },
    body: json({ Price: '100' }),
    matches: false,
  },
  {
    doc: '[EF] Numeric range (10, 20]: 20',
    pattern: { body: { Price: [{ numeric: ['>', 10, '<=', 20] }] } },
    body: json({ Price: 20 }),
    matches: true,
  },
  {
    doc: '[EF] Numeric range (10, 20]: 10',
    pattern: { body: { Price: [{ numeric: ['>', 10, '<=', 20] }] } },
    body: json({ Price: 10 }),
    matches: false,
  },
  {
    doc: '[EF] Numeric range (10, 20]: 20.5',
    pattern: { body: { Price: [{ numeric: ['>', 10, '<=', 20] }] } },
    body: json({ Price: 20.5 }),
    matches: false,
  },
  {
    doc: '[EF] Numeric <',
    pattern: { body: { t: [{ numeric: ['<', 0] }] } },
    body: json({ t: -1 }),
    matches: true,
  },
  {
    doc: '[EF] Numeric >=',
    pattern: { body: { t: [{ numeric: ['>=', 0] }] } },
    body: json({ t: 0 }),
    matches: true,
  },
  // [EF] Exists, Does not exist
  {
    doc: '[EF] Exists: ProductName exists',
    pattern: { body: { ProductName: [{ exists: true }] } },
    body: json({ ProductName: 'x' }),
    matches: true,
  },
  {
    doc: '[EF] Exists: missing',
    pattern: { body: { ProductName: [{ exists: true }] } },
    body: json({}),
    matches: false,
  },
  {
    doc: '[EB] Exists works on leaves: an object is not a leaf',
    pattern: { body: { ProductName: [{ exists: true }] } },
    body: json({ ProductName: { a: 1 } }),
    matches: false,
  },
  {
    doc: '[EF] Does not exist: missing',
    pattern: { body: { ProductName: [{ exists: false }] } },
    body: json({}),
    matches: true,
  },
  {
    doc: '[EF] Does not exist: present',
    pattern: { body: { ProductName: [{ exists: false }] } },
    body: json({ ProductName: 'x' }),
    matches: false,
  },
  // [EF] Begins with, Ends with
  {
    doc: '[EF] Begins with: us-east-1',
    pattern: { body: { Region: [{ prefix: 'us-' }] } },
    body: json({ Region: 'us-east-1' }),
    matches: true,
  },
  {
    doc: '[EF] Begins with: eu-west-1',
    pattern: { body: { Region: [{ prefix: 'us-' }] } },
    body: json({ Region: 'eu-west-1' }),
    matches: false,
  },
  {
    doc: '[EB] Begins with (ignore case)',
    pattern: { body: { Region: [{ prefix: { 'equals-ignore-case': 'US-' } }] } },
    body: json({ Region: 'us-east-1' }),
    matches: true,
  },
  {
    doc: '[EF] Ends with: .png',
    pattern: { body: { FileName: [{ suffix: '.png' }] } },
    body: json({ FileName: 'image.png' }),
    matches: true,
  },
  {
    doc: '[EF] Ends with: .jpg',
    pattern: { body: { FileName: [{ suffix: '.png' }] } },
    body: json({ FileName: 'image.jpg' }),
    matches: false,
  },
  // [EF] multi-level filtering, [EB] arrays in the event
  {
    doc: '[EF] multi-level: nested field',
    pattern: { body: { Keys: { Id: { N: ['101'] } } } },
    body: json({ Keys: { Id: { N: '101' } } }),
    matches: true,
  },
  {
    doc: '[EF] multi-level: nested field differs',
    pattern: { body: { Keys: { Id: { N: ['101'] } } } },
    body: json({ Keys: { Id: { N: '102' } } }),
    matches: false,
  },
  {
    doc: '[EF] multi-level: parent missing',
    pattern: { body: { Keys: { Id: { N: ['101'] } } } },
    body: json({}),
    matches: false,
  },
  {
    doc: '[EB] an event array matches when one element matches',
    pattern: { body: { tags: ['b'] } },
    body: json({ tags: ['a', 'b'] }),
    matches: true,
  },
  {
    doc: '[EB] an event array without the value',
    pattern: { body: { tags: ['c'] } },
    body: json({ tags: ['a', 'b'] }),
    matches: false,
  },
  {
    doc: '[EB] a nested pattern over an array of objects',
    pattern: { body: { items: { id: [2] } } },
    body: json({ items: [{ id: 1 }, { id: 2 }] }),
    matches: true,
  },
  // [SQS] body format evaluation table
  {
    doc: '[SQS] plain-string body, plain-string pattern: filtered',
    pattern: { body: [{ prefix: 'Result: ' }] },
    body: 'Result: ok',
    matches: true,
  },
  {
    doc: '[SQS] plain-string body, plain-string pattern: no match',
    pattern: { body: [{ prefix: 'Result: ' }] },
    body: 'Other',
    matches: false,
  },
  {
    doc: '[SQS] plain-string body, exact plain-string pattern',
    pattern: { body: ['hello'] },
    body: 'hello',
    matches: true,
  },
  {
    doc: '[SQS] plain-string body, JSON pattern: dropped',
    pattern: { body: { a: [{ exists: false }] } },
    body: 'not json',
    matches: false,
  },
  {
    doc: '[SQS] JSON body, plain-string pattern: dropped',
    pattern: { body: [{ prefix: '{' }] },
    body: json({ a: 1 }),
    matches: false,
  },
  {
    doc: '[SQS] a JSON scalar body is JSON, not a plain string',
    pattern: { body: ['123'] },
    body: '123',
    matches: false,
  },
  {
    doc: '[SQS] JSON body, JSON pattern: filtered',
    pattern: { body: { a: [1] } },
    body: json({ a: 1 }),
    matches: true,
  },
  {
    doc: '[SQS] no body pattern: a plain-string body is filtered on metadata only',
    pattern: { attributes: { ApproximateReceiveCount: ['1'] } },
    body: 'not json',
    matches: true,
  },
];

describe('compileFilterCriteria: matching', () => {
  it.each(BODY_CASES)('$doc', ({ pattern: p, body, matches: expected }) => {
    expect(matches(p, body)).toBe(expected);
  });

  it('[EF] matches metadata properties: attributes and messageAttributes (string values)', () => {
    const record = fifoRecord({
      messageGroupId: 'tenant-7',
      body: json({ a: 1 }),
      messageAttributes: { type: 'order' },
    });
    const test = (p: unknown) => compileFilterCriteria(pattern(p))(record);
    expect(test({ attributes: { MessageGroupId: ['tenant-7'] } })).toBe(true);
    expect(test({ attributes: { MessageGroupId: [{ prefix: 'tenant-' }] }, body: { a: [1] } })).toBe(true);
    expect(test({ attributes: { MessageGroupId: ['tenant-8'] } })).toBe(false);
    expect(test({ messageAttributes: { type: { stringValue: ['order'] } } })).toBe(true);
    expect(test({ messageAttributes: { type: { stringValue: ['refund'] } } })).toBe(false);
    expect(test({ messageAttributes: { missing: { stringValue: [{ exists: false }] } } })).toBe(true);
    // Attribute values are strings: a numeric comparison does not match them.
    expect(test({ attributes: { ApproximateReceiveCount: [{ numeric: ['=', 1] }] } })).toBe(false);
    // And across metadata and body: the body part fails.
    expect(test({ attributes: { MessageGroupId: ['tenant-7'] }, body: { a: [2] } })).toBe(false);
  });

  it('[EF] ORs the filters: a record passes when one filter matches', () => {
    const filter = compileFilterCriteria({
      Filters: [{ Pattern: json({ body: { kind: ['a'] } }) }, { Pattern: json({ body: { kind: ['b'] } }) }],
    });
    expect(['a', 'b', 'c'].map((kind) => filter(sqsRecord({ body: json({ kind }) })))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('passes every record when there are no filters', () => {
    expect(compileFilterCriteria({})(sqsRecord({ body: 'x' }))).toBe(true);
    expect(compileFilterCriteria({ Filters: [] })(sqsRecord({ body: 'x' }))).toBe(true);
  });
});

const INVALID: readonly { readonly why: string; readonly criteria: unknown; readonly message: RegExp }[] = [
  {
    why: 'invalid JSON',
    criteria: { Filters: [{ Pattern: '{ "body": ' }] },
    message: /Filters\[0\]\.Pattern is not valid JSON/,
  },
  {
    why: 'a pattern that is not an object',
    criteria: { Filters: [{ Pattern: '["a"]' }] },
    message: /must be a JSON object/,
  },
  {
    why: 'a missing Pattern',
    criteria: { Filters: [{}] },
    message: /Filters\[0\]\.Pattern must be a string/,
  },
  {
    why: 'a leaf that is not an array',
    criteria: pattern({ body: { RequestCode: 'BBBB' } }),
    message: /body\.RequestCode must be an array of match values/,
  },
  {
    why: 'a numeric leaf that is not an array',
    criteria: pattern({ body: { n: 5 } }),
    message: /body\.n must be an array/,
  },
  {
    why: 'an unknown operator',
    criteria: pattern({ body: { n: [{ between: [1, 2] }] } }),
    message: /body\.n: unknown operator "between"/,
  },
  {
    why: 'wildcard (EventBridge only)',
    criteria: pattern({ body: { f: [{ wildcard: '*.png' }] } }),
    message: /unknown operator "wildcard"/,
  },
  {
    why: 'an operator object with two keys',
    criteria: pattern({ body: { n: [{ prefix: 'a', suffix: 'b' }] } }),
    message: /exactly one key/,
  },
  {
    why: 'a nested array as match value',
    criteria: pattern({ body: { n: [['a']] } }),
    message: /must not be an array/,
  },
  { why: 'an empty object', criteria: pattern({ body: {} }), message: /body must not be an empty object/ },
  { why: 'an empty pattern', criteria: pattern({}), message: /the pattern must not be an empty object/ },
  {
    why: 'a body that is neither object nor array',
    criteria: pattern({ body: 'x' }),
    message: /body must be an object/,
  },
  {
    why: 'numeric with a bad comparison',
    criteria: pattern({ body: { n: [{ numeric: ['!=', 1] }] } }),
    message: /unknown comparison "!="/,
  },
  {
    why: 'numeric with a string operand',
    criteria: pattern({ body: { n: [{ numeric: ['>', '1'] }] } }),
    message: /not a number/,
  },
  {
    why: 'numeric with three items',
    criteria: pattern({ body: { n: [{ numeric: ['>', 1, '<'] }] } }),
    message: /wrong shape/,
  },
  {
    why: 'numeric range upper bound first',
    criteria: pattern({ body: { n: [{ numeric: ['<', 10, '>', 1] }] } }),
    message: /not a range/,
  },
  {
    why: 'numeric empty range',
    criteria: pattern({ body: { n: [{ numeric: ['>', 10, '<', 1] }] } }),
    message: /empty range/,
  },
  {
    why: 'numeric outside EventBridge limits',
    criteria: pattern({ body: { n: [{ numeric: ['>', 6e9] }] } }),
    message: /outside -5e9\.\.5e9/,
  },
  {
    why: 'exists that is not a boolean',
    criteria: pattern({ body: { n: [{ exists: 'yes' }] } }),
    message: /exists must be true or false/,
  },
  {
    why: 'prefix that is not a string',
    criteria: pattern({ body: { n: [{ prefix: 1 }] } }),
    message: /prefix must be a string/,
  },
  {
    why: 'an empty prefix',
    criteria: pattern({ body: { n: [{ prefix: '' }] } }),
    message: /prefix must not be empty/,
  },
  {
    why: 'anything-but with an empty list',
    criteria: pattern({ body: { n: [{ 'anything-but': [] }] } }),
    message: /non-empty list/,
  },
  {
    why: 'anything-but mixing strings and numbers',
    criteria: pattern({ body: { n: [{ 'anything-but': ['a', 1] }] } }),
    message: /non-empty list of strings or of numbers/,
  },
  {
    why: 'anything-but with an unknown operand',
    criteria: pattern({ body: { n: [{ 'anything-but': { numeric: ['>', 1] } }] } }),
    message: /anything-but must be/,
  },
  {
    why: 'equals-ignore-case with a number',
    criteria: pattern({ body: { n: [{ 'equals-ignore-case': 1 }] } }),
    message: /equals-ignore-case must be a string/,
  },
  {
    why: 'more than five filters',
    criteria: { Filters: Array.from({ length: 6 }, (_, i) => ({ Pattern: json({ body: { i: [i] } }) })) },
    message: /has 6 filters; at most 5/,
  },
  {
    why: 'a pattern longer than 4096 characters',
    criteria: pattern({ body: { k: ['x'.repeat(MAX_PATTERN_LENGTH)] } }),
    message: /at most 4096/,
  },
];

describe('compileFilterCriteria: refusals (Lambda rejects these at mapping creation)', () => {
  it.each(INVALID)('refuses $why', ({ criteria, message }) => {
    let thrown: unknown;
    try {
      compileFilterCriteria(criteria as Parameters<typeof compileFilterCriteria>[0]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FilterCriteriaError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('names the failing filter by index', () => {
    expect(() =>
      compileFilterCriteria({
        Filters: [{ Pattern: json({ body: { a: ['x'] } }) }, { Pattern: json({ body: { a: 'x' } }) }],
      }),
    ).toThrow(/^FilterCriteria\.Filters\[1\]\.Pattern: body\.a must be an array/);
  });

  it('allows ten filters when the quota is raised', () => {
    const criteria = {
      Filters: Array.from({ length: 10 }, (_, i) => ({ Pattern: json({ body: { i: [i] } }) })),
    };
    const filter = compileFilterCriteria(criteria, { maxFilters: 10 });
    expect(filter(sqsRecord({ body: json({ i: 9 }) }))).toBe(true);
    expect(filter(sqsRecord({ body: json({ i: 10 }) }))).toBe(false);
  });
});
