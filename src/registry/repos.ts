// Repositories: which blobs and manifests each one holds and its tags, kept in memory (small, and read
// on every request) and mirrored on disk so a restart rebuilds the same view:
//
//   repositories/<name>/_layers/sha256/<hex>      empty file: the blob is part of this repository
//   repositories/<name>/_manifests/sha256/<hex>   JSON ManifestMeta: the manifest is part of it
//   repositories/<name>/_tags/<tag>                the digest the tag points to
//
// A name like a/b/c is nested directories; "_" cannot start a name component, so our "_…" entries never
// collide with a child repository. Blobs are shared between repositories and counted here, so the last
// repository to drop a blob can remove its bytes.
import { promises as fs } from 'fs';
import * as path from 'path';
import { hexOf, validName, validTag, supportedDigest } from './names';
import { listDir, removeFile, writeAtomic } from './fsutil';

/** What the registry must know about a manifest without reading it: headers, and the referrers API. */
export interface ManifestMeta {
  mediaType: string;
  size: number;
  /** OCI 1.1: the manifest this one refers to. */
  subject?: string;
  /** For referrers: the manifest's artifactType, or (image manifests) its config's media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class Repo {
  readonly tags = new Map<string, string>();
  readonly manifests = new Map<string, ManifestMeta>();
  readonly layers = new Set<string>();
  /** subject digest → digests of the manifests in this repository whose subject it is. */
  readonly referrers = new Map<string, Set<string>>();
  constructor(readonly name: string, readonly dir: string) {}
}

export class RepoIndex {
  private repos = new Map<string, Repo>();
  private refs = new Map<string, number>();
  private sortedNames: string[] | undefined;

  constructor(private readonly dir: string, private readonly tmpDir: string) {}

  /** Rebuilds the in-memory view from disk. */
  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await this.walk(this.dir, '');
  }

  private async walk(dir: string, name: string): Promise<void> {
    const entries = await listDir(dir);
    const own = entries.filter((e) => e.isDirectory() && e.name.startsWith('_')).map((e) => e.name);
    if (name && own.length && validName(name)) await this.loadRepo(name, dir);
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('_')) await this.walk(path.join(dir, e.name), name ? `${name}/${e.name}` : e.name);
    }
  }

  private async loadRepo(name: string, dir: string): Promise<void> {
    const repo = this.ensure(name);
    for (const e of await listDir(path.join(dir, '_layers', 'sha256'))) {
      const digest = `sha256:${e.name}`;
      if (supportedDigest(digest)) this.addLayerRef(repo, digest);
    }
    for (const e of await listDir(path.join(dir, '_manifests', 'sha256'))) {
      const digest = `sha256:${e.name}`;
      if (!supportedDigest(digest)) continue;
      try {
        const meta = JSON.parse(await fs.readFile(path.join(dir, '_manifests', 'sha256', e.name), 'utf8')) as ManifestMeta;
        this.addManifestRef(repo, digest, meta);
      } catch { /* an unreadable record is skipped, not fatal: the manifest is simply unknown */ }
    }
    for (const e of await listDir(path.join(dir, '_tags'))) {
      if (!validTag(e.name)) continue;
      const digest = (await fs.readFile(path.join(dir, '_tags', e.name), 'utf8')).trim();
      if (repo.manifests.has(digest)) repo.tags.set(e.name, digest);
    }
  }

  get(name: string): Repo | undefined {
    return this.repos.get(name);
  }

  /** Repository names in byte order (the catalog's order), cached until a repository is added. */
  names(): string[] {
    if (!this.sortedNames) this.sortedNames = [...this.repos.keys()].sort(byteOrder);
    return this.sortedNames;
  }

  /** How many (repository, layer-or-manifest) links point at a blob. */
  references(digest: string): number {
    return this.refs.get(digest) ?? 0;
  }

  /** Whether any repository has the blob as a layer (for mounts without `from`). */
  anyHasLayer(digest: string): boolean {
    for (const r of this.repos.values()) if (r.layers.has(digest)) return true;
    return false;
  }

  async linkLayer(name: string, digest: string): Promise<void> {
    const repo = this.ensure(name);
    if (repo.layers.has(digest)) return;
    await writeAtomic(this.tmpDir, this.layerPath(repo, digest), '');
    this.addLayerRef(repo, digest);
  }

  /** Drops a blob from a repository; false if it was not there. */
  async unlinkLayer(name: string, digest: string): Promise<boolean> {
    const repo = this.repos.get(name);
    if (!repo?.layers.has(digest)) return false;
    await removeFile(this.layerPath(repo, digest));
    repo.layers.delete(digest);
    this.unref(digest);
    return true;
  }

  async addManifest(name: string, digest: string, meta: ManifestMeta): Promise<void> {
    const repo = this.ensure(name);
    if (!repo.manifests.has(digest)) {
      await writeAtomic(this.tmpDir, this.manifestPath(repo, digest), JSON.stringify(meta));
      this.addManifestRef(repo, digest, meta);
    }
  }

  /** Removes a manifest, every tag pointing to it and its referrer entry. Returns false if unknown. */
  async removeManifest(name: string, digest: string): Promise<boolean> {
    const repo = this.repos.get(name);
    const meta = repo?.manifests.get(digest);
    if (!repo || !meta) return false;
    for (const [tag, d] of [...repo.tags]) if (d === digest) await this.removeTag(name, tag);
    await removeFile(this.manifestPath(repo, digest));
    repo.manifests.delete(digest);
    if (meta.subject) {
      const set = repo.referrers.get(meta.subject);
      set?.delete(digest);
      if (set?.size === 0) repo.referrers.delete(meta.subject);
    }
    this.unref(digest);
    return true;
  }

  async setTag(name: string, tag: string, digest: string): Promise<void> {
    const repo = this.ensure(name);
    if (repo.tags.get(tag) === digest) return;
    await writeAtomic(this.tmpDir, path.join(repo.dir, '_tags', tag), digest);
    repo.tags.set(tag, digest);
  }

  async removeTag(name: string, tag: string): Promise<boolean> {
    const repo = this.repos.get(name);
    if (!repo?.tags.has(tag)) return false;
    await removeFile(path.join(repo.dir, '_tags', tag));
    repo.tags.delete(tag);
    return true;
  }

  private ensure(name: string): Repo {
    let repo = this.repos.get(name);
    if (!repo) {
      repo = new Repo(name, path.join(this.dir, ...name.split('/')));
      this.repos.set(name, repo);
      this.sortedNames = undefined;
    }
    return repo;
  }

  private layerPath = (repo: Repo, digest: string) => path.join(repo.dir, '_layers', 'sha256', hexOf(digest));
  private manifestPath = (repo: Repo, digest: string) => path.join(repo.dir, '_manifests', 'sha256', hexOf(digest));

  private addLayerRef(repo: Repo, digest: string): void {
    repo.layers.add(digest);
    this.refs.set(digest, this.references(digest) + 1);
  }

  private addManifestRef(repo: Repo, digest: string, meta: ManifestMeta): void {
    repo.manifests.set(digest, meta);
    this.refs.set(digest, this.references(digest) + 1);
    if (meta.subject) {
      let set = repo.referrers.get(meta.subject);
      if (!set) repo.referrers.set(meta.subject, (set = new Set()));
      set.add(digest);
    }
  }

  private unref(digest: string): void {
    const n = this.references(digest) - 1;
    if (n > 0) this.refs.set(digest, n); else this.refs.delete(digest);
  }
}

/** Go's sort.Strings order (bytes); names and tags are ASCII, where UTF-16 order is the same. */
export const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
