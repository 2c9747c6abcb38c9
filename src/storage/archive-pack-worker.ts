// The pack worker: a worker_thread (bundled as dist/archive-pack-worker.js) that turns a directory tree into a
// tar stream for archive-stream.ts, with synchronous syscalls (archive-pack.ts): a few microseconds each, where a
// thread-pool round trip from the main thread costs ~40 µs, and a cp of a tree is thousands of them.
//
// Protocol, every message tagged with the job id:
//   main → worker  {t:'start', id, spec}  then {t:'ack', id, data} for each buffer written out (handed back for
//                  reuse: fresh memory is costly here), or {t:'abort', id}
//   worker → main  {t:'data', id, data, len} at most IN_FLIGHT unacknowledged, then one {t:'done'} or {t:'error'}
import { parentPort } from 'worker_threads';
import { EngineError } from '../common/errors';
import { PackSpec, TarPacker } from './archive-pack';
import { fgetxattrSync } from './special-files';

export type ToPackWorker =
  | { t: 'start'; id: number; spec: PackSpec }
  | { t: 'ack'; id: number; data: ArrayBuffer }
  | { t: 'abort'; id: number };

export type FromPackWorker =
  | { t: 'data'; id: number; data: ArrayBuffer; len: number }
  | { t: 'done'; id: number; size: number; entries: number }
  | { t: 'error'; id: number; status: number; message: string };

/** Bytes per message: each hand-over wakes the other thread (~0.1 ms here), so few large ones. */
export const PACK_BUFFER = 512 << 10;
/** Buffers written but not yet acknowledged by the main thread, at most. */
const IN_FLIGHT = 4;

const free: ArrayBuffer[] = [];
let job: { id: number; packer: TarPacker; inFlight: number } | undefined;

function post(m: FromPackWorker, transfer?: ArrayBuffer[]): void {
  parentPort!.postMessage(m, transfer);
}

function end(m: FromPackWorker): void {
  job?.packer.close();
  job = undefined;
  post(m);
}

function pump(): void {
  while (job && job.inFlight < IN_FLIGHT) {
    const ab = free.pop() ?? new ArrayBuffer(PACK_BUFFER);
    let n: number;
    try {
      n = job.packer.fill(Buffer.from(ab));
    } catch (err) {
      free.push(ab);
      const e = err instanceof EngineError ? err : new EngineError(500, (err as Error)?.message ?? String(err));
      end({ t: 'error', id: job.id, status: e.status, message: e.message });
      return;
    }
    if (n === 0) {
      free.push(ab);
      // complete once the main thread has what was sent; it waits for its own writes before settling
      end({ t: 'done', id: job.id, size: job.packer.contentBytes, entries: job.packer.entries });
      return;
    }
    job.inFlight++;
    post({ t: 'data', id: job.id, data: ab, len: n }, [ab]);
  }
}

if (parentPort) {
  parentPort.on('message', (m: ToPackWorker) => {
    if (m.t === 'ack') {
      if (m.data.byteLength === PACK_BUFFER && free.length < IN_FLIGHT + 1) free.push(m.data);
      if (job && job.id === m.id) {
        job.inFlight--;
        pump();
      }
      return;
    }
    if (m.t === 'abort') {
      if (job && job.id === m.id) end({ t: 'error', id: m.id, status: 500, message: 'aborted' });
      return;
    }
    if (job) end({ t: 'error', id: job.id, status: 500, message: 'a new job started before this one ended' });
    try {
      job = { id: m.id, packer: new TarPacker(m.spec, { capability: (fd) => fgetxattrSync(fd, 'security.capability') }), inFlight: 0 };
    } catch (err) {
      const e = err instanceof EngineError ? err : new EngineError(500, (err as Error)?.message ?? String(err));
      post({ t: 'error', id: m.id, status: e.status, message: e.message });
      return;
    }
    pump();
  });
}
