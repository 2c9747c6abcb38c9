// Go's path rules that Docker's build relies on: filepath.Clean, and filepath.Match (COPY/ADD source globs, and
// the syntax check of .dockerignore patterns). Slash-separated paths only (Linux).
import { EngineError } from '../common/errors';

/** filepath.Clean: the shortest equivalent path ('' → '.', 'a/../b' → 'b', '/../x' → '/x'). */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(c);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

type Token =
  | { t: 'star' }
  | { t: 'any' }
  | { t: 'lit'; c: string }
  | { t: 'class'; negated: boolean; ranges: Array<[number, number]> };

const badPattern = () => new EngineError(400, 'syntax error in pattern');

/** Compiled patterns, as the same few are matched against every path of a walk. */
const cache = new Map<string, Token[]>();

/** Splits a pattern into tokens, refusing what Go's Match calls a bad pattern (a trailing `\`, an unclosed or
 * empty class, a range without an end). */
function tokenize(pattern: string): Token[] {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  // One class member: an escaped or plain character; `-` and `]` cannot start one.
  const member = (i: number): [number, number] => {
    let ch = chars[i];
    if (ch === undefined || ch === '-' || ch === ']') throw badPattern();
    if (ch === '\\') {
      i++;
      ch = chars[i];
      if (ch === undefined) throw badPattern();
    }
    if (i + 1 >= chars.length) throw badPattern(); // the class is not closed
    return [ch.codePointAt(0)!, i + 1];
  };
  for (let i = 0; i < chars.length;) {
    const ch = chars[i];
    if (ch === '*') { tokens.push({ t: 'star' }); i++; continue; }
    if (ch === '?') { tokens.push({ t: 'any' }); i++; continue; }
    if (ch === '\\') {
      if (i + 1 >= chars.length) throw badPattern();
      tokens.push({ t: 'lit', c: chars[i + 1] });
      i += 2;
      continue;
    }
    if (ch !== '[') { tokens.push({ t: 'lit', c: ch }); i++; continue; }
    i++;
    let negated = false;
    if (chars[i] === '^') { negated = true; i++; }
    const ranges: Array<[number, number]> = [];
    for (;;) {
      if (chars[i] === ']' && ranges.length > 0) { i++; break; }
      const [lo, afterLo] = member(i);
      i = afterLo;
      let hi = lo;
      if (chars[i] === '-') [hi, i] = member(i + 1);
      ranges.push([lo, hi]);
    }
    tokens.push({ t: 'class', negated, ranges });
  }
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, tokens);
  return tokens;
}

/**
 * Go's filepath.Match on slash paths: `*` is any run of characters but `/`, `?` one character but `/`,
 * `[a-z]` / `[^a-z]` one character (any, `/` included), `\` escapes. The whole name must match.
 * Throws EngineError 400 `syntax error in pattern` for a bad pattern, whatever the name.
 */
export function goMatch(pattern: string, name: string): boolean {
  const tokens = tokenize(pattern);
  const s = Array.from(name);
  // memo of failed (token, position) pairs keeps `*` backtracking linear in practice
  const failed = new Set<number>();
  const width = s.length + 1;
  const at = (ti: number, si: number): boolean => {
    for (; ti < tokens.length; ti++) {
      const tok = tokens[ti];
      if (tok.t === 'star') {
        if (failed.has(ti * width + si)) return false;
        for (let j = si; ; j++) {
          if (at(ti + 1, j)) return true;
          if (j >= s.length || s[j] === '/') break;
        }
        failed.add(ti * width + si);
        return false;
      }
      if (si >= s.length) return false;
      const c = s[si];
      if (tok.t === 'any') {
        if (c === '/') return false;
      } else if (tok.t === 'lit') {
        if (c !== tok.c) return false;
      } else {
        const cp = c.codePointAt(0)!;
        const inRange = tok.ranges.some(([lo, hi]) => lo <= cp && cp <= hi);
        if (inRange === tok.negated) return false;
      }
      si++;
    }
    return si === s.length;
  };
  return at(0, 0);
}

/** Whether a COPY source has glob characters (`*`, `?`, `[`) that a `\` does not escape. */
export function hasWildcards(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}
