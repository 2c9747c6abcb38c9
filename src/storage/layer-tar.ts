// An unpacked layer (overlayfs format) back to a layer tarball, the way docker's overlay2 driver exports one:
// whiteouts (0:0 character devices) become empty `.wh.<name>` files, opaque directories
// (trusted.overlay.opaque=y) get a `.wh..wh..opq` entry right after them, hard links inside the layer become
// link entries, file capabilities travel as SCHILY.xattr.security.capability. The output is deterministic
// (names in byte order, no root entry, times in whole seconds, no user/group names): the same directory always
// gives the same bytes, so a digest computed in one pass holds for a second pass that streams it.
//
// Note for save: a layer that arrived as a tarball is saved from that tarball (the store keeps it); a tar
// regenerated here has the layer's files but generally not the original's bytes (order, headers), so its
// digest differs from the diff id the image config names. It is the right tool where the tar defines the
// diff id (commit) or where only the files matter.
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs, Stats } from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';
import { encodeHeader, END_OF_ARCHIVE, padding, TarHeader } from './tar-header';
import { overlayOpaqueXattr } from '../common/userns';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
// rootless: user.overlay.opaque (overlays mounted with userxattr inside the user namespace)
const OPAQUE_XATTR = overlayOpaqueXattr();
const CAPABILITY_XATTR = 'security.capability';
const CHUNK = 1 << 20;

export interface LayerTarOptions {
  /** Extended attributes by path relative to the root ('' for the root). Default: read with getfattr. */
  xattrs?: Map<string, Record<string, Buffer>>;
  /** Paths relative to the root left out, with everything below them (commit: the runtime's mount targets). */
  exclude?: ReadonlySet<string>;
  /**
   * File contents are read into one buffer reused for every chunk: a chunk is valid only until the next one is
   * asked for, so only for a consumer that copies it at once (stageLayer does). Fresh memory is costly here: a
   * new 1 MiB buffer per chunk made reading 5x slower than the reads themselves.
   */
  reuseBuffers?: boolean;
}

