// Loads a compose project the way Docker Compose v2 does: which files (-f, COMPOSE_FILE, or compose.yaml and its
// override found in the working directory or a parent), the project directory, the environment (process env over
// the .env / --env-file files), the project name (-p, COMPOSE_PROJECT_NAME, `name:`, the directory's name), then
// per file: parse → interpolate → schema-validate → include → extends; then the files merge in order, unicity is
// enforced, the model is normalised, profiles applied and the references between objects checked.
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import { parseYaml, YamlFile, ComposeFileError, Tagged } from './yaml';
import { interpolateTree } from './interpolate';
import { validateSchema } from './schema';
import { merge, enforceUnicity, strip, splitVolumeSpec } from './merge';
import { normalizeProject } from './normalize';
import { parseDotenv } from './dotenv';
import type { Project, ServiceConfig } from './types';
import { checkCycles } from './graph';
import { substitute } from './template';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Tagged);

export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const DEFAULT_OVERRIDES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

/** Any loading failure; the message is what compose prints. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

export interface LoadOptions {
  /** -f values (`-` = stdin); empty: COMPOSE_FILE or the default names. */
  files?: string[];
  projectDirectory?: string;
  projectName?: string;
  envFiles?: string[];
  profiles?: string[];
  /** Services named on the command line: enabled (with their dependencies) whatever their profiles. */
  enableServices?: string[];
  /** The process environment (default: process.env). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** false: `config --no-interpolate` (values kept as written; no schema casts). */
  interpolate?: boolean;
  /** Reads stdin for `-f -`. */
  readStdin?: () => string;
  /** Receives compose's warnings ("The X variable is not set…"). */
  warn?: (msg: string) => void;
  /** Skip reference checks (config --no-consistency). */
  consistency?: boolean;
}

export interface ConfigFile { filename: string; content: string }

/** The compose files to load, absolute (stdin as "-"), and the directory they are relative to. */
export function resolveFiles(opts: LoadOptions, env: Record<string, string | undefined>): { files: string[]; workingDir: string } {
  const cwd = opts.cwd ?? process.cwd();
  let files = opts.files?.length ? opts.files : [];
  if (!files.length && env.COMPOSE_FILE) {
    const sep = env.COMPOSE_PATH_SEPARATOR || (process.platform === 'win32' ? ';' : ':');
    files = env.COMPOSE_FILE.split(sep).filter(Boolean);
  }
  if (files.length) {
    const abs = files.map((f) => (f === '-' ? '-' : path.resolve(cwd, f)));
    const first = abs.find((f) => f !== '-');
    const workingDir = opts.projectDirectory ? path.resolve(cwd, opts.projectDirectory) : first && abs[0] !== '-' ? path.dirname(first) : cwd;
    return { files: abs, workingDir };
  }
  const start = opts.projectDirectory ? path.resolve(cwd, opts.projectDirectory) : cwd;
  for (let dir = start; ; dir = path.dirname(dir)) {
    const found = DEFAULT_FILES.filter((n) => fs.existsSync(path.join(dir, n)));
    if (found.length) {
      if (found.length > 1) {
        opts.warn?.(`Found multiple config files with supported names: ${found.map((f) => path.join(dir, f)).join(', ')}`);
        opts.warn?.(`Using ${path.join(dir, found[0])}`);
      }
      const out = [path.join(dir, found[0])];
      const ov = DEFAULT_OVERRIDES.filter((n) => fs.existsSync(path.join(dir, n)));
      if (ov.length) out.push(path.join(dir, ov[0]));
      return { files: out, workingDir: opts.projectDirectory ? start : dir };
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new LoadError('no configuration file provided: not found');
}

/** compose-go's NormalizeProjectName: lower case, only [a-z0-9_-], no leading - or _. */
export function normalizeProjectName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[-_]+/, '');
}

const invalidName = (v: string) => new LoadError(`invalid project name ${JSON.stringify(v)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`);

