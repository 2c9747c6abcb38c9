// What a stopped container gives back: runtime state, network attachment, mounted root file system, bundle and
// shim state, then its volumes' mounts.
import { rmSync } from 'fs';
import { errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import { unmountOverlay } from '../../runtime/rootfs';
import type { EngineCore } from './core';
import type { ContainerRecord } from './types';

/** Runtime state, network and rootfs of a stopped container; the three are independent, so in parallel. */
export async function releaseResources(core: EngineCore, rec: ContainerRecord): Promise<void> {
  if (core.released.has(rec.Id)) return; // an auto-removed container was released at its exit already
  const network = rec.Network;
  const t0 = Date.now();
  const took = (what: string) => () => log.debug('released', { id: rec.Id.slice(0, 12), what, ms: Date.now() - t0 });
  await Promise.all([
    // (a runtime this daemon no longer knows — an --add-runtime dropped at restart — must not stop the rest)
    Promise.resolve().then(() => core.driver(rec.Runtime).delete(rec.Id, core.cgroupPath(rec))).catch((e) => log.warn('runtime delete failed', { id: rec.Id, error: errorMessage(e) })).then(took('runtime')),
    network ? core.network.detach(rec.Id, network).catch((e) => log.warn('network detach failed', { id: rec.Id, error: errorMessage(e) })).then(took('network')) : undefined,
    // A cp or export holding the root file system unmounts it when it is done, unless the container is going away.
    (core.rootfsHolds.has(rec.Id) && rec.State.Status !== 'removing' ? Promise.resolve()
      : unmountOverlay(core.paths.rootfs(rec.Id)).catch((e) => log.warn('unmount failed', { id: rec.Id, error: errorMessage(e) }))).then(took('rootfs')),
  ]);
  // tmpfs, a few small files: synchronous, without thread-pool round trips
  rmSync(core.paths.bundle(rec.Id), { recursive: true, force: true });
  rmSync(core.paths.shimState(rec.Id), { recursive: true, force: true });
  // after the runtime let go of them: a volume with options is unmounted when its last user stopped
  await core.mounts.release(rec).then(took('volumes'));
  core.released.add(rec.Id);
}
