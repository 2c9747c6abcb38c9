// The canonical form of a merged compose tree (what `config` prints and what the rest of compose reads): short
// syntaxes expanded to long ones (ports, volumes, depends_on, networks, secrets, build), lists of `k=v` turned
// into mappings, commands split like a shell would, relative paths made absolute, the default network and the
// project-scoped names of networks and volumes filled in. Mirrors compose-go's transform and defaults phases.
import * as path from 'path';
import type { Project, ServiceConfig, PortConfig, VolumeMount } from './types';
import { splitVolumeSpec } from './merge';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export class NormalizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NormalizeError';
  }
}

/** Splits a command string into words like mattn/go-shellwords (quotes and backslashes, no expansion). */
export function shellSplit(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") { if (c === "'") quote = ''; else cur += c; continue; }
    if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1])) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '\\' && i + 1 < s.length) { cur += s[++i]; inWord = true; continue; }
    if (c === "'" || c === '"') { quote = c; inWord = true; continue; }
    if (/\s/.test(c)) { if (inWord) { words.push(cur); cur = ''; inWord = false; } continue; }
    cur += c;
    inWord = true;
  }
  if (quote) throw new NormalizeError(`invalid command line string: ${JSON.stringify(s)}`);
  if (inWord) words.push(cur);
  return words;
}

/** `KEY=VAL` lists and mappings as a mapping (a bare KEY maps to null). */
export function toMapping(v: unknown, sep = '='): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = String(e);
      const i = s.indexOf(sep);
      if (i < 0) out[s] = null; else out[s.slice(0, i)] = s.slice(i + 1);
    }
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? null : scalarString(x);
  }
  return out;
}

const scalarString = (x: unknown): string => (typeof x === 'object' ? JSON.stringify(x) : String(x));
const toList = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** Expands the short port syntax `[[ip:]published:]target[/proto]` (ranges included) into long entries. */
export function parsePortShort(spec: string): PortConfig[] {
  let proto = 'tcp';
  let rest = spec;
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) { proto = rest.slice(slash + 1); rest = rest.slice(0, slash); }
  let ip = '';
  // an IPv6 host address is bracketed: [::1]:8080:80
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) { ip = v6[1]; rest = v6[2]; }
  const parts = rest.split(':');
  let published = '';
  let target: string;
  if (parts.length === 1) target = parts[0];
  else if (parts.length === 2) { if (v6) { published = parts[0]; target = parts[1]; } else { published = parts[0]; target = parts[1]; } }
  else if (parts.length === 3 && !v6) { ip = parts[0]; published = parts[1]; target = parts[2]; }
  else throw new NormalizeError(`Invalid port format: ${spec}`);
  const range = (s: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) throw new NormalizeError(`Invalid containerPort: ${s}`);
    return [parseInt(m[1], 10), parseInt(m[2] ?? m[1], 10)];
  };
  const [t0, t1] = range(target);
  const out: PortConfig[] = [];
  if (published === '') {
    for (let t = t0; t <= t1; t++) out.push({ mode: 'ingress', ...(ip ? { host_ip: ip } : {}), target: t, protocol: proto });
    return out;
  }
  const [p0, p1] = range(published);
  if (t1 - t0 !== p1 - p0 && t0 === t1) {
    // one container port, a range of host ports: the engine picks one of them
    out.push({ mode: 'ingress', ...(ip ? { host_ip: ip } : {}), target: t0, published: `${p0}-${p1}`, protocol: proto });
    return out;
  }
  if (t1 - t0 !== p1 - p0) throw new NormalizeError(`Invalid ranges specified for container and host Ports: ${target} and ${published}`);
  for (let i = 0; i <= t1 - t0; i++) out.push({ mode: 'ingress', ...(ip ? { host_ip: ip } : {}), target: t0 + i, published: String(p0 + i), protocol: proto });
  return out;
}

function normalizePorts(v: unknown): PortConfig[] {
  const out: PortConfig[] = [];
  for (const p of toArray(v)) {
    if (typeof p === 'number') out.push({ mode: 'ingress', target: p, protocol: 'tcp' });
    else if (typeof p === 'string') out.push(...parsePortShort(p));
    else if (isObj(p)) {
      const e: PortConfig = { mode: (p.mode as string) ?? 'ingress', target: Number(p.target), protocol: (p.protocol as string) ?? 'tcp' };
      if (p.host_ip) e.host_ip = String(p.host_ip);
      if (p.published !== undefined && p.published !== null && p.published !== '') e.published = String(p.published);
      if (p.name) e.name = String(p.name);
      if (p.app_protocol) e.app_protocol = String(p.app_protocol);
      out.push(e);
    }
  }
  return out;
}

const toArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Whether a volume source is a host path (bind) rather than a volume name. */
const isPathSource = (s: string) => s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[a-zA-Z]:[\\/]/.test(s) || s.includes('/');

function resolvePath(p: string, base: string, home: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(home, p.slice(1));
  return path.resolve(base, p);
}

/** The short volume syntax `[source:]target[:mode]` as a long entry. */
export function parseVolumeShort(spec: string, base: string, home: string): VolumeMount {
  const parts = splitVolumeSpec(spec);
  if (parts.length > 3) throw new NormalizeError(`invalid spec: ${spec}: too many colons`);
  if (parts.length === 1) return { type: 'volume', target: parts[0], volume: {} };
  const [source, target, mode = ''] = parts;
  const opts = mode.split(',').filter(Boolean);
  const v: VolumeMount = { type: isPathSource(source) ? 'bind' : 'volume', source, target };
  if (opts.includes('ro')) v.read_only = true;
  if (v.type === 'bind') {
    v.source = resolvePath(source, base, home);
    v.bind = { create_host_path: true };
    const prop = opts.find((o) => /^(r?shared|r?slave|r?private)$/.test(o));
    if (prop) v.bind.propagation = prop;
    const sel = opts.find((o) => o === 'z' || o === 'Z');
    if (sel) v.bind.selinux = sel;
  } else {
    v.volume = {};
    if (opts.includes('nocopy')) v.volume.nocopy = true;
  }
  return v;
}

function normalizeVolumes(v: unknown, base: string, home: string): VolumeMount[] {
  return toArray(v).map((x) => {
    if (typeof x === 'string') return parseVolumeShort(x, base, home);
    const o = { ...(x as Obj) } as unknown as VolumeMount;
    if (o.type === 'bind' && o.source) o.source = resolvePath(o.source, base, home);
    if (o.type === 'bind') o.bind = { create_host_path: true, ...(o.bind ?? {}) };
    return o;
  });
}

export interface NormalizeOptions {
  projectName: string;
  workingDir: string;
  home: string;
  /** Looks up variables for `environment: [NAME]` entries without a value. */
  lookupEnv?: (name: string) => string | undefined;
  readFile?: (file: string) => string;
  parseEnvFile?: (text: string, file: string) => Record<string, string>;
}

/** The canonical project from a merged tree. */
export function normalizeProject(tree: Obj, o: NormalizeOptions): Project {
  const services: Record<string, ServiceConfig> = {};
  const rawServices = isObj(tree.services) ? tree.services : {};
  for (const [name, raw] of Object.entries(rawServices)) services[name] = normalizeService(name, isObj(raw) ? raw : {}, o);

  const networks: Record<string, Obj> = {};
  for (const [k, v] of Object.entries(isObj(tree.networks) ? tree.networks : {})) networks[k] = isObj(v) ? { ...v } : {};
  const usesDefault = Object.values(services).some((s) => s.networks && 'default' in s.networks);
  if (usesDefault && !networks.default) networks.default = {};
  for (const [k, n] of Object.entries(networks)) {
    if (isObj(n.external) && (n.external as Obj).name) { n.name = (n.external as Obj).name; n.external = true; }
    if (!n.name) n.name = n.external ? k : `${o.projectName}_${k}`;
    if (n.labels !== undefined) n.labels = toMapping(n.labels);
    if (n.driver_opts !== undefined) n.driver_opts = toMapping(n.driver_opts);
  }
  const volumes: Record<string, Obj> = {};
  for (const [k, v] of Object.entries(isObj(tree.volumes) ? tree.volumes : {})) {
    const n: Obj = isObj(v) ? { ...v } : {};
    if (isObj(n.external) && (n.external as Obj).name) { n.name = (n.external as Obj).name; n.external = true; }
    if (!n.name) n.name = n.external ? k : `${o.projectName}_${k}`;
    if (n.labels !== undefined) n.labels = toMapping(n.labels);
    if (n.driver_opts !== undefined) {
      const opts = toMapping(n.driver_opts);
      // a local volume bound to a directory names it relative to the project
      if (opts.o && /(^|,)bind(,|$)/.test(opts.o) && opts.device && !opts.device.startsWith('/')) opts.device = resolvePath(opts.device, o.workingDir, o.home);
      n.driver_opts = opts;
    }
    volumes[k] = n;
  }
  const fileObjects = (key: 'secrets' | 'configs') => {
    const out: Record<string, Obj> = {};
    for (const [k, v] of Object.entries(isObj(tree[key]) ? tree[key] as Obj : {})) {
      const n: Obj = isObj(v) ? { ...v } : {};
      if (isObj(n.external) && (n.external as Obj).name) { n.name = (n.external as Obj).name; n.external = true; }
      if (typeof n.file === 'string') n.file = resolvePath(n.file, o.workingDir, o.home);
      if (!n.name) n.name = n.external ? k : `${o.projectName}_${k}`;
      out[k] = n;
    }
    return out;
  };
  const project: Project = { name: o.projectName, services, networks, volumes, secrets: fileObjects('secrets'), configs: fileObjects('configs'), workingDir: o.workingDir, disabled: {} };
  for (const [k, v] of Object.entries(tree)) if (k.startsWith('x-')) project.extensions = { ...(project.extensions ?? {}), [k]: v };
  return project;
}

