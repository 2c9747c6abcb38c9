// Layer and import streams arrive plain or compressed; like docker's DecompressStream we sniff the magic bytes
// instead of trusting names or headers. gzip (the common case) runs in-process through node:zlib; bzip2, xz
// and zstd, rare for layers, go through Debian's decompressor commands when they are installed.
import { spawn } from 'child_process';
import { Duplex, Readable, pipeline } from 'stream';
import * as zlib from 'zlib';
import { EngineError } from '../common/errors';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const startsWith = (head: Uint8Array, magic: number[]) => magic.every((b, i) => head[i] === b);

export function detectCompression(head: Uint8Array): Compression {
  if (startsWith(head, [0x1f, 0x8b, 0x08])) return 'gzip';
  if (startsWith(head, [0x42, 0x5a, 0x68])) return 'bzip2';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  return 'none';
}

const COMMANDS: Record<Exclude<Compression, 'none' | 'gzip'>, { cmd: string; pkg: string }> = {
  bzip2: { cmd: 'bzip2', pkg: 'bzip2' },
  xz: { cmd: 'xz', pkg: 'xz-utils' },
  zstd: { cmd: 'zstd', pkg: 'zstd' },
};

/** Reads from `it` until at least `n` bytes are buffered (or the stream ends). */
async function readHead(it: AsyncIterator<Uint8Array>, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await it.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    parts.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(parts, length);
}

async function* prepend(head: Buffer, it: AsyncIterator<Uint8Array>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }
}

/** Pipes `input` through a transform and yields its output; errors on either side surface in the loop. */
async function* through(input: AsyncIterable<Buffer>, transform: Duplex): AsyncGenerator<Buffer> {
  pipeline(Readable.from(input), transform, () => { /* errors reach the reader through `transform` */ });
  try {
    for await (const chunk of transform) yield chunk as Buffer;
  } finally {
    transform.destroy();
  }
}

async function* gunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    // 128 KiB output chunks: 8× fewer thread-pool round trips than the 16 KiB default, measurably faster
    yield* through(input, zlib.createGunzip({ chunkSize: 128 << 10 }));
  } catch (err) {
    // zlib's own errors (Z_DATA_ERROR "incorrect header check", Z_BUF_ERROR "unexpected end of file") mean bad input.
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new EngineError(400, `invalid gzip data: ${(err as Error).message}`);
    throw err;
  }
}

async function* throughCommand(input: AsyncIterable<Buffer>, kind: keyof typeof COMMANDS): AsyncGenerator<Buffer> {
  const { cmd, pkg } = COMMANDS[kind];
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT'
      ? new EngineError(400, `${kind}-compressed input needs the ${cmd} command (Debian package ${pkg})`)
      : err));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // observed below
  pipeline(Readable.from(input), child.stdin, () => { /* a broken pipe shows as a failed exit below */ });
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (code !== 0) throw new EngineError(400, `invalid ${kind} data: ${stderr.trim() || `${cmd} exited with ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

/**
 * Yields the decompressed bytes of `source`. `onDetect` learns the format before the first byte is yielded
 * (the caller records it as the blob's media type).
 */
export async function* decompress(source: AsyncIterable<Uint8Array>, onDetect?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    const head = await readHead(it, 6);
    const kind = detectCompression(head);
    onDetect?.(kind);
    const all = prepend(head, it);
    if (kind === 'none') yield* all;
    else if (kind === 'gzip') yield* gunzip(all);
    else yield* throughCommand(all, kind);
  } finally {
    await it.return?.();
  }
}
