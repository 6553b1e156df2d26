import { describe, expect, it } from 'vitest';
import { parseGoDuration, parseRuleDuration } from './durations.js';

describe('parseRuleDuration', () => {
  it.each([
    ['7s', 7000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1ms', 1],
    ['1000us', 1],
    ['.5s', 500],
  ])('accepts %s as %i ms', (text, ms) => {
    expect(parseRuleDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ['0', /at least 1ms/],
    ['0s', /at least 1ms/],
    ['-1s', /at least 1ms/],
    ['500us', /at least 1ms/],
    ['1.5ms', /whole number of milliseconds/],
    ['7', /unknown unit|invalid duration/],
    ['7 s', /unknown unit/],
    ['7sec', /unknown unit "sec"/],
    ['', /invalid duration/],
    ['.s', /invalid duration/],
  ])('refuses %s', (text, problem) => {
    const result = parseRuleDuration(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });

  it('refuses a missing value and a number', () => {
    expect(parseRuleDuration(undefined)).toEqual({ ok: false, problem: 'is required' });
    const result = parseRuleDuration(7);
    expect(result.ok === false && result.problem).toMatch(/duration string/);
  });

  it('parses Go syntax to nanoseconds, truncating below 1ns', () => {
    expect(parseGoDuration('1.0000000009s')).toEqual({ ok: true, nanos: 1_000_000_000n });
    expect(parseGoDuration('+2µs')).toEqual({ ok: true, nanos: 2000n });
    expect(parseGoDuration('99999999999h').ok).toBe(false);
  });
});