function normalizeService(name: string, raw: Obj, o: NormalizeOptions): ServiceConfig {
  const s: Obj = { ...raw };
  const base = o.workingDir;
  if (s.build !== undefined) {
    const b: Obj = typeof s.build === 'string' ? { context: s.build } : { ...(s.build as Obj) };
    const ctx = String(b.context ?? '.');
    b.context = /^[a-z]+:\/\//.test(ctx) || ctx.startsWith('git@') ? ctx : resolvePath(ctx, base, o.home);
    if (b.dockerfile === undefined && b.dockerfile_inline === undefined) b.dockerfile = 'Dockerfile';
    if (b.args !== undefined) {
      // a bare arg takes its value from the environment, or is left out
      const args: Record<string, string> = {};
      for (const [k, v] of Object.entries(toMapping(b.args))) {
        const val = v ?? o.lookupEnv?.(k);
        if (val !== undefined && val !== null) args[k] = val;
      }
      b.args = args;
    }
    if (b.labels !== undefined) b.labels = toMapping(b.labels);
    if (isObj(b.additional_contexts) || Array.isArray(b.additional_contexts)) {
      const ctxs: Record<string, string> = {};
      for (const [k, v] of Object.entries(toMapping(b.additional_contexts))) {
        const val = v ?? '';
        ctxs[k] = /^[a-z]+:\/\//.test(val) || /^[a-z-]+:/.test(val) && !val.startsWith('.') && !val.startsWith('/') ? val : resolvePath(val, base, o.home);
      }
      b.additional_contexts = ctxs;
    }
    s.build = b;
  }
  for (const key of ['command', 'entrypoint'] as const) {
    if (typeof s[key] === 'string') s[key] = shellSplit(s[key] as string);
    else if (Array.isArray(s[key])) s[key] = (s[key] as unknown[]).map(String);
  }
  // environment: env_file contents first, then the service's own entries; bare names from the environment
  const env: Record<string, string | null> = {};
  const envFiles = toArray(s.env_file).map((e) => (typeof e === 'string' ? { path: e, required: true } : e as Obj));
  for (const f of envFiles) {
    const file = resolvePath(String(f.path), base, o.home);
    let text: string;
    try {
      text = (o.readFile ?? ((p: string) => require('fs').readFileSync(p, 'utf8') as string))(file);
    } catch (err) {
      if (f.required === false) continue;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NormalizeError(`env file ${file} not found: stat ${file}: no such file or directory`);
      throw err;
    }
    Object.assign(env, o.parseEnvFile ? o.parseEnvFile(text, file) : {});
  }
  delete s.env_file;
  for (const [k, v] of Object.entries(toMapping(s.environment))) {
    if (v === null) {
      const fromHost = o.lookupEnv?.(k);
      env[k] = fromHost ?? (k in env ? env[k] : null);
    } else env[k] = v;
  }
  if (Object.keys(env).length || s.environment !== undefined) s.environment = env; else delete s.environment;
  // labels: label_file entries first (KEY=VALUE lines), then the service's own; a bare label is an empty one
  if (s.labels !== undefined || s.label_file !== undefined) {
    const labels: Record<string, string> = {};
    const files = toList(s.label_file).map((f) => resolvePath(f, base, o.home));
    for (const file of files) {
      let text: string;
      try {
        text = (o.readFile ?? ((p: string) => require('fs').readFileSync(p, 'utf8') as string))(file);
      } catch {
        throw new NormalizeError(`failed to load label file ${file}: no such file or directory`);
      }
      for (const line of text.split('\n')) {
        const l = line.replace(/\r$/, '');
        if (!l.trim() || l.trimStart().startsWith('#')) continue;
        const i = l.indexOf('=');
        labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
      }
    }
    for (const [k, v] of Object.entries(toMapping(s.labels))) labels[k] = v ?? '';
    s.labels = labels;
    if (files.length) s.label_file = files;
  }
  if (s.annotations !== undefined) s.annotations = toMapping(s.annotations);
  if (s.sysctls !== undefined) s.sysctls = toMapping(s.sysctls);
  if (s.extra_hosts !== undefined) {
    s.extra_hosts = isObj(s.extra_hosts)
      ? Object.entries(s.extra_hosts).flatMap(([h, ip]) => toArray(ip).map((x) => `${h}=${String(x)}`))
      : toList(s.extra_hosts).map((e) => (e.includes('=') ? e : e.replace(':', '=')));
  }
  for (const key of ['dns', 'dns_search', 'dns_opt', 'tmpfs', 'cap_add', 'cap_drop', 'security_opt', 'profiles', 'expose', 'external_links', 'links', 'volumes_from', 'group_add']) {
    if (s[key] !== undefined) s[key] = toList(s[key]);
  }
  if (s.ports !== undefined) s.ports = normalizePorts(s.ports);
  if (s.volumes !== undefined) s.volumes = normalizeVolumes(s.volumes, base, o.home);
  if (s.depends_on !== undefined) {
    const deps: Obj = {};
    if (Array.isArray(s.depends_on)) for (const d of s.depends_on) deps[String(d)] = { condition: 'service_started', required: true };
    else for (const [d, c] of Object.entries(s.depends_on as Obj)) deps[d] = { condition: 'service_started', required: true, ...(isObj(c) ? c : {}) };
    s.depends_on = deps;
  }
  // what a service shares with another (namespaces, links, volumes_from) is an implicit dependency on it
  const implicit: Array<[string, boolean]> = [];
  for (const key of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
    const v = s[key];
    if (typeof v === 'string' && v.startsWith('service:')) implicit.push([v.slice(8), true]);
  }
  for (const l of toList(s.links)) implicit.push([l.split(':')[0], true]);
  for (const v of toList(s.volumes_from)) if (!v.startsWith('container:')) implicit.push([v.split(':')[0], false]);
  if (implicit.length) {
    const deps = (s.depends_on ?? {}) as Obj;
    for (const [d, restart] of implicit) if (!(d in deps)) deps[d] = { condition: 'service_started', required: true, restart };
    s.depends_on = deps;
  }
  if (s.network_mode === undefined) {
    if (s.networks === undefined) s.networks = { default: null };
    else if (Array.isArray(s.networks)) s.networks = Object.fromEntries(s.networks.map((n) => [String(n), null]));
    else {
      const nets: Obj = {};
      for (const [k, v] of Object.entries(s.networks as Obj)) {
        if (isObj(v)) {
          const e = { ...v };
          if (e.aliases !== undefined) e.aliases = toList(e.aliases);
          nets[k] = e;
        } else nets[k] = null;
      }
      s.networks = nets;
    }
  }
  if (isObj(s.healthcheck)) {
    const h = { ...s.healthcheck } as Obj;
    if (typeof h.test === 'string') h.test = ['CMD-SHELL', h.test];
    s.healthcheck = h;
  }
  if (isObj(s.ulimits)) {
    const u: Obj = {};
    // a single number stays one (it sets both limits), as compose prints it
    for (const [k, v] of Object.entries(s.ulimits)) u[k] = v;
    s.ulimits = u;
  }
  for (const key of ['secrets', 'configs'] as const) {
    if (s[key] !== undefined) s[key] = toArray(s[key]).map((x) => (typeof x === 'string' ? { source: x } : x));
  }
  if (isObj(s.logging) && s.logging.options !== undefined) s.logging = { ...s.logging, options: toMapping(s.logging.options) };
  if (isObj(s.deploy) && (s.deploy as Obj).labels !== undefined) s.deploy = { ...(s.deploy as Obj), labels: toMapping((s.deploy as Obj).labels) };
  if (s.scale !== undefined && isObj(s.deploy) && (s.deploy as Obj).replicas !== undefined && (s.deploy as Obj).replicas !== s.scale) {
    throw new NormalizeError(`services.${name}: can't set distinct values on 'scale' and 'deploy.replicas'`);
  }
  if (s.extends !== undefined) delete s.extends;
  return s as unknown as ServiceConfig;
}
