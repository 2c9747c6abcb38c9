// File helpers with the registry's durability rule: data becomes visible only by rename, after fsync,
// and temporary files live in the root's tmp/ directory (same file system, so rename is atomic and a
// crash leaves at most garbage in tmp/, which is wiped at start).
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

export const tempName = (tmpDir: string) => path.join(tmpDir, randomBytes(12).toString('hex'));

/** fsync of a directory, so a rename into it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try { await h.sync(); } catch { /* some file systems refuse fsync on directories */ } finally { await h.close(); }
}

/** fsync of a regular file's data. */
export async function syncFile(file: string): Promise<void> {
  const h = await fs.open(file, 'r+');
  try { await h.sync(); } finally { await h.close(); }
}

/** Writes `data` to `file` all-or-nothing: temp file in tmpDir, fsync, rename, fsync of the directory. */
export async function writeAtomic(tmpDir: string, file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(tmpDir);
  const h = await fs.open(tmp, 'w', 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await renameInto(tmp, file);
}

/** Renames a finished temp file into place (creating the parent), then makes the rename durable. */
export async function renameInto(tmp: string, file: string): Promise<void> {
  const dir = path.dirname(file);
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') { await fs.rm(tmp, { force: true }); throw err; }
    await fs.mkdir(dir, { recursive: true });
    try { await fs.rename(tmp, file); } catch (err2) { await fs.rm(tmp, { force: true }); throw err2; }
  }
  await syncDir(dir);
}

/** Removes a file; a missing file is not an error (the goal, absence, is reached). */
export async function removeFile(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}

/** Directory entries, or [] when the directory does not exist. */
export async function listDir(dir: string): Promise<import('fs').Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A promise-chain mutex: metadata changes that must not interleave (link vs. delete) run one at a time. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
