// `docker load`: a docker-archive (the old layout `<id>/layer.tar` + `<id>.json`, or Docker 25+'s OCI layout with
// manifest.json) or a plain OCI image layout tar (index.json) → images in the store, in one pass over the upload.
//
// The archive is read as it arrives and never extracted to disk: big entries that look like layers are unpacked
// into staging by ImageStore.stageLayer() right away (they usually come before manifest.json), small entries
// (JSON documents, tiny layers) are kept in memory until the end. Once the tar is complete, manifest.json or
// index.json says which files are configs and layers; every image is checked (configs parse, each layer's
// diff id matches its config) before the first one is committed, so a bad archive leaves the store unchanged.
// Staged layers that no image needs are discarded.
import { createHash } from 'crypto';
import * as path from 'path';
import * as tar from 'tar-stream';
import { EngineError } from '../common/errors';
import { decompress } from './compression';
import { chainIds, sha256Digest } from './digest';
import { parseConfigFile } from './image-config';
import type { ImageRecord, StagedLayer, CommitImageOptions } from './images';
import { bytesOf } from './ingest';
import { feedTar } from './tar-feed';
import { familiarName, parseReference, Reference } from './reference';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from './image-save';
import { failpoint } from '../common/failpoint';

/** What load needs from the image store. */
export interface LoadStore {
  stageLayer(input: AsyncIterable<Uint8Array>, opts?: { expectedDigest?: string }): Promise<StagedLayer>;
  discardStaged(layer: StagedLayer): Promise<void>;
  commitImage(configBytes: Buffer, staged: readonly StagedLayer[], opts?: CommitImageOptions): Promise<ImageRecord>;
  hasLayer(chainId: string): boolean;
  /** A stored layer whose diff id or kept tarball has this digest. */
  findLayerByDigest(digest: string): { diffId: string } | undefined;
  tryGet(ref: string): ImageRecord | undefined;
}

export interface LoadOptions {
  /** Progress messages ("Loading layer"), as docker's JSON messages; omit for quiet. */
  onProgress?: (message: Record<string, unknown>) => void;
  /** Result lines ("Loaded image: busybox:latest"), each ending in a newline. */
  onOutput?: (line: string) => void;
}

export interface LoadedImage { id: string; tags: string[] }

/** Entries up to this size are kept in memory until the manifest says what they are. */
const SMALL_ENTRY = 1 << 20;
/** JSON documents (configs, manifests, attestations) above this are not read. */
const MAX_DOCUMENT = 16 << 20;
const MAX_BUFFERED = 256 << 20;
const MAX_LINK_HOPS = 16;
const COALESCE = 1 << 20;

type FileEntry =
  | { kind: 'data'; bytes: Buffer }
  | { kind: 'layer'; staged: StagedLayer }
  | { kind: 'known'; diffId: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'link'; target: string };

interface ImageSpec {
  /** Where it was described (for messages). */
  configPath: string;
  configBytes: Buffer;
  layerPaths: string[];
  tags: Reference[];
}

const tarError = (msg: string) => new EngineError(400, `Error processing tar file: ${msg}`);

/** Loads every image in the archive; returns them in archive order. */
export async function loadImages(store: LoadStore, input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const files = new Map<string, FileEntry>();
  const staged = new Set<StagedLayer>();
  try {
    await readArchive(store, input, files, staged, opts);
    const specs = describeImages(files);
    await checkImages(store, specs, files, staged);
    return await commitImages(store, specs, files, staged, opts);
  } finally {
    for (const l of staged) await store.discardStaged(l).catch(() => undefined);
  }
}

// ---- pass over the tar ----

