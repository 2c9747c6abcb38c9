// Archives on the main thread's side: a directory tree is packed by a warm pack worker (archive-pack-worker.ts)
// whose buffers go straight to the caller's writer and back to the worker once written, so a cp of any size
// holds at most a few MiB; a single file, symlink or device is written here (no worker start for the common
// `cp CONTAINER:/etc/passwd .`). Failure settles only after the worker has let go of the view's files.
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { Worker } from 'worker_threads';
import { EngineError } from '../common/errors';
import { log } from '../common/log';
import type { PackSpec } from './archive-pack';
import type { FromPackWorker, ToPackWorker } from './archive-pack-worker';
import type { Resolved } from './archive-path';
import { pathError, READ_FLAGS } from './archive-view';
import { encodeHeader, END_OF_ARCHIVE, padding, TarHeader } from './tar-header';

/** Writes one buffer out; resolves once it may be reused (e.g. http's write callback). */
export type Writer = (b: Buffer) => Promise<void>;

export interface PackResult { size: number; entries: number }

const MAX_IDLE = 2;
const IDLE_MS = 30_000;

let workerFile: string | undefined;

/** Next to this module, in the bundle (dist/) and in tsc's output (build/src/storage/) alike. */
function workerPath(): string {
  if (workerFile) return workerFile;
  const candidate = path.join(__dirname, 'archive-pack-worker.js');
  if (!fs.existsSync(candidate)) throw new EngineError(500, `archive worker missing at ${candidate}: run npm run build`);
  return (workerFile = candidate);
}

class PackWorker {
  readonly worker: Worker;
  dead = false;
  onMessage: ((m: FromPackWorker) => void) | undefined;
  timer: NodeJS.Timeout | undefined;

  constructor() {
    this.worker = new Worker(workerPath());
    this.worker.on('message', (m: FromPackWorker) => this.onMessage?.(m));
    const lost = (why: string) => {
      this.dead = true;
      const i = idle.indexOf(this);
      if (i >= 0) idle.splice(i, 1);
      this.onMessage?.({ t: 'error', id: -1, status: 500, message: `archive worker ${why}` });
    };
    this.worker.on('error', (err) => { log.error('archive worker failed', { error: err.message }); lost(`failed: ${err.message}`); });
    this.worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  post(m: ToPackWorker, transfer?: ArrayBuffer[]): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }
}

const idle: PackWorker[] = [];
let nextId = 1;

function acquire(): PackWorker {
  const w = idle.pop() ?? new PackWorker();
  if (w.timer) clearTimeout(w.timer);
  w.timer = undefined;
  w.worker.ref();
  return w;
}

function release(w: PackWorker): void {
  w.onMessage = undefined;
  if (w.dead) return;
  if (idle.length >= MAX_IDLE) {
    void w.worker.terminate();
    return;
  }
  w.worker.unref();
  w.timer = setTimeout(() => {
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
    void w.worker.terminate();
  }, IDLE_MS);
  w.timer.unref();
  idle.push(w);
}

/** Ends the idle pack workers (tests, daemon shutdown). */
export async function stopPackWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((w) => { if (w.timer) clearTimeout(w.timer); return w.worker.terminate(); }));
}

/**
 * Packs `spec` in a worker, handing each piece to `write`. An aborted `signal` stops the worker; the promise
 * then rejects (as it does when `write` fails), after the worker has closed the view's files.
 */
export function packTree(spec: PackSpec, write: Writer, signal?: AbortSignal): Promise<PackResult> {
  const w = acquire();
  const id = nextId++;
  return new Promise<PackResult>((resolve, reject) => {
    let writing: Promise<void> = Promise.resolve();
    let failure: unknown;
    let settled = false;
    const settle = (err: unknown, result?: PackResult) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      release(w);
      if (err) reject(err); else resolve(result!);
    };
    const onAbort = () => {
      failure ??= new EngineError(499, 'client went away');
      w.post({ t: 'abort', id });
    };
    w.onMessage = (m) => {
      if (m.id !== id && m.id !== -1) return;
      if (m.t === 'data') {
        const buf = Buffer.from(m.data, 0, m.len);
        writing = writing.then(() => (failure ? undefined : write(buf))).then(
          () => w.post({ t: 'ack', id, data: m.data }, [m.data]),
          (err) => {
            if (!failure) { failure = err; w.post({ t: 'abort', id }); }
          },
        );
        return;
      }
      // done or error: nothing of the view is open in the worker any more; let the writes finish
      void writing.then(() => {
        if (m.t === 'done') settle(failure, { size: m.size, entries: m.entries });
        else settle(failure ?? new EngineError(m.status, m.message));
      });
    };
    if (signal?.aborted) { onAbort(); }
    signal?.addEventListener('abort', onAbort);
    w.post({ t: 'start', id, spec });
  });
}

const openFd = promisify(fs.open);
const readFd = promisify(fs.read);
const closeFd = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));
const CHUNK = 1 << 20;

/**
 * The archive of one non-directory (already resolved): its header under `name`, its content, the end marker.
 * `capability` reads security.capability of the open file (the daemon passes fgetxattr).
 */
export async function packSingle(r: Resolved, name: string, shown: string, write: Writer, capability?: (fd: number) => Buffer | undefined): Promise<PackResult> {
  const st = r.st;
  const base = { name, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime: Number(st.mtimeNs / 1_000_000_000n) };
  if (st.isSymbolicLink()) {
    const target = await fs.promises.readlink(r.path).catch((err) => { throw pathError(err, 'readlink', shown); });
    await write(Buffer.concat([encodeHeader({ ...base, type: 'symlink', linkname: target }), END_OF_ARCHIVE()]));
    return { size: 0, entries: 1 };
  }
  if (!st.isFile()) {
    const type: TarHeader['type'] | undefined = st.isCharacterDevice() ? 'character-device' : st.isBlockDevice() ? 'block-device' : st.isFIFO() ? 'fifo' : undefined;
    if (!type) {
      // a socket: docker's archiver leaves it out, and the archive is empty
      await write(END_OF_ARCHIVE());
      return { size: 0, entries: 0 };
    }
    const rdev = Number(st.rdev);
    await write(Buffer.concat([encodeHeader({ ...base, type, devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) }), END_OF_ARCHIVE()]));
    return { size: 0, entries: 1 };
  }
  const fd = await openFd(r.path, READ_FLAGS).catch((err) => { throw pathError(err, 'open', shown); });
  try {
    const fst = await promisify(fs.fstat)(fd);
    if (!fst.isFile()) throw new EngineError(500, `${shown} changed while it was being archived`);
    const size = fst.size;
    const cap = capability?.(fd);
    const header: TarHeader = { ...base, type: 'file', size, mode: fst.mode & 0o7777, uid: fst.uid, gid: fst.gid, mtime: Math.floor(fst.mtimeMs / 1000) };
    if (cap) header.pax = { 'SCHILY.xattr.security.capability': cap };
    await write(encodeHeader(header));
    let pos = 0;
    while (pos < size) {
      const want = Math.min(CHUNK, size - pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await readFd(fd, buf, 0, want, pos);
      if (bytesRead === 0) throw new EngineError(500, `${shown}: file shrank while it was being archived`);
      pos += bytesRead;
      await write(bytesRead === want ? buf : buf.subarray(0, bytesRead));
    }
    await write(Buffer.concat([padding(size), END_OF_ARCHIVE()]));
    return { size, entries: 1 };
  } finally {
    await closeFd(fd);
  }
}
