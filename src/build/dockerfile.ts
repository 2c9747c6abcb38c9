// Dockerfile → typed stages, with the rules of Docker's parser (the buildkit frontend's parser and instruction
// packages, which the classic builder uses too). Two passes, like Docker's:
//  1. lines → logical instructions: parser directives at the top (`# escape=`, `# syntax=`, `# check=`),
//     comments, line continuations with the escape character, empty continuation lines (a warning), leading
//     whitespace, heredocs (`<<EOF`, `<<-EOF`, quoted delimiters, several on one line) for RUN, COPY and ADD;
//     then each instruction's arguments are split the way its instruction wants (JSON array, words, the rest
//     of the line, key=value pairs).
//  2. logical instructions → typed instructions grouped in stages: flags checked per instruction, argument
//     counts, stage names, HEALTHCHECK durations, ONBUILD triggers.
// Nothing is expanded here: variables are replaced when the builder reaches an instruction (expand.ts), since
// their values depend on build args and on the ENV of the stage at that point.
//
// Errors are DockerfileError (400) with the file, the lines and Docker's own message texts.
import { EngineError } from '../common/errors';
import { goQuote, parseGoDuration, parseGoInt } from '../common/go-format';
import { EscapeToken, lex, splitBlanks, splitWords } from '../common/shell-words';
import type { HealthConfig } from '../storage/image-config';

export type { EscapeToken } from '../common/shell-words';

// ---------------------------------------------------------------------------------------------------------------
// The result

export interface Heredoc {
  /** The delimiter word, quotes removed. */
  name: string;
  /** `3<<EOF` → 3; 0 when not given. */
  fd: number;
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body lines (and the delimiter line). */
  chomp: boolean;
  /** The body lines, each with its newline; the delimiter line is not included. Tabs are not yet stripped. */
  content: string;
}

interface Common {
  /** 1-based line where the instruction starts, and where it ends (continuations, heredoc bodies). */
  line: number;
  endLine: number;
  /** The logical line as written (continuations joined, comments dropped), e.g. for `Step 2/5 : RUN …`. */
  original: string;
  /** Flags as written before the arguments, quotes removed (`--from=build`). */
  flags: string[];
}

/** RUN, CMD and ENTRYPOINT: `json` is the exec form (args is the argv); otherwise args is [the shell text]. */
export interface RunInstruction extends Common {
  kind: 'RUN';
  json: boolean;
  args: string[];
  heredocs: Heredoc[];
  /** `--mount` values as written; expandInstruction() validates them into `mounts`. */
  mountSpecs: string[];
  /** Set by expandInstruction (expand.ts): the mounts with variables substituted. */
  mounts?: RunMount[];
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  /** `--device` values (buildkit's labs syntax; CDI devices). */
  devices: string[];
}
export interface CmdInstruction extends Common { kind: 'CMD'; json: boolean; args: string[] }
export interface EntrypointInstruction extends Common { kind: 'ENTRYPOINT'; json: boolean; args: string[] }

export interface KeyValue {
  /** Unexpanded: quotes and escapes still in place. */
  key: string;
  value: string;
  /** The `ENV key value` form (one pair, the value is the rest of the line). */
  legacy: boolean;
}
export interface EnvInstruction extends Common { kind: 'ENV'; pairs: KeyValue[] }
export interface LabelInstruction extends Common { kind: 'LABEL'; pairs: KeyValue[] }

export interface ArgDef {
  key: string;
  /** Unexpanded default; undefined for `ARG name`. */
  value?: string;
}
export interface ArgInstruction extends Common { kind: 'ARG'; args: ArgDef[] }

export interface ExposeInstruction extends Common { kind: 'EXPOSE'; ports: string[] }

/** A COPY/ADD source given as a heredoc: a file named `name` with `data` as content. */
export interface InlineSource {
  name: string;
  /** Leading tabs already stripped for `<<-`. */
  data: string;
  /** Whether build variables are substituted in `data` (unquoted delimiter). */
  expand: boolean;
}

interface CopyCommon extends Common {
  /** Source paths/patterns, unexpanded (heredoc sources are in `inline`). */
  sources: string[];
  inline: InlineSource[];
  dest: string;
  /** JSON array form. */
  json: boolean;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}
export interface CopyInstruction extends CopyCommon { kind: 'COPY'; from?: string; parents: boolean }
export interface AddInstruction extends CopyCommon {
  kind: 'ADD';
  checksum?: string;
  /** Only meaningful for git sources; undefined when the flag is absent. */
  keepGitDir?: boolean;
  /** Undefined when the flag is absent (then local archives are unpacked, remote ones are not). */
  unpack?: boolean;
}

export interface WorkdirInstruction extends Common { kind: 'WORKDIR'; path: string }
export interface UserInstruction extends Common { kind: 'USER'; user: string }
export interface StopSignalInstruction extends Common { kind: 'STOPSIGNAL'; signal: string }
export interface MaintainerInstruction extends Common { kind: 'MAINTAINER'; maintainer: string }
export interface VolumeInstruction extends Common { kind: 'VOLUME'; json: boolean; volumes: string[] }
/** health.Test is ['NONE'], ['CMD', …argv] or ['CMD-SHELL', command]; durations in nanoseconds, unset when 0. */
export interface HealthcheckInstruction extends Common { kind: 'HEALTHCHECK'; health: HealthConfig }
export interface ShellInstruction extends Common { kind: 'SHELL'; shell: string[] }
export interface OnbuildInstruction extends Common {
  kind: 'ONBUILD';
  /** The wrapped instruction's name, upper-case (RUN, COPY …). */
  trigger: string;
  /** What goes into the image's OnBuild list: the line without `ONBUILD`, heredoc bodies appended. */
  expression: string;
}

