import fc from 'fast-check';
import { request as httpRequest, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerInvocations } from '../helpers/local';
import { depth, startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/shared/constants';

// Fuzzes the running API of a local stage (docs/DESIGN.md §§2.6, 3 and 6) with a few thousand
// generated requests: whatever arrives, the answer is never 5xx, every refusal carries the JSON
// error contract, no producer sandbox dies, the stage keeps working, and exactly the messages the
// API accepted are ever consumed.

const SEED = 0x5eed_2026;
const LIMIT = DEFAULT_MAX_BODY_BYTES; // the producer's MAX_BODY_BYTES in stage local
const GATEWAY_LIMIT = 10 * 1024 * 1024; // API Gateway's own request limit
const CONCURRENCY = 16;
const ROUTES = ['/v1/messages', '/v1/messages/batch'] as const;
/** Every status the contract allows locally (no usage plan, so no 429; SQS is healthy, so no 503). */
const ALLOWED_STATUSES = new Set([202, 207, 400, 403, 404, 405, 413, 415]);

type Category =
  | 'malformed-json'
  | 'wrong-types'
  | 'huge'
  | 'deep-nesting'
  | 'unicode'
  | 'method-path'
  | 'content-type'
  | 'api-key'
  | 'batch'
  | 'idempotency-key';

/** One generated request. `raw` ones go through node:http (odd header bytes, bodies on GET/HEAD). */
interface FuzzRequest {
  readonly category: Category;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: Buffer;
  readonly raw?: boolean;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

// ---------------------------------------------------------------- value generators

type Entry = Record<string, unknown>;

const asciiId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,24}$/);
const probe = fc.record({
  type: fc.constant('probe'),
  payload: fc.record(
    {
      mode: fc.constantFrom('succeed', 'sleep'),
      sleepMs: fc.nat({ max: 5 }),
      tag: fc.string({ maxLength: 40 }),
    },
    { requiredKeys: ['mode'] },
  ),
});
const email = fc.record({
  type: fc.constant('email.send'),
  payload: fc.record({
    to: fc.constantFrom('a@example.com', 'first.last+tag@mail.example.org'),
    subject: fc.string({ minLength: 1, maxLength: 40 }),
    body: fc.string({ maxLength: 200 }),
  }),
});
const report = fc.record({
  type: fc.constant('report.generate'),
  payload: fc.record({
    reportId: asciiId,
    format: fc.constantFrom('csv', 'pdf', 'json'),
    from: fc.constant('2026-01-01'),
    to: fc.constantFrom('2026-01-01', '2026-03-31'),
  }),
});
const activity = fc.record({
  type: fc.constant('activity.recorded'),
  payload: fc.record({ userId: asciiId, action: fc.constantFrom('login', 'logout', 'click') }),
  orderingKey: asciiId,
});
const fifoProbe = fc.tuple(probe, asciiId).map(([e, orderingKey]) => ({ ...e, orderingKey }));
/** A valid `POST /v1/messages` body of every registered type, both queues. */
const validEntry: fc.Arbitrary<Entry> = fc.oneof(probe, email, report, activity, fifoProbe);
/** Free-text payload fields per type (where any string of the right length is valid). */
const TEXT_FIELDS: Record<string, string[]> = {
  probe: ['tag'],
  'email.send': ['subject', 'body'],
  'report.generate': ['reportId'],
  'activity.recorded': ['userId', 'action'],
};

/** A JSON value of the wrong type for nearly any field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** An entry that is certainly invalid (one field broken in a way no schema accepts). */
const invalidEntry: fc.Arbitrary<unknown> = fc.oneof(
  validEntry.map((e) => ({ ...e, type: 'nope.nope' })),
  validEntry.map((e) => ({ ...e, payload: undefined })),
  validEntry.map((e) => ({ ...e, payload: [e.payload] })),
  validEntry.map((e) => ({ ...e, unexpected: true })),
  validEntry.map((e) => ({ ...e, orderingKey: '' })),
  validEntry.map((e) => ({ ...e, delaySeconds: -1 })),
  validEntry.map((e) => ({ ...e, idempotencyKey: 'has space' })),
  validEntry.map((e) => ({ ...e, payload: { ...(e.payload as object), extra: 1 } })),
  fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.array(fc.jsonValue({ maxDepth: 1 }))),
);

/** Code points and sequences that tend to break text handling. */
const ODD = [
  '\ud800', // lone high surrogate
  '\udbff',
  '\udc00', // lone low surrogate
  '\udfff',
  '\ud83d', // half an emoji
  '\ufffe', // noncharacters
  '\uffff',
  '\ufdd0',
  '\u202e', // RTL override
  '\u202b',
  '\u200f', // RTL mark
  '\u061c',
  'مرحبا',
  'שלום',
  '\u200b', // zero-width space / joiners
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u0000', // NUL and other controls
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
  '😀',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  '🇺🇳',
  'e\u0301\u0301\u0301',
  '\u{10ffff}',
  '\u{e0001}',
  'ﷺ',
  '𝕏',
  '"',
  '\\',
  '\n',
];
const odd: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...ODD), weight: 4 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 3 }), weight: 1 },
      { arbitrary: fc.constantFrom('a', 'user-1', '.', ':'), weight: 1 },
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((parts) => parts.join(''));

