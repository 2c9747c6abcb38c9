// Tar entries → a directory tree in overlayfs' format, with synchronous syscalls (it runs in the unpack worker,
// see unpack.ts). Keeps modes (incl. setuid/sticky), owners, mtimes (to the nanosecond), symlinks, hard links
// (inside the layer only), device nodes, xattrs (binary values too); turns AUFS-style whiteouts into overlay ones
// (`.wh.x` → char device 0:0 named x; `.wh..wh..opq` → trusted.overlay.opaque=y on the directory), as docker's
// overlay2 driver does.
//
// Safety: the target must be a fresh directory that only this unpack writes (the layer store stages into a
// private temp dir). Every name is confined by ConfinedTree; files are created with O_EXCL|O_NOFOLLOW after
// removing whatever was there; hard-link targets are resolved the same confined way. So a hostile archive can
// write only below `root`.
import { overlayOpaqueXattr, overlayXattrPrefix } from '../common/userns';
import {
  chmodSync, closeSync, constants as C, fchmodSync, fchownSync, linkSync, lchownSync, lstatSync, mkdirSync, openSync,
  readdirSync, rmSync, symlinkSync, writeSync,
} from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';
import { log } from '../common/log';
import { ConfinedTree, badEntry, entryParts } from './confined';
import { fsetxattrSync, futimensSync, lsetxattrSync, lutimensSync, mknodSync, NodeKind } from './special-files';
import type { TarHeader, TarSink } from './tar-reader';

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
// rootless: user.overlay.opaque (overlays mounted with userxattr inside the user namespace)
const OPAQUE_XATTR = overlayOpaqueXattr();
const OVERLAY_XATTRS = overlayXattrPrefix();

const OPEN_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
/** Read once: which file modes open(2) produces unaided. (Calling umask() to read it is doc-deprecated only.) */
const UMASK = process.umask();
const RUNNING_AS_ROOT = process.geteuid?.() === 0 && process.getegid?.() === 0;

export interface UnpackCounts {
  /** Sum of regular file sizes, what docker reports as the layer's size. */
  size: number;
  entries: number;
}

interface OpenFile { fd: number; host: string; h: TarHeader; chown: boolean; chmod: boolean }

export class Unpacker implements TarSink {
  readonly counts: UnpackCounts = { size: 0, entries: 0 };
  private readonly tree: ConfinedTree;
  /** Directory mtimes are set last: creating children would bump them again. */
  private readonly dirTimes: Array<{ rel: string; sec: number; nsec: number }> = [];
  /** Host paths this unpack created. The root starts empty, so nothing else can exist: a path not in here needs
   * no lstat before it is created (most entries), and a path in here may need replacing. */
  private readonly created = new Set<string>();
  /** Directories with the setgid bit: files created in them inherit the directory's group, not ours. */
  private readonly setgidDirs = new Set<string>();
  /** The regular file whose content is arriving. */
  private file: OpenFile | undefined;

  /** `root` must exist and be empty. `noLchown`: leave owners as they come (files owned by the caller); only
   * root may give files away, unprivileged unpacks (unit tests) still get every other attribute. */
  constructor(root: string, private readonly noLchown: boolean) {
    if (readdirSync(root).length > 0) throw new EngineError(500, `unpack target ${root} is not empty`);
    this.tree = new ConfinedTree(root);
  }

  entry(h: TarHeader): void {
    this.counts.entries++;
    const name = h.name;
    const parts = entryParts(name);

    if (parts.length === 0) {
      if (h.type !== 'directory') throw badEntry(name, 'the layer root can only be a directory');
      this.setOwnerAndMode(this.tree.root, h);
      this.dirTimes.push({ rel: '', sec: h.mtimeSec, nsec: h.mtimeNsec });
      return;
    }
    // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs …) at the top: docker skips it, so do we.
    if (parts[0].startsWith(WHITEOUT_META_PREFIX)) return;

    const base = parts[parts.length - 1];
    const parentRel = this.tree.resolveDir(parts.slice(0, -1), true, name, (dir) => {
      this.created.add(dir);
      // mkdir in a setgid directory inherits the bit (and the group)
      if (this.setgidDirs.has(path.dirname(dir))) this.setgidDirs.add(dir);
    });
    if (parentRel === undefined) throw badEntry(name, 'parent directory missing'); // unreachable with create=true
    const rel = parentRel === '' ? base : `${parentRel}/${base}`;
    const host = this.tree.host(rel);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(name, parentRel, base, h);
      return;
    }

