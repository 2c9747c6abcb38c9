// Variable interpolation in compose files: `$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V:?err}`, `${V?err}`, `${V:+r}`,
// `${V+r}`, nested templates inside the default/replacement/message, and `$$` for a literal dollar — the rules of
// compose-go's template package (names are case-insensitive ASCII identifiers; a `$` that starts nothing is kept).

/** A `${…}` that is not a valid substitution. The message quotes the whole template, as compose-go does. */
export class InvalidTemplateError extends Error {
  constructor(readonly template: string) {
    super(`Invalid template: ${JSON.stringify(template)}`);
    this.name = 'InvalidTemplateError';
  }
}

/** `${V:?msg}` / `${V?msg}` with V unset (or empty for `:?`). */
export class MissingRequiredError extends Error {
  constructor(readonly variable: string, readonly reason: string) {
    super(reason ? `required variable ${variable} is missing a value: ${reason}` : `required variable ${variable} is missing a value`);
    this.name = 'MissingRequiredError';
  }
}

/** Looks a variable up: undefined when unset. */
export type Lookup = (name: string) => string | undefined;

const NAME_START = /[_a-zA-Z]/;
const NAME_CHAR = /[_a-zA-Z0-9]/;
const OPERATORS = [':?', '?', ':-', '-', ':+', '+'] as const;

export interface SubstituteOptions {
  /** Called for each variable used without a value and without a default (compose warns about these). */
  onUnset?: (name: string) => void;
}

/** Substitutes every variable of `template`. Throws InvalidTemplateError or MissingRequiredError. */
export function substitute(template: string, lookup: Lookup, opts: SubstituteOptions = {}): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) { out += template.slice(i); break; }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') { out += '$'; i = dollar + 2; continue; }
    if (next !== undefined && NAME_START.test(next)) {
      let j = dollar + 2;
      while (j < template.length && NAME_CHAR.test(template[j])) j++;
      out += resolvePlain(template.slice(dollar + 1, j), lookup, opts);
      i = j;
      continue;
    }
    if (next !== '{') { out += '$'; i = dollar + 1; continue; }
    const close = closingBrace(template, dollar + 1);
    if (close < 0) throw new InvalidTemplateError(template);
    out += braced(template.slice(dollar + 2, close), template, lookup, opts);
    i = close + 1;
  }
  return out;
}

/** The index of the `}` that closes the `{` at `open`, counting nested braces. */
function closingBrace(s: string, open: number): number {
  let depth = 0;
  for (let k = open; k < s.length; k++) {
    if (s[k] === '{') depth++;
    else if (s[k] === '}' && --depth === 0) return k;
  }
  return -1;
}

function resolvePlain(name: string, lookup: Lookup, opts: SubstituteOptions): string {
  const v = lookup(name);
  if (v === undefined) { opts.onUnset?.(name); return ''; }
  return v;
}

/** The inside of `${…}`: NAME, or NAME followed by an operator and its argument (itself a template). */
function braced(body: string, template: string, lookup: Lookup, opts: SubstituteOptions): string {
  if (body === '' || !NAME_START.test(body[0])) throw new InvalidTemplateError(template);
  let j = 1;
  while (j < body.length && NAME_CHAR.test(body[j])) j++;
  const name = body.slice(0, j);
  if (j === body.length) return resolvePlain(name, lookup, opts);
  const op = OPERATORS.find((o) => body.startsWith(o, j));
  if (!op) throw new InvalidTemplateError(template);
  const arg = body.slice(j + op.length);
  const value = lookup(name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  // the argument is only evaluated when it is used (so an unused default never warns or fails)
  const evalArg = () => substitute(arg, lookup, opts);
  switch (op) {
    case ':-': return nonEmpty ? value! : evalArg();
    case '-': return set ? value! : evalArg();
    case ':+': return nonEmpty ? evalArg() : (value ?? '');
    case '+': return set ? evalArg() : '';
    case ':?': if (nonEmpty) return value!; throw new MissingRequiredError(name, evalArg());
    case '?': if (set) return value!; throw new MissingRequiredError(name, evalArg());
  }
  return '';
}

/** The names a template refers to (for `config --variables`-like checks and tests). */
export function variablesOf(template: string): string[] {
  const names: string[] = [];
  const collect: Lookup = (n) => { names.push(n); return 'x'; };
  try { substitute(template, collect); } catch { /* invalid: no names */ }
  return names;
}
