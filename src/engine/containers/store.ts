// In-memory index of containers (by id and by name) backed by one atomic JSON file per container.
// Lookups never touch the disk; every change is persisted before the call returns.
import { promises as fs, mkdirSync, rmSync } from 'fs';
import * as path from 'path';
import { writeJsonAtomic, readJson } from '../../common/atomic';
import { conflict, invalidParameter, noSuchContainer, EngineError } from '../../common/errors';
import { log } from '../../common/log';
import type { ContainerRecord } from './types';

/**
 * Containers another part of the daemon owns (the CRI server's pods and containers): `berth ps` and inspect show
 * them, in this record's shape, but the engine never changes them — every other operation answers 409.
 */
export interface ForeignContainers {
  /** who owns them, for the error text ("the CRI (crictl)") */
  owner: string;
  list(): ContainerRecord[];
}

export class ContainerStore {
  private byId = new Map<string, ContainerRecord>();
  private byName = new Map<string, string>();
  private foreignSource?: ForeignContainers;

  constructor(readonly root: string) {}

  dir(id: string): string { return path.join(this.root, id); }

  async load(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o710 });
    for (const id of await fs.readdir(this.root)) {
      try {
        const rec = await readJson<ContainerRecord>(path.join(this.root, id, 'config.v2.json'));
        if (!rec) continue; // a create that never finished: no record, so nothing references it
        this.byId.set(rec.Id, rec);
        this.byName.set(rec.Name, rec.Id);
      } catch (err) {
        log.error('skipping unreadable container record', { id, error: (err as Error).message });
      }
    }
  }

  all(): ContainerRecord[] { return [...this.byId.values()]; }

  /** Full id, name (with or without "/"), or unambiguous id prefix — docker's lookup order. */
  tryGet(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const named = this.byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (named) return this.byId.get(named);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: ContainerRecord | undefined;
    for (const rec of this.byId.values()) {
      if (!rec.Id.startsWith(ref)) continue;
      if (found) throw new EngineError(400, `multiple IDs found with provided prefix: ${ref}`);
      found = rec;
    }
    return found;
  }

  get(ref: string): ContainerRecord {
    const rec = this.tryGet(ref);
    if (!rec) {
      const other = this.tryGetForeign(ref);
      if (other) throw conflict(`container ${other.Id} is managed by ${this.foreignSource!.owner}, not by the Engine API`);
      throw noSuchContainer(ref);
    }
    return rec;
  }

  setForeign(source: ForeignContainers): void { this.foreignSource = source; }

  /** The foreign containers (ps lists them beside ours). */
  foreign(): ContainerRecord[] { return this.foreignSource?.list() ?? []; }

  /** A foreign container by full id, name or unique id prefix. */
  tryGetForeign(ref: string): ContainerRecord | undefined {
    if (!ref || !this.foreignSource) return undefined;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const all = this.foreignSource.list();
    const exact = all.find((r) => r.Id === ref || r.Name === name);
    if (exact) return exact;
    const prefixed = /^[0-9a-f]+$/.test(ref) ? all.filter((r) => r.Id.startsWith(ref)) : [];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  reserveName(name: string, id: string): void {
    const holder = this.byName.get(name);
    if (holder && holder !== id) {
      throw conflict(`Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.byName.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.byName.get(name) === id) this.byName.delete(name);
  }

  hasName(name: string): boolean { return this.byName.has(name); }

  async add(rec: ContainerRecord): Promise<void> {
    mkdirSync(this.dir(rec.Id), { recursive: true, mode: 0o710 }); // one small metadata write: no thread-pool round trip
    await this.save(rec);
    this.byId.set(rec.Id, rec);
  }

  async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.dir(rec.Id), 'config.v2.json'), rec);
  }

  /** Removes the container: its record goes first, in one unlink, so an rm cut by a crash never leaves a
   * half-deleted container that still lists (the rest of the directory is removed at the next start:
   * removeOrphans in restore.ts). */
  async removeRecord(rec: ContainerRecord): Promise<void> {
    this.byId.delete(rec.Id);
    this.releaseName(rec.Name, rec.Id);
    rmSync(path.join(this.dir(rec.Id), 'config.v2.json'), { force: true }); // one unlink: no thread-pool round trip
  }

  /** What a removed container leaves in its directory (log, /etc files): can be large, so off the event loop. */
  async removeDirectory(rec: ContainerRecord): Promise<void> {
    await fs.rm(this.dir(rec.Id), { recursive: true, force: true });
  }
}

/** Longest container name taken. Docker sets none, but a name ends up in DNS answers, /etc/hosts lines and log
 * lines, and 10 KB names only serve abuse (issue 16): 255 is a file name's limit and far above any real name. */
export const MAX_NAME_LENGTH = 255;

export const validName = (name: string) => name.length <= MAX_NAME_LENGTH + 1 && /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name);

export function checkName(name: string): string {
  if (name.replace(/^\//, '').length > MAX_NAME_LENGTH) throw invalidParameter(`Invalid container name (${name.slice(0, 40)}…): longer than ${MAX_NAME_LENGTH} characters`);
  if (!validName(name)) throw invalidParameter(`Invalid container name (${JSON.stringify(name).slice(1, -1)}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}
