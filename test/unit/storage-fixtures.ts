// Shared by the storage tests: tar archives built in memory with tar-stream, so each hostile case is explicit.
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { gzipSync } from 'zlib';

export interface TarEntry {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c)); })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    await new Promise<void>((resolve, reject) => {
      pack.entry({
        name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
        mtime: e.mtime ?? new Date('2020-01-02T03:04:05Z'), linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor,
        ...(e.pax ? { pax: e.pax } : {}), size: type === 'file' ? content.length : 0,
      } as tar.Header, type === 'file' ? content : Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const gzip = (b: Buffer) => gzipSync(b);

/** A readable that yields `data` in small pieces (exercises chunk boundaries). */
export function streamOf(data: Buffer, chunk = 7000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Readable.from(parts);
}

export async function tempDir(prefix = 'berth-storage-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Every path under `dir` with type, size, mode and mtime: compare snapshots to prove nothing changed. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const name of (await fs.readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await fs.lstat(p);
      out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.nlink} ${st.uid}:${st.gid}`);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk(dir);
  return out;
}

export const isRoot = process.getuid?.() === 0;
