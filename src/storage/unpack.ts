// Layer unpacking, main-thread side: a layer's bytes are handed to a worker thread (unpack-worker.ts) that
// decompresses, hashes and unpacks them with synchronous syscalls (unpacker.ts says what lands on disk and why
// it stays inside the target). One worker per layer being unpacked, so layers unpacked at once use every core;
// this thread only reads the source and copies it into recycled 512 KiB buffers (the worker also writes the blob).
// Workers cost ~100 ms to start here, so a few are kept warm between layers (and ended when idle for a while).
//
// Failure: whatever goes wrong (the archive, the file system, the source), the promise settles only after the
// worker has stopped touching the target and closed its files; the caller then discards the target.
import { existsSync } from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { EngineError } from '../common/errors';
import { log } from '../common/log';
import type { BlobInfo } from './blobs';
import type { ExtractSpec } from './archive-extract';
import type { Compression } from './compression';
import type { FromWorker, ToWorker, WorkerParams } from './unpack-worker';

export interface UnpackOptions {
  /** Leave owners as they come (files owned by the caller). Default: on unless running as root, since only root
   * may give files away; unprivileged unpacks (unit tests) still get every other attribute. */
  noLchown?: boolean;
}

export interface UnpackResult {
  /** Sum of regular file sizes, what docker reports as the layer's size. */
  size: number;
  entries: number;
}

export interface StreamUnpackResult extends UnpackResult {
  /** sha256 of the uncompressed tar, when asked for (`hash`). */
  diffId?: string;
  /** What was written to `blobFd`, when given. */
  blob?: BlobInfo;
  /** What the input turned out to be (always 'none' without `decompress`). */
  compression: Compression;
}

export interface StreamUnpackOptions extends UnpackOptions {
  /** Sniff the input's compression and decompress it (in the worker). */
  decompress?: boolean;
  /** Compute the diff id. */
  hash?: boolean;
  /** The worker writes the input bytes, as received and in order, to this descriptor and hashes them (ingest
   * keeps them as the blob: BlobWriter.fd). Untouched once the promise settles. */
  blobFd?: number;
  /** Extract into the existing directory it names, with docker's cp rules, instead of unpacking a layer into the
   * empty `root` (see archive-extract.ts; `root` is then its view's root). */
  extract?: ExtractSpec;
}

/** Unpacks `source` (plain tar bytes) into the existing, empty directory `root`. */
export async function unpackLayer(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, root: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const { size, entries } = await unpackStream(source, root, opts);
  return { size, entries };
}

/** Input goes to the worker in buffers of this size: each hand-over wakes another thread, which costs ~0.1 ms
 * in this VM, so few large ones rather than one per 16-64 KiB network chunk. */
const BATCH = 512 << 10;
/** Bytes sent but not yet consumed by a worker, per layer, at most (then reading the source waits). */
const MAX_IN_FLIGHT = 8 * BATCH;
/** Buffers kept for reuse while unpacking goes on, enough for 3 layers in flight: fresh memory costs page faults
 * (measured ~1 ms per 256 KiB in this VM). Dropped once every worker has been idle for IDLE_MS. */
const MAX_FREE_BUFFERS = 32;
/** Warm workers kept, and for how long once idle. */
const MAX_IDLE_WORKERS = 3;
const IDLE_MS = 30_000;

const freeBuffers: ArrayBuffer[] = [];

function takeBuffer(): Uint8Array {
  const b = freeBuffers.pop();
  return b ? new Uint8Array(b) : new Uint8Array(new ArrayBuffer(BATCH));
}

function recycle(b: ArrayBuffer): void {
  if (b.byteLength === BATCH && freeBuffers.length < MAX_FREE_BUFFERS) freeBuffers.push(b);
}

let workerFile: string | undefined;

/** The worker script: next to this module both in the bundle (dist/unpack-worker.js beside dist/daemon.js) and
 * in tsc's output (build/src/storage/unpack-worker.js). */
export function unpackWorkerPath(): string {
  if (workerFile) return workerFile;
  const candidate = path.join(__dirname, 'unpack-worker.js');
  if (!existsSync(candidate)) throw new EngineError(500, `unpack worker missing at ${candidate}: run npm run build`);
  return (workerFile = candidate);
}

type Final = Exclude<FromWorker, { t: 'ack' }>;

interface JobHandlers { ack(n: number): void; final(m: Final): void }

/** One worker thread, reused for one job after another. */
class UnpackWorker {
  readonly worker: Worker;
  dead = false;
  job: { id: number; handlers: JobHandlers } | undefined;
  idleTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.worker = new Worker(unpackWorkerPath());
    this.worker.on('message', (m: FromWorker) => {
      if (m.t === 'ack') recycle(m.data);
      if (!this.job || m.id !== this.job.id) return; // a finished job's late ack
      if (m.t === 'ack') this.job.handlers.ack(m.data.byteLength);
      else this.job.handlers.final(m);
    });
    const lost = (why: string) => {
      this.dead = true;
      dropIdle(this);
      this.job?.handlers.final({ t: 'error', id: this.job.id, status: 500, message: `unpack worker ${why}` });
    };
    this.worker.on('error', (err) => { log.error('unpack worker failed', { error: err.message }); lost(`failed: ${err.message}`); });
    this.worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }
}

