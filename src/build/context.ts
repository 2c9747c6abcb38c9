// The build context on the daemon's side: the tar the client sends (plain, gzip, bzip2 or xz), extracted into a
// private directory as it streams in; then, for COPY/ADD, the source lookup (Go glob rules, Docker's errors) and
// a content checksum of the sources for the build cache.
//
// Safety (a context tar comes from any API client): every entry name is confined to the directory like a chroot
// (`..` above the root is refused; absolute names, symlinked parents and hard-link targets resolve inside it;
// src/storage/confined.ts); files are created O_EXCL|O_NOFOLLOW after removing what was there, so no symlink
// planted by an earlier entry is ever written through; device nodes and FIFOs are skipped (a build context has
// no use for them). Nothing is held in memory but the current piece of the current file. Path lookups are
// confined the same way, so a COPY of `link -> /etc/passwd` finds <context>/etc/passwd, never the host's.
import { createHash } from 'crypto';
import { constants as C, lstatSync, promises as fsp, readlinkSync, Stats } from 'fs';
import * as path from 'path';
import * as tar from 'tar-stream';
import { EngineError } from '../common/errors';
import { decompress } from '../storage/compression';
import { ConfinedTree, badEntry, entryParts } from '../storage/confined';
import { feedTar } from '../storage/tar-feed';
import { completeTarEnd } from './tar-end';
import { DockerIgnore } from './dockerignore';
import { cleanPath, goMatch, hasWildcards } from './match';

export interface ContextEntry {
  /** Where the entry ended up, relative to the context root, slash-separated. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Permission bits (with setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content (files). */
  size: number;
  /** Symlink target as written, or the hard link's target path (relative to the root). */
  linkname?: string;
}

export interface ExtractOptions {
  /** Refuse contexts whose file contents add up to more than this many bytes. */
  maxBytes?: number;
  /** Give entries the owners of the tar headers; default: when running as root (others cannot). */
  chown?: boolean;
}

export interface ExtractResult {
  /** Every entry, in archive order (an entry given twice appears once, where it was last given). */
  entries: ContextEntry[];
  /** Entries not extracted (device nodes, FIFOs), by name. */
  skipped: string[];
  /** Sum of file sizes. */
  bytes: number;
}

type TarEntry = AsyncIterable<Buffer> & { header: tar.Header; resume(): unknown };

const OPEN_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const RUNNING_AS_ROOT = process.geteuid?.() === 0;

/** Writes tar entries below `root`, which must exist and be empty (only this extraction writes there). */
class ContextWriter {
  private readonly tree: ConfinedTree;
  /** Host paths created so far: the root started empty, so anything else does not exist. */
  private readonly created = new Set<string>();
  private readonly entries = new Map<string, ContextEntry>();
  /** Directory modes, applied at the end: a read-only directory must stay writable while it fills. */
  private readonly dirModes = new Map<string, number>();
  readonly skipped: string[] = [];
  bytes = 0;

  constructor(root: string, private readonly opts: ExtractOptions) {
    this.tree = new ConfinedTree(root);
  }

