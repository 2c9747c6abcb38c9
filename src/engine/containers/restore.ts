// Restore at daemon start: every container is found where it was. Live shims are reconnected, exits that
// happened while the daemon was down are recorded, starts and removals a crash cut short are rolled back or
// finished, orphans (shims, mounts, files of containers without a record) removed, then restart policies apply.
import { promises as fs, existsSync } from 'fs';
import { errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import type { Attachment } from '../../network';
import { unmountOverlay } from '../../runtime/rootfs';
import { Shim, readExitStatus } from '../../runtime/shim';
import { killCgroupProcesses, killShim, mountsUnder, shimPidOf, shimProcesses, cgroupExists, isFrozen, type ShimProcess } from '../../runtime/leftovers';
import type { EngineCore } from './core';
import type { ExitHandling } from './exit';
import { releaseResources } from './release';
import { removeLocked } from './remove';
import { restartByPolicy } from './start';
import type { ContainerRecord } from './types';

/** Finds every container where it was: reconnects to live shims, records exits that happened meanwhile. */
export async function recover(core: EngineCore, exits: ExitHandling): Promise<void> {
  await core.store.load();
  // every reference first: an auto-removed container's exit below must not take a volume another one uses
  for (const rec of core.store.all()) core.mounts.addRefs(rec);
  const mounted = new Set(await mountsUnder(core.store.root).catch(() => [] as string[]));
  // the shims that exist before anything is started again: restart policies may spawn new ones while the
  // recovery goes on, and those are never orphans
  const shimsAtStart = await shimProcesses(`${core.opts.execRoot}/shim`).catch(() => []);
  const alive = new Map<string, Attachment>();
  await Promise.all(core.store.all().map(async (rec) => {
    if (rec.Transient) {
      // a build step's container whose build died with the daemon: nobody will commit or remove it
      const shimPid = await shimPidOf(core.paths.shimState(rec.Id));
      if (shimPid) await killShim(shimPid);
      await killCgroupProcesses(core.cgroupPath(rec));
      rec.State = { ...rec.State, Status: 'exited', Pid: 0 };
      await core.serialize(rec.Id, () => removeLocked(core, rec, { force: true, volumes: true }))
        .catch((e) => log.warn('removing a build container at daemon start failed', { id: rec.Id, error: errorMessage(e) }));
      return;
    }
    // the daemon went down during a restart back-off: the container is simply exited (policies below apply)
    if (rec.State.Status === 'restarting') rec.State.Status = 'exited';
    if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
      await rollBackInterruptedStart(core, rec, mounted);
      // Fault "SIGKILL during `run --rm`": the cut run stayed behind as Created. Like dockerd's restore, an
      // auto-remove container that is not running when the daemon comes back is removed.
      if (rec.HostConfig.AutoRemove) {
        await core.serialize(rec.Id, () => removeLocked(core, rec, { force: true, volumes: true }))
          .catch((e) => log.warn('auto-remove at daemon start failed', { id: rec.Id, error: errorMessage(e) }));
      }
      return;
    }
    if (!core.isRunning(rec) && rec.State.Status !== 'removing') return;
    const shim = await Shim.connect(core.paths.shimState(rec.Id));
    if (shim) {
      // Fault "SIGKILL during commit": commit's freeze is not persisted, so a container whose record says
      // running but whose cgroup is frozen was frozen by a commit that died with the daemon: thaw it.
      if (rec.State.Status === 'running' && (await isFrozen(core.cgroupPath(rec)))) {
        await core.driver(rec.Runtime).resume(rec.Id).catch((e) => log.warn('thawing a container frozen by a cut commit failed', { id: rec.Id, error: errorMessage(e) }));
      }
      await core.mounts.adopt(rec);
      core.liveOf(rec.Id).shim = shim;
      if (rec.Network) alive.set(rec.Id, rec.Network);
      exits.watch(rec, shim);
      return;
    }
    // Its exit is handled below (which detaches its network) before reconcile runs: it is not alive for
    // reconcile. (Fault "SIGKILL during rm -f": listing it re-created the endpoint record of a dead container.)
    const status = await readExitStatus(core.paths.shimState(rec.Id));
    if (rec.State.Status === 'removing') {
      await core.serialize(rec.Id, () => removeLocked(core, { ...rec, State: { ...rec.State, Status: 'exited' } }, { force: true }));
      return;
    }
    await core.serialize(rec.Id, () => exits.handle(rec, status));
  }));
  await removeOrphans(core, shimsAtStart);
  await core.network.reconcile(alive).catch((e) => log.warn('network reconcile failed', { error: errorMessage(e) }));
  await core.opts.volumes.reconcileMounts().catch((e) => log.warn('volume mount reconcile failed', { error: errorMessage(e) }));
  // Restart policies after a daemon restart: always, and unless-stopped unless the user stopped it.
  for (const rec of core.store.all()) {
    const p = rec.HostConfig.RestartPolicy?.Name;
    if (rec.State.Status === 'exited' && !rec.StoppedByUser && (p === 'always' || p === 'unless-stopped')) {
      restartByPolicy(core, exits, rec).catch((e) => log.warn('restart after daemon start failed', { id: rec.Id, error: errorMessage(e) }));
    }
  }
}

