// `docker save`: images → one tar in the layout Docker 25+ writes: an OCI image layout (oci-layout, index.json,
// blobs/sha256/…) that is also a docker-archive (manifest.json [{Config, RepoTags, Layers}], repositories).
//
// Everything the archive says about itself (digests, sizes, manifests) is worked out before the first byte is
// sent, so a failure is a clean HTTP error and the stream itself is only file bytes: layer tarballs go from the
// blob files (opened up front: an `rmi` during the save cannot pull them away) to the socket without temp files.
//
// Layers are written as the store keeps them: plain tars (import, load) as is, gzip/zstd ones (pulls) as is with
// their OCI media type — docker load, containerd and skopeo all decompress layers — rather than decompressing
// 2-3x the bytes the way docker's own save does. bzip2/xz tarballs (rare imports) have no OCI media type and
// are decompressed on the fly (their size is counted first). A layer whose tarball was not kept is regenerated
// from its files (layer-tar.ts) and used only if that reproduces the diff id.
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import { EngineError } from '../common/errors';
import { Compression, decompress } from './compression';
import { digestHex, sha256Digest } from './digest';
import type { ImageRecord } from './images';
import { LayerBlob } from './layers';
import { layerTar } from './layer-tar';
import { familiarName, familiarRepository, Reference, referenceString } from './reference';
import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-header';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const OCI_LAYOUT = '{"imageLayoutVersion": "1.0.0"}';
const READ_CHUNK = 2 << 20;

/** What save needs from the image store. */
export interface SaveStore {
  layerBlob(chainId: string): LayerBlob | undefined;
  blobPath(digest: string): string;
  readBlob(digest: string): Promise<Buffer>;
  layerDiffDir(chainId: string): string;
}

/** One image to save and the tags it carries into the archive. */
export interface SaveItem { image: ImageRecord; tags: Reference[] }

type Content =
  | { kind: 'dir' }
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'file'; handle: fs.FileHandle; size: number }
  | { kind: 'stream'; size: number; open: () => AsyncIterable<Uint8Array> };

interface Entry { name: string; mtime: number; content: Content }

/** A save worked out in full; stream() it once, then close(). */
export interface SavePlan {
  /** Bytes the archive will have. */
  readonly size: number;
  stream(): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

interface LayerDescriptor { mediaType: string; digest: string; size: number }

/** Compression of a stored blob, from its media type (ours or a registry's). */
function blobCompression(mediaType: string): Compression {
  if (/gzip/.test(mediaType)) return 'gzip';
  if (/zstd/.test(mediaType)) return 'zstd';
  if (/bzip2/.test(mediaType)) return 'bzip2';
  if (/xz/.test(mediaType)) return 'xz';
  return 'none';
}

const seconds = (iso: string | undefined) => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
};

/** Resolves every layer to its bytes and builds the metadata documents; opens the blob files. */
export async function planSave(store: SaveStore, items: SaveItem[]): Promise<SavePlan> {
  const blobs = new Map<string, Entry>(); // by hex
  const handles: fs.FileHandle[] = [];
  const manifestItems: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const indexDescriptors: object[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  try {
    for (const { image, tags } of items) {
      const mtime = seconds(image.created);
      const layers: LayerDescriptor[] = [];
      for (let i = 0; i < image.chainIds.length; i++) {
        const desc = await layerSource(store, image.chainIds[i], image.diffIds[i], mtime, blobs, handles);
        layers.push(desc);
      }
      const config = await store.readBlob(image.id);
      if (sha256Digest(config) !== image.id) throw new EngineError(500, `image config ${image.id} is corrupt in the store`);
      blobs.set(digestHex(image.id), { name: blobName(image.id), mtime, content: { kind: 'bytes', bytes: config } });

      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, digest: image.id, size: config.length },
        layers,
      }));
      const manifestDigest = sha256Digest(manifest);
      blobs.set(digestHex(manifestDigest), { name: blobName(manifestDigest), mtime: 0, content: { kind: 'bytes', bytes: manifest } });
      const platform: Record<string, string> = { architecture: image.config.architecture, os: image.config.os };
      if (image.config.variant) platform.variant = image.config.variant;
      const descriptor = { mediaType: MEDIA_TYPES.ociManifest, digest: manifestDigest, size: manifest.length };
      for (const tag of tags) {
        indexDescriptors.push({
          ...descriptor,
          annotations: { [ANNOTATION_IMAGE_NAME]: referenceString(tag), [ANNOTATION_REF_NAME]: tag.tag ?? 'latest' },
          platform,
        });
        const repo = familiarRepository(tag);
        (repositories[repo] ??= {})[tag.tag ?? 'latest'] = digestHex(image.diffIds[image.diffIds.length - 1] ?? image.id);
      }
      if (tags.length === 0) indexDescriptors.push({ ...descriptor, platform });
      manifestItems.push({
        Config: blobName(image.id),
        RepoTags: tags.length ? tags.map((t) => familiarName(t)) : null,
        Layers: layers.map((l) => blobName(l.digest)),
      });
    }
  } catch (err) {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    throw err;
  }

  const json = (v: unknown) => Buffer.from(JSON.stringify(v) + '\n');
  const entries: Entry[] = [
    { name: 'blobs/', mtime: 0, content: { kind: 'dir' } },
    { name: 'blobs/sha256/', mtime: 0, content: { kind: 'dir' } },
    ...[...blobs.keys()].sort().map((hex) => blobs.get(hex)!),
    { name: 'index.json', mtime: 0, content: { kind: 'bytes', bytes: json({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: indexDescriptors }) } },
    { name: 'manifest.json', mtime: 0, content: { kind: 'bytes', bytes: json(manifestItems) } },
    { name: 'oci-layout', mtime: 0, content: { kind: 'bytes', bytes: Buffer.from(OCI_LAYOUT) } },
  ];
  if (Object.keys(repositories).length > 0) {
    entries.push({ name: 'repositories', mtime: 0, content: { kind: 'bytes', bytes: json(sortKeys(repositories)) } });
  }
  let size = 1024;
  for (const e of entries) size += 512 + (e.content.kind === 'dir' ? 0 : padTo512(contentSize(e.content)));
  let closed = false;
  return {
    size,
    stream: () => streamEntries(entries),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    },
  };
}

