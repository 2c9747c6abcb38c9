// The filesystem calls Node lacks, for the unpack and archive workers: mknod (device nodes, fifos, overlay
// whiteouts), lsetxattr/fsetxattr (overlay opaque dirs, file capabilities), fgetxattr (capabilities into cp and
// export archives) and utimensat/futimens (nanosecond mtimes, a
// symlink's own times). Through koffi FFI into libc, ~2 µs a call; synchronous, as the worker wants. Where koffi
// cannot load, mknod and setxattr fall back to Debian's commands (coreutils' mknod, attr's setfattr; ~2-10 ms
// each) and times to Node's (microsecond precision). Callers pass paths they have already confined; nothing
// here follows a final symlink.
import { execFileSync } from 'child_process';
import { futimesSync, lutimesSync } from 'fs';
import { constants as osConstants } from 'os';
import { EngineError } from '../common/errors';
import { loadLibc, type Bound } from '../common/libc';

interface Libc {
  mknodat(dirfd: number, path: string, mode: number, dev: bigint): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer, size: number): number;
  fsetxattr(fd: number, name: string, value: Buffer, size: number, flags: number): number;
  utimensat(dirfd: number, path: string, times: Buffer, flags: number): number;
  futimens(fd: number, times: Buffer): number;
  fgetxattr(fd: number, name: string, value: Buffer, size: number): number;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

let libc: Bound<Libc> | null | undefined;
let loadError = '';

function calls(): Bound<Libc> | null {
  if (libc !== undefined) return libc;
  try {
    libc = loadLibc<Libc>({
      mknodat: 'int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)',
      lsetxattr: 'int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
      lgetxattr: 'long lgetxattr(const char *path, const char *name, void *value, size_t size)',
      fsetxattr: 'int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)',
      utimensat: 'int utimensat(int dirfd, const char *path, const void *times, int flags)',
      futimens: 'int futimens(int fd, const void *times)',
      fgetxattr: 'intptr_t fgetxattr(int fd, const char *name, void *value, size_t size)',
    });
  } catch (err) {
    loadError = (err as Error).message;
    libc = null;
  }
  return libc;
}

/** Whether the FFI path is in use (else the command fallbacks); the reason when not. */
export function ffiStatus(): { ffi: boolean; error?: string } {
  return calls() ? { ffi: true } : { ffi: false, error: loadError };
}

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** A failed syscall, shaped like Node's fs errors (code, errno, syscall, path). */
function sysError(syscall: string, errno: number, target: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  return Object.assign(new Error(`${code}: ${syscall} '${target}'`), { code, errno: -errno, syscall, path: target });
}

export type NodeKind = 'c' | 'b' | 'p';
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** glibc's makedev. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** Creates a device node or fifo at `path` (which must not exist; mknod never follows it) with `perm` bits
 * (before umask). */
export function mknodSync(path: string, kind: NodeKind, major: number, minor: number, perm: number): void {
  const c = calls();
  const type = kind === 'p' ? S_IFIFO : kind === 'b' ? S_IFBLK : S_IFCHR;
  if (c) {
    if (c.mknodat(AT_FDCWD, path, type | (perm & 0o7777), kind === 'p' ? 0n : makedev(major, minor)) !== 0) throw sysError('mknod', c.errno(), path);
    return;
  }
  const args = kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)];
  run('mknod', ['-m', (perm & 0o7777).toString(8).padStart(4, '0'), ...args], 'coreutils');
}