async function readArchive(store: LoadStore, input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, files: Map<string, FileEntry>,
  staged: Set<StagedLayer>, opts: LoadOptions): Promise<void> {
  const extract = tar.extract();
  let sourceError: unknown;
  const feeding = feedTar(coalesce(decompress(bytesOf(input))), extract).catch((err) => {
    sourceError = err;
    extract.destroy(err as Error);
  });
  let buffered = 0;
  let entryError: unknown;
  const stager = new Stager(store, files, staged, opts);
  try {
    for await (const entry of extract as unknown as AsyncIterable<TarEntry>) {
      try {
        const name = normalize(entry.header.name);
        const h = entry.header;
        if (name === undefined || h.type === 'directory') continue;
        if (h.type === 'symlink') {
          const link = h.linkname ?? '';
          files.set(name, { kind: 'link', target: link.startsWith('/') ? link : path.posix.join(path.posix.dirname(name), link) });
        } else if (h.type === 'link') {
          const target = normalize(h.linkname ?? '');
          if (target !== undefined) files.set(name, { kind: 'link', target });
        } else if (h.type === 'file' || h.type === 'contiguous-file') {
          const size = h.size ?? 0;
          if (size <= SMALL_ENTRY) {
            buffered += size;
            if (buffered > MAX_BUFFERED) throw new EngineError(400, 'invalid archive: too many small files');
            files.set(name, { kind: 'data', bytes: await readAll(entry) });
          } else {
            await bigEntry(store, stager, entry, name, size, files);
          }
        }
      } catch (err) {
        entryError = err;
        throw err;
      } finally {
        entry.resume();
      }
    }
    await feeding;
    if (sourceError !== undefined) throw sourceError;
    await stager.finish();
  } catch (err) {
    extract.destroy();
    await feeding;
    await stager.abort(err);
    if (sourceError !== undefined && !(sourceError instanceof EngineError)) throw tarError((sourceError as Error).message ?? String(sourceError));
    if (sourceError !== undefined) throw sourceError;
    if (entryError !== undefined && isTruncation(entryError)) throw tarError('unexpected EOF');
    if (entryError !== undefined) throw entryError;
    if (stager.error !== undefined) throw isTruncation(stager.error) ? tarError('unexpected EOF') : stager.error;
    throw asTarError(err);
  }
}

type TarEntry = AsyncIterable<Buffer> & { header: tar.Header; resume(): unknown };

function isTruncation(err: unknown): boolean {
  return /unexpected end of data|premature close|aborted/i.test((err as Error)?.message ?? '');
}

function asTarError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/unexpected end of data/i.test(msg)) return tarError('unexpected EOF');
  if (/invalid tar header/i.test(msg)) return tarError('archive/tar: invalid tar header');
  return tarError(msg);
}

/** A big entry: a layer (staged in the background), a layer the store already has (verified, skipped), or a
 * document (kept in memory). Returns once the entry has been read. */
async function bigEntry(store: LoadStore, stager: Stager, entry: TarEntry, name: string, size: number, files: Map<string, FileEntry>): Promise<void> {
  const it = entry[Symbol.asyncIterator]();
  const head = await readHead(it, 512);
  const blobDigest = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name)?.[1];
  const expected = blobDigest ? `sha256:${blobDigest}` : undefined;
  if (looksLikeDocument(head.head)) {
    if (size > MAX_DOCUMENT) {
      for await (const _ of rest(head, it)) { /* skip */ }
      files.set(name, { kind: 'skipped', reason: `${name} is not a layer tarball` });
      return;
    }
    files.set(name, { kind: 'data', bytes: Buffer.concat(await collect(rest(head, it))) });
    return;
  }
  const known = expected ? store.findLayerByDigest(expected) : undefined;
  if (known && expected) {
    const hash = createHash('sha256');
    for await (const chunk of rest(head, it)) hash.update(chunk);
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== expected) throw new EngineError(400, `invalid archive: ${name} has digest ${got}`);
    files.set(name, { kind: 'known', diffId: known.diffId });
    return;
  }
  await stager.stage(name, size, expected, rest(head, it));
}

/** Bytes read from the archive but not yet unpacked, over all layers: the tar is read ahead (so layers unpack
 * in parallel and the upload is not held back by the disk) up to this much. */