const blobName = (digest: string) => `blobs/sha256/${digestHex(digest)}`;
const padTo512 = (n: number) => Math.ceil(n / 512) * 512;
const contentSize = (c: Content) => (c.kind === 'bytes' ? c.bytes.length : c.kind === 'dir' ? 0 : c.size);

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? sortKeys(v as Record<string, unknown>) as T : v;
  }
  return out;
}

/** Picks how one layer's bytes get into the archive and returns its manifest descriptor. */
async function layerSource(store: SaveStore, chainId: string, diffId: string, mtime: number, blobs: Map<string, Entry>,
  handles: fs.FileHandle[]): Promise<LayerDescriptor> {
  const blob = store.layerBlob(chainId);
  const compression = blob ? blobCompression(blob.mediaType) : 'none';
  if (blob && (compression === 'none' || compression === 'gzip' || compression === 'zstd')) {
    const mediaType = compression === 'gzip' ? MEDIA_TYPES.layerGzip : compression === 'zstd' ? MEDIA_TYPES.layerZstd : MEDIA_TYPES.layerTar;
    const known = blobs.get(digestHex(blob.digest));
    if (known) return { mediaType, digest: blob.digest, size: contentSize(known.content) };
    const handle = await fs.open(store.blobPath(blob.digest), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // removed meanwhile: fall back to the files
      throw err;
    });
    if (handle) {
      handles.push(handle);
      const size = (await handle.stat()).size;
      blobs.set(digestHex(blob.digest), { name: blobName(blob.digest), mtime, content: { kind: 'file', handle, size } });
      return { mediaType, digest: blob.digest, size };
    }
  }
  if (blobs.has(digestHex(diffId))) return { mediaType: MEDIA_TYPES.layerTar, digest: diffId, size: contentSize(blobs.get(digestHex(diffId))!.content) };

  // The uncompressed tar, produced twice: once to learn its size (and check it is the layer), once to send it.
  let open: () => AsyncIterable<Uint8Array>;
  if (blob && (compression === 'bzip2' || compression === 'xz')) {
    const file = store.blobPath(blob.digest);
    open = () => decompress(readFile(file));
  } else {
    const dir = store.layerDiffDir(chainId);
    open = () => layerTar(dir);
  }
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of open()) { hash.update(chunk); size += chunk.length; }
  } catch (err) {
    throw new EngineError(500, `cannot export layer ${diffId}: ${(err as Error).message}`);
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== diffId) {
    throw new EngineError(500, `cannot export layer ${diffId}: its tarball was not kept and its files do not reproduce it (got ${digest})`);
  }
  blobs.set(digestHex(diffId), { name: blobName(diffId), mtime, content: { kind: 'stream', size, open } });
  return { mediaType: MEDIA_TYPES.layerTar, digest: diffId, size };
}

async function* readFile(file: string): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

async function* streamEntries(entries: Entry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const c = e.content;
    if (c.kind === 'dir') {
      yield encodeHeader({ name: e.name, type: 'directory', mode: 0o755, mtime: e.mtime });
      continue;
    }
    const size = contentSize(c);
    yield encodeHeader({ name: e.name, type: 'file', mode: 0o644, mtime: e.mtime, size });
    if (c.kind === 'bytes') {
      yield c.bytes;
    } else if (c.kind === 'file') {
      let pos = 0;
      while (pos < size) {
        const want = Math.min(READ_CHUNK, size - pos);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await c.handle.read(buf, 0, want, pos);
        if (bytesRead === 0) throw new EngineError(500, `${e.name} shrank while it was being saved`);
        pos += bytesRead;
        yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
      }
    } else {
      let sent = 0;
      for await (const chunk of c.open()) {
        sent += chunk.length;
        if (sent > size) throw new EngineError(500, `${e.name} changed while it was being saved`);
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (sent !== size) throw new EngineError(500, `${e.name} changed while it was being saved`);
    }
    yield padding(size);
  }
  yield END_OF_ARCHIVE();
}
