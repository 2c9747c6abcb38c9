// A container's root filesystem: an overlay of the image's layers (read-only lowers) and the
// container's own upper directory. Mounted at start, unmounted when the container stops.
import { promises as fs, mkdirSync, statSync } from 'fs';
import * as path from 'path';
import { run } from './exec';
import { mountSyscall, umountSyscall, umountSyscallAsync, SyscallError, MNT_DETACH } from './syscalls';
import { inUserNamespace } from '../common/userns';

/**
 * Which overlay implementation mounts root file systems. The kernel's everywhere it works; rootless (inside a
 * user namespace) the kernel's with `userxattr` (Linux 5.11+), else fuse-overlayfs (Debian's package), which
 * BERTH_STORAGE_DRIVER=fuse-overlayfs also forces.
 */
export type OverlayDriver = 'overlay2' | 'fuse-overlayfs';
let fuseFallback = process.env.BERTH_STORAGE_DRIVER === 'fuse-overlayfs';
export function overlayDriver(): OverlayDriver { return fuseFallback ? 'fuse-overlayfs' : 'overlay2'; }

export interface RootfsPaths { upper: string; work: string; merged: string }

/** Synchronous: three small metadata writes, where three thread-pool round trips took ~0.5 ms of every start. */
export function prepareRootfsDirs(p: RootfsPaths): void {
  mkdirSync(p.upper, { recursive: true, mode: 0o755 });
  mkdirSync(p.work, { recursive: true, mode: 0o700 });
  mkdirSync(p.merged, { recursive: true, mode: 0o755 });
}

/**
 * Whether something is mounted on `dir`, by its device against its parent's (an overlay, fuse or not, is a
 * device of its own): two stats, where reading /proc/self/mountinfo grows with every running container.
 */
export function isMountPoint(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(path.dirname(dir)).dev;
  } catch {
    return false;
  }
}

export async function isMounted(dir: string): Promise<boolean> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === dir);
}

/** lowerDirs top-most first, as overlayfs wants them. */
export async function mountOverlay(lowerDirs: string[], p: RootfsPaths): Promise<void> {
  if (isMountPoint(p.merged)) return;
  prepareRootfsDirs(p);
  // An image with no layers still needs a lower directory for overlayfs: use an empty one.
  const lowers = lowerDirs.length ? lowerDirs : [await emptyLower(p)];
  const options = `lowerdir=${lowers.join(':')},upperdir=${p.upper},workdir=${p.work}`;
  if (!inUserNamespace()) {
    if (!mountSyscall('overlay', p.merged, 'overlay', 0, options)) await run('mount', ['-t', 'overlay', 'overlay', '-o', options, p.merged]);
    return;
  }
  // rootless seam: opaque markers live in user.overlay.* (the unpacker writes them there too)
  if (!fuseFallback) {
    try {
      if (!mountSyscall('overlay', p.merged, 'overlay', 0, `${options},userxattr`)) await run('mount', ['-t', 'overlay', 'overlay', '-o', `${options},userxattr`, p.merged]);
      return;
    } catch (err) {
      if (!(err instanceof SyscallError && (err.errno === 1 || err.errno === 22))) throw err;
      fuseFallback = true; // this kernel refuses overlayfs in a user namespace
    }
  }
  await run('fuse-overlayfs', ['-o', options, p.merged]).catch((err: Error) => {
    throw new Error(`fuse-overlayfs: ${err.message} (rootless berth needs a kernel that mounts overlayfs in a user namespace, or the Debian package fuse-overlayfs and a usable /dev/fuse)`);
  });
}

async function emptyLower(p: RootfsPaths): Promise<string> {
  const dir = `${p.work}-empty`;
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

export async function unmountOverlay(p: RootfsPaths): Promise<void> {
  try {
    if (await umountSyscallAsync(p.merged)) return;
  } catch (err) {
    if (err instanceof SyscallError && (err.errno === 22 || err.errno === 2)) return; // EINVAL/ENOENT: not mounted
    // Still busy (a process holds it): detach it lazily so removal never leaves a stuck mount behind.
    if (err instanceof SyscallError && err.errno === 16) { umountSyscall(p.merged, MNT_DETACH); return; }
    throw err;
  }
  if (!(await isMounted(p.merged))) return;
  try {
    await run('umount', [p.merged]);
  } catch {
    await run('umount', ['-l', p.merged]);
  }
}
