// Opening a file of a container's root file system from the host, race-free. A container (or its image) controls
// every component of the path: `/etc` may be a symlink to `/`, and a running container can swap a directory for
// such a symlink between our check and our open (CVE-2018-15664's pattern). So the kernel resolves the path for us
// with openat2(RESOLVE_IN_ROOT): symlinks and `..` are resolved as if `root` were `/`, in one syscall, so there is no
// window. Where openat2 is missing (kernels before 5.6, no koffi) we walk the path one component at a time from a
// descriptor of the root with O_NOFOLLOW, resolving symlinks ourselves inside the root.
import { closeSync, constants as C, fstatSync, openSync, readlinkSync, readSync } from 'fs';
import { log } from '../common/log';
import { loadLibc } from '../common/libc';

const SYS_openat2 = 437; // x86_64 and aarch64 alike
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const ENOSYS = 38;
const O_CLOEXEC = 0o2000000; // Node opens everything close-on-exec; openat2 needs it said
const MAX_LINKS = 40;

type Syscall = (...args: unknown[]) => number;
let openat2: { call: Syscall; errno: () => number } | null | undefined;

function loadOpenat2(): typeof openat2 {
  if (openat2 !== undefined) return openat2;
  try {
    openat2 = loadLibc<{ call: Syscall }>({ call: 'long syscall(long number, ...)' });
  } catch (err) {
    log.debug('openat2 unavailable, walking paths component by component', { error: (err as Error).message });
    openat2 = null;
  }
  return openat2;
}

/** An errno as Node's errors carry it, so callers handle both ways alike. */
function errnoError(errno: number, path: string): NodeJS.ErrnoException {
  const names: Record<number, string> = { 2: 'ENOENT', 13: 'EACCES', 20: 'ENOTDIR', 21: 'EISDIR', 40: 'ELOOP', 6: 'ENXIO', 18: 'EXDEV', 36: 'ENAMETOOLONG' };
  const code = names[errno] ?? `E${errno}`;
  return Object.assign(new Error(`${code}: open ${path}`), { code, errno: -errno, path });
}

/**
 * Opens `rel` (a path inside the container, absolute or not) under `root` and returns the descriptor. `flags` are
 * open(2) flags; O_CLOEXEC is always added. Never leaves `root`, whatever the symlinks say, and never blocks on a FIFO
 * when O_NONBLOCK is given. Throws Node-style errno errors (ENOENT, ELOOP …).
 */
export function openInRoot(root: string, rel: string, flags: number, how: 'auto' | 'walk' = 'auto'): number {
  const rootFd = openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  try {
    const sys = how === 'auto' ? loadOpenat2() : null; // 'walk': tests of the fallback
    if (sys) {
      const how = Buffer.alloc(24); // struct open_how { u64 flags; u64 mode; u64 resolve; }
      how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
      how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
      const fd = sys.call(SYS_openat2, 'int', rootFd, 'const char *', rel.replace(/^\/+/, '') || '.', 'void *', how, 'size_t', 24);
      if (fd >= 0) return fd;
      const errno = sys.errno();
      if (errno !== ENOSYS) throw errnoError(errno, rel);
      openat2 = null; // the kernel lacks it: walk from now on
    }
    return walkOpen(rootFd, rel, flags);
  } finally {
    closeSync(rootFd);
  }
}

/** The fallback: one component at a time, each opened O_NOFOLLOW relative to its parent's descriptor. */
function walkOpen(rootFd: number, rel: string, flags: number): number {
  const queue = rel.split('/').filter((c) => c !== '' && c !== '.');
  const stack: number[] = []; // descriptors of the directories walked (for `..`)
  let dir = rootFd;
  let links = 0;
  try {
    while (queue.length) {
      const name = queue.shift()!;
      if (name === '..') { if (stack.length) { closeSync(dir); dir = stack.pop()!; } continue; } // clamped at the root
      const last = queue.length === 0;
      const at = `/proc/self/fd/${dir}/${name}`;
      let fd: number;
      try {
        fd = openSync(at, last ? flags | C.O_NOFOLLOW : C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
        let target: string;
        try { target = readlinkSync(at); } catch { throw err; } // not a symlink: a real ENOTDIR
        if (++links > MAX_LINKS) throw errnoError(40, rel);
        if (target.startsWith('/')) { while (stack.length) { closeSync(dir); dir = stack.pop()!; } }
        queue.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
        continue;
      }
      if (last) return fd;
      stack.push(dir);
      dir = fd;
    }
    return openSync(`/proc/self/fd/${dir}`, flags); // the path named the root (or a directory) itself
  } finally {
    if (dir !== rootFd) closeSync(dir);
    for (const fd of stack) if (fd !== rootFd) closeSync(fd);
  }
}

/** Reads a small regular file inside `root` (an image's /etc/passwd or /etc/group): at most `limit` bytes. A FIFO,
 * a device or a socket there is refused instead of read (a FIFO would block the daemon forever, /dev/zero would
 * fill its memory). Returns undefined when the file does not exist. */
export function readSmallFileInRoot(root: string, rel: string, limit: number, how: 'auto' | 'walk' = 'auto'): string | undefined {
  let fd: number;
  try {
    fd = openInRoot(root, rel, C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY, how);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${rel} is not a regular file`), { code: 'EINVAL' });
    if (st.size > limit) throw Object.assign(new Error(`${rel} is larger than ${limit} bytes`), { code: 'EFBIG' });
    const buf = Buffer.alloc(Math.min(st.size, limit));
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
