// pause and unpause: the runtime freezes and thaws the container's cgroup.
import { conflict, systemError, errorMessage } from '../../common/errors';
import type { EngineCore } from './core';
import type { ContainerRecord } from './types';

export async function pauseLocked(core: EngineCore, rec: ContainerRecord, persist = true): Promise<void> {
  if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is already paused`);
  if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
  await core.driver(rec.Runtime).pause(rec.Id).catch((e) => { throw systemError(`cannot pause container ${rec.Id}: ${errorMessage(e)}`); });
  rec.State.Status = 'paused';
  if (persist) await core.store.save(rec);
  core.event(rec, 'pause');
}

export async function unpauseLocked(core: EngineCore, rec: ContainerRecord): Promise<void> {
  if (rec.State.Status !== 'paused') throw conflict(`Container ${rec.Id} is not paused`);
  await unpauseQuiet(core, rec);
  core.event(rec, 'unpause');
}

/** Thaws without an event: before a stop, a kill or a removal, which emit their own. */
export async function unpauseQuiet(core: EngineCore, rec: ContainerRecord): Promise<void> {
  await core.driver(rec.Runtime).resume(rec.Id).catch((e) => { throw systemError(`cannot unpause container ${rec.Id}: ${errorMessage(e)}`); });
  rec.State.Status = 'running';
  await core.store.save(rec);
}
