// The container's file system: diff and commit (commit.ts does the work, under the container's lock, the
// container paused meanwhile) and the root file system held mounted for cp and export (archive.ts).
import { readFileSync } from 'fs';
import { conflict, errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import type { ImageRecord } from '../../storage/images';
import { familiarName, type Change } from '../../storage';
import { mountOverlay, unmountOverlay } from '../../runtime/rootfs';
import { buildCommit, commitConfig, commitTarget, containerChanges, CommitOptions } from './commit';
import type { RootfsHold } from './archive';
import type { EngineCore } from './core';
import { pauseLocked, unpauseLocked } from './pause';

/** GET /containers/{id}/changes: from the upper dir, which persists while the container exists. */
export function changes(core: EngineCore, ref: string): Promise<Change[]> {
  const rec = core.store.get(ref);
  return containerChanges(core.paths.rootfs(rec.Id).upper, core.lowerDirs(rec));
}

/**
 * POST /commit. Everything that can be refused (reference, body, changes) is checked before the container is
 * touched; a running container is paused while its changes are read and the image is made (unless
 * `pause: false`), and unpaused again whatever happens. Under the container's lock, so rm waits for it.
 */
export async function commit(core: EngineCore, ref: string, opts: CommitOptions): Promise<ImageRecord> {
  const rec = core.store.get(ref);
  const target = commitTarget(opts.repo, opts.tag);
  const config = commitConfig(rec, opts);
  return core.serialize(rec.Id, async () => {
    if (rec.State.Status === 'removing') throw conflict(`You cannot commit container ${rec.Id} which is being removed`);
    if (rec.State.Status === 'dead') throw conflict(`You cannot commit container ${rec.Id} which is Dead`);
    let freeze = opts.pause !== false && rec.State.Status === 'running';
    // Not persisted: a daemon killed during the commit restarts with the container "running", and unfreezes it.
    // A container whose process has just exited (its exit not handled yet) cannot be frozen: dockerd commits it
    // as it is, and so does berth; a pause that fails on a live process is still an error.
    if (freeze) await pauseLocked(core, rec, false).catch((err) => { if (processAlive(rec.State.Pid)) throw err; freeze = false; });
    try {
      const image = await buildCommit({
        images: core.images, rec, upper: core.paths.rootfs(rec.Id).upper, lowers: core.lowerDirs(rec),
        config, target, author: opts.author, comment: opts.comment,
      });
      core.event(rec, 'commit', { comment: opts.comment ?? '', imageID: image.id, imageRef: target ? familiarName(target) : '' });
      return image;
    } finally {
      // the container may have been stopped or killed meanwhile (both unpause it first)
      if (freeze && rec.State.Status === 'paused') {
        await unpauseLocked(core, rec).catch((e) => log.warn('unpause after commit failed', { id: rec.Id, error: errorMessage(e) }));
      }
    }
  });
}

/**
 * The classic builder's commit of a RUN step: `config` is the new image's config as is (the builder keeps the
 * stage's config itself, so nothing is taken over from the container's run command), the container is stopped.
 */
export async function commitForBuild(core: EngineCore, ref: string, config: Record<string, unknown>, createdBy: string): Promise<ImageRecord> {
  const rec = core.store.get(ref);
  return core.serialize(rec.Id, () => buildCommit({
    images: core.images, rec, upper: core.paths.rootfs(rec.Id).upper, lowers: core.lowerDirs(rec), config, createdBy,
  }));
}

/**
 * The container's root file system, mounted for a file operation (cp, export) until release(). A running
 * container's is there already; a stopped one's is mounted now and unmounted after the last holder lets go,
 * unless the container runs again by then. Holders are counted: concurrent operations never unmount under
 * each other, and a container that exits while one holds its root leaves the unmount to the holder.
 */
export async function holdRootfs(core: EngineCore, ref: string): Promise<RootfsHold> {
  const rec = core.store.get(ref);
  const rootfs = core.paths.rootfs(rec.Id);
  await core.serialize(rec.Id, async () => {
    if (rec.State.Status === 'removing' || !core.store.tryGet(rec.Id)) throw conflict(`container ${rec.Id} is marked for removal`);
    if (!core.isRunning(rec)) await mountOverlay(core.lowerDirs(rec), rootfs);
    core.rootfsHolds.set(rec.Id, (core.rootfsHolds.get(rec.Id) ?? 0) + 1);
  });
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await core.serialize(rec.Id, async () => {
      const n = (core.rootfsHolds.get(rec.Id) ?? 1) - 1;
      if (n > 0) { core.rootfsHolds.set(rec.Id, n); return; }
      core.rootfsHolds.delete(rec.Id);
      if (!core.isRunning(rec) && rec.State.Status !== 'removing' && core.store.tryGet(rec.Id)) await unmountOverlay(rootfs);
    }).catch((e) => log.warn('unmount after a file operation failed', { id: rec.Id, error: errorMessage(e) }));
  };
  return { rec, root: rootfs.merged, release };
}

/** The process exists and is not a zombie (an exited container's pid is reaped by its shim, which may lag). */
function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}
