// mount(2) and umount2(2) through koffi FFI. Measured here: a `mount`/`umount` process costs 5-15 ms
// (more when several start at once, as at a container's exit), the syscall 0.2-0.3 ms. koffi is loaded
// lazily (20 ms, once per daemon); where it cannot load, callers fall back to the commands. In common/: the
// runtime (rootfs), volumes and the network layer (namespace files) all unmount.
import { log } from './log';

interface Libc {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  errno(): number;
}

export const MNT_DETACH = 2;
let libc: Libc | null | undefined;

export function libcCalls(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const koffi = require('koffi');
    const lib = koffi.load('libc.so.6');
    libc = {
      mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
      umount2: lib.func('int umount2(const char *target, int flags)'),
      errno: () => koffi.errno() as number,
    };
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
  const names: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 16: 'EBUSY', 22: 'EINVAL', 13: 'EACCES', 20: 'ENOTDIR', 36: 'ENAMETOOLONG' };
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
