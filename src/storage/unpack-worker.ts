// The unpack worker: a worker_thread (bundled as dist/unpack-worker.js) that unpacks one layer at a time for
// unpack.ts, which keeps a few of them warm. For each job it takes the layer's bytes as received, decompresses
// them (gzip synchronously in this thread, see gunzip-sync.ts; zstd/xz/bzip2 through Debian's commands, their
// output queued so that they work on while we unpack), hashes the tar into the diff id and unpacks it with
// synchronous syscalls (unpacker.ts): a few microseconds each, instead of a thread-pool round trip per syscall
// from the main thread. For ingest it also writes the bytes as received to the blob's temp file and hashes
// them. Everything runs in the job's callbacks: the worker stays responsive to 'abort'.
//
// Protocol, every message tagged with the job id (messages of a finished job are dropped):
//   main → worker  {t:'start', id, params}  {t:'chunk', id, data: ArrayBuffer, len}…  then {t:'end'} or {t:'abort'}
//   worker → main  {t:'ack', id, data}  gives each chunk's buffer back once consumed (main reuses it: fresh memory
//                  is costly), then one {t:'done'} or {t:'error'}, after which the job touches nothing more.
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import { createHash, Hash } from 'crypto';
import { writeSync } from 'fs';
import { parentPort } from 'worker_threads';
import * as zlib from 'zlib';
import { EngineError } from '../common/errors';
import { Compression, detectCompression } from './compression';
import { syncGunzip } from './gunzip-sync';
import { Extractor, ExtractSpec } from './archive-extract';
import { fsetxattrSync, futimensSync, lsetxattrSync, lutimensSync, mknodSync } from './special-files';
import { TarReader, TarSink } from './tar-reader';
import { Unpacker } from './unpacker';

export interface WorkerParams {
  root: string;
  noLchown: boolean;
  /** Sniff and decompress the input (else it is plain tar). */
  decompress: boolean;
  /** Compute the sha256 of the tar (the diff id). */
  hash: boolean;
  /** Also write the input as received to this descriptor (a blob's temp file), hashing it. */
  blobFd?: number;
  /** Extract into an existing directory with docker's cp rules (archive-extract.ts) instead of unpacking a
   * layer into an empty one. */
  extract?: ExtractSpec;
}

/** What a job feeds the tar into: a layer unpacker or a cp extractor. */
type Sink = TarSink & { readonly counts: { size: number; entries: number }; finish(): void; abort(): void };

const EXTRACT_SYSCALLS = {
  futimens: futimensSync, lutimens: lutimensSync, mknod: mknodSync, lsetxattr: lsetxattrSync, fsetxattr: fsetxattrSync,
};

export type ToWorker =
  | { t: 'start'; id: number; params: WorkerParams }
  | { t: 'chunk'; id: number; data: ArrayBuffer; len: number }
  | { t: 'end'; id: number }
  | { t: 'abort'; id: number };

export type FromWorker =
  | { t: 'ack'; id: number; data: ArrayBuffer }
  | { t: 'done'; id: number; size: number; entries: number; diffId?: string; compression: Compression; blob?: { digest: string; size: number } }
  | { t: 'error'; id: number; status: number; message: string };

const COMMANDS: Record<'bzip2' | 'xz' | 'zstd', { cmd: string; pkg: string }> = {
  bzip2: { cmd: 'bzip2', pkg: 'bzip2' },
  xz: { cmd: 'xz', pkg: 'xz-utils' },
  zstd: { cmd: 'zstd', pkg: 'zstd' },
};

/** Decompressed bytes waiting to be unpacked, at most (then the decompressor is paused). */
const MAX_QUEUED = 4 << 20;
const ABORTED = new Error('aborted');

interface Decompressor {
  write(b: Buffer, consumed: () => void): void;
  end(): void;
  destroy(): void;
}

class Job {
  private readonly unpacker: Sink;
  private readonly reader: TarReader;
  private readonly hash: Hash | undefined;
  private readonly blob: { fd: number; hash: Hash; size: number } | undefined;
  private compression: Compression | undefined;
  private head: Array<{ data: ArrayBuffer; len: number }> = [];
  private headBytes = 0;
  private decomp: Decompressor | undefined;
  /** Decompressor output not unpacked yet (commands, and gzip through the stream API). */
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private draining = false;
  private paused = false;
  private resume: (() => void) | undefined;
  private outputEnded = false;
  private exitOk = true;
  private settled = false;

