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

// ---- raw tar blocks, for what tar-stream cannot write (binary PAX values, GNU long names, base-256, V7) ----

export interface RawHeader {
  name: string;
  /** Typeflag character ('0', '5', 'x', 'L' …). */
  typeflag: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  format?: 'ustar' | 'gnu' | 'v7';
  /** Fields to write in GNU base-256 instead of octal. */
  base256?: Array<'size' | 'uid' | 'gid' | 'mtime'>;
}

const FIELDS = { mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], devmajor: [329, 8], devminor: [337, 8] } as const;

/** One 512-byte header with a valid checksum. */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  const values = { mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0, size: h.size ?? 0, mtime: h.mtime ?? 1_577_934_245, devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 };
  for (const [field, [off, len]] of Object.entries(FIELDS)) {
    const v = values[field as keyof typeof values];
    if ((h.base256 as string[] | undefined)?.includes(field)) {
      b[off] = 0x80;
      let x = BigInt(v);
      for (let i = off + len - 1; i > off; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
    } else {
      b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
    }
  }
  b.write(h.typeflag, 156, 1, 'latin1');
  b.write(h.linkname ?? '', 157, 100, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\x0000', 257, 8, 'latin1');
  if (format === 'gnu') b.write('ustar  \x00', 257, 8, 'latin1');
  b.write('        ', 148, 8, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** Content padded to whole blocks. */
export function blocks(content: Buffer | string): Buffer {
  const c = Buffer.from(content);
  return Buffer.concat([c, Buffer.alloc((512 - (c.length % 512)) % 512)]);
}

/** A PAX extended header ('x') entry carrying `records` (values may be binary). */
export function paxEntry(records: Record<string, string | Buffer>): Buffer {
  const body = Buffer.concat(Object.entries(records).map(([k, v]) => {
    const rest = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    return Buffer.concat([Buffer.from(String(len)), rest]);
  }));
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: body.length }), blocks(body)]);
}

/** A regular file entry. */
export function fileEntry(name: string, content: string | Buffer, h: Partial<RawHeader> = {}): Buffer {
  const c = Buffer.from(content);
  return Buffer.concat([rawHeader({ name, typeflag: '0', size: c.length, ...h }), blocks(c)]);
}

export const END_OF_ARCHIVE = Buffer.alloc(1024);
