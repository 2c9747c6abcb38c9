// Streams a byte range of an open file to an HTTP response. Node has no sendfile(2), so the bytes pass
// through user space; what this saves over fs.createReadStream is fresh memory: a read stream allocates
// a new buffer for every chunk, and fresh large buffers cost page faults (the kernel zeroing pages) and
// GC work, which at hundreds of MiB/s is most of the CPU. Here chunks come from a small pool and go back
// to it once the socket has taken them (the write callback), so a steady-state download allocates nothing.
import type { ServerResponse } from 'http';
import type { FileHandle } from 'fs/promises';

const CHUNK = 512 << 10;
const POOL_MAX = 64; // 32 MiB at most kept for reuse
const pool: Buffer[] = [];

const take = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const give = (b: Buffer) => { if (pool.length < POOL_MAX) pool.push(b); };

/** Writes bytes [start, end] of `fh` to `res` and ends it. Rejects if the client goes away. */
export async function sendRange(fh: FileHandle, res: ServerResponse, start: number, end: number): Promise<void> {
  let pos = start;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const onClose = () => { failed ??= new Error('client closed the connection'); wake?.(); };
  const onDrain = () => wake?.();
  res.on('close', onClose);
  res.on('drain', onDrain);
  try {
    while (pos <= end) {
      if (failed) throw failed;
      const buf = take();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) { give(buf); throw new Error('file shorter than expected'); }
      pos += bytesRead;
      if (failed) { give(buf); throw failed; }
      // the buffer is reused only after the socket has consumed it
      const more = res.write(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead), () => give(buf));
      if (!more && !failed) await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
    res.end();
  } finally {
    res.off('close', onClose);
    res.off('drain', onDrain);
  }
}
