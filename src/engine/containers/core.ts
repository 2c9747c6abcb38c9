// What the container engine's parts share: the options it was built with, the record store, the per-container
// lock, the runtime drivers, and what the daemon knows of running processes (shims, exit handling, waiters).
// Each concern (create, start, stop, exit, remove, restore, attach) is a module of functions over this core;
// engine.ts composes them into ContainerEngine, the object the API and the rest of the daemon use.
import { invalidParameter, notFound, systemError, errorMessage } from '../../common/errors';
import type { ImageStore } from '../../storage/images';
import type { NetworkManager } from '../../network';
import { RuntimeDriver, RuntimeInfo, findRuntime, unsafeRuntime } from '../../runtime/runtime';
import type { Shim } from '../../runtime/shim';
import { ContainerStore } from './store';
import { ContainerPaths } from './paths';
import { ContainerMounts } from './mounts';
import type { ContainerRecord } from './types';
import type { EventBus } from '../events';
import type { VolumeStore } from '../volumes/store';
import { KeyedQueue } from '../../common/keyed-queue';

export interface EngineOptions {
  dataRoot: string; execRoot: string; images: ImageStore; network: NetworkManager; events: EventBus;
  volumes: VolumeStore; defaultRuntime: RuntimeInfo;
  /** runtimes given with `berth daemon --add-runtime name=path` */
  addedRuntimes?: Record<string, string>;
  /** rootless seam (src/rootless): what differs when the daemon is root of a user namespace */
  rootless?: RootlessHooks;
}

/** Rootless berth's hooks into the engine. */
export interface RootlessHooks {
  /** why limits cannot be enforced (no delegated cgroup v2 subtree); undefined where they can */
  limitsUnavailable?: string;
  /** the spec adjusted to what the user namespace allows (no cgroups, binds for what cannot be mounted) */
  adjustSpec(spec: Record<string, unknown>, opts: { privileged: boolean; hostNetwork: boolean }): void;
}

/** What the engine keeps about a container whose process is (or is about to be) running. */
export interface Live {
  shim?: Shim;
  /** resolves when the current run's exit has been fully handled (state saved). */
  exitHandled?: Promise<void>;
  /** attach clients that connected before start: joined to the shim before the process starts. */
  pendingAttach: Array<(shim: Shim) => void>;
}

export type WaitResult = { StatusCode: number; Error?: { Message: string } };
export type WaitCondition = 'next-exit' | 'removed' | 'not-running';
interface Waiter { condition: WaitCondition; resolve: (r: WaitResult) => void }

const abortError = () => Object.assign(new Error('the wait was abandoned'), { name: 'AbortError' });