/** Sets an extended attribute on `path` itself (a symlink's own attributes, never its target's). */
export function lsetxattrSync(path: string, name: string, value: Buffer): void {
  const c = calls();
  if (c) {
    if (c.lsetxattr(path, name, value, value.length, 0) !== 0) throw sysError('lsetxattr', c.errno(), path);
    return;
  }
  run('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, '--', path], 'attr');
}

const ENODATA = 61;
const ENOTSUP = 95;
const ERANGE = 34;
let xattrBuf = Buffer.alloc(256);

/**
 * The value of an extended attribute of `path` itself (never a symlink's target), or undefined when it has none
 * (or the filesystem keeps none). Small values (opaque markers, capabilities) are what callers read.
 */
export function lgetxattrSync(path: string, name: string): Buffer | undefined {
  const c = calls();
  if (!c) return getfattr(path, name);
  for (;;) {
    const n = c.lgetxattr(path, name, xattrBuf, xattrBuf.length);
    if (n >= 0) return Buffer.from(xattrBuf.subarray(0, n));
    const errno = c.errno();
    if (errno === ENODATA || errno === ENOTSUP) return undefined;
    if (errno === ERANGE && xattrBuf.length < 65536) { xattrBuf = Buffer.alloc(65536); continue; }
    throw sysError('lgetxattr', errno, path);
  }
}

function getfattr(path: string, name: string): Buffer | undefined {
  try {
    // --only-values prints the raw bytes
    return execFileSync('getfattr', ['-h', '--absolute-names', '--only-values', '-n', name, '--', path], { timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new EngineError(500, `getfattr not found (and koffi unavailable: ${loadError}): install the Debian package attr`);
    if (/No such attribute|Operation not supported/.test(String(e.stderr ?? ''))) return undefined;
    throw new EngineError(500, `getfattr failed: ${String(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Sets an extended attribute on an open file; `path` (the same file) is for messages and the fallback. */
export function fsetxattrSync(fd: number, path: string, name: string, value: Buffer): void {
  const c = calls();
  if (c) {
    if (c.fsetxattr(fd, name, value, value.length, 0) !== 0) throw sysError('fsetxattr', c.errno(), path);
    return;
  }
  lsetxattrSync(path, name, value);
}

const times = Buffer.alloc(32); // struct timespec[2]: atime, mtime (the worker is single-threaded)

function setTimes(sec: number, nsec: number): void {
  const s = BigInt(Math.trunc(sec));
  times.writeBigInt64LE(s, 0);
  times.writeBigInt64LE(BigInt(nsec), 8);
  times.writeBigInt64LE(s, 16);
  times.writeBigInt64LE(BigInt(nsec), 24);
}

/** atime = mtime = sec.nsec on an open file. */
export function futimensSync(fd: number, path: string, sec: number, nsec: number): void {
  const c = calls();
  if (c) {
    setTimes(sec, nsec);
    if (c.futimens(fd, times) !== 0) throw sysError('futimens', c.errno(), path);
    return;
  }
  futimesSync(fd, sec + nsec / 1e9, sec + nsec / 1e9);
}

/** atime = mtime = sec.nsec on `path` itself (a symlink's own times). */
export function lutimensSync(path: string, sec: number, nsec: number): void {
  const c = calls();
  if (c) {
    setTimes(sec, nsec);
    if (c.utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) !== 0) throw sysError('utimensat', c.errno(), path);
    return;
  }
  lutimesSync(path, sec + nsec / 1e9, sec + nsec / 1e9);
}

const xattrValue = Buffer.alloc(4096); // the worker is single-threaded

/** An extended attribute of an open file, or undefined when it has none (or without koffi: the archives of
 * cp/export then go without file capabilities, as a getfattr per file would cost milliseconds). */
export function fgetxattrSync(fd: number, name: string): Buffer | undefined {
  const c = calls();
  if (!c) return undefined;
  const n = Number(c.fgetxattr(fd, name, xattrValue, xattrValue.length));
  if (n < 0) {
    const errno = c.errno();
    if (errno === 61 /* ENODATA */ || errno === 95 /* ENOTSUP */) return undefined;
    throw sysError('fgetxattr', errno, `fd ${fd}`);
  }
  return Buffer.from(xattrValue.subarray(0, n));
}

function run(cmd: string, args: string[], pkg: string): void {
  try {
    execFileSync(cmd, args, { timeout: 30_000, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new EngineError(500, `${cmd} not found (and koffi unavailable: ${loadError}): install the Debian package ${pkg}`);
    throw new EngineError(500, `${cmd} failed: ${String(e.stderr ?? '').trim() || e.message}`);
  }
}