// ---------------------------------------------------------------- encoding helpers

/**
 * UTF-8, except that lone surrogates are written as their 3-byte (WTF-8) form, which is invalid
 * UTF-8: what a sloppy client would put on the wire.
 */
function wtf8(text: string): Buffer {
  const out: Buffer[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff)
      out.push(Buffer.from([0xed, 0xa0 | ((cp >> 6) & 0x1f), 0x80 | (cp & 0x3f)]));
    else out.push(Buffer.from(ch, 'utf8'));
  }
  return Buffer.concat(out);
}

/** JSON text with lone surrogates and control characters unescaped (raw), or the normal escapes. */
function encodeJson(value: unknown, encoding: 'escaped' | 'raw'): Buffer {
  const text = JSON.stringify(value) ?? 'null';
  if (encoding === 'escaped') return Buffer.from(text, 'utf8');
  return wtf8(text.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
}

/** A header value carrying `text`'s UTF-8 bytes (as latin1 characters, the way HTTP carries them). */
function headerBytes(text: string): string {
  // Bytes HTTP forbids in a field value (controls other than tab) cannot be sent at all.
  return Buffer.from(wtf8(text).filter((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f))).toString('latin1');
}

const VALID_ID = /^[\x21-\x7e]{1,128}$/;
let unique = 0;
/** Makes a valid-looking idempotency key unique, so FIFO deduplication never hides an accepted message. */
function uniqueKey(key: unknown): unknown {
  if (typeof key !== 'string' || !VALID_ID.test(key)) return key;
  const suffix = `#${++unique}`;
  return key.slice(0, 128 - suffix.length) + suffix;
}

/**
 * Keeps whatever the fuzzer happens to get accepted quick to consume, so the queues drain within
 * the test: no delays, no probe retries or long sleeps, unique deduplication ids. Invalid values
 * are left alone (they are what is being fuzzed).
 */
function sanitizeEntry(e: unknown): unknown {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return e;
  const out: Record<string, unknown> = { ...(e as Record<string, unknown>) };
  const d = out.delaySeconds;
  if (typeof d === 'number' && Number.isInteger(d) && d > 0 && d <= 900) out.delaySeconds = d + 1000;
  if ('idempotencyKey' in out) out.idempotencyKey = uniqueKey(out.idempotencyKey);
  const p = out.payload;
  if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
    const payload: Record<string, unknown> = { ...(p as Record<string, unknown>) };
    if (typeof payload.failTimes === 'number' && payload.failTimes >= 1) payload.failTimes = -1;
    if (typeof payload.sleepMs === 'number' && payload.sleepMs > 20) payload.sleepMs = -1;
    if (typeof payload.mode === 'string' && !['succeed', 'sleep'].includes(payload.mode))
      payload.mode = 'nope';
    if (typeof payload.to === 'string' && payload.to.endsWith('.invalid')) payload.to += 'x';
    out.payload = payload;
  }
  return out;
}
function sanitize(body: unknown): unknown {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'messages' in body) {
    const m = (body as { messages: unknown }).messages;
    return { ...body, messages: Array.isArray(m) ? m.map(sanitizeEntry) : m };
  }
  return sanitizeEntry(body);
}

const jsonHeaders = (key: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-api-key': key,
});

// ---------------------------------------------------------------- request generators, per category

let seedOffset = 0;
function sample<T>(arb: fc.Arbitrary<T>, numRuns: number): T[] {
  return fc.sample(arb, { seed: SEED + ++seedOffset, numRuns });
}

const route = fc.constantFrom(...ROUTES);
/** A body for `route`: the entry itself, or a batch of it plus valid ones. */
function forRoute(path: string, entry: unknown, others: Entry[] = []): unknown {
  return path === '/v1/messages' ? entry : { messages: [entry, ...others] };
}

