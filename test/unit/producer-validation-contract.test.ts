import { describe, expect, it } from 'vitest';
import { catalogFromRegistry } from '../../lambda/producer/catalog';
import { ApiError } from '../../lambda/producer/http';
import { MAX_BATCH_ENTRIES, validateBatchShape, validateEntry } from '../../lambda/producer/validation';
import { PROBE_MODES } from '../../lambda/shared/jobs/probe';
import { defaultRegistry } from '../../tools/example-registry';

// The 400s of the producer are part of the API (README, "HTTP API"): each refusal names its field
// and says what the field must be, and the message sums the details up. These pin each rule's
// boundary, field and wording at the validation functions.

const catalog = catalogFromRegistry(defaultRegistry);
const ctx = { catalog, allowedProbeModes: PROBE_MODES };
const email = { type: 'email.send', payload: { to: 'a@example.com', subject: 's', body: 'b' } };

/** The ApiError `act` throws (fails the test when it throws none). */
function refusal(act: () => unknown): ApiError {
  try {
    act();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('producer validation: a message entry', () => {
  it.each([
    ['a string', 'x', '', '(body)'],
    ['null', null, '', '(body)'],
    ['an array', [email], '', '(body)'],
    ['a batch entry that is not an object', 42, 'messages.3', 'messages.3'],
  ])('refuses %s as "a JSON object", named %s', (_what, raw, prefix, field) => {
    const e = refusal(() => validateEntry(raw, { ...ctx, batch: prefix !== '', prefix }));

    expect({ code: e.code, details: e.details }).toEqual({
      code: 'ValidationError',
      details: [{ field, message: 'a JSON object' }],
    });
  });

  it('names each missing required field with its rule, and sums them up in the message', () => {
    const e = refusal(() => validateEntry({}, ctx));

    expect(e.details).toEqual([
      { field: 'type', message: 'required: a job type: 1–128 of A-Z a-z 0-9 . _ : -' },
      { field: 'payload', message: 'required: a JSON object' },
    ]);
    expect(e.message).toBe(
      'type: required: a job type: 1–128 of A-Z a-z 0-9 . _ : -; payload: required: a JSON object',
    );
  });

  it('refuses an orderingKey SQS would refuse as a message group id', () => {
    const e = refusal(() => validateEntry({ ...email, orderingKey: 'a b' }, ctx));

    expect(e.details).toEqual([
      { field: 'orderingKey', message: '1–128 printable ASCII characters, no spaces' },
    ]);
  });

  it.each([0, 900])('accepts delaySeconds %s', (delaySeconds) => {
    expect(validateEntry({ ...email, delaySeconds }, ctx)).toMatchObject({ delaySeconds, lane: 'standard' });
  });

  it.each([-1, 901, 1.5, '5'])('refuses delaySeconds %s', (delaySeconds) => {
    const e = refusal(() => validateEntry({ ...email, delaySeconds }, ctx));

    expect(e.details).toEqual([{ field: 'delaySeconds', message: 'an integer 0–900' }]);
  });

  it('refuses a delay with an orderingKey (FIFO queues have none), and takes a delay of 0 with one', () => {
    const keyed = { type: 'activity.recorded', payload: { userId: 'u', action: 'login' }, orderingKey: 'u' };

    const e = refusal(() => validateEntry({ ...keyed, delaySeconds: 5 }, { ...ctx, prefix: 'messages.0' }));

    expect(e.details).toEqual([
      {
        field: 'messages.0.delaySeconds',
        message: 'not supported with orderingKey (FIFO queues have no per-message delay)',
      },
    ]);
    expect(validateEntry({ ...keyed, delaySeconds: 0 }, ctx)).toMatchObject({ lane: 'fifo' });
  });

  it('answers UnknownType for a type no job registered, naming none of the registered ones', () => {
    const e = refusal(() => validateEntry({ type: 'no.such.type', payload: {} }, ctx));

    // Since the caller identity work (0.3.0) a caller learns no other types from a refusal.
    expect({ code: e.code, message: e.message, details: e.details }).toEqual({
      code: 'UnknownType',
      message: 'Unknown message type "no.such.type"',
      details: [{ field: 'type', message: 'not a registered type' }],
    });
    expect(defaultRegistry.types().length).toBeGreaterThan(1);
  });
});

describe('producer validation: notBefore', () => {
  // A fixed request time far from the machine's clock: a bound measured from Date.now() instead
  // of the request's time gives another answer.
  const T0 = Date.parse('2020-01-01T00:00:00Z');
  const capped = { ...ctx, requestTime: T0, maxNotBeforeSeconds: { standard: 3600, fifo: 60 } };

  it.each([5, 0])(
    'refuses notBefore with delaySeconds %s, naming notBefore (give one of them)',
    (delaySeconds) => {
      const e = refusal(() =>
        validateEntry(
          { ...email, delaySeconds, notBefore: '2020-01-01T00:10:00Z' },
          { ...capped, batch: true, prefix: 'messages.2' },
        ),
      );

      expect({ code: e.code, message: e.message, details: e.details }).toEqual({
        code: 'ValidationError',
        message: 'messages.2.notBefore: not with delaySeconds (give one of them)',
        details: [{ field: 'messages.2.notBefore', message: 'not with delaySeconds (give one of them)' }],
      });
    },
  );

  it("refuses a notBefore past its lane's deferral cap, counted from the request's time", () => {
    const e = refusal(() => validateEntry({ ...email, notBefore: '2020-01-01T01:00:01Z' }, capped));

    expect({ code: e.code, details: e.details }).toEqual({
      code: 'ValidationError',
      details: [
        {
          field: 'notBefore',
          message: "at most 3600 s after the request (this lane's deferral cap), got 3601 s",
        },
      ],
    });
  });

  it("takes a notBefore at its lane's cap (another lane's smaller cap does not apply), normalized to UTC", () => {
    const entry = validateEntry({ ...email, notBefore: '2020-01-01T02:00:00+01:00' }, capped);

    expect(entry).toStrictEqual({ ...email, lane: 'standard', notBefore: '2020-01-01T01:00:00.000Z' });
  });

  it('takes any notBefore ahead when the stage gives no caps', () => {
    const entry = validateEntry({ ...email, notBefore: '2030-01-01T00:00:00Z' }, { ...ctx, requestTime: T0 });

    expect(entry).toStrictEqual({ ...email, lane: 'standard', notBefore: '2030-01-01T00:00:00.000Z' });
  });

  it('drops a notBefore that has come by the request, and an entry without one has no notBefore key', () => {
    const past = validateEntry({ ...email, notBefore: '2019-12-31T23:59:59Z' }, capped);
    const none = validateEntry(email, capped);

    expect(past).toStrictEqual({ ...email, lane: 'standard' });
    expect(Object.keys(past)).not.toContain('notBefore');
    expect(none).toStrictEqual({ ...email, lane: 'standard' });
    expect(Object.keys(none)).not.toContain('notBefore');
  });
});

describe('producer validation: the shape of a batch request', () => {
  const batchOf = (n: number) => ({ messages: Array.from({ length: n }, () => email) });
  const shapeRefusal = (raw: unknown) => {
    const e = refusal(() => validateBatchShape(raw));
    return { code: e.code, message: e.message, details: e.details };
  };

  it.each([
    ['a body that is not an object', [email], '(body)', 'a JSON object with "messages"'],
    [
      'a field next to messages',
      { ...batchOf(1), extra: 1 },
      'extra',
      'not a field of a batch request (only "messages")',
    ],
    ['no messages', {}, 'messages', `required: an array of 1–${MAX_BATCH_ENTRIES} messages`],
    [
      'messages that are not an array',
      { messages: email },
      'messages',
      'required: an array of 1–100 messages',
    ],
    ['no message at all', batchOf(0), 'messages', 'at least 1 message'],
    ['more than 100 messages', batchOf(101), 'messages', 'at most 100 messages'],
  ])('refuses %s', (_what, raw, field, message) => {
    expect(shapeRefusal(raw)).toEqual({
      code: 'ValidationError',
      message: `${field}: ${message}`,
      details: [{ field, message }],
    });
  });

  it.each([1, 100])('takes %s messages', (n) => {
    expect(validateBatchShape(batchOf(n))).toHaveLength(n);
  });
});
