// Unpacked layers, one per chain id, shared by every image whose layer stack starts the same way:
//   <root>/layers/<chain-hex>/layer.json   what the layer is (LayerRecord)
//   <root>/layers/<chain-hex>/diff/        its files, in overlayfs' format (the lowerdir entry)
// A layer is built in a private staging dir under <root>/tmp and renamed into place whole, so a layer
// directory that exists is always complete; open() wipes tmp/, which holds only unfinished work.
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { readJson, syncDir, writeJsonAtomic } from '../common/atomic';
import { log } from '../common/log';
import { digestHex } from './digest';

export interface LayerBlob {
  /** Digest of the tarball as stored in blobs/ (compressed or not, see mediaType). */
  digest: string;
  size: number;
  mediaType: string;
}

export interface LayerRecord {
  chainId: string;
  diffId: string;
  /** Chain id of the layer below, if any. */
  parent?: string;
  /** Bytes of file content, as docker reports layer sizes. */
  size: number;
  /** The tarball this layer came from, kept for push/save; absent when it was not kept. */
  blob?: LayerBlob;
  created: string;
}

export interface LayerStaging {
  /** Private dir; renamed to layers/<hex> on commit. */
  readonly dir: string;
  /** Unpack here. */
  readonly diffDir: string;
}

export class LayerStore {
  private readonly layers = new Map<string, LayerRecord>();
  private readonly dir: string;

  constructor(root: string, private readonly tmpDir: string) {
    this.dir = path.join(root, 'layers');
  }

  /** Reads every layer.json once; the store answers from memory afterwards. */
  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.dir)) {
      const record = await readJson<LayerRecord>(path.join(this.dir, name, 'layer.json')).catch(() => undefined);
      if (!record || digestHex(record.chainId) !== name) {
        log.warn('ignoring unreadable layer', { layer: name });
        continue;
      }
      this.layers.set(record.chainId, record);
    }
  }

  get(chainId: string): LayerRecord | undefined {
    return this.layers.get(chainId);
  }

  all(): IterableIterator<LayerRecord> {
    return this.layers.values();
  }

  /** Absolute path of the layer's unpacked files. */
  diffDir(chainId: string): string {
    return path.join(this.dir, digestHex(chainId), 'diff');
  }

  layerDir(chainId: string): string {
    return path.join(this.dir, digestHex(chainId));
  }

  async stage(): Promise<LayerStaging> {
    const dir = path.join(this.tmpDir, `layer-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(dir, { mode: 0o700 });
    const diffDir = path.join(dir, 'diff');
    await fs.mkdir(diffDir, { mode: 0o755 });
    return { dir, diffDir };
  }

  async discard(staging: LayerStaging): Promise<void> {
    await fs.rm(staging.dir, { recursive: true, force: true });
  }

  /**
   * Moves a fully unpacked staging dir into place. If the same chain id already exists (the same content
   * imported twice), the existing layer wins and the staging dir is discarded. Callers serialize commits.
   */
  async commit(staging: LayerStaging, record: LayerRecord, opts: { synced?: boolean } = {}): Promise<LayerRecord> {
    const existing = this.layers.get(record.chainId);
    if (existing) {
      await this.discard(staging);
      return existing;
    }
    if (!opts.synced) await syncFilesystem(staging.dir);
    await writeJsonAtomic(path.join(staging.dir, 'layer.json'), record);
    await fs.rename(staging.dir, this.layerDir(record.chainId));
    await syncDir(this.dir);
    this.layers.set(record.chainId, record);
    return record;
  }

  /** Points a layer at another stored tarball of the same content (its compressed form). */
  async setBlob(chainId: string, blob: LayerBlob): Promise<LayerRecord> {
    const record = this.layers.get(chainId);
    if (!record) throw new Error(`no such layer ${chainId}`);
    const updated = { ...record, blob };
    await writeJsonAtomic(path.join(this.layerDir(chainId), 'layer.json'), updated);
    this.layers.set(chainId, updated);
    return updated;
  }

  /** Removes a layer: renamed out of layers/ first (atomic), then deleted at leisure. */
  async remove(chainId: string): Promise<void> {
    if (!this.layers.delete(chainId)) return;
    const doomed = path.join(this.tmpDir, `removed-${digestHex(chainId)}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.rename(this.layerDir(chainId), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await syncDir(this.dir);
    await fs.rm(doomed, { recursive: true, force: true });
  }
}

/** syncfs(2) on the filesystem holding `dir` (coreutils `sync -f`): one call makes every file of the freshly
 * unpacked layer durable before its metadata says it exists, instead of an fsync per file. */
export function syncFilesystem(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], (err) => {
      if (err) log.warn('sync -f failed', { dir, error: err.message });
      resolve();
    });
  });
}
