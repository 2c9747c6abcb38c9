// Layer unpacking: a tar stream (already decompressed) becomes a directory tree in overlayfs' format, in one
// streaming pass. Keeps modes (incl. setuid/sticky), owners, mtimes, symlinks, hard links (inside the layer
// only), device nodes, xattrs; turns AUFS-style whiteouts into overlay ones (`.wh.x` → char device 0:0 named
// x; `.wh..wh..opq` → trusted.overlay.opaque=y on the directory), as docker's overlay2 driver does.
//
// Safety: the target must be a fresh directory that only this unpack writes (the layer store stages into a
// private temp dir). Every name is confined by ConfinedTree; files are created with O_EXCL|O_NOFOLLOW after
// removing whatever was there; hard-link targets are resolved the same confined way. So a hostile archive can
// write only below `root`.
import { constants as C, promises as fs } from 'fs';
import * as path from 'path';
import * as tar from 'tar-stream';
import { EngineError } from '../common/errors';
import { log } from '../common/log';
import { ConfinedTree, badEntry, entryParts } from './confined';
import { lsetxattr, mknod, NodeKind } from './special-files';

export interface UnpackOptions {
  /** Leave owners as they come (files owned by the caller). Default: on unless running as root, since only root
   * may give files away; unprivileged unpacks (unit tests) still get every other attribute. */
  noLchown?: boolean;
}

export interface UnpackResult {
  /** Sum of regular file sizes, what docker reports as the layer's size. */
  size: number;
  entries: number;
}

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const PAX_XATTR_PREFIX = 'SCHILY.xattr.';

interface Meta { uid: number; gid: number; mode: number; mtime: Date }

type Entry = AsyncIterable<Buffer> & { header: tar.Header; resume(): unknown };

/** Unpacks `source` (plain tar bytes) into the existing, empty directory `root`. */
export async function unpackLayer(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, root: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  // The speedups and the safety argument both assume we are the only writer of a fresh tree.
  if ((await fs.readdir(root)).length > 0) throw new EngineError(500, `unpack target ${root} is not empty`);
  const unpacker = new Unpacker(new ConfinedTree(root), opts.noLchown ?? process.getuid?.() !== 0);
  const extract = tar.extract();
  let sourceError: unknown;
  const feeding = feed(source, extract).catch((err) => { sourceError = err; extract.destroy(err as Error); });
  const result: UnpackResult = { size: 0, entries: 0 };
  try {
    for await (const entry of extract as unknown as AsyncIterable<Entry>) {
      try {
        result.size += await unpacker.apply(entry);
      } finally {
        entry.resume(); // drain whatever the entry kind did not read, so the parser moves on
      }
      result.entries++;
    }
    await feeding;
    if (sourceError !== undefined) throw sourceError;
    await unpacker.finish();
    return result;
  } catch (err) {
    extract.destroy();
    await feeding;
    await unpacker.settle().catch(() => undefined); // close every file still open
    // A failing source (bad gzip, client gone) also breaks the entry being read: report the cause.
    throw sourceError !== undefined ? sourceError : asEngineError(err);
  }
}

/** Writes `source` into the extractor with backpressure; ends it when the source ends. */
async function feed(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, extract: tar.Extract): Promise<void> {
  const sink = extract as unknown as {
    write(b: Uint8Array): boolean; end(): void; destroyed: boolean;
    once(e: string, f: () => void): void; off(e: string, f: () => void): void;
  };
  for await (const chunk of source) {
    if (sink.destroyed) return;
    if (!sink.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => { sink.off('drain', done); sink.off('close', done); resolve(); };
        sink.once('drain', done);
        sink.once('close', done);
      });
    }
  }
  if (!sink.destroyed) sink.end();
}

