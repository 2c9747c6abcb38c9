// What a container mounts, decided at create time from HostConfig.VolumesFrom, Binds (`-v`), Mounts (`--mount`),
// Tmpfs (`--tmpfs`) and Config.Volumes (anonymous volumes), in docker's precedence and with its validation texts.
// Pure: no I/O. The engine then creates the volumes (mounts.ts) and, at start, turns the result into OCI mounts.
import { randomBytes } from 'crypto';
import * as path from 'path';
import { invalidParameter, notFound } from '../../common/errors';
import type { MountPoint } from './types';

/** An entry of HostConfig.Mounts, as the API defines it (the fields berth reads). */
export interface MountSpec {
  Type?: string; Source?: string; Target?: string; ReadOnly?: boolean; Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null; Subpath?: string } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
  ImageOptions?: unknown;
}

/** A mount point before its volume exists: what to create it with, and whether it must exist already. */
export interface PlannedMount extends MountPoint {
  /** driver options and labels for a volume created by this mount (--mount volume-opt=…, volume-label=…) */
  create?: { driverOpts?: Record<string, string> | null; labels?: Record<string, string> | null; driver?: string };
  /** from --volumes-from: the volume must exist, it is not created */
  inherited?: boolean;
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
export const DEFAULT_PROPAGATION = 'rprivate';

/** path.Clean for container paths: `..` resolved, duplicate and trailing slashes gone. */
export function cleanPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

const invalidSpec = (raw: string) => invalidParameter(`invalid volume specification: '${raw}'`);

/** The mode part of `-v src:dst:mode`: at most one of each kind (rw/ro, z/Z, propagation, nocopy, consistency). */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = { rw: 0, label: 0, prop: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') counts.rw++;
    else if (o === 'z' || o === 'Z') counts.label++;
    else if (PROPAGATIONS.includes(o)) counts.prop++;
    else if (o === 'nocopy') counts.copy++;
    else if (o === 'consistent' || o === 'cached' || o === 'delegated') counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

export const readWrite = (mode: string) => validMountMode(mode) && !mode.split(',').includes('ro');
const propagationOf = (mode: string) => mode.split(',').find((o) => PROPAGATIONS.includes(o));

class MountConfigError extends Error {}

function mountConfigError(type: string | undefined, why: string) {
  return invalidParameter(`invalid mount config for type ${JSON.stringify(type ?? '')}: ${why}`);
}

function checkTarget(target: string): string | undefined {
  if (target === '') return 'field Target must not be empty';
  if (cleanPath(target) === '/') return "invalid specification: destination can't be '/'";
  if (!target.startsWith('/')) return `invalid mount path: '${target}' mount path must be absolute`;
  return undefined;
}

/** Checks an API Mount the way docker's linux parser does; `bindMustExist` is checked later, with I/O. */
function validateMount(m: MountSpec): void {
  const fail = (why: string) => { throw mountConfigError(m.Type, why); };
  const target = m.Target ?? '';
  const t = checkTarget(target);
  if (t) fail(t);
  const source = m.Source ?? '';
  switch (m.Type) {
    case 'bind': {
      if (source === '') fail('field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATIONS.includes(prop)) fail(`invalid propagation mode: ${prop}`);
      if (m.VolumeOptions) fail('field VolumeOptions must not be specified');
      if (m.TmpfsOptions) fail('field TmpfsOptions must not be specified');
      if (!source.startsWith('/')) fail(`invalid mount path: '${source}' mount path must be absolute`);
      if (m.BindOptions?.ReadOnlyNonRecursive && m.BindOptions.ReadOnlyForceRecursive) fail('cannot set both ReadOnlyNonRecursive and ReadOnlyForceRecursive');
      if ((m.BindOptions?.ReadOnlyNonRecursive || m.BindOptions?.ReadOnlyForceRecursive) && !m.ReadOnly) fail('must set ReadOnly when setting ReadOnlyNonRecursive or ReadOnlyForceRecursive');
      break;
    }
    case 'volume': {
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (m.TmpfsOptions) fail('field TmpfsOptions must not be specified');
      const sub = m.VolumeOptions?.Subpath;
      if (sub) {
        if (source === '') fail('must not set Subpath when using anonymous volumes');
        const clean = path.posix.normalize(sub);
        if (sub.startsWith('/') || clean === '..' || clean.startsWith('../')) fail('subpath must be a relative path within the volume');
      }
      if (m.ReadOnly && source === '') fail('must not set ReadOnly mode when using anonymous volumes');
      break;
    }
    case 'tmpfs':
      if (m.BindOptions) fail('field BindOptions must not be specified');
      if (m.VolumeOptions) fail('field VolumeOptions must not be specified');
      if (source !== '') fail('field Source must not be specified');
      try { mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', DEFAULT_PROPAGATION, ...splitData(tmpfsData(m.TmpfsOptions, !!m.ReadOnly))]); } catch (e) { fail((e as Error).message); }
      break;
    case 'image':
      fail('image mounts are not supported by berth');
      break;
    default:
      fail('mount type unknown');
  }
}

const anonymousName = () => randomBytes(32).toString('hex');

/** One `HostConfig.Mounts` entry → a mount point. */
export function parseMount(raw: unknown): PlannedMount {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidParameter('json: cannot unmarshal into Go struct field HostConfig.Mounts of type mount.Mount');
  const m = raw as MountSpec;
  for (const k of ['Type', 'Source', 'Target'] as const) {
    if (m[k] !== undefined && typeof m[k] !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof m[k]} into Go struct field Mount.HostConfig.Mounts.${k} of type string`);
  }
  validateMount(m);
  const mp: PlannedMount = { Type: m.Type as MountPoint['Type'], Destination: cleanPath(m.Target!), Source: '', Mode: '', RW: !m.ReadOnly, Propagation: '' };
  if (m.Type === 'volume') {
    const v = m.VolumeOptions;
    mp.Name = m.Source || anonymousName();
    if (!m.Source) mp.Anonymous = true;
    mp.CopyData = !v?.NoCopy;
    if (v?.Subpath) mp.Subpath = path.posix.normalize(v.Subpath);
    mp.create = { driver: v?.DriverConfig?.Name || undefined, driverOpts: v?.DriverConfig?.Options ?? null, labels: v?.Labels ?? null };
    mp.Mode = 'z'; // docker's mode for local volumes that name none
  } else if (m.Type === 'bind') {
    mp.Source = cleanPath(m.Source!);
    mp.Propagation = m.BindOptions?.Propagation || DEFAULT_PROPAGATION;
    mp.MustExist = !m.BindOptions?.CreateMountpoint;
    mp.CreateSource = !!m.BindOptions?.CreateMountpoint;
    if (m.BindOptions?.NonRecursive) mp.NonRecursive = true;
    if (m.BindOptions?.ReadOnlyNonRecursive) mp.ReadOnlyNonRecursive = true;
  } else {
    mp.Data = tmpfsData(m.TmpfsOptions, !!m.ReadOnly);
  }
  return mp;
}

/** One `HostConfig.Binds` entry (`-v`): `name:/dst[:mode]`, `/host:/dst[:mode]` or `/dst`. */
export function parseBind(raw: string, volumeDriver = ''): PlannedMount {
  if (typeof raw !== 'string' || (raw.match(/:/g)?.length ?? 0) > 2) throw invalidSpec(String(raw));
  const arr = raw.split(':');
  if (arr[0] === '') throw invalidSpec(raw);
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) target = arr[0];
  else if (arr.length === 2) {
    if (validMountMode(arr[1])) throw invalidSpec(raw); // "/dst:ro": a volume cannot have a mode without a source
    [source, target] = arr;
  } else [source, target, mode] = arr;
  if (!validMountMode(mode)) throw invalidParameter(`invalid mode: ${mode}`);
  const isBind = source.startsWith('/');
  const prop = propagationOf(mode);
  const opts = mode.split(',');
  const wrap = (why: string) => invalidParameter(`invalid volume specification: '${raw}': invalid mount config for type "${isBind ? 'bind' : 'volume'}": ${why}`);
  const t = checkTarget(target);
  if (t) throw wrap(t);
  if (!isBind && prop) throw wrap('field BindOptions must not be specified');
  const mp: PlannedMount = { Type: isBind ? 'bind' : 'volume', Destination: cleanPath(target), Source: '', Mode: mode, RW: readWrite(mode), Propagation: '' };
  if (isBind) {
    mp.Source = cleanPath(source);
    mp.Propagation = prop ?? DEFAULT_PROPAGATION;
    mp.CreateSource = true; // -v creates a missing host path, --mount refuses it
  } else {
    mp.Name = source || anonymousName();
    if (!source) mp.Anonymous = true;
    mp.CopyData = !opts.includes('nocopy');
    mp.create = { driver: volumeDriver || undefined };
    if (mp.Mode === '') mp.Mode = 'z';
  }
  return mp;
}

/** `--volumes-from container[:ro|rw]`. */
export function parseVolumesFrom(spec: string): { id: string; mode: string } {
  if (!spec) throw invalidParameter('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  if (i < 0) return { id: spec, mode: 'rw' };
  const mode = spec.slice(i + 1);
  // propagation and copy modes belong to the original mount, not to its borrower
  if (!validMountMode(mode) || propagationOf(mode) || mode.split(',').includes('nocopy')) throw invalidParameter(`invalid mode: ${mode}`);
  return { id: spec.slice(0, i), mode };
}

/** A `--tmpfs` destination. */
export function checkTmpfsDestination(dest: string): void {
  if (cleanPath(dest) === '/') throw invalidParameter("invalid specification: destination can't be '/'");
  if (!dest.startsWith('/')) throw invalidParameter(`invalid mount path: '${dest}' mount path must be absolute`);
}

// mount flags (by their mount(2) bit; the propagation modes share one slot) and the tmpfs data options allowed
const FLAG_BITS: Record<string, number> = {
  ro: 1, rw: 1, suid: 2, nosuid: 2, dev: 4, nodev: 4, exec: 8, noexec: 8, sync: 16, async: 16, remount: 32, mand: 64, nomand: 64,
  dirsync: 128, atime: 1024, noatime: 1024, diratime: 2048, nodiratime: 2048, bind: 4096, rbind: 4096 | 16384,
  relatime: 1 << 21, norelatime: 1 << 21, strictatime: 1 << 24, nostrictatime: 1 << 24,
  unbindable: -1, runbindable: -1, private: -1, rprivate: -1, shared: -1, rshared: -1, slave: -1, rslave: -1,
};
const TMPFS_DATA = ['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol'];

const splitData = (data: string) => (data ? data.split(',') : []);

/** Later options win over earlier ones of the same kind; unknown ones are refused (docker's MergeTmpfsOptions). */
export function mergeTmpfsOptions(options: string[]): string[] {
  const flags = new Set<number>();
  const data = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const o = options[i];
    if (o === 'defaults') continue;
    if (o in FLAG_BITS) {
      if (!flags.has(FLAG_BITS[o])) { out.unshift(o); flags.add(FLAG_BITS[o]); }
      continue;
    }
    const eq = o.indexOf('=');
    const kv = eq < 0 ? [o] : [o.slice(0, eq), o.slice(eq + 1)];
    if (kv.length !== 2 || !TMPFS_DATA.includes(kv[0])) throw new MountConfigError(`Invalid tmpfs option [${kv.map((x) => JSON.stringify(x)).join(' ')}]`);
    if (!data.has(kv[0])) { out.unshift(o); data.add(kv[0]); }
  }
  return out;
}

/** TmpfsOptions → mount data: ro, mode in octal, size with the largest unit that divides it. */
export function tmpfsData(opts: MountSpec['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opts?.Mode) raw.push(`mode=${opts.Mode.toString(8)}`);
  if (opts?.SizeBytes) {
    let size = opts.SizeBytes;
    let suffix = '';
    for (const [s, d] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) {
      if (size % d === 0) { size /= d; suffix = s; break; }
    }
    raw.push(`size=${size}${suffix}`);
  }
  for (const o of opts?.Options ?? []) {
    if (!Array.isArray(o) || o.length < 1 || o.length > 2) throw new MountConfigError('tmpfs options must be a list of one or two strings');
    raw.push(o.join('='));
  }
  return raw.join(',');
}

/** The OCI options of a tmpfs mount: docker's defaults, then the user's, merged. */
export function tmpfsMountOptions(data: string): string[] {
  try {
    return mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', DEFAULT_PROPAGATION, ...splitData(data)]);
  } catch (e) {
    throw invalidParameter((e as Error).message);
  }
}

export interface PlanInput {
  binds?: unknown; mounts?: unknown; tmpfs?: unknown; volumesFrom?: unknown; volumeDriver?: unknown;
  /** Config.Volumes after merging the image's: anonymous volumes where nothing else is mounted */
  volumes?: Record<string, unknown> | null;
  /** another container's mount points, by reference (--volumes-from); undefined when there is no such container */
  mountsOf(ref: string): MountPoint[] | undefined;
}

const listOf = (what: string, v: unknown): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidParameter(`json: cannot unmarshal into Go struct field HostConfig.${what} of type []string`);
  return v;
};

/**
 * Every mount point of a new container, in docker's precedence: volumes from other containers, then -v binds, then
 * --mount (a later destination replaces an earlier one, except that -v and --mount may not repeat one, nor -v use a
 * --tmpfs destination), then anonymous volumes for Config.Volumes not otherwise mounted.
 */
export function planMounts(input: PlanInput): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  const explicit = new Set<string>();
  const set = (mp: PlannedMount) => { byDest.delete(mp.Destination); byDest.set(mp.Destination, mp); };
  const dup = (dest: string) => invalidParameter(`Duplicate mount point: ${dest}`);
  const tmpfs = input.tmpfs ?? {};
  if (typeof tmpfs !== 'object' || Array.isArray(tmpfs)) throw invalidParameter('json: cannot unmarshal into Go struct field HostConfig.Tmpfs of type map[string]string');
  for (const [dest, opts] of Object.entries(tmpfs as Record<string, unknown>)) {
    checkTmpfsDestination(dest);
    if (typeof opts !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof opts} into Go struct field HostConfig.Tmpfs of type string`);
    tmpfsMountOptions(opts);
  }
  const driver = typeof input.volumeDriver === 'string' ? input.volumeDriver : '';

  for (const spec of listOf('VolumesFrom', input.volumesFrom)) {
    const { id, mode } = parseVolumesFrom(spec);
    const theirs = input.mountsOf(id);
    if (!theirs) throw invalidParameter(notFound(`No such container: ${id}`).message);
    for (const m of theirs) {
      // a borrowed mount keeps the original's kind and source; its mode and copy-up stay with the lender
      const { CopyData: _c, Mode: _m, ...rest } = m;
      set({ ...rest, Mode: '', RW: m.RW && readWrite(mode), inherited: m.Type === 'volume' });
    }
  }
  for (const raw of listOf('Binds', input.binds)) {
    const mp = parseBind(raw, driver);
    if (explicit.has(mp.Destination) || Object.prototype.hasOwnProperty.call(tmpfs, mp.Destination)) throw dup(mp.Destination);
    explicit.add(mp.Destination);
    set(mp);
  }
  const mounts = input.mounts ?? [];
  if (!Array.isArray(mounts)) throw invalidParameter('json: cannot unmarshal into Go struct field HostConfig.Mounts of type []mount.Mount');
  for (const raw of mounts) {
    const mp = parseMount(raw);
    if (explicit.has(mp.Destination)) throw dup((raw as MountSpec).Target ?? mp.Destination);
    explicit.add(mp.Destination);
    set(mp);
  }
  for (const dest of Object.keys(input.volumes ?? {})) {
    const d = cleanPath(dest.startsWith('/') ? dest : `/${dest}`);
    if (d === '/') throw invalidParameter("invalid specification: destination can't be '/'");
    if (byDest.has(d) || Object.prototype.hasOwnProperty.call(tmpfs, d)) continue;
    set({ Type: 'volume', Destination: d, Source: '', Name: anonymousName(), Anonymous: true, Mode: '', RW: true, Propagation: '', CopyData: true, create: { driver: driver || undefined } });
  }
  for (const dest of [...byDest.keys(), ...Object.keys(tmpfs).map(cleanPath)]) checkProcDestination(dest, byDest.get(dest)?.Type);
  return [...byDest.values()];
}

/** /proc files a bind mount may cover, as runc allows them (lxcfs serves its own views of these). */
const PROC_BIND_ALLOWED = new Set(['/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime', '/proc/loadavg', '/proc/slabinfo']);

/**
 * CVE-2019-16884 (and an image's `VOLUME /proc`): a mount on /proc or inside it replaces the runtime's procfs or
 * hides what the runtime masks and makes read-only there (/proc/sys, /proc/sysrq-trigger, /proc/kcore). runc refuses
 * them at start; we refuse them at create, with the destination named — only binds on the few files lxcfs serves
 * are allowed, as runc allows them.
 */
function checkProcDestination(dest: string, type: string | undefined): void {
  if (dest !== '/proc' && !dest.startsWith('/proc/')) return;
  if (type === 'bind' && PROC_BIND_ALLOWED.has(dest)) return;
  throw invalidParameter(`invalid mount config: destination ${dest} is inside /proc, where no volume or mount is allowed`);
}
