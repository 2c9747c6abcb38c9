// Go's fmt semantics for the few verbs the CLI and its templates need: %v for numbers, %e/%f/%g with
// round-half-even on exact ties (Go rounds the exact binary value; JS's toFixed/toPrecision round ties up),
// and a printf with flags, width and precision. Docker's output (sizes "4.26MB", "1e+03kB") comes from these.

/** A float that came from a template literal like 1.5 or 1e6 (Go keeps int and float64 apart). */
export class GoFloat {
  constructor(readonly v: number) {}
  toJSON(): number { return this.v; }
}

export const isNum = (v: unknown): v is number | GoFloat => typeof v === 'number' || v instanceof GoFloat;
export const numVal = (v: number | GoFloat): number => (typeof v === 'number' ? v : v.v);
export const isGoInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Exact decimal digits of |x| (no leading zeros) and the decimal exponent of the first digit. */
function exactDigits(x: number): { d: string; e: number } {
  if (x === 0) return { d: '0', e: 0 };
  const s = Math.abs(x).toExponential(99); // d.ddd…e±X, exact for every double we format
  const i = s.indexOf('e');
  const d = (s[0] + s.slice(2, i)).replace(/0+$/, '') || '0';
  return { d, e: parseInt(s.slice(i + 1), 10) };
}

/** Shortest digits that round-trip (what Go's strconv uses for precision -1). */
function shortestDigits(x: number): { d: string; e: number } {
  if (x === 0) return { d: '0', e: 0 };
  const s = Math.abs(x).toExponential();
  const i = s.indexOf('e');
  return { d: s[0] + s.slice(2, i), e: parseInt(s.slice(i + 1), 10) };
}

/** Round a digit string to n significant digits, half to even. Returns digits (length n) and exponent. */
function roundDigits(d: string, e: number, n: number): { d: string; e: number } {
  if (n <= 0) {
    // rounding to zero significant digits before the first: only used by %f with a small value
    return { d: '', e };
  }
  if (d.length <= n) return { d: d.padEnd(n, '0'), e };
  const keep = d.slice(0, n);
  const rest = d.slice(n);
  let up: boolean;
  if (rest[0] > '5') up = true;
  else if (rest[0] < '5') up = false;
  else if (/[1-9]/.test(rest.slice(1))) up = true;
  else up = (parseInt(keep[n - 1], 10) & 1) === 1; // exact tie: to even
  if (!up) return { d: keep, e };
  const arr = keep.split('').map(Number);
  let i = n - 1;
  while (i >= 0) {
    if (arr[i] === 9) { arr[i] = 0; i--; } else { arr[i]++; break; }
  }
  if (i < 0) return { d: '1' + arr.slice(0, n - 1).join(''), e: e + 1 };
  return { d: arr.join(''), e };
}

function fmtExp(digits: string, e: number, upper: boolean): string {
  const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  const es = Math.abs(e) < 10 ? '0' + Math.abs(e) : String(Math.abs(e));
  return mant + (upper ? 'E' : 'e') + (e < 0 ? '-' : '+') + es;
}

function fmtFixed(digits: string, e: number, prec: number): string {
  // digits represent 0.d1d2… × 10^(e+1)
  let intPart: string;
  let frac: string;
  if (e >= 0) {
    const all = digits.padEnd(e + 1, '0');
    intPart = all.slice(0, e + 1);
    frac = all.slice(e + 1);
  } else {
    intPart = '0';
    frac = '0'.repeat(-e - 1) + digits;
  }
  frac = frac.padEnd(prec, '0').slice(0, prec);
  return prec > 0 ? intPart + '.' + frac : intPart;
}

/** Go's strconv.FormatFloat(abs(x), verb, prec, 64) without the sign. */
function formatAbs(x: number, verb: string, prec: number): string {
  if (!isFinite(x)) return isNaN(x) ? 'NaN' : '+Inf';
  const lower = verb.toLowerCase();
  if (lower === 'e') {
    const { d, e } = prec < 0 ? shortestDigits(x) : roundDigits(exactDigits(x).d, exactDigits(x).e, prec + 1);
    return fmtExp(d, e, verb === 'E');
  }
  if (lower === 'f') {
    if (prec < 0) {
      const { d, e } = shortestDigits(x);
      return fmtFixed(d, e, Math.max(d.length - e - 1, 0));
    }
    const ex = exactDigits(x);
    const sig = ex.e + 1 + prec; // significant digits needed
    if (sig <= 0) {
      // everything rounds to 0 or to one unit in the last place
      const r = sig === 0 && (ex.d[0] > '5' || (ex.d[0] === '5' && /[1-9]/.test(ex.d.slice(1))));
      return r ? fmtFixed('1', -prec, prec) : fmtFixed('0', 0, prec);
    }
    const { d, e } = roundDigits(ex.d, ex.e, sig);
    return fmtFixed(d, e, prec);
  }
  // g
  let digits: { d: string; e: number };
  let eprec: number;
  if (prec < 0) {
    digits = shortestDigits(x);
    eprec = 6;
  } else {
    if (prec === 0) prec = 1;
    const ex = exactDigits(x);
    digits = roundDigits(ex.d, ex.e, prec);
    digits.d = digits.d.replace(/0+$/, '') || '0';
    eprec = prec;
    if (eprec > digits.d.length && digits.d.length >= digits.e + 1) eprec = digits.d.length;
  }
  const e = digits.e;
  if (x === 0) return '0';
  if (e < -4 || e >= eprec) return fmtExp(digits.d, e, verb === 'G');
  return fmtFixed(digits.d, e, Math.max(digits.d.length - e - 1, 0));
}