function malformedJson(key: string): FuzzRequest[] {
  const bodies = fc.oneof(
    // a valid body cut short
    fc
      .tuple(route, validEntry, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))
      .map(([path, e, f]) => {
        const text = JSON.stringify(forRoute(path, e));
        return { path, body: Buffer.from(text.slice(0, Math.floor(text.length * f)), 'utf8') };
      }),
    // a valid body with a few bytes overwritten by random ones
    fc
      .tuple(
        route,
        validEntry,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([path, e, edits]) => {
        const body = Buffer.from(JSON.stringify(sanitize(forRoute(path, e))), 'utf8');
        for (const [at, byte] of edits) body[at % body.length] = byte;
        return { path, body };
      }),
    // random bytes / random text
    fc.tuple(route, fc.uint8Array({ maxLength: 400 })).map(([path, b]) => ({ path, body: Buffer.from(b) })),
    fc
      .tuple(route, fc.string({ unit: 'binary', maxLength: 200 }))
      .map(([path, s]) => ({ path, body: wtf8(s) })),
    // JSON-like text that JSON.parse refuses
    fc
      .tuple(
        route,
        fc.constantFrom(
          '{',
          '}',
          '[',
          '"',
          '{"type":}',
          "{'type':'probe','payload':{'mode':'succeed'}}",
          '{"type":"probe","payload":{"mode":"succeed"},}',
          '{"type":"probe","payload":{"mode":"succeed"}}{"a":1}',
          '\ufeff{"type":"probe","payload":{"mode":"succeed"}}',
          '{"type":"probe","payload":{"mode":"succeed"}} x',
          'NaN',
          'undefined',
          '{"type":"probe","payload":{"mode":"succeed","sleepMs":01}}',
          '{"type":"probe","payload":{"mode":"succeed","sleepMs":Infinity}}',
          '{"type":"pro\nbe","payload":{}}',
          '{"type":"probe","payload":{"mode":"succ\u0000eed"}}',
          '{"type":"\\ud800\\u","payload":{}}',
          '{"messages":[{"type":"probe","payload":{"mode":"succeed"}},]}',
          '',
          ' ',
        ),
      )
      .map(([path, text]) => ({ path, body: Buffer.from(text, 'utf8') })),
  );
  return sample(bodies, 320).map(({ path, body }) => ({
    category: 'malformed-json',
    method: 'POST',
    path,
    headers: jsonHeaders(key),
    body,
  }));
}

function wrongTypes(key: string): FuzzRequest[] {
  const field = fc.constantFrom('type', 'payload', 'orderingKey', 'delaySeconds', 'idempotencyKey', 'extra');
  const bodies = fc.oneof(
    // a top-level value that is not an object
    fc.tuple(
      route,
      fc.oneof(
        fc.array(wrongValue, { maxLength: 5 }),
        fc.integer(),
        fc.double(),
        fc.constant(null),
        fc.string({ maxLength: 30 }),
        fc.boolean(),
        validEntry.map((e) => [e]),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    ),
    // one field of an entry with a value of the wrong type
    fc
      .tuple(
        route,
        fc.tuple(validEntry, field, wrongValue).map(([e, f, v]) => ({ ...e, [f]: v })),
      )
      .map(([path, e]) => [path, forRoute(path, e)] as const),
    // one payload field with a value of the wrong type
    fc.tuple(route, validEntry, fc.nat(), wrongValue).map(([path, e, i, v]) => {
      const payload = e.payload as Record<string, unknown>;
      const keys = Object.keys(payload);
      return [path, forRoute(path, { ...e, payload: { ...payload, [keys[i % keys.length]!]: v } })] as const;
    }),
    // the batch wrapper with wrong types
    fc.tuple(
      fc.constant('/v1/messages/batch'),
      fc.oneof(
        wrongValue.map((v) => ({ messages: v })),
        fc.array(wrongValue, { minLength: 1, maxLength: 5 }).map((m) => ({ messages: m })),
        fc.tuple(validEntry, wrongValue).map(([e, v]) => ({ messages: [e], extra: v })),
        validEntry.map((e) => ({ Messages: [e] })),
      ),
    ),
  );
  return sample(bodies, 420).map(([path, value]) => ({
    category: 'wrong-types',
    method: 'POST',
    path,
    headers: jsonHeaders(key),
    body: Buffer.from(JSON.stringify(sanitize(value)) ?? 'null', 'utf8'),
  }));
}

/** A body of exactly `bytes` bytes: `skeleton` with its fill strings grown from `filler`. */
function sized(bytes: number, filler: string, parts: number, skeleton: (fills: string[]) => unknown): Buffer {
  const base = Buffer.byteLength(JSON.stringify(skeleton(Array(parts).fill(''))));
  const need = Math.max(0, bytes - base);
  const unit = Buffer.byteLength(JSON.stringify(filler)) - 2; // as it appears inside a JSON string
  const per = Math.floor(need / parts);
  const fills = Array.from({ length: parts }, (_, i) => {
    const n = i === parts - 1 ? need - per * (parts - 1) : per;
    return filler.repeat(Math.floor(n / unit)) + 'x'.repeat(n % unit);
  });
  return Buffer.from(JSON.stringify(skeleton(fills)), 'utf8');
}

function huge(key: string): FuzzRequest[] {
  const emailWith = (body: string) => ({
    type: 'email.send',
    payload: { to: 'a@example.com', subject: 'big', body },
  });
  const shapes: Record<string, { path: string; parts: number; skeleton: (f: string[]) => unknown }> = {
    'email-body': { path: '/v1/messages', parts: 1, skeleton: ([f]) => emailWith(f!) },
    'probe-tag': {
      path: '/v1/messages',
      parts: 1,
      skeleton: ([f]) => ({ type: 'probe', payload: { mode: 'succeed', tag: f } }),
    },
    'extra-field': {
      path: '/v1/messages',
      parts: 1,
      skeleton: ([f]) => ({ type: 'probe', payload: { mode: 'succeed' }, padding: f }),
    },
    'fifo-email': {
      path: '/v1/messages',
      parts: 1,
      skeleton: ([f]) => ({ ...emailWith(f!), orderingKey: 'big-key' }),
    },
    batch: { path: '/v1/messages/batch', parts: 4, skeleton: (fs) => ({ messages: fs.map(emailWith) }) },
    'batch-of-100': {
      path: '/v1/messages/batch',
      parts: 100,
      skeleton: (fs) => ({ messages: fs.map(emailWith) }),
    },
  };
  const arb = fc.record({
    shape: fc.constantFrom(...Object.keys(shapes)),
    delta: fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -6000, max: 6000 })),
    filler: fc.constantFrom('x', '€', '😀', 'é', '\ud800'),
  });
  const requests: FuzzRequest[] = sample(arb, 48).map(({ shape, delta, filler }) => {
    const s = shapes[shape]!;
    return {
      category: 'huge',
      method: 'POST',
      path: s.path,
      headers: jsonHeaders(key),
      body: sized(LIMIT + delta, filler, s.parts, s.skeleton),
    };
  });
  // Beyond API Gateway's own 10 MB limit (answered by the gateway, not the function).
  requests.push({
    category: 'huge',
    method: 'POST',
    path: '/v1/messages',
    headers: jsonHeaders(key),
    body: sized(GATEWAY_LIMIT + 1, 'x', 1, ([f]) => emailWith(f!)),
  });
  return requests;
}

