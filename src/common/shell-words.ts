// The two word-level passes of the Dockerfile language, with buildkit's rules, shared by `--change`
// (storage/changes.ts) and `docker build` (build/):
//  - splitWords: the parser's split of an instruction's arguments into words; quotes and escapes are kept, only
//    whitespace outside quotes separates words (what the parser does for ENV, LABEL and ARG).
//  - the lexer: the builder's expansion of one word: quotes removed, escapes applied, $VAR / ${VAR} and the
//    ${VAR<op>word} forms replaced. Options give the variants buildkit uses internally (raw quotes/escapes for
//    heredoc detection, no quote processing for heredoc bodies, unset variables left alone).
// The escape character is `\` unless a Dockerfile says `# escape=\``.
import { EngineError } from './errors';

export type EscapeToken = '\\' | '`';

const isSpace = (ch: string) => /\s/u.test(ch);

export function splitWords(rest: string, escape: EscapeToken = '\\'): string[] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const chars = Array.from(rest);
  for (let pos = 0; pos <= chars.length; pos++) {
    const end = pos === chars.length;
    let ch = end ? '' : chars[pos];
    if (phase === 'spaces') {
      if (end) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (end) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // a trailing escape is dropped
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    // inside quotes; nothing escapes inside single quotes
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) { phase = 'word'; continue; }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

/** Splits on runs of blanks with no regard for quotes (the parser's rule for FROM, EXPOSE, COPY's shell form). */
export const splitBlanks = (rest: string) => rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');

export type Env = ReadonlyMap<string, string>;

/** Builds the lookup table from an image's Env list ("K=V"; later entries win, like the runtime's). */
export function envMap(env: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return out;
}

export interface LexOptions {
  escape?: EscapeToken;
  /** Keep quote characters in the result (they still group words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies: the shell will see them). */
  skipQuotes?: boolean;
  /** Leave references to unset variables as written instead of replacing them with ''. */
  skipUnset?: boolean;
}

export interface LexResult {
  /** The expanded word. */
  result: string;
  /** The expansion split into words at unquoted whitespace (after substitution, like a shell's field split). */
  words: string[];
  /** Variables looked up and found / not found. */
  matched: Set<string>;
  unmatched: Set<string>;
}

const bad = (msg: string) => new EngineError(400, msg);

/** Accumulates the word split: whitespace that came from unquoted text or from a substitution separates words;
 * quoted text and escaped characters never do. */
class WordSplitter {
  readonly words: string[] = [];
  private buf = '';
  private inWord = false;

  char(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf !== '') {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.raw(ch);
    }
  }

  text(s: string): void {
    for (const ch of s) this.char(ch);
  }

  raw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buf !== '') {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isDigit = (ch: string) => /^\p{Nd}$/u.test(ch);
const isNameChar = (ch: string) => /^[\p{L}\p{Nd}_]$/u.test(ch);

class Lexer {
  private pos = 0;
  private readonly chars: string[];
  private readonly escape: EscapeToken;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(word: string, private readonly env: Env, private readonly opts: LexOptions) {
    this.chars = Array.from(word);
    this.escape = opts.escape ?? '\\';
  }

  private peek(): string | undefined { return this.chars[this.pos]; }
  private next(): string | undefined { return this.chars[this.pos++]; }

  private lookup(name: string): string | undefined {
    const v = this.env.get(name);
    (v === undefined ? this.unmatched : this.matched).add(name);
    return v;
  }

  /** Processes up to `stop` (consumed) or the end of input when stop is undefined. */
  process(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    let out = '';
    const words = new WordSplitter();
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) break;
      if (stop !== undefined && ch === stop) {
        this.next();
        return { result: out, words: words.finish() };
      }
      if (ch === '$') {
        const v = this.dollar();
        out += v;
        words.text(v); // substituted text is split like the shell's field splitting
        continue;
      }
      if (ch === '<') {
        const v = this.possibleHeredoc();
        out += v;
        words.raw(v);
        continue;
      }
      if ((ch === "'" || ch === '"') && !this.opts.skipQuotes) {
        const v = ch === "'" ? this.singleQuoted() : this.doubleQuoted(rawEscapes);
        out += v;
        words.raw(v);
        continue;
      }
      this.next();
      if (ch === this.escape) {
        if (rawEscapes) {
          words.raw(ch);
          out += ch;
        }
        const escaped = this.next();
        if (escaped === undefined) break; // a trailing escape disappears
        words.raw(escaped);
        out += escaped;
      } else {
        words.char(ch);
        out += ch;
      }
    }
    if (stop !== undefined) throw bad(`unexpected end of statement while looking for matching ${stop}`);
    return { result: out, words: words.finish() };
  }

  private singleQuoted(): string {
    const raw = this.opts.rawQuotes === true;
    let out = raw ? this.next()! : (this.next(), '');
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw bad('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return raw ? out + ch : out;
      out += ch;
    }
  }

  private doubleQuoted(rawEscapes: boolean): string {
    const raw = this.opts.rawQuotes === true;
    let out = raw ? this.next()! : (this.next(), '');
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw bad('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return raw ? out + ch : out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      let c = this.next()!;
      if (c === this.escape) {
        if (rawEscapes) out += c;
        const n = this.peek();
        if (n === undefined) continue; // then the missing quote is reported
        // Inside double quotes only ", $ and the escape itself can be escaped; otherwise it stays literal.
        if (n === '"' || n === '$' || n === this.escape) c = this.next()!;
      }
      out += c;
    }
  }

  /** A `<<` keeps the blanks after it, so `<< EOF` stays one word for heredoc detection. */
  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let out = '<<';
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r') out += this.next();
    return out;
  }

  private name(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) return name;
      if (name === '' && isDigit(ch)) {
        // positional parameters: all the digits
        while (this.peek() !== undefined && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next()!;
      if (!isNameChar(ch)) return name;
      name += this.next();
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnset) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw bad("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw bad('syntax error: bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === undefined) throw bad("syntax error: missing '}'");
    if (op === '}') {
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (op === '/') return this.replace(name);
    let nullIsUnset = false;
    let kind = op;
    if (op === ':') {
      nullIsUnset = true;
      const k = this.next();
      if (k === undefined) throw bad("syntax error: missing '}'");
      kind = k;
      op += kind;
    }
    if (!['+', '-', '?', '#', '%'].includes(kind) && !nullIsUnset) {
      throw bad(`unsupported modifier (${op}) in substitution`);
    }
    // Patterns keep their escapes: they are unescaped when turned into a matcher.
    const patternOp = kind === '#' || kind === '%';
    if (nullIsUnset && patternOp) throw bad(`unsupported modifier (${op}) in substitution`);
    const word = this.nested('}', patternOp, "syntax error: missing '}'");
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnset) return `\${${name}${op}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (kind) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw bad(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw bad(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        let pattern = word;
        const longest = pattern.startsWith(kind);
        if (longest) pattern = pattern.slice(1);
        return kind === '#' ? trimPrefix(pattern, value ?? '', longest) : trimSuffix(pattern, value ?? '', longest);
      }
      default:
        throw bad(`unsupported modifier (${op}) in substitution`);
    }
  }

  /** ${name/pattern/replacement} (first match) and ${name//pattern/replacement} (every match). */
  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.nested('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.nested('}', true, "syntax error: missing '}'");
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnset) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPattern(pattern, true, false, all);
    // A function keeps `$` in the replacement literal.
    return (value ?? '').replace(re, () => replacement);
  }

  private nested(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.process(stop, rawEscapes).result;
    } catch (err) {
      if (this.peek() === undefined) throw bad(missing);
      throw err;
    }
  }
}

/** A shell pattern (`*`, `?`, `\` escapes; no bracket expressions) as a regular expression. */
function shellPattern(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let re = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') { re += greedy ? '.*' : '.*?'; continue; }
    if (ch === '?') { re += '.'; continue; }
    if (ch === '\\') {
      const n = chars[i + 1];
      // `\}` and `\/` only protect the ${} syntax; the escape is not part of the pattern
      if (n === '}' || n === '/') continue;
      i++;
      if (n !== '*' && n !== '?' && n !== '\\') {
        throw bad(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      }
      re += `\\${n}`;
      continue;
    }
    re += /[[\]{}.+()|^$/]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(re, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, longest: boolean): string {
  const m = shellPattern(pattern, longest, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Regular expressions find the leftmost match, so the shortest/longest suffix is found as a prefix of the
 * reversed value, with the pattern reversed too (escapes stay in front of what they escape). */
function trimSuffix(pattern: string, value: string, longest: boolean): string {
  const p = Array.from(pattern);
  const reversed: string[] = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && i + 1 < p.length) {
      reversed.unshift(p[i], p[i + 1]);
      i++;
    } else {
      reversed.unshift(p[i]);
    }
  }
  const rev = (s: string) => Array.from(s).reverse().join('');
  return rev(trimPrefix(reversed.join(''), rev(value), longest));
}

/** Expands one word; throws EngineError 400 with buildkit's texts. */
export function lex(word: string, env: Env, opts: LexOptions = {}): LexResult {
  const lexer = new Lexer(word, env, opts);
  const { result, words } = lexer.process(undefined, opts.rawEscapes === true);
  return { result, words, matched: lexer.matched, unmatched: lexer.unmatched };
}

export function expandWord(word: string, env: Env, opts: LexOptions = {}): string {
  return lex(word, env, opts).result;
}