class Budget {
  private used = 0;
  private waiters: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async take(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.used += n;
  }
  give(n: number): void {
    this.used -= n;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** One layer's bytes between the archive reader and its stageLayer(). */
class ChunkQueue implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private ended = false;
  private failure: unknown;
  private closed = false;
  private wake?: () => void;
  constructor(private readonly budget: Budget) {}
  /** False once the consumer has gone (its stage failed): the caller stops feeding. */
  push(chunk: Buffer): boolean {
    if (this.closed) { this.budget.give(chunk.length); return false; }
    this.chunks.push(chunk);
    this.wake?.();
    return true;
  }
  end(): void { this.ended = true; this.wake?.(); }
  /** The consumer is gone without reading (its stage failed before it started): free what is buffered. */
  close(): void {
    this.closed = true;
    for (const c of this.chunks.splice(0)) this.budget.give(c.length);
  }
  fail(err: unknown): void { this.failure ??= err; this.wake?.(); }
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.chunks.shift();
        if (chunk) {
          this.budget.give(chunk.length);
          yield chunk;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = undefined;
      }
    } finally {
      this.closed = true;
      for (const c of this.chunks.splice(0)) this.budget.give(c.length);
    }
  }
}

const READ_AHEAD = 64 << 20;
const MAX_PARALLEL = 4;

/** Runs stageLayer() for the layers of an archive, several at once, while the archive is read on. */
class Stager {
  error: unknown;
  private readonly pending = new Set<Promise<void>>();
  private readonly queues = new Set<ChunkQueue>();
  private readonly budget = new Budget(READ_AHEAD);
  constructor(private readonly store: LoadStore, private readonly files: Map<string, FileEntry>,
    private readonly staged: Set<StagedLayer>, private readonly opts: LoadOptions) {}

  /** Starts staging `data` (the rest of a tar entry) and returns once all of it has been read. */
  async stage(name: string, size: number, expectedDigest: string | undefined, data: AsyncIterable<Buffer>): Promise<void> {
    while (this.pending.size >= MAX_PARALLEL) await Promise.race(this.pending);
    if (this.error !== undefined) throw this.error;
    const queue = new ChunkQueue(this.budget);
    this.queues.add(queue);
    const progress = this.opts.onProgress ? progressReporter(this.opts.onProgress, progressId(name), size) : undefined;
    const job: Promise<void> = this.store.stageLayer(counted(queue, progress), { expectedDigest }).then(
      (layer) => { this.staged.add(layer); this.files.set(name, { kind: 'layer', staged: layer }); },
      (err) => { this.error ??= err; queue.close(); },
    ).finally(() => { this.pending.delete(job); this.queues.delete(queue); });
    this.pending.add(job);
    try {
      for await (const chunk of data) {
        if (this.error !== undefined) throw this.error;
        await this.budget.take(chunk.length);
        if (!queue.push(chunk)) break; // that stage failed; the error surfaces below
      }
      queue.end();
    } catch (err) {
      queue.fail(err);
      throw err;
    }
    if (this.error !== undefined) throw this.error;
  }

  /** Waits for every stage; the first failure is the load's. */
  async finish(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.error !== undefined) throw this.error;
  }

  /** The load failed elsewhere: stop feeding every stage and wait until each has cleaned up. */
  async abort(err: unknown): Promise<void> {
    for (const q of this.queues) q.fail(err);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

const looksLikeDocument = (head: Buffer) => /^\s*[{[]/.test(head.subarray(0, 64).toString('latin1'));

async function readHead(it: AsyncIterator<Buffer>, n: number): Promise<{ head: Buffer; done: boolean }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await it.next();
    if (next.done) return { head: Buffer.concat(parts), done: true };
    parts.push(next.value);
    length += next.value.length;
  }
  return { head: Buffer.concat(parts), done: false };
}

async function* rest(start: { head: Buffer; done: boolean }, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (start.head.length) yield start.head;
  if (start.done) return;
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    yield next.value;
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return out;
}

async function readAll(entry: AsyncIterable<Buffer>): Promise<Buffer> {
  return Buffer.concat(await collect(entry));
}

async function* counted(source: AsyncIterable<Buffer>, report?: (n: number, done: boolean) => void): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    report?.(n, false);
    yield chunk;
  }
  report?.(n, true);
}

