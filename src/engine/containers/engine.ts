// The container engine: create, start, stop, kill, pause, restart, wait, remove, rename, resize, attach, commit,
// update, and restore at daemon start. State lives in ContainerStore; processes run under berth-shim
// (runtime/shim.ts) so they outlive the daemon. Each concern is its own module over the shared EngineCore
// (core.ts); this class composes them into the one object the API, exec and the daemon use.
import type { Duplex } from 'stream';
import type { Change } from '../../storage';
import type { ImageRecord } from '../../storage/images';
import type { RuntimeDriver } from '../../runtime/runtime';
import type { Shim } from '../../runtime/shim';
import { EngineCore, type EngineOptions, type WaitResult } from './core';
import type { ContainerStore } from './store';
import type { ContainerPaths } from './paths';
import type { ContainerMounts } from './mounts';
import type { ContainerRecord } from './types';
import type { CommitOptions } from './commit';
import { ContainerArchive, type RootfsHold } from './archive';
import { ContainerStatsReader } from './stats';
import { ExitHandling } from './exit';
import { createContainer } from './create-container';
import { start, restartByPolicy } from './start';
import { stop, kill, restart } from './stop';
import { pauseLocked, unpauseLocked } from './pause';
import { removeLocked, removeLink, type RemoveOptions } from './remove';
import { rename } from './rename';
import { connectNetwork, disconnectNetwork, type EndpointConfigBody } from './endpoints';
import { attach, resize } from './attach-container';
import { changes, commit, commitForBuild, holdRootfs } from './filesystem';
import { update } from './update';
import { recover } from './restore';

export type { EngineOptions, RootlessHooks } from './core';
export type { EndpointConfigBody } from './endpoints';

export class ContainerEngine {
  readonly store: ContainerStore;
  readonly paths: ContainerPaths;
  readonly mounts: ContainerMounts;
  /** cp and export (archive.ts) */
  readonly archive: ContainerArchive;
  private readonly core: EngineCore;
  private readonly exits: ExitHandling;
  private statsReader?: ContainerStatsReader;

  constructor(opts: EngineOptions) {
    const core = new EngineCore(opts);
    this.core = core;
    this.store = core.store;
    this.paths = core.paths;
    this.mounts = core.mounts;
    this.exits = new ExitHandling(core, (rec) => restartByPolicy(core, this.exits, rec));
    this.archive = new ContainerArchive(this);
    // cp reads and writes volumes and binds at their sources, as docker does (tmpfs mounts live only in the
    // container's mount namespace: not reachable from here)
    this.archive.addMountResolver((rec) => (rec.MountPoints ?? [])
      .filter((m) => m.Type !== 'tmpfs' && m.Source)
      .map((m) => ({ destination: m.Destination, source: m.Source, readOnly: !m.RW })));
  }

  get images() { return this.core.images; }
  driver(name: string): RuntimeDriver { return this.core.driver(name); }
  event(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void { this.core.event(rec, action, extra); }
  /** The container's cgroup, as given to the runtime (the same path in every v1 hierarchy, or under the v2 root). */
  cgroupPath(rec: ContainerRecord): string { return this.core.cgroupPath(rec); }

  // lifecycle
  create(rawBody: unknown, requestedName?: string, opts: { transient?: boolean } = {}): Promise<{ Id: string; Warnings: string[] }> {
    return createContainer(this.core, rawBody, requestedName, opts);
  }
  start(ref: string): Promise<void> { return start(this.core, this.exits, ref); }
  stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> { return stop(this.core, ref, opts); }
  kill(ref: string, signal?: string): Promise<void> { return kill(this.core, ref, signal); }
  restart(ref: string, timeout?: number): Promise<void> { return restart(this.core, (id) => this.start(id), ref, timeout); }
  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.core.serialize(rec.Id, () => pauseLocked(this.core, rec));
  }
  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.core.serialize(rec.Id, () => unpauseLocked(this.core, rec));
  }
  wait(ref: string, condition = 'not-running', signal?: AbortSignal): Promise<WaitResult> { return this.core.wait(ref, condition, signal); }
  async remove(ref: string, opts: RemoveOptions = {}): Promise<void> {
    const rec = this.store.get(ref);
    await this.core.serialize(rec.Id, () => removeLocked(this.core, rec, opts));
  }
  /** `rm --link`: drops the link named alias from the container (its next start no longer links). */
  removeLink(ref: string, alias: string): Promise<void> { return removeLink(this.core, ref, alias); }
  rename(ref: string, newName: string): Promise<void> { return rename(this.core, ref, newName); }
  /** Finds every container where it was after a daemon restart (restore.ts). */
  recover(): Promise<void> { return recover(this.core, this.exits); }

  // networks
  connectNetwork(networkRef: string, containerRef: string, cfg: EndpointConfigBody | null | undefined): Promise<{ id: string; name: string; container: string }> {
    return connectNetwork(this.core, networkRef, containerRef, cfg);
  }
  disconnectNetwork(networkRef: string, containerRef: string, force = false): Promise<{ id: string; name: string; container: string }> {
    return disconnectNetwork(this.core, networkRef, containerRef, force);
  }

  // stdio
  attach(ref: string, client: Duplex, q: { stdin: boolean; stdout: boolean; stderr: boolean; detachKeys?: string }): Promise<void> {
    return attach(this.core, ref, client, q);
  }
  resize(ref: string, rows: number, cols: number): Promise<void> { return resize(this.core, ref, rows, cols); }
  runningShim(rec: ContainerRecord): Shim | undefined { return this.core.live.get(rec.Id)?.shim; }

  // file system
  changes(ref: string): Promise<Change[]> { return changes(this.core, ref); }
  commit(ref: string, opts: CommitOptions): Promise<ImageRecord> { return commit(this.core, ref, opts); }
  commitForBuild(ref: string, config: Record<string, unknown>, createdBy: string): Promise<ImageRecord> {
    return commitForBuild(this.core, ref, config, createdBy);
  }
  holdRootfs(ref: string): Promise<RootfsHold> { return holdRootfs(this.core, ref); }

  // resources
  update(ref: string, body: unknown): Promise<{ Warnings: string[] | null }> { return update(this.core, ref, body); }
  /** Samples of running containers' cgroups for GET /containers/{id}/stats. */
  get stats(): ContainerStatsReader {
    return this.statsReader ??= new ContainerStatsReader({ exists: (id) => !!this.store.tryGet(id), cgroupPath: (rec) => this.cgroupPath(rec) });
  }

  /** Detaches from shims without stopping containers (daemon shutdown). */
  detachAll(): void {
    for (const l of this.core.live.values()) l.shim?.close();
  }
}
