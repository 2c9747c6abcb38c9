// The command framework: command specs, a flag parser with spf13/pflag's rules and messages, and help
// text rendered like docker's cobra usage template (pflag's FlagUsagesWrapped for the options block).
import { parseGoDuration, ramInBytes } from './format/units';
import { isTerminal, stdout, write } from './stdio';

export const BIN = 'berth';
export const VERSION = '0.1.0';

/** An error that carries the exit status; `message` is printed as-is to stderr (if non-empty). */
export class StatusError extends Error {
  constructor(readonly status: number, message = '') {
    super(message);
    this.name = 'StatusError';
  }
}

/** [shorthand, name, type, usage, default shown in help, options] — types are pflag's type names. */
export type FlagTuple = [string, string, string, string, string?, string?];

export interface FlagDef {
  short: string;
  name: string;
  /** pflag value type: bool, string, int, int64, uint16, uint64, list, filter, map, bytes, duration, … */
  type: string;
  usage: string;
  /** Default as pflag prints it after "(default "; empty when the default is the zero value. */
  def: string;
  hidden: boolean;
  /** Deprecation message (the flag is hidden and warns on use). */
  deprecated: string;
}

export function flagDefs(tuples: FlagTuple[]): FlagDef[] {
  return tuples.map(([short, name, type, usage, def = '', opts = '']) => {
    const dep = /deprecated=(.*)$/.exec(opts);
    return { short, name, type, usage, def, hidden: opts.includes('hidden') || !!dep, deprecated: dep ? dep[1] : '' };
  });
}

export interface CommandSpec {
  /** Full command path without the binary, e.g. "container ls". */
  path: string;
  /** cobra Use without the name, e.g. "[OPTIONS] CONTAINER [CONTAINER...]". */
  use: string;
  short: string;
  /** cobra's Long: shown by --help instead of `short` when set. */
  long?: string;
  /** "aliases" annotation text (with "docker" as "berth"). */
  aliases?: string;
  flags: FlagDef[];
  /** Positional argument rule. */
  args?: ArgRule;
  /** Stop flag parsing at the first positional argument (run, exec, create). */
  noInterspersed?: boolean;
  /** The command defines its own -h (run/create use it for --hostname). */
  ownsH?: boolean;
}

export type ArgRule = { exact: number } | { min: number } | { max: number } | { range: [number, number] } | 'none';

// ---------------------------------------------------------------------------------------------------
// parsing

export type FlagValue = string | boolean | string[];

export class Parsed {
  readonly values = new Map<string, FlagValue>();
  readonly changed = new Set<string>();
  args: string[] = [];
  help = false;

  str(name: string, def = ''): string {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : def;
  }
  bool(name: string, def = false): boolean {
    const v = this.values.get(name);
    return typeof v === 'boolean' ? v : def;
  }
  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }
  int(name: string, def = 0): number {
    const v = this.values.get(name);
    return typeof v === 'string' ? parseGoInt(v) : def;
  }
  has(name: string): boolean { return this.changed.has(name); }
}

const LIST_TYPES = new Set(['list', 'filter', 'map', 'ulimit', 'mount', 'network', 'strings', 'gpu-request', 'stringArray']);

/** strconv.ParseInt(s, 0, 64) as pflag uses it (base prefixes, underscores). */
export function parseGoInt(s: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m || /__|_$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${goq(s)}: invalid syntax`);
  const body = m[2].replace(/_/g, '');
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
  else if (/^0\d/.test(body)) v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  if (!Number.isSafeInteger(v)) throw new Error(`strconv.ParseInt: parsing ${goq(s)}: value out of range`);
  return m[1] === '-' ? -v : v;
}

function parseGoUint(s: string, bits: number): number {
  if (/^[+-]/.test(s)) throw new Error(`strconv.ParseUint: parsing ${goq(s)}: invalid syntax`);
  let v: number;
  try {
    v = parseGoInt(s);
  } catch {
    throw new Error(`strconv.ParseUint: parsing ${goq(s)}: invalid syntax`);
  }
  if (v >= Math.pow(2, bits)) throw new Error(`strconv.ParseUint: parsing ${goq(s)}: value out of range`);
  return v;
}

export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goq(s)}: invalid syntax`);
}

/** Go's %q for a plain string. */
export const goq = (s: string) => JSON.stringify(s);

/** Validators of docker's flag value types; they may rewrite the value (like ListOpts validators). */
export type Validator = (value: string) => string;

/** Value checks by pflag type; throws with the message pflag reports after `invalid argument … flag:`. */
function checkValue(def: FlagDef, value: string): string {
  switch (def.type) {
    case 'int': case 'int64': parseGoInt(value); break;
    case 'uint16': parseGoUint(value, 16); break;
    case 'uint': case 'uint64': parseGoUint(value, 64); break;
    case 'bool': parseGoBool(value); break;
    case 'duration': parseGoDuration(value); break;
    case 'bytes':
      if (value !== '') ramInBytes(value);
      break;
    case 'filter':
      if (value !== '' && !value.includes('=')) throw new Error('bad format of filter (expected name=value)');
      break;
    case 'decimal':
      if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(value)) throw new Error(`failed to parse ${value} as a rational number`);
      break;
  }
  return value;
}

