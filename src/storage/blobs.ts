// Content-addressed blobs: <root>/blobs/sha256/<hex>. Layer tarballs and image configs live here, named by the
// sha256 of their bytes, so pull/push/save can reuse them as they are. Writers stream into a temp file while
// hashing and rename into place only when complete: a blob file, once present, is always whole.
import { createHash, Hash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { syncDir, writeFileAtomic } from '../common/atomic';
import { EngineError } from '../common/errors';
import { digestHex, sha256Digest } from './digest';

export interface BlobInfo { digest: string; size: number }

export class BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private size = 0;
  private closed = false;
  /** Set when another thread wrote and hashed the bytes (see `fd`). */
  private external: BlobInfo | undefined;

  constructor(private readonly handle: fs.FileHandle, private readonly tmp: string, private readonly store: BlobStore) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    this.size += chunk.length;
    let off = 0;
    while (off < chunk.length) off += (await this.handle.write(chunk, off, chunk.length - off)).bytesWritten;
  }

  /** The temp file's descriptor, for a writer on another thread (the unpack worker): it writes every byte, in
   * order, then reports what it wrote with `written` before commit. Use either this or `write`, not both. */
  get fd(): number {
    return this.handle.fd;
  }

  written(info: BlobInfo): void {
    this.external = info;
  }

  /** Makes the blob durable under its digest. With `expected`, a mismatch is an error and nothing is kept. */
  async commit(expected?: string): Promise<BlobInfo> {
    if (this.external) this.size = this.external.size;
    const digest = this.external?.digest ?? `sha256:${this.hash.digest('hex')}`;
    try {
      if (expected !== undefined && expected !== digest) {
        throw new EngineError(400, `digest mismatch: expected ${expected}, got ${digest}`);
      }
      await this.handle.sync();
      await this.close();
      await fs.rename(this.tmp, this.store.path(digest));
      await syncDir(path.dirname(this.store.path(digest)));
    } catch (err) {
      await this.abort();
      throw err;
    }
    return { digest, size: this.size };
  }

  async abort(): Promise<void> {
    await this.close();
    await fs.rm(this.tmp, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export class BlobStore {
  private readonly dir: string;

  /** @param root the store's root; blobs go to <root>/blobs/sha256, temp files to `tmpDir` (same filesystem). */
  constructor(root: string, private readonly tmpDir: string) {
    this.dir = path.join(root, 'blobs', 'sha256');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    return path.join(this.dir, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    return fs.access(this.path(digest)).then(() => true, () => false);
  }

  async createWriter(): Promise<BlobWriter> {
    const tmp = path.join(this.tmpDir, `blob-${randomBytes(8).toString('hex')}`);
    return new BlobWriter(await fs.open(tmp, 'wx', 0o644), tmp, this);
  }

  /** Stores small blobs (configs, manifests) in one atomic write. */
  async putBytes(data: Uint8Array | string): Promise<BlobInfo> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256Digest(bytes);
    if (!(await this.has(digest))) await writeFileAtomic(this.path(digest), bytes, 0o644);
    return { digest, size: bytes.length };
  }

  async read(digest: string): Promise<Buffer> {
    return fs.readFile(this.path(digest));
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }
}
