// The two word-level passes of the Dockerfile language, ported from buildkit so `--change` values mean what
// they mean to docker:
//  - splitWords: the parser's split of an instruction's arguments into words; quotes and escapes are kept
//    (line_parsers.go parseWords), only whitespace outside quotes separates words.
//  - expandWord: the dispatcher's expansion of one word (shell/lex.go ProcessWord): quotes removed, backslash
//    escapes applied, $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} / ${VAR-x} / ${VAR+x} / ${VAR:?x} replaced.
import { EngineError } from '../common/errors';

const ESCAPE = '\\';
const isSpace = (ch: string) => /\s/u.test(ch);

export function splitWords(rest: string): string[] {
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
      if (ch === ESCAPE) {
        if (pos + 1 === chars.length) continue; // a trailing escape is dropped
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    // inside quotes
    if (ch === quote) phase = 'word';
    if (ch === ESCAPE && quote !== "'") {
      if (pos + 1 === chars.length) { phase = 'word'; continue; }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

/** Splits on runs of blanks with no regard for quotes (parseStringsWhitespaceDelimited). */
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

class Lexer {
  private pos = 0;
  private readonly chars: string[];

  constructor(word: string, private readonly env: Env) {
    this.chars = Array.from(word);
  }

  private peek(): string { return this.chars[this.pos] ?? ''; }
  private next(): string { return this.chars[this.pos++] ?? ''; }
  private atEnd(): boolean { return this.pos >= this.chars.length; }

  /** Processes until `stop` (used for the word inside ${x:-word}); the whole input when stop is ''. */
  process(stop = ''): string {
    let out = '';
    while (!this.atEnd()) {
      const ch = this.peek();
      if (stop !== '' && ch === stop) break;
      if (ch === "'") out += this.singleQuoted();
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '$') out += this.dollar();
      else {
        this.next();
        if (ch === ESCAPE) {
          if (this.atEnd()) break;
          out += this.next();
        } else {
          out += ch;
        }
      }
    }
    return out;
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      if (this.atEnd()) throw new EngineError(400, 'unexpected end of statement while looking for matching single-quote');
      const ch = this.next();
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      if (this.atEnd()) throw new EngineError(400, 'unexpected end of statement while looking for matching double-quote');
      const ch = this.peek();
      if (ch === '"') { this.next(); return out; }
      if (ch === '$') { out += this.dollar(); continue; }
      this.next();
      if (ch === ESCAPE) {
        const n = this.peek();
        if (n === '"' || n === '$' || n === ESCAPE) { out += this.next(); continue; }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    while (/[A-Za-z0-9_]/.test(this.peek()) && !this.atEnd()) name += this.next();
    return name;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : this.env.get(name) ?? '';
    }
    this.next();
    const name = this.name();
    if (name === '') throw new EngineError(400, 'bad substitution: missing variable name');
    const ch = this.next();
    if (ch === '}') return this.env.get(name) ?? '';
    let op = ch;
    if (ch === ':') op += this.next();
    if (!['-', '+', '?', ':-', ':+', ':?'].includes(op)) {
      throw new EngineError(400, `unsupported modifier (${op}) in substitution`);
    }
    const word = this.process('}');
    if (this.next() !== '}') throw new EngineError(400, 'syntax error: missing \'}\'');
    const value = this.env.get(name);
    const set = value !== undefined && (!op.startsWith(':') || value !== '');
    switch (op.replace(':', '')) {
      case '-': return set ? value! : word;
      case '+': return set ? word : '';
      default:
        if (!set) throw new EngineError(400, `${name}: ${word || 'is not allowed to be unset'}`);
        return value!;
    }
  }
}

export function expandWord(word: string, env: Env): string {
  return new Lexer(word, env).process();
}