export interface ParseOptions {
  /** Extra per-flag validators (env, label, attach …). */
  validators?: Record<string, Validator>;
  /** Where deprecation warnings go (pflag prints them to the output stream). */
  warn?: (msg: string) => void;
}

/**
 * Parses argv against the command's flags with pflag's behaviour: --name=value, --name value, -abc bool
 * groups, -nVALUE / -n VALUE / -n=VALUE, "--" ends flags, "-" is an argument; with noInterspersed the first
 * positional argument ends flag parsing. Throws Error with pflag's message on bad input.
 */
export function parseFlags(spec: CommandSpec, argv: string[], opts: ParseOptions = {}): Parsed {
  const p = new Parsed();
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const byShort = new Map(spec.flags.filter((f) => f.short).map((f) => [f.short, f]));
  const warn = opts.warn ?? ((m: string) => write(1, m + '\n'));

  const set = (def: FlagDef, value: string, display: string) => {
    try {
      let v = checkValue(def, value);
      const validator = opts.validators?.[def.name];
      if (validator) v = validator(v);
      if (def.deprecated) warn(`Flag --${def.name} has been deprecated, ${def.deprecated}`);
      p.changed.add(def.name);
      if (def.type === 'bool') {
        p.values.set(def.name, parseGoBool(v));
        if (def.name === 'help') p.help = parseGoBool(v);
      }
      else if (LIST_TYPES.has(def.type)) {
        const cur = (p.values.get(def.name) as string[] | undefined) ?? [];
        if (def.type === 'strings') cur.push(...(v === '' ? [] : v.split(',')));
        else cur.push(v);
        p.values.set(def.name, cur);
      } else p.values.set(def.name, v);
    } catch (err) {
      throw new Error(`invalid argument ${goq(value)} for ${goq(display)} flag: ${(err as Error).message}`);
    }
  };
  const displayOf = (def: FlagDef) => (def.short ? `-${def.short}, --${def.name}` : `--${def.name}`);

  let i = 0;
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '--') { p.args.push(...argv.slice(i)); break; }
    if (a.length < 2 || a[0] !== '-') {
      p.args.push(a);
      if (spec.noInterspersed) { p.args.push(...argv.slice(i)); break; }
      continue;
    }
    if (a[1] === '-') {
      const body = a.slice(2);
      if (body === '' || body[0] === '-' || body[0] === '=') throw new Error(`bad flag syntax: ${a}`);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const def = byName.get(name);
      if (!def) {
        if (name === 'help') { p.help = true; continue; }
        throw new Error(`unknown flag: --${name}`);
      }
      if (eq >= 0) set(def, body.slice(eq + 1), displayOf(def));
      else if (def.type === 'bool') set(def, 'true', displayOf(def));
      else if (i < argv.length) set(def, argv[i++], displayOf(def));
      else throw new Error(`flag needs an argument: ${a}`);
      continue;
    }
    // shorthands
    let shorts = a.slice(1);
    while (shorts.length > 0) {
      const c = shorts[0];
      const def = byShort.get(c);
      if (!def) {
        if (c === 'h' && !spec.ownsH) {
          warn('Flag shorthand -h has been deprecated, use --help');
          p.help = true;
          shorts = shorts.slice(1);
          continue;
        }
        throw new Error(`unknown shorthand flag: '${c}' in -${a.slice(1)}`);
      }
      if (shorts.length > 2 && shorts[1] === '=') {
        set(def, shorts.slice(2), displayOf(def));
        shorts = '';
      } else if (def.type === 'bool') {
        set(def, 'true', displayOf(def));
        shorts = shorts.slice(1);
      } else if (shorts.length > 1) {
        set(def, shorts.slice(1), displayOf(def));
        shorts = '';
      } else if (i < argv.length) {
        set(def, argv[i++], displayOf(def));
        shorts = '';
      } else {
        throw new Error(`flag needs an argument: '${c}' in -${a.slice(1)}`);
      }
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------
// help

export const useLine = (spec: CommandSpec) => `${BIN} ${spec.path}${spec.use ? ' ' + spec.use : ''}`;

/** Terminal width docker uses for wrapping help (stdin's terminal, else 80). */
export function termWidth(): number {
  if (isTerminal(0) && isTerminal(1)) { const cols = stdout().columns; if (cols) return cols; }
  return 80;
}

function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap(i, w, s). */
export function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.split('\n').join('\n' + ' '.repeat(i));
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += '\n' + ' '.repeat(i);
  }
  if (width < 24) return s.split('\n').join(r);
  const slop = 5;
  width -= slop;
  let l: string;
  [l, s] = wrapN(width, slop, s);
  r += l.split('\n').join('\n' + ' '.repeat(i));
  while (s !== '') {
    let t: string;
    [t, s] = wrapN(width, slop, s);
    r += '\n' + ' '.repeat(i) + t.split('\n').join('\n' + ' '.repeat(i));
  }
  return r;
}

