// Tar entries → an existing directory of a view, with docker's rules for `cp` (its archive.Untar): what exists
// at an entry's path is removed and replaced, unless a directory meets a directory (then the archive's owner and
// mode apply to it); with noOverwriteDirNonDir a directory never replaces a non-directory nor the other way
// round; missing parent directories are created (0755); owners are the archive's (or one owner for all, docker's
// copyUIDGID), modes and times (to the nanosecond) the archive's, directory times set last. An entry "." is the
// target itself and changes nothing.
//
// Safety, stronger than docker's own (which relies on a chroot): names that climb out of the target are refused
// with docker's message, symlinks and hard links whose targets climb out of it too; every path is reached through
// open directories one component at a time with O_NOFOLLOW (see archive-view.ts), symlinks met on the way are
// resolved inside the view, and attributes are set through descriptors or l* calls. So neither a hostile archive
// nor a container racing us can make this write anywhere but inside the view. Synchronous: it runs in the unpack
// worker (daemon) or in the CLI, where a syscall costs microseconds.
import { overlayXattrPrefix } from '../common/userns';
import {
  closeSync, constants as C, fchmodSync, fchownSync, fstatSync, linkSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync,
  readlinkSync, rmdirSync, Stats, statSync, symlinkSync, unlinkSync, utimesSync, writeSync, chmodSync,
} from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';
import { at, DIR_FLAGS, errCode, fdPath, joinRel, PathError, pathError, RootView, ViewMounts } from './archive-view';
import type { TarHeader, TarSink } from './tar-reader';

export interface ExtractSpec {
  view: RootView;
  /** Relative path in the view of the directory to extract into ('' for the root). */
  dest: string;
  /** How messages name that directory: docker's container path ("/d"), or the local path for the CLI. */
  destShown: string;
  /** How messages name the view's root: '' for a container (paths show as "/x"), else a local directory. */
  rootShown?: string;
  noOverwriteDirNonDir: boolean;
  /** One owner for every entry (copyUIDGID with a container user). */
  chown?: { uid: number; gid: number };
  /** Leave owners alone, files belong to whoever extracts (the CLI, like docker's NoLchown). */
  noLchown?: boolean;
}

export type NodeKind = 'c' | 'b' | 'p';

/** The calls Node lacks, injected: the daemon's worker passes koffi-backed ones, the CLI Node-only fallbacks. */
export interface ExtractSyscalls {
  futimens(fd: number, shown: string, sec: number, nsec: number): void;
  lutimens(path: string, sec: number, nsec: number): void;
  mknod?(path: string, kind: NodeKind, major: number, minor: number, perm: number): void;
  lsetxattr?(path: string, name: string, value: Buffer): void;
  fsetxattr?(fd: number, path: string, name: string, value: Buffer): void;
  warn?(message: string): void;
}

export interface ExtractCounts { size: number; entries: number }

/** open(2)'s O_PATH (Linux, every architecture Node runs on): a descriptor that names an inode without opening
 * it, so a device node's mode can be set without its driver ever seeing an open. */
const O_PATH = 0o10000000;
const CREATE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const MOUNT_DIR_FLAGS = DIR_FLAGS & ~C.O_NOFOLLOW;
const MAX_LINKS = 40;
/** Directory descriptors kept for reuse (most entries share their parents). */
const MAX_CACHED_DIRS = 128;

/** Go's %q for the ASCII paths these messages carry. */
const goq = (s: string) => JSON.stringify(s);

interface Dir { rel: string; fd: number }

export class Extractor implements TarSink {
  readonly counts: ExtractCounts = { size: 0, entries: 0 };
  private readonly mounts: ViewMounts;
  private readonly rootFd: number;
  private readonly destParts: string[];
  /** Open directories by relative path (the root's fd is not in here). */
  private readonly dirs = new Map<string, number>();
  private readonly dirTimes: Array<{ rel: string; sec: number; nsec: number }> = [];
  private file: { fd: number; h: TarHeader; rel: string } | undefined;
  private closed = false;

  constructor(private readonly spec: ExtractSpec, private readonly sys: ExtractSyscalls) {
    this.mounts = new ViewMounts(spec.view.mounts);
    try {
      this.rootFd = openSync(spec.view.root, MOUNT_DIR_FLAGS);
    } catch (err) {
      throw fail(pathError(err, 'open', this.shown('')));
    }
    this.destParts = spec.dest === '' ? [] : spec.dest.split('/');
  }