/** Reads env files (later ones win; each may use the variables of the process and of the ones before). */
export function readEnvFiles(files: string[], processEnv: Record<string, string | undefined>, required: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    let text: string;
    try {
      const st = fs.statSync(f);
      if (st.isDirectory()) throw new LoadError(`${f} is a directory`);
      text = fs.readFileSync(f, 'utf8');
    } catch (err) {
      if (err instanceof LoadError) throw err;
      if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new LoadError(`couldn't find env file: ${f}`);
    }
    try {
      Object.assign(out, parseDotenv(text, (k) => processEnv[k] ?? out[k]));
    } catch (err) {
      throw new LoadError(`failed to read ${f}: ${(err as Error).message}`);
    }
  }
  return out;
}

interface Ctx {
  opts: LoadOptions;
  lookup: (k: string) => string | undefined;
  warned: Set<string>;
  home: string;
}

/** Loads and normalises the project. */
export function loadProject(opts: LoadOptions = {}): Project {
  const processEnv = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  // The .env of the project directory (or the working directory when -f points elsewhere) can set COMPOSE_FILE.
  const preDir = opts.projectDirectory ? path.resolve(cwd, opts.projectDirectory) : cwd;
  const preEnv = opts.envFiles?.length ? {} : readEnvFiles([path.join(preDir, '.env')], processEnv, false);
  const { files, workingDir } = resolveFiles(opts, { ...preEnv, ...processEnv });
  const envFiles = opts.envFiles?.length ? opts.envFiles.map((f) => path.resolve(cwd, f)) : [path.join(workingDir, '.env')];
  const fileEnv = readEnvFiles(envFiles, processEnv, !!opts.envFiles?.length);
  const environment: Record<string, string> = { ...fileEnv };
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) environment[k] = v;
  const interpolate = opts.interpolate !== false;
  const ctx: Ctx = {
    opts,
    lookup: (k) => environment[k],
    warned: new Set(),
    home: environment.HOME || os.homedir(),
  };

  const configs: ConfigFile[] = files.map((f) => {
    if (f === '-') return { filename: '-', content: opts.readStdin ? opts.readStdin() : fs.readFileSync(0, 'utf8') };
    try {
      return { filename: f, content: fs.readFileSync(f, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new LoadError(`open ${f}: no such file or directory`);
      if (code === 'EISDIR') throw new LoadError(`read ${f}: is a directory`);
      throw new LoadError(`failed to read ${f}: ${(err as Error).message}`);
    }
  });

  // project name: -p, COMPOSE_PROJECT_NAME, the files' `name:`, the project directory's name
  let name = '';
  if (opts.projectName) {
    if (normalizeProjectName(opts.projectName) !== opts.projectName) throw invalidName(opts.projectName);
    name = opts.projectName;
  } else if (environment.COMPOSE_PROJECT_NAME) {
    name = normalizeProjectName(environment.COMPOSE_PROJECT_NAME);
  }

  let merged: unknown = {};
  // the name is settled before interpolation, so files can use ${COMPOSE_PROJECT_NAME} (as compose-go does)
  if (!name) {
    for (const c of configs) {
      const raw = parseFile(c).value;
      if (!isObj(raw) || typeof raw.name !== 'string' || !raw.name) continue;
      try {
        name = normalizeProjectName(interpolate ? substitute(raw.name, ctx.lookup) : raw.name);
      } catch (err) {
        throw new LoadError(`error while interpolating name: ${(err as Error).message}`);
      }
    }
  }
  if (!name) name = normalizeProjectName(path.basename(workingDir));
  if (!name) throw new LoadError('project name must not be empty');
  environment.COMPOSE_PROJECT_NAME = name;
  const parsed = configs.map((c) => loadFile(c, ctx, interpolate, workingDir, [], true));
  for (const [i, p] of parsed.entries()) {
    try {
      merged = i === 0 ? strip(p) : merge(merged, p);
    } catch (err) {
      throw new LoadError(`merging ${configs[i].filename}: ${(err as Error).message}`);
    }
  }
  let tree = enforceUnicity(strip(merged) ?? {}) as Obj;
  if (!isObj(tree)) tree = {};

  let project: Project;
  try {
    project = normalizeProject(tree, {
      projectName: name, workingDir, home: ctx.home,
      lookupEnv: interpolate ? (k) => environment[k] : undefined,
      parseEnvFile: (text, file) => {
        try {
          return parseDotenv(text, (k) => environment[k]);
        } catch (err) {
          throw new LoadError(`failed to read ${file}: ${(err as Error).message}`);
        }
      },
    });
  } catch (err) {
    throw new LoadError((err as Error).message);
  }
  project.configFiles = files;
  project.envFiles = envFiles.filter((f) => fs.existsSync(f));
  project.environment = environment;
  applyProfiles(project, profilesOf(opts, environment), opts.enableServices ?? []);
  if (opts.consistency !== false) checkProject(project);
  return project;
}

function profilesOf(opts: LoadOptions, env: Record<string, string>): string[] {
  if (opts.profiles?.length) return opts.profiles.flatMap((p) => p.split(',')).filter(Boolean);
  return (env.COMPOSE_PROFILES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Parses, interpolates and validates one file, then resolves its include and extends entries. */
function parseFile(c: ConfigFile): YamlFile {
  try {
    return parseYaml(c.content, c.filename);
  } catch (err) {
    if (err instanceof ComposeFileError) throw new LoadError(err.message);
    throw err;
  }
}

function loadFile(c: ConfigFile, ctx: Ctx, interpolate: boolean, workingDir: string, includeChain: string[], top: boolean): Obj {
  const displayName = c.filename;
  const y = parseFile(c);
  let value = y.value;
  if (value === null || value === undefined) value = {};
  if (!isObj(value)) throw new LoadError(`validating ${displayName}: Top-level object must be a mapping`);
  if (interpolate) {
    try {
      value = interpolateTree(value, ctx.lookup, {
        onUnset: (n) => {
          if (ctx.warned.has(n)) return;
          ctx.warned.add(n);
          ctx.opts.warn?.(`The "${n}" variable is not set. Defaulting to a blank string.`);
        },
      });
    } catch (err) {
      throw new LoadError((err as Error).message);
    }
  }
  if (interpolate) {
    try {
      validateSchema(strip(value), displayName, y.positions);
    } catch (err) {
      throw new LoadError((err as Error).message);
    }
  }
  const dir = c.filename === '-' ? workingDir : path.dirname(c.filename);
  let doc = value as Obj;
  if (Array.isArray(doc.include)) doc = applyIncludes(doc, ctx, interpolate, dir, [...includeChain, c.filename]);
  if (isObj(doc.services)) doc = { ...doc, services: resolveExtends(doc.services as Obj, c.filename, dir, ctx, interpolate, top ? workingDir : dir) };
  return doc;
}

// -------------------------------------------------------------------------------------------------- include

function applyIncludes(doc: Obj, ctx: Ctx, interpolate: boolean, dir: string, chain: string[]): Obj {
  const out: Obj = { ...doc };
  delete out.include;
  for (const entry of doc.include as unknown[]) {
    const spec = typeof entry === 'string' ? { path: [entry] } : entry as Obj;
    const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map((p) => path.resolve(dir, String(p)));
    const projectDir = spec.project_directory ? path.resolve(dir, String(spec.project_directory)) : path.dirname(paths[0]);
    for (const p of paths) {
      if (chain.includes(p)) throw new LoadError(`include cycle detected:\n${chain[0]}\n include ${[...chain.slice(1), p].join('\n include ')}`);
    }
    // an included project has its own .env (or the env_file given) for its interpolation; the parent's variables win
    const envFiles = spec.env_file ? (Array.isArray(spec.env_file) ? spec.env_file : [spec.env_file]).map((f) => path.resolve(dir, String(f))) : [path.join(projectDir, '.env')];
    const incEnv = readEnvFiles(envFiles, {}, !!spec.env_file);
    const parentLookup = ctx.lookup;
    const sub: Ctx = { ...ctx, lookup: (k) => parentLookup(k) ?? incEnv[k] };
    let included: unknown = {};
    for (const [i, p] of paths.entries()) {
      let content: string;
      try { content = fs.readFileSync(p, 'utf8'); } catch { throw new LoadError(`open ${p}: no such file or directory`); }
      const f = loadFile({ filename: p, content }, sub, interpolate, projectDir, chain, false);
      included = i === 0 ? f : merge(included, f);
    }
    const inc = rebaseTree(strip(included) as Obj, projectDir);
    for (const key of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
      const mine = isObj(out[key]) ? out[key] as Obj : {};
      const theirs = isObj(inc[key]) ? inc[key] as Obj : {};
      for (const [name, v] of Object.entries(theirs)) {
        if (name in mine) {
          if (JSON.stringify(mine[name]) === JSON.stringify(v)) continue;
          throw new LoadError(`imported compose file ${paths[0]} defines conflicting ${key.replace(/s$/, '')} ${name}`);
        }
        mine[name] = v;
      }
      if (Object.keys(mine).length) out[key] = mine;
    }
  }
  return out;
}

/** Makes the relative paths of a tree absolute against `dir` (for included files and extends across files). */
function rebaseTree(tree: Obj, dir: string): Obj {
  const out = { ...tree };
  if (isObj(out.services)) {
    const s: Obj = {};
    for (const [k, v] of Object.entries(out.services)) s[k] = isObj(v) ? rebaseService(v, dir) : v;
    out.services = s;
  }
  for (const key of ['secrets', 'configs']) {
    if (!isObj(out[key])) continue;
    const m: Obj = {};
    for (const [k, v] of Object.entries(out[key] as Obj)) m[k] = isObj(v) && typeof v.file === 'string' ? { ...v, file: path.resolve(dir, v.file) } : v;
    out[key] = m;
  }
  return out;
}

const relative = (p: string) => !p.startsWith('/') && !p.startsWith('~') && !/^[a-z]+:\/\//.test(p);

function rebaseService(s: Obj, dir: string): Obj {
  const out = { ...s };
  if (typeof out.build === 'string') out.build = relative(out.build) ? path.resolve(dir, out.build) : out.build;
  else if (isObj(out.build)) {
    const ctxPath = String(out.build.context ?? '.');
    out.build = { ...out.build, context: relative(ctxPath) ? path.resolve(dir, ctxPath) : ctxPath };
  }
  if (out.env_file !== undefined) {
    out.env_file = (Array.isArray(out.env_file) ? out.env_file : [out.env_file]).map((e) => {
      if (typeof e === 'string') return relative(e) ? path.resolve(dir, e) : e;
      if (isObj(e) && typeof e.path === 'string') return { ...e, path: relative(e.path) ? path.resolve(dir, e.path) : e.path };
      return e;
    });
  }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (typeof v === 'string') {
        const parts = splitVolumeSpec(v);
        if (parts.length > 1 && parts[0].startsWith('.')) return [path.resolve(dir, parts[0]), ...parts.slice(1)].join(':');
        return v;
      }
      if (isObj(v) && v.type === 'bind' && typeof v.source === 'string' && v.source.startsWith('.')) return { ...v, source: path.resolve(dir, v.source) };
      return v;
    });
  }
  return out;
}