export function formatFloat(x: number, verb: string, prec: number): string {
  const neg = x < 0 || Object.is(x, -0);
  const s = formatAbs(Math.abs(x), verb, prec);
  return neg && s !== 'NaN' ? '-' + s : s;
}

/** Go's %v for a float64 (shortest representation, exponent at 1e21 / 1e-4 thresholds as %g). */
export const formatFloatV = (x: number): string => formatFloat(x, 'g', -1);

// ---------------------------------------------------------------------------------------------------
// printf

const typeName = (v: unknown): string => {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (v instanceof GoFloat) return 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
};

export type ValueFormatter = (v: unknown) => string;

function pad(s: string, width: number, minus: boolean, zero: boolean, numeric: boolean): string {
  const len = [...s].length;
  if (width <= len) return s;
  if (minus) return s + ' '.repeat(width - len);
  if (zero && numeric) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(width - len) + s.slice(sign.length);
  }
  return ' '.repeat(width - len) + s;
}

function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}
export { quoteGo };

/** fmt.Sprintf for the verbs templates use. `v` renders values with %v (the template printer). */
export function sprintf(format: string, args: unknown[], v: ValueFormatter): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== '%') { out += ch; i++; continue; }
    i++;
    let minus = false, plus = false, zero = false, space = false, sharp = false;
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') minus = true;
      else if (f === '+') plus = true;
      else if (f === '0') zero = !minus;
      else if (f === ' ') space = true;
      else if (f === '#') sharp = true;
      else break;
    }
    let width = -1;
    let prec = -1;
    const readNum = (): number => {
      if (format[i] === '*') { i++; const a = args[argi++]; return typeof a === 'number' ? a : 0; }
      let n = '';
      while (i < format.length && format[i] >= '0' && format[i] <= '9') n += format[i++];
      return n === '' ? -1 : parseInt(n, 10);
    };
    width = readNum();
    if (format[i] === '.') { i++; prec = readNum(); if (prec < 0) prec = 0; }
    if (i >= format.length) { out += '%!(NOVERB)'; break; }
    const verb = format[i++];
    if (verb === '%') { out += '%'; continue; }
    if (argi >= args.length) { out += `%!${verb}(MISSING)`; continue; }
    const arg = args[argi++];
    const bad = () => `%!${verb}(${typeName(arg)}=${v(arg)})`;
    let s: string;
    let numeric = false;
    switch (verb) {
      case 'v':
        if (isNum(arg) && !isGoInt(arg)) { s = formatFloat(numVal(arg), 'g', prec); numeric = true; }
        else if (typeof arg === 'number') { s = String(arg); numeric = true; }
        else s = v(arg);
        if (numeric && plus && !s.startsWith('-')) s = '+' + s;
        break;
      case 's':
        if (typeof arg === 'string') s = prec >= 0 ? [...arg].slice(0, prec).join('') : arg;
        else if (Array.isArray(arg)) s = v(arg);
        else s = bad();
        break;
      case 'q':
        if (typeof arg === 'string') s = quoteGo(arg);
        else if (isGoInt(arg)) s = "'" + String.fromCodePoint(arg) + "'";
        else s = bad();
        break;
      case 'd':
        if (isGoInt(arg)) {
          s = String(Math.abs(arg));
          if (prec >= 0) s = s.padStart(prec, '0');
          s = (arg < 0 ? '-' : plus ? '+' : space ? ' ' : '') + s;
          numeric = true;
        } else s = bad();
        break;
      case 'b': case 'o': case 'x': case 'X': {
        if (isGoInt(arg)) {
          const base = verb === 'b' ? 2 : verb === 'o' ? 8 : 16;
          s = Math.abs(arg).toString(base);
          if (verb === 'X') s = s.toUpperCase();
          if (sharp) s = (verb === 'o' ? '0' : verb === 'x' ? '0x' : verb === 'X' ? '0X' : '') + s;
          s = (arg < 0 ? '-' : plus ? '+' : '') + s;
          numeric = true;
        } else if (typeof arg === 'string' && verb !== 'b' && verb !== 'o') {
          s = Buffer.from(arg, 'utf8').toString('hex');
          if (verb === 'X') s = s.toUpperCase();
        } else if (isNum(arg) && (verb === 'x' || verb === 'X')) {
          s = bad();
        } else s = bad();
        break;
      }
      case 'c':
        s = isGoInt(arg) ? String.fromCodePoint(arg) : bad();
        break;
      case 'U':
        s = isGoInt(arg) ? 'U+' + arg.toString(16).toUpperCase().padStart(4, '0') : bad();
        break;
      case 't':
        s = typeof arg === 'boolean' ? String(arg) : bad();
        break;
      case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
        if (isNum(arg) && !isGoInt(arg)) {
          const x = numVal(arg);
          const p = prec >= 0 ? prec : verb === 'g' || verb === 'G' ? -1 : 6;
          s = formatFloat(x, verb === 'F' ? 'f' : verb, p);
          if (x >= 0 && plus) s = '+' + s;
          else if (x >= 0 && space) s = ' ' + s;
          numeric = true;
        } else s = bad();
        break;
      case 'T':
        s = typeName(arg);
        break;
      default:
        s = `%!${verb}(${typeName(arg)}=${v(arg)})`;
    }
    out += pad(s, width, minus, zero, numeric);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${typeName(a)}=${v(a)}`).join(', ') + ')';
  }
  return out;
}
