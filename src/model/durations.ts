/**
 * Durations as Istio 0.6/0.8 route rules took them in YAML: a Go `time.ParseDuration` string,
 * then pilot's `ValidateDuration` bounds.
 *
 * - Parsing: `ApplyJSON` (pilot/pkg/model/conversion.go@0.8.0) unmarshals specs with golang/protobuf
 *   jsonpb, whose `Duration` case calls `time.ParseDuration` on the JSON string
 *   (vendor/github.com/golang/protobuf/jsonpb/jsonpb.go@0.8.0). So `7s`, `500ms`, `1.5s`, `1m30s`
 *   are accepted, a bare number (`timeout: 5`) is not.
 * - Bounds: `ValidateDuration` (pilot/pkg/model/validation.go@0.8.0) refuses a missing duration,
 *   anything under 1ms, and anything that is not a whole number of milliseconds.
 */

export type DurationResult = { ok: true; ms: number } | { ok: false; problem: string };

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign, as Go accepts
  'μs': 1_000n, // U+03BC Greek mu, as Go accepts
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Go's `time.ParseDuration` grammar: `[-+]?` then one or more `<decimal><unit>`, or the bare `0`.
 * Returns nanoseconds, or a problem worded like Go's error. Fractions finer than 1ns are truncated,
 * as Go does.
 */
export function parseGoDuration(text: string): { ok: true; nanos: bigint } | { ok: false; problem: string } {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, nanos: 0n };
  if (rest === '') return { ok: false, problem: `invalid duration ${JSON.stringify(text)}` };
  let total = 0n;
  const component = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/u;
  while (rest !== '') {
    const match = component.exec(rest);
    if (!match) return { ok: false, problem: `invalid duration ${JSON.stringify(text)}` };
    const [whole, integer = '', fraction, unitAndMore = ''] = match;
    if (integer === '' && (fraction === undefined || fraction === '')) {
      return { ok: false, problem: `invalid duration ${JSON.stringify(text)}` };
    }
    // The unit runs up to the next digit or dot, as in Go.
    const unit = unitAndMore;
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) {
      return { ok: false, problem: `unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}` };
    }
    let nanos = BigInt(integer || '0') * scale;
    if (fraction) {
      nanos += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    }
    total += nanos;
    if (total > MAX_INT64) return { ok: false, problem: `invalid duration ${JSON.stringify(text)}` };
    rest = rest.slice(whole.length);
  }
  return { ok: true, nanos: negative ? -total : total };
}

/** Parses a route-rule duration and applies pilot's `ValidateDuration` (validation.go@0.8.0). */
export function parseRuleDuration(value: unknown): DurationResult {
  if (value === undefined || value === null) {
    // ptypes.Duration(nil) fails with "duration: nil Duration", so ValidateDuration requires it.
    return { ok: false, problem: 'is required' };
  }
  if (typeof value !== 'string') {
    return {
      ok: false,
      problem: `must be a duration string such as "7s", "500ms" or "1.5s", found ${typeof value} ${JSON.stringify(value)}`,
    };
  }
  const parsed = parseGoDuration(value);
  if (!parsed.ok) return parsed;
  if (parsed.nanos < 1_000_000n) {
    return { ok: false, problem: `duration ${JSON.stringify(value)} must be at least 1ms` };
  }
  if (parsed.nanos % 1_000_000n !== 0n) {
    return { ok: false, problem: `duration ${JSON.stringify(value)} must be a whole number of milliseconds` };
  }
  return { ok: true, ms: Number(parsed.nanos / 1_000_000n) };
}