export type Instruction =
  | RunInstruction | CmdInstruction | EntrypointInstruction | EnvInstruction | LabelInstruction | ArgInstruction
  | ExposeInstruction | CopyInstruction | AddInstruction | WorkdirInstruction | UserInstruction
  | StopSignalInstruction | MaintainerInstruction | VolumeInstruction | HealthcheckInstruction | ShellInstruction
  | OnbuildInstruction;

export interface Stage {
  /** `AS name`, lower-cased (stage names are case-insensitive). */
  name?: string;
  index: number;
  /** Unexpanded: FROM sees only the global ARGs (expand.ts expandFrom). */
  from: { image: string; platform?: string };
  line: number;
  endLine: number;
  original: string;
  instructions: Instruction[];
}

export interface DockerfileWarning { line: number; message: string }

export interface Dockerfile {
  /** Name used in messages ("Dockerfile", or the -f name). */
  file: string;
  escape: EscapeToken;
  /** Parser directives found at the top, keys lower-cased (syntax, escape, check). */
  directives: Record<string, string>;
  /** ARGs before the first FROM: the only variables FROM lines can use. */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  warnings: DockerfileWarning[];
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export class DockerfileError extends EngineError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly endLine: number,
    /** Docker's text without location, e.g. `unknown instruction: FOO`. */
    readonly reason: string,
    message: string,
  ) {
    super(400, message);
    this.name = 'DockerfileError';
  }

  /** `Dockerfile:3`, how buildkit names the place. */
  get where(): string {
    return `${this.file}:${this.line}`;
  }

  /** The lines around the error, marked with >>>, in buildkit's layout (printed before the error message). */
  excerpt(source: string): string {
    const lines = source.split('\n');
    let start = this.line;
    let end = Math.min(Math.max(this.endLine, this.line), lines.length);
    if (start < 1 || start > lines.length) return '';
    // two lines of context in total when the error spans lines, four for a single line
    const pad = end === start ? 4 : 2;
    for (let p = 0; p < pad;) {
      if (start > 1) { start--; p++; }
      if (end !== lines.length) { end++; p++; }
      p++;
    }
    let out = `${this.file}:${this.line}\n--------------------\n`;
    for (let i = start; i <= end; i++) {
      const mark = i >= this.line && i <= Math.max(this.endLine, this.line) ? '>>>' : '   ';
      out += ` ${String(i).padStart(3)} | ${mark} ${lines[i - 1]}\n`;
    }
    return out + '--------------------\n';
  }
}

/** A failure of pass 1 (reading lines): Docker reports it as a failure to parse the file. */
class ScanError extends Error {
  constructor(readonly reason: string, readonly line: number, readonly endLine: number) { super(reason); }
}

/** A failure inside one instruction (pass 2): Docker says `dockerfile parse error on line N: …`. */
class InstructionError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Pass 1: lines → logical instructions

interface Node {
  cmd: string;
  lower: string;
  flags: string[];
  args: string[];
  json: boolean;
  /** ENV/LABEL only: which pairs use the legacy `key value` form. */
  pairs?: KeyValue[];
  /** ONBUILD: the wrapped instruction. */
  sub?: Node;
  original: string;
  line: number;
  endLine: number;
  heredocs: Heredoc[];
}

/** Every instruction; the most used first, so they win ties when suggesting a fix for a typo. */
const INSTRUCTIONS = ['from', 'run', 'copy', 'cmd', 'env', 'add', 'arg', 'entrypoint', 'workdir', 'user', 'expose',
  'label', 'volume', 'healthcheck', 'shell', 'stopsignal', 'onbuild', 'maintainer'];
const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);
const DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const BLANKS = /[\t\v\f\r ]+/;
const HEREDOC_WORD = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const NO_ENV: ReadonlyMap<string, string> = new Map();

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '');
const trimLeft = (s: string) => s.replace(/^\s+/u, '');
const isComment = (s: string) => trimLeft(s).startsWith('#');

/** Physical lines with their terminators (heredoc bodies keep them). */
function physicalLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl + 1;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

/** A line ends in a continuation when its last non-blank character is the escape character and that is not
 * itself escaped (approximately: not preceded by another escape character), or when the line is only that. */
