// Docker's rules for the path of an archive request, and their answers: the cleaned absolute path that keeps a
// trailing "/" or "/." (both assert a directory and make a final symlink be followed), the name the archive's
// entries start with, the X-Docker-Container-Path-Stat header (Go's os.FileMode bits, RFC 3339 times with
// nanoseconds) and the confined resolution of such a path in a view (async, for request handlers).
import * as fs from 'fs';
import { promises as fsp, BigIntStats } from 'fs';
import { promisify } from 'util';
import * as path from 'path';
import { at, DIR_FLAGS, errCode, fdPath, joinRel, pathError, RootView, ViewMounts } from './archive-view';

/** Linux's limit of symlinks followed in one resolution. */
export const MAX_LINKS = 40;

/**
 * filepath.Join("/", p) that keeps what the cleaning drops and docker keeps: a trailing "/." ("copy the
 * directory's contents") and a trailing "/" ("must be a directory").
 */
export function cleanArchivePath(p: string): string {
  const cleaned = path.posix.normalize('/' + p);
  let out = cleaned.length > 1 ? cleaned.replace(/\/+$/, '') : cleaned;
  if (goBase(out) !== '.' && goBase(p) === '.') out = out === '/' ? '/.' : `${out}/.`;
  if (!out.endsWith('/') && p.endsWith('/')) out += '/';
  return out;
}

/** filepath.Base: the last element, trailing slashes ignored; "/" for the root. */
export function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** True when the path asserts a directory: it ends in "/" or its last element is ".". */
export const assertsDirectory = (p: string) => p.endsWith('/') || goBase(p) === '.';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

// Go's os.FileMode type bits (the top bits of a uint32).
export const GO_MODE_DIR = 2 ** 31;
export const GO_MODE_SYMLINK = 2 ** 27;
export const GO_MODE_DEVICE = 2 ** 26;
export const GO_MODE_NAMED_PIPE = 2 ** 25;
export const GO_MODE_SOCKET = 2 ** 24;
export const GO_MODE_SETUID = 2 ** 23;
export const GO_MODE_SETGID = 2 ** 22;
export const GO_MODE_CHAR_DEVICE = 2 ** 21;
export const GO_MODE_STICKY = 2 ** 20;
export const GO_MODE_IRREGULAR = 2 ** 19;

/** A stat mode (st_mode) as Go's os.FileMode, the `mode` of the stat header. Arithmetic, not bit operators:
 * the directory bit is 2^31, beyond JavaScript's signed 32-bit operators. */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & S_IFMT) {
    case S_IFDIR: m += GO_MODE_DIR; break;
    case S_IFLNK: m += GO_MODE_SYMLINK; break;
    case S_IFBLK: m += GO_MODE_DEVICE; break;
    case S_IFCHR: m += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE; break;
    case S_IFIFO: m += GO_MODE_NAMED_PIPE; break;
    case S_IFSOCK: m += GO_MODE_SOCKET; break;
  }
  if (mode & 0o4000) m += GO_MODE_SETUID;
  if (mode & 0o2000) m += GO_MODE_SETGID;
  if (mode & 0o1000) m += GO_MODE_STICKY;
  return m;
}

/** Whether a Go FileMode says directory (the CLI reads the header with this). */
export const goModeIsDir = (mode: number) => mode >= GO_MODE_DIR;

