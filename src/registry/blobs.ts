// Content-addressed blob files: blobs/sha256/<2 hex>/<64 hex>. Manifests live here too (they are blobs
// with a media type recorded per repository). Files only ever appear by rename of a verified temp file,
// so a path that exists holds exactly the bytes its name promises. Sizes are cached: HEAD requests and
// manifest validation then cost no system call.
import { promises as fs } from 'fs';
import * as path from 'path';
import { hexOf } from './names';
import { renameInto, removeFile, syncFile, tempName, writeAtomic } from './fsutil';

export class BlobStore {
  private sizes = new Map<string, number>();

  constructor(readonly dir: string, private readonly tmpDir: string) {}

  /** Where a blob's bytes live. The 2-character fan-out keeps directories small. */
  path(digest: string): string {
    const hex = hexOf(digest);
    return path.join(this.dir, 'sha256', hex.slice(0, 2), hex);
  }

  /** The blob's size, or undefined when it is not stored. */
  async size(digest: string): Promise<number | undefined> {
    const known = this.sizes.get(digest);
    if (known !== undefined) return known;
    try {
      const st = await fs.stat(this.path(digest));
      this.sizes.set(digest, st.size);
      return st.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Moves a verified temp file into place. If the blob is already stored, the temp file is dropped: the
   * bytes are identical by construction (same digest).
   */
  async adopt(tmp: string, digest: string, size: number): Promise<void> {
    if ((await this.size(digest)) !== undefined) { await removeFile(tmp); return; }
    await syncFile(tmp);
    await renameInto(tmp, this.path(digest));
    this.sizes.set(digest, size);
  }

  /** Stores small content (a manifest) already in memory. */
  async put(digest: string, data: Buffer): Promise<void> {
    if ((await this.size(digest)) !== undefined) return;
    await writeAtomic(this.tmpDir, this.path(digest), data);
    this.sizes.set(digest, data.length);
  }

  async read(digest: string): Promise<Buffer> {
    return fs.readFile(this.path(digest));
  }

  async remove(digest: string): Promise<void> {
    this.sizes.delete(digest);
    await removeFile(this.path(digest));
  }

  tempFile(): string {
    return tempName(this.tmpDir);
  }
}