function deepNesting(key: string): FuzzRequest[] {
  const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const mixed = (n: number) => '[{"a":'.repeat(n) + 'null' + '}]'.repeat(n);
  const shapes: Record<string, { path: string; text: (nested: string) => string }> = {
    top: { path: '/v1/messages', text: (x) => x },
    'top-batch': { path: '/v1/messages/batch', text: (x) => x },
    payload: { path: '/v1/messages', text: (x) => `{"type":"probe","payload":${x}}` },
    'payload-field': {
      path: '/v1/messages',
      text: (x) => `{"type":"probe","payload":{"mode":"succeed","tag":${x}}}`,
    },
    'payload-extra': {
      path: '/v1/messages',
      text: (x) => `{"type":"email.send","payload":{"to":"a@example.com","subject":"s","body":"b","x":${x}}}`,
    },
    'entry-extra': {
      path: '/v1/messages',
      text: (x) => `{"type":"probe","payload":{"mode":"succeed"},"x":${x}}`,
    },
    type: { path: '/v1/messages', text: (x) => `{"type":${x},"payload":{}}` },
    'ordering-key': {
      path: '/v1/messages',
      text: (x) => `{"type":"probe","payload":{"mode":"succeed"},"orderingKey":${x}}`,
    },
    messages: { path: '/v1/messages/batch', text: (x) => `{"messages":${x}}` },
    'batch-entry': {
      path: '/v1/messages/batch',
      text: (x) => `{"messages":[{"type":"probe","payload":{"mode":"succeed"}},${x}]}`,
    },
  };
  const arb = fc.record({
    shape: fc.constantFrom(...Object.keys(shapes)),
    nesting: fc.constantFrom<[string, (n: number) => string]>(
      ['arrays', arrays],
      ['objects', objects],
      ['mixed', mixed],
      ['unbalanced', (n) => '['.repeat(n)],
    ),
    depth: fc.constantFrom(100, 1000, 5000, 5000, 10_000, 40_000),
  });
  return sample(arb, 48).map(({ shape, nesting: [, nest], depth: d }) => ({
    category: 'deep-nesting',
    method: 'POST',
    path: shapes[shape]!.path,
    headers: jsonHeaders(key),
    body: Buffer.from(shapes[shape]!.text(nest(d)), 'utf8'),
  }));
}

