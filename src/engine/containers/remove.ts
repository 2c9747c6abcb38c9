// Removal (rm, rm -f, --rm at exit): a running container is killed first and its exit recorded here, since the
// exit handler waits for the lock the removal holds; then resources, record, volumes and waiters.
import { conflict, notFound, errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import { failpoint } from '../../common/failpoint';
import { unmountOverlay } from '../../runtime/rootfs';
import { readExitStatus } from '../../runtime/shim';
import { nowIso, type EngineCore } from './core';
import { unpauseQuiet } from './pause';
import { parseLink } from './links';
import { releaseResources } from './release';
import type { ContainerRecord } from './types';

export interface RemoveOptions { force?: boolean; volumes?: boolean }

/** Removes the container; the caller holds its lock. */
export async function removeLocked(core: EngineCore, rec: ContainerRecord, opts: RemoveOptions): Promise<void> {
  if (!core.store.tryGet(rec.Id)) return;
  if (rec.State.Status === 'restarting') {
    if (!opts.force) throw conflict('You cannot remove a restarting container. Stop the container before attempting removal or force remove');
    rec.StoppedByUser = true;
    rec.State.Status = 'exited';
  }
  if (core.isRunning(rec)) {
    if (!opts.force) {
      const what = rec.State.Status === 'paused' ? 'container is paused' : 'container is running';
      throw conflict(`cannot remove container "${rec.Name}": ${what}: stop the container before removing or force remove`);
    }
    rec.StoppedByUser = true;
    if (rec.State.Status === 'paused') await unpauseQuiet(core, rec).catch(() => undefined);
    core.signal(rec, 9);
    // The exit handler needs this container's lock, which we hold: wait for the shim directly instead.
    const shim = core.live.get(rec.Id)?.shim;
    const status = shim ? await shim.exited : await readExitStatus(core.paths.shimState(rec.Id));
    rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: status.exitCode, FinishedAt: status.finishedAt || nowIso() };
    core.event(rec, 'die', { exitCode: String(status.exitCode) });
    core.notify(rec, 'next-exit', { StatusCode: status.exitCode });
  }
  rec.State.Status = 'removing';
  await failpoint('container.rm.before-release');
  // A stopped container's resources were released at its exit; a cp or export may have mounted its root since.
  if (core.rootfsHolds.has(rec.Id)) await unmountOverlay(core.paths.rootfs(rec.Id)).catch((e) => log.warn('unmount failed', { id: rec.Id, error: errorMessage(e) }));
  await releaseResources(core, rec);
  await failpoint('container.rm.after-release');
  await core.store.removeRecord(rec);
  await core.mounts.forget(rec, !!opts.volumes);
  core.live.delete(rec.Id);
  core.released.delete(rec.Id);
  core.event(rec, 'destroy');
  // Removed once its record is gone (it no longer lists, and a restart treats what is left as an orphan): the
  // rest of its directory (log, /etc files) goes after the waiters are told, still under the container's lock.
  core.notify(rec, 'removed', { StatusCode: rec.State.ExitCode });
  await core.store.removeDirectory(rec).catch((e) => log.warn('removing the container directory failed', { id: rec.Id, error: errorMessage(e) }));
}

/** `rm --link`: drops the link named alias from the container (its next start no longer links). */
export async function removeLink(core: EngineCore, ref: string, alias: string): Promise<void> {
  const rec = core.store.get(ref);
  await core.serialize(rec.Id, async () => {
    const links = (rec.HostConfig.Links as string[] | null) ?? [];
    const kept = links.filter((l) => parseLink(l).alias !== alias);
    if (kept.length === links.length) throw notFound(`Could not find container for entity id ${rec.Name}/${alias}`);
    rec.HostConfig = { ...rec.HostConfig, Links: kept.length ? kept : null };
    await core.store.save(rec);
  });
}