export const nowIso = () => new Date().toISOString();
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export class EngineCore {
  readonly store: ContainerStore;
  readonly paths: ContainerPaths;
  readonly mounts: ContainerMounts;
  readonly live = new Map<string, Live>();
  /** containers whose runtime resources are released since they last ran */
  readonly released = new Set<string>();
  /** holders of a container's mounted root file system besides its own run (cp, export): id → count */
  readonly rootfsHolds = new Map<string, number>();
  private waiters = new Map<string, Waiter[]>();
  private readonly queue = new KeyedQueue();
  private drivers = new Map<string, RuntimeDriver>();

  constructor(readonly opts: EngineOptions) {
    this.paths = new ContainerPaths(opts.dataRoot, opts.execRoot);
    this.store = new ContainerStore(`${opts.dataRoot}/containers`);
    this.mounts = new ContainerMounts(opts.volumes, opts.events);
  }

  get images(): ImageStore { return this.opts.images; }
  get network(): NetworkManager { return this.opts.network; }

  driver(name: string): RuntimeDriver {
    let d = this.drivers.get(name);
    if (!d) {
      const info = name === this.opts.defaultRuntime.name ? this.opts.defaultRuntime : findRuntime(name, this.opts.addedRuntimes);
      if (!info) throw invalidParameter(`unknown or invalid runtime name: ${name}`);
      d = new RuntimeDriver(info, `${this.opts.execRoot}/runtime-${info.name}`);
      this.drivers.set(name, d);
    }
    return d;
  }

  /** The driver to create or start a container with: never a runtime version with a known container escape
   * (issue 16; CVE-2019-5736, CVE-2024-21626, CVE-2025-31133 …). Stop and delete still use any runtime, so a
   * container made before an upgrade policy changed can be removed. */
  safeDriver(name: string): RuntimeDriver {
    const d = this.driver(name);
    const unsafe = unsafeRuntime(d.info);
    if (unsafe) throw invalidParameter(unsafe);
    return d;
  }

  /** One operation at a time per container (start racing rm, …). */
  serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(id, fn);
  }

  liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) { l = { pendingAttach: [] }; this.live.set(id, l); }
    return l;
  }

  event(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    // Labels come first: an image or a user may set any label, and a label called "name" or "image" must not
    // rename the container in the events every client reads (issue 16: image labels cannot set berth's own fields).
    this.opts.events.emitEvent('container', action, rec.Id, { ...rec.Config.Labels, image: rec.ImageRef, name: rec.Name.slice(1), ...extra });
  }

  isRunning(rec: ContainerRecord): boolean { return rec.State.Status === 'running' || rec.State.Status === 'paused'; }

  /** The container's cgroup, as given to the runtime (the same path in every v1 hierarchy, or under the v2 root). */
  cgroupPath(rec: Pick<ContainerRecord, 'Id'>): string { return `/berth/${rec.Id}`; }

  /** The image's layers; by the recorded chain ids when the image itself was removed with `rmi -f`. */
  lowerDirs(rec: ContainerRecord): string[] {
    const image = this.images.tryGet(rec.Image);
    if (image) return this.images.layerDirs(image);
    const chains = rec.Layers ?? [];
    const dirs = this.images.layerDirsForChains(chains);
    if (!chains.length || dirs.length !== chains.length) throw notFound(`No such image: ${rec.Image}`);
    return dirs;
  }

  /** Sends a signal to the container's process (gone already: nothing to do). */
  signal(rec: ContainerRecord, sig: number): void {
    try {
      if (rec.State.Pid > 0) process.kill(rec.State.Pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw systemError(`cannot kill container ${rec.Id}: ${errorMessage(err)}`);
    }
  }

  /** Rootless without a delegated cgroup v2 subtree: limits cannot be enforced, so asking for one is refused (400). */
  refuseLimitsWithoutCgroups(r: object): void {
    const why = this.opts.rootless?.limitsUnavailable;
    if (why && Object.keys(r).length) throw invalidParameter(why);
  }

  // ------------------------------------------------------------ waiters (POST /containers/{id}/wait)

  /**
   * Resolves when the container meets `condition`. An aborted `signal` (the client went away) drops the waiter
   * and rejects with an AbortError: without it, every `docker run -d` (the CLI asks for a next-exit wait and
   * exits) left its request, response and socket held until the container exited.
   */
  wait(ref: string, condition = 'not-running', signal?: AbortSignal): Promise<WaitResult> {
    const rec = this.store.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalidParameter(`invalid condition: "${condition}"`);
    if (condition === 'not-running' && !this.isRunning(rec) && rec.State.Status !== 'removing') return Promise.resolve({ StatusCode: rec.State.ExitCode });
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(abortError()); return; }
      const onAbort = () => {
        const list = this.waiters.get(rec.Id)?.filter((w) => w !== waiter) ?? [];
        if (list.length) this.waiters.set(rec.Id, list); else this.waiters.delete(rec.Id);
        reject(abortError());
      };
      const waiter: Waiter = {
        condition: condition as WaitCondition,
        resolve: (r) => { signal?.removeEventListener('abort', onAbort); resolve(r); },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.waiters.get(rec.Id) ?? [];
      list.push(waiter);
      this.waiters.set(rec.Id, list);
    });
  }

  /** How many waiters a container has (tests: an abandoned wait leaves none). */
  waiterCount(id: string): number { return this.waiters.get(id)?.length ?? 0; }

  /** Wakes the waiters for `condition`; a removal wakes every waiter. */
  notify(rec: ContainerRecord, condition: WaitCondition, result: { StatusCode: number }): void {
    const list = this.waiters.get(rec.Id);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (w.condition === condition || (condition === 'removed' && w.condition !== 'removed')) w.resolve(result);
      else keep.push(w);
    }
    if (keep.length) this.waiters.set(rec.Id, keep); else this.waiters.delete(rec.Id);
  }
}