    switch (h.type) {
      case 'directory':
        this.directory(rel, host, h);
        break;
      case 'file':
        this.removeExisting(host);
        this.openFile(host, h);
        break;
      case 'symlink':
        this.removeExisting(host);
        symlinkSync(h.linkname, host);
        this.created.add(host);
        if (this.needsChown(h, path.dirname(host))) lchownSync(host, h.uid, h.gid);
        for (const [attr, value] of h.xattrs) this.xattr(h, attr, () => lsetxattrSync(host, attr, value));
        lutimensSync(host, h.mtimeSec, h.mtimeNsec);
        break;
      case 'link':
        this.hardLink(name, h.linkname, host, h);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.removeExisting(host);
        this.device(name, h, host);
        break;
    }
  }

  data(piece: Buffer): void {
    const f = this.file;
    if (!f) return; // content of an entry we skip (whiteout marker, AUFS metadata)
    let off = 0;
    while (off < piece.length) off += writeSync(f.fd, piece, off, piece.length - off);
  }

  entryEnd(): void {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    try {
      if (f.chown) fchownSync(f.fd, f.h.uid, f.h.gid); // chown before chmod: chown clears setuid bits
      if (f.chmod) fchmodSync(f.fd, f.h.mode);
      // after chown, which would clear security.capability
      for (const [attr, value] of f.h.xattrs) this.xattr(f.h, attr, () => fsetxattrSync(f.fd, f.host, attr, value));
      futimensSync(f.fd, f.host, f.h.mtimeSec, f.h.mtimeNsec);
    } finally {
      closeSync(f.fd);
    }
    this.counts.size += f.h.size;
  }

  /** Sets directory times (last seen first), skipping directories that later entries replaced. */
  finish(): void {
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const { rel, sec, nsec } = this.dirTimes[i];
      if (this.tree.isPlainDir(rel)) lutimensSync(this.tree.host(rel), sec, nsec);
    }
  }

  /** On failure: closes the file being written, if any. */
  abort(): void {
    if (this.file) {
      try { closeSync(this.file.fd); } catch { /* already failing */ }
      this.file = undefined;
    }
  }

  private openFile(host: string, h: TarHeader): void {
    // Skip what creation already did: owner root:root when we are root (unless a setgid parent hands out its
    // group), mode when umask keeps it.
    const chown = this.needsChown(h, path.dirname(host));
    const chmod = chown || (h.mode & 0o7000) !== 0 || (h.mode & UMASK) !== 0;
    // O_EXCL never follows a symlink (nor does O_NOFOLLOW): if anything reappeared at the path, fail.
    const fd = openSync(host, OPEN_FLAGS, chmod ? 0o600 : h.mode);
    this.created.add(host);
    this.file = { fd, host, h, chown, chmod };
  }

  private whiteout(name: string, parentRel: string, base: string, h: TarHeader): void {
    const parentHost = this.tree.host(parentRel);
    if (base === WHITEOUT_OPAQUE) {
      lsetxattrSync(parentHost, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // other AUFS bookkeeping
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') throw badEntry(name, 'invalid whiteout name');
    const host = `${parentHost}/${victim}`;
    this.removeExisting(host);
    mknodSync(host, 'c', 0, 0, 0); // docker's overlay2: S_IFCHR, mode 0, device 0:0
    this.created.add(host);
    if (this.needsChown(h, parentHost)) lchownSync(host, h.uid, h.gid);
  }

  private directory(rel: string, host: string, h: TarHeader): void {
    const st = this.created.has(host) ? lstatSync(host, { throwIfNoEntry: false }) : undefined;
    if (st?.isDirectory()) {
      this.setOwnerAndMode(host, h); // an implicit parent made earlier, or the same directory again
    } else {
      if (st) this.removeExisting(host);
      // new: like a file, skip what mkdir already did (owner, mode when umask keeps it)
      const chown = this.needsChown(h, path.dirname(host));
      const chmod = chown || (h.mode & 0o7000) !== 0 || (h.mode & UMASK) !== 0;
      mkdirSync(host, { mode: chmod ? 0o700 : h.mode });
      this.created.add(host);
      if (chown) lchownSync(host, h.uid, h.gid);
      if (chmod) chmodSync(host, h.mode);
      this.noteSetgid(host, h);
    }
    this.tree.noteDir(rel);
    for (const [attr, value] of h.xattrs) this.xattr(h, attr, () => lsetxattrSync(host, attr, value));
    this.dirTimes.push({ rel, sec: h.mtimeSec, nsec: h.mtimeNsec });
  }

  private hardLink(name: string, linkname: string, host: string, h: TarHeader): void {
    const targetParts = entryParts(linkname); // refuses targets above the root
    if (targetParts.length === 0) throw badEntry(name, 'hard link to the layer root');
    const targetParent = this.tree.resolveDir(targetParts.slice(0, -1), false, name);
    const last = targetParts[targetParts.length - 1];
    const target = targetParent === undefined ? undefined : this.tree.host(targetParent === '' ? last : `${targetParent}/${last}`);
    const st = target === undefined ? undefined : lstatSync(target, { throwIfNoEntry: false });
    if (target === undefined || !st) throw badEntry(name, `hard link target ${JSON.stringify(linkname)} not found in the layer`);
    if (st.isDirectory()) throw badEntry(name, 'hard link to a directory');
    if (target === host) return;
    this.removeExisting(host);
    linkSync(target, host); // link(2) never follows a symlink target: at worst it links the symlink itself
    this.created.add(host);
    // a hard link's header applies to the shared inode, as with docker
    if (!this.noLchown) lchownSync(host, h.uid, h.gid);
    if (!st.isSymbolicLink()) {
      chmodSync(host, h.mode);
      lutimensSync(host, h.mtimeSec, h.mtimeNsec);
    }
  }

  private device(name: string, h: TarHeader, host: string): void {
    const kind: NodeKind = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
    try {
      mknodSync(host, kind, h.devmajor, h.devminor, 0o600);
    } catch (err) {
      // Like docker in a user namespace: a node we may not create is skipped, not fatal for the whole image.
      log.warn('skipping device node', { entry: name, error: (err as Error).message });
      return;
    }
    this.created.add(host);
    this.setOwnerAndMode(host, h);
    for (const [attr, value] of h.xattrs) this.xattr(h, attr, () => lsetxattrSync(host, attr, value));
    lutimensSync(host, h.mtimeSec, h.mtimeNsec);
  }

  /** Owner then mode (chown clears setuid). `host` was just created or checked by us, so it is no symlink. */
  private setOwnerAndMode(host: string, h: TarHeader): void {
    if (!this.noLchown) lchownSync(host, h.uid, h.gid);
    chmodSync(host, h.mode);
    this.noteSetgid(host, h);
  }

  private noteSetgid(host: string, h: TarHeader): void {
    if (h.mode & 0o2000) this.setgidDirs.add(host);
    else this.setgidDirs.delete(host);
  }

  private needsChown(h: TarHeader, parentHost: string): boolean {
    if (this.noLchown) return false;
    return !(RUNNING_AS_ROOT && h.uid === 0 && h.gid === 0 && !this.setgidDirs.has(parentHost));
  }

  /** One PAX xattr (file capabilities, user.*). Best effort, like docker's. trusted.* is refused: it is where
   * overlayfs keeps its own state (opaque, redirect), which only whiteouts may set. */
  private xattr(h: TarHeader, attr: string, set: () => void): void {
    if (attr.startsWith('trusted.') || attr.startsWith(OVERLAY_XATTRS)) {
      log.warn('ignoring trusted xattr in layer', { entry: h.name, xattr: attr });
      return;
    }
    try {
      set();
    } catch (err) {
      log.warn('could not set xattr', { entry: h.name, xattr: attr, error: (err as Error).message });
    }
  }

  /** Docker's rule: whatever exists at the path is removed, unless a directory meets a directory. */
  private removeExisting(host: string): void {
    if (!this.created.has(host)) return;
    if (!lstatSync(host, { throwIfNoEntry: false })) return;
    rmSync(host, { recursive: true, force: true }); // rm never follows symlinks
    this.tree.forget();
  }
}
