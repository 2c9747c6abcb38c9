// The classic builder's step cache: cache key → the intermediate image a step produced. The images themselves
// live in the image store (real, untagged images with a parent); this index only remembers which step made
// which, so it is one small JSON file under <dataRoot>/build/, rewritten atomically after each change. A key
// whose image has gone (rmi, prune) is simply a miss.
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import { readJson, writeJsonAtomic } from '../common/atomic';

export interface CacheEntry {
  /** The image the step produced. */
  id: string;
  /** The image the step ran on. */
  parent: string;
  /** The instruction as shown in `system df -v`. */
  description: string;
  created: string;
  lastUsed: string;
  usageCount: number;
}

interface CacheFile { version: 1; entries: Record<string, CacheEntry> }

/** A step's key: what it ran on, what it did, and what it read (sources, build args). */
export function cacheKey(parent: string, instruction: string, extra: readonly string[] = []): string {
  const h = createHash('sha256');
  h.update(`${parent}\0${instruction}`);
  for (const e of extra) h.update(`\0${e}`);
  return `sha256:${h.digest('hex')}`;
}

export class BuildCache {
  private entries = new Map<string, CacheEntry>();
  /** Writes go one after the other so a later state never loses to an earlier one. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(dir: string): Promise<BuildCache> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const cache = new BuildCache(`${dir}/cache.json`);
    const doc = await readJson<CacheFile>(cache.file).catch(() => undefined);
    if (doc?.version === 1 && doc.entries && typeof doc.entries === 'object') {
      for (const [k, v] of Object.entries(doc.entries)) if (v && typeof v.id === 'string') cache.entries.set(k, v);
    }
    return cache;
  }

  /** The image id for `key`, when `exists` still knows it; a stale entry is dropped. */
  lookup(key: string, exists: (id: string) => boolean): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!exists(e.id)) {
      this.entries.delete(key);
      void this.save();
      return undefined;
    }
    e.lastUsed = new Date().toISOString();
    e.usageCount++;
    void this.save();
    return e.id;
  }

  async put(key: string, id: string, parent: string, description: string): Promise<void> {
    const now = new Date().toISOString();
    this.entries.set(key, { id, parent, description, created: now, lastUsed: now, usageCount: 1 });
    await this.save();
  }

  list(): Array<[string, CacheEntry]> {
    return [...this.entries];
  }

  /** Forgets the given keys (prune). */
  async remove(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.entries.delete(k);
    await this.save();
  }

  save(): Promise<void> {
    const doc: CacheFile = { version: 1, entries: Object.fromEntries(this.entries) };
    this.writing = this.writing.catch(() => undefined).then(() => writeJsonAtomic(this.file, doc));
    return this.writing;
  }
}
