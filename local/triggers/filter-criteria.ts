import type { SQSRecord } from 'aws-lambda';

/*
 * Lambda event filtering for SQS and DynamoDB stream event source mappings, and EventBridge
 * event patterns (compileEventPattern: the same language over the event envelope), as AWS
 * documents it:
 *
 * - "Lambda event filtering" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html):
 *   up to five filters per event source mapping by default (a quota increase allows ten), ORed
 *   together; a record that satisfies none is discarded — for SQS, deleted from the queue without
 *   invoking the function. A filter pattern names the fields it matches on; a record must contain
 *   every field the pattern names (except under `exists: false`), and fields the pattern does not
 *   name are ignored.
 * - "Filter rule syntax" (same page): Null `[null]`, Empty `[""]`, Equals `["Alice"]`, Equals
 *   (ignore case) `[{"equals-ignore-case": "name"}]`, And (several keys), Or (several values),
 *   Not `[{"anything-but": ["Raining"]}]`, Numeric (equals) `[{"numeric": ["=", 100]}]`, Numeric
 *   (range) `[{"numeric": [">", 10, "<=", 20]}]`, Exists `[{"exists": true}]`, Does not exist
 *   `[{"exists": false}]`, Begins with `[{"prefix": "us-"}]`, Ends with `[{"suffix": ".png"}]`.
 *   "Lambda supports the same set of syntax and rules as Amazon EventBridge"; from EventBridge's
 *   "Comparison operators for use in event patterns" this module also takes `anything-but` with a
 *   `prefix`, `suffix` or `equals-ignore-case` operand, and `prefix`/`suffix` with an
 *   `equals-ignore-case` operand.
 * - "Using event filtering with an Amazon SQS event source"
 *   (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html): the data key is
 *   `body`. Lambda compares the format of the message body with the format of the pattern for
 *   `body`: a JSON body against a JSON (object) pattern, or a plain-string body against a
 *   plain-string (array) pattern, is filtered; a mismatch (non-JSON body against an object
 *   pattern, JSON body against an array pattern) drops the message; a pattern without `body`
 *   skips the check.
 * - "Using event filtering with a DynamoDB event source"
 *   (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html): patterns name the
 *   stream record's own fields (`eventName`, `dynamodb.Keys…`, `dynamodb.NewImage.<attribute>.S`),
 *   matched as they are (no data key is parsed: `dataKey: null`).
 * - `Filter.Pattern` (Lambda API reference, "Filter"): a string of at most 4096 characters.
 *
 * What this module does not reproduce: EventBridge's `wildcard`, `cidr` and `$or` (not in Lambda's
 * table; refused as unknown operators), and numbers are compared by value (AWS documents "300,
 * 300.0 and 3.0e2 are not considered equal" for equality; here JSON parsing makes them equal).
 */

/** The `FilterCriteria` of an `AWS::Lambda::EventSourceMapping`. */
export interface FilterCriteria {
  readonly Filters?: readonly { readonly Pattern?: string }[];
}

/** Options of {@link compileFilterCriteria}. */
export interface CompileFilterCriteriaOptions {
  /** Most filters allowed on one mapping (Lambda's default quota; it can be raised to 10). @default 5 */
  readonly maxFilters?: number;
  /**
   * The record's data key, whose string value is parsed as JSON for matching: `body` for SQS;
   * `null` for DynamoDB Streams, whose records are matched as they are ("Using event filtering
   * with a DynamoDB event source": patterns name the record's own fields, `eventName`,
   * `dynamodb.NewImage.<attribute>.S`, …). @default 'body'
   */
  readonly dataKey?: 'body' | null;
}

/** A compiled filter: whether Lambda would pass the record to the function. */
export type RecordFilter<T = SQSRecord> = (record: T) => boolean;

/** An invalid `FilterCriteria`: Lambda refuses such a mapping at creation. */
export class FilterCriteriaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterCriteriaError';
  }
}

/** Most characters in one `Filter.Pattern` (Lambda API reference, "Filter"). */
export const MAX_PATTERN_LENGTH = 4096;

/** EventBridge's numeric matching range ("Numeric matching": -5.0e9 to +5.0e9 inclusive). */
const NUMERIC_LIMIT = 5e9;

const OPERATORS = ['anything-but', 'equals-ignore-case', 'exists', 'numeric', 'prefix', 'suffix'] as const;
type Operator = (typeof OPERATORS)[number];

