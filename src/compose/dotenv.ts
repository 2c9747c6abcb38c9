// `.env` and `env_file` parsing with compose-go's dotenv rules: `KEY=value`, `KEY: value`, `export KEY=…`, a bare
// `KEY` taken from the lookup, unquoted values cut at ` #` and trimmed, single quotes literal (only `\'` escapes),
// double quotes with `\n`-style escapes, values spanning lines inside quotes, and `${…}` interpolation of unquoted
// and double-quoted values from the variables read so far and the lookup.
import { substitute, Lookup } from './template';

export class DotenvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DotenvError';
  }
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === '\u0085' || c === '\u00a0';
const isWhite = (c: string) => isSpace(c) || c === '\n';
const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;

/**
 * Parses dotenv text into an ordered record. `lookup` answers bare `KEY` lines and takes precedence over the
 * file's own earlier variables when interpolating (as compose-go does).
 */
export function parseDotenv(src: string, lookup: Lookup = () => undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (src.charCodeAt(0) === 0xfeff) src = src.slice(1);
  let line = 1;
  let pos = 0;
  const expand = (v: string) => substitute(v, (k) => lookup(k) ?? (Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined));

  while (pos < src.length) {
    // skip blank space and comment lines
    while (pos < src.length && isWhite(src[pos])) { if (src[pos] === '\n') line++; pos++; }
    if (pos >= src.length) break;
    if (src[pos] === '#') {
      const nl = src.indexOf('\n', pos);
      if (nl < 0) break;
      pos = nl;
      continue;
    }
    // `export KEY=…` (export followed by blank space; `exportFOO` is a key)
    const ex = /^export[ \t\v\f\r\u0085\u00a0]+/.exec(src.slice(pos, pos + 64));
    if (ex) pos += ex[0].length;
    // the key runs to `=`, `:` or the end of the line (a bare key inherits its value)
    let k = pos;
    let sep = '';
    for (; k < src.length; k++) {
      const c = src[k];
      if (isSpace(c)) continue;
      if (c === '=' || c === ':' || c === '\n') { sep = c; break; }
      if (!KEY_CHAR.test(c)) {
        throw new DotenvError(`line ${line}: unexpected character ${JSON.stringify(c)} in variable name ${JSON.stringify(src.slice(pos).split('\n')[0])}`);
      }
    }
    const key = src.slice(pos, k).replace(/[\s]+$/u, '');
    if (sep === '' || sep === '\n') {
      // bare KEY: value from the lookup, if any
      if (key.includes(' ')) throw new DotenvError(`line ${line}: key cannot contain a space`);
      if (sep === '\n') line++;
      const v = lookup(key);
      if (v !== undefined) out[key] = v;
      pos = k + 1;
      continue;
    }
    if (key.includes(' ')) throw new DotenvError(`line ${line}: key cannot contain a space`);
    pos = k + 1;
    while (pos < src.length && isSpace(src[pos])) pos++;
    const quote = src[pos];
    if (quote !== '"' && quote !== "'") {
      let nl = src.indexOf('\n', pos);
      if (nl < 0) nl = src.length;
      let value = src.slice(pos, nl);
      line++;
      const hash = value.indexOf(' #');
      if (hash >= 0) value = value.slice(0, hash);
      value = value.replace(/\s+$/u, '');
      out[key] = expand(value);
      pos = nl + 1;
      continue;
    }
    // quoted: up to the next unescaped quote of the same kind
    let chars = '';
    let escaped = false;
    let end = -1;
    for (let i = pos + 1; i < src.length; i++) {
      const c = src[i];
      if (c === '\n') line++;
      if (c !== quote) {
        if (!escaped && c === '\\') { escaped = true; continue; }
        if (escaped) { escaped = false; chars += '\\'; }
        chars += c;
        continue;
      }
      if (escaped) { escaped = false; chars += c; continue; }
      end = i;
      break;
    }
    if (end < 0) {
      let nl = src.indexOf('\n', pos);
      if (nl < 0) nl = src.length;
      throw new DotenvError(`line ${line}: unterminated quoted value ${src.slice(pos, nl)}`);
    }
    out[key] = quote === '"' ? expand(expandEscapes(chars)) : chars;
    pos = end + 1;
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', c: '', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Backslash escapes of double-quoted values: C escapes, `\0NNN` octal, `\$` kept as `$$` (a literal dollar). */
function expandEscapes(s: string): string {
  return s.replace(/\\(?:([abcfnrtv$"\\])|0([0-7]{0,3}))/g, (m, simple: string | undefined, octal: string | undefined) => {
    if (simple === '$') return '$$';
    if (simple !== undefined) return simple === 'c' ? m : SIMPLE_ESCAPES[simple];
    if (octal === undefined || octal === '') return m;
    return String.fromCharCode(parseInt(octal, 8));
  });
}

/** Reads `KEY=VALUE` lines of a label file or env file as a list (used by env_file `format: raw`). */
export function parseRawEnv(src: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of src.split('\n')) {
    const l = raw.replace(/\r$/, '');
    if (!l.trim() || l.trimStart().startsWith('#')) continue;
    const eq = l.indexOf('=');
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}
