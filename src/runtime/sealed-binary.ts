// A sealed in-memory copy of crun, which berth runs instead of /usr/bin/crun.
//
// Every crun invocation first copies its own binary into a sealed memfd and executes that copy (its defence
// against CVE-2019-5736: a container that reaches the runtime's /proc/PID/exe must find nothing it can write).
// That copy and second exec cost ~1.9 ms of each `crun run` here (9.8 → 8.0 ms). crun skips it when it already
// runs from a memfd sealed exactly so (cloned_binary.c: is_self_cloned, "an admin could bind-mount a sealed memfd
// to /usr/bin/crun to allow reuse"): so the daemon makes that copy once and hands the runtime's path out as
// /proc/<daemon>/fd/<n>. The seals (no write, no resize, no further seals) make it exactly as unwritable as crun's
// own copy. If the binary on disk changes (an upgrade), the on-disk path is used from then on.
import { statSync, writeSync, readFileSync, closeSync, type Stats } from 'fs';
import { loadLibc } from '../common/libc';
import { log } from '../common/log';

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
/** crun's CRUN_MEMFD_SEALS: F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE */
export const CRUN_MEMFD_SEALS = 1 | 2 | 4 | 8;

interface MemfdLibc {
  memfd_create(name: string, flags: number): number;
  fcntl(fd: number, cmd: number, ...args: unknown[]): number;
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

export class SealedBinary {
  private constructor(readonly source: string, private readonly fd: number, private readonly stat: Stats) {}

  /** The sealed copy of `source`, or undefined where it cannot be made (the caller then runs `source`). */
  static create(source: string): SealedBinary | undefined {
    let fd = -1;
    try {
      const c = loadLibc<MemfdLibc>({ memfd_create: 'int memfd_create(const char *name, unsigned int flags)', fcntl: 'int fcntl(int fd, int cmd, ...)' });
      const stat = statSync(source);
      const bytes = readFileSync(source);
      if (!sameFile(stat, statSync(source))) return undefined; // changing under us: try again another time
      fd = c.memfd_create('crun_cloned:/proc/self/exe', MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (fd < 0) throw new Error(`memfd_create: errno ${c.errno()}`);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
      if (c.fcntl(fd, F_ADD_SEALS, 'int', CRUN_MEMFD_SEALS) < 0) throw new Error(`F_ADD_SEALS: errno ${c.errno()}`);
      if (c.fcntl(fd, F_GET_SEALS) !== CRUN_MEMFD_SEALS) throw new Error('the seals did not take');
      return new SealedBinary(source, fd, stat);
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      log.warn('no sealed copy of the runtime: it copies itself at each start', { runtime: source, error: (err as Error).message });
      return undefined;
    }
  }

  /** The path to execute: the sealed copy while the binary on disk is the one copied, else the binary itself. */
  get path(): string {
    let current: Stats | undefined;
    try { current = statSync(this.source); } catch { /* gone: its path fails as it would have */ }
    return current && sameFile(current, this.stat) ? `/proc/${process.pid}/fd/${this.fd}` : this.source;
  }
}