// -------------------------------------------------------------------------------------------------- extends

function resolveExtends(services: Obj, filename: string, dir: string, ctx: Ctx, interpolate: boolean, workingDir: string): Obj {
  const out: Obj = {};
  const cache = new Map<string, Obj>();
  const resolve = (name: string, chain: string[]): Obj => {
    const key = `${filename}#${name}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const raw = services[name];
    if (!isObj(raw)) return raw as Obj;
    const r = extendOne(raw, name, filename, dir, services, ctx, interpolate, workingDir, [...chain, key], resolve);
    cache.set(key, r);
    return r;
  };
  for (const name of Object.keys(services)) out[name] = resolve(name, []);
  return out;
}

type Resolver = (name: string, chain: string[]) => Obj;

function extendOne(svc: Obj, name: string, filename: string, dir: string, services: Obj, ctx: Ctx, interpolate: boolean, workingDir: string, chain: string[], resolveLocal: Resolver): Obj {
  const ext = svc.extends;
  if (ext === undefined) return svc;
  const spec = typeof ext === 'string' ? { service: ext } : ext as Obj;
  const baseName = String(spec.service);
  let base: Obj;
  if (spec.file) {
    const file = path.resolve(dir, String(spec.file));
    const key = `${file}#${baseName}`;
    if (chain.includes(key)) throw new LoadError(`Circular reference with extends: ${[...chain, key].join(' -> ')}`);
    let content: string;
    try { content = fs.readFileSync(file, 'utf8'); } catch { throw new LoadError(`open ${file}: no such file or directory`); }
    const other = loadFile({ filename: file, content }, ctx, interpolate, path.dirname(file), [], false);
    const otherServices = isObj(other.services) ? other.services : {};
    if (!isObj(otherServices[baseName])) throw new LoadError(`cannot extend service "${name}" in ${filename}: service "${baseName}" not found in ${file}`);
    base = rebaseService(otherServices[baseName] as Obj, path.dirname(file));
  } else {
    const key = `${filename}#${baseName}`;
    if (chain.includes(key)) throw new LoadError(`Circular reference with extends: ${[...chain, key].join(' -> ')}`);
    if (!isObj(services[baseName])) throw new LoadError(`cannot extend service "${name}" in ${filename}: service "${baseName}" not found`);
    base = resolveLocal(baseName, chain);
  }
  const child = { ...svc };
  delete child.extends;
  const b = { ...base };
  delete b.extends;
  // what the spec says an extending service never inherits
  delete b.depends_on;
  const m = merge({ services: { [name]: b } }, { services: { [name]: child } }) as Obj;
  return (m.services as Obj)[name] as Obj;
}

