// Merging a compose file over another (later -f files, `extends`), on the plain YAML trees: mappings merge key by
// key, sequences append, scalars are replaced — with the spec's exceptions: command/entrypoint/healthcheck.test
// are replaced whole; environment/labels/… written as a mapping or a list merge as `k=v` lists; depends_on and
// networks written as lists merge as mappings; logging options only merge when the driver is the same; `!reset`
// removes what the base had and `!override` replaces it without merging. Then `enforceUnicity` keeps one entry per
// key where the spec says a list is keyed (ports by their spec, volumes by target, environment by name …).
import { Tagged } from './yaml';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Tagged);

export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

type Merger = (base: unknown, over: unknown, path: string[]) => unknown;

/** Path patterns (`*` = any one key) and their merge rule. */
const SPECIAL: Array<[string[], Merger]> = [];
const rule = (pattern: string, m: Merger) => SPECIAL.push([pattern.split('.'), m]);
const replace: Merger = (_b, o) => strip(o);
const toSequence: Merger = (b, o) => [...asSequence(b), ...asSequence(strip(o))];
rule('networks.*.ipam.config', mergeIpamConfig);
rule('networks.*.labels', toSequence);
rule('volumes.*.labels', toSequence);
rule('services.*.annotations', toSequence);
rule('services.*.build', (b, o, p) => mergeMappings(asBuild(b), asBuild(strip(o)), p));
rule('services.*.build.args', toSequence);
rule('services.*.build.additional_contexts', toSequence);
rule('services.*.build.extra_hosts', mergeExtraHosts);
rule('services.*.build.labels', toSequence);
rule('services.*.command', replace);
rule('services.*.depends_on', (b, o, p) => mergeMappings(asMapping(b, true), asMapping(strip(o), true), p));
rule('services.*.deploy.labels', toSequence);
rule('services.*.dns', toSequence);
rule('services.*.dns_opt', toSequence);
rule('services.*.dns_search', toSequence);
rule('services.*.entrypoint', replace);
rule('services.*.env_file', toSequence);
rule('services.*.label_file', toSequence);
rule('services.*.environment', toSequence);
rule('services.*.extra_hosts', mergeExtraHosts);
rule('services.*.healthcheck.test', replace);
rule('services.*.labels', toSequence);
rule('services.*.volumes.*.volume.labels', toSequence);
rule('services.*.logging', mergeLogging);
rule('services.*.models', (b, o, p) => mergeMappings(asMapping(b, false), asMapping(strip(o), false), p));
rule('services.*.networks', (b, o, p) => mergeMappings(asMapping(b, false), asMapping(strip(o), false), p));
rule('services.*.sysctls', toSequence);
rule('services.*.tmpfs', toSequence);
// an ulimit written again is replaced whole (compose-go's merger compares the override with itself)
rule('services.*.ulimits.*', replace);
rule('models.*.runtime_flags', replace);

function matches(path: string[], pattern: string[]): boolean {
  if (path.length !== pattern.length) return false;
  for (let i = 0; i < path.length; i++) if (pattern[i] !== '*' && pattern[i] !== path[i]) return false;
  return true;
}

/** Merges `over` onto `base` (both whole compose trees, or any subtree at `path`). Neither input is modified. */
export function merge(base: unknown, over: unknown, path: string[] = []): unknown {
  if (over instanceof Tagged) return over.tag === 'reset' ? undefined : strip(over.value);
  if (base instanceof Tagged) base = strip(base);
  for (const [pattern, m] of SPECIAL) {
    if (matches(path, pattern)) {
      if (over === null || over === undefined) return clone(base);
      return m(clone(base), over, path);
    }
  }
  if (over === null || over === undefined) return clone(base);
  if (isObj(base)) {
    if (!isObj(over)) throw new MergeError(`cannot override ${path.join('.')}`);
    return mergeMappings(clone(base) as Obj, over, path);
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over)) throw new MergeError(`cannot override ${path.join('.')}`);
    return [...(clone(base) as unknown[]), ...(strip(over) as unknown[])];
  }
  return strip(over);
}

function mergeMappings(base: Obj, over: Obj, path: string[]): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v instanceof Tagged && v.tag === 'reset') { delete out[k]; continue; }
    if (!(k in out)) { out[k] = strip(v); continue; }
    const m = merge(out[k], v, [...path, k]);
    if (m === undefined) delete out[k]; else out[k] = m;
  }
  return out;
}

/** A deep copy without !reset/!override markers (a `!reset` alone removes the entry). */
export function strip(v: unknown): unknown {
  if (v instanceof Tagged) return v.tag === 'reset' ? resetValue(v.value) : strip(v.value);
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof Tagged && x.tag === 'reset')).map(strip);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      if (x instanceof Tagged && x.tag === 'reset') continue;
      out[k] = strip(x);
    }
    return out;
  }
  return v;
}

/** `key: !reset []` keeps an empty value of the kind written; a scalar reset is the same as removing. */
function resetValue(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  if (isObj(v)) return {};
  return undefined;
}

const clone = (v: unknown): unknown => strip(v);

function asBuild(v: unknown): Obj {
  if (typeof v === 'string') return { context: v };
  return isObj(v) ? v : {};
}

/** A list of names as a mapping (depends_on gets the long syntax's defaults). */
function asMapping(v: unknown, dependsOn: boolean): Obj {
  if (isObj(v)) return v;
  const out: Obj = {};
  if (Array.isArray(v)) for (const s of v) out[String(s)] = dependsOn ? { condition: 'service_started', required: true } : null;
  return out;
}