  /** Sets directory modes (after chown, which clears setuid/setgid), deepest first, then returns the result. */
  async finish(): Promise<ExtractResult> {
    const dirs = [...this.dirModes].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, mode] of dirs) {
      // a directory replaced later by something else keeps no mode of its own
      if (this.tree.isPlainDir(rel)) await fsp.chmod(this.tree.host(rel), mode);
    }
    return { entries: [...this.entries.values()], skipped: this.skipped, bytes: this.bytes };
  }

  async entry(entry: TarEntry): Promise<void> {
    const h = entry.header;
    const name = h.name;
    // tar-stream reports typeflags it does not know (GNU sparse 'S', vendor types) as null: not a file
    if (h.type === null || h.type === undefined) throw badEntry(name, 'unsupported entry type');
    const type = h.type;
    const parts = contextParts(name, name);
    if (parts.length === 0) {
      if (type !== 'directory') throw badEntry(name, 'the context root can only be a directory');
      return drain(entry);
    }
    if (type === 'character-device' || type === 'block-device' || type === 'fifo') {
      this.skipped.push(name);
      return drain(entry);
    }
    const parentRel = this.tree.resolveDir(parts.slice(0, -1), true, name, (dir) => this.created.add(dir));
    if (parentRel === undefined) throw badEntry(name, 'parent directory missing'); // create=true never leaves it so
    const base = parts[parts.length - 1];
    const rel = parentRel === '' ? base : `${parentRel}/${base}`;
    const host = this.tree.host(rel);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const uid = h.uid ?? 0;
    const gid = h.gid ?? 0;
    const chown = this.opts.chown ?? RUNNING_AS_ROOT;
    const record = (e: Omit<ContextEntry, 'path' | 'mode' | 'uid' | 'gid'>) => {
      this.entries.delete(rel);
      this.entries.set(rel, { path: rel, mode, uid, gid, ...e });
    };

    switch (type) {
      case 'directory': {
        const st = this.created.has(host) ? await fsp.lstat(host).catch(() => undefined) : undefined;
        if (!st?.isDirectory()) {
          if (st) await this.remove(host, rel);
          await fsp.mkdir(host, { mode: 0o700 });
          this.created.add(host);
        }
        if (chown) await fsp.lchown(host, uid, gid);
        this.dirModes.set(rel, mode);
        this.tree.noteDir(rel);
        record({ type: 'dir', size: 0 });
        return drain(entry);
      }
      case 'symlink':
        if (!h.linkname) throw badEntry(name, 'empty symlink target');
        await this.remove(host, rel);
        await fsp.symlink(h.linkname ?? '', host);
        this.created.add(host);
        if (chown) await fsp.lchown(host, uid, gid);
        record({ type: 'symlink', size: 0, linkname: h.linkname ?? '' });
        return drain(entry);
      case 'link': {
        const target = this.linkTarget(name, h.linkname ?? '');
        if (target.host !== host) {
          await this.remove(host, rel);
          await fsp.link(target.host, host); // link(2) does not follow a symlink: at worst it links the symlink
          this.created.add(host);
        }
        record({ type: 'hardlink', size: 0, linkname: target.rel });
        return drain(entry);
      }
      case 'file':
      case 'contiguous-file':
        await this.remove(host, rel);
        record({ type: 'file', size: await this.writeFile(entry, host, mode, chown ? [uid, gid] : undefined) });
        return;
      default:
        // pax and GNU long-name records are consumed by the tar reader; anything else is not a file
        throw badEntry(name, `unsupported entry type ${type}`);
    }
  }

  private async writeFile(entry: TarEntry, host: string, mode: number, owner: [number, number] | undefined): Promise<number> {
    const fh = await fsp.open(host, OPEN_FLAGS, 0o600);
    this.created.add(host);
    let size = 0;
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        this.bytes += chunk.length;
        if (this.opts.maxBytes !== undefined && this.bytes > this.opts.maxBytes) {
          throw new EngineError(400, `build context is larger than the allowed ${this.opts.maxBytes} bytes`);
        }
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      if (owner) await fh.chown(owner[0], owner[1]);
      await fh.chmod(mode);
      const mtime = entry.header.mtime;
      if (mtime) await fh.utimes(mtime, mtime);
    } finally {
      await fh.close();
    }
    return size;
  }

  /** A hard link's target: confined like any name, and it must already be in the context. */
  private linkTarget(name: string, linkname: string): { host: string; rel: string } {
    const parts = contextParts(linkname, name);
    if (parts.length === 0) throw badEntry(name, 'hard link to the context root');
    const parent = this.tree.resolveDir(parts.slice(0, -1), false, name);
    const last = parts[parts.length - 1];
    const rel = parent === undefined ? undefined : parent === '' ? last : `${parent}/${last}`;
    const st = rel === undefined ? undefined : lstatSync(this.tree.host(rel), { throwIfNoEntry: false });
    if (rel === undefined || !st) throw badEntry(name, `hard link target ${JSON.stringify(linkname)} not found in the context`);
    if (st.isDirectory()) throw badEntry(name, 'hard link to a directory');
    return { host: this.tree.host(rel), rel };
  }

  /** Docker's rule: whatever is at the path goes, unless a directory meets a directory (handled by the caller). */
  private async remove(host: string, rel: string): Promise<void> {
    if (!this.created.has(host)) return;
    await fsp.rm(host, { recursive: true, force: true }); // rm never follows symlinks
    this.tree.forget(); // a removed directory may come back as a symlink: resolve parents afresh
    for (const map of [this.entries, this.dirModes]) {
      map.delete(rel);
      for (const key of map.keys()) if (key.startsWith(`${rel}/`)) map.delete(key);
    }
  }
}

