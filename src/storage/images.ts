// The image store: images, their names, their layers. Layout under the root (e.g. /var/lib/berth/image):
//   blobs/sha256/<hex>        content-addressed: image configs (hex = image id), layer tarballs as received
//   layers/<chain-hex>/       unpacked layers, shared by images (layers.ts)
//   images/<id-hex>.json      local facts about an image: parent, last tag time; its presence = the image exists
//   repositories.json         tags and digest references (refstore.ts)
//   tmp/                      staging for imports and pulls; wiped at open
// Everything is read once at open() into memory; requests are answered from memory, mutations are serialized
// and written atomically in an order that leaves no half image behind a crash (layer, config, image, refs).
import { promises as fs } from 'fs';
import * as path from 'path';
import { readJson, writeJsonAtomic } from '../common/atomic';
import { EngineError, invalidParameter, noSuchImage, notFound } from '../common/errors';
import { log } from '../common/log';
import { BlobStore } from './blobs';
import { applyChanges } from './changes';
import { chainIds, digestHex, isSha256Digest, sha256Digest } from './digest';
import { deleteImage, DeleteItem, DeleteOptions } from './image-delete';
import { ImageConfigFile, parseConfigFile, parsePlatform } from './image-config';
import { imageInspect, imageSummary, ImageSummary } from './image-views';
import type { ImageRecord, ManifestRecord } from './image-record';
import { bytesOf, ingestLayer, LAYER_MEDIA_TYPES } from './ingest';
import { copyTree } from './copy-tree';
import { gzipBlob } from './layer-compress';
import { LayerBlob, LayerStaging, LayerStore, syncFilesystem } from './layers';
import { familiarName, ID_HEX_RE, parseReference, Reference } from './reference';
import { ReferenceStore } from './refstore';
import { Serial } from './serial';
import { failpoint } from '../common/failpoint';

export type { ImageRecord, ManifestRecord } from './image-record';

export interface ImportOptions {
  /** Repository[:tag] to tag the new image with. */
  reference?: string;
  /** Dockerfile instructions (--change). */
  changes?: string[];
  /** Commit message; also the history comment. Default 'Imported from -' (the API passes `Imported from <src>`). */
  message?: string;
  /** os[/arch[/variant]]; default: this host. */
  platform?: string;
}

export type ImageEvent = { action: 'import' | 'pull' | 'load' | 'tag' | 'untag' | 'delete'; id: string; name?: string };

export interface ImageStoreOptions {
  /** Told about every change, for the engine's /events. */
  onEvent?: (e: ImageEvent) => void;
}

/** A registry manifest this image was pulled or pushed as, kept as a blob so a push can send it byte for byte. */

/** Local facts kept in images/<hex>.json. */
interface ImageMeta { parent?: string; lastTagTime?: string; manifests?: ManifestRecord[] }

/** A layer unpacked into staging but not yet part of the store (pull, load): committed by commitImage(). */
export interface StagedLayer {
  readonly diffId: string;
  readonly size: number;
  readonly blob: LayerBlob;
  readonly staging: LayerStaging;
}

export interface CommitImageOptions {
  /** Tags to point at the image (a previous holder of a tag loses it). */
  tags?: Reference[];
  /** name@digest references (pull by tag or digest records the manifest digest the registry served). */
  digestRefs?: Reference[];
  /** The manifest that describes this image, with its bytes (stored as a blob). */
  manifest?: { mediaType: string; bytes: Buffer };
  /** Event to announce ('pull', 'load'); none when omitted. */
  event?: 'pull' | 'load';
  /** The local image this one was made from (commit): `Parent` in inspect, history ids, rmi's parent pruning. */
  parent?: string;
}

export type { DeleteItem, DeleteOptions } from './image-delete';

export class ImageStore {
  private readonly images = new Map<string, ImageRecord>();
  private readonly serial = new Serial();
  private readonly imagesDir: string;

  private constructor(
    readonly root: string,
    private readonly blobs: BlobStore,
    private readonly layers: LayerStore,
    private readonly refs: ReferenceStore,
    private readonly opts: ImageStoreOptions,
  ) {
    this.imagesDir = path.join(root, 'images');
  }

