// The registry's state and the operations that change it, independent of HTTP: blobs, repositories and
// upload sessions under one root, with one mutex around the steps that create or drop references (link
// vs. delete must not interleave, or a blob could be removed just as a push links it). Streaming bytes
// in or out happens outside the mutex; only the short metadata steps are serialized.
import { promises as fs } from 'fs';
import * as path from 'path';
import { BlobStore } from './blobs';
import { RepoIndex, Repo, ManifestMeta } from './repos';
import { Uploads } from './uploads';
import { Mutex } from './fsutil';
import { errs } from './errors';
import type { ParsedManifest } from './manifests';

/** Manifests served from memory up to this many bytes in total (they are small and read on every pull). */
const MANIFEST_CACHE_BYTES = 32 << 20;

export class Registry {
  readonly blobs: BlobStore;
  readonly repos: RepoIndex;
  readonly uploads: Uploads;
  private readonly lock = new Mutex();
  private readonly manifestCache = new Map<string, Buffer>();
  private manifestCacheBytes = 0;

  private constructor(readonly root: string) {
    const tmp = path.join(root, 'tmp');
    this.blobs = new BlobStore(path.join(root, 'blobs'), tmp);
    this.repos = new RepoIndex(path.join(root, 'repositories'), tmp);
    this.uploads = new Uploads(path.join(root, 'uploads'));
  }

  static async open(root: string): Promise<Registry> {
    const r = new Registry(path.resolve(root));
    await fs.mkdir(r.root, { recursive: true, mode: 0o755 });
    // tmp/ only ever holds files not yet renamed into place: anything left there is a crash's debris.
    await fs.rm(path.join(r.root, 'tmp'), { recursive: true, force: true });
    await fs.mkdir(path.join(r.root, 'tmp'));
    await fs.mkdir(path.join(r.root, 'blobs'), { recursive: true });
    await r.repos.load();
    await r.uploads.load();
    return r;
  }

  repo(name: string): Repo | undefined {
    return this.repos.get(name);
  }

  /** Size of a blob that is part of `name`, or undefined. */
  async blobSize(name: string, digest: string): Promise<number | undefined> {
    if (!this.repos.get(name)?.layers.has(digest)) return undefined;
    return this.blobs.size(digest);
  }

  /** Adopts a verified temp file as a blob of repository `name`. */
  commitBlob(name: string, file: string, digest: string, size: number): Promise<void> {
    return this.lock.run(async () => {
      await this.blobs.adopt(file, digest, size);
      await this.repos.linkLayer(name, digest);
    });
  }

  /** Cross-repository mount: links an existing blob into `name`. False when it cannot be found. */
  mount(name: string, digest: string, from: string | undefined): Promise<boolean> {
    return this.lock.run(async () => {
      const found = from === undefined ? this.repos.anyHasLayer(digest) : !!this.repos.get(from)?.layers.has(digest);
      if (!found || (await this.blobs.size(digest)) === undefined) return false;
      await this.repos.linkLayer(name, digest);
      return true;
    });
  }

  deleteBlob(name: string, digest: string): Promise<void> {
    return this.lock.run(async () => {
      if (!(await this.repos.unlinkLayer(name, digest))) throw errs.blobUnknown({ digest });
      await this.collect(digest);
    });
  }

  /** Resolves a tag or digest to the manifest's digest and metadata. */
  resolveManifest(name: string, ref: string): { digest: string; meta: ManifestMeta } | undefined {
    const repo = this.repos.get(name);
    if (!repo) return undefined;
    const digest = ref.includes(':') ? ref : repo.tags.get(ref);
    const meta = digest === undefined ? undefined : repo.manifests.get(digest);
    return meta && digest ? { digest, meta } : undefined;
  }

  async manifestBytes(digest: string): Promise<Buffer> {
    const hit = this.manifestCache.get(digest);
    if (hit) {
      // refresh its place in the Map's insertion order: the oldest entries are evicted first
      this.manifestCache.delete(digest);
      this.manifestCache.set(digest, hit);
      return hit;
    }
    const data = await this.blobs.read(digest);
    this.cacheManifest(digest, data);
    return data;
  }

  /**
   * Stores a validated manifest: checks that what it references is in the repository, writes the bytes,
   * records it and points the tag (if any) at it.
   */
  putManifest(name: string, digest: string, body: Buffer, parsed: ParsedManifest, tag: string | undefined): Promise<void> {
    return this.lock.run(async () => {
      const repo = this.repos.get(name);
      for (const d of parsed.blobs) {
        if (!repo?.layers.has(d.digest)) throw errs.manifestBlobUnknown({ digest: d.digest });
      }
      for (const d of parsed.manifests) {
        if (!repo?.manifests.has(d.digest)) throw errs.manifestBlobUnknown({ digest: d.digest });
      }
      await this.blobs.put(digest, body);
      await this.repos.addManifest(name, digest, parsed.meta);
      if (tag !== undefined) await this.repos.setTag(name, tag, digest);
      this.cacheManifest(digest, body);
    });
  }

  /** DELETE by digest: the manifest and all its tags go; by tag: only the tag. */
  deleteManifest(name: string, ref: string): Promise<void> {
    return this.lock.run(async () => {
      if (!ref.includes(':')) {
        if (!(await this.repos.removeTag(name, ref))) throw errs.manifestUnknown({ tag: ref });
        return;
      }
      if (!(await this.repos.removeManifest(name, ref))) throw errs.manifestUnknown({ digest: ref });
      await this.collect(ref);
    });
  }

  /** Removes a blob's bytes once no repository refers to it. Runs under the lock. */
  private async collect(digest: string): Promise<void> {
    if (this.repos.references(digest) > 0) return;
    this.uncacheManifest(digest);
    await this.blobs.remove(digest);
  }

  private cacheManifest(digest: string, data: Buffer): void {
    if (this.manifestCache.has(digest) || data.length > MANIFEST_CACHE_BYTES / 16) return;
    this.manifestCache.set(digest, data);
    this.manifestCacheBytes += data.length;
    for (const [d, b] of this.manifestCache) {
      if (this.manifestCacheBytes <= MANIFEST_CACHE_BYTES) break;
      this.manifestCache.delete(d);
      this.manifestCacheBytes -= b.length;
    }
  }

  private uncacheManifest(digest: string): void {
    const b = this.manifestCache.get(digest);
    if (b) { this.manifestCache.delete(digest); this.manifestCacheBytes -= b.length; }
  }
}
