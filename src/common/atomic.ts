// Atomic metadata writes: temp file in the same directory, fsync, rename, fsync of the directory.
// A crash at any point leaves either the old or the new content, never a half-written file.
import { promises as fs, writeFileSync, openSync, fsyncSync, closeSync, renameSync } from 'fs';
import * as path from 'path';

let counter = 0;
const tempName = (file: string) => `${file}.tmp-${process.pid}-${counter++}`;

/**
 * `durable: false` keeps the all-or-nothing rename but skips the fsyncs: for files regenerated at every
 * container start (its /etc/hosts, the runtime bundle on tmpfs), where a crash loses nothing worth keeping.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600, durable = true): Promise<void> {
  const tmp = tempName(file);
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await syncDir(path.dirname(file));
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 1) + '\n');
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = tempName(file);
  writeFileSync(tmp, data, { mode });
  const fd = openSync(tmp, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, file);
}

/** fsync of a directory: makes a rename or create inside it durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try { await handle.sync(); } catch { /* some filesystems refuse fsync on directories */ } finally { await handle.close(); }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
