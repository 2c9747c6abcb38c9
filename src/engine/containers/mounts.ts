// A container's volumes and binds over its life: volumes created and referenced at create (all or none), mounted
// (volumes with options), copied up, given mount points in the rootfs and turned into OCI mounts at start,
// unmounted at stop, released — anonymous ones removed on request — at removal.
import { promises as fs, lstatSync, openSync, closeSync, type Stats } from 'fs';
import { release } from 'os';
import { EngineError, invalidParameter, notFound, errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import { ConfinedTree, entryParts } from '../../storage/confined';
import { run } from '../../runtime/exec';
import type { OciMount } from '../../runtime/spec';
import type { EventBus } from '../events';
import type { VolumeStore } from '../volumes/store';
import { ANONYMOUS_LABEL, LOCAL } from '../volumes/local';
import { tmpfsMountOptions, type PlannedMount } from './mount-spec';
import type { ContainerRecord, MountPoint } from './types';

const bindMissing = (p: string) => invalidParameter(`invalid mount config for type "bind": bind source path does not exist: ${p}`);

export class ContainerMounts {
  /** the volumes each running container has mounted, so a stop releases exactly those */
  private mounted = new Map<string, string[]>();

  constructor(private readonly volumes: VolumeStore, private readonly events: EventBus) {}

  /**
   * Create time: --mount bind sources must exist; volumes are created (or found) and referenced by `id`. On any
   * failure nothing stays behind: references are dropped and the volumes this call created are removed.
   */
  async register(id: string, planned: PlannedMount[]): Promise<{ mountPoints: MountPoint[]; created: string[] }> {
    for (const mp of planned) {
      if (mp.Type === 'bind' && mp.MustExist && !(await fs.stat(mp.Source).catch(() => undefined))) throw bindMissing(mp.Source);
    }
    const created: string[] = [];
    // volumes are created side by side (each waits for its fsyncs); the first failure undoes them all
    const results = await Promise.allSettled(planned.map(async (p): Promise<MountPoint> => {
      const { create, inherited, ...mp } = p;
      if (mp.Type !== 'volume') return mp;
      const name = mp.Name!;
      if (inherited) {
        this.volumes.get(name);
        this.volumes.addRef(name, id);
      } else {
        const r = await this.volumes.create({ Name: name, Driver: create?.driver, DriverOpts: create?.driverOpts, Labels: create?.labels },
          { labels: mp.Anonymous ? { [ANONYMOUS_LABEL]: '' } : undefined, ref: id });
        if (r.created) created.push(name);
      }
      mp.Source = this.volumes.dataPath(name);
      mp.Driver = LOCAL;
      return mp;
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.rollback(id, planned.filter((m) => m.Type === 'volume').map((m) => m.Name!), created);
      throw failed.reason;
    }
    const out = results.map((r) => (r as PromiseFulfilledResult<MountPoint>).value);
    return { mountPoints: out, created };
  }

  /** Undoes register(): drops `id`'s references, removes the volumes it created. */
  async rollback(id: string, referenced: string[], created: string[]): Promise<void> {
    for (const name of referenced) this.volumes.releaseRef(name, id);
    await Promise.all(created.map((name) => this.volumes.remove(name, true)
      .catch((e) => log.warn('cannot remove volume of a failed create', { name, error: errorMessage(e) }))));
  }

  /** After a daemon restart, for every container: its references, before anything may remove a volume. */
  addRefs(rec: ContainerRecord): void {
    for (const name of volumeNames(rec)) this.volumes.addRef(name, rec.Id);
  }

  /** After a daemon restart, for a container still running: the volumes it has mounted. */
  async adopt(rec: ContainerRecord): Promise<void> {
    const names = volumeNames(rec);
    if (!names.length) return;
    const ok: string[] = [];
    for (const name of names) {
      try {
        await this.volumes.adoptMount(name, rec.Id);
        ok.push(name);
      } catch (err) {
        log.warn('cannot restore volume mount of a running container', { id: rec.Id, name, error: errorMessage(err) });
      }
    }
    this.mounted.set(rec.Id, ok);
  }

  /**
   * Start: the OCI mounts of the container's volumes, binds and tmpfs mounts, with their mount points made in the
   * rootfs (never through a symlink out of it) and empty volumes filled from the image once. Sets CopyData off on
   * the record's mount points it copied for (the caller saves the record).
   */
  async setup(rec: ContainerRecord, rootfs: string): Promise<{ binds: OciMount[]; tmpfs: OciMount[] }> {
    const tmpfs = rec.HostConfig.Tmpfs && typeof rec.HostConfig.Tmpfs === 'object' ? rec.HostConfig.Tmpfs as Record<string, string> : {};
    const binds: OciMount[] = [];
    // --tmpfs first, then --mount type=tmpfs: docker's order
    const tmpfsMounts: OciMount[] = Object.entries(tmpfs).map(([dest, data]) => ({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: tmpfsMountOptions(data) }));
    const mountedNow: string[] = [];
    const tree = new ConfinedTree(rootfs);
    try {
      for (const mp of rec.MountPoints ?? []) {
        if (Object.prototype.hasOwnProperty.call(tmpfs, mp.Destination)) continue; // --tmpfs wins, as in docker
        if (mp.Type === 'tmpfs') {
          tmpfsMounts.push({ destination: mp.Destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsMountOptions(mp.Data ?? '') });
          continue;
        }
        let source = mp.Source;
        if (mp.Type === 'volume') {
          const name = mp.Name!;
          this.volumes.get(name);
          await this.volumes.mountFor(name, rec.Id);
          mountedNow.push(name);
          source = this.volumes.dataPath(name);
          if (mp.CopyData) {
            await copyUp(tree, mp.Destination, source);
            mp.CopyData = false;
          }
          if (mp.Subpath) source = subpathOf(source, mp.Subpath, name);
        } else if (!(await fs.stat(source).catch(() => undefined))) {
          if (!mp.CreateSource) throw bindMissing(source);
          await fs.mkdir(source, { recursive: true, mode: 0o755 });
        }
        const isDir = (await fs.stat(source)).isDirectory();
        makeMountPoint(tree, mp.Destination, isDir);
        const options = [mp.NonRecursive ? 'bind' : 'rbind'];
        // a file has nothing mounted below it (and crun takes "rro" for directories only)
        if (!mp.RW) options.push(mp.ReadOnlyNonRecursive || !isDir || !recursiveReadOnly() ? 'ro' : 'rro');
        if (mp.Propagation) options.push(mp.Propagation);
        binds.push({ destination: mp.Destination, type: 'bind', source, options });
      }
      for (const m of tmpfsMounts) makeMountPoint(tree, m.destination, true);
    } catch (err) {
      for (const name of mountedNow) await this.volumes.unmountFor(name, rec.Id).catch(() => undefined);
      throw err;
    }
    this.mounted.set(rec.Id, mountedNow);
    for (const mp of rec.MountPoints ?? []) {
      if (mp.Type !== 'volume' || !mountedNow.includes(mp.Name!)) continue;
      this.events.emitEvent('volume', 'mount', mp.Name!, {
        container: rec.Id, destination: mp.Destination, driver: mp.Driver ?? LOCAL, propagation: mp.Propagation, 'read/write': String(mp.RW),
      });
    }
    return { binds, tmpfs: tmpfsMounts };
  }

  /** Stop: volumes mounted for this container are released (and unmounted when it was their last user). */
  async release(rec: ContainerRecord): Promise<void> {
    const names = this.mounted.get(rec.Id);
    if (!names) return;
    this.mounted.delete(rec.Id);
    for (const name of names) {
      await this.volumes.unmountFor(name, rec.Id).catch((e) => log.warn('volume unmount failed', { id: rec.Id, name, error: errorMessage(e) }));
      this.events.emitEvent('volume', 'unmount', name, { container: rec.Id, driver: LOCAL });
    }
  }

  /** Removal: references go; with `removeAnonymous` (rm -v, --rm) the anonymous volumes nobody else uses go too. */
  async forget(rec: ContainerRecord, removeAnonymous: boolean): Promise<void> {
    await this.release(rec);
    const volumes = (rec.MountPoints ?? []).filter((mp) => mp.Type === 'volume' && mp.Name);
    for (const mp of volumes) this.volumes.releaseRef(mp.Name!, rec.Id);
    if (!removeAnonymous) return;
    await Promise.all(volumes.filter((mp) => mp.Anonymous).map((mp) => this.volumes.remove(mp.Name!).catch((e) => {
      // still used by another container (--volumes-from), or already gone: not an error, as in docker
      if (e instanceof EngineError && (e.status === 409 || e.status === 404)) return;
      log.warn('cannot remove anonymous volume', { id: rec.Id, name: mp.Name, error: errorMessage(e) });
    })));
  }
}

let rro: boolean | undefined;
/**
 * Read-only binds are read-only all the way down (docker 25+: "rro", mount_setattr with AT_RECURSIVE, Linux 5.12+;
 * crun and runc on Debian 12 both take it): a plain "ro" would leave mounts under a bound directory writable.
 */
function recursiveReadOnly(): boolean {
  if (rro === undefined) {
    const [major, minor] = release().split('.').map((x) => parseInt(x, 10));
    rro = major > 5 || (major === 5 && minor >= 12);
  }
  return rro;
}

export function volumeNames(rec: ContainerRecord): string[] {
  return [...new Set((rec.MountPoints ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!))];
}

/**
 * Makes `dest` exist inside the rootfs: a directory, or an empty file for a file bind. Parents are resolved as the
 * runtime will resolve them (symlinks followed, but only inside the root) and created where missing.
 */
function makeMountPoint(tree: ConfinedTree, dest: string, dir: boolean): void {
  const parts = entryParts(dest);
  if (!parts.length) return;
  let host: string;
  try {
    const parent = tree.resolveDir(parts.slice(0, -1), true, dest)!;
    const last = parts[parts.length - 1];
    host = tree.host(parent === '' ? last : `${parent}/${last}`);
  } catch (err) {
    throw invalidParameter(`cannot create mount point ${dest}: ${errorMessage(err).replace(/^invalid tar entry "[^"]*": /, '')}`);
  }
  const st: Stats | undefined = lstatSync(host, { throwIfNoEntry: false });
  if (dir) {
    if (st && !st.isDirectory() && !st.isSymbolicLink()) throw invalidParameter(`cannot mount volume over existing file, file exists ${dest}`);
    try {
      tree.resolveDir(parts, true, dest); // a symlink is followed, inside the root, as the runtime will
    } catch (err) {
      throw invalidParameter(`cannot create mount point ${dest}: ${errorMessage(err).replace(/^invalid tar entry "[^"]*": /, '')}`);
    }
  } else if (!st) {
    // O_EXCL: never follows a symlink someone put there meanwhile
    closeSync(openSync(host, 'wx', 0o755));
  }
}

/** docker's copy-up: what the image has at the mount point goes into an empty volume, owners and modes kept. */
async function copyUp(tree: ConfinedTree, dest: string, volumeDir: string): Promise<void> {
  let rel: string | undefined;
  try {
    rel = tree.resolveDir(entryParts(dest), false, dest);
  } catch {
    return; // a file (or a dangling path) in the image: nothing to copy
  }
  if (rel === undefined) return;
  const from = tree.host(rel);
  const [src, dst] = await Promise.all([fs.readdir(from).catch(() => []), fs.readdir(volumeDir).catch(() => ['?'])]);
  if (!src.length || dst.length) return;
  try {
    await run('cp', ['-a', '--no-target-directory', from, volumeDir], { timeoutMs: 600_000 });
  } catch (err) {
    throw new EngineError(500, `failed to copy the image's ${dest} into its volume: ${errorMessage(err)}`);
  }
}

/** A volume's subpath, resolved inside the volume (never out of it); it must exist. */
function subpathOf(volumeDir: string, sub: string, name: string): string {
  let rel: string | undefined;
  try {
    rel = new ConfinedTree(volumeDir).resolveDir(entryParts(sub), false, sub);
  } catch {
    rel = undefined;
  }
  if (rel === undefined) throw notFound(`cannot access path ${volumeDir}/${sub}: subpath ${JSON.stringify(sub)} does not exist in volume ${name}`);
  return rel === '' ? volumeDir : `${volumeDir}/${rel}`;
}