  constructor(readonly id: number, params: WorkerParams, private readonly onSettled: () => void) {
    // may throw (target missing or not empty): the caller reports it
    this.unpacker = params.extract ? new Extractor(params.extract, EXTRACT_SYSCALLS) : new Unpacker(params.root, params.noLchown);
    this.reader = new TarReader(this.unpacker);
    this.hash = params.hash ? createHash('sha256') : undefined;
    this.blob = params.blobFd === undefined ? undefined : { fd: params.blobFd, hash: createHash('sha256'), size: 0 };
    if (!params.decompress) this.compression = 'none';
  }

  chunk(data: ArrayBuffer, len: number): void {
    if (this.settled) return;
    if (this.blob) {
      // the bytes as received, in order (chunks arrive in order), before anything else looks at them
      const b = Buffer.from(data, 0, len);
      try {
        for (let off = 0; off < len;) off += writeSync(this.blob.fd, b, off, len - off);
      } catch (err) {
        this.fail(err);
        return;
      }
      this.blob.hash.update(b);
      this.blob.size += len;
    }
    if (this.compression === undefined) {
      this.head.push({ data, len });
      this.headBytes += len;
      if (this.headBytes >= 6) this.detect();
      return;
    }
    this.feed(data, len);
  }

  end(): void {
    if (this.settled) return;
    if (this.compression === undefined) this.detect();
    if (!this.decomp) return this.complete();
    try {
      this.decomp.end();
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.decomp?.destroy();
    this.unpacker.abort();
    post(err === ABORTED ? { t: 'error', id: this.id, status: 500, message: 'aborted' } : { t: 'error', id: this.id, ...describe(err) });
    this.onSettled();
  }

  private detect(): void {
    const head = Buffer.concat(this.head.map((h) => Buffer.from(h.data, 0, h.len)));
    this.compression = detectCompression(head);
    if (this.compression === 'gzip') this.decomp = this.gunzip();
    else if (this.compression !== 'none') this.decomp = this.command(this.compression);
    const pending = this.head;
    this.head = [];
    for (const h of pending) this.feed(h.data, h.len);
  }

  private feed(data: ArrayBuffer, len: number): void {
    if (this.settled) return;
    const buf = Buffer.from(data, 0, len);
    if (!this.decomp) {
      this.unpack(buf);
      give(this.id, data);
      return;
    }
    try {
      this.decomp.write(buf, () => give(this.id, data));
    } catch (err) {
      this.fail(err);
    }
  }

  /** The tar bytes are the bytes as received, which the blob hash covers already. */
  private sameAsBlob(): boolean {
    return this.blob !== undefined && this.compression === 'none';
  }

  /** Tar bytes: hashed, parsed, unpacked (synchronously). */
  private unpack(b: Buffer): void {
    if (this.settled) return;
    try {
      // an uncompressed tarball kept as a blob: its hash is the diff id already (half the hashing)
      if (!this.sameAsBlob()) this.hash?.update(b);
      this.reader.push(b); // after the end-of-archive marker: ignored, but still hashed, as docker does
    } catch (err) {
      this.fail(err);
    }
  }

  /** Decompressed output: queued and unpacked on the next turn, so the decompressor works on meanwhile. */
  private output(b: Buffer, pause: () => void): void {
    if (this.settled) return;
    this.queue.push(b);
    this.queued += b.length;
    if (this.queued > MAX_QUEUED && !this.paused) {
      this.paused = true;
      pause();
    }
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.draining = false;
    while (this.queue.length > 0 && !this.settled) {
      const b = this.queue.shift()!;
      this.queued -= b.length;
      this.unpack(b);
    }
    if (this.paused) {
      this.paused = false;
      this.resume?.();
    }
    if (this.outputEnded) this.complete();
  }

  private outputEnd(): void {
    this.outputEnded = true;
    if (!this.draining) this.drain();
  }

  private complete(): void {
    if (this.settled) return;
    if (!this.exitOk) return;
    try {
      this.reader.end();
      this.unpacker.finish();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.settled = true;
    const { size, entries } = this.unpacker.counts;
    const blob = this.blob ? { digest: `sha256:${this.blob.hash.digest('hex')}`, size: this.blob.size } : undefined;
    const diffId = !this.hash ? undefined : this.sameAsBlob() ? blob!.digest : `sha256:${this.hash.digest('hex')}`;
    post({ t: 'done', id: this.id, size, entries, diffId, compression: this.compression ?? 'none', blob });
    this.onSettled();
  }

  private gunzip(): Decompressor {
    const sync = process.env.BERTH_GUNZIP_STREAM === '1' ? undefined : syncGunzip((b) => this.unpack(b));
    if (sync) {
      return {
        write: (b, consumed) => { sync.write(b); consumed(); },
        end: () => { sync.end(); this.outputEnd(); },
        destroy: () => sync.close(),
      };
    }
    // 256 KiB output chunks: a quarter of the thread-pool round trips of 64 KiB ones, measurably faster
    const gz = zlib.createGunzip({ chunkSize: 256 << 10 });
    this.resume = () => gz.resume();
    gz.on('data', (b: Buffer) => this.output(b, () => gz.pause()));
    gz.on('end', () => this.outputEnd());
    gz.on('error', (err: NodeJS.ErrnoException) => {
      // zlib's own errors (Z_DATA_ERROR "incorrect header check", Z_BUF_ERROR "unexpected end of file") mean bad input.
      this.fail(typeof err.code === 'string' && err.code.startsWith('Z_') ? new EngineError(400, `invalid gzip data: ${err.message}`) : err);
    });
    return { write: (b, consumed) => gz.write(b, () => consumed()), end: () => gz.end(), destroy: () => gz.destroy() };
  }

  private command(kind: 'bzip2' | 'xz' | 'zstd'): Decompressor {
    const { cmd, pkg } = COMMANDS[kind];
    let child: ChildProcessWithoutNullStreams;
    this.exitOk = false; // until the command exits 0
    try {
      child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.fail(err);
      return { write: () => undefined, end: () => undefined, destroy: () => undefined };
    }
    let stderr = '';
    let stdoutEnded = false;
    let exit: number | null | undefined;
    const maybeDone = () => {
      if (!stdoutEnded || exit === undefined) return;
      if (exit !== 0) return this.fail(new EngineError(400, `invalid ${kind} data: ${stderr.trim() || `${cmd} exited with ${exit}`}`));
      this.exitOk = true;
      this.outputEnd();
    };
    this.resume = () => child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
    child.stdout.on('data', (b: Buffer) => this.output(b, () => child.stdout.pause()));
    child.stdout.on('end', () => { stdoutEnded = true; maybeDone(); });
    child.stdin.on('error', () => { /* a broken pipe shows as a failed exit */ });
    child.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code === 'ENOENT'
      ? new EngineError(400, `${kind}-compressed input needs the ${cmd} command (Debian package ${pkg})`)
      : err));
    child.on('close', (code) => { exit = code; maybeDone(); });
    return {
      write: (b, consumed) => { child.stdin.write(b, () => consumed()); },
      end: () => child.stdin.end(),
      destroy: () => { if (child.exitCode === null) child.kill(); },
    };
  }
}

function describe(err: unknown): { status: number; message: string } {
  if (err instanceof EngineError) return { status: err.status, message: err.message };
  // file system errors are ours (500), so is anything unexpected
  return { status: 500, message: `unpacking layer: ${(err as Error)?.message ?? String(err)}` };
}

function post(m: FromWorker, transfer?: ArrayBuffer[]): void {
  parentPort!.postMessage(m, transfer);
}

function give(id: number, data: ArrayBuffer): void {
  post({ t: 'ack', id, data }, [data]);
}

let job: Job | undefined;

if (parentPort) {
  parentPort.on('message', (m: ToWorker) => {
    if (m.t === 'start') {
      if (job) job.fail(new Error('a new job started before this one ended'));
      try {
        job = new Job(m.id, m.params, () => { job = undefined; });
      } catch (err) {
        post({ t: 'error', id: m.id, ...describe(err) });
      }
      return;
    }
    if (!job || job.id !== m.id) {
      if (m.t === 'chunk') give(m.id, m.data); // a finished job's chunk: still hand the buffer back
      return;
    }
    if (m.t === 'chunk') job.chunk(m.data, m.len);
    else if (m.t === 'end') job.end();
    else job.fail(ABORTED);
  });
}
