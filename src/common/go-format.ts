// Go's text conventions that leak into Docker's error messages: %q quoting, time.ParseDuration, strconv.ParseInt.
// Docker is the spec, so messages built from user input read the way Go would print them.

const NAMED_ESCAPES: Record<string, string> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"',
};

/** strconv.Quote / fmt's %q for a string: printable characters as they are, control characters escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const named = NAMED_ESCAPES[ch];
    if (named) out += named;
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

const UNITS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};
const MAX = 1n << 63n;

/** Go's time.ParseDuration, in nanoseconds, with Go's error texts. Throws Error. */
export function parseGoDuration(orig: string): number {
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart, fracPart] = [num[0], num[1], num[2]];
    if (!/^[.\d]/.test(s) || (intPart === '' && (fracPart ?? '') === '')) throw invalid();
    s = s.slice(whole.length);
    const unitLen = /^[^.\d]*/.exec(s)![0].length;
    if (unitLen === 0) throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    const unitName = s.slice(0, unitLen);
    s = s.slice(unitLen);
    const unit = UNITS[unitName];
    if (unit === undefined) throw new Error(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(orig)}`);
    let v = BigInt(intPart === '' ? '0' : intPart);
    if (v > MAX / unit) throw invalid();
    v *= unit;
    if (fracPart) {
      // Go scales the fraction in floating point too (exact to the nanosecond for every unit up to hours)
      v += BigInt(Math.floor(Number(`0.${fracPart}`) * Number(unit)));
      if (v > MAX) throw invalid();
    }
    total += v;
    if (total > MAX) throw invalid();
  }
  if (!neg && total > MAX - 1n) throw invalid();
  return Number(neg ? -total : total);
}

/** Go's strconv.ParseInt(s, 10, bits) with its error texts. Throws Error. */
export function parseGoInt(s: string, bits = 64): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  const v = BigInt(s);
  const limit = 1n << BigInt(bits - 1);
  if (v >= limit || v < -limit) throw new Error(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
  return Number(v);
}
