// A Go text/template engine (the subset docker's --format uses, which is nearly all of it): fields and
// chained fields, methods with arguments (.Label "key"), variables ($, $x := , $x = ), pipelines, parens,
// if/else if/else, range (arrays, maps in key order, integers, $i, $v :=, else, break, continue), with,
// trim markers {{- -}}, comments, and the builtins plus docker's functions (json, split, join, title,
// lower, upper, pad, truncate). Error texts and positions follow Go's so scripts see the same messages.
import { GoFloat, formatFloatV, isNum, numVal, sprintf, quoteGo } from './gofmt';
import { goJson } from './json';

export class TemplateError extends Error {}

// ---------------------------------------------------------------------------------------------------
// lexer

type T =
  | 'text' | 'ldelim' | 'rdelim' | 'field' | 'variable' | 'ident' | 'string' | 'raw' | 'char' | 'number'
  | 'bool' | 'nil' | 'dot' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'space'
  | 'keyword' | 'eof';

interface Tok { t: T; v: string; pos: number }

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

function lex(src: string, fail: (msg: string, pos: number) => never): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    if (open < 0) { toks.push({ t: 'text', v: src.slice(pos), pos }); pos = src.length; break; }
    let text = src.slice(pos, open);
    let p = open + 2;
    const trimLeft = src[p] === '-' && isSpace(src[p + 1]);
    if (trimLeft) { text = text.replace(/[ \t\r\n]+$/, ''); p += 2; }
    if (text) toks.push({ t: 'text', v: text, pos });
    // comment
    let q = p;
    while (trimLeft && isSpace(src[q])) q++;
    if (src.startsWith('/*', q)) {
      const end = src.indexOf('*/', q + 2);
      if (end < 0) fail('unclosed comment', q);
      let r = end + 2;
      let trimRight = false;
      if (isSpace(src[r]) && src[r + 1] === '-' && src.startsWith('}}', r + 2)) { trimRight = true; r += 2; }
      if (!src.startsWith('}}', r)) fail('comment ends before closing delimiter', r);
      pos = r + 2;
      if (trimRight) while (isSpace(src[pos])) pos++;
      continue;
    }
    toks.push({ t: 'ldelim', v: '{{', pos: open });
    let depth = 0;
    // inside action
    for (;;) {
      if (p >= src.length) fail('unclosed action', p);
      const c = src[p];
      if (isSpace(c) && src[p + 1] === '-' && src.startsWith('}}', p + 2)) {
        if (depth > 0) fail('unclosed left paren', p);
        toks.push({ t: 'rdelim', v: '}}', pos: p });
        p += 4;
        while (isSpace(src[p])) p++;
        break;
      }
      if (src.startsWith('}}', p)) {
        if (depth > 0) fail('unclosed left paren', p);
        toks.push({ t: 'rdelim', v: '}}', pos: p });
        p += 2;
        break;
      }
      const start = p;
      if (isSpace(c)) {
        while (isSpace(src[p]) && !(src[p + 1] === '-' && src.startsWith('}}', p + 2))) p++;
        if (p > start) toks.push({ t: 'space', v: src.slice(start, p), pos: start });
        continue;
      }
      const terminator = (i: number) => {
        const ch = src[i];
        return ch === undefined || isSpace(ch) || '.,|:()'.includes(ch) || ch === '}';
      };
      if (c === '|') { toks.push({ t: 'pipe', v: c, pos: p++ }); continue; }
      if (c === '(') { depth++; toks.push({ t: 'lparen', v: c, pos: p++ }); continue; }
      if (c === ')') {
        if (depth === 0) fail('unexpected right paren', p);
        depth--;
        toks.push({ t: 'rparen', v: c, pos: p++ });
        continue;
      }
      if (c === ',') { toks.push({ t: 'comma', v: c, pos: p++ }); continue; }
      if (c === ':') {
        if (src[p + 1] !== '=') fail('expected :=', p);
        toks.push({ t: 'declare', v: ':=', pos: p });
        p += 2;
        continue;
      }
      if (c === '=') { toks.push({ t: 'assign', v: c, pos: p++ }); continue; }
      if (c === '"') {
        p++;
        while (src[p] !== '"') {
          if (p >= src.length || src[p] === '\n') fail('unterminated quoted string', p);
          p += src[p] === '\\' ? 2 : 1;
        }
        p++;
        toks.push({ t: 'string', v: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '`') {
        const end = src.indexOf('`', p + 1);
        if (end < 0) fail('unterminated raw quoted string', p);
        p = end + 1;
        toks.push({ t: 'raw', v: src.slice(start, p), pos: start });
        continue;
      }
      if (c === "'") {
        p++;
        while (src[p] !== "'") {
          if (p >= src.length || src[p] === '\n') fail('unterminated character constant', p);
          p += src[p] === '\\' ? 2 : 1;
        }
        p++;
        toks.push({ t: 'char', v: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '$') {
        p++;
        while (isAlnum(src[p])) p++;
        toks.push({ t: 'variable', v: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '.' && !(src[p + 1] >= '0' && src[p + 1] <= '9')) {
        p++;
        if (!isAlnum(src[p])) { toks.push({ t: 'dot', v: '.', pos: start }); continue; }
        while (isAlnum(src[p])) p++;
        if (!terminator(p)) fail(`bad character ${runeName(src[p])}`, p);
        toks.push({ t: 'field', v: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '+' || c === '-' || (c >= '0' && c <= '9') || c === '.') {
        const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(src.slice(p))!;
        p += m[0].length;
        if (isAlnum(src[p]) || src[p] === '.' || m[0] === '' || m[0] === '+' || m[0] === '-') {
          while (isAlnum(src[p]) || src[p] === '.') p++;
          fail(`bad number syntax: ${JSON.stringify(src.slice(start, p)).slice(1, -1)}`, start);
        }
        toks.push({ t: 'number', v: src.slice(start, p), pos: start });
        continue;
      }
      if (isAlnum(c)) {
        while (isAlnum(src[p])) p++;
        const word = src.slice(start, p);
        if (!terminator(p)) fail(`bad character ${runeName(src[p])}`, p);
        const t: T = KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'ident';
        toks.push({ t, v: word, pos: start });
        continue;
      }
      fail(`bad character ${runeName(c)}`, p);
    }
    pos = p;
  }
  toks.push({ t: 'eof', v: '', pos: src.length });
  return toks;
}

function runeName(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

// ---------------------------------------------------------------------------------------------------
// parse tree

type Arg =
  | { k: 'field'; pos: number; path: string[] }
  | { k: 'var'; pos: number; name: string; path: string[] }
  | { k: 'ident'; pos: number; name: string }
  | { k: 'dot'; pos: number }
  | { k: 'nil'; pos: number }
  | { k: 'lit'; pos: number; value: unknown; src: string }
  | { k: 'pipe'; pos: number; pipe: Pipe; path: string[] };

interface Cmd { pos: number; args: Arg[] }
interface Pipe { pos: number; decl: string[]; assign: boolean; cmds: Cmd[] }

interface ControlNode { k: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList?: Node[] }

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { k: 'break' | 'continue'; pos: number };

function argString(a: Arg): string {
  switch (a.k) {
    case 'field': return '.' + a.path.join('.');
    case 'var': return [a.name, ...a.path].join('.');
    case 'ident': return a.name;
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'lit': return a.src;
    case 'pipe': return '(' + pipeString(a.pipe) + ')' + a.path.map((p) => '.' + p).join('');
  }
}
const cmdString = (c: Cmd) => c.args.map(argString).join(' ');
const pipeString = (p: Pipe) =>
  (p.decl.length ? p.decl.join(', ') + (p.assign ? ' = ' : ' := ') : '') + p.cmds.map(cmdString).join(' | ');

const ESC: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'" };

function unquote(tok: Tok, fail: (m: string, p: number) => never): string {
  if (tok.t === 'raw') return tok.v.slice(1, -1).replace(/\r/g, '');
  const s = tok.v.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') { out += s[i]; continue; }
    const e = s[++i];
    const hex = (n: number) => {
      const h = s.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail('invalid syntax', tok.pos);
      i += n;
      return parseInt(h, 16);
    };
    if (e in ESC) out += ESC[e];
    else if (e === 'x') out += String.fromCharCode(hex(2));
    else if (e === 'u') out += String.fromCodePoint(hex(4));
    else if (e === 'U') out += String.fromCodePoint(hex(8));
    else if (e >= '0' && e <= '7') { out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8)); i += 2; }
    else fail('invalid syntax', tok.pos);
  }
  return out;
}

function parseNumber(tok: Tok, fail: (m: string, p: number) => never): unknown {
  let s = tok.v.replace(/_/g, '');
  if (tok.t === 'char') {
    const inner = unquote({ t: 'string', v: '"' + tok.v.slice(1, -1).replace(/"/g, '\\"') + '"', pos: tok.pos }, fail);
    return inner.codePointAt(0) ?? 0;
  }
  let neg = false;
  if (s[0] === '+' || s[0] === '-') { neg = s[0] === '-'; s = s.slice(1); }
  let v: number;
  if (/^0[xX]/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[bB]/.test(s)) v = parseInt(s.slice(2), 2);
  else if (/^0[oO]/.test(s)) v = parseInt(s.slice(2), 8);
  else if (/^0\d+$/.test(s)) v = parseInt(s, 8);
  else if (/^\d+$/.test(s)) v = parseInt(s, 10);
  else {
    v = parseFloat(s);
    if (isNaN(v)) fail(`illegal number syntax: ${JSON.stringify(tok.v)}`, tok.pos);
    return new GoFloat(neg ? -v : v);
  }
  return neg ? -v : v;
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(private toks: Tok[], private src: string, private name: string, private funcs: FuncMap) {}

  fail = (msg: string, pos: number): never => {
    const line = 1 + (this.src.slice(0, pos).match(/\n/g)?.length ?? 0);
    throw new TemplateError(`template: ${this.name}:${line}: ${msg}`);
  };

  private next(): Tok { return this.toks[this.i++]; }
  private peek(): Tok { return this.toks[this.i]; }
  private backup(): void { this.i--; }
  private nextNonSpace(): Tok {
    let t = this.next();
    while (t.t === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Tok {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  parse(): Node[] {
    const [list, end] = this.itemList(true);
    if (end) this.fail(`unexpected ${end.v === 'end' ? '{{end}}' : '{{else}}'}`, end.pos);
    return list;
  }

  /** Parses nodes until {{end}} / {{else}} (returned) or EOF (top level only). */
  private itemList(top: boolean): [Node[], Tok | null] {
    const list: Node[] = [];
    for (;;) {
      const t = this.next();
      if (t.t === 'eof') {
        if (!top) this.fail('unexpected EOF', t.pos);
        return [list, null];
      }
      if (t.t === 'text') { list.push({ k: 'text', text: t.v }); continue; }
      // ldelim
      const kw = this.nextNonSpace();
      if (kw.t === 'keyword') {
        switch (kw.v) {
          case 'end':
            this.expectRDelim('end');
            return [list, kw];
          case 'else': {
            // {{else}} or {{else if …}} / {{else with …}}: leave the keyword for the control parser
            const p = this.peekNonSpace();
            if (p.t === 'keyword' && (p.v === 'if' || p.v === 'with')) return [list, kw];
            this.expectRDelim('else');
            return [list, kw];
          }
          case 'if': case 'with': case 'range':
            list.push(this.control(kw.v, kw.pos));
            continue;
          case 'break': case 'continue':
            this.expectRDelim(kw.v);
            if (this.rangeDepth === 0) this.fail(`{{${kw.v}}} outside {{range}}`, kw.pos);
            list.push({ k: kw.v, pos: kw.pos });
            continue;
          default:
            this.fail(`{{${kw.v}}} is not supported`, kw.pos);
        }
      }
      this.backup();
      const pipe = this.pipeline('command', 'rdelim');
      list.push({ k: 'action', pos: pipe.pos, pipe });
    }
  }

  private expectRDelim(ctx: string): void {
    const t = this.nextNonSpace();
    if (t.t !== 'rdelim') this.fail(`unexpected ${this.desc(t)} in ${ctx}`, t.pos);
  }

  private desc(t: Tok): string {
    if (t.t === 'eof') return 'EOF';
    if (t.t === 'rdelim') return '"}}"';
    if (t.t === 'keyword') return `<${t.v}>`;
    return `"${t.v}"`;
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'rdelim');
    if (kind === 'range') this.rangeDepth++;
    let [list, end] = this.itemList(false);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (end && end.v === 'else') {
      const p = this.peekNonSpace();
      if (p.t === 'keyword' && (p.v === 'if' || p.v === 'with') && kind !== 'range') {
        this.nextNonSpace();
        // "{{else if x}}" is "{{else}}{{if x}}" that shares the outer {{end}}
        elseList = [this.control(p.v as 'if' | 'with', p.pos)];
        end = null;
      } else {
        if (p.t === 'keyword' && (p.v === 'if' || p.v === 'with')) this.fail(`unexpected <${p.v}> in range`, p.pos);
        [elseList, end] = this.itemList(false);
        if (end && end.v !== 'end') this.fail('expected end; found {{else}}', end.pos);
      }
    }
    this.vars.length = mark;
    return { k: kind, pos, pipe, list, elseList };
  }

  private pipeline(ctx: string, end: 'rdelim' | 'rparen'): Pipe {
    const first = this.peekNonSpace();
    const pipe: Pipe = { pos: first.pos, decl: [], assign: false, cmds: [] };
    // declarations
    const v = this.peekNonSpace();
    if (v.t === 'variable') {
      const save = this.i;
      this.nextNonSpace();
      const nx = this.nextNonSpace();
      if (nx.t === 'declare' || nx.t === 'assign') {
        pipe.decl.push(v.v);
        pipe.assign = nx.t === 'assign';
        if (nx.t === 'declare') this.vars.push(v.v);
        else if (!this.vars.includes(v.v)) this.fail(`undefined variable "${v.v}"`, v.pos);
      } else if (nx.t === 'comma' && ctx === 'range') {
        const v2 = this.nextNonSpace();
        const d = this.nextNonSpace();
        if (v2.t !== 'variable' || (d.t !== 'declare' && d.t !== 'assign')) this.fail('range can only initialize variables', nx.pos);
        pipe.decl.push(v.v, v2.v);
        pipe.assign = d.t === 'assign';
        if (!pipe.assign) this.vars.push(v.v, v2.v);
      } else if (nx.t === 'comma') {
        this.fail(`too many declarations in ${ctx}`, nx.pos);
      } else {
        this.i = save;
      }
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.t === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${ctx}`, t.pos);
        for (let i = 1; i < pipe.cmds.length; i++) {
          const a = pipe.cmds[i].args[0];
          if (a.k === 'lit' || a.k === 'dot' || a.k === 'nil') this.fail(`non executable command in pipeline stage ${i + 1}`, a.pos);
        }
        return pipe;
      }
      switch (t.t) {
        case 'bool': case 'char': case 'dot': case 'field': case 'ident': case 'number': case 'nil':
        case 'raw': case 'string': case 'variable': case 'lparen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.fail(`unexpected ${this.desc(t)} in ${ctx}`, t.pos);
      }
    }
  }

  private command(): Cmd {
    const cmd: Cmd = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.t === 'space') continue;
      if (t.t === 'rdelim' || t.t === 'rparen') { this.backup(); break; }
      if (t.t === 'pipe') break;
      this.fail(`unexpected ${this.desc(t)} in operand`, t.pos);
    }
    if (cmd.args.length === 0) this.fail('empty command', cmd.pos);
    return cmd;
  }

  private operand(): Arg | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().t === 'field') {
      node.pos = this.peek().pos; // Go positions a chain at its first chained field
      const path: string[] = [];
      while (this.peek().t === 'field') path.push(this.next().v.slice(1));
      switch (node.k) {
        case 'field': node.path.push(...path); return node;
        case 'var': node.path.push(...path); return node;
        case 'pipe': node.path.push(...path); return node;
        case 'ident': return this.fail(`unexpected . after term "${node.name}"`, node.pos);
        default: return this.fail(`unexpected . after term "${argString(node)}"`, node.pos);
      }
    }
    return node;
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    switch (t.t) {
      case 'ident':
        if (!(t.v in this.funcs) && !BUILTINS.has(t.v)) this.fail(`function "${t.v}" not defined`, t.pos);
        return { k: 'ident', pos: t.pos, name: t.v };
      case 'dot': return { k: 'dot', pos: t.pos };
      case 'nil': return { k: 'nil', pos: t.pos };
      case 'variable': {
        const [name, ...path] = t.v.split('.');
        if (!this.vars.includes(name)) this.fail(`undefined variable "${name}"`, t.pos);
        return { k: 'var', pos: t.pos, name, path };
      }
      case 'field': return { k: 'field', pos: t.pos, path: [t.v.slice(1)] };
      case 'bool': return { k: 'lit', pos: t.pos, value: t.v === 'true', src: t.v };
      case 'char': case 'number': return { k: 'lit', pos: t.pos, value: parseNumber(t, this.fail), src: t.v };
      case 'string': case 'raw': return { k: 'lit', pos: t.pos, value: unquote(t, this.fail), src: t.v };
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rparen'); // consumes the ')'
        return { k: 'pipe', pos: t.pos, pipe, path: [] };
      }
    }
    this.backup();
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// values and functions

/** A function callable from templates. `params` are Go-ish types used for argument checks. */
export interface FuncDef {
  fn: (...args: any[]) => unknown;
  params: ParamType[];
  variadic?: ParamType;
}
export type ParamType = 'any' | 'string' | 'int' | '[]string' | 'bool';
export type FuncMap = Record<string, FuncDef>;

const BUILTINS = new Set(['and', 'or', 'not', 'len', 'index', 'slice', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'html', 'js', 'urlquery', 'call']);

/** Go's fmt %v rendering of a template value. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloatV(v);
  if (v instanceof GoFloat) return formatFloatV(v.v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return '<function>';
  return fmtNested(v);
}

function fmtNested(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (Array.isArray(v)) return '[' + v.map(fmtNested).join(' ') + ']';
  if (typeof v === 'object' && !(v instanceof GoFloat)) {
    const o = v as Record<string, unknown>;
    if (typeof o.toGoString === 'function') return (o.toGoString as () => string)();
    const keys = Object.keys(o).sort();
    return 'map[' + keys.map((k) => `${k}:${fmtNested(o[k])}`).join(' ') + ']';
  }
  return formatValue(v);
}

const goType = (v: unknown): string => {
  if (v === undefined) return 'invalid value';
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (v instanceof GoFloat) return 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  const t = (v as { goType?: string }).goType;
  return t ?? 'map[string]interface {}';
};

function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'boolean') return v;
  if (isNum(v)) return numVal(v) !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') {
    if ((v as { goType?: string }).goType) return true;
    return Object.keys(v as object).length > 0;
  }
  return true;
}

const NO_ARGS: Arg[] = [];

class Signal { constructor(readonly kind: 'break' | 'continue') {} }

const isStruct = (v: object): boolean => Object.getPrototypeOf(v) !== Object.prototype && !Array.isArray(v);

export interface ExecOptions {
  /** Override functions (table headers use identity versions of json/split/…). */
  funcs?: FuncMap;
  /**
   * What a missing key does: "default" prints <no value>; "error" fails like Go's missingkey=error;
   * "structs" fails only where the object looks like a Go struct (keys start upper-case), which is what
   * docker's typed inspect does while letting label maps stay lenient.
   */
  missingKey?: 'default' | 'error' | 'structs';
}

class Exec {
  private vars: { name: string; value: unknown }[];
  private out: string[] = [];
  private funcs: FuncMap;

  constructor(private tmpl: Template, data: unknown, private opts: ExecOptions) {
    this.vars = [{ name: '$', value: data }];
    this.funcs = opts.funcs ? { ...tmpl.funcs, ...opts.funcs } : tmpl.funcs;
  }

  run(nodes: Node[], dot: unknown): string {
    this.walk(nodes, dot);
    return this.out.join('');
  }

  private fail(pos: number, ctx: string, msg: string): never {
    const src = this.tmpl.source;
    const before = src.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? pos : pos - nl - 1;
    const n = this.tmpl.name;
    throw new TemplateError(`template: ${n}:${line}:${col}: executing "${n}" at <${ctx}>: ${msg}`);
  }

  private walk(nodes: Node[], dot: unknown): void {
    for (const node of nodes) {
      switch (node.k) {
        case 'text': this.out.push(node.text); break;
        case 'action': {
          const v = this.evalPipe(dot, node.pipe);
          if (node.pipe.decl.length === 0) this.out.push(formatValue(v));
          break;
        }
        case 'if': case 'with': {
          const mark = this.vars.length;
          const v = this.evalPipe(dot, node.pipe);
          if (truth(v)) this.walk(node.list, node.k === 'with' ? v : dot);
          else if (node.elseList) this.walk(node.elseList, dot);
          this.vars.length = mark;
          break;
        }
        case 'range': this.walkRange(node, dot); break;
        case 'break': case 'continue': throw new Signal(node.k);
      }
    }
  }

  private walkRange(node: ControlNode, dot: unknown): void {
    const mark = this.vars.length;
    const pipe = node.pipe;
    const val = this.evalPipe(dot, { ...pipe, decl: [] });
    const items: [unknown, unknown][] = [];
    if (Array.isArray(val)) val.forEach((e, i) => items.push([i, e]));
    else if (typeof val === 'number' && Number.isInteger(val)) for (let i = 0; i < val; i++) items.push([i, i]);
    else if (val && typeof val === 'object' && !(val instanceof GoFloat) && !isStruct(val)) {
      for (const k of Object.keys(val).sort()) items.push([k, (val as Record<string, unknown>)[k]]);
    } else if (val !== undefined && val !== null) {
      this.fail(pipe.pos, pipeString(pipe), `range can't iterate over ${formatValue(val)}`);
    }
    if (items.length === 0) {
      if (node.elseList) this.walk(node.elseList, dot);
      this.vars.length = mark;
      return;
    }
    const inner = this.vars.length;
    for (const [k, e] of items) {
      if (pipe.decl.length === 1) this.setOrPush(pipe.decl[0], e, pipe.assign);
      else if (pipe.decl.length === 2) { this.setOrPush(pipe.decl[0], k, pipe.assign); this.setOrPush(pipe.decl[1], e, pipe.assign); }
      try {
        this.walk(node.list, e);
      } catch (err) {
        if (!(err instanceof Signal)) throw err;
        if (err.kind === 'break') break;
      } finally {
        this.vars.length = inner;
      }
    }
    this.vars.length = mark;
  }

  private setOrPush(name: string, value: unknown, assign: boolean): void {
    if (assign) this.setVar(name, value);
    else this.vars.push({ name, value });
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) { this.vars[i].value = value; return; }
    }
  }

  private getVar(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    return undefined;
  }

  private evalPipe(dot: unknown, pipe: Pipe): unknown {
    let value: unknown = undefined;
    let has = false;
    for (const cmd of pipe.cmds) {
      value = this.evalCmd(dot, cmd, has ? { v: value } : undefined);
      has = true;
    }
    for (const name of pipe.decl) this.setOrPush(name, value, pipe.assign);
    return value;
  }

  private evalCmd(dot: unknown, cmd: Cmd, final?: { v: unknown }): unknown {
    const first = cmd.args[0];
    const rest = cmd.args.length > 1 ? cmd.args.slice(1) : NO_ARGS;
    switch (first.k) {
      case 'field': return this.evalFieldChain(dot, dot, first, first.path, rest, final);
      case 'var': {
        const v = this.getVar(first.name);
        if (first.path.length === 0) { this.noArgs(cmd, first, final); return v; }
        return this.evalFieldChain(dot, v, first, first.path, rest, final);
      }
      case 'pipe': {
        const v = this.evalPipe(dot, first.pipe);
        if (first.path.length === 0) { this.noArgs(cmd, first, final); return v; }
        return this.evalFieldChain(dot, v, first, first.path, rest, final);
      }
      case 'ident': return this.evalFunction(dot, cmd, first.name, rest, final);
      case 'nil': return this.fail(first.pos, 'nil', 'nil is not a command');
      default:
        this.noArgs(cmd, first, final);
        return this.evalArg(dot, first);
    }
  }

  private noArgs(cmd: Cmd, first: Arg, final?: { v: unknown }): void {
    if (cmd.args.length > 1 || final) this.fail(first.pos, argString(first), `can't give argument to non-function ${argString(first)}`);
  }

  private evalArg(dot: unknown, a: Arg): unknown {
    switch (a.k) {
      case 'dot': return dot;
      case 'nil': return null;
      case 'lit': return a.value;
      case 'field': return this.evalFieldChain(dot, dot, a, a.path, [], undefined);
      case 'var': {
        const v = this.getVar(a.name);
        return a.path.length ? this.evalFieldChain(dot, v, a, a.path, [], undefined) : v;
      }
      case 'pipe': {
        const v = this.evalPipe(dot, a.pipe);
        return a.path.length ? this.evalFieldChain(dot, v, a, a.path, [], undefined) : v;
      }
      case 'ident': return this.evalFunction(dot, { pos: a.pos, args: [a] }, a.name, [], undefined);
    }
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Arg, path: string[], args: Arg[], final?: { v: unknown }): unknown {
    let v = receiver;
    for (let i = 0; i < path.length; i++) {
      const last = i === path.length - 1;
      v = this.evalField(dot, v, path[i], node, last ? args : NO_ARGS, last ? final : undefined);
    }
    return v;
  }

  /** `node` names the field chain in error texts (argString is built only when failing: this runs per row). */
  private evalField(dot: unknown, recv: unknown, name: string, node: Arg, args: Arg[], final?: { v: unknown }): unknown {
    const pos = node.pos;
    const fail = (msg: string): never => this.fail(pos, argString(node), msg);
    const hasArgs = args.length > 0 || final !== undefined;
    if (recv === undefined || recv === null) {
      fail(`nil pointer evaluating interface {}.${name}`);
    }
    if (typeof recv !== 'object' || Array.isArray(recv) || recv instanceof GoFloat) {
      fail(`can't evaluate field ${name} in type ${goType(recv)}`);
    }
    const obj = recv as Record<string, unknown>;
    const struct = isStruct(obj);
    const val = name === 'constructor' ? undefined : obj[name];
    if (typeof val === 'function') {
      const argv = args.map((a) => this.evalArg(dot, a));
      if (final) argv.push(final.v);
      const want = (val as Function).length;
      if (argv.length !== want) fail(`wrong number of args for ${name}: want ${want} got ${argv.length}`);
      return (val as Function).apply(obj, argv);
    }
    if (struct) {
      if (val === undefined || name.startsWith('_') || name === 'goType' || name === 'toJSON' || name === 'constructor') {
        fail(`can't evaluate field ${name} in type ${goType(recv)}`);
      }
      if (hasArgs) fail(`${name} is not a method but has arguments`);
      return val;
    }
    if (hasArgs) fail(`${name} is not a method but has arguments`);
    if (!Object.prototype.hasOwnProperty.call(obj, name)) {
      const mk = this.opts.missingKey ?? 'default';
      // docker's typed structs print absent optional (pointer) fields as <nil>
      if (mk === 'structs' && OPTIONAL_FIELDS.has(name)) return null;
      if (mk === 'error' || (mk === 'structs' && looksLikeStruct(obj))) {
        fail(`map has no entry for key "${name}"`);
      }
      return undefined;
    }
    return val;
  }

  private evalFunction(dot: unknown, cmd: Cmd, name: string, args: Arg[], final?: { v: unknown }): unknown {
    const ctx = cmdString(cmd);
    const pos = cmd.pos;
    // and/or evaluate lazily
    if (name === 'and' || name === 'or') {
      const all: (() => unknown)[] = args.map((a) => () => this.evalArg(dot, a));
      if (final) all.push(() => final.v);
      if (all.length < 1) this.fail(pos, ctx, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const f of all) {
        v = f();
        if (name === 'and' ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    const user = this.funcs[name];
    if (user) {
      const n = user.params.length;
      const count = args.length + (final ? 1 : 0);
      if (user.variadic ? count < n : count !== n) {
        this.fail(pos, ctx, `wrong number of args for ${name}: want ${user.variadic ? 'at least ' : ''}${n} got ${count}`);
      }
      const typeOf = (i: number) => (i < n ? user.params[i] : user.variadic!);
      const argv = args.map((a, i) => this.evalTypedArg(dot, a, typeOf(i)));
      if (final) {
        this.checkType(final.v, typeOf(args.length), pos, ctx);
        argv.push(final.v);
      }
      try {
        return user.fn(...argv.map((a, i) => coerce(a, i < n ? user.params[i] : user.variadic!)));
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        this.fail(pos, ctx, `error calling ${name}: ${(err as Error).message}`);
      }
    }
    const argv = args.map((a) => this.evalArg(dot, a));
    if (final) argv.push(final.v);
    try {
      return this.builtin(name, argv, pos, ctx);
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      this.fail(pos, ctx, `error calling ${name}: ${(err as Error).message}`);
    }
  }

  /** Go's evalArg: literals are checked by kind ("expected string; found 1"), the rest by value. */
  private evalTypedArg(dot: unknown, a: Arg, t: ParamType): unknown {
    if (t !== 'any' && a.k === 'lit') {
      const v = a.value;
      const ok = t === 'string' ? typeof v === 'string' : t === 'int' ? typeof v === 'number' : t === 'bool' ? typeof v === 'boolean' : false;
      if (!ok) {
        if (t === '[]string') this.fail(a.pos, a.src, `can't handle ${a.src} for arg of type []string`);
        this.fail(a.pos, a.src, `expected ${t === 'int' ? 'integer' : t}; found ${a.src}`);
      }
      return v;
    }
    if (t !== 'any' && a.k === 'nil') this.fail(a.pos, 'nil', `cannot assign nil to ${t}`);
    const v = this.evalArg(dot, a);
    this.checkType(v, t, a.pos, argString(a));
    return v;
  }

  private checkType(v: unknown, t: ParamType, pos: number, ctx: string): void {
    if (t === 'any') return;
    if (v === undefined) this.fail(pos, ctx, `invalid value; expected ${t}`);
    const ok = t === 'string' ? typeof v === 'string'
      : t === 'int' ? typeof v === 'number' && Number.isInteger(v)
      : t === 'bool' ? typeof v === 'boolean'
      : Array.isArray(v);
    if (!ok) this.fail(pos, ctx, `wrong type for value; expected ${t}; got ${goType(v)}`);
  }

  private builtin(name: string, a: unknown[], pos: number, ctx: string): unknown {
    const want = (n: number, atLeast = false) => {
      if (atLeast ? a.length < n : a.length !== n) {
        this.fail(pos, ctx, `wrong number of args for ${name}: want ${atLeast ? 'at least ' : ''}${n} got ${a.length}`);
      }
    };
    switch (name) {
      case 'not': want(1); return !truth(a[0]);
      case 'len': {
        want(1);
        const v = a[0];
        if (typeof v === 'string') return Buffer.byteLength(v);
        if (Array.isArray(v)) return v.length;
        if (v && typeof v === 'object' && !isStruct(v)) return Object.keys(v).length;
        throw new Error(`len of type ${goType(v)}`);
      }
      case 'index': {
        want(1, true);
        let v = a[0];
        for (const idx of a.slice(1)) {
          if (typeof v === 'string') {
            const buf = Buffer.from(v);
            const i = toIndex(idx, buf.length);
            v = buf[i];
          } else if (Array.isArray(v)) {
            v = v[toIndex(idx, v.length)];
          } else if (v && typeof v === 'object') {
            if (typeof idx !== 'string') throw new Error(`value has type ${goType(idx)}; should be string`);
            const o = v as Record<string, unknown>;
            v = Object.prototype.hasOwnProperty.call(o, idx) ? o[idx] : zeroLike(o);
          } else if (v === null || v === undefined) {
            throw new Error('index of untyped nil');
          } else {
            throw new Error(`can't index item of type ${goType(v)}`);
          }
        }
        return v;
      }
      case 'slice': {
        want(1, true);
        const v = a[0];
        const idx = a.slice(1).map((x) => { if (typeof x !== 'number') throw new Error('cannot index slice/array with nil'); return x; });
        if (typeof v === 'string') {
          const buf = Buffer.from(v);
          if (idx.length > 2) throw new Error('cannot 3-index slice a string');
          const lo = idx[0] ?? 0;
          const hi = idx[1] ?? buf.length;
          if (lo < 0 || lo > buf.length) throw new Error(`index out of range: ${lo}`);
          if (hi < lo || hi > buf.length) throw new Error(`index out of range: ${hi}`);
          return buf.subarray(lo, hi).toString();
        }
        if (Array.isArray(v)) {
          const lo = idx[0] ?? 0;
          const hi = idx[1] ?? v.length;
          if (lo < 0 || lo > v.length) throw new Error(`index out of range: ${lo}`);
          if (hi < lo || hi > v.length) throw new Error(`index out of range: ${hi}`);
          return v.slice(lo, hi);
        }
        throw new Error(`can't slice item of type ${goType(v)}`);
      }
      case 'print': return goSprint(a);
      case 'println': return a.map(formatValue).join(' ') + '\n';
      case 'printf': {
        want(1, true);
        if (typeof a[0] !== 'string') this.fail(pos, ctx, `wrong type for value; expected string; got ${goType(a[0])}`);
        return sprintf(a[0] as string, a.slice(1), formatValue);
      }
      case 'eq': {
        want(1, true);
        if (a.length === 1) throw new Error('missing argument for comparison');
        return a.slice(1).some((b) => compare(a[0], b, 'eq') === 0);
      }
      case 'ne': want(2); return compare(a[0], a[1], 'ne') !== 0;
      case 'lt': want(2); return compare(a[0], a[1], 'lt') < 0;
      case 'le': want(2); return compare(a[0], a[1], 'le') <= 0;
      case 'gt': want(2); return compare(a[0], a[1], 'gt') > 0;
      case 'ge': want(2); return compare(a[0], a[1], 'ge') >= 0;
      case 'html': return goSprint(a).replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' } as Record<string, string>)[c]);
      case 'js': return goSprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D', '\n': '\\n', '\r': '\\r', '\t': '\\t' } as Record<string, string>)[c]);
      case 'urlquery': return encodeURIComponent(goSprint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
      case 'call': {
        want(1, true);
        if (typeof a[0] !== 'function') throw new Error(`non-function of type ${goType(a[0])}`);
        return (a[0] as Function)(...a.slice(1));
      }
    }
    return this.fail(pos, ctx, `function "${name}" not defined`);
  }
}

/** Fields of docker's inspect structs that the API omits when empty (pointers / omitempty). */
const OPTIONAL_FIELDS = new Set([
  'SizeRw', 'SizeRootFs', 'Node', 'Health', 'Healthcheck', 'ExecIDs', 'Platform', 'ImageManifestDescriptor', 'Descriptor',
  'Manifests', 'Parent', 'Comment', 'Container', 'ContainerConfig', 'DockerVersion', 'Author', 'Variant', 'OsVersion',
  'VirtualSize', 'Metadata', 'GraphDriver', 'RootFS', 'Shell', 'StopTimeout', 'StopSignal', 'OnBuild', 'MacAddress',
  'ArgsEscaped', 'NetworkDisabled', 'AppArmorProfile', 'Annotations', 'Init', 'Runtime', 'Sysctls', 'Tmpfs', 'Mounts',
]);

function looksLikeStruct(o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  return keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
}

/** The zero value `index` returns for a missing key: "" for string maps (labels), else <nil>. */
function zeroLike(o: Record<string, unknown>): unknown {
  const vals = Object.values(o);
  if (vals.length === 0 || vals.every((x) => typeof x === 'string')) return '';
  return null;
}

function toIndex(idx: unknown, len: number): number {
  if (typeof idx !== 'number' || !Number.isInteger(idx)) throw new Error(`cannot index slice/array with type ${goType(idx)}`);
  if (idx < 0 || idx >= len) throw new Error(`index out of range: ${idx}`);
  return idx;
}

function coerce(v: unknown, t: ParamType): unknown {
  if (t === '[]string' && Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : formatValue(x)));
  return v;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function goSprint(a: unknown[]): string {
  let out = '';
  a.forEach((v, i) => {
    if (i > 0 && typeof v !== 'string' && typeof a[i - 1] !== 'string') out += ' ';
    out += formatValue(v);
  });
  return out;
}

function compare(x: unknown, y: unknown, op: string): number {
  if ((x === null || x === undefined) && (y === null || y === undefined)) return 0;
  if (isNum(x) && isNum(y)) return Math.sign(numVal(x) - numVal(y));
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'boolean' && typeof y === 'boolean') {
    if (op !== 'eq' && op !== 'ne') throw new Error('invalid type for comparison');
    return x === y ? 0 : 1;
  }
  if (x === null || y === null || x === undefined || y === undefined) {
    if (op !== 'eq' && op !== 'ne') throw new Error('invalid type for comparison');
    return 1;
  }
  if (typeof x === 'object' || typeof y === 'object') throw new Error('non-comparable type');
  throw new Error('incompatible types for comparison');
}

// ---------------------------------------------------------------------------------------------------
// public API

const str = (s: string) => s;

/** docker/cli's templates.basicFunctions. */
export const basicFuncs: FuncMap = {
  json: { fn: (v: unknown) => goJson(v), params: ['any'] },
  split: { fn: (s: string, sep: string) => (sep === '' ? [...s] : s.split(sep)), params: ['string', 'string'] },
  join: { fn: (a: string[], sep: string) => a.join(sep), params: ['[]string', 'string'] },
  title: { fn: (s: string) => s.replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()), params: ['string'] },
  lower: { fn: (s: string) => s.toLowerCase(), params: ['string'] },
  upper: { fn: (s: string) => s.toUpperCase(), params: ['string'] },
  pad: { fn: (s: string, pre: number, suf: number) => (s === '' ? s : ' '.repeat(Math.max(pre, 0)) + s + ' '.repeat(Math.max(suf, 0))), params: ['string', 'int', 'int'] },
  truncate: { fn: (s: string, n: number) => (Buffer.byteLength(s) < n ? s : Buffer.from(s).subarray(0, n).toString()), params: ['string', 'int'] },
};

/** templates.HeaderFunctions: table headers stay intact through json/split/join/…. */
export const headerFuncs: FuncMap = {
  json: { fn: (v: unknown) => v, params: ['any'] },
  split: { fn: str, params: ['any', 'any'] },
  join: { fn: str, params: ['any', 'any'] },
  title: { fn: str, params: ['any'] },
  lower: { fn: str, params: ['any'] },
  upper: { fn: str, params: ['any'] },
  truncate: { fn: str, params: ['any', 'any'] },
};

export class Template {
  readonly nodes: Node[];
  /** Text and `{{.Method}}` parts, when the template is nothing else (docker's table formats): see execute. */
  private readonly plain?: Array<string | { field: string }>;
  constructor(readonly source: string, readonly name = '', readonly funcs: FuncMap = basicFuncs) {
    const fail = (msg: string, pos: number): never => {
      const line = 1 + (source.slice(0, pos).match(/\n/g)?.length ?? 0);
      throw new TemplateError(`template: ${name}:${line}: ${msg}`);
    };
    const toks = lex(source, fail);
    this.nodes = new Parser(toks, source, name, funcs).parse();
    this.plain = plainParts(this.nodes);
  }

  execute(data: unknown, opts: ExecOptions = {}): string {
    if (this.plain && !opts.funcs) {
      const out = executePlain(this.plain, data);
      if (out !== undefined) return out;
    }
    return new Exec(this, data, opts).run(this.nodes, data);
  }
}

/** The parts of a template made only of text and single-field actions (`{{.ID}}`), else undefined. */
function plainParts(nodes: Node[]): Array<string | { field: string }> | undefined {
  const parts: Array<string | { field: string }> = [];
  for (const n of nodes) {
    if (n.k === 'text') { parts.push(n.text); continue; }
    if (n.k !== 'action' || n.pipe.decl.length || n.pipe.cmds.length !== 1) return undefined;
    const args = n.pipe.cmds[0].args;
    if (args.length !== 1 || args[0].k !== 'field' || args[0].path.length !== 1 || args[0].path[0] === 'constructor') return undefined;
    parts.push({ field: args[0].path[0] });
  }
  return parts;
}

/**
 * Runs a plain template on a row context whose fields are all zero-argument methods (ps, images, …): the same
 * result as the evaluator's (call the method, print with %v) without walking the tree for every row, which is
 * most of a 200-row `ps` when a CLI runs cold. Undefined when a field is anything else: the evaluator decides.
 */
function executePlain(parts: Array<string | { field: string }>, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data) || data instanceof GoFloat) return undefined;
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') { out += part; continue; }
    const fn = (data as Record<string, unknown>)[part.field];
    if (typeof fn !== 'function' || fn.length !== 0) return undefined;
    out += formatValue(fn.call(data));
  }
  return out;
}

/** Parses with docker's basic functions (templates.Parse). Throws TemplateError. */
export const parseTemplate = (src: string, name = '', funcs: FuncMap = basicFuncs): Template => new Template(src, name, funcs);

export { quoteGo };