/** entryParts with this module's wording: the entry `name` is blamed even when its link target is the problem. */
function contextParts(p: string, name: string): string[] {
  try {
    return entryParts(p);
  } catch (err) {
    if (p.includes('\0')) throw badEntry(name, 'NUL in name');
    throw badEntry(name, p === name ? 'path escapes the build context' : `link target ${JSON.stringify(p)} escapes the build context`);
  }
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry as AsyncIterable<Buffer>) { /* no content expected; skip whatever there is */ }
}

/**
 * Extracts a build context tar (plain or compressed) into `dest` (an existing, empty, private directory) as it
 * streams in. Throws EngineError 400 for a hostile or broken archive; `dest` then holds a partial tree that the
 * caller removes.
 */
export async function extractContext(input: AsyncIterable<Uint8Array>, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  if ((await fsp.readdir(dest)).length > 0) throw new EngineError(500, `context directory ${dest} is not empty`);
  const writer = new ContextWriter(dest, opts);
  // old V7 tars carry no ustar magic; tar-stream reads them when asked to (its types do not list the option)
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  let sourceError: unknown;
  const feeding = feedTar(completeTarEnd(decompress(input)), extract).catch((err: unknown) => {
    sourceError = err;
    extract.destroy(err as Error);
  });
  try {
    for await (const entry of extract as unknown as AsyncIterable<TarEntry>) {
      try {
        await writer.entry(entry);
      } finally {
        entry.resume(); // an entry left half-read would stall the reader
      }
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    await feeding;
    throw asContextError(sourceError ?? err);
  }
  if (sourceError !== undefined) throw asContextError(sourceError);
  return writer.finish();
}


function asContextError(err: unknown): Error {
  if (err instanceof EngineError) return err;
  const e = err as NodeJS.ErrnoException;
  // file system errors (they name a syscall) are ours; the tar reader's and zlib's are about the input
  if (e.syscall !== undefined) return e;
  // an archive cut short ends the entry being read: Go's archive/tar calls it "unexpected EOF"
  const truncated = e.code === 'STREAM_DESTROYED' || /unexpected end/i.test(e.message ?? '');
  return new EngineError(400, `invalid build context: ${truncated ? 'unexpected EOF' : e.message ?? String(err)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// .dockerignore on the daemon side

/**
 * Removes from an extracted context what `ignore` excludes, keeping `keep` (the Dockerfile and .dockerignore
 * until they are read). An excluded directory goes whole unless a `!` pattern may re-include something in it.
 * Returns the removed paths. See dockerignore.ts for why the daemon does this.
 */
export async function removeIgnored(root: string, ignore: DockerIgnore, keep: readonly string[] = []): Promise<string[]> {
  const removed: string[] = [];
  if (ignore.empty) return removed;
  const kept = new Set(keep.map(cleanPath));
  const walk = async (dir: string, info: readonly boolean[] | undefined): Promise<void> => {
    const names = (await fsp.readdir(dir === '' ? root : `${root}/${dir}`)).sort(byteOrder);
    for (const name of names) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      const host = `${root}/${rel}`;
      const st = await fsp.lstat(host);
      const m = ignore.matchesInWalk(rel, info ?? undefined);
      if (!m.excluded || kept.has(rel)) {
        if (st.isDirectory()) await walk(rel, m.info);
        continue;
      }
      if (!st.isDirectory() || (ignore.canSkipDir(rel) && ![...kept].some((k) => k.startsWith(`${rel}/`)))) {
        await fsp.rm(host, { recursive: true, force: true });
        removed.push(rel);
        continue;
      }
      // an exception may bring back something inside: look inside, and drop the directory if nothing stayed
      await walk(rel, m.info);
      if ((await fsp.readdir(host)).length === 0) {
        await fsp.rmdir(host);
        removed.push(rel);
      }
    }
  };
  await walk('', undefined);
  return removed;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

// ---------------------------------------------------------------------------------------------------------------
// COPY/ADD sources

/** Symlink hops allowed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * Resolves a slash path inside `root` as if root were `/`: `..` stops at the root, symlinks (in any component,
 * the last included) are followed within the root. Returns the path relative to root ('' for the root itself),
 * or undefined when nothing is there. Synchronous: a few lstat calls per source.
 */
export function resolveInRoot(root: string, p: string): string | undefined {
  const tree = new ConfinedTree(root);
  let parts = p.split('/').filter((c) => c !== '' && c !== '.');
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    if (parts.length === 0) return '';
    const last = parts[parts.length - 1];
    let parent: string | undefined;
    try {
      if (last === '..') return tree.resolveDir(parts, false, p);
      parent = tree.resolveDir(parts.slice(0, -1), false, p);
    } catch {
      return undefined; // a component that is not a directory, or a symlink loop: nothing is there
    }
    if (parent === undefined) return undefined;
    const rel = parent === '' ? last : `${parent}/${last}`;
    const st = lstatSync(tree.host(rel), { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isSymbolicLink()) return rel;
    const target = readlinkSync(tree.host(rel));
    const base = target.startsWith('/') || parent === '' ? [] : parent.split('/');
    parts = [...base, ...target.split('/')].filter((c) => c !== '' && c !== '.');
  }
  return undefined;
}

export interface CopySource {
  /** The source as written in the instruction (after variable expansion). */
  source: string;
  /** For ADD: a remote URL, fetched by the builder (`path` is then ''). */
  url?: string;
  /** The path inside the root as matched, before symlinks: what Docker names the copied file after. */
  path: string;
  /** The path inside the root after following symlinks ('' is the root itself). */
  resolved: string;
  isDir: boolean;
}

export interface SourceOptions {
  /** 'COPY' (default) or 'ADD': the prefix of error messages, and whether URLs are allowed. */
  cmd?: 'COPY' | 'ADD';
  /** The destination: with several sources it must end with `/`. */
  dest?: string;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

/**
 * The files a COPY/ADD copies from `root` (the context, or a stage's or image's root for --from), with the
 * classic builder's rules: a leading `/` or `./` is dropped; a source with `*`, `?` or `[` is matched (Go's
 * filepath.Match) against every path in the tree, in lexical order, and may match nothing; any other source must
 * exist. Throws EngineError 400 with Docker's texts:
 *   `COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does not exist`,
 *   `COPY failed: no source files were specified`,
 *   `When using COPY with more than one source file, the destination must be a directory and end with a /`.
 */
export async function expandSources(root: string, sources: readonly string[], opts: SourceOptions = {}): Promise<CopySource[]> {
  const cmd = opts.cmd ?? 'COPY';
  const failed = (msg: string) => new EngineError(400, `${cmd} failed: ${msg}`);
  const out: CopySource[] = [];
  const lookup = (source: string, p: string): CopySource => {
    const resolved = resolveInRoot(root, p);
    const st = resolved === undefined ? undefined : lstatSync(resolved === '' ? root : `${root}/${resolved}`, { throwIfNoEntry: false });
    if (resolved === undefined || !st) {
      throw failed(`file not found in build context or excluded by .dockerignore: stat ${p}: file does not exist`);
    }
    // cleaned as if rooted, so `..` stops at the root like the lookup did
    return { source, path: cleanPath(`/${p}`).slice(1), resolved, isDir: st.isDirectory() };
  };
  let tree: string[] | undefined;
  for (const source of sources) {
    if (isUrl(source)) {
      if (cmd === 'COPY') throw failed("source can't be a URL for COPY");
      out.push({ source, url: source, path: '', resolved: '', isDir: false });
      continue;
    }
    let p = source.startsWith('/') ? source.slice(1) : source;
    if (p.startsWith('./')) p = p.slice(2);
    if (!hasWildcards(p)) {
      out.push(lookup(source, p));
      continue;
    }
    tree ??= await walkTree(root);
    for (const rel of tree) {
      let hit = false;
      try {
        hit = goMatch(p, rel);
      } catch {
        hit = false; // Docker ignores a bad pattern here: it matches nothing
      }
      if (hit) out.push(lookup(source, rel));
    }
  }
  if (out.length === 0) throw failed('no source files were specified');
  if (opts.dest !== undefined && out.length > 1 && !opts.dest.endsWith('/')) {
    throw new EngineError(400, `When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  return out;
}

/** Every path below root (not following symlinks), parents before children, names in byte order. */
async function walkTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fsp.readdir(dir === '' ? root : `${root}/${dir}`, { withFileTypes: true });
    entries.sort((a, b) => byteOrder(a.name, b.name));
    for (const e of entries) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      out.push(rel);
      if (e.isDirectory()) await walk(rel);
    }
  };
  await walk('');
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Checksums for the build cache

/** Files up to this size are read in one call; bigger ones are streamed. */
const SMALL_FILE = 1 << 20;

async function contentDigest(host: string, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size <= SMALL_FILE) {
    h.update(await fsp.readFile(host, { flag: C.O_RDONLY | C.O_NOFOLLOW }));
  } else {
    const fh = await fsp.open(host, C.O_RDONLY | C.O_NOFOLLOW);
    try {
      for await (const chunk of fh.createReadStream()) h.update(chunk as Buffer);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
  return h.digest('hex');
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'socket';
}

/**
 * A sha256 over everything a COPY/ADD of `sources` would copy from `root`: for each source in order, its path,
 * then every entry below it (directories recursively, names in byte order, symlinks not followed) as name, type,
 * permission bits, uid, gid, size, link target and content digest. Times are left out, so touching a file
 * without changing it keeps the cache. Sources are CopySource (from expandSources) or paths inside root.
 */
export async function checksumSources(root: string, sources: ReadonlyArray<CopySource | string>): Promise<string> {
  const total = createHash('sha256');
  const add = (fields: Array<string | number>) => total.update(`${fields.join('\0')}\n`);
  for (const [i, src] of sources.entries()) {
    if (typeof src !== 'string' && src.url !== undefined) {
      add(['url', i, src.url]);
      continue;
    }
    const resolved = typeof src === 'string' ? resolveInRoot(root, src) : src.resolved;
    const name = typeof src === 'string' ? cleanPath(src) : src.path;
    if (resolved === undefined) throw new EngineError(400, `stat ${name}: file does not exist`);
    add(['source', i, name]);
    const visit = async (rel: string, shown: string, st: Stats): Promise<void> => {
      const host = rel === '' ? root : `${root}/${rel}`;
      const kind = kindOf(st);
      const link = kind === 'symlink' ? await fsp.readlink(host) : '';
      const digest = kind === 'file' ? await contentDigest(host, st.size) : '';
      const size = kind === 'file' || kind === 'symlink' ? st.size : 0;
      add([shown, kind, (st.mode & 0o7777).toString(8), st.uid, st.gid, size, link, digest,
        kind === 'char' || kind === 'block' ? st.rdev : '']);
      if (kind !== 'dir') return;
      const names = (await fsp.readdir(host)).sort(byteOrder);
      for (const child of names) {
        const childRel = rel === '' ? child : `${rel}/${child}`;
        await visit(childRel, shown === '' ? child : `${shown}/${child}`, await fsp.lstat(`${root}/${childRel}`));
      }
    };
    await visit(resolved, '', await fsp.lstat(resolved === '' ? root : `${root}/${resolved}`));
  }
  return `sha256:${total.digest('hex')}`;
}

/**
 * The Dockerfile's text from an extracted context (`name` as given by the client, confined like any path).
 * Throws EngineError 400 `Cannot locate specified Dockerfile: <name>` when it is not there.
 */
export async function readContextDockerfile(root: string, name = 'Dockerfile'): Promise<string> {
  const host = contextPath(root, name);
  const st = host === undefined ? undefined : await fsp.stat(host).catch(() => undefined);
  if (host === undefined || !st?.isFile()) throw new EngineError(400, `Cannot locate specified Dockerfile: ${name}`);
  return fsp.readFile(host, 'utf8');
}

/** Where a context path lives on the host (after confinement); undefined when absent. */
export function contextPath(root: string, rel: string): string | undefined {
  const r = resolveInRoot(root, rel);
  return r === undefined ? undefined : r === '' ? root : path.join(root, r);
}
