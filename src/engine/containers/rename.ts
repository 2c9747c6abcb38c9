// docker rename: the name moves in the store (reserved first, released on failure) and in the container's networks.
import { conflict, invalidParameter, errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import type { EngineCore } from './core';
import { checkName } from './store';

export async function rename(core: EngineCore, ref: string, newName: string): Promise<void> {
  const rec = core.store.get(ref);
  if (!newName) throw invalidParameter('Neither old nor new names may be empty');
  const name = checkName(newName);
  if (name === rec.Name) throw conflict(`Renaming a container with the same name as its current name`);
  core.store.reserveName(name, rec.Id);
  const old = rec.Name;
  rec.Name = name;
  try {
    await core.store.save(rec);
  } catch (err) {
    rec.Name = old;
    core.store.releaseName(name, rec.Id);
    throw err;
  }
  core.store.releaseName(old, rec.Id);
  await core.network.rename(rec.Id, name.slice(1)).catch((e) => log.warn('network rename failed', { id: rec.Id, error: errorMessage(e) }));
  core.event(rec, 'rename', { oldName: old });
}
