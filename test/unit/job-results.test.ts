import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambda/shared/errors';
import {
  prepareResult,
  RESULT_LIMITS,
  resultObjectKey,
  ResultNotSerializable,
  ResultTooLarge,
} from '../../lambda/shared/jobs/result';

const small = { inlineBytes: 10, maxBytes: 20 } as unknown as typeof RESULT_LIMITS;

describe('job results: what a handler returns', () => {
  it('keeps nothing for a handler that returns nothing', () => {
    expect(prepareResult(undefined)).toEqual({ where: 'none' });
  });

  it('keeps JSON on the row up to the inline limit, in S3 above it, and fails above the hard limit', () => {
    // '"12345678"' is 10 bytes: the last size kept on the row.
    expect(prepareResult('12345678', small)).toEqual({ where: 'row', json: '"12345678"', bytes: 10 });
    expect(prepareResult('123456789', small)).toEqual({ where: 's3', json: '"123456789"', bytes: 11 });
    expect(prepareResult('x'.repeat(18), small)).toEqual({
      where: 's3',
      json: `"${'x'.repeat(18)}"`,
      bytes: 20,
    });
    const over = () => prepareResult('x'.repeat(19), small);
    expect(over).toThrow(ResultTooLarge);
    expect(over).toThrow(`The job's result is 21 bytes of JSON; at most ${RESULT_LIMITS.maxBytes} are kept`);
  });

  it('counts UTF-8 bytes, not characters', () => {
    // Four 2-byte characters and the quotes: 10 bytes.
    expect(prepareResult('éééé', small)).toEqual({ where: 'row', json: '"éééé"', bytes: 10 });
    expect(prepareResult('ééééé', small)).toMatchObject({ where: 's3', bytes: 12 });
  });

  it('keeps null, false, 0 and empty values as results', () => {
    expect(prepareResult(null)).toEqual({ where: 'row', json: 'null', bytes: 4 });
    expect(prepareResult(false)).toEqual({ where: 'row', json: 'false', bytes: 5 });
    expect(prepareResult(0)).toEqual({ where: 'row', json: '0', bytes: 1 });
    expect(prepareResult({})).toEqual({ where: 'row', json: '{}', bytes: 2 });
  });

  it('fails permanently, naming the problem, on a value JSON cannot represent', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const [value, problem] of [
      [10n, /BigInt/],
      [cycle, /circular/i],
      [() => 1, /a function/],
      [Symbol('s'), /a symbol/],
    ] as const) {
      let thrown: unknown;
      try {
        prepareResult(value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ResultNotSerializable);
      expect(thrown).toBeInstanceOf(PermanentError);
      expect((thrown as Error).message).toMatch(/^The job's result cannot be serialized as JSON: /);
      expect((thrown as Error).message).toMatch(problem);
    }
  });

  it("keeps JSON.stringify's error as the cause of a result that cannot be serialized", () => {
    let thrown: unknown;
    try {
      prepareResult({ n: 10n });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ResultNotSerializable);
    expect((thrown as Error).cause).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toBe(
      `The job's result cannot be serialized as JSON: ${((thrown as Error).cause as Error).message}`,
    );
  });

  it('the real limits: 16 KiB on the row, 4 MiB in all', () => {
    expect(RESULT_LIMITS).toEqual({ inlineBytes: 16_384, maxBytes: 4_194_304 });
    expect(prepareResult('r'.repeat(16_382)).where).toBe('row');
    expect(prepareResult('r'.repeat(16_383)).where).toBe('s3');
    expect(resultObjectKey('9b57748c-c30c-40cf-93a1-89d5cee9db8e')).toBe(
      'results/9b57748c-c30c-40cf-93a1-89d5cee9db8e.json',
    );
  });
});