  static async open(root: string, opts: ImageStoreOptions = {}): Promise<ImageStore> {
    const tmp = path.join(root, 'tmp');
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    await fs.rm(tmp, { recursive: true, force: true }); // only unfinished work lives there
    await fs.mkdir(tmp, { mode: 0o700 });
    const blobs = new BlobStore(root, tmp);
    await blobs.init();
    const layers = new LayerStore(root, tmp);
    await layers.load();
    const store = new ImageStore(root, blobs, layers, new ReferenceStore(path.join(root, 'repositories.json')), opts);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    await fs.mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.imagesDir)) {
      const m = /^([a-f0-9]{64})\.json$/.exec(name);
      if (!m) continue;
      const id = `sha256:${m[1]}`;
      try {
        const meta = (await readJson<ImageMeta>(path.join(this.imagesDir, name))) ?? {};
        const bytes = await this.blobs.read(id);
        if (sha256Digest(bytes) !== id) throw new Error('config does not match its digest');
        const record = this.makeRecord(id, parseConfigFile(bytes), meta);
        const missing = record.chainIds.find((c) => !this.layers.get(c));
        if (missing) throw new Error(`layer ${missing} is missing`);
        this.images.set(id, record);
      } catch (err) {
        log.warn('skipping unreadable image', { id, error: (err as Error).message });
      }
    }
    await this.refs.load((id) => this.images.has(id));
    for (const id of this.images.keys()) this.refreshNames(id);
  }

  private makeRecord(id: string, config: ImageConfigFile, meta: ImageMeta): ImageRecord {
    const diffIds = [...config.rootfs.diff_ids];
    const chains = chainIds(diffIds);
    const record: ImageRecord = {
      id,
      repoTags: [],
      repoDigests: [],
      created: config.created ?? '',
      config,
      size: chains.reduce((sum, c) => sum + (this.layers.get(c)?.size ?? 0), 0),
      chainIds: chains,
      diffIds,
    };
    if (meta.parent) record.parent = meta.parent;
    if (meta.lastTagTime) record.lastTagTime = meta.lastTagTime;
    if (meta.manifests?.length) record.manifests = meta.manifests;
    return record;
  }

  private refreshNames(id: string): void {
    const record = this.images.get(id);
    if (!record) return;
    const refs = this.refs.refsOf(id);
    record.repoTags = refs.filter((r) => r.digest === undefined).map((r) => familiarName(r));
    record.repoDigests = refs.filter((r) => r.digest !== undefined).map((r) => familiarName({ ...r, tag: undefined }));
  }

  // ---- lookups (memory only) ----

  /**
   * Finds an image by name[:tag], name@digest, full id ('sha256:…' or bare hex) or unambiguous id prefix.
   * Throws 400 for a malformed reference, 404 `No such image: …` (docker's text) for an unknown one.
   */
  get(ref: string): ImageRecord {
    const found = this.lookup(ref);
    if (found) return found;
    if (ID_HEX_RE.test(ref)) throw noSuchImage(`sha256:${ref}`);
    if (isSha256Digest(ref)) throw noSuchImage(ref);
    throw noSuchImage(familiarName(parseReference(ref)));
  }

  /** Like get(), but undefined for unknown and for malformed references. */
  tryGet(ref: string): ImageRecord | undefined {
    try {
      return this.lookup(ref);
    } catch {
      return undefined;
    }
  }

  private lookup(ref: string): ImageRecord | undefined {
    if (ID_HEX_RE.test(ref)) return this.images.get(`sha256:${ref}`);
    if (isSha256Digest(ref)) return this.images.get(ref);
    const parsed = parseReference(ref);
    const id = this.refs.get(parsed);
    if (id !== undefined) return this.images.get(id);
    return this.searchIdPrefix(ref);
  }

  /** A unique image whose id starts with `term` ('abc', 'sha256:abc'); ambiguous prefixes match nothing. */
  private searchIdPrefix(term: string): ImageRecord | undefined {
    const m = /^(?:sha256:)?([a-f0-9]+)$/.exec(term);
    if (!m) return undefined;
    const prefix = `sha256:${m[1]}`;
    let match: ImageRecord | undefined;
    for (const [id, record] of this.images) {
      if (!id.startsWith(prefix)) continue;
      if (match) return undefined;
      match = record;
    }
    return match;
  }

  /** Newest first, as docker lists them. */
  list(): ImageRecord[] {
    const time = (r: ImageRecord) => Date.parse(r.created) || 0; // configs from registries vary in format
    return [...this.images.values()].sort((a, b) => time(b) - time(a));
  }

  /** Unpacked layer dirs, top-most first: ready for overlay's lowerdir=a:b:c. */
  layerDirs(image: ImageRecord): string[] {
    return image.chainIds.map((c) => this.layers.diffDir(c)).reverse();
  }

  /** Layer dirs for a chain recorded earlier (e.g. by a container at create): still valid after `rmi -f` of an
   * image a container uses, since such an image's layers are kept. Top-most first; unknown chains are skipped. */
  layerDirsForChains(chainIds: readonly string[]): string[] {
    return chainIds.filter((c) => this.layers.get(c)).map((c) => this.layers.diffDir(c)).reverse();
  }

  toApiSummary(img: ImageRecord): ImageSummary {
    return imageSummary(img);
  }

  toApiInspect(img: ImageRecord): Record<string, unknown> {
    return imageInspect(img, this.layerDirs(img));
  }

  // ---- mutations ----

  /**
   * `docker import`: the tar (plain or compressed) becomes a one-layer image. The options are validated before
   * the stream is read; the stream is then hashed, kept and unpacked in one pass. Nothing is left on failure.
   */
  async importTar(input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, opts: ImportOptions = {}): Promise<ImageRecord> {
    const target = opts.reference ? parseTarget(opts.reference, 'import') : undefined;
    const platform = parsePlatform(opts.platform);
    const runConfig = applyChanges({}, opts.changes ?? []);
    const comment = opts.message ? opts.message : 'Imported from -';

    const staging = await this.layers.stage();
    let ingest;
    try {
      ingest = await ingestLayer(bytesOf(input), staging.diffDir, this.blobs);
    } catch (err) {
      await this.layers.discard(staging);
      throw err;
    }
    if (ingest.blob.size === 0) {
      // Almost certainly a mistake (`import - < /dev/null`); docker would make an empty image of it.
      await this.layers.discard(staging);
      await this.blobs.delete(ingest.blob.digest);
      throw invalidParameter('empty input: nothing to import');
    }
    const { diffId, size, blob } = ingest;

    return this.serial.run(async () => {
      const created = new Date().toISOString();
      // A concurrent rmi of a layer with the very same tarball may have deleted the blob meanwhile.
      const kept = await this.blobs.has(blob.digest);
      let layer;
      try {
        layer = await this.layers.commit(staging, { chainId: diffId, diffId, size, ...(kept ? { blob } : {}), created });
      } catch (err) {
        await this.layers.discard(staging);
        throw err;
      }
      // Same content imported before (perhaps compressed differently): the existing layer keeps its own blob.
      if (kept && layer.blob?.digest !== blob.digest && !this.blobUsedByLayer(blob.digest)) await this.blobs.delete(blob.digest);
      const config: ImageConfigFile = {
        architecture: platform.architecture,
        ...(platform.variant ? { variant: platform.variant } : {}),
        comment,
        config: runConfig,
        created,
        history: [{ created, comment }],
        os: platform.os,
        rootfs: { type: 'layers', diff_ids: [diffId] },
      };
      const id = (await this.blobs.putBytes(JSON.stringify(config))).digest;
      if (!this.images.has(id)) {
        await writeJsonAtomic(this.metaFile(id), {} satisfies ImageMeta);
        this.images.set(id, this.makeRecord(id, config, {}));
      }
      this.opts.onEvent?.({ action: 'import', id });
      if (target) await this.addTag(id, target);
      return this.images.get(id)!;
    });
  }

  /**
   * Unpacks one layer tarball (any compression) into staging while keeping its bytes as a blob, in one pass.
   * With `expectedDigest` (a registry's descriptor) a mismatch fails and keeps nothing. The layer becomes part
   * of the store only through commitImage(); discardStaged() drops it.
   */
  async stageLayer(input: AsyncIterable<Uint8Array>, opts: { expectedDigest?: string; mediaType?: string } = {}): Promise<StagedLayer> {
    const staging = await this.layers.stage();
    try {
      const r = await ingestLayer(input, staging.diffDir, this.blobs, { expectedDigest: opts.expectedDigest });
      const blob = opts.mediaType ? { ...r.blob, mediaType: opts.mediaType } : r.blob;
      return { diffId: r.diffId, size: r.size, blob, staging };
    } catch (err) {
      await this.layers.discard(staging);
      throw err;
    }
  }

  async discardStaged(layer: StagedLayer): Promise<void> {
    await this.layers.discard(layer.staging);
    if (!this.blobUsedByLayer(layer.blob.digest)) await this.blobs.delete(layer.blob.digest);
  }

  /** Whether the store already has the layer stack `chainId` names (a pull skips such layers). */
  hasLayer(chainId: string): boolean {
    return this.layers.get(chainId) !== undefined;
  }

  /** The diff id of a stored layer (commit on a container whose image was removed with `rmi -f`). */
  layerDiffId(chainId: string): string | undefined {
    return this.layers.get(chainId)?.diffId;
  }

  /** Bytes of file content in a layer (history, prune, system df). */
  layerSize(chainId: string): number | undefined {
    return this.layers.get(chainId)?.size;
  }

  /** Unpacked files of a layer (save regenerates a tarball from them when none was kept). */
  layerDiffDir(chainId: string): string {
    return this.layers.diffDir(chainId);
  }

  /** A stored layer whose diff id or kept tarball has this digest: load need not unpack that content again. */
  findLayerByDigest(digest: string): { diffId: string } | undefined {
    for (const l of this.layers.all()) if (l.diffId === digest || l.blob?.digest === digest) return { diffId: l.diffId };
    return undefined;
  }

  /**
   * The images a `docker save` name list selects (moby's tarexport parseNames): name:tag is that tag; a bare
   * repository name is every tag of it (or, without any, an image id prefix); ids and name@digest save the image
   * without names. Duplicates are merged; the order of first mention is kept.
   */
  resolveSaveNames(names: readonly string[]): Array<{ image: ImageRecord; tags: Reference[] }> {
    const out = new Map<string, { image: ImageRecord; tags: Reference[] }>();
    const add = (image: ImageRecord, tag?: Reference) => {
      let item = out.get(image.id);
      if (!item) out.set(image.id, (item = { image, tags: [] }));
      if (tag && tag.digest === undefined && !item.tags.some((t) => familiarName(t) === familiarName(tag))) item.tags.push(tag);
    };
    for (const name of names) {
      if (ID_HEX_RE.test(name) || isSha256Digest(name)) { add(this.get(name)); continue; }
      const ref = parseReference(name);
      const last = name.slice(name.lastIndexOf('/') + 1);
      if (ref.digest !== undefined) {
        const id = this.refs.get(ref);
        const image = id !== undefined ? this.images.get(id) : undefined;
        if (!image) throw noSuchImage(familiarName(ref));
        add(image);
      } else if (familiarName({ domain: ref.domain, path: ref.path }) === 'sha256' || !last.includes(':')) {
        const inRepo = this.refs.inRepository(`${ref.domain}/${ref.path}`);
        for (const { ref: r, id } of inRepo) {
          const image = this.images.get(id);
          if (image) add(image, r);
        }
        if (inRepo.length === 0) {
          const image = this.searchIdPrefix(name.replace(/^sha256:/, ''));
          if (!image) throw noSuchImage(name);
          add(image);
        }
      } else {
        const id = this.refs.get(ref);
        const image = id !== undefined ? this.images.get(id) : undefined;
        if (!image) throw notFound('reference does not exist');
        add(image, ref);
      }
    }
    return [...out.values()];
  }

  /** The stored tarball of a layer, if it was kept (push, save). */
  layerBlob(chainId: string): LayerBlob | undefined {
    return this.layers.get(chainId)?.blob;
  }

  /**
   * The layer's tarball as a registry should receive it: compressed. A plain-tar blob is gzipped once
   * (layer-compress.ts) and replaces the plain one; a compressed one is returned as it is.
   */
  async pushableLayerBlob(chainId: string): Promise<LayerBlob | undefined> {
    const blob = this.layers.get(chainId)?.blob;
    if (!blob || blob.mediaType !== LAYER_MEDIA_TYPES.none && blob.mediaType !== 'application/vnd.docker.image.rootfs.diff.tar') return blob;
    const gz = await gzipBlob(this.blobs.path(blob.digest), this.blobs);
    return this.serial.run(async () => {
      const current = this.layers.get(chainId);
      if (!current || current.blob?.digest !== blob.digest) {
        // changed meanwhile (removed, or compressed by a concurrent push)
        if (!this.blobUsedByLayer(gz.digest)) await this.blobs.delete(gz.digest);
        return current?.blob;
      }
      const updated = await this.layers.setBlob(chainId, { ...gz, mediaType: LAYER_MEDIA_TYPES.gzip });
      if (!this.blobUsedByLayer(blob.digest)) await this.blobs.delete(blob.digest);
      return updated.blob;
    });
  }

  blobPath(digest: string): string {
    return this.blobs.path(digest);
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }

  /** Stores small verified documents (configs, manifests) the caller already holds. */
  putBlob(bytes: Buffer): Promise<{ digest: string; size: number }> {
    return this.blobs.putBytes(bytes);
  }

  readBlob(digest: string): Promise<Buffer> {
    return this.blobs.read(digest);
  }

  /**
   * Makes an image of a config document and layers: those the store has are reused, the rest must be among
   * `staged` (matched by diff id). Layers are committed bottom up, then the config, the image record and its
   * names — so a crash leaves at most unreferenced layers, never an image without its layers. Staged layers
   * that were not needed are discarded. Throws (and discards everything staged) if a layer is missing.
   */
  async commitImage(configBytes: Buffer, staged: readonly StagedLayer[], opts: CommitImageOptions = {}): Promise<ImageRecord> {
    let config: ImageConfigFile;
    try {
      config = parseConfigFile(configBytes);
    } catch (err) {
      await Promise.all(staged.map((l) => this.discardStaged(l)));
      throw err;
    }
    const diffIds = config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const unused = new Set(staged);
    try {
      return await this.serial.run(async () => {
        const missing = diffIds.find((d, i) => !this.layers.get(chains[i]) && !staged.some((l) => l.diffId === d));
        if (missing) throw invalidParameter(`layer ${missing} of image ${sha256Digest(configBytes)} is missing`);
        const committed: string[] = [];
        try {
          return await this.commitLocked(configBytes, config, staged, unused, committed, opts);
        } catch (err) {
          await this.rollBackLayers(committed);
          throw err;
        }
      });
    } finally {
      for (const l of unused) await this.discardStaged(l);
    }
  }

  /** commitImage's work, under the serial lock; records each layer it commits in `committed`. */
  private async commitLocked(
    configBytes: Buffer, config: ImageConfigFile, staged: readonly StagedLayer[], unused: Set<StagedLayer>,
    committed: string[], opts: CommitImageOptions,
  ): Promise<ImageRecord> {
    const diffIds = config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    // one syncfs makes every staged layer durable (they share the filesystem), instead of one per layer
    if (unused.size > 0) await syncFilesystem(this.root);
    for (let i = 0; i < chains.length; i++) {
      if (this.layers.get(chains[i])) continue;
      const layer = [...unused].find((l) => l.diffId === diffIds[i])
        ?? await this.restageCommitted(diffIds[i], staged);
      if (!layer) throw invalidParameter(`layer ${diffIds[i]} of image ${sha256Digest(configBytes)} is missing`);
      unused.delete(layer);
      const kept = await this.blobs.has(layer.blob.digest);
      try {
        await this.layers.commit(layer.staging, {
          chainId: chains[i], diffId: diffIds[i], ...(i > 0 ? { parent: chains[i - 1] } : {}), size: layer.size,
          ...(kept ? { blob: layer.blob } : {}), created: new Date().toISOString(),
        }, { synced: staged.includes(layer) });
      } catch (err) {
        await this.layers.discard(layer.staging);
        throw err;
      }
      committed.push(chains[i]);
    }
    await failpoint('image.commit.after-layers');
    const id = (await this.blobs.putBytes(configBytes)).digest;
    let manifests = this.images.get(id)?.manifests ?? [];
    if (opts.manifest) {
      const m = await this.blobs.putBytes(opts.manifest.bytes);
      if (!manifests.some((x) => x.digest === m.digest)) manifests = [...manifests, { digest: m.digest, mediaType: opts.manifest.mediaType, size: m.size }];
    }
    const existing = this.images.get(id);
    const parent = opts.parent !== undefined && opts.parent !== id && this.images.has(opts.parent) ? opts.parent : undefined;
    const meta: ImageMeta = { ...(existing ? metaOf(existing) : {}), ...(manifests.length ? { manifests } : {}), ...(parent ? { parent } : {}) };
    await writeJsonAtomic(this.metaFile(id), meta);
    if (existing) {
      existing.manifests = meta.manifests;
      if (parent) existing.parent = parent;
    }
    else this.images.set(id, this.makeRecord(id, config, meta));
    if (opts.event) this.opts.onEvent?.({ action: opts.event, id, ...(opts.tags?.[0] ? { name: familiarName(opts.tags[0]) } : {}) });
    for (const ref of opts.digestRefs ?? []) {
      const previous = await this.refs.set(ref, id);
      if (previous !== undefined && previous !== id) this.refreshNames(previous);
    }
    for (const tag of opts.tags ?? []) await this.addTag(id, tag);
    this.refreshNames(id);
    return this.images.get(id)!;
  }

  /** Undoes a failed commit: removes the layers it added that no image uses (top first), with their blobs. */
  private async rollBackLayers(chains: string[]): Promise<void> {
    const inUse = new Set<string>();
    for (const img of this.images.values()) for (const c of img.chainIds) inUse.add(c);
    for (const chainId of [...chains].reverse()) {
      if (inUse.has(chainId)) continue;
      const blob = this.layers.get(chainId)?.blob;
      await this.layers.remove(chainId).catch((e) => log.warn('rollback: removing layer failed', { layer: chainId, error: (e as Error).message }));
      if (blob && !this.blobUsedByLayer(blob.digest)) await this.blobs.delete(blob.digest);
    }
  }

  /**
   * Removes layers that no image uses and `keep` (the chain ids of containers, whose image may be gone) does not
   * name: what a commit cut by a crash between its layers and its image record leaves (fault
   * image.commit.after-layers). Run once at daemon start, after the containers are known. Returns the removed ones.
   */
  async removeUnusedLayers(keep: ReadonlySet<string>): Promise<string[]> {
    return this.serial.run(async () => {
      const inUse = new Set(keep);
      for (const img of this.images.values()) for (const c of img.chainIds) inUse.add(c);
      const unused = [...this.layers.all()].map((l) => l.chainId).filter((c) => !inUse.has(c));
      if (unused.length) log.warn('removing layers no image uses (an image commit was cut short)', { layers: unused.length });
      await this.rollBackLayers(unused);
      return unused;
    });
  }

  /** A diff id that occurs twice in one image (empty layers often do) needs a second copy of the files once the
   * first copy was committed under another chain id. */
  private async restageCommitted(diffId: string, staged: readonly StagedLayer[]): Promise<StagedLayer | undefined> {
    const source = [...this.layers.all()].find((l) => l.diffId === diffId);
    if (!source) return undefined;
    const template = staged.find((l) => l.diffId === diffId);
    const staging = await this.layers.stage();
    await copyTree(this.layers.diffDir(source.chainId), staging.diffDir);
    return { diffId, size: source.size, blob: template?.blob ?? source.blob ?? { digest: diffId, size: 0, mediaType: LAYER_MEDIA_TYPES.none }, staging };
  }

  /** `docker tag`: points `target` (default tag latest) at the image `source` names. */
  async tag(source: string, target: string): Promise<void> {
    const ref = parseTarget(target, 'tag');
    await this.serial.run(async () => this.addTag(this.get(source).id, ref));
  }

  /** `docker rmi`: untags and/or deletes, with docker's rules and 409 texts (image-delete.ts). */
  async remove(ref: string, opts: DeleteOptions): Promise<DeleteItem[]> {
    return this.serial.run(async () => {
      const image = this.get(ref);
      return deleteImage({
        refsOf: (id) => this.refs.refsOf(id),
        parentOf: (id) => {
          const parent = this.images.get(id)?.parent;
          return parent !== undefined && this.images.has(parent) ? parent : undefined;
        },
        hasChildren: (id) => [...this.images.values()].some((i) => i.parent === id),
        removeRefs: async (id, refs) => {
          await this.refs.delete(refs);
          this.refreshNames(id);
          for (const r of refs) this.opts.onEvent?.({ action: 'untag', id, name: familiarName(r) });
        },
        deleteImage: (id, keepLayers) => this.deleteImage(id, keepLayers),
      }, ref, image.id, opts);
    });
  }

  private async addTag(id: string, ref: Reference): Promise<void> {
    const previous = await this.refs.set(ref, id);
    if (previous !== undefined) this.refreshNames(previous);
    const record = this.images.get(id)!;
    const lastTagTime = new Date().toISOString();
    await writeJsonAtomic(this.metaFile(id), { ...metaOf(record), lastTagTime } satisfies ImageMeta);
    record.lastTagTime = lastTagTime;
    this.refreshNames(id);
    this.opts.onEvent?.({ action: 'tag', id, name: familiarName(ref) });
  }

  /** Removes the image record and config, then each of its layers no other image uses (top first). */
  private async deleteImage(id: string, keepLayers: boolean): Promise<string[]> {
    const record = this.images.get(id);
    if (!record) return [];
    await fs.rm(this.metaFile(id), { force: true }); // from here on the image does not exist
    this.images.delete(id);
    await this.blobs.delete(id);
    for (const m of record.manifests ?? []) {
      if (![...this.images.values()].some((i) => i.manifests?.some((x) => x.digest === m.digest))) await this.blobs.delete(m.digest);
    }
    this.opts.onEvent?.({ action: 'delete', id });
    if (keepLayers) return [];
    const inUse = new Set<string>();
    for (const other of this.images.values()) for (const c of other.chainIds) inUse.add(c);
    const removed: string[] = [];
    for (const chainId of [...record.chainIds].reverse()) {
      if (inUse.has(chainId)) break; // a shared layer shares everything below it too
      const layer = this.layers.get(chainId);
      await this.layers.remove(chainId);
      if (layer?.blob && !this.blobUsedByLayer(layer.blob.digest)) await this.blobs.delete(layer.blob.digest);
      removed.push(chainId);
    }
    return removed;
  }

  private blobUsedByLayer(digest: string): boolean {
    for (const l of this.layers.all()) if (l.blob?.digest === digest) return true;
    return false;
  }

  private metaFile(id: string): string {
    return path.join(this.imagesDir, `${digestHex(id)}.json`);
  }
}

function metaOf(record: ImageRecord): ImageMeta {
  const meta: ImageMeta = {};
  if (record.parent) meta.parent = record.parent;
  if (record.lastTagTime) meta.lastTagTime = record.lastTagTime;
  if (record.manifests?.length) meta.manifests = record.manifests;
  return meta;
}

/** A name to tag with: digests refused, 'sha256' refused as a name, docker's texts. */
function parseTarget(target: string, what: 'tag' | 'import'): Reference {
  const ref = parseReference(target);
  if (ref.digest !== undefined) {
    throw new EngineError(400, what === 'import' ? 'cannot import digest reference' : 'refusing to create a tag with a digest reference');
  }
  if (familiarName({ domain: ref.domain, path: ref.path }) === 'sha256') {
    throw new EngineError(400, 'refusing to create an ambiguous tag using digest algorithm as name');
  }
  return ref;
}