/**
 * A daemon killed in the middle of a start leaves a record that says created/exited and, maybe, a shim (with or
 * without a started process), a mounted rootfs, a cgroup and runtime state. The start never completed, so it is
 * undone. Fault "SIGKILL between mount and bundle": the mount alone is a leftover too (it used to stay mounted).
 */
async function rollBackInterruptedStart(core: EngineCore, rec: ContainerRecord, mounted: Set<string>): Promise<void> {
  const stateDir = core.paths.shimState(rec.Id);
  const leftovers = existsSync(stateDir) || existsSync(core.paths.bundle(rec.Id)) || mounted.has(core.paths.rootfs(rec.Id).merged)
    || runtimeStateExists(core, rec) || (await cgroupExists(core.cgroupPath(rec)));
  if (!leftovers) return;
  // Fault "SIGKILL after the shim was spawned, before `start`": the shim waits for a start that never comes and
  // a connect-then-close left it running forever. It is killed with whatever it started (a `crun run` in
  // flight); processes that already made it into the container's cgroup go with the cgroup.
  const shimPid = await shimPidOf(stateDir);
  if (shimPid) await killShim(shimPid);
  await killCgroupProcesses(core.cgroupPath(rec));
  log.warn('rolled back a container start the daemon did not finish', { id: rec.Id });
  await releaseResources(core, rec);
  core.released.delete(rec.Id);
}

/** The runtime keeps state for the container (false when its runtime is no longer known to this daemon). */
function runtimeStateExists(core: EngineCore, rec: ContainerRecord): boolean {
  try { return existsSync(`${core.driver(rec.Runtime).root}/${rec.Id}`); } catch { return false; }
}

/**
 * What belongs to no container any more (fault "SIGKILL during rm or a cut start of a container that is gone"):
 * shims of unknown containers, overlay mounts and directories of containers without a record (a create or an
 * rm cut short). Exec shims of running containers are left alone: their processes are the user's.
 */
async function removeOrphans(core: EngineCore, shimsAtStart: ShimProcess[]): Promise<void> {
  const known = new Map(core.store.all().map((r) => [r.Id.slice(0, 16), r]));
  const shimRoot = `${core.opts.execRoot}/shim`;
  for (const p of shimsAtStart) {
    const [cid, execId] = p.stateDir.slice(shimRoot.length + 1).split('-');
    const rec = known.get(cid);
    const owned = rec && (execId ? core.isRunning(rec) : core.live.get(rec.Id)?.shim !== undefined);
    if (owned) continue;
    log.warn('killing an orphaned container shim', { pid: p.pid, stateDir: p.stateDir });
    await killShim(p.pid);
  }
  for (const name of await fs.readdir(shimRoot).catch(() => [] as string[])) {
    const rec = known.get(name.split('-')[0]);
    // (a state dir whose shim is still there is left alone: that shim is either owned or was killed above)
    if (!rec) await fs.rm(`${shimRoot}/${name}`, { recursive: true, force: true }).catch(() => undefined);
  }
  for (const id of await fs.readdir(core.store.root).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(id) || core.store.tryGet(id)) continue;
    const dir = core.store.dir(id);
    // only a directory without any record: an unreadable record is kept for a human to look at
    if (existsSync(`${dir}/config.v2.json`)) continue;
    for (const m of await mountsUnder(dir).catch(() => [] as string[])) {
      await unmountOverlay({ upper: '', work: '', merged: m }).catch((e) => log.warn('unmount of an orphaned rootfs failed', { mount: m, error: errorMessage(e) }));
    }
    await killCgroupProcesses(core.cgroupPath({ Id: id })).catch(() => 0);
    await core.driver(core.opts.defaultRuntime.name).delete(id, core.cgroupPath({ Id: id })).catch(() => undefined);
    log.warn('removing the files of a container that has no record (a create or rm was cut short)', { id });
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
