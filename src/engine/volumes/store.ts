// Named volumes with the local driver: <root>/<name>/_data holds the data, <root>/<name>/volume.json the metadata.
// A volume appears whole or not at all: it is assembled in a hidden temp directory and renamed into place, and
// removed by renaming it aside first. Which containers reference a volume (refs) and which have it mounted
// (active; only volumes with type/device options are mounted by berth) is kept in memory and rebuilt from the
// containers when the daemon starts, as docker does.
import { promises as fs } from 'fs';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { conflict, EngineError, invalidParameter, notFound, errorMessage } from '../../common/errors';
import { readJson, syncDir } from '../../common/atomic';
import { dirSize } from '../../common/dir-size';
import { log } from '../../common/log';
import { isMounted } from '../../runtime/rootfs';
import type { EventBus } from '../events';
import { LOCAL, ANONYMOUS_LABEL, checkDriver, nameError, optsError, needsMount, mountLocal, unmountLocal } from './local';
import { KeyedQueue } from '../../common/keyed-queue';

export interface VolumeRecord {
  Name: string;
  Driver: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

export interface CreateVolumeRequest {
  Name?: unknown; Driver?: unknown; DriverOpts?: unknown; Labels?: unknown;
}

const META = 'volume.json';

async function writeDurable(file: string, data: string): Promise<void> {
  const h = await fs.open(file, 'wx', 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}
const DATA = '_data';
const nowRfc3339 = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const emptyToNull = (m: Record<string, string> | null | undefined) => (m && Object.keys(m).length ? { ...m } : null);

function stringMap(what: string, v: unknown): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field CreateOptions.${what} of type map[string]string`);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof x} into Go struct field CreateOptions.${what}.${k} of type string`);
  }
  return v as Record<string, string>;
}

export class VolumeStore {
  private vols = new Map<string, VolumeRecord>();
  private refs = new Map<string, Set<string>>();
  private active = new Map<string, Set<string>>();
  private readonly queue = new KeyedQueue();
  /** volumes whose _data has their device mounted: read from the mount table once at start, then kept here */
  private mountedData = new Set<string>();
  private pruning = false;

  private constructor(readonly root: string, private readonly events: EventBus) {}