const NUMERIC_OPERATORS = ['=', '<', '<=', '>', '>='] as const;
type NumericOperator = (typeof NUMERIC_OPERATORS)[number];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A leaf test on one field's value; `undefined` is a missing field. */
type ValueTest = (value: Json | undefined) => boolean;

/** A test on an object (the record, a parsed body, a nested field). */
type ObjectTest = (value: Json | undefined) => boolean;

/**
 * Validates `filterCriteria` the way Lambda does at mapping creation (throws a
 * {@link FilterCriteriaError} naming the filter and field) and returns the filter Lambda applies
 * to each SQS record: `true` when at least one filter matches. No filters: every record passes.
 */
export function compileFilterCriteria<T = SQSRecord>(
  filterCriteria: FilterCriteria,
  options: CompileFilterCriteriaOptions = {},
): RecordFilter<T> {
  const maxFilters = options.maxFilters ?? 5;
  const filters = filterCriteria.Filters ?? [];
  if (!Array.isArray(filters)) throw new FilterCriteriaError('FilterCriteria.Filters must be an array');
  if (filters.length > maxFilters) {
    throw new FilterCriteriaError(
      `FilterCriteria.Filters has ${filters.length} filters; at most ${maxFilters} are allowed per event source mapping`,
    );
  }
  if (filters.length === 0) return () => true;
  const compiled = filters.map((filter, i) =>
    compilePattern(filter?.Pattern, `FilterCriteria.Filters[${i}].Pattern`, options.dataKey !== null),
  );
  return (record) => compiled.some((test) => test(record as unknown as SQSRecord));
}

/**
 * Compiles an EventBridge rule's `EventPattern` (an object, as CloudFormation takes it, or its
 * JSON text) into a test of an event envelope (`source`, `detail-type`, `detail`, …): the same
 * pattern language as Lambda's filters ("Lambda supports the same set of syntax and rules as
 * Amazon EventBridge"), matched on the envelope as it is. Throws a {@link FilterCriteriaError}
 * naming `where` for an invalid pattern.
 */
