import { describe, expect, it } from 'vitest';
import { backoffSeconds, MAX_VISIBILITY_SECONDS } from '../../lambda/shared/backoff';

const settings = { baseSeconds: 10, capSeconds: 600 };
const lowest = () => 0;
const highest = () => 0.999_999_999;

describe('backoff', () => {
  it.each([
    [1, 5, 10],
    [2, 10, 20],
    [3, 20, 40],
    [4, 40, 80],
    [6, 160, 320],
    [7, 300, 600],
    [50, 300, 600],
  ])('after attempt %d waits between %d and %d seconds (base 10 s, cap 600 s)', (receiveCount, min, max) => {
    expect(backoffSeconds(receiveCount, settings, lowest)).toBe(min);
    expect(backoffSeconds(receiveCount, settings, highest)).toBe(max);
  });

  it('rounds the lower half up, so an odd nominal delay never yields less than half', () => {
    // nominal 15 → ceil(7.5) = 8 … 15
    expect(backoffSeconds(1, { baseSeconds: 15, capSeconds: 600 }, lowest)).toBe(8);
    expect(backoffSeconds(1, { baseSeconds: 15, capSeconds: 600 }, highest)).toBe(15);
  });

  it('spreads retries over the upper half with the jitter source', () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => backoffSeconds(4, settings, () => i / 200)));

    expect(Math.min(...seen)).toBe(40);
    expect(Math.max(...seen)).toBe(80);
    expect(seen.size).toBe(41);
  });

  it('treats a receive count below 1 or fractional as the first attempt / its floor', () => {
    expect(backoffSeconds(0, settings, highest)).toBe(10);
    expect(backoffSeconds(-3, settings, highest)).toBe(10);
    expect(backoffSeconds(2.9, settings, highest)).toBe(20);
  });

  it('never exceeds the largest visibility timeout SQS allows', () => {
    expect(backoffSeconds(40, { baseSeconds: 900, capSeconds: 10 ** 9 }, highest)).toBe(
      MAX_VISIBILITY_SECONDS,
    );
  });

  it('does not overflow for huge receive counts', () => {
    expect(backoffSeconds(Number.MAX_SAFE_INTEGER, settings, highest)).toBe(600);
  });

  it('returns 0 for a zero base', () => {
    expect(backoffSeconds(5, { baseSeconds: 0, capSeconds: 600 }, highest)).toBe(0);
  });
});
