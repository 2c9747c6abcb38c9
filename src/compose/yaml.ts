// Reads one compose YAML document into plain values, keeping where each key was written (file:line:column for
// error messages). Anchors, aliases and `<<` merge keys are resolved here; `!reset` and `!override` become
// Tagged markers that the merge consumes; mapping keys become strings (compose-go does the same).
import type { Node, Document, YAMLMap, Scalar, LineCounter } from 'yaml';
import { cacheGet, cachePut, hashKey } from './cache';

type YamlLib = typeof import('yaml');
let lib: YamlLib | undefined;
/** The YAML library: the separate bundle beside dist/compose.js when present, else the package (tests, tsc output). */
export function yamlLib(): YamlLib {
  if (lib) return lib;
  const beside = require('path').join(__dirname, 'compose-yaml.js') as string;
  try {
    lib = require(beside) as YamlLib;
  } catch {
    lib = require('yaml') as YamlLib;
  }
  return lib;
}

export type Tag = 'reset' | 'override';

/** A value written with `!reset` or `!override`. */
export class Tagged {
  constructor(readonly tag: Tag, readonly value: unknown) {}
}

export interface Position { line: number; col: number }

/** A parsed file: its value and the position of each path (`services.web.ports.0`). */
export interface YamlFile {
  filename: string;
  value: unknown;
  positions: Map<string, Position>;
}

export class ComposeFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComposeFileError';
  }
}

/** Parses `src` (from `filename`); syntax errors carry `filename:line:col`. Unchanged files come from the cache. */
export function parseYaml(src: string, filename: string): YamlFile {
  const key = hashKey('yaml-v2', src);
  const hit = cacheGet('yaml', key);
  if (hit !== undefined) {
    try {
      const c = JSON.parse(hit, (_k, v) => (v && typeof v === 'object' && '$berthTag' in v ? new Tagged(v.$berthTag, v.value) : v)) as { value: unknown; positions: Array<[string, Position]> };
      return { filename, value: c.value, positions: new Map(c.positions) };
    } catch { /* a damaged entry: parse again */ }
  }
  const parsed = parseFresh(src, filename);
  cachePut('yaml', key, JSON.stringify({ value: parsed.value, positions: [...parsed.positions] }, (_k, v) => (v instanceof Tagged ? { $berthTag: v.tag, value: v.value } : v)));
  return parsed;
}

function parseFresh(src: string, filename: string): YamlFile {
  const { parseDocument, LineCounter: LC } = yamlLib();
  const lineCounter = new LC();
  const doc = parseDocument(src, { lineCounter, merge: false, uniqueKeys: true, prettyErrors: false, strict: true, customTags: [resetScalar, overrideScalar] });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ComposeFileError(`yaml: ${filename}:${line}:${col}: ${msg}`);
  }
  const positions = new Map<string, Position>();
  const walker = new Walker(doc, lineCounter, positions, filename);
  const value = doc.contents ? walker.toValue(doc.contents as Node, []) : null;
  return { filename, value, positions };
}

// Scalars written `!reset` / `!override` (e.g. `ports: !reset []`): the tags of collections are read off the node.
const resetScalar = { tag: '!reset', resolve: (s: string) => s === '' ? null : s };
const overrideScalar = { tag: '!override', resolve: (s: string) => s };

class Walker {
  private aliasDepth = 0;
  constructor(private doc: Document, private lc: LineCounter, private positions: Map<string, Position>, private filename: string) {}

  private pos(node: Node | null | undefined): Position | undefined {
    const r = node?.range;
    return r ? this.lc.linePos(r[0]) : undefined;
  }

  private fail(node: Node | null | undefined, msg: string): never {
    const p = this.pos(node);
    throw new ComposeFileError(`yaml: ${this.filename}${p ? `:${p.line}:${p.col}` : ''}: ${msg}`);
  }

  toValue(node: Node | null | undefined, path: string[]): unknown {
    const { isAlias, isScalar, isSeq, isMap } = yamlLib();
    if (node === null || node === undefined) return null;
    const value = this.plain(node, path);
    const tag = (node as { tag?: string }).tag;
    if (tag === '!reset') return new Tagged('reset', value);
    if (tag === '!override') return new Tagged('override', value);
    return value;
  }

  private plain(node: Node, path: string[]): unknown {
    const { isAlias, isScalar, isSeq, isMap } = yamlLib();
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) this.fail(node, `unknown anchor '${node.source}' referenced`);
      if (++this.aliasDepth > 1000) this.fail(node, 'excessive aliasing');
      try { return this.toValue(target as Node, path); } finally { this.aliasDepth--; }
    }
    if (isScalar(node)) {
      const sc = node as Scalar;
      // `mode: 0440`: a plain integer with a leading zero is octal, as in YAML 1.1 and Go's yaml (YAML 1.2 says decimal)
      if (sc.type === 'PLAIN' && typeof sc.source === 'string' && /^0[0-7]+$/.test(sc.source)) return parseInt(sc.source, 8);
      return sc.value ?? null;
    }
    if (isSeq(node)) return node.items.map((item, i) => this.toValue(item as Node, [...path, String(i)]));
    if (isMap(node)) return this.mapping(node, path);
    return null;
  }

  private mapping(node: YAMLMap, path: string[]): Record<string, unknown> {
    const { isAlias, isScalar, isPair } = yamlLib();
    const out: Record<string, unknown> = {};
    const merged: Record<string, unknown>[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const rawKey = keyNode && isScalar(keyNode) ? keyNode.value : keyNode && isAlias(keyNode) ? (keyNode.resolve(this.doc) as Scalar | undefined)?.value : undefined;
      if (rawKey !== null && typeof rawKey === 'object') this.fail(keyNode, 'mapping keys must be scalars');
      const key = rawKey === null || rawKey === undefined ? 'null' : String(rawKey);
      if (key === '<<' && keyNode && isScalar(keyNode) && keyNode.type === 'PLAIN') {
        // merge key: the mappings named are defaults for this one (explicit keys win, earlier sources win)
        const v = this.toValue(pair.value as Node, path);
        for (const m of Array.isArray(v) ? v : [v]) {
          if (!m || typeof m !== 'object' || Array.isArray(m) || m instanceof Tagged) this.fail(pair.value as Node, 'map merge requires map or sequence of maps as the value');
          merged.push(m as Record<string, unknown>);
        }
        continue;
      }
      const p = [...path, key];
      const at = this.pos(keyNode);
      if (at) this.positions.set(p.join('.'), at);
      out[key] = this.toValue(pair.value as Node, p);
    }
    if (!merged.length) return out;
    const result: Record<string, unknown> = {};
    for (const m of merged) for (const [k, v] of Object.entries(m)) if (!(k in result)) result[k] = v;
    for (const [k, v] of Object.entries(out)) result[k] = v;
    return result;
  }
}