const idle: UnpackWorker[] = [];
/** Workers being terminated (stopUnpackWorkers waits for them). */
const ending = new Set<Promise<unknown>>();
let nextJob = 1;
let activeJobs = 0;

function dropIdle(w: UnpackWorker): void {
  const i = idle.indexOf(w);
  if (i >= 0) idle.splice(i, 1);
  if (w.idleTimer) clearTimeout(w.idleTimer);
  w.idleTimer = undefined;
}

function acquire(): UnpackWorker {
  const w = idle.pop() ?? new UnpackWorker();
  if (w.idleTimer) clearTimeout(w.idleTimer);
  w.idleTimer = undefined;
  w.worker.ref();
  return w;
}

function end(w: UnpackWorker): void {
  const p = w.worker.terminate().catch(() => undefined);
  ending.add(p);
  void p.then(() => ending.delete(p));
}

function release(w: UnpackWorker): void {
  w.job = undefined;
  if (w.dead) return;
  if (idle.length >= MAX_IDLE_WORKERS) {
    end(w);
    return;
  }
  w.worker.unref(); // an idle worker does not keep the process alive
  w.idleTimer = setTimeout(() => {
    dropIdle(w);
    end(w);
    if (idle.length === 0 && activeJobs === 0) freeBuffers.length = 0; // quiet again: give the memory back
  }, IDLE_MS);
  w.idleTimer.unref();
  idle.push(w);
}

/** Starts up to `n` workers ahead of need (e.g. when a pull begins, while manifests are fetched): the first
 * layers then do not wait ~100 ms for one. Idle workers end after 30 s. */
export function warmUnpackWorkers(n = MAX_IDLE_WORKERS): void {
  const want = Math.min(n, MAX_IDLE_WORKERS) - idle.length;
  for (let i = 0; i < want; i++) release(new UnpackWorker());
}

/** Ends the idle workers now and waits until every worker being ended is gone (tests, daemon shutdown). */
export async function stopUnpackWorkers(): Promise<void> {
  for (const w of idle.splice(0)) {
    if (w.idleTimer) clearTimeout(w.idleTimer);
    end(w);
  }
  await Promise.all([...ending]);
  if (activeJobs === 0) freeBuffers.length = 0;
}

/** Unpacks `source` into the existing, empty directory `root` in a worker thread; see StreamUnpackOptions. */
export async function unpackStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, root: string, opts: StreamUnpackOptions = {}): Promise<StreamUnpackResult> {
  const params: WorkerParams = {
    root: path.resolve(root),
    noLchown: opts.noLchown ?? process.getuid?.() !== 0,
    decompress: opts.decompress ?? false,
    hash: opts.hash ?? false,
    blobFd: opts.blobFd,
    extract: opts.extract,
  };
  const w = acquire();
  const id = nextJob++;
  activeJobs++;
  let final: Final | undefined;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const finished = new Promise<Final>((resolve) => {
    w.job = {
      id,
      handlers: {
        ack: (n) => { inFlight -= n; wake?.(); },
        final: (m) => { final ??= m; wake?.(); resolve(final); },
      },
    };
  });
  w.post({ t: 'start', id, params });

  let cur: Uint8Array | undefined;
  let fill = 0;
  async function send(): Promise<void> {
    if (!cur || fill === 0) return;
    const b = cur;
    const len = fill;
    cur = undefined;
    fill = 0;
    if (final) return recycle(b.buffer as ArrayBuffer);
    inFlight += b.byteLength;
    w.post({ t: 'chunk', id, data: b.buffer as ArrayBuffer, len }, [b.buffer as ArrayBuffer]);
    while (inFlight > MAX_IN_FLIGHT && !final) await new Promise<void>((resolve) => { wake = resolve; });
    wake = undefined;
  }

  let sourceError: unknown;
  let failed = false;
  try {
    for await (const chunk of source) {
      if (final) break; // the worker gave up (bad archive): stop reading
      let off = 0;
      while (off < chunk.byteLength) {
        cur ??= takeBuffer();
        const n = Math.min(BATCH - fill, chunk.byteLength - off);
        cur.set(off === 0 && n === chunk.byteLength ? chunk : chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === BATCH) await send();
      }
    }
    await send();
    w.post({ t: 'end', id });
  } catch (err) {
    failed = true;
    sourceError = err;
    w.post({ t: 'abort', id });
  }
  if (cur) recycle(cur.buffer as ArrayBuffer);
  const result = await finished;
  activeJobs--;
  release(w);
  // A failing source (bad gzip, client gone) also breaks the entry being read: report the cause.
  if (failed) throw sourceError;
  if (result.t === 'error') throw new EngineError(result.status, result.message);
  return { size: result.size, entries: result.entries, diffId: result.diffId, compression: result.compression, blob: result.blob };
}