  entry(h: TarHeader): void {
    this.counts.entries++;
    this.trimCache();
    try {
      this.extract(h);
    } catch (err) {
      throw fail(err);
    }
  }

  data(piece: Buffer): void {
    const f = this.file;
    if (!f) return;
    try {
      let off = 0;
      while (off < piece.length) off += writeSync(f.fd, piece, off, piece.length - off);
    } catch (err) {
      throw fail(pathError(err, 'write', this.shown(f.rel)));
    }
  }

  entryEnd(): void {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    try {
      // owner before mode: chown clears setuid bits; xattrs after chown, which drops security.capability
      if (!this.spec.noLchown) fchownSync(f.fd, this.uid(f.h), this.gid(f.h));
      fchmodSync(f.fd, f.h.mode);
      for (const [name, value] of f.h.xattrs) this.xattr(f.rel, name, () => this.sys.fsetxattr?.(f.fd, this.shown(f.rel), name, value));
      this.sys.futimens(f.fd, this.shown(f.rel), f.h.mtimeSec, f.h.mtimeNsec);
      this.counts.size += f.h.size;
    } catch (err) {
      throw fail(pathError(err, 'chmod', this.shown(f.rel)));
    } finally {
      closeQuiet(f.fd);
    }
  }

  /** Directory times, in archive order, once nothing more is created in them. */
  finish(): void {
    try {
      for (const { rel, sec, nsec } of this.dirTimes) {
        const d = this.dir(rel === '' ? [] : rel.split('/'), false, rel);
        if (d) this.sys.futimens(d.fd, this.shown(rel), sec, nsec);
      }
    } catch (err) {
      throw fail(err);
    } finally {
      this.abort();
    }
  }