  static async open(root: string, events: EventBus): Promise<VolumeStore> {
    const s = new VolumeStore(root, events);
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o701 });
    const mountPoints = new Set((await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]));
    for (const entry of await fs.readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(this.root, entry.name);
      // a create or a remove the daemon did not finish: never a volume anyone saw
      if (entry.name.startsWith('.')) { await this.removeDir(dir).catch((e) => log.warn('cannot remove leftover volume dir', { dir, error: errorMessage(e) })); continue; }
      try {
        let rec = await readJson<VolumeRecord>(path.join(dir, META));
        if (!rec) {
          // a directory with data but no metadata (copied in by hand, or from docker): a plain local volume
          const st = await fs.stat(path.join(dir, DATA)).catch(() => undefined);
          if (!st?.isDirectory() || nameError(entry.name)) continue;
          rec = { Name: entry.name, Driver: LOCAL, CreatedAt: st.mtime.toISOString().replace(/\.\d+Z$/, 'Z'), Labels: null, Options: null };
        }
        this.vols.set(rec.Name, rec);
        if (needsMount(rec.Options) && mountPoints.has(path.join(dir, DATA))) this.mountedData.add(rec.Name);
      } catch (err) {
        log.error('skipping unreadable volume', { name: entry.name, error: errorMessage(err) });
      }
    }
  }

  /** One operation at a time per volume name (create racing remove, two containers mounting at once). */
  private serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(name, fn);
  }

  dataPath(name: string): string { return path.join(this.root, name, DATA); }

  tryGet(name: string): VolumeRecord | undefined { return this.vols.get(name); }

  get(name: string): VolumeRecord {
    const v = this.vols.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] { return [...this.vols.values()]; }

  /** The containers referencing a volume, running or not. */
  refsOf(name: string): string[] { return [...(this.refs.get(name) ?? [])]; }
  addRef(name: string, container: string): void {
    let s = this.refs.get(name);
    if (!s) { s = new Set(); this.refs.set(name, s); }
    s.add(container);
  }
  releaseRef(name: string, container: string): void {
    const s = this.refs.get(name);
    if (!s) return;
    s.delete(container);
    if (!s.size) this.refs.delete(name);
  }

  /**
   * POST /volumes/create and the volumes of a new container. An existing volume of that name is returned as it
   * is, whatever options or labels the request asks for: docker answers so (201 with the existing volume), and
   * scripts and compose files rely on "create" being idempotent. `created` says whether it is new.
   */
  async create(req: CreateVolumeRequest, extra: { labels?: Record<string, string>; ref?: string } = {}): Promise<{ volume: VolumeRecord; created: boolean }> {
    if (req.Name !== undefined && req.Name !== null && typeof req.Name !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof req.Name} into Go struct field CreateOptions.Name of type string`);
    if (req.Driver !== undefined && req.Driver !== null && typeof req.Driver !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof req.Driver} into Go struct field CreateOptions.Driver of type string`);
    const name = (req.Name as string) || randomBytes(32).toString('hex');
    const opts = stringMap('DriverOpts', req.DriverOpts);
    const labels = emptyToNull({ ...(stringMap('Labels', req.Labels) ?? {}), ...(extra.labels ?? {}) });
    checkDriver(name, req.Driver as string | undefined);
    const bad = nameError(name);
    if (bad) throw invalidParameter(`create ${name}: ${bad}`);
    return this.serialize(name, async () => {
      const existing = this.vols.get(name);
      if (existing) {
        // the reference is taken under the volume's lock, so a concurrent remove cannot slip in between
        if (extra.ref) this.addRef(name, extra.ref);
        this.events.emitEvent('volume', 'create', name, { driver: existing.Driver });
        return { volume: existing, created: false };
      }
      const badOpts = optsError(opts ?? {});
      if (badOpts) throw invalidParameter(`create ${name}: ${badOpts}`);
      const rec: VolumeRecord = { Name: name, Driver: LOCAL, CreatedAt: nowRfc3339(), Labels: labels, Options: emptyToNull(opts) };
      const tmp = path.join(this.root, `.new-${randomBytes(8).toString('hex')}`);
      try {
        await fs.mkdir(tmp, { mode: 0o701 });
        await fs.mkdir(path.join(tmp, DATA), { mode: 0o755 });
        // no temp file needed inside: the directory appears by one rename, complete and synced
        await writeDurable(path.join(tmp, META), JSON.stringify(rec, null, 1) + '\n');
        await syncDir(tmp);
        await fs.rename(tmp, path.join(this.root, name));
        await syncDir(this.root);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        throw new EngineError(500, `create ${name}: ${errorMessage(err)}`);
      }
      this.vols.set(name, rec);
      if (extra.ref) this.addRef(name, extra.ref);
      this.events.emitEvent('volume', 'create', name, { driver: rec.Driver });
      return { volume: rec, created: true };
    });
  }

  /** DELETE /volumes/{name}: refused while any container references it; `force` only forgives a missing one. */
  async remove(name: string, force = false, emit = true): Promise<void> {
    if (!this.vols.has(name)) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    await this.serialize(name, async () => {
      const v = this.vols.get(name);
      if (!v) return;
      const users = this.refsOf(name);
      if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.destroy(name);
      if (emit) this.events.emitEvent('volume', 'destroy', name, { driver: v.Driver });
    });
  }

  /**
   * The volume goes from the API at once (its directory renamed aside); its data is deleted in the background,
   * and a daemon that dies meanwhile finishes the job at its next start.
   */
  private async destroy(name: string): Promise<void> {
    const dir = path.join(this.root, name);
    // Never delete through a mount: a bind-type volume's _data is the user's own directory.
    await this.ensureUnmounted(path.join(dir, DATA), needsMount(this.vols.get(name)?.Options));
    const trash = path.join(this.root, `.rm-${randomBytes(8).toString('hex')}`);
    await fs.rename(dir, trash).catch((err) => { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; });
    this.vols.delete(name);
    this.refs.delete(name);
    this.active.delete(name);
    this.mountedData.delete(name);
    void fs.rm(trash, { recursive: true, force: true }).catch((e) => log.warn('cannot delete removed volume data', { dir: trash, error: errorMessage(e) }));
  }

  private async removeDir(dir: string): Promise<void> {
    await this.ensureUnmounted(path.join(dir, DATA), true);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /**
   * Throws unless nothing is mounted on `data`. A volume with options is looked up in the mount table (a bind
   * mount may share the device); a plain one, which berth never mounts, costs only a device comparison.
   */
  private async ensureUnmounted(data: string, mountable: boolean): Promise<void> {
    const mounted = async () => {
      if (mountable) return isMounted(data);
      const [a, b] = await Promise.all([fs.stat(data).catch(() => undefined), fs.stat(path.dirname(data)).catch(() => undefined)]);
      return !!a && !!b && a.dev !== b.dev;
    };
    if (!(await mounted())) return;
    await unmountLocal(data);
    if (await mounted()) throw conflict(`remove ${path.basename(path.dirname(data))}: volume is still mounted at ${data}`);
  }

  /**
   * POST /volumes/prune: unused local volumes — anonymous ones only, unless `all` (docker 23+). `match` applies
   * the label filters. Like docker, pruned volumes get no destroy events, only the final prune event.
   */
  async prune(all: boolean, match: (v: VolumeRecord) => boolean): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const v of this.list()) {
        if (v.Driver !== LOCAL || this.refsOf(v.Name).length) continue;
        if (!all && !(v.Labels && ANONYMOUS_LABEL in v.Labels)) continue;
        if (!match(v)) continue;
        const size = await this.size(v.Name);
        try {
          await this.remove(v.Name, false, false);
          deleted.push(v.Name);
          reclaimed += size;
        } catch (err) {
          log.warn('prune could not remove volume', { name: v.Name, error: errorMessage(err) }); // became used meanwhile
        }
      }
      this.events.emitEvent('volume', 'prune', '', { reclaimed: String(reclaimed) });
      return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
    } finally {
      this.pruning = false;
    }
  }

  /** Bytes in a volume (what docker's disk usage reports for local volumes). */
  size(name: string): Promise<number> { return dirSize(this.dataPath(name)); }

  /** A container starts using a volume: volumes with type/device options are mounted for their first user. */
  async mountFor(name: string, container: string): Promise<void> {
    const v = this.get(name);
    if (!needsMount(v.Options)) return;
    await this.serialize(name, async () => {
      const users = this.active.get(name) ?? new Set<string>();
      if (users.has(container)) return;
      if (!this.mountedData.has(name)) {
        await mountLocal(v.Options!, this.dataPath(name));
        this.mountedData.add(name);
      }
      users.add(container);
      this.active.set(name, users);
    });
  }

  /** A container stopped: its last user gone, a volume with options is unmounted. Idempotent per container. */
  async unmountFor(name: string, container: string): Promise<void> {
    const v = this.vols.get(name);
    const users = this.active.get(name);
    if (!v || !users?.has(container)) return;
    await this.serialize(name, async () => {
      if (!users.delete(container) || users.size) return;
      this.active.delete(name);
      await unmountLocal(this.dataPath(name));
      this.mountedData.delete(name);
    });
  }

  /** After a daemon restart: a running container still has its volumes mounted. */
  adoptMount(name: string, container: string): Promise<void> { return this.mountFor(name, container); }

  /** After a daemon restart: volumes left mounted with no running user (a crash mid-stop) are unmounted. */
  async reconcileMounts(): Promise<void> {
    for (const name of [...this.mountedData]) {
      if (this.active.get(name)?.size) continue;
      try {
        await unmountLocal(this.dataPath(name));
        this.mountedData.delete(name);
      } catch (e) {
        log.warn('cannot unmount unused volume', { name, error: errorMessage(e) });
      }
    }
  }
}

/** The API's Volume object; UsageData only where docker sends it (system df). */
export function volumeView(v: VolumeRecord, mountpoint: string, usage?: { Size: number; RefCount: number }): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: mountpoint, Name: v.Name, Options: v.Options, Scope: 'local',
    ...(usage ? { UsageData: usage } : {}),
  };
}