function unicode(key: string): FuzzRequest[] {
  const arb = fc.record({
    entry: validEntry,
    where: fc.constantFrom(
      'type',
      'orderingKey',
      'payload-field',
      'payload-field',
      'payload-key',
      'entry-key',
      'idempotency-header',
      'batch-idempotencyKey',
      'batch-entry',
    ),
    value: odd,
    encoding: fc.constantFrom<'escaped' | 'raw'>('escaped', 'escaped', 'raw'),
  });
  return sample(arb, 420).map(({ entry, where, value, encoding }): FuzzRequest => {
    const headers: Record<string, string> = jsonHeaders(key);
    let body: unknown;
    let path: string = ROUTES[0];
    let raw = false;
    const payload = entry.payload as Record<string, unknown>;
    const field =
      TEXT_FIELDS[entry.type as string]![value.length % TEXT_FIELDS[entry.type as string]!.length]!;
    switch (where) {
      case 'type':
        body = { ...entry, type: value };
        break;
      case 'orderingKey':
        body = { ...entry, orderingKey: value };
        break;
      case 'payload-field':
        body = { ...entry, payload: { ...payload, [field]: value } };
        break;
      case 'payload-key':
        body = { ...entry, payload: { ...payload, [value]: 'x' } };
        break;
      case 'entry-key':
        body = { ...entry, [value]: 1 };
        break;
      case 'idempotency-header':
        body = entry;
        headers['Idempotency-Key'] = uniqueKey(headerBytes(value)) as string;
        raw = true;
        break;
      case 'batch-idempotencyKey':
        path = ROUTES[1];
        body = { messages: [{ ...entry, idempotencyKey: value }] };
        break;
      case 'batch-entry':
        path = ROUTES[1];
        body = { messages: [entry, { ...entry, payload: { ...payload, [field]: value } }] };
        break;
    }
    return {
      category: 'unicode',
      method: 'POST',
      path,
      headers,
      body: encodeJson(sanitize(body), encoding),
      raw,
    };
  });
}

function methodPath(key: string): FuzzRequest[] {
  const arb = fc.record({
    method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST'),
    path: fc.oneof(
      { arbitrary: fc.constantFrom(...ROUTES), weight: 3 },
      {
        arbitrary: fc.constantFrom(
          '/',
          '/v1',
          '/v1/',
          '/v1/messages/',
          '/v1/messages/batch/',
          '/v1/messages/x',
          '/v1/messages/batch/x',
          '/v1/message',
          '/v2/messages',
          '/V1/MESSAGES',
          '/v1//messages',
          '//',
          '//evil.example/v1/messages',
          '///v1/messages',
          '//v1/messages',
          '/v1/messages%2Fbatch',
          '/v1/%ZZ',
          '/v1/messages%00',
          '/v1/messages?x=1&x=2',
          '/v1/messages/batch?messages=1',
          '/v1/messages/%F0%9F%98%80',
          '/v1/mess%61ges',
          '/favicon.ico',
          '/prod/v1/messages',
          '/.env',
        ),
        weight: 3,
      },
      { arbitrary: fc.webPath().filter((p) => p.startsWith('/') && !p.startsWith('/_local')), weight: 2 },
    ),
    body: validEntry,
    withBody: fc.boolean(),
  });
  return sample(arb, 320).map(({ method, path, body, withBody }) => {
    const sendBody = withBody || method === 'POST';
    const isBatch = path.startsWith('/v1/messages/batch');
    return {
      category: 'method-path',
      method,
      path,
      headers: jsonHeaders(key),
      ...(sendBody
        ? { body: Buffer.from(JSON.stringify(sanitize(isBatch ? { messages: [body] } : body)), 'utf8') }
        : {}),
      // fetch refuses a body on GET and HEAD; node:http sends it
      raw: sendBody && (method === 'GET' || method === 'HEAD'),
    };
  });
}

function contentType(key: string): FuzzRequest[] {
  const arb = fc.record({
    path: route,
    entry: validEntry,
    type: fc.oneof(
      fc.constantFrom(
        undefined,
        '',
        'text/plain',
        'text/plain; charset=utf-8',
        'text/json',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        'application/json-seq',
        'application/jsonx',
        'application/vnd.api+json',
        'application/problem+json',
        'application/json, text/plain',
        'application/*',
        '*/*',
        'json',
        'application/ json',
        'application/json',
        'APPLICATION/JSON',
        'Application/Json; Charset=UTF-8',
        'application/json; charset=utf-8',
        'application/json;charset=latin1',
        'application/json ; foo=bar',
      ),
      fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
    ),
  });
  return sample(arb, 220).map(({ path, entry, type }) => ({
    category: 'content-type',
    method: 'POST',
    path,
    headers: { 'x-api-key': key, ...(type === undefined ? {} : { 'content-type': type }) },
    body: Buffer.from(JSON.stringify(sanitize(forRoute(path, entry))), 'utf8'),
  }));
}