/** pflag FlagSet.FlagUsagesWrapped(cols), flags sorted by name. */
export function flagUsages(flags: FlagDef[], cols: number): string {
  const lines: string[] = [];
  let maxlen = 0;
  const sorted = [...flags].filter((f) => !f.hidden).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of sorted) {
    let line = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
    const varname = typeDisplay(f.type);
    if (varname) line += ' ' + varname;
    line += '\x00';
    if (line.length > maxlen) maxlen = line.length;
    line += f.usage;
    if (f.def !== '') line += ` (default ${f.def})`;
    lines.push(line);
  }
  let out = '';
  for (const line of lines) {
    const sidx = line.indexOf('\x00');
    const spacing = ' '.repeat(maxlen - sidx);
    out += line.slice(0, sidx) + ' ' + spacing + ' ' + wrap(maxlen + 2, cols, line.slice(sidx + 1)) + '\n';
  }
  return out;
}

function typeDisplay(t: string): string {
  switch (t) {
    case 'bool': return '';
    case 'int64': return 'int';
    case 'uint64': return 'uint';
    case 'float64': return 'float';
    case 'memswap': return 'bytes';
    default: return t;
  }
}

/** Help of a runnable command (cobra usage template as docker customises it). */
export function commandHelp(spec: CommandSpec): string {
  let out = `Usage:  ${useLine(spec)}\n\n${spec.long ?? spec.short}\n`;
  if (spec.aliases) out += `\nAliases:\n  ${spec.aliases}\n`;
  const visible = spec.flags.filter((f) => !f.hidden);
  if (visible.length > 0) out += `\nOptions:\n${flagUsages(spec.flags, termWidth() - 1).replace(/\s+$/, '')}\n`;
  return out;
}

export interface SubcommandLine { name: string; short: string }

/** Help of a command group ("berth container"). */
export function groupHelp(path: string, short: string, subs: SubcommandLine[]): string {
  const pad = Math.max(11, ...subs.map((s) => s.name.length));
  let out = `Usage:  ${BIN} ${path} COMMAND\n\n${short}\n\nCommands:\n`;
  for (const s of subs) out += `  ${s.name.padEnd(pad)} ${s.short}\n`;
  out += `\nRun '${BIN} ${path} COMMAND --help' for more information on a command.\n`;
  return out;
}

/** Usage error with docker's "See/Run '… --help'" tail. */
export function usageError(spec: CommandSpec, msg: string, see = false): StatusError {
  return new StatusError(1, `${BIN}: ${msg}\n\nUsage:  ${useLine(spec)}\n\n${see ? 'See' : 'Run'} '${BIN} ${spec.path} --help' for more information`);
}

/** cobra's flag error (FlagErrorFunc): exit 125. */
export function flagError(spec: CommandSpec, msg: string): StatusError {
  return new StatusError(125, `${msg}\n\nUsage:  ${useLine(spec)}\n\nRun '${BIN} ${spec.path} --help' for more information`);
}

const plural = (n: number) => (n === 1 ? 'argument' : 'arguments');

/** cli.NoArgs / ExactArgs / RequiresMinArgs / RequiresMaxArgs / RequiresRangeArgs. */
export function checkArgs(spec: CommandSpec, args: string[]): void {
  const rule = spec.args;
  if (!rule) return;
  const cmd = `'${BIN} ${spec.path}'`;
  if (rule === 'none') {
    if (args.length) throw usageError(spec, `${cmd} accepts no arguments`);
  } else if ('exact' in rule) {
    if (args.length !== rule.exact) throw usageError(spec, `${cmd} requires ${rule.exact} ${plural(rule.exact)}`);
  } else if ('min' in rule) {
    if (args.length < rule.min) throw usageError(spec, `${cmd} requires at least ${rule.min} ${plural(rule.min)}`, true);
  } else if ('max' in rule) {
    // docker's RequiresMaxArgs really says "SRun"
    if (args.length > rule.max) {
      throw new StatusError(1, `${BIN}: ${cmd} requires at most ${rule.max} ${plural(rule.max)}\n\nUsage:  ${useLine(spec)}\n\nSRun '${BIN} ${spec.path} --help' for more information`);
    }
  } else if (args.length < rule.range[0] || args.length > rule.range[1]) {
    throw usageError(spec, `${cmd} requires at least ${rule.range[0]} and at most ${rule.range[1]} ${plural(rule.range[1])}`);
  }
}