/** A `k: v` mapping as a sorted `k=v` list (null values as bare `k`; list values as one entry each). */
export function asSequence(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  if (!isObj(v)) return [];
  const seq: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) seq.push(k);
    else if (Array.isArray(val)) for (const x of val) seq.push(`${k}=${goString(x)}`);
    else seq.push(`${k}=${goString(val)}`);
  }
  return seq.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const goString = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

function mergeExtraHosts(b: unknown, o: unknown): unknown {
  const base = asSequence(b);
  const over = asSequence(strip(o)).filter((x) => !base.includes(x));
  return [...base, ...over];
}

function mergeLogging(b: unknown, o: unknown, p: string[]): unknown {
  const base = isObj(b) ? b : {};
  const over = isObj(o) ? o : {};
  if (!('driver' in over) || !('driver' in base) || over.driver === base.driver) return mergeMappings(base, over, p);
  return strip(over);
}

function mergeIpamConfig(b: unknown, o: unknown, p: string[]): unknown {
  if (!Array.isArray(b) || !Array.isArray(o)) throw new MergeError(`${p.join('.')}: unexpected type`);
  const out: Obj[] = [];
  const over = strip(o) as unknown[];
  for (const original of b) {
    const right = isObj(original) ? original : {};
    for (const ov of over) {
      const left = isObj(ov) ? ov : {};
      if (left.subnet !== right.subnet) {
        if (!out.some((a) => a.subnet === left.subnet)) { out.push(left); continue; }
      }
      const merged = mergeMappings(right, left, p);
      const i = out.findIndex((a) => a.subnet === merged.subnet);
      if (i >= 0) out[i] = merged; else out.push(merged);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ unicity

type Indexer = (entry: unknown, path: string) => string;

const keyValue: Indexer = (v, p) => {
  if (typeof v === 'string') return v.split('=')[0];
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new MergeError(`${p}: unexpected type ${typeof v}`);
};

const volumeKey: Indexer = (v, p) => {
  if (isObj(v)) {
    if (typeof v.target !== 'string') throw new MergeError(`service volume ${p} is missing a mount target`);
    return v.target;
  }
  if (typeof v === 'string') {
    const parts = splitVolumeSpec(v);
    return parts.length === 1 ? parts[0] : parts[1];
  }
  return '';
};

const mountKey = (defaultPath: string): Indexer => (v, p) => {
  if (typeof v === 'string') return `${defaultPath}/${v}`;
  if (isObj(v)) return typeof v.target === 'string' ? v.target : `${defaultPath}/${String(v.source)}`;
  throw new MergeError(`${p}: unsupported value`);
};

const portKey: Indexer = (v, p) => {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (isObj(v)) {
    if (v.target === undefined) throw new MergeError(`service ports ${p} is missing a target port`);
    return `${v.host_ip ?? '0.0.0.0'}:${v.published ?? ''}:${String(v.target)}/${v.protocol ?? 'tcp'}`;
  }
  return '';
};

const envFileKey: Indexer = (v, p) => {
  if (typeof v === 'string') return v;
  if (isObj(v)) {
    if (typeof v.path !== 'string') throw new MergeError(`environment path attribute ${p} is missing`);
    return v.path;
  }
  return '';
};

const exposeKey: Indexer = (v, p) => {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new MergeError(`${p}: unsupported expose value ${String(v)}`);
};

const deviceKey: Indexer = (v) => {
  if (isObj(v)) return String(v.target ?? v.source ?? '');
  if (typeof v === 'string') { const a = v.split(':'); return a.length === 1 ? a[0] : a[1]; }
  return '';
};

const UNIQUE: Array<[string[], Indexer]> = [
  ['networks.*.labels', keyValue], ['networks.*.ipam.options', keyValue], ['services.*.annotations', keyValue],
  ['services.*.build.args', keyValue], ['services.*.build.additional_contexts', keyValue], ['services.*.build.platform', keyValue],
  ['services.*.build.tags', keyValue], ['services.*.build.labels', keyValue], ['services.*.cap_add', keyValue],
  ['services.*.cap_drop', keyValue], ['services.*.configs', mountKey('')], ['services.*.deploy.labels', keyValue],
  ['services.*.dns', keyValue], ['services.*.dns_opt', keyValue], ['services.*.dns_search', keyValue],
  ['services.*.environment', keyValue], ['services.*.env_file', envFileKey], ['services.*.expose', exposeKey],
  ['services.*.labels', keyValue], ['services.*.links', keyValue], ['services.*.networks.*.aliases', keyValue],
  ['services.*.networks.*.link_local_ips', keyValue], ['services.*.ports', portKey], ['services.*.profiles', keyValue],
  ['services.*.secrets', mountKey('/run/secrets')], ['services.*.sysctls', keyValue], ['services.*.tmpfs', keyValue],
  ['services.*.volumes', volumeKey], ['services.*.devices', deviceKey], ['volumes.*.labels', keyValue],
].map(([p, i]) => [(p as string).split('.'), i as Indexer]);

/** Keeps one entry per key in the keyed lists (the last one wins, at the place of the first). */
export function enforceUnicity(value: unknown, path: string[] = []): unknown {
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = enforceUnicity(v, [...path, k]);
    return out;
  }
  if (Array.isArray(value)) {
    const hit = UNIQUE.find(([pattern]) => matches(path, pattern));
    if (!hit) return value;
    const seq: unknown[] = [];
    const keys = new Map<string, number>();
    value.forEach((entry, i) => {
      const key = hit[1](entry, [...path, `[${i}]`].join('.'));
      const j = keys.get(key);
      if (j !== undefined) seq[j] = entry;
      else { keys.set(key, seq.length); seq.push(entry); }
    });
    return seq;
  }
  return value;
}

/** Splits a short volume spec `src:dst:mode` (Linux paths: a one-letter volume name is a name, not a drive). */
export function splitVolumeSpec(spec: string): string[] {
  return spec.split(':');
}