function apiKey(key: string): FuzzRequest[] {
  const arb = fc.record({
    path: fc.constantFrom(...ROUTES, '/v1/messages/x'),
    entry: validEntry,
    variant: fc.constantFrom(
      'missing',
      'empty',
      'random',
      'prefix',
      'longer',
      'lower',
      'upper',
      'spaces-around',
      'comma-joined',
      'twice',
      'other-header',
      'authorization',
      'query',
      'unicode',
      'name-case',
    ),
    random: fc.string({ minLength: 1, maxLength: 60 }).map((s) => s.replace(/[^\x21-\x7e]/g, '') || 'k'),
    oddKey: odd,
  });
  return sample(arb, 220).map(({ path, entry, variant, random, oddKey }): FuzzRequest => {
    const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
    let query = '';
    let raw = false;
    switch (variant) {
      case 'missing':
        break;
      case 'empty':
        headers['x-api-key'] = '';
        break;
      case 'random':
        headers['x-api-key'] = random;
        break;
      case 'prefix':
        headers['x-api-key'] = key.slice(0, -1);
        break;
      case 'longer':
        headers['x-api-key'] = key + random;
        break;
      case 'lower':
        headers['x-api-key'] = key.toLowerCase();
        break;
      case 'upper':
        headers['x-api-key'] = key.toUpperCase();
        break;
      case 'spaces-around': // HTTP strips the whitespace around a field value: the key is valid
        headers['x-api-key'] = ` ${key}\t`;
        break;
      case 'comma-joined':
        headers['x-api-key'] = `${key},${key}`;
        break;
      case 'twice':
        headers['x-api-key'] = [key, key];
        raw = true;
        break;
      case 'other-header':
        headers['x-api_key'] = key;
        headers['api-key'] = key;
        break;
      case 'authorization':
        headers.authorization = `Bearer ${key}`;
        break;
      case 'query':
        query = `?x-api-key=${key}&api_key=${key}`;
        break;
      case 'unicode':
        headers['x-api-key'] = headerBytes(key.slice(0, 20) + oddKey);
        raw = true;
        break;
      case 'name-case': // header names are case-insensitive: the key is valid
        headers['X-API-KEY'] = key;
        break;
    }
    return {
      category: 'api-key',
      method: 'POST',
      path: path + query,
      headers,
      body: Buffer.from(JSON.stringify(sanitize(forRoute(path.replace('/x', ''), entry))), 'utf8'),
      raw,
    };
  });
}

function batches(key: string): FuzzRequest[] {
  const idemKey = fc.oneof(
    fc.constantFrom('', ' ', 'a b', 'x'.repeat(129), '\t', 'ключ'),
    odd,
    fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
  );
  const withKey = fc
    .tuple(validEntry, fc.option(idemKey, { nil: undefined }))
    .map(([e, k]) => (k === undefined ? e : { ...e, idempotencyKey: k }));
  const arb = fc.oneof(
    {
      arbitrary: fc.array(validEntry, { minLength: 101, maxLength: 140 }).map((messages) => ({ messages })),
      weight: 3,
    },
    {
      arbitrary: fc.integer({ min: 101, max: 300 }).map((n) => ({
        messages: Array.from({ length: n }, () => ({ type: 'probe', payload: { mode: 'succeed' } })),
      })),
      weight: 1,
    },
    {
      arbitrary: fc.array(invalidEntry, { minLength: 1, maxLength: 100 }).map((messages) => ({ messages })),
      weight: 4,
    },
    {
      arbitrary: fc
        .array(fc.oneof(withKey, invalidEntry), { minLength: 1, maxLength: 20 })
        .map((messages) => ({ messages })),
      weight: 4,
    },
    {
      arbitrary: fc.array(withKey, { minLength: 100, maxLength: 100 }).map((messages) => ({ messages })),
      weight: 1,
    },
    {
      arbitrary: fc.constantFrom<unknown>(
        { messages: [] },
        { messages: null },
        {},
        { messages: {} },
        { messages: [[]] },
        { messages: [{}] },
        { messages: [null] },
        { messages: 'x' },
      ),
      weight: 1,
    },
  );
  return sample(arb, 300).map((body) => ({
    category: 'batch',
    method: 'POST',
    path: '/v1/messages/batch',
    headers: jsonHeaders(key),
    body: Buffer.from(JSON.stringify(sanitize(body)), 'utf8'),
  }));
}

function idempotencyKeys(key: string): FuzzRequest[] {
  const arb = fc.record({
    entry: validEntry,
    name: fc.constantFrom('Idempotency-Key', 'idempotency-key', 'IDEMPOTENCY-KEY'),
    value: fc.oneof(
      fc.constantFrom<string | string[]>(
        '',
        ' ',
        'a b',
        'tab\there',
        'x'.repeat(129),
        'y'.repeat(128),
        'z'.repeat(5000),
        ['one', 'two'],
        ['same', 'same'],
        '"quoted"',
        'ok-key',
      ),
      odd,
      fc.string({ minLength: 1, maxLength: 140 }),
      fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
    ),
  });
  return sample(arb, 240).map(({ entry, name, value }) => {
    const raw = Array.isArray(value) || /[^\x20-\x7e]/.test(value);
    // A repeated header reaches the function as its last value (API Gateway's `headers`).
    const header = Array.isArray(value)
      ? value.map((v) => uniqueKey(v) as string)
      : (uniqueKey(raw ? headerBytes(value) : value) as string);
    return {
      category: 'idempotency-key',
      method: 'POST',
      path: '/v1/messages',
      headers: { ...jsonHeaders(key), [name]: header },
      body: Buffer.from(JSON.stringify(sanitize(entry)), 'utf8'),
      raw,
    };
  });
}