/** Streams the layer at `root` as an uncompressed tar. */
export async function* layerTar(root: string, opts: LayerTarOptions = {}): AsyncGenerator<Buffer> {
  const xattrs = opts.xattrs ?? await readXattrs(root);
  const seenInodes = new Map<string, string>();
  const shared = opts.reuseBuffers ? Buffer.allocUnsafe(CHUNK) : undefined;
  for await (const item of walk(root, '', opts.exclude)) {
    const { rel, st } = item;
    const attrs = xattrs.get(rel);
    const base = { uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isDirectory()) {
      yield encodeHeader({ ...base, name: `${rel}/`, type: 'directory', mode: st.mode & 0o7777 });
      if (attrs?.[OPAQUE_XATTR]?.toString() === 'y') {
        yield encodeHeader({ ...base, name: `${rel}/${OPAQUE_WHITEOUT}`, type: 'file', mode: st.mode & 0o777, size: 0 });
      }
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seenInodes.get(key) : undefined;
      if (first !== undefined) {
        yield encodeHeader({ ...base, name: rel, type: 'link', mode: st.mode & 0o7777, linkname: first });
        continue;
      }
      if (st.nlink > 1) seenInodes.set(key, rel);
      const cap = attrs?.[CAPABILITY_XATTR];
      const header: TarHeader = { ...base, name: rel, type: 'file', mode: st.mode & 0o7777, size: st.size };
      if (cap) header.pax = { [`SCHILY.xattr.${CAPABILITY_XATTR}`]: cap };
      yield encodeHeader(header);
      yield* fileContent(path.join(root, rel), st.size, rel, shared);
      yield padding(st.size);
    } else if (st.isSymbolicLink()) {
      yield encodeHeader({ ...base, name: rel, type: 'symlink', mode: st.mode & 0o7777, linkname: await fs.readlink(path.join(root, rel)) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const major = devMajor(st.rdev);
      const minor = devMinor(st.rdev);
      if (st.isCharacterDevice() && major === 0 && minor === 0) {
        const dir = path.posix.dirname(rel);
        const name = `${dir === '.' ? '' : dir + '/'}${WHITEOUT_PREFIX}${path.posix.basename(rel)}`;
        yield encodeHeader({ ...base, name, type: 'file', mode: 0o600, size: 0 });
      } else {
        yield encodeHeader({ ...base, name: rel, type: st.isCharacterDevice() ? 'character-device' : 'block-device', mode: st.mode & 0o7777, devmajor: major, devminor: minor });
      }
    } else if (st.isFIFO()) {
      yield encodeHeader({ ...base, name: rel, type: 'fifo', mode: st.mode & 0o7777 });
    }
    // sockets are skipped, as docker's archiver does
  }
  yield END_OF_ARCHIVE();
}

/** Digest and size of layerTar(root) without keeping it. */
export async function layerTarDigest(root: string, opts: LayerTarOptions = {}): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of layerTar(root, opts)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Depth first, names in byte order, the root itself left out (docker's archiver does the same). */
async function* walk(root: string, rel: string, exclude?: ReadonlySet<string>): AsyncGenerator<{ rel: string; st: Stats }> {
  const dir = rel === '' ? root : path.join(root, rel);
  const names = (await fs.readdir(dir)).sort(byteOrder);
  for (const name of names) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (exclude?.has(childRel)) continue;
    const st = await fs.lstat(path.join(root, childRel));
    yield { rel: childRel, st };
    if (st.isDirectory()) yield* walk(root, childRel, exclude);
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Exactly `size` bytes of the file; a file that changed size under us is an error, not a corrupt tar. */
async function* fileContent(file: string, size: number, rel: string, shared?: Buffer): AsyncGenerator<Buffer> {
  if (size === 0) return;
  const fh = await fs.open(file, 'r');
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(CHUNK, size - pos);
      const buf = shared ? shared.subarray(0, want) : Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) throw new EngineError(500, `layer file ${rel} shrank while it was being archived`);
      pos += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

// glibc's gnu_dev_major/minor on a 64-bit dev_t.
const devMajor = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const devMinor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/**
 * The xattrs an export needs (opaque markers, file capabilities) for a whole tree, from one `getfattr -R`
 * (Debian package attr, which unpacking already needs for setfattr). Paths in the map are relative to `root`.
 */
export function readXattrs(root: string): Promise<Map<string, Record<string, Buffer>>> {
  const pattern = `^(${OPAQUE_XATTR.replace(/\./g, '\\.')}|security\\.capability)$`;
  return new Promise((resolve, reject) => {
    execFile('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', pattern, '-e', 'hex', '--', root],
      { encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new EngineError(500, 'getfattr not found: install the Debian package attr'));
          return;
        }
        // getfattr exits 1 when it merely could not read some entry (a dangling path); what it printed is usable
        if (err && stdout.length === 0 && stderr.length > 0) {
          reject(new EngineError(500, `getfattr failed: ${stderr.toString().trim()}`));
          return;
        }
        resolve(parseGetfattr(stdout, root));
      });
  });
}

/** Parses `getfattr -d -e hex --absolute-names` output; names are octal-escaped bytes. */
export function parseGetfattr(out: Buffer, root: string): Map<string, Record<string, Buffer>> {
  const result = new Map<string, Record<string, Buffer>>();
  const prefix = root.replace(/\/+$/, '');
  let current: Record<string, Buffer> | undefined;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      const raw = line.slice('# file: '.length).replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
      const abs = Buffer.from(raw, 'latin1').toString('utf8');
      const rel = abs === prefix ? '' : abs.startsWith(prefix + '/') ? abs.slice(prefix.length + 1) : undefined;
      current = rel === undefined ? undefined : {};
      if (current && rel !== undefined) result.set(rel, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq <= 0) continue;
    const value = line.slice(eq + 1);
    if (!value.startsWith('0x')) continue;
    current[line.slice(0, eq)] = Buffer.from(value.slice(2), 'hex');
  }
  return result;
}