function continuationMatcher(escape: EscapeToken): RegExp {
  const e = escape === '\\' ? '\\\\' : '`';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

class Scanner {
  escape: EscapeToken = '\\';
  private continuation = continuationMatcher('\\');
  readonly directives: Record<string, string> = {};
  readonly warnings: DockerfileWarning[] = [];
  /** Directives are only looked for until the first line that is not one. */
  private directivesDone = false;

  /** A parser directive (`# key=value`) while still at the top; returns true when the line was one. */
  private directive(line: string, lineNo: number): boolean {
    if (this.directivesDone) return false;
    if (!line.startsWith('#')) {
      this.directivesDone = true;
      return false;
    }
    const m = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(trimLeft(line.slice(1)));
    const key = m?.[1].toLowerCase();
    if (!m || !DIRECTIVES.has(key!)) {
      this.directivesDone = true; // a plain comment (or an unknown directive) ends the directives
      return false;
    }
    if (key! in this.directives) throw new ScanError(`only one ${key} parser directive can be used`, lineNo, lineNo);
    const value = m[2];
    if (key === 'escape') {
      if (value !== '`' && value !== '\\') {
        throw new ScanError(`invalid escape token '${value}' does not match \` or \\`, lineNo, lineNo);
      }
      this.escape = value;
      this.continuation = continuationMatcher(value);
    }
    this.directives[key!] = value;
    return true;
  }

  /** [the line without its continuation character, whether the instruction ends here]. */
  private trimContinuation(line: string): [string, boolean] {
    if (!this.continuation.test(line)) return [line, true];
    return [line.replace(this.continuation, '$1'), false];
  }

  scan(text: string): Node[] {
    const lines = physicalLines(text);
    const nodes: Node[] = [];
    let i = 0;
    let lineNo = 0;
    while (i < lines.length) {
      let token = trimLeft(trimNewline(lines[i++]));
      this.directive(token, lineNo + 1);
      if (isComment(token)) token = '';
      lineNo++;
      const startLine = lineNo;
      let [buf, ended] = this.trimContinuation(token);
      if (ended && buf === '') continue;
      let emptyContinuation = false;
      while (!ended && i < lines.length) {
        const raw = lines[i++];
        lineNo++;
        if (isComment(raw)) continue; // comment lines inside an instruction are dropped
        const piece = trimNewline(raw);
        if (trimLeft(piece) === '') {
          emptyContinuation = true;
          continue;
        }
        let part: string;
        [part, ended] = this.trimContinuation(piece); // continuation lines keep their leading blanks
        buf += part;
      }
      if (emptyContinuation) {
        this.warnings.push({ line: lineNo, message: `Empty continuation line found in: ${buf}` });
      }
      let node: Node;
      try {
        node = this.node(buf);
      } catch (err) {
        if (err instanceof InstructionError) throw new ScanError(err.message, startLine, lineNo);
        throw err;
      }
      if (canContainHeredoc(node) && buf.includes('<<')) {
        let docs: Heredoc[];
        try {
          docs = heredocsInLine(buf);
        } catch (err) {
          throw new ScanError((err as Error).message, startLine, lineNo);
        }
        for (const doc of docs) {
          let terminated = false;
          while (i < lines.length) {
            const raw = lines[i++];
            lineNo++;
            let candidate = trimNewline(raw);
            if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
            if (candidate === doc.name) {
              terminated = true;
              break;
            }
            doc.content += raw;
          }
          if (!terminated) throw new ScanError('unterminated heredoc', startLine, lineNo);
          node.heredocs.push(doc);
        }
      }
      node.line = startLine;
      node.endLine = lineNo;
      nodes.push(node);
    }
    if (nodes.length === 0) throw new ScanError('file with no instructions', Math.max(lineNo, 1), Math.max(lineNo, 1));
    return nodes;
  }

  /** One logical line: instruction name, flags, then the arguments as the instruction's parser splits them. */
  node(line: string): Node {
    const trimmed = line.trim();
    const m = BLANKS.exec(trimmed);
    const cmd = m ? trimmed.slice(0, m.index) : trimmed;
    let rest = '';
    let flags: string[] = [];
    if (m) ({ rest, flags } = extractFlags(trimmed.slice(m.index + m[0].length), this.escape));
    rest = rest.trim();
    const node: Node = { cmd, lower: cmd.toLowerCase(), flags, args: [], json: false, original: line, line: 0, endLine: 0, heredocs: [] };
    switch (node.lower) {
      case 'add':
      case 'copy':
      case 'volume':
        Object.assign(node, jsonOrBlanks(rest));
        break;
      case 'cmd':
      case 'entrypoint':
      case 'run':
      case 'shell':
        Object.assign(node, jsonOrText(rest));
        break;
      case 'arg':
        node.args = splitWords(rest, this.escape);
        break;
      case 'env':
      case 'label':
        node.pairs = keyValues(rest, node.lower === 'env' ? 'ENV' : 'LABEL', this.escape);
        break;
      case 'expose':
      case 'from':
        node.args = rest === '' ? [] : rest.split(BLANKS);
        break;
      case 'healthcheck': {
        // the type word, then a command in either form
        const h = /^(\S+)\s*([\s\S]*)$/.exec(rest);
        if (h) {
          const cmdPart = jsonOrText(h[2]);
          node.args = [h[1], ...cmdPart.args];
          node.json = cmdPart.json;
        }
        break;
      }
      case 'maintainer':
      case 'stopsignal':
      case 'user':
      case 'workdir':
        node.args = rest === '' ? [] : [rest];
        break;
      case 'onbuild':
        if (rest !== '') node.sub = this.node(rest);
        break;
      default:
        // unknown instructions fail in pass 2, with Docker's message and a suggestion
        break;
    }
    return node;
  }
}

/** Leading `--flag[=value]` words of an instruction (quotes removed, escapes applied); `--` ends them. */
function extractFlags(line: string, escape: EscapeToken): { rest: string; flags: string[] } {
  const chars = Array.from(line);
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  let offset = 0; // in UTF-16 units, for slicing `line`
  for (let pos = 0; pos <= chars.length; pos++) {
    const end = pos === chars.length;
    let ch = end ? '' : chars[pos];
    if (phase === 'spaces') {
      if (end) break;
      if (/\s/u.test(ch)) { offset += ch.length; continue; }
      if (ch !== '-' || chars[pos + 1] !== '-') return { rest: line.slice(offset), flags };
      phase = 'word';
    }
    if (end) {
      if (word !== '--' && (blankOK || word !== '')) flags.push(word);
      break;
    }
    offset += ch.length;
    if (phase === 'word') {
      if (/\s/u.test(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(offset - ch.length), flags };
        if (blankOK || word !== '') flags.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        ch = chars[++pos];
        offset += ch.length;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      ch = chars[++pos];
      offset += ch.length;
    }
    word += ch;
  }
  return { rest: '', flags };
}

class NotStringArray extends InstructionError {
  constructor() { super('when using JSON array syntax, arrays must be comprised of strings only'); }
}

/** A JSON array of strings, or undefined when `rest` is not a JSON array at all. */
function jsonArray(rest: string): string[] | undefined {
  const text = trimLeft(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new NotStringArray();
  return value as string[];
}

/** RUN, CMD, ENTRYPOINT, SHELL: the exec form, or the whole rest of the line as one argument. */
function jsonOrText(rest: string): { args: string[]; json: boolean } {
  if (rest === '') return { args: [], json: false };
  const arr = jsonArray(rest);
  return arr ? { args: arr, json: true } : { args: [rest], json: false };
}

/** ADD, COPY, VOLUME: the exec form, or words split at blanks (quotes mean nothing here). */
function jsonOrBlanks(rest: string): { args: string[]; json: boolean } {
  const arr = jsonArray(rest);
  if (arr) return { args: arr, json: true };
  return { args: rest === '' ? [] : rest.split(BLANKS), json: false };
}

/** ENV and LABEL: `key=value …` (quotes kept for the expansion pass), or the legacy `key the value`. */
function keyValues(rest: string, name: string, escape: EscapeToken): KeyValue[] {
  const words = splitWords(rest, escape);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const parts = /^([\s\S]*?)[\t\v\f\r ]+([\s\S]*)$/.exec(rest);
    if (!parts) throw new InstructionError(`${name} must have two arguments`);
    return [{ key: parts[1], value: parts[2], legacy: true }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq === -1) throw new InstructionError(`Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1), legacy: false };
  });
}

function canContainHeredoc(node: Node): boolean {
  const target = node.lower === 'onbuild' && node.sub ? node.sub : node;
  return HEREDOC_INSTRUCTIONS.has(target.lower) && !target.json;
}

/** Parses one word as a heredoc redirection (`<<EOF`, `<<-"EOF"`, `2<<EOF`); undefined when it is not one. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const plain = lex(m[3], NO_ENV, { skipUnset: true }).words;
  if (plain.length !== 1) return undefined;
  const raw = lex(m[3], NO_ENV, { skipUnset: true, rawQuotes: true }).words;
  if (raw.length !== plain.length) {
    throw new Error(`internal lexing of heredoc produced inconsistent results: ${m[3]}`);
  }
  // a quote anywhere in the delimiter turns expansion of the body off, like a shell
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return { name: plain[0], fd: m[1] === '' ? 0 : Number(m[1]), expand: quotes(plain[0]) === quotes(raw[0]), chomp: m[2] === '-' };
}

/** Every heredoc redirection in an instruction line, in order. */
function heredocsInLine(line: string): Heredoc[] {
  let words: string[];
  try {
    // the escape character is always `\` here, as in Docker
    words = lex(line, NO_ENV, { rawQuotes: true, rawEscapes: true, skipUnset: true }).words;
  } catch {
    return []; // a line the shell lexer rejects has no heredocs (Docker ignores this error too)
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const doc = parseHeredocWord(w);
    if (doc) docs.push({ ...doc, content: '' });
  }
  return docs;
}

/** Strips leading tabs from every line (`<<-`). */
export const chompHeredoc = (s: string) => s.replace(/^\t+/gm, '');

// ---------------------------------------------------------------------------------------------------------------
// Pass 2: logical instructions → typed instructions

type FlagKind = 'bool' | 'string' | 'strings';
interface FlagDef { kind: FlagKind; value: string; values: string[]; used: boolean }

/** The flags an instruction accepts, checked with Docker's rules and messages. */
class Flags {
  private readonly defs = new Map<string, FlagDef>();

  constructor(private readonly raw: string[]) {}

  bool(name: string): FlagDef { return this.add(name, 'bool', 'false'); }
  string(name: string, def = ''): FlagDef { return this.add(name, 'string', def); }
  strings(name: string): FlagDef { return this.add(name, 'strings', ''); }

  private add(name: string, kind: FlagKind, value: string): FlagDef {
    const def: FlagDef = { kind, value, values: [], used: false };
    this.defs.set(name, def);
    return def;
  }

  parse(): void {
    for (const a of this.raw) {
      if (a === '--') return; // the end of the flags
      if (!a.startsWith('--')) throw new InstructionError(`arg should start with -- : ${a}`);
      const eq = a.indexOf('=');
      const flagName = eq === -1 ? a : a.slice(0, eq);
      const value = eq === -1 ? '' : a.slice(eq + 1);
      const name = flagName.slice(2);
      const def = this.defs.get(name);
      if (!def) throw new InstructionError(suggest(`unknown flag: ${flagName}`, name, [...this.defs.keys()], true));
      if (def.used && def.kind !== 'strings') throw new InstructionError(`duplicate flag specified: ${flagName}`);
      def.used = true;
      if (def.kind === 'bool') {
        if (eq !== -1 && value === '') throw new InstructionError(`missing a value on flag: ${flagName}`);
        const v = value.toLowerCase();
        if (v === 'true' || v === '') def.value = 'true';
        else if (v === 'false') def.value = 'false';
        else throw new InstructionError(`expecting boolean value for flag ${flagName}, not: ${value}`);
      } else {
        if (eq === -1) throw new InstructionError(`missing a value on flag: ${flagName}`);
        if (def.kind === 'string') def.value = value;
        else def.values.push(value);
      }
    }
  }
}

/** Docker's "(did you mean x?)" hint: the closest option within edit distance 2. */
function suggest(message: string, value: string, options: string[], caseSensitive: boolean): string {
  const v = caseSensitive ? value : value.toLowerCase();
  let best = '';
  let bestDist = 3;
  for (const opt of options) {
    const o = caseSensitive ? opt : opt.toLowerCase();
    if (o === v) return message;
    const d = levenshtein(v, o);
    if (d < bestDist) {
      bestDist = d;
      best = !caseSensitive && value === value.toUpperCase() && value !== value.toLowerCase() ? o.toUpperCase() : o;
    }
  }
  return best === '' ? message : `${message} (did you mean ${best}?)`;
}

function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length];
}

const atLeastOne = (name: string) => new InstructionError(`${name} requires at least one argument`);
const exactlyOne = (name: string) => new InstructionError(`${name} requires exactly one argument`);
const noDestination = (name: string) =>
  new InstructionError(`${name} requires at least two arguments, but only one was provided. Destination could not be determined`);

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function common(node: Node): Common {
  return { line: node.line, endLine: node.endLine, original: node.original.trim(), flags: node.flags };
}

function parseFrom(node: Node): Stage {
  const args = node.args;
  let name: string | undefined;
  if (args.length === 3 && args[1].toLowerCase() === 'as') {
    name = args[2].toLowerCase();
    if (!STAGE_NAME.test(name)) {
      throw new InstructionError(`invalid name for build stage: ${goQuote(args[2])}, name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new InstructionError('FROM requires either one or three arguments');
  }
  const flags = new Flags(node.flags);
  const platform = flags.string('platform');
  flags.parse();
  return {
    ...(name !== undefined ? { name } : {}),
    index: 0,
    from: { image: args[0], ...(platform.value !== '' ? { platform: platform.value } : {}) },
    line: node.line,
    endLine: node.endLine,
    original: node.original.trim(),
    instructions: [],
  };
}

/** Sources and destination of COPY/ADD, with heredoc sources turned into inline files. */
function sourcesAndDest(node: Node, name: string): { sources: string[]; inline: InlineSource[]; dest: string } {
  const dest = node.args[node.args.length - 1];
  if (parseHeredocWord(dest)) throw new InstructionError(`${name} cannot accept a heredoc as a destination`);
  const bodies = new Map(node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const inline: InlineSource[] = [];
  for (const src of node.args.slice(0, -1)) {
    const doc = parseHeredocWord(src);
    if (!doc) {
      sources.push(src);
      continue;
    }
    const content = bodies.get(doc.name)?.content ?? '';
    inline.push({ name: doc.name, data: doc.chomp ? chompHeredoc(content) : content, expand: doc.expand });
  }
  return { sources, inline, dest };
}

function optional<K extends string>(key: K, value: string): Partial<Record<K, string>> {
  return value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

/** HEALTHCHECK durations: 0 means "inherit"; anything else must be at least 1ms. */
function interval(def: FlagDef, name: string): number {
  if (def.value === '') return 0;
  let ns: number;
  try {
    ns = parseGoDuration(def.value);
  } catch (err) {
    throw new InstructionError((err as Error).message);
  }
  if (ns !== 0 && ns < 1e6) throw new InstructionError(`Interval ${goQuote(name)} cannot be less than 1ms`);
  return ns;
}

function parseHealthcheck(node: Node): HealthcheckInstruction {
  if (node.args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = node.args[0].toUpperCase();
  const args = node.args.slice(1);
  const base = { kind: 'HEALTHCHECK' as const, ...common(node) };
  if (type === 'NONE') {
    // Docker does not look at flags here
    if (args.length !== 0) throw new InstructionError('HEALTHCHECK NONE takes no arguments');
    return { ...base, health: { Test: ['NONE'] } };
  }
  const flags = new Flags(node.flags);
  const fInterval = flags.string('interval');
  const fTimeout = flags.string('timeout');
  const fStartPeriod = flags.string('start-period');
  const fStartInterval = flags.string('start-interval');
  const fRetries = flags.string('retries');
  flags.parse();
  if (type !== 'CMD') throw new InstructionError(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`);
  const cmd = node.json ? args : args.length === 0 ? [] : [args.join(' ')];
  if (cmd.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = { Test: [node.json ? 'CMD' : 'CMD-SHELL', ...cmd] };
  const durations: Array<[FlagDef, string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval']> = [
    [fInterval, 'interval', 'Interval'], [fTimeout, 'timeout', 'Timeout'],
    [fStartPeriod, 'start-period', 'StartPeriod'], [fStartInterval, 'start-interval', 'StartInterval']];
  for (const [def, name, field] of durations) {
    const ns = interval(def, name);
    if (ns !== 0) health[field] = ns;
  }
  if (fRetries.value !== '') {
    let retries: number;
    try {
      retries = parseGoInt(fRetries.value, 32);
    } catch (err) {
      throw new InstructionError((err as Error).message);
    }
    if (retries < 0) throw new InstructionError(`--retries cannot be negative (${retries})`);
    if (retries > 0) health.Retries = retries;
  }
  return { ...base, health };
}

const NETWORKS = new Set(['default', 'none', 'host']);
const SECURITY = new Set(['sandbox', 'insecure']);

function parseRun(node: Node): RunInstruction {
  const flags = new Flags(node.flags);
  const mount = flags.strings('mount');
  const network = flags.string('network', 'default');
  const security = flags.string('security', 'sandbox');
  const device = flags.strings('device');
  flags.parse();
  for (const spec of mount.values) checkMountBeforeExpansion(spec);
  if (!NETWORKS.has(network.value)) throw new InstructionError(`invalid network mode ${goQuote(network.value)}`);
  if (!SECURITY.has(security.value)) throw new InstructionError(`security ${goQuote(security.value)} is not valid`);
  return {
    kind: 'RUN', ...common(node), json: node.json, args: node.json ? node.args : node.args.length ? [node.args.join(' ')] : [],
    heredocs: node.heredocs, mountSpecs: mount.values, network: network.value as RunInstruction['network'],
    security: security.value as RunInstruction['security'], devices: device.values,
  };
}

/** What Docker checks in a --mount before variables are known: the CSV syntax, and no variables in `from`
 * (the stage graph is built before expansion). The rest is checked by parseRunMount after expansion. */
function checkMountBeforeExpansion(spec: string): void {
  let fields: string[];
  try {
    fields = csvFields(spec);
  } catch (err) {
    throw new InstructionError(`failed to parse csv mounts: ${(err as Error).message}`);
  }
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq === -1 || f.slice(0, eq).toLowerCase() !== 'from') continue;
    const value = f.slice(eq + 1);
    const dollar = value.indexOf('$');
    if (dollar !== -1 && dollar !== value.length - 1) {
      throw new InstructionError("'from' doesn't support variable expansion, define alias stage instead");
    }
  }
}

/** One CSV record (encoding/csv's rules, as Docker's --mount parser uses): `"` quotes a field, `""` inside is a
 * quote. */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error('extraneous or missing " in quoted-field');
        if (line[i] === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw new Error('extraneous or missing " in quoted-field');
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw new Error('bare " in non-quoted-field');
        field += line[i++];
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

function parseCopy(node: Node, escape: EscapeToken): CopyInstruction {
  if (node.args.length < 2) throw noDestination('COPY');
  const flags = new Flags(node.flags);
  const chown = flags.string('chown');
  const from = flags.string('from');
  const chmod = flags.string('chmod');
  const link = flags.bool('link');
  const exclude = flags.strings('exclude');
  const parents = flags.bool('parents');
  flags.parse();
  // The stage graph is built before any variable is known, so --from is taken literally.
  if (from.value !== '' && lexOrThrow(from.value, escape) !== from.value) {
    throw new InstructionError('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
  }
  return {
    kind: 'COPY', ...common(node), ...sourcesAndDest(node, 'COPY'), json: node.json,
    ...optional('from', from.value), ...optional('chown', chown.value), ...optional('chmod', chmod.value),
    link: link.value === 'true', parents: parents.value === 'true', exclude: exclude.values,
  };
}

/** Expands with no variables set (to see whether a word has any), with the lexer's errors as InstructionError. */
function lexOrThrow(word: string, escape: EscapeToken): string {
  try {
    return lex(word, NO_ENV, { escape }).result;
  } catch (err) {
    throw new InstructionError((err as Error).message);
  }
}

function parseAdd(node: Node): AddInstruction {
  if (node.args.length < 2) throw noDestination('ADD');
  const flags = new Flags(node.flags);
  const chown = flags.string('chown');
  const chmod = flags.string('chmod');
  const link = flags.bool('link');
  const keepGitDir = flags.bool('keep-git-dir');
  const checksum = flags.string('checksum');
  const unpack = flags.bool('unpack');
  const exclude = flags.strings('exclude');
  flags.parse();
  return {
    kind: 'ADD', ...common(node), ...sourcesAndDest(node, 'ADD'), json: node.json,
    ...optional('chown', chown.value), ...optional('chmod', chmod.value), ...optional('checksum', checksum.value),
    link: link.value === 'true', exclude: exclude.values,
    ...(keepGitDir.used ? { keepGitDir: keepGitDir.value === 'true' } : {}),
    ...(unpack.used ? { unpack: unpack.value === 'true' } : {}),
  };
}

function parseOnbuild(node: Node): OnbuildInstruction {
  if (!node.sub) throw atLeastOne('ONBUILD');
  new Flags(node.flags).parse();
  const trigger = node.sub.cmd.trim().toUpperCase();
  if (trigger === 'ONBUILD') throw new InstructionError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  // heredoc bodies travel with the trigger, so the downstream build can parse it again
  for (const h of node.heredocs) expression += `\n${h.content}${h.name}`;
  return { kind: 'ONBUILD', ...common(node), trigger, expression };
}

/** One logical instruction → FROM (a new stage) or an instruction. Throws InstructionError. */
function instruction(node: Node, escape: EscapeToken): Stage | Instruction {
  const noFlags = () => new Flags(node.flags).parse();
  const base = common(node);
  switch (node.lower) {
    case 'from':
      return parseFrom(node);
    case 'run':
      return parseRun(node);
    case 'cmd':
      noFlags();
      return { kind: 'CMD', ...base, json: node.json, args: node.args };
    case 'entrypoint':
      noFlags();
      return { kind: 'ENTRYPOINT', ...base, json: node.json, args: node.args };
    case 'env':
    case 'label': {
      noFlags();
      const name = node.lower === 'env' ? 'ENV' : 'LABEL';
      const pairs = node.pairs ?? [];
      if (pairs.length === 0) throw atLeastOne(name);
      if (pairs.some((p) => p.key === '')) throw new InstructionError(`${name} names can not be blank`);
      return node.lower === 'env' ? { kind: 'ENV', ...base, pairs } : { kind: 'LABEL', ...base, pairs };
    }
    case 'arg': {
      // Docker does not check flags on ARG
      if (node.args.length === 0) throw atLeastOne('ARG');
      const args = node.args.map((a): ArgDef => {
        const eq = a.indexOf('=');
        if (eq === -1) return { key: a };
        if (eq === 0) throw new InstructionError('ARG names can not be blank');
        return { key: a.slice(0, eq), value: a.slice(eq + 1) };
      });
      return { kind: 'ARG', ...base, args };
    }
    case 'expose':
      if (node.args.length === 0) throw atLeastOne('EXPOSE');
      noFlags();
      return { kind: 'EXPOSE', ...base, ports: [...node.args].sort() };
    case 'copy':
      return parseCopy(node, escape);
    case 'add':
      return parseAdd(node);
    case 'workdir':
      if (node.args.length !== 1) throw exactlyOne('WORKDIR');
      noFlags();
      return { kind: 'WORKDIR', ...base, path: node.args[0] };
    case 'user':
      if (node.args.length !== 1) throw exactlyOne('USER');
      noFlags();
      return { kind: 'USER', ...base, user: node.args[0] };
    case 'stopsignal':
      // Docker does not check flags on STOPSIGNAL
      if (node.args.length !== 1) throw exactlyOne('STOPSIGNAL');
      return { kind: 'STOPSIGNAL', ...base, signal: node.args[0] };
    case 'maintainer':
      if (node.args.length !== 1) throw exactlyOne('MAINTAINER');
      noFlags();
      return { kind: 'MAINTAINER', ...base, maintainer: node.args[0] };
    case 'volume': {
      if (node.args.length === 0) throw atLeastOne('VOLUME');
      noFlags();
      const volumes = node.args.map((v) => v.trim());
      if (volumes.some((v) => v === '')) throw new InstructionError('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...base, json: node.json, volumes };
    }
    case 'healthcheck':
      return parseHealthcheck(node);
    case 'shell':
      noFlags();
      if (node.args.length === 0) throw atLeastOne('SHELL');
      if (!node.json) throw new InstructionError('SHELL requires the arguments to be in JSON form');
      return { kind: 'SHELL', ...base, shell: node.args };
    case 'onbuild':
      return parseOnbuild(node);
    default:
      throw new InstructionError(suggest(`unknown instruction: ${node.cmd}`, node.cmd, INSTRUCTIONS.map((i) => i.toUpperCase()), false));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// RUN helpers for the builder

export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  /** A stage name/index or an image (bind, cache). */
  from?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  /** tmpfs size in bytes. */
  size?: number;
  /** cache id, or secret/ssh id. */
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  required: boolean;
  /** secret: expose it as this environment variable. */
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING = ['shared', 'private', 'locked'];
const MOUNT_KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid',
  'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env'];

/** Go's strconv.ParseBool. */
function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** docker's units.RAMInBytes: 512, 64m, 1.5GiB (binary multiples). */
function ramInBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) return undefined;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}

/**
 * One `RUN --mount=` value (CSV of key=value), with `expand` applied to every value first, checked with Docker's
 * rules and messages. Throws EngineError 400.
 */
export function parseRunMount(spec: string, expand: (word: string) => string = (w) => w): RunMount {
  const bad = (msg: string) => new EngineError(400, msg);
  let fields: string[];
  try {
    fields = csvFields(spec);
  } catch (err) {
    throw bad(`failed to parse csv mounts: ${(err as Error).message}`);
  }
  const m: RunMount = { type: 'bind', readonly: false, required: false };
  let roAuto = true;
  const uint = (value: string, base: 8 | 10, what: string) => {
    const re = base === 8 ? /^[0-7]+$/ : /^\d+$/;
    const n = re.test(value) ? parseInt(value, base) : NaN;
    if (!(n <= 0xffffffff)) throw bad(`invalid value ${value} for ${what}`);
    return n;
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (eq === -1) {
      if (key === 'readonly' || key === 'ro') { m.readonly = true; roAuto = false; continue; }
      if (key === 'readwrite' || key === 'rw') { m.readonly = false; roAuto = false; continue; }
      if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = true;
        continue;
      }
      throw bad(`invalid field '${field}' must be a key=value pair`);
    }
    const value = expand(field.slice(eq + 1));
    switch (key) {
      case 'type': {
        const t = value.toLowerCase();
        if (!MOUNT_TYPES.includes(t)) throw bad(suggest(`unsupported mount type ${goQuote(value)}`, value, MOUNT_TYPES, true));
        m.type = t as RunMount['type'];
        break;
      }
      case 'from': m.from = value; break;
      case 'source': case 'src': m.source = value; break;
      case 'target': case 'dst': case 'destination': m.target = value; break;
      case 'readonly': case 'ro':
      case 'readwrite': case 'rw': {
        const b = goBool(value);
        if (b === undefined) throw bad(`invalid value for ${key}: ${value}`);
        m.readonly = key === 'readonly' || key === 'ro' ? b : !b;
        roAuto = false;
        break;
      }
      case 'required': {
        if (m.type !== 'secret' && m.type !== 'ssh') throw bad(`unexpected key '${key}' for mount type '${m.type}'`);
        const b = goBool(value);
        if (b === undefined) throw bad(`invalid value for ${key}: ${value}`);
        m.required = b;
        break;
      }
      case 'size': {
        if (m.type !== 'tmpfs') throw bad(`unexpected key '${key}' for mount type '${m.type}'`);
        const n = ramInBytes(value);
        if (n === undefined) throw bad(`invalid value for ${key}: ${value}`);
        m.size = n;
        break;
      }
      case 'id': m.id = value; break;
      case 'sharing': {
        const v = value.toLowerCase();
        if (!SHARING.includes(v)) throw bad(suggest(`unsupported sharing value ${goQuote(value)}`, value, SHARING, true));
        m.sharing = v as RunMount['sharing'];
        break;
      }
      case 'mode': m.mode = uint(value, 8, 'mode'); break;
      case 'uid': m.uid = uint(value, 10, 'uid'); break;
      case 'gid': m.gid = uint(value, 10, 'gid'); break;
      case 'env': m.env = value; break;
      default:
        throw bad(suggest(`unexpected key '${key}' in '${field}'`, key, MOUNT_KEYS, true));
    }
  }
  if (m.type !== 'secret' && m.type !== 'ssh' && m.type !== 'cache') {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw bad(`${k} not allowed for ${goQuote(m.type)} type mounts`);
    }
  }
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) throw bad('secret mount should not have a from');
    if (m.sharing !== undefined) throw bad('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw bad('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw bad("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw bad(`invalid cache sharing set for ${m.type} mount`);
  return m;
}

/**
 * The command line a RUN executes, with Docker's heredoc rules:
 *  - `RUN <<EOF` alone: the body is the command; a body starting with `#!` is instead written to `script`
 *    (mode 0755, the builder mounts it at /dev/pipes/<name>) and that file is run;
 *  - heredocs inside a longer command (`RUN <<EOF bash`, `RUN cat <<A <<B`): the bodies are appended after the
 *    command, each followed by its delimiter, and the shell reads them as real heredocs.
 * `prependShell`: the args go after the stage's SHELL (default ["/bin/sh", "-c"]); false for the exec form.
 */
export function runCommandLine(run: RunInstruction): { args: string[]; prependShell: boolean; script?: { name: string; data: string } } {
  const prependShell = !run.json;
  if (run.heredocs.length === 0) return { args: run.args, prependShell };
  const line = run.args[0] ?? '';
  const whole = parseHeredocWord(line);
  if (whole) {
    const doc = run.heredocs[0];
    const data = doc.chomp ? chompHeredoc(doc.content) : doc.content;
    if (data.startsWith('#!')) return { args: [`/dev/pipes/${doc.name}`], prependShell, script: { name: doc.name, data } };
    return { args: [data], prependShell };
  }
  let text = line;
  for (const doc of run.heredocs) text += `\n${doc.content}${doc.name}`;
  return { args: [text], prependShell };
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

export interface ParseOptions {
  /** Name for messages; default "Dockerfile". */
  file?: string;
}

/**
 * Parses a Dockerfile. Throws DockerfileError with Docker's texts:
 *  - `the Dockerfile (Dockerfile) cannot be empty` for an empty file;
 *  - `failed to parse Dockerfile: <reason>` for what the line reader rejects (directives, JSON arrays of
 *    non-strings, ENV/LABEL syntax, unterminated heredocs, a file with no instructions);
 *  - `dockerfile parse error on line N: <reason>` for an invalid instruction;
 *  - `no build stage in current context` for an instruction before the first FROM (ARG excepted);
 *  - `dockerfile contains no stages to build` when there is no FROM at all.
 */
export function parseDockerfile(source: string | Uint8Array, opts: ParseOptions = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile';
  let text = typeof source === 'string' ? source : Buffer.from(source).toString('utf8');
  if (text === '') {
    const reason = `the Dockerfile (${file}) cannot be empty`;
    throw new DockerfileError(file, 1, 1, reason, reason);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte-order mark
  const scanner = new Scanner();
  let nodes: Node[];
  try {
    nodes = scanner.scan(text);
  } catch (err) {
    if (err instanceof ScanError) throw new DockerfileError(file, err.line, err.endLine, err.reason, `failed to parse ${file}: ${err.reason}`);
    throw err;
  }

  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const warnings = [...scanner.warnings];
  const names = new Map<string, number>();
  for (const node of nodes) {
    let parsed: Stage | Instruction;
    try {
      parsed = instruction(node, scanner.escape);
    } catch (err) {
      if (!(err instanceof InstructionError)) throw err;
      throw new DockerfileError(file, node.line, node.endLine, err.message, `dockerfile parse error on line ${node.line}: ${err.message}`);
    }
    if ('instructions' in parsed) {
      parsed.index = stages.length;
      if (parsed.name !== undefined) {
        const first = names.get(parsed.name);
        if (first !== undefined) {
          warnings.push({ line: node.line, message: `Duplicate stage name ${goQuote(parsed.name)}, stage names should be unique` });
        } else {
          names.set(parsed.name, parsed.index);
        }
      }
      stages.push(parsed);
    } else if (stages.length === 0) {
      if (parsed.kind !== 'ARG') {
        const reason = 'no build stage in current context';
        throw new DockerfileError(file, node.line, node.endLine, reason, reason);
      }
      globalArgs.push(parsed);
    } else {
      if (parsed.kind === 'MAINTAINER') {
        warnings.push({ line: node.line, message: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author' });
      }
      stages[stages.length - 1].instructions.push(parsed);
    }
  }
  if (stages.length === 0) {
    const reason = 'dockerfile contains no stages to build';
    const last = nodes[nodes.length - 1];
    throw new DockerfileError(file, last.line, last.endLine, reason, reason);
  }
  return { file, escape: scanner.escape, directives: scanner.directives, globalArgs, stages, warnings };
}

/**
 * Parses the ONBUILD triggers of a base image (its OnBuild list), which run right after FROM in the stage being
 * built. Each must be one instruction; FROM, MAINTAINER and ONBUILD are refused as when they were declared.
 * Triggers are parsed with the default escape character, as Docker does. Errors name the trigger.
 */
export function parseTriggers(triggers: readonly string[], file = 'Dockerfile'): Instruction[] {
  return triggers.map((expr) => {
    const fail = (reason: string) => new DockerfileError(file, 1, 1, reason, `failed to process ONBUILD trigger ${goQuote(expr)}: ${reason}`);
    let nodes: Node[];
    try {
      nodes = new Scanner().scan(expr);
    } catch (err) {
      if (err instanceof ScanError) throw fail(err.reason);
      throw err;
    }
    if (nodes.length !== 1) throw fail(`onbuild trigger should be a single expression, got ${nodes.length}`);
    const lower = nodes[0].lower;
    if (lower === 'onbuild') throw fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    if (lower === 'from' || lower === 'maintainer') throw fail(`${lower.toUpperCase()} isn't allowed as an ONBUILD trigger`);
    try {
      return instruction(nodes[0], '\\') as Instruction;
    } catch (err) {
      if (err instanceof InstructionError) throw fail(err.message);
      throw err;
    }
  });
}

/** The stage `ref` names (a stage name, case-insensitive, or an index) among stages before `before`; undefined
 * when it names none (then COPY --from / FROM treat it as an image reference). */
export function findStage(df: Dockerfile, ref: string, before = df.stages.length): Stage | undefined {
  const lower = ref.toLowerCase();
  const byName = df.stages.slice(0, before).find((s) => s.name === lower);
  if (byName) return byName;
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    if (i < before) return df.stages[i];
  }
  return undefined;
}