/** time.Time's JSON: RFC 3339 with nanoseconds, trailing zeros of the fraction dropped, in UTC. */
export function goTimeJson(ns: bigint): string {
  let sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) { frac += 1_000_000_000n; sec -= 1n; }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const digits = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${digits}Z`;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export function pathStat(name: string, st: BigIntStats, linkTarget = ''): PathStat {
  return { name, size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTimeJson(st.mtimeNs), linkTarget };
}

/** Go's json.Marshal escapes these for HTML safety; do the same so the header reads byte for byte alike. */
const goJson = (v: unknown) => JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The X-Docker-Container-Path-Stat header value. */
export const encodePathStat = (s: PathStat) => Buffer.from(goJson({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget })).toString('base64');

export function decodePathStat(header: string | undefined): PathStat | undefined {
  if (!header) return undefined;
  try {
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ resolution

export type Follow =
  /** lstat semantics: symlinks before the last element are followed, the last one only before "/" or "/.". */
  | 'parents'
  /** stat semantics (EvalSymlinks): every symlink, the last one too. */
  | 'all';

export interface Resolved {
  /** Relative path in the view of what the path names ('' for the root). */
  rel: string;
  /** Its lstat (bigint: the header wants nanoseconds). */
  st: BigIntStats;
  /** A host path naming exactly it (an entry of an open directory, or a mount's source); valid until close(). */
  path: string;
  /** Closes the directories held open. */
  close(): Promise<void>;
}

const openFd = promisify(fs.open);
const closeFd = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));
const enoent = (code: string) => Object.assign(new Error(code), { code });

/**
 * Resolves the container path `abs` (as cleanArchivePath returns it) inside `view` the way the kernel would in a
 * chroot of it: `..` stops at the root, symlinks resolve inside the view. Fails with PathError (ENOENT, ENOTDIR,
 * ELOOP) naming `abs`.
 */
export async function resolveInView(view: RootView, abs: string, follow: Follow): Promise<Resolved> {
  const r = await walk(view, abs, follow, false);
  if (!r.found) throw new Error('unreachable');
  return r.found;
}

/**
 * Where a symlink leads, fully resolved inside the view as far as it exists (moby's FollowSymlinkInScope): a
 * missing element ends the resolution and the rest is appended as written. Returns a container path.
 */
export async function linkTargetInView(view: RootView, abs: string): Promise<string> {
  const r = await walk(view, abs, 'all', true);
  if (r.found) {
    await r.found.close();
    return '/' + r.found.rel;
  }
  return '/' + r.missing!;
}

/** The walk behind both: directories opened one by one (see archive-view.ts), symlinks resolved by us. With
 * `lenient`, a missing element returns the path so far plus the rest as written instead of failing. */
async function walk(view: RootView, abs: string, follow: Follow, lenient: boolean): Promise<{ found?: Resolved; missing?: string }> {
  const mounts = new ViewMounts(view.mounts);
  const rootFd = await openFd(view.root, DIR_FLAGS).catch((err) => { throw pathError(err, 'open', '/'); });
  const stack: Array<{ rel: string; fd: number }> = [{ rel: '', fd: rootFd }];
  const closeAll = async () => { for (const f of stack.splice(0)) await closeFd(f.fd); };
  const queue = abs.split('/');
  let links = 0;
  try {
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      const top = stack[stack.length - 1];
      if (c === '..') {
        if (stack.length > 1) await closeFd(stack.pop()!.fd);
        continue;
      }
      const rel = joinRel(top.rel, c);
      const mount = mounts.pointAt(rel);
      const p = mount ? mount.source : at(top.fd, c);
      let st: BigIntStats;
      try {
        // a mount shows its source, whatever the source's own path is made of
        st = mount ? await fsp.stat(p, { bigint: true }) : await fsp.lstat(p, { bigint: true });
      } catch (err) {
        if (!lenient || (errCode(err) !== 'ENOENT' && errCode(err) !== 'ENOTDIR')) throw err;
        const parts = top.rel === '' ? [] : top.rel.split('/');
        parts.push(c);
        for (const rest of queue) {
          if (rest === '..') parts.pop();
          else if (rest !== '' && rest !== '.') parts.push(rest);
        }
        await closeAll();
        return { missing: parts.join('/') };
      }
      const last = queue.length === 0;
      if (st.isSymbolicLink() && (!last || follow === 'all')) {
        if (++links > MAX_LINKS) throw enoent('ELOOP');
        const target = await fsp.readlink(p);
        if (target.startsWith('/')) while (stack.length > 1) await closeFd(stack.pop()!.fd);
        queue.unshift(...target.split('/'));
        continue;
      }
      if (last) return { found: { rel, st, path: p, close: closeAll } };
      if (!st.isDirectory()) throw enoent('ENOTDIR');
      stack.push({ rel, fd: await openFd(p, mount ? DIR_FLAGS & ~fs.constants.O_NOFOLLOW : DIR_FLAGS) });
    }
    // The path ended in "/", "/." or was the root: it names the directory we are in.
    const top = stack[stack.length - 1];
    const st = await fsp.stat(fdPath(top.fd), { bigint: true });
    return { found: { rel: top.rel, st, path: fdPath(top.fd), close: closeAll } };
  } catch (err) {
    await closeAll();
    throw pathError(err, 'lstat', abs);
  }
}
