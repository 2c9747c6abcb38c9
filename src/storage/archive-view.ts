// A container's file system as the archive operations (cp, export) see it: the root file system plus mounts,
// files or directories from elsewhere on the host that appear at a container path (/etc/hosts today, volumes
// and binds later). Everything here works on clean relative paths inside the view ('' is /, 'etc/hosts').
//
// Confinement. A running container can change its files while we walk them, e.g. swap a directory we just
// checked for a symlink to /. So no operation ever hands the kernel a multi-component path inside the view:
// directories are opened one component at a time with O_NOFOLLOW, relative to the directory before them
// (`/proc/self/fd/<fd>/<name>` names one entry of an open directory, the fd pins it), and symlinks are
// resolved by us, inside the view, where an absolute target means the view's root. Whatever the container does
// meanwhile, we can only ever touch what is inside its root (or inside a mount's source).
//
// The view is plain data so that a worker thread gets it by message; worker threads share the process's file
// descriptors, /proc/self/fd works the same there.
import { constants as C } from 'fs';

export interface ViewMount {
  /** Absolute path in the container, e.g. /etc/hosts or /data. */
  destination: string;
  /** Host path that holds it (a file or a directory). Chosen by the daemon, so trusted. */
  source: string;
  readOnly?: boolean;
}

export interface RootView {
  /** Host path of the container's root (a mounted overlay) or, for the CLI, of a local directory. */
  root: string;
  mounts?: ViewMount[];
}

/** Flags to open a directory we walk through: never a symlink (libuv adds O_CLOEXEC itself). */
export const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Flags to open a regular file for reading: no symlink, no blocking on a fifo swapped in meanwhile. */
export const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

/** The host path naming entry `name` of the open directory `fd` (the kernel looks up just that one name). */
export const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;
/** The host path naming the open file or directory `fd` itself. */
export const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

/** Joins a relative view path and one component. */
export const joinRel = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);

interface Mapped { rel: string; source: string; readOnly: boolean }

/** Where the mounts are: which relative paths are mount points, and what holds the paths below them. */
export class ViewMounts {
  private readonly list: Mapped[];

  constructor(mounts: readonly ViewMount[] = []) {
    this.list = mounts
      .map((m) => ({ rel: m.destination.split('/').filter((c) => c !== '' && c !== '.').join('/'), source: m.source.replace(/(.)\/+$/, '$1'), readOnly: !!m.readOnly }))
      .filter((m) => m.rel !== '' && !m.rel.split('/').includes('..'))
      .sort((a, b) => b.rel.length - a.rel.length); // the deepest mount wins
  }

  get empty(): boolean { return this.list.length === 0; }

  /** The mount whose mount point is exactly `rel`. */
  pointAt(rel: string): Mapped | undefined {
    if (this.list.length === 0) return undefined;
    return this.list.find((m) => m.rel === rel);
  }

  /** The mount `rel` is in (its mount point or below), if any. */
  containing(rel: string): Mapped | undefined {
    if (this.list.length === 0) return undefined;
    return this.list.find((m) => rel === m.rel || rel.startsWith(m.rel + '/'));
  }
}

/** Go's strerror texts for the errno codes these operations meet (docker prints Go's). */
const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EISDIR: 'is a directory', EACCES: 'permission denied',
  EPERM: 'operation not permitted', EEXIST: 'file exists', ELOOP: 'too many levels of symbolic links', EROFS: 'read-only file system',
  EBUSY: 'device or resource busy', ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EINVAL: 'invalid argument',
  ENAMETOOLONG: 'file name too long', EXDEV: 'invalid cross-device link', ENOTEMPTY: 'directory not empty', EIO: 'input/output error',
  EMLINK: 'too many links', ENOTSUP: 'operation not supported', EOPNOTSUPP: 'operation not supported', EFBIG: 'file too large',
};

export const strerror = (code: string | undefined, fallback = 'unknown error'): string => (code && STRERROR[code]) || fallback;

/** An error about a path, worded like Go's *os.PathError ("lstat /d/f/: not a directory"), carrying the errno
 * code so that callers can map it (ENOENT → 404). Paths in it are the caller's (container paths), never ours. */
export class PathError extends Error {
  constructor(readonly op: string, readonly path: string, readonly code: string, detail?: string) {
    super(`${op} ${path}: ${detail ?? strerror(code)}`);
    this.name = 'PathError';
  }
}

/** Node's error → PathError naming `shown` instead of the /proc path Node saw. */
export function pathError(err: unknown, op: string, shown: string): PathError {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof PathError) return err;
  return new PathError(op, shown, e?.code ?? 'EIO', e?.code ? undefined : (e?.message ?? String(err)));
}

export const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code;