/** Parser errors (no errno code) are the archive's fault: 400. File system errors are ours: 500. */
function asEngineError(err: unknown): unknown {
  if (err instanceof EngineError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return new EngineError(500, `unpacking layer: ${e.message}`);
  return new EngineError(400, `invalid tar archive: ${e?.message ?? String(err)}`);
}

/** Files whose content is written but whose owner/mode/times/close are still in flight, at most. */
const MAX_PENDING = 64;

/** Read once: which file modes open(2) produces unaided. (Calling umask() to read it is doc-deprecated only.) */
const UMASK = process.umask();
const RUNNING_AS_ROOT = process.geteuid?.() === 0 && process.getegid?.() === 0;

class Unpacker {
  /** Directory mtimes are set last: creating children would bump them again. */
  private readonly dirTimes: Array<{ rel: string; mtime: Date }> = [];
  /** Host paths this unpack created. The root starts empty, so nothing else can exist: a path not in here needs
   * no lstat before it is created (most entries), and a path in here may need replacing. */
  private readonly created = new Set<string>();
  /** Finishing work of regular files (fchown, fchmod, futimes, close). It acts on the file descriptor, so it can
   * run behind the stream: unpacking pays two round trips per file instead of seven. */
  private pending: Array<Promise<void>> = [];
  private pendingError: unknown;
  /** Directories with the setgid bit: files created in them inherit the directory's group, not ours. */
  private readonly setgidDirs = new Set<string>();

  constructor(private readonly tree: ConfinedTree, private readonly noLchown: boolean) {}

  /** Unpacks one entry; returns the bytes of file content it wrote. */
  async apply(entry: Entry): Promise<number> {
    const h = entry.header;
    const name = h.name;
    const parts = entryParts(name);
    const meta = headerMeta(h);
    // tar-stream keeps type 'file' for old-style directories (typeflag 0, name ending in '/').
    const type = h.type === 'file' && name.endsWith('/') ? 'directory' : h.type;

    if (parts.length === 0) {
      if (type !== 'directory') throw badEntry(name, 'the layer root can only be a directory');
      await this.setOwnerAndMode(this.tree.root, meta);
      this.dirTimes.push({ rel: '', mtime: meta.mtime });
      return 0;
    }
    // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs …) at the top: docker skips it, so do we.
    if (parts[0].startsWith(WHITEOUT_META_PREFIX)) return 0;

    const base = parts[parts.length - 1];
    const parentRel = await this.tree.resolveDir(parts.slice(0, -1), true, name, (dir) => {
      this.created.add(dir);
      // mkdir in a setgid directory inherits the bit (and the group)
      if (this.setgidDirs.has(path.dirname(dir))) this.setgidDirs.add(dir);
    });
    if (parentRel === undefined) throw badEntry(name, 'parent directory missing'); // unreachable with create=true
    const rel = parentRel === '' ? base : `${parentRel}/${base}`;
    const host = this.tree.host(rel);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(name, parentRel, base, meta);
      return 0;
    }

    switch (type) {
      case 'directory':
        await this.directory(rel, host, meta);
        break;
      case 'file':
      case 'contiguous-file':
        await this.removeExisting(host);
        await this.file(entry, h, host, meta);
        return h.size;
      case 'symlink':
        await this.removeExisting(host);
        await fs.symlink(h.linkname ?? '', host);
        this.created.add(host);
        if (this.needsChown(meta, path.dirname(host))) await fs.lchown(host, meta.uid, meta.gid);
        await this.xattrs(h, host);
        await fs.lutimes(host, meta.mtime, meta.mtime);
        break;
      case 'link':
        await this.hardLink(name, h.linkname ?? '', host, meta);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await this.removeExisting(host);
        await this.device(name, type, h, host, meta);
        break;
      default:
        throw badEntry(name, `unsupported entry type ${String(h.type)}`);
    }
    return 0;
  }

  /** Completes the pending file work, then sets directory times (last seen first), skipping directories that
   * later entries replaced. */
  async finish(): Promise<void> {
    await this.settle();
    for (const { rel, mtime } of this.dirTimes.reverse()) {
      if (await this.tree.isPlainDir(rel)) await fs.lutimes(this.tree.host(rel), mtime, mtime);
    }
  }

  /** Waits for all pending file work; rethrows the first failure. Also used on error, to close every fd. */
  async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    if (this.pendingError !== undefined) throw this.pendingError;
  }

  private async whiteout(name: string, parentRel: string, base: string, meta: Meta): Promise<void> {
    const parentHost = this.tree.host(parentRel);
    if (base === WHITEOUT_OPAQUE) {
      await lsetxattr(parentHost, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // other AUFS bookkeeping
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') throw badEntry(name, 'invalid whiteout name');
    const host = path.join(parentHost, victim);
    await this.removeExisting(host);
    await mknod(host, 'c', 0, 0);
    this.created.add(host);
    if (!this.noLchown) await fs.lchown(host, meta.uid, meta.gid);
  }

  private async directory(rel: string, host: string, meta: Meta): Promise<void> {
    const st = this.created.has(host) ? await fs.lstat(host).catch(() => undefined) : undefined;
    if (!st?.isDirectory()) {
      if (st) await this.removeExisting(host);
      await fs.mkdir(host, { mode: 0o700 });
      this.created.add(host);
    }
    this.tree.noteDir(rel);
    await this.setOwnerAndMode(host, meta);
    this.dirTimes.push({ rel, mtime: meta.mtime });
  }

  private async file(entry: Entry, h: tar.Header, host: string, meta: Meta): Promise<void> {
    // Each call is a thread-pool round trip (~50 µs here), so skip those that creation already did: owner
    // root:root when we are root (unless a setgid parent hands out its group), mode when umask keeps it.
    const chown = this.needsChown(meta, path.dirname(host));
    const chmod = chown || (meta.mode & 0o7000) !== 0 || (meta.mode & UMASK) !== 0;
    // O_EXCL never follows a symlink (nor does O_NOFOLLOW): if anything reappeared at the path, fail.
    const fh = await fs.open(host, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, chmod ? 0o600 : meta.mode);
    this.created.add(host);
    try {
      for await (const chunk of entry) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    const finishing = (async () => {
      try {
        if (chown) await fh.chown(meta.uid, meta.gid); // chown before chmod: chown clears setuid bits
        if (chmod) await fh.chmod(meta.mode);
        await fh.utimes(meta.mtime, meta.mtime);
      } finally {
        await fh.close();
      }
    })();
    if (hasXattrs(h)) {
      await finishing; // xattrs after chown, which would clear security.capability
      await this.xattrs(h, host);
      return;
    }
    this.pending.push(finishing.catch((err) => { this.pendingError ??= err; }));
    if (this.pending.length >= MAX_PENDING) await this.settle();
  }

  private async hardLink(name: string, linkname: string, host: string, meta: Meta): Promise<void> {
    await this.settle(); // the target's own attributes must land before the link's (same inode)
    const targetParts = entryParts(linkname); // refuses targets above the root
    if (targetParts.length === 0) throw badEntry(name, 'hard link to the layer root');
    const targetParent = await this.tree.resolveDir(targetParts.slice(0, -1), false, name);
    const target = targetParent === undefined ? undefined
      : this.tree.host(targetParent === '' ? targetParts[targetParts.length - 1] : `${targetParent}/${targetParts[targetParts.length - 1]}`);
    const st = target === undefined ? undefined : await fs.lstat(target).catch(() => undefined);
    if (target === undefined || !st) throw badEntry(name, `hard link target ${JSON.stringify(linkname)} not found in the layer`);
    if (st.isDirectory()) throw badEntry(name, 'hard link to a directory');
    if (target === host) return;
    await this.removeExisting(host);
    await fs.link(target, host); // link(2) never follows a symlink target: at worst it links the symlink itself
    this.created.add(host);
    if (!this.noLchown) await fs.lchown(host, meta.uid, meta.gid);
    if (!st.isSymbolicLink()) {
      await fs.chmod(host, meta.mode);
      await fs.utimes(host, meta.mtime, meta.mtime);
    }
  }

  private async device(name: string, type: 'character-device' | 'block-device' | 'fifo', h: tar.Header, host: string, meta: Meta): Promise<void> {
    const kind: NodeKind = type === 'fifo' ? 'p' : type === 'block-device' ? 'b' : 'c';
    try {
      await mknod(host, kind, h.devmajor ?? 0, h.devminor ?? 0);
    } catch (err) {
      // Like docker in a user namespace: a node we may not create is skipped, not fatal for the whole image.
      log.warn('skipping device node', { entry: name, error: (err as Error).message });
      return;
    }
    this.created.add(host);
    await this.setOwnerAndMode(host, meta);
    await fs.utimes(host, meta.mtime, meta.mtime);
  }

  /** Owner then mode (chown clears setuid). `host` was just created or checked by us, so it is no symlink. */
  private async setOwnerAndMode(host: string, meta: Meta): Promise<void> {
    if (!this.noLchown) await fs.lchown(host, meta.uid, meta.gid);
    await fs.chmod(host, meta.mode);
    if (meta.mode & 0o2000) this.setgidDirs.add(host);
    else this.setgidDirs.delete(host);
  }

  private needsChown(meta: Meta, parentHost: string): boolean {
    if (this.noLchown) return false;
    return !(RUNNING_AS_ROOT && meta.uid === 0 && meta.gid === 0 && !this.setgidDirs.has(parentHost));
  }

  /** Extended attributes from PAX records (file capabilities, user.*). Best effort, like docker's. trusted.*
   * is refused: it is where overlayfs keeps its own state (opaque, redirect), which only whiteouts may set. */
  private async xattrs(h: tar.Header, host: string): Promise<void> {
    const pax = (h.pax ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(pax)) {
      if (!key.startsWith(PAX_XATTR_PREFIX)) continue;
      const attr = key.slice(PAX_XATTR_PREFIX.length);
      if (attr.startsWith('trusted.')) { log.warn('ignoring trusted xattr in layer', { entry: h.name, xattr: attr }); continue; }
      // tar-stream decodes PAX values as UTF-8: a binary value that did not survive is skipped, not corrupted.
      if (value.includes('\uFFFD')) { log.warn('skipping binary xattr', { entry: h.name, xattr: attr }); continue; }
      await lsetxattr(host, attr, Buffer.from(value, 'utf8')).catch((err: Error) =>
        log.warn('could not set xattr', { entry: h.name, xattr: attr, error: err.message }));
    }
  }

  /** Docker's rule: whatever exists at the path is removed, unless a directory meets a directory. */
  private async removeExisting(host: string): Promise<void> {
    if (!this.created.has(host)) return;
    const st = await fs.lstat(host).catch(() => undefined);
    if (!st) return;
    await this.settle(); // nothing in flight may still be touching what goes away
    await fs.rm(host, { recursive: true, force: true }); // rm never follows symlinks
    this.tree.forget();
  }
}

function hasXattrs(h: tar.Header): boolean {
  return Object.keys((h.pax ?? {}) as Record<string, string>).some((k) => k.startsWith(PAX_XATTR_PREFIX));
}

/** Owner, mode and mtime, with PAX records (large ids, sub-second times) taking precedence like Go's tar. */
function headerMeta(h: tar.Header): Meta {
  const pax = (h.pax ?? {}) as Record<string, string>;
  const num = (v: string | undefined, fallback: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : fallback);
  const paxTime = pax.mtime !== undefined ? Number(pax.mtime) : NaN;
  return {
    uid: num(pax.uid, h.uid ?? 0),
    gid: num(pax.gid, h.gid ?? 0),
    mode: (h.mode ?? 0o644) & 0o7777,
    mtime: Number.isFinite(paxTime) ? new Date(paxTime * 1000) : h.mtime ?? new Date(0),
  };
}