/** Docker's "Loading layer" messages, at most every 100 ms per layer plus the final one. */
function progressReporter(emit: (m: Record<string, unknown>) => void, id: string, total: number): (n: number, done: boolean) => void {
  let last = 0;
  let sent = -1;
  return (current, done) => {
    const now = Date.now();
    if ((!done && now - last < 100) || current === sent) return;
    last = now;
    sent = current;
    emit({ status: 'Loading layer', progressDetail: { current, total }, progress: progressBar(current, total), id });
  };
}

/** jsonmessage.JSONProgress.String() at the daemon's default width. */
export function progressBar(current: number, total: number): string {
  let pct = total > 0 ? Math.floor(Math.floor((current / total) * 100) / 2) : 0;
  if (pct > 50) pct = 50;
  const bar = `[${'='.repeat(pct)}>${' '.repeat(50 - pct)}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** go-units HumanSize (decimal units, 4 significant digits). */
function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

function progressId(name: string): string {
  const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
  if (blob) return blob[1].slice(0, 12);
  const legacy = /^([a-f0-9]{64})\/layer\.tar$/.exec(name);
  if (legacy) return legacy[1].slice(0, 12);
  return path.posix.basename(name).slice(0, 12);
}

/**
 * Joins small chunks (an HTTP upload arrives in 16-64 KiB pieces) into ~1 MiB ones: every layer chunk costs a
 * blob write and a file write downstream, so fewer, bigger chunks halve the time a load takes.
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, min = COALESCE): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    if (size === 0 && chunk.length >= min) { yield chunk; continue; }
    parts.push(chunk);
    size += chunk.length;
    if (size >= min) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}


/** Entry names as paths inside the archive: no leading ./ or /, no trailing /; escapes above the root are dropped. */
export function normalize(name: string): string | undefined {
  const n = path.posix.normalize('/' + name).slice(1).replace(/\/+$/, '');
  return n === '' ? undefined : n;
}

// ---- what the archive describes ----

function resolve(files: Map<string, FileEntry>, name: string): { path: string; entry?: Exclude<FileEntry, { kind: 'link' }> } {
  let current = normalize(name) ?? name;
  for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
    const e = files.get(current);
    if (!e) return { path: current };
    if (e.kind !== 'link') return { path: current, entry: e };
    current = normalize(e.target) ?? e.target;
  }
  throw new EngineError(400, `invalid archive: too many links resolving ${name}`);
}

const noSuchFile = (name: string) => new EngineError(400, `open ${name}: no such file or directory`);

function documentOf(files: Map<string, FileEntry>, name: string): Buffer {
  const { entry } = resolve(files, name);
  if (!entry) throw noSuchFile(name);
  if (entry.kind !== 'data') throw new EngineError(400, `invalid archive: ${name} is not a JSON document`);
  return entry.bytes;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new EngineError(400, `invalid ${what}: ${(err as Error).message}`);
  }
}

/** A tag from an archive: name:tag required (docker refuses names without one, and digests). */
function parseTag(s: string): Reference {
  const last = s.slice(s.lastIndexOf('/') + 1);
  if (s.includes('@') || !last.includes(':')) throw new EngineError(400, `invalid tag ${JSON.stringify(s)}`);
  return parseReference(s);
}

function describeImages(files: Map<string, FileEntry>): ImageSpec[] {
  if (resolve(files, 'manifest.json').entry) return dockerManifest(files);
  if (resolve(files, 'index.json').entry) return ociIndex(files);
  throw noSuchFile('manifest.json');
}

interface ManifestItem { Config?: unknown; RepoTags?: unknown; Layers?: unknown }

/** manifest.json: [{Config, RepoTags, Layers}] (both docker-archive layouts). */
function dockerManifest(files: Map<string, FileEntry>): ImageSpec[] {
  const items = parseJson<ManifestItem[] | null>(documentOf(files, 'manifest.json'), 'manifest');
  if (items === null) throw new EngineError(400, 'invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(items)) throw new EngineError(400, 'invalid manifest: not a list');
  return items.map((m) => {
    if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string')) {
      throw new EngineError(400, 'invalid manifest: every image needs Config and Layers');
    }
    const tags = Array.isArray(m.RepoTags) ? m.RepoTags.map((t) => parseTag(String(t))) : [];
    return { configPath: m.Config, configBytes: documentOf(files, m.Config), layerPaths: m.Layers as string[], tags };
  });
}

interface Descriptor { mediaType?: string; digest?: string; size?: number; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } }

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

function blobPathOf(digest: string | undefined): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest ?? '');
  if (!m) throw new EngineError(400, `invalid archive: unsupported digest ${JSON.stringify(digest)}`);
  return `blobs/sha256/${m[1]}`;
}

function verifiedBlob(files: Map<string, FileEntry>, digest: string | undefined): Buffer {
  const bytes = documentOf(files, blobPathOf(digest));
  if (sha256Digest(bytes) !== digest) throw new EngineError(400, `invalid archive: blob ${digest} does not match its digest`);
  return bytes;
}

/** An OCI image layout: index.json → (nested indexes →) manifests; names from the ref annotations. */
function ociIndex(files: Map<string, FileEntry>): ImageSpec[] {
  const index = parseJson<{ manifests?: Descriptor[] }>(documentOf(files, 'index.json'), 'index.json');
  const byManifest = new Map<string, ImageSpec>();
  const visit = (desc: Descriptor, names: Reference[], depth: number): void => {
    if (depth > 4) throw new EngineError(400, 'invalid archive: indexes nested too deeply');
    if (INDEX_TYPES.includes(desc.mediaType ?? '')) {
      const nested = parseJson<{ manifests?: Descriptor[] }>(verifiedBlob(files, desc.digest), `index ${desc.digest}`);
      const chosen = choosePlatform(nested.manifests ?? []);
      if (chosen) visit(chosen, names, depth + 1);
      return;
    }
    if (!MANIFEST_TYPES.includes(desc.mediaType ?? '')) return; // attestations, artifacts
    const key = desc.digest ?? '';
    const existing = byManifest.get(key);
    if (existing) {
      for (const n of names) if (!existing.tags.some((t) => familiarName(t) === familiarName(n))) existing.tags.push(n);
      return;
    }
    const manifest = parseJson<{ config?: Descriptor; layers?: Descriptor[] }>(verifiedBlob(files, desc.digest), `manifest ${desc.digest}`);
    const configPath = blobPathOf(manifest.config?.digest);
    byManifest.set(key, {
      configPath,
      configBytes: verifiedBlob(files, manifest.config?.digest),
      layerPaths: (manifest.layers ?? []).map((l) => blobPathOf(l.digest)),
      tags: [...names],
    });
  };
  for (const desc of index.manifests ?? []) visit(desc, nameOf(desc), 0);
  return [...byManifest.values()];
}

/** io.containerd.image.name, else org.opencontainers.image.ref.name when it is a full reference (not just a tag). */
function nameOf(desc: Descriptor): Reference[] {
  const a = desc.annotations ?? {};
  const candidate = a[ANNOTATION_IMAGE_NAME] ?? (/[/:]/.test(a[ANNOTATION_REF_NAME] ?? '') ? a[ANNOTATION_REF_NAME] : undefined);
  if (!candidate) return [];
  try {
    const ref = parseReference(candidate);
    return ref.digest === undefined ? [ref] : [];
  } catch {
    return [];
  }
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function choosePlatform(list: Descriptor[]): Descriptor | undefined {
  const arch = NODE_ARCH[process.arch] ?? process.arch;
  const images = list.filter((d) => MANIFEST_TYPES.includes(d.mediaType ?? '') && d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  return images.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === arch)
    ?? images.find((d) => !d.platform)
    ?? (images.length === 1 ? images[0] : undefined);
}

// ---- check everything, then commit ----

async function checkImages(store: LoadStore, specs: ImageSpec[], files: Map<string, FileEntry>, staged: Set<StagedLayer>): Promise<void> {
  for (const spec of specs) {
    const config = parseConfigFile(spec.configBytes);
    if (config.os !== 'linux') throw new EngineError(400, `cannot load ${config.os} image on linux`);
    const diffIds = config.rootfs.diff_ids;
    if (spec.layerPaths.length !== diffIds.length) {
      throw new EngineError(400, `invalid manifest, layers length mismatch: expected ${spec.layerPaths.length}, got ${diffIds.length}`);
    }
    const chains = chainIds(diffIds);
    for (let i = 0; i < diffIds.length; i++) {
      if (store.hasLayer(chains[i])) continue;
      const { path: where, entry } = resolve(files, spec.layerPaths[i]);
      if (!entry) throw noSuchFile(spec.layerPaths[i]);
      let actual: string;
      if (entry.kind === 'skipped') throw new EngineError(400, `invalid archive: ${entry.reason}`);
      if (entry.kind === 'data') {
        // a small layer, kept in memory until now
        const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(where)?.[1];
        const layer = await store.stageLayer(once(entry.bytes), { expectedDigest: blob ? `sha256:${blob}` : undefined });
        staged.add(layer);
        files.set(where, { kind: 'layer', staged: layer });
        actual = layer.diffId;
      } else if (entry.kind === 'layer') {
        actual = entry.staged.diffId;
      } else {
        actual = entry.diffId;
      }
      if (actual !== diffIds[i]) throw new EngineError(400, `invalid diffID for layer ${i}: expected ${JSON.stringify(diffIds[i])}, got ${JSON.stringify(actual)}`);
    }
  }
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

async function commitImages(store: LoadStore, specs: ImageSpec[], files: Map<string, FileEntry>, staged: Set<StagedLayer>,
  opts: LoadOptions): Promise<LoadedImage[]> {
  const loaded: LoadedImage[] = [];
  for (const spec of specs) {
    const diffIds = parseConfigFile(spec.configBytes).rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const mine: StagedLayer[] = [];
    for (let i = 0; i < diffIds.length; i++) {
      if (store.hasLayer(chains[i])) continue;
      const { entry } = resolve(files, spec.layerPaths[i]);
      if (entry?.kind === 'layer' && staged.has(entry.staged) && !mine.includes(entry.staged)) mine.push(entry.staged);
    }
    // commitImage owns these from here: it commits or discards each one
    for (const l of mine) staged.delete(l);
    const renamed: string[] = [];
    for (const tag of spec.tags) {
      const previous = store.tryGet(familiarName(tag));
      if (previous && previous.id !== sha256Digest(spec.configBytes)) {
        renamed.push(`The image ${familiarName(tag)} already exists, renaming the old one with ID ${previous.id} to empty string\n`);
      }
    }
    await failpoint('load.before-commit');
    const image = await store.commitImage(spec.configBytes, mine, { tags: spec.tags, event: 'load' });
    for (const line of renamed) opts.onOutput?.(line);
    const tags = spec.tags.map((t) => familiarName(t));
    for (const t of tags) opts.onOutput?.(`Loaded image: ${t}\n`);
    if (tags.length === 0) opts.onOutput?.(`Loaded image ID: ${image.id}\n`);
    loaded.push({ id: image.id, tags });
  }
  return loaded;
}
