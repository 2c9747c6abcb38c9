// mount(2), umount2(2) and a bound network namespace through koffi FFI. Measured here: a `mount`/`umount`
// process costs 5-15 ms (more when several start at once, as at a container's exit), the syscall 0.2-0.3 ms;
// `unshare --net=FILE ip link set lo up` 3-10 ms from the daemon, the calls 1-2 ms. koffi is loaded lazily
// (20 ms, once per daemon); where it cannot load, callers fall back to the commands. In common/: the runtime
// (rootfs, namespaces), volumes and the network layer (namespace files) all use them.
import { openSync, closeSync } from 'fs';
import { log } from './log';
import { loadLibc, type Bound } from './libc';

interface Libc {
  mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  unshare(flags: number): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  ioctl(fd: number, request: number, arg: Buffer): number;
  malloc_trim(pad: number): number;
}

type Calls = Bound<Libc> & {
  /** umount2 on koffi's worker thread (an overlay's unmount takes ~1.5 ms of the calling thread) */
  umount2Async(target: string, flags: number, done: (err: unknown, result: number) => void): void;
};

export const MNT_DETACH = 2;
let libc: Calls | null | undefined;

export function libcCalls(): Calls | null {
  if (libc !== undefined) return libc;
  try {
    const bound = loadLibc<Libc>({
      mount: 'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
      umount2: 'int umount2(const char *target, int flags)',
      unshare: 'int unshare(int flags)',
      setns: 'int setns(int fd, int nstype)',
      socket: 'int socket(int domain, int type, int protocol)',
      ioctl: 'int ioctl(int fd, unsigned long request, void *arg)',
      malloc_trim: 'int malloc_trim(size_t pad)',
    });
    // a koffi function carries .async: the same call on koffi's worker thread
    const umount2 = bound.umount2 as unknown as { async: Calls['umount2Async'] };
    libc = { ...bound, umount2Async: (target, flags, done) => umount2.async(target, flags, done) };
  } catch (err) {
    log.warn('koffi unavailable, mounting with the mount command', { error: (err as Error).message });
    libc = null;
  }
  return libc;
}

export class SyscallError extends Error {
  constructor(readonly syscall: string, readonly errno: number, target: string) {
    super(`${syscall} ${target}: ${errnoName(errno)}`);
  }
}

function errnoName(n: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 13: 'EACCES', 20: 'ENOTDIR', 36: 'ENAMETOOLONG' };
  return names[n] ?? `errno ${n}`;
}

/** Returns false when FFI is unavailable (the caller uses the command). Throws SyscallError on failure. */
export function mountSyscall(source: string, target: string, fstype: string, flags: number, data: string): boolean {
  const c = libcCalls();
  if (!c) return false;
  if (c.mount(source, target, fstype, flags, data) !== 0) throw new SyscallError('mount', c.errno(), target);
  return true;
}

export function umountSyscall(target: string, flags = 0): boolean {
  const c = libcCalls();
  if (!c) return false;
  if (c.umount2(target, flags) !== 0) throw new SyscallError('umount', c.errno(), target);
  return true;
}

/**
 * umount2 off the main thread. Resolves false when FFI is unavailable (the caller uses the command). A failure is
 * retried synchronously, which then throws SyscallError with its errno (errno is not carried back from the worker
 * thread; failures are rare: not mounted, busy).
 */
export async function umountSyscallAsync(target: string, flags = 0): Promise<boolean> {
  const c = libcCalls();
  if (!c) return false;
  const result = await new Promise<number>((resolve) => c.umount2Async(target, flags, (err, r) => resolve(err ? -1 : r)));
  return result === 0 || umountSyscall(target, flags);
}

const CLONE_NEWNET = 0x40000000;
const MS_BIND = 0x1000;
const AF_INET = 2;
const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 1;

/**
 * A new network namespace bound to `file` (an existing empty file), its `lo` up: what `unshare --net=FILE ip
 * link set lo up` does, without the two processes. The network namespace is a thread's: the calling (main)
 * thread enters the new one for these few synchronous calls and is back in its own before this returns — nothing
 * else runs on it meanwhile, and no other thread leaves the daemon's namespace. Returns false when FFI is
 * unavailable (the caller uses the commands); throws SyscallError on failure, with nothing left bound.
 */
export function createNetnsSyscall(file: string): boolean {
  const c = libcCalls();
  if (!c) return false;
  // a synchronous open runs on the calling thread, so thread-self is this (main) thread (libuv adds O_CLOEXEC)
  const own = openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (c.unshare(CLONE_NEWNET) !== 0) throw new SyscallError('unshare', c.errno(), file);
    try {
      if (c.mount('/proc/thread-self/ns/net', file, null, MS_BIND, null) !== 0) throw new SyscallError('mount', c.errno(), file);
      try {
        loopbackUp(c);
      } catch (err) {
        c.umount2(file, MNT_DETACH);
        throw err;
      }
    } finally {
      // staying in the pod's namespace would put every later socket of the main thread there: not survivable
      if (c.setns(own, CLONE_NEWNET) !== 0) {
        log.error('cannot return to the daemon\'s network namespace', { error: errnoName(c.errno()) });
        process.abort();
      }
    }
  } finally {
    closeSync(own);
  }
  return true;
}

/** SIOCSIFFLAGS on `lo` of the calling thread's network namespace: struct ifreq is the name (16 bytes) and flags. */
function loopbackUp(c: Bound<Libc>): void {
  const fd = c.socket(AF_INET, SOCK_DGRAM_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError('socket', c.errno(), 'lo');
  try {
    const ifr = Buffer.alloc(40);
    ifr.write('lo');
    if (c.ioctl(fd, SIOCGIFFLAGS, ifr) !== 0) throw new SyscallError('ioctl SIOCGIFFLAGS', c.errno(), 'lo');
    ifr.writeInt16LE(ifr.readInt16LE(16) | IFF_UP, 16);
    if (c.ioctl(fd, SIOCSIFFLAGS, ifr) !== 0) throw new SyscallError('ioctl SIOCSIFFLAGS', c.errno(), 'lo');
  } finally {
    closeSync(fd);
  }
}

/** glibc's malloc_trim(0): returns the free memory of every malloc arena to the kernel (the main heap's top and
 * the free pages inside every arena). False when FFI is unavailable. */
export function mallocTrimSyscall(): boolean {
  const c = libcCalls();
  if (!c) return false;
  c.malloc_trim(0);
  return true;
}