  /** Closes whatever is open (also after a failure). */
  abort(): void {
    if (this.file) closeQuiet(this.file.fd);
    this.file = undefined;
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.dirs.values()) closeQuiet(fd);
    this.dirs.clear();
    closeQuiet(this.rootFd);
  }

  private shown(rel: string): string {
    const root = this.spec.rootShown ?? '';
    if (root === '') return '/' + rel;
    return rel === '' ? root : `${root.replace(/\/+$/, '')}/${rel}`;
  }

  private uid(h: TarHeader): number { return this.spec.chown?.uid ?? h.uid; }
  private gid(h: TarHeader): number { return this.spec.chown?.gid ?? h.gid; }

  private extract(h: TarHeader): void {
    // docker: the cleaned name joined to the target must stay inside it (absolute names are relative to it)
    const cleaned = path.posix.normalize(h.name || '.').replace(/(.)\/+$/, '$1');
    const relName = path.posix.normalize(cleaned.replace(/^\/+/, '') || '.');
    if (relName === '..' || relName.startsWith('../')) throw new EngineError(400, `${goq(cleaned)} is outside of ${goq(this.spec.destShown)}`);
    if (h.name.includes('\0')) throw new EngineError(400, `invalid tar entry ${goq(h.name)}: NUL in name`);
    const parts = relName === '.' ? [] : relName.split('/');

    if (parts.length === 0) {
      // The target itself: "./" changes nothing (docker skips it); a "/" entry gives it the archive's attributes.
      if (h.type !== 'directory') {
        if (this.spec.noOverwriteDirNonDir) throw new EngineError(409, `cannot overwrite directory ${goq(this.spec.destShown)} with non-directory ${goq(this.spec.destShown)}`);
        throw new EngineError(400, `invalid tar entry ${goq(h.name)}: only a directory can name the target itself`);
      }
      if (cleaned === '.') return;
      const d = this.dir(this.destParts, false, h.name)!;
      this.setDirAttributes(d, h);
      return;
    }

    const parent = this.dir([...this.destParts, ...parts.slice(0, -1)], true, h.name)!;
    const base = parts[parts.length - 1];
    const rel = joinRel(parent.rel, base);
    const inMount = this.mounts.containing(rel);
    if (inMount?.readOnly) throw new PathError('open', this.shown(rel), 'EROFS');
    const mount = this.mounts.pointAt(rel);
    const p = mount ? mount.source : at(parent.fd, base);
    if (h.type === 'symlink') this.checkSymlink(h, parts);
    const link = h.type === 'link' ? this.linkTarget(h, rel) : undefined;

    // Most entries are new: create first (exclusively, never following anything), and only when something is
    // there already apply docker's rules to it. One syscall less per entry than looking first.
    if (!mount && this.create(h, p, rel, parts, link)) return;

    let st: Stats;
    try {
      st = mount ? statSync(p) : lstatSync(p);
    } catch (err) {
      throw pathError(err, 'lstat', this.shown(rel));
    }
    const isDir = h.type === 'directory';
    if (this.spec.noOverwriteDirNonDir && st.isDirectory() && !isDir) {
      throw new EngineError(409, `cannot overwrite directory ${goq(this.shown(rel))} with non-directory ${goq(this.spec.destShown)}`);
    }
    if (this.spec.noOverwriteDirNonDir && !st.isDirectory() && isDir) {
      throw new EngineError(409, `cannot overwrite non-directory ${goq(this.shown(rel))} with directory ${goq(this.spec.destShown)}`);
    }
    if (st.isDirectory() && isDir) {
      // a directory meets a directory: the archive's owner and mode apply to it
      const d = this.dir([...this.destParts, ...parts], false, h.name);
      if (!d) throw new PathError('open', this.shown(rel), 'ENOENT');
      this.setDirAttributes(d, h);
      return;
    }
    if (mount) throw new PathError('unlinkat', this.shown(rel), 'EBUSY');
    this.remove(parent.fd, base, rel);
    if (!this.create(h, p, rel, parts, link)) throw new PathError('open', this.shown(rel), 'EEXIST'); // raced
  }

  /** Creates the entry at `p` (which names `rel`) with its attributes; false if something is there already. */
  private create(h: TarHeader, p: string, rel: string, parts: string[], link: string | undefined): boolean {
    switch (h.type) {
      case 'directory': {
        try {
          mkdirSync(p, { mode: 0o700 }); // the archive's mode follows, through the descriptor
        } catch (err) {
          if (errCode(err) === 'EEXIST') return false;
          throw pathError(err, 'mkdir', this.shown(rel));
        }
        const d = this.dir([...this.destParts, ...parts], false, h.name);
        if (!d) throw new PathError('open', this.shown(rel), 'ENOENT');
        this.setDirAttributes(d, h);
        return true;
      }
      case 'file': {
        let fd: number;
        try {
          fd = openSync(p, CREATE_FLAGS, 0o600);
        } catch (err) {
          if (errCode(err) === 'EEXIST') return false;
          throw pathError(err, 'open', this.shown(rel));
        }
        this.file = { fd, h, rel };
        return true;
      }
      case 'symlink':
        return this.symlink(h, p, rel);
      case 'link':
        return this.hardLink(h, p, rel, link!);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        return this.node(h, p, rel);
    }
  }

  private setDirAttributes(d: Dir, h: TarHeader): void {
    try {
      if (!this.spec.noLchown) fchownSync(d.fd, this.uid(h), this.gid(h));
      fchmodSync(d.fd, h.mode);
    } catch (err) {
      throw pathError(err, 'chmod', this.shown(d.rel));
    }
    for (const [name, value] of h.xattrs) this.xattr(d.rel, name, () => this.sys.fsetxattr?.(d.fd, this.shown(d.rel), name, value));
    this.dirTimes.push({ rel: d.rel, sec: h.mtimeSec, nsec: h.mtimeNsec });
  }

  /** docker refuses a link whose target, read from the entry's directory, leaves the target directory. */
  private checkSymlink(h: TarHeader, parts: string[]): void {
    const entryDir = path.posix.join(this.spec.destShown, ...parts.slice(0, -1));
    const resolved = path.posix.join(entryDir, h.linkname);
    if (!resolved.startsWith(this.spec.destShown)) {
      throw new EngineError(400, `invalid symlink ${goq(path.posix.join(this.spec.destShown, ...parts))} -> ${goq(h.linkname)}`);
    }
  }

  private symlink(h: TarHeader, p: string, rel: string): boolean {
    try {
      symlinkSync(h.linkname, p);
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      throw pathError(err, 'symlink', this.shown(rel));
    }
    try {
      if (!this.spec.noLchown) lchownSync(p, this.uid(h), this.gid(h));
    } catch (err) {
      throw pathError(err, 'lchown', this.shown(rel));
    }
    for (const [name, value] of h.xattrs) this.xattr(rel, name, () => this.sys.lsetxattr?.(p, name, value));
    this.sys.lutimens(p, h.mtimeSec, h.mtimeNsec);
    return true;
  }

  /** The existing file a hard link entry names, inside the target directory (docker's check, then ours). */
  private linkTarget(h: TarHeader, rel: string): string {
    const targetShown = path.posix.join(this.spec.destShown, h.linkname);
    if (!targetShown.startsWith(this.spec.destShown)) {
      throw new EngineError(400, `invalid hardlink ${goq(targetShown)} -> ${goq(h.linkname)}`);
    }
    const tparts = path.posix.normalize(h.linkname.replace(/^\/+/, '') || '.').split('/').filter((c) => c !== '' && c !== '.');
    if (tparts.length === 0 || tparts[0] === '..') throw new EngineError(400, `invalid hardlink ${goq(targetShown)} -> ${goq(h.linkname)}`);
    const tdir = this.dir([...this.destParts, ...tparts.slice(0, -1)], false, h.name);
    const tbase = tparts[tparts.length - 1];
    const tmount = tdir ? this.mounts.pointAt(joinRel(tdir.rel, tbase)) : undefined;
    const tp = tdir ? (tmount ? tmount.source : at(tdir.fd, tbase)) : '';
    let tst: Stats | undefined;
    try {
      tst = tdir ? lstatSync(tp, { throwIfNoEntry: false }) : undefined;
    } catch { /* not there: reported below */ }
    if (!tst) throw new PathError('link', `${targetShown} ${this.shown(rel)}`, 'ENOENT');
    if (tst.isDirectory()) throw new PathError('link', `${targetShown} ${this.shown(rel)}`, 'EPERM');
    return tp;
  }

  private hardLink(h: TarHeader, p: string, rel: string, tp: string): boolean {
    try {
      linkSync(tp, p); // link(2) never follows the target's last element
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      throw pathError(err, 'link', `${path.posix.join(this.spec.destShown, h.linkname)} ${this.shown(rel)}`);
    }
    // the header's attributes apply to the shared inode, as with docker (not through a symlink)
    try {
      if (!this.spec.noLchown) lchownSync(p, this.uid(h), this.gid(h));
    } catch (err) {
      throw pathError(err, 'lchown', this.shown(rel));
    }
    this.modeAndTimes(p, rel, h);
    return true;
  }

  private node(h: TarHeader, p: string, rel: string): boolean {
    const kind: NodeKind = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
    if (!this.sys.mknod) {
      this.sys.warn?.(`skipping ${h.type} ${this.shown(rel)}: cannot create device nodes here`);
      return true;
    }
    try {
      this.sys.mknod(p, kind, h.devmajor, h.devminor, 0o600);
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      // like docker in a user namespace: a node we may not create is left out
      if (errCode(err) === 'EPERM') {
        this.sys.warn?.(`skipping ${h.type} ${this.shown(rel)}: ${(err as Error).message}`);
        return true;
      }
      throw pathError(err, 'mknod', this.shown(rel));
    }
    try {
      if (!this.spec.noLchown) lchownSync(p, this.uid(h), this.gid(h));
    } catch (err) {
      throw pathError(err, 'lchown', this.shown(rel));
    }
    this.modeAndTimes(p, rel, h);
    return true;
  }

  /** chmod and times of what `p` names without opening it (a device's driver never sees us) or following it. */
  private modeAndTimes(p: string, rel: string, h: TarHeader): void {
    let fd: number;
    try {
      fd = openSync(p, O_PATH | C.O_NOFOLLOW);
    } catch (err) {
      throw pathError(err, 'open', this.shown(rel));
    }
    try {
      if (fstatSync(fd).isSymbolicLink()) return; // swapped meanwhile: leave it
      // the magic link leads to the inode itself, without a path walk
      chmodSync(fdPath(fd), h.mode);
      const t = h.mtimeSec + h.mtimeNsec / 1e9;
      utimesSync(fdPath(fd), t, t);
    } catch (err) {
      throw pathError(err, 'chmod', this.shown(rel));
    } finally {
      closeQuiet(fd);
    }
  }

  /** One PAX xattr: best effort like docker; trusted.* is never set from an archive (overlayfs keeps its own
   * state there). */
  private xattr(rel: string, name: string, set: () => void): void {
    if (name.startsWith('trusted.') || name.startsWith(overlayXattrPrefix())) return;
    try {
      set();
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM') return;
      throw pathError(err, 'lsetxattr', this.shown(rel));
    }
  }

  /**
   * An open directory for `parts` (relative to the view's root), walked one component at a time: `..` stops at
   * the root, symlinks resolve inside the view, missing directories are created (0755) when `create`.
   */
  private dir(parts: string[], create: boolean, entryName: string): Dir | undefined {
    const key = parts.join('/');
    if (!parts.some((c) => c === '..' || c === '.' || c === '')) {
      if (key === '') return { rel: '', fd: this.rootFd };
      const hit = this.dirs.get(key);
      if (hit !== undefined) {
        this.dirs.delete(key); // most recently used goes last
        this.dirs.set(key, hit);
        return { rel: key, fd: hit };
      }
    }
    const stack: Dir[] = [{ rel: '', fd: this.rootFd }];
    const queue = [...parts];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const top = stack[stack.length - 1];
      const rel = joinRel(top.rel, c);
      const cached = this.dirs.get(rel);
      if (cached !== undefined) {
        stack.push({ rel, fd: cached });
        continue;
      }
      const mount = this.mounts.pointAt(rel);
      const p = mount ? mount.source : at(top.fd, c);
      let fd: number | undefined;
      try {
        fd = openSync(p, mount ? MOUNT_DIR_FLAGS : DIR_FLAGS);
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT' && !mount) {
          if (!create) return undefined;
          if (this.mounts.containing(rel)?.readOnly) throw new PathError('mkdir', this.shown(rel), 'EROFS');
          try {
            mkdirSync(p, { mode: 0o755 });
            fd = openSync(p, DIR_FLAGS);
          } catch (e) {
            throw pathError(e, 'mkdir', this.shown(rel));
          }
        } else if ((code === 'ENOTDIR' || code === 'ELOOP') && !mount) {
          let st: Stats;
          try {
            st = lstatSync(p);
          } catch (e) {
            throw pathError(e, 'lstat', this.shown(rel));
          }
          if (!st.isSymbolicLink()) throw new PathError('open', this.shown(rel), 'ENOTDIR');
          if (++links > MAX_LINKS) throw new PathError('open', this.shown(rel), 'ELOOP');
          const target = readlinkSync(p);
          if (target.startsWith('/')) stack.length = 1; // absolute: the view's root
          queue.unshift(...target.split('/'));
          continue;
        } else {
          throw pathError(err, 'open', this.shown(rel));
        }
      }
      this.cache(rel, fd);
      stack.push({ rel, fd });
    }
    void entryName;
    return stack[stack.length - 1];
  }

  private cache(rel: string, fd: number): void {
    this.dirs.set(rel, fd);
  }

  /** Closes the least recently used directories beyond the limit. Only between entries: while one entry is
   * handled, the descriptors it walked through stay valid (a closed number could be reused by the next open). */
  private trimCache(): void {
    while (this.dirs.size > MAX_CACHED_DIRS) {
      const [oldRel, oldFd] = this.dirs.entries().next().value as [string, number];
      this.dirs.delete(oldRel);
      closeQuiet(oldFd);
    }
  }

  /** Removes entry `name` of the open directory `dirFd`, a tree too, never following a symlink. */
  private remove(dirFd: number, name: string, rel: string): void {
    // forget the descriptors of what goes away
    for (const [k, fd] of this.dirs) {
      if (k === rel || k.startsWith(rel + '/')) {
        this.dirs.delete(k);
        closeQuiet(fd);
      }
    }
    try {
      removeAt(dirFd, name);
    } catch (err) {
      throw pathError(err, 'unlinkat', this.shown(rel));
    }
  }
}

/** rm -rf of one entry of an open directory, walking by descriptors. */
function removeAt(dirFd: number, name: string): void {
  const p = at(dirFd, name);
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) {
    unlinkSync(p);
    return;
  }
  const fd = openSync(p, DIR_FLAGS);
  try {
    for (const child of readdirSync(fdPath(fd))) removeAt(fd, child);
  } finally {
    closeQuiet(fd);
  }
  rmdirSync(p);
}

/** Anything but our own errors becomes a 500 worded like Go's (the unpack worker passes EngineErrors through). */
function fail(err: unknown): Error {
  if (err instanceof EngineError) return err;
  if (err instanceof PathError) return new EngineError(err.code === 'EROFS' ? 400 : 500, err.message);
  return new EngineError(500, (err as Error)?.message ?? String(err));
}

function closeQuiet(fd: number): void {
  try { closeSync(fd); } catch { /* already closed */ }
}