// ---------------------------------------------------------------- sending

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/**
 * Sends `r` with node:http: on the shared keep-alive agent, or with `ownConnection` on a
 * connection of its own, sent as given (no added length) and tolerant of the server closing it
 * while the body is still being written.
 */
function viaNodeHttp(apiUrl: string, r: FuzzRequest, ownConnection = false): Promise<Answer> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    // Explicit length: node:http sends a GET/HEAD body without one, which the server reads as the next request.
    const headers =
      r.body && !ownConnection ? { ...r.headers, 'content-length': String(r.body.length) } : r.headers;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: r.path,
        method: r.method,
        headers,
        agent: ownConnection ? false : agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        if (!ownConnection) res.on('error', reject);
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      // On its own connection, the answer may race the write that found the socket closed.
      if (!ownConnection || (e.code !== 'EPIPE' && e.code !== 'ECONNRESET')) reject(e);
    });
    req.end(r.body);
  });
}

async function viaFetch(apiUrl: string, r: FuzzRequest): Promise<Answer> {
  const res = await fetch(`${apiUrl}${r.path}`, {
    method: r.method,
    headers: r.headers as Record<string, string>,
    ...(r.body ? { body: r.body } : {}),
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? undefined,
    text: await res.text(),
  };
}

async function send(apiUrl: string, r: FuzzRequest): Promise<Answer> {
  // A request beyond the gateway limit is answered (413) and its connection closed before the
  // whole body is read: send it on a connection of its own.
  if (r.body && r.body.length > GATEWAY_LIMIT) return viaNodeHttp(apiUrl, r, true);
  return r.raw ? viaNodeHttp(apiUrl, r) : viaFetch(apiUrl, r);
}

/** Whether a request path names one of the API's routes (query and trailing slashes aside). */
function isRoute(path: string): boolean {
  try {
    const segments = path.split('?')[0]!.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
    return (ROUTES as readonly string[]).includes(`/${segments.join('/')}`) && !segments.includes('');
  } catch {
    return false;
  }
}

async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------- the test

let stage: LocalStage;
beforeAll(async () => {
  // FUZZ_LOGS=1 prints local mode's and the functions' JSON logs (to see why an answer was a 5xx).
  stage = await startStage(process.env.FUZZ_LOGS ? { logs: 'json' } : {});
});
afterAll(async () => {
  agent.destroy();
  await stage?.stop();
});

describe('API fuzzing (local mode)', () => {
  it('answers thousands of hostile requests within the contract, enqueues only what it accepted, and stays healthy', async () => {
    // Arrange
    const key = stage.local.apiKey;
    const requests: FuzzRequest[] = [
      ...malformedJson(key),
      ...wrongTypes(key),
      ...huge(key),
      ...deepNesting(key),
      ...unicode(key),
      ...methodPath(key),
      ...contentType(key),
      ...apiKey(key),
      ...batches(key),
      ...idempotencyKeys(key),
    ];
    expect(requests.length).toBeGreaterThanOrEqual(2000);

    // Act
    const started = Date.now();
    const answers = await pool(requests, CONCURRENCY, async (r) => {
      try {
        return await send(stage.local.apiUrl, r);
      } catch (error) {
        return { status: -1, contentType: undefined, text: `request failed: ${(error as Error).message}` };
      }
    });
    const elapsed = Date.now() - started;

    // Assess: every answer within the contract
    const violations: string[] = [];
    const accepted: string[] = [];
    const byStatus = new Map<number, number>();
    const byCategory = new Map<string, Map<number, number>>();
    answers.forEach((a, i) => {
      const r = requests[i]!;
      const what = `#${i} ${r.category} ${r.method} ${r.path.slice(0, 60)} (${r.body?.length ?? 0} B) → ${a.status}`;
      byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
      const cat = byCategory.get(r.category) ?? new Map<number, number>();
      cat.set(a.status, (cat.get(a.status) ?? 0) + 1);
      byCategory.set(r.category, cat);
      if (!ALLOWED_STATUSES.has(a.status)) {
        violations.push(`${what}: status outside the contract: ${a.text.slice(0, 200)}`);
        return;
      }
      if (r.method === 'HEAD') {
        if (a.text !== '') violations.push(`${what}: HEAD answer has a body`);
        return;
      }
      let body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
      try {
        body = JSON.parse(a.text);
      } catch {
        violations.push(`${what}: answer is not JSON: ${a.text.slice(0, 200)}`);
        return;
      }
      if (!/^application\/json/.test(a.contentType ?? ''))
        violations.push(`${what}: content-type ${a.contentType}`);
      if (a.status >= 400) {
        if (typeof body?.error?.code !== 'string' || typeof body?.error?.message !== 'string')
          violations.push(`${what}: no {error:{code,message}}: ${a.text.slice(0, 200)}`);
        return;
      }
      if (!isRoute(r.path)) violations.push(`${what}: accepted on a path that is no route`);
      if (a.status === 202 && typeof body.messageId === 'string') accepted.push(body.messageId);
      else if (Array.isArray(body.results)) {
        for (const res of body.results as {
          messageId?: unknown;
          error?: { code?: unknown; message?: unknown };
        }[]) {
          if (typeof res.messageId === 'string') accepted.push(res.messageId);
          else if (typeof res.error?.code !== 'string' || typeof res.error.message !== 'string')
            violations.push(`${what}: batch result without messageId or error: ${JSON.stringify(res)}`);
          else if (res.error.code === 'QueueUnavailable')
            violations.push(`${what}: entry refused by a healthy queue: ${JSON.stringify(res)}`);
        }
        if (a.status === 207 && (body.results as { messageId?: unknown }[]).every((x) => x.messageId))
          violations.push(`${what}: 207 although every entry was accepted`);
      } else violations.push(`${what}: 2xx without messageId/results: ${a.text.slice(0, 200)}`);
    });
    const count = (s: (n: number) => boolean) =>
      [...byStatus].filter(([k]) => s(k)).reduce((n, [, v]) => n + v, 0);
    const line = (m: Map<number, number>) =>
      [...m]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}=${n}`)
        .join(' ');
    console.log(
      `fuzz: ${requests.length} requests in ${(elapsed / 1000).toFixed(1)} s, ${count((s) => s >= 500)} 5xx, ` +
        `${line(byStatus)}, ${accepted.length} messages accepted; by category: ` +
        [...byCategory].map(([c, m]) => `${c} [${line(m)}]`).join(', '),
    );
    expect(violations.slice(0, 20), `${violations.length} violations`).toEqual([]);
    expect(count((s) => s >= 500)).toBe(0);
    const repeated = accepted.filter((id, i) => accepted.indexOf(id) !== i);
    expect(repeated, 'every accepted message has its own id').toEqual([]);

    // Assess: no producer sandbox failed (thrown error, timeout or crash)
    const producer = stage.local.journal.list().filter((inv) => inv.function.startsWith('IngestProducer'));
    expect(producer.length, 'producer invocations journaled').toBeGreaterThan(1500);
    expect(producer.filter((inv) => inv.error !== null)).toEqual([]);

    // Assess: the stage still works: a valid message is accepted and processed
    const health = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed', tag: 'after-fuzz' },
    });
    expect(health.status, health.text).toBe(202);
    const healthId = health.body.messageId as string;
    await waitFor('the message sent after the fuzzing to be processed', () =>
      consumerInvocations(stage.local, 'consumer').some(
        (inv) => inv.messageIds.includes(healthId) && !inv.batchItemFailures.includes(healthId),
      ),
    );

    // Assess: exactly the accepted messages were consumed (nothing from a refused request), and
    // the queues drained
    const expected = new Set([...accepted, healthId]);
    const consumed = () =>
      new Set(
        [
          ...consumerInvocations(stage.local, 'consumer'),
          ...consumerInvocations(stage.local, 'fifo'),
        ].flatMap((inv) => inv.messageIds),
      );
    await waitFor(
      'the queues to drain',
      async () =>
        consumed().size >= expected.size &&
        (await depth(stage.sqs, stage.queue('StandardQueue').url)) === 0 &&
        (await depth(stage.sqs, stage.queue('FifoQueue').url)) === 0,
      // A wait, not a speed assertion: ~1,600 messages, each with its status writes, on a loaded
      // 2-core machine took longer than 30 s.
      180_000,
      250,
    );
    const seen = consumed();
    expect(
      [...seen].filter((id) => !expected.has(id)),
      'consumed but never accepted',
    ).toEqual([]);
    expect(
      [...expected].filter((id) => !seen.has(id)),
      'accepted but never consumed',
    ).toEqual([]);
    expect(seen.size).toBe(accepted.length + 1);
  }, 300_000);

  // Regressions for what the fuzzing found (run after it: they enqueue messages of their own).
  it('accepts astral characters (emoji) in a payload, as SQS does', async () => {
    const tag = 'emoji 😀 flag 🏳️‍🌈 math 𝕏 plane-16 \u{10fffd}';
    const single = await stage.post('/v1/messages', { type: 'probe', payload: { mode: 'succeed', tag } });
    const fifo = await stage.post('/v1/messages', {
      type: 'probe',
      payload: { mode: 'succeed', tag },
      orderingKey: 'emoji',
    });
    const batch = await stage.post('/v1/messages/batch', {
      messages: [{ type: 'email.send', payload: { to: 'a@example.com', subject: '👋', body: tag } }],
    });
    expect([single.status, fifo.status, batch.status], single.text).toEqual([202, 202, 202]);
  });

  it.each(['//', '//evil.example/v1/messages', '///v1/messages'])(
    'answers 404 NotFound for the path %s (a path, not a scheme-relative URL)',
    async (path) => {
      const res = await stage.post(path, { type: 'probe', payload: { mode: 'succeed' } });
      expect(res.status, res.text).toBe(404);
      expect(res.body.error.code).toBe('NotFound');
    },
  );
});