// ------------------------------------------------------------------------------------------------- profiles

function applyProfiles(project: Project, profiles: string[], enable: string[]): void {
  const all = profiles.includes('*');
  const active = (s: ServiceConfig) => !s.profiles?.length || all || s.profiles.some((p) => profiles.includes(p));
  const enabled = new Set(Object.keys(project.services).filter((n) => active(project.services[n])));
  // services named on the command line, and what they need, are enabled whatever their profiles
  const stack = enable.filter((n) => n in project.services);
  while (stack.length) {
    const n = stack.pop()!;
    if (enabled.has(n) && !enable.includes(n)) continue;
    enabled.add(n);
    for (const [d, c] of Object.entries(project.services[n].depends_on ?? {})) if (c.required !== false && d in project.services && !enabled.has(d)) stack.push(d);
  }
  for (const n of Object.keys(project.services)) {
    if (enabled.has(n)) continue;
    project.disabled[n] = project.services[n];
    delete project.services[n];
  }
  // the networks and volumes only disabled services used are still declared (compose keeps them), nothing to do
}

// ---------------------------------------------------------------------------------------------- consistency

/** The references between objects: depends_on, networks, volumes, secrets, configs; container_name vs scale; cycles. */
export function checkProject(p: Project): void {
  for (const [name, s] of Object.entries(p.services)) {
    for (const [dep, c] of Object.entries(s.depends_on ?? {})) {
      if (dep in p.services) continue;
      if (dep in p.disabled) {
        if (c.required === false) continue;
        throw new LoadError(`service ${JSON.stringify(dep)} is required by ${JSON.stringify(name)} but is disabled. Can be enabled by profiles [${(p.disabled[dep].profiles ?? []).join(' ')}]`);
      }
      if (c.required === false) continue;
      throw new LoadError(`service ${JSON.stringify(name)} depends on undefined service ${JSON.stringify(dep)}: invalid compose project`);
    }
    for (const n of Object.keys(s.networks ?? {})) {
      if (!(n in p.networks)) throw new LoadError(`service ${JSON.stringify(name)} refers to undefined network ${n}: invalid compose project`);
    }
    for (const v of s.volumes ?? []) {
      if (v.type === 'volume' && v.source && !(v.source in p.volumes)) throw new LoadError(`service ${JSON.stringify(name)} refers to undefined volume ${v.source}: invalid compose project`);
    }
    for (const sec of s.secrets ?? []) if (!(sec.source in p.secrets)) throw new LoadError(`service ${JSON.stringify(name)} refers to undefined secret ${sec.source}: invalid compose project`);
    for (const cfg of s.configs ?? []) if (!(cfg.source in p.configs)) throw new LoadError(`service ${JSON.stringify(name)} refers to undefined config ${cfg.source}: invalid compose project`);
    const scale = s.scale ?? s.deploy?.replicas ?? 1;
    if (s.container_name && scale > 1) {
      throw new LoadError(`services.${name}: can't set container_name and ${name} as container name must be unique: invalid compose project`);
    }
    const nm = s.network_mode;
    if (nm?.startsWith('service:') && !(nm.slice(8) in p.services)) {
      throw new LoadError(`service ${JSON.stringify(name)} refers to undefined service ${nm.slice(8)}: invalid compose project`);
    }
  }
  try {
    checkCycles(p.services);
  } catch (err) {
    throw new LoadError((err as Error).message);
  }
}