export function compileEventPattern(pattern: unknown, where: string): (event: object) => boolean {
  let parsed = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (error) {
      throw new FilterCriteriaError(`${where} is not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isObject(parsed)) throw new FilterCriteriaError(`${where} must be a JSON object`);
  const test = compileObject(parsed, where, '');
  return (event) => test(event as Json);
}

function compilePattern(pattern: unknown, where: string, withBody: boolean): RecordFilter {
  if (typeof pattern !== 'string') throw new FilterCriteriaError(`${where} must be a string`);
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new FilterCriteriaError(
      `${where} is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch (error) {
    throw new FilterCriteriaError(`${where} is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new FilterCriteriaError(`${where} must be a JSON object`);
  if (Object.keys(parsed).length === 0)
    throw new FilterCriteriaError(`${where}: the pattern must not be an empty object`);
  if (!withBody) {
    const test = compileObject(parsed, where, '');
    return (record) => test(record as unknown as Json);
  }
  const { body, ...metadata } = parsed;
  const metadataTest = Object.keys(metadata).length > 0 ? compileObject(metadata, where, '') : undefined;
  const bodyTest = body === undefined ? undefined : compileBody(body, where);
  return (record) => {
    if (metadataTest && !metadataTest(record as unknown as Json)) return false;
    return bodyTest ? bodyTest(record.body) : true;
  };
}

/** The `body` part: an object pattern filters JSON bodies, an array pattern plain-string bodies. */
function compileBody(pattern: unknown, where: string): (body: string | undefined) => boolean {
  if (Array.isArray(pattern)) {
    const test = compileLeaf(pattern, where, 'body');
    return (body) => body !== undefined && parseJson(body) === NOT_JSON && test(body);
  }
  if (isObject(pattern)) {
    const test = compileObject(pattern, where, 'body');
    return (body) => {
      if (body === undefined) return false;
      const parsed = parseJson(body);
      return parsed !== NOT_JSON && test(parsed);
    };
  }
  throw new FilterCriteriaError(
    `${where}: body must be an object (JSON bodies) or an array of match values (plain-string bodies)`,
  );
}

function compileObject(pattern: Record<string, unknown>, where: string, path: string): ObjectTest {
  const keys = Object.keys(pattern);
  if (keys.length === 0)
    throw new FilterCriteriaError(`${where}: ${path || 'the pattern'} must not be an empty object`);
  const tests = keys.map((key): ObjectTest => {
    const at = path ? `${path}.${key}` : key;
    const sub = pattern[key];
    if (Array.isArray(sub)) {
      const test = compileLeaf(sub, where, at);
      return (value) => test(field(value, key));
    }
    if (isObject(sub)) {
      const test = compileObject(sub, where, at);
      return (value) => test(field(value, key));
    }
    throw new FilterCriteriaError(
      `${where}: ${at} must be an array of match values or an object of fields, not ${JSON.stringify(sub)}`,
    );
  });
  // A nested pattern over an array of objects matches when one element matches (EventBridge).
  return (value) =>
    Array.isArray(value) ? value.some((v) => tests.every((t) => t(v))) : tests.every((t) => t(value));
}

/** A field of `value`, or `undefined` when `value` is not an object or lacks it. */
function field(value: Json | undefined, key: string): Json | undefined {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** An array of match values, ORed. An event array matches when one of its elements matches. */
function compileLeaf(values: unknown[], where: string, at: string): ValueTest {
  const tests = values.map((v) => compileMatchValue(v, where, at));
  const presence = tests.filter((t) => t.presence);
  const scalar = tests.filter((t) => !t.presence);
  return (value) => {
    if (presence.some((t) => t.test(value))) return true;
    if (value === undefined) return false;
    const candidates = Array.isArray(value) ? value : [value];
    return candidates.some((c) => scalar.some((t) => t.test(c)));
  };
}

interface MatchTest {
  /** Tests presence (`exists`): sees the field as a whole, missing included. */
  readonly presence: boolean;
  readonly test: ValueTest;
}

function compileMatchValue(v: unknown, where: string, at: string): MatchTest {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') {
    return { presence: false, test: (x) => x === v };
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FilterCriteriaError(`${where}: ${at}: ${v} is not a finite number`);
    return { presence: false, test: (x) => typeof x === 'number' && x === v };
  }
  if (Array.isArray(v)) {
    throw new FilterCriteriaError(
      `${where}: ${at}: a match value must not be an array (${JSON.stringify(v)})`,
    );
  }
  if (!isObject(v))
    throw new FilterCriteriaError(`${where}: ${at}: unsupported match value ${JSON.stringify(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1) {
    throw new FilterCriteriaError(
      `${where}: ${at}: an operator object must have exactly one key, not ${JSON.stringify(v)}`,
    );
  }
  const op = keys[0]!;
  if (!(OPERATORS as readonly string[]).includes(op)) {
    throw new FilterCriteriaError(
      `${where}: ${at}: unknown operator "${op}" (supported: ${OPERATORS.join(', ')})`,
    );
  }
  return compileOperator(op as Operator, v[op], where, `${at}.${op}`);
}

function compileOperator(op: Operator, operand: unknown, where: string, at: string): MatchTest {
  switch (op) {
    case 'exists': {
      if (typeof operand !== 'boolean')
        throw new FilterCriteriaError(`${where}: ${at} must be true or false`);
      // Exists matching works on leaf fields: a field holding an object is not a leaf.
      const exists = (x: Json | undefined) => x !== undefined && !isObject(x);
      return { presence: true, test: (x) => exists(x) === operand };
    }
    case 'prefix':
    case 'suffix': {
      const cmp = stringOperand(operand, where, at);
      const test =
        op === 'prefix' ? (s: string, p: string) => s.startsWith(p) : (s: string, p: string) => s.endsWith(p);
      return {
        presence: false,
        test: (x) => typeof x === 'string' && test(cmp.fold(x), cmp.value),
      };
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') throw new FilterCriteriaError(`${where}: ${at} must be a string`);
      const want = operand.toLowerCase();
      return { presence: false, test: (x) => typeof x === 'string' && x.toLowerCase() === want };
    }
    case 'numeric':
      return { presence: false, test: compileNumeric(operand, where, at) };
    case 'anything-but':
      return { presence: false, test: compileAnythingBut(operand, where, at) };
  }
}

/** A `prefix`/`suffix` operand: a non-empty string, or `{ "equals-ignore-case": string }`. */
function stringOperand(
  operand: unknown,
  where: string,
  at: string,
): { value: string; fold: (s: string) => string } {
  if (typeof operand === 'string') {
    if (operand === '') throw new FilterCriteriaError(`${where}: ${at} must not be empty`);
    return { value: operand, fold: (s) => s };
  }
  if (
    isObject(operand) &&
    Object.keys(operand).length === 1 &&
    typeof operand['equals-ignore-case'] === 'string'
  ) {
    const value = operand['equals-ignore-case'];
    if (value === '') throw new FilterCriteriaError(`${where}: ${at} must not be empty`);
    return { value: value.toLowerCase(), fold: (s) => s.toLowerCase() };
  }
  throw new FilterCriteriaError(`${where}: ${at} must be a string or {"equals-ignore-case": "<string>"}`);
}

function compileNumeric(operand: unknown, where: string, at: string): ValueTest {
  const bad = (why: string) =>
    new FilterCriteriaError(
      `${where}: ${at} ${why}: expected ["<op>", <number>] or [">"|">=", <number>, "<"|"<=", <number>], got ${JSON.stringify(operand)}`,
    );
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4))
    throw bad('has the wrong shape');
  const comparisons: [NumericOperator, number][] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const [o, n] = [operand[i], operand[i + 1]];
    if (!(NUMERIC_OPERATORS as readonly unknown[]).includes(o))
      throw bad(`has an unknown comparison ${JSON.stringify(o)}`);
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw bad(`compares with ${JSON.stringify(n)}, not a number`);
    if (Math.abs(n) > NUMERIC_LIMIT) throw bad(`compares with ${n}, outside -5e9..5e9`);
    comparisons.push([o as NumericOperator, n]);
  }
  if (comparisons.length === 2) {
    const [[lo, low], [hi, high]] = comparisons as [[NumericOperator, number], [NumericOperator, number]];
    if (!(lo === '>' || lo === '>=') || !(hi === '<' || hi === '<='))
      throw bad('is not a range (lower bound first)');
    if (!(low < high)) throw bad('has an empty range');
  }
  return (x) => typeof x === 'number' && comparisons.every(([o, n]) => compare(x, o, n));
}

function compare(x: number, op: NumericOperator, n: number): boolean {
  switch (op) {
    case '=':
      return x === n;
    case '<':
      return x < n;
    case '<=':
      return x <= n;
    case '>':
      return x > n;
    case '>=':
      return x >= n;
  }
}

/**
 * `anything-but`: a string, a number, a non-empty list of strings or of numbers, or one of
 * `{prefix}`, `{suffix}`, `{equals-ignore-case: string | string[]}`. A missing field does not match.
 */
function compileAnythingBut(operand: unknown, where: string, at: string): ValueTest {
  if (typeof operand === 'string' || typeof operand === 'number') return (x) => x !== operand;
  if (Array.isArray(operand)) {
    const allStrings = operand.every((o) => typeof o === 'string');
    const allNumbers = operand.every((o) => typeof o === 'number' && Number.isFinite(o));
    if (operand.length === 0 || !(allStrings || allNumbers)) {
      throw new FilterCriteriaError(`${where}: ${at} must be a non-empty list of strings or of numbers`);
    }
    const excluded = new Set<unknown>(operand);
    return (x) => !excluded.has(x);
  }
  if (isObject(operand) && Object.keys(operand).length === 1) {
    const [key] = Object.keys(operand) as [string];
    const inner = operand[key];
    if (key === 'prefix' || key === 'suffix') {
      if (typeof inner !== 'string' || inner === '') {
        throw new FilterCriteriaError(`${where}: ${at}.${key} must be a non-empty string`);
      }
      return key === 'prefix'
        ? (x) => typeof x === 'string' && !x.startsWith(inner)
        : (x) => typeof x === 'string' && !x.endsWith(inner);
    }
    if (key === 'equals-ignore-case') {
      const list = typeof inner === 'string' ? [inner] : inner;
      if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string')) {
        throw new FilterCriteriaError(
          `${where}: ${at}.equals-ignore-case must be a string or a non-empty list of strings`,
        );
      }
      const excluded = new Set((list as string[]).map((s) => s.toLowerCase()));
      return (x) => typeof x === 'string' && !excluded.has(x.toLowerCase());
    }
  }
  throw new FilterCriteriaError(
    `${where}: ${at} must be a string, a number, a list of them, or {"prefix"|"suffix"|"equals-ignore-case": …}`,
  );
}

const NOT_JSON: unique symbol = Symbol('not JSON');

function parseJson(text: string): Json | typeof NOT_JSON {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return NOT_JSON;
  }
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
