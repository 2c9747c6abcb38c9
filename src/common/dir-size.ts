// Bytes a directory tree holds, counted the way docker's directory.Size does: the sizes of everything that is
// not a directory, each hard-linked inode once. Used for containers' writable layers (system df).
import { promises as fs } from 'fs';
import * as path from 'path';

export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  async function walk(d: string): Promise<void> {
    let entries: import('fs').Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed meanwhile
      throw err;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { await walk(p); continue; }
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  }
  await walk(dir);
  return total;
}
