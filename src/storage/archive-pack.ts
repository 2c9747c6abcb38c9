// A file or directory tree of a view → a tar stream, the way docker's archiver writes one for `cp` and `export`:
// depth first, names in byte order, directories named with a trailing "/", hard links inside the archive as
// link entries, times in whole seconds, owners as numbers, security.capability as a PAX xattr, sockets left
// out. The first entry is the archived thing itself under the name the caller gives (docker's "rebase" name:
// "d", ".", "/"), or, for export, no top entry and names relative to the root.
//
// Synchronous and pull-driven: fill(buffer) writes the next bytes into a buffer the caller owns (the pack worker
// recycles a few), so nothing but small headers is ever allocated and nothing is held beyond one buffer. Every
// path is reached through an open directory (see archive-view.ts): a container that swaps a directory for a
// symlink while we walk makes us skip that entry, never leave its root. Entries that vanish meanwhile are
// skipped, as docker's archiver skips what it cannot stat.
import { closeSync, constants as C, Dirent, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, Stats, statSync } from 'fs';
import { EngineError } from '../common/errors';
import { at, DIR_FLAGS, errCode, fdPath, joinRel, pathError, READ_FLAGS, RootView, ViewMounts } from './archive-view';
import { encodeHeader, END_OF_ARCHIVE, padding, TarHeader } from './tar-header';

export interface PackSpec {
  view: RootView;
  /** Relative path in the view of what to archive ('' for the root); resolved already (no symlink to follow). */
  rel: string;
  /** Name of the first entry. Undefined: no first entry, the directory's contents at the archive's top (export). */
  rootName?: string;
}

export interface PackHooks {
  /** security.capability of an open regular file, if it has one (fgetxattr; the CLI goes without). */
  capability?(fd: number, shown: string): Buffer | undefined;
  /** How errors name a path of the view (default: as a container path, "/" + rel). */
  display?(rel: string): string;
}

/** A directory being walked; `kinds` holds readdir's d_type answers ('f' file, 'd' directory, '' ask lstat). */
interface Frame { rel: string; fd: number; arch: string; names: string[]; kinds: string[]; i: number }

const CAPABILITY_XATTR = 'SCHILY.xattr.security.capability';
const MOUNT_DIR_FLAGS = DIR_FLAGS & ~C.O_NOFOLLOW;
const MOUNT_READ_FLAGS = READ_FLAGS & ~C.O_NOFOLLOW;

