// docker update: resource limits and the restart policy, persisted and, for a running container, written into
// its cgroup at once (resources.ts has Docker's rules).
import { conflict, systemError, errorMessage } from '../../common/errors';
import { ContainerCgroup, applyResources, hostSupport } from '../../runtime/cgroups';
import type { EngineCore } from './core';
import { checkRestartPolicy, mergeUpdate, parseUpdateBody, updateResources, verifyResources } from './resources';

/**
 * POST /containers/{id}/update: resource limits and the restart policy. Persisted, and written into the
 * cgroup at once when the container runs; a stopped one gets them at its next start.
 */
export async function update(core: EngineCore, ref: string, body: unknown): Promise<{ Warnings: string[] | null }> {
  const rec = core.store.get(ref);
  const req = parseUpdateBody(body);
  checkRestartPolicy(req.RestartPolicy);
  const warnings = verifyResources(req, hostSupport(), true);
  core.refuseLimitsWithoutCgroups(updateResources(req, req));
  return core.serialize(rec.Id, async () => {
    if (!core.store.tryGet(rec.Id) || rec.State.Status === 'removing') {
      throw conflict(`Cannot update container ${rec.Id}: container is marked for removal and cannot be "update"`);
    }
    const next = mergeUpdate(rec.HostConfig, req, rec.Id);
    if (core.isRunning(rec)) {
      await applyResources(new ContainerCgroup(core.cgroupPath(rec)), updateResources(req, next))
        .catch((e) => { throw systemError(`Cannot update container ${rec.Id}: ${errorMessage(e)}`); });
    }
    rec.HostConfig = next;
    await core.store.save(rec);
    core.event(rec, 'update');
    return { Warnings: warnings.length ? warnings : null };
  });
}
