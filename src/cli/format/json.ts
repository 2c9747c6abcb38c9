// JSON output the way docker's Go code writes it: inspect re-indents the daemon's raw bytes (json.Indent
// keeps key order and number spelling), and templates' `json` uses an Encoder with SetEscapeHTML(false),
// which escapes U+2028/U+2029 and writes \b and \f as \u0008 and \u000c.

/** json.Indent(dst, src, prefix "", indent): reformat raw JSON text without re-encoding values. */
export function indentJson(src: string, indent: string): string {
  let out = '';
  let depth = 0;
  let needIndent = false; // just opened a container: next value goes on a new line
  const nl = () => '\n' + indent.repeat(depth);
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += nl();
    }
    if (c === '"') {
      const j = stringEnd(src, i);
      out += src.slice(i, j + 1);
      i = j;
      continue;
    }
    switch (c) {
      case '{': case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c + nl();
        break;
      case ':':
        out += ': ';
        break;
      case '}': case ']':
        if (needIndent) { needIndent = false; out += c; } // empty container
        else { depth--; out += nl() + c; }
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** json.Compact: strip insignificant whitespace. */
export function compactJson(src: string): string {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (c === '"') {
      const j = stringEnd(src, i);
      out += src.slice(i, j + 1);
      i = j;
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * Go's json.Encoder (EscapeHTML off) output for a JS value, without the trailing newline. Formatter contexts
 * (objects with a goType and toJSON) marshal themselves with json.Marshal in docker, which does escape HTML:
 * their <, > and & come out as \u003c, \u003e, \u0026 ("<none>" in `images --format json`).
 */
export function goJson(v: unknown): string {
  let marked = false;
  const s = JSON.stringify(v === undefined ? null : v, function (this: Record<string, unknown>, key: string, value: unknown) {
    const orig = this[key] as { toJSON?: unknown; goType?: unknown } | null | undefined;
    if (orig && typeof orig === 'object' && typeof orig.toJSON === 'function' && 'goType' in orig) {
      marked = true;
      return markHtml(value);
    }
    return value;
  });
  if (s === undefined) return 'null';
  const out = s.replace(/\\\\|\\b|\\f|\u2028|\u2029/g, (m) =>
    m === '\\\\' ? m : m === '\\b' ? '\\u0008' : m === '\\f' ? '\\u000c' : m === '\u2028' ? '\\u2028' : '\\u2029');
  return marked ? out.replace(/[\uE000-\uE002]/g, (c) => HTML_ESCAPES[c]) : out;
}

const HTML_ESCAPES: Record<string, string> = { '\uE000': '\\u003c', '\uE001': '\\u003e', '\uE002': '\\u0026' };

/** Strings inside a context's JSON with <, >, & swapped for private-use markers, turned into escapes afterwards. */
function markHtml(value: unknown): unknown {
  if (value && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON(): unknown }).toJSON();
  if (typeof value === 'string') return value.replace(/[<>&]/g, (c) => (c === '<' ? '\uE000' : c === '>' ? '\uE001' : '\uE002'));
  if (Array.isArray(value)) return value.map(markHtml);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[markHtml(k) as string] = markHtml(v);
    return out;
  }
  return value;
}

/** Go's json.MarshalIndent(v, "", indent) for a JS value. */
export function goJsonIndent(v: unknown, indent: string): string {
  return indentJson(goJson(v), indent);
}

/** Index of the quote that closes the JSON string opening at `start` (escapes skipped). */
function stringEnd(src: string, start: number): number {
  let j = start + 1;
  while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
  return j;
}