/** Entries that vanish or change kind while we walk: skipped, like docker's archiver does. */
const RACY = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/** Go sorts names by bytes; JavaScript by UTF-16 units, which differs only around surrogates. */
function byteOrder(entries: Dirent[]): Dirent[] {
  if (entries.every((e) => !/[\ud800-\udfff\ue000-\uffff]/.test(e.name))) return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

// glibc's gnu_dev_major/minor on a 64-bit dev_t.
const devMajor = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const devMinor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

export class TarPacker {
  private readonly mounts: ViewMounts;
  private readonly frames: Frame[] = [];
  private readonly fds: number[] = [];
  private readonly links = new Map<string, string>();
  private readonly display: (rel: string) => string;
  private pending: Buffer | undefined;
  private pendingOff = 0;
  private file: { fd: number; pos: number; size: number; rel: string } | undefined;
  private top: { rel: string; dirFd: number; name: string } | undefined;
  private ended = false;
  private closed = false;
  /** Regular file bytes archived (docker's progress counts the stream; this is the content). */
  contentBytes = 0;
  entries = 0;

  constructor(private readonly spec: PackSpec, private readonly hooks: PackHooks = {}) {
    this.mounts = new ViewMounts(spec.view.mounts);
    this.display = hooks.display ?? ((rel) => '/' + rel);
    this.openTop();
  }

  /** Writes the next bytes of the archive into `out`; returns how many (0 once the archive is complete). */
  fill(out: Buffer): number {
    let off = 0;
    try {
      while (off < out.length) {
        if (this.pending) {
          const n = this.pending.copy(out, off, this.pendingOff);
          off += n;
          this.pendingOff += n;
          if (this.pendingOff >= this.pending.length) this.pending = undefined;
          continue;
        }
        if (this.file) {
          off += this.copyFile(out, off);
          continue;
        }
        if (this.ended) break;
        if (!this.next()) {
          this.ended = true;
          this.queue(END_OF_ARCHIVE());
        }
      }
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.ended && !this.pending) this.close();
    return off;
  }

  /** Closes what is open (after the end, or to abort). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.file) closeQuiet(this.file.fd);
    this.file = undefined;
    for (const fd of this.fds.splice(0)) closeQuiet(fd);
    this.frames.length = 0;
  }

  private queue(b: Buffer): void {
    this.pending = b;
    this.pendingOff = 0;
  }

  private copyFile(out: Buffer, off: number): number {
    const f = this.file!;
    const want = Math.min(f.size - f.pos, out.length - off);
    const n = want > 0 ? readSync(f.fd, out, off, want, f.pos) : 0;
    if (want > 0 && n === 0) {
      throw new EngineError(500, `${this.display(f.rel)}: file shrank while it was being archived`);
    }
    f.pos += n;
    this.contentBytes += n;
    if (f.pos >= f.size) {
      closeQuiet(f.fd);
      this.file = undefined;
      const pad = padding(f.size);
      if (pad.length > 0) this.queue(pad);
    }
    return n;
  }

  /** Opens the directories down to what we archive, one component at a time (never following a symlink). */
  private openTop(): void {
    const parts = this.spec.rel === '' ? [] : this.spec.rel.split('/');
    let fd: number;
    try {
      fd = openSync(this.spec.view.root, DIR_FLAGS & ~C.O_NOFOLLOW);
    } catch (err) {
      throw pathError(err, 'open', this.display(''));
    }
    this.fds.push(fd);
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = joinRel(rel, parts[i]);
      const mount = this.mounts.pointAt(rel);
      try {
        fd = openSync(mount ? mount.source : at(fd, parts[i]), mount ? MOUNT_DIR_FLAGS : DIR_FLAGS);
      } catch (err) {
        this.close();
        throw pathError(err, 'open', this.display(rel));
      }
      this.fds.push(fd);
    }
    this.top = { rel: this.spec.rel, dirFd: fd, name: parts.length ? parts[parts.length - 1] : '' };
  }

  /** Queues the next entry's header (and opens its content); false when there is none left. */
  private next(): boolean {
    if (this.top) {
      const top = this.top;
      this.top = undefined;
      if (top.name === '') {
        // the root itself
        const rootFd = this.fds[0];
        const st = fstatSync(rootFd);
        if (this.spec.rootName === undefined) this.pushFrame('', rootFd, '');
        else {
          this.header(this.spec.rootName === '/' ? '/' : `${this.spec.rootName}/`, st, '', 'directory');
          this.pushFrame('', rootFd, this.spec.rootName);
        }
        return true;
      }
      const added = this.add(top.rel, top.dirFd, top.name, this.spec.rootName ?? top.name, this.spec.rootName === undefined);
      if (!added) throw pathError(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }), 'lstat', this.display(top.rel));
      return true;
    }
    while (this.frames.length > 0) {
      const f = this.frames[this.frames.length - 1];
      if (f.i >= f.names.length) {
        this.frames.pop();
        closeQuiet(f.fd);
        const k = this.fds.indexOf(f.fd);
        if (k >= 0) this.fds.splice(k, 1);
        continue;
      }
      const kind = f.kinds[f.i];
      const name = f.names[f.i++];
      const arch = f.arch === '' ? name : f.arch === '/' ? `/${name}` : `${f.arch}/${name}`;
      if (this.add(joinRel(f.rel, name), f.fd, name, arch, false, kind)) return true;
    }
    return false;
  }

  /** One entry: its header, and its directory frame or file content. False when it vanished (skipped). */
  private add(rel: string, dirFd: number, name: string, arch: string, contentsOnly: boolean, kind = ''): boolean {
    const mount = this.mounts.pointAt(rel);
    const p = mount ? mount.source : at(dirFd, name);
    // readdir said what it is: a file is opened and fstat'ed (no lstat needed), a directory opened the same way;
    // if it changed meanwhile, the O_NOFOLLOW open or the fstat says so
    if (!mount && kind === 'f' && !contentsOnly) return this.regular(rel, p, arch, false);
    if (!mount && kind === 'd') return this.directory(rel, p, arch, contentsOnly, false);
    let st: Stats;
    try {
      st = mount ? statSync(p) : lstatSync(p);
    } catch (err) {
      if (RACY.has(errCode(err) ?? '')) return false;
      throw pathError(err, 'lstat', this.display(rel));
    }
    if (st.isDirectory()) return this.directory(rel, p, arch, contentsOnly, !!mount);
    if (contentsOnly) throw new EngineError(500, `${this.display(rel)} is not a directory`);
    if (st.isFile()) return this.regular(rel, p, arch, !!mount);
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = readlinkSync(p);
      } catch (err) {
        if (RACY.has(errCode(err) ?? '') || errCode(err) === 'EINVAL') return false;
        throw pathError(err, 'readlink', this.display(rel));
      }
      this.header(arch, st, target, 'symlink');
      return true;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      this.header(arch, st, '', st.isCharacterDevice() ? 'character-device' : 'block-device', { devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
      return true;
    }
    if (st.isFIFO()) {
      this.header(arch, st, '', 'fifo');
      return true;
    }
    return false; // sockets: docker's archiver leaves them out
  }

  private directory(rel: string, p: string, arch: string, contentsOnly: boolean, mounted: boolean): boolean {
    let fd: number;
    try {
      fd = openSync(p, mounted ? MOUNT_DIR_FLAGS : DIR_FLAGS);
    } catch (err) {
      if (RACY.has(errCode(err) ?? '')) return false;
      throw pathError(err, 'open', this.display(rel));
    }
    this.fds.push(fd);
    if (!contentsOnly) this.header(`${arch}/`, fstatSync(fd), '', 'directory');
    this.pushFrame(rel, fd, contentsOnly ? '' : arch);
    return true;
  }

  private regular(rel: string, p: string, arch: string, mounted: boolean): boolean {
    let fd: number;
    try {
      fd = openSync(p, mounted ? MOUNT_READ_FLAGS : READ_FLAGS);
    } catch (err) {
      if (RACY.has(errCode(err) ?? '')) return false;
      throw pathError(err, 'open', this.display(rel));
    }
    let st: Stats;
    try {
      st = fstatSync(fd); // what we opened, whatever happened to the name meanwhile
    } catch (err) {
      closeQuiet(fd);
      throw pathError(err, 'stat', this.display(rel));
    }
    if (!st.isFile()) {
      closeQuiet(fd);
      return false;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) {
        closeQuiet(fd);
        this.header(arch, st, first, 'link');
        return true;
      }
      this.links.set(key, arch);
    }
    let cap: Buffer | undefined;
    try {
      cap = this.hooks.capability?.(fd, this.display(rel));
    } catch {
      cap = undefined;
    }
    this.header(arch, st, '', 'file', cap ? { pax: { [CAPABILITY_XATTR]: cap } } : {});
    if (st.size > 0) this.file = { fd, pos: 0, size: st.size, rel };
    else closeQuiet(fd);
    return true;
  }

  private pushFrame(rel: string, fd: number, arch: string): void {
    let entries: Dirent[];
    try {
      entries = readdirSync(fdPath(fd), { withFileTypes: true });
    } catch (err) {
      throw pathError(err, 'readdir', this.display(rel));
    }
    byteOrder(entries);
    this.frames.push({
      rel, fd, arch, i: 0,
      names: entries.map((e) => e.name),
      kinds: entries.map((e) => (e.isFile() ? 'f' : e.isDirectory() ? 'd' : '')),
    });
  }

  private header(name: string, st: Stats, linkname: string, type: TarHeader['type'], extra: Partial<TarHeader> = {}): void {
    this.entries++;
    this.queue(encodeHeader({
      name, type, linkname, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
      size: type === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), ...extra,
    }));
  }
}

function closeQuiet(fd: number): void {
  try { closeSync(fd); } catch { /* already closed */ }
}
