// CRI containers: create (the record, its root file system's directories), start (overlay, OCI spec, berth-shim
// writing the CRI log), stop with a timeout, remove, status and list, resource updates, log reopening. Each
// running container is watched by its shim, so it outlives the daemon like every berth container.
import { promises as fs } from 'fs';
import * as path from 'path';
import { newId } from '../common/ids';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { writeFileAtomic } from '../common/atomic';
import { Shim, mountOverlay, unmountOverlay, readExitStatus, ContainerCgroup, oomKillCount, applyResources, type ExitStatus } from '../runtime';
import type { ImageRecord, ImageRunConfig } from '../storage';
import type { CriContext } from './context';
import type { ContainerRecord, PodRecord } from './store';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, internal, CriError } from './errors';
import { commandLine, containerSpec, ociResources } from './spec';
import { nowNs } from './events';
import { labelsMatch, podStatus } from './pods';
import { ContainerEventType, ContainerState, type ContainerConfig, type LinuxContainerResources, type PodSandboxConfig } from './types';
import { KeyedQueue } from '../common/keyed-queue';

const STATE: Record<ContainerRecord['state'], ContainerState> = { created: ContainerState.CREATED, running: ContainerState.RUNNING, exited: ContainerState.EXITED };

interface Prepared { shim: Shim; process: Record<string, unknown>; cgroupsPath: string }

/** rm -rf that tolerates a shim still finishing its last writes in the directory (ENOTEMPTY: try again). */
async function removeDir(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await fs.rm(dir, { recursive: true, force: true });
      return;
    } catch (err) {
      if (i >= 5 || (err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
      await new Promise((r) => setTimeout(r, 20 * (i + 1)));
    }
  }
}

const isoToNs = (iso: string) => (BigInt(Date.parse(iso)) * 1_000_000n).toString();

export class ContainerManager {
  /** one operation at a time per container */
  private readonly queue = new KeyedQueue();
  /** resolves when a container's current run has been recorded as exited */
  private exits = new Map<string, Promise<void>>();
  /** runtime containers made ahead of StartContainer */
  private prepared = new Map<string, Promise<Prepared>>();

  constructor(private readonly ctx: CriContext) {}

  private serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(id, fn);
  }

  private event(c: ContainerRecord, type: ContainerEventType): void {
    const pod = this.ctx.store.pods.get(c.podId);
    this.ctx.events.emitEvent({
      container_id: c.id, container_event_type: type, created_at: nowNs(),
      pod_sandbox_status: pod ? podStatus(pod) : null, containers_statuses: [this.statusOf(c)],
    });
  }

  // ------------------------------------------------------------------------------------------- create

  async create(podId: string, cfg: ContainerConfig | null, _sandboxConfig: PodSandboxConfig | null): Promise<string> {
    if (!cfg) throw invalidArgument('container config is required');
    if (!cfg.metadata?.name) throw invalidArgument('container config must include metadata with a name');
    if (!cfg.image?.image) throw invalidArgument('container config must include an image');
    const pod = this.ctx.store.pod(podId);
    if (pod.state !== 'ready') throw failedPrecondition(`failed to create containerd container: sandbox "${pod.id}" is not running`);
    const sc = cfg.linux?.security_context;
    if (sc?.run_as_group && !sc.run_as_user && !sc.run_as_username) {
      throw invalidArgument('failed to generate spec: user group is specified without user');
    }
    if (sc?.privileged && !pod.config.linux?.security_context?.privileged) throw invalidArgument('no privileged container allowed in sandbox');
    const key = `${cfg.metadata.name}_${cfg.metadata.attempt}`;
    const clash = this.ctx.store.containersOf(pod.id).find((c) => `${c.config.metadata!.name}_${c.config.metadata!.attempt}` === key);
    if (clash) throw alreadyExists(`failed to reserve container name "${key}" in sandbox "${pod.id}": name is reserved for "${clash.id}"`);
    const image = this.ctx.images.tryGet(cfg.image.image);
    if (!image) throw notFound(`failed to get image "${cfg.image.image}": image not found`);
    if (!commandLine(cfg, image.config.config ?? {}).length) throw invalidArgument('failed to generate spec: no command specified');
    const id = newId();
    const logDir = pod.config.log_directory;
    const logPath = logDir && cfg.log_path ? path.join(logDir, cfg.log_path) : '';
    if (logPath && !path.resolve(logPath).startsWith(path.resolve(logDir) + path.sep)) throw invalidArgument(`log path ${JSON.stringify(cfg.log_path)} leaves the log directory`);
    const rec: ContainerRecord = {
      id, podId: pod.id, config: cfg, imageId: image.id, imageName: cfg.image.image, createdAt: nowNs(), startedAt: '0', finishedAt: '0',
      state: 'created', pid: 0, exitCode: 0, reason: '', message: '', logPath, layers: [...image.chainIds],
    };
    await fs.mkdir(this.ctx.layout.rootfsDir(id), { recursive: true, mode: 0o711 });
    try {
      await this.ctx.store.saveContainer(rec);
    } catch (err) {
      await fs.rm(this.ctx.layout.rootfsDir(id), { recursive: true, force: true });
      throw internal(`failed to create container: ${errorMessage(err)}`);
    }
    this.event(rec, ContainerEventType.CREATED);
    this.prepareAhead(rec);
    return id;
  }

  private lowerDirs(c: ContainerRecord): string[] {
    const image = this.ctx.images.tryGet(c.imageId);
    if (image) return this.ctx.images.layerDirs(image);
    const dirs = this.ctx.images.layerDirsForChains(c.layers);
    if (dirs.length !== c.layers.length) throw notFound(`failed to get image "${c.imageName}": image not found`);
    return dirs;
  }

  private imageConfig(c: ContainerRecord): ImageRunConfig {
    const image: ImageRecord | undefined = this.ctx.images.tryGet(c.imageId);
    return image?.config.config ?? {};
  }

  // ------------------------------------------------------------------------------------------- start

  /**
   * The runtime's half of a start, done ahead: the overlay, the OCI spec and `crun create` under the container's
   * shim (the process waits to be started). CreateContainer begins it in the background, so the work runs while
   * the kubelet (or crictl) gets to StartContainer, which then only has `crun start` left. Undone on failure;
   * discarded if the container is removed (or its pod stopped) before it starts.
   */
  private prepareLocked(c: ContainerRecord): Promise<Prepared> {
    const pod = this.ctx.store.pods.get(c.podId);
    if (!pod || pod.state !== 'ready' || pod.pausePid <= 0) return Promise.reject(failedPrecondition(`sandbox "${c.podId}" of container "${c.id}" is not running`));
    const { layout, driver } = this.ctx;
    const rootfs = layout.rootfs(c.id);
    const cgroupsPath = `${pod.cgroupParent}/${c.id}`;
    const t0 = process.hrtime.bigint();
    const mark = (step: string) => log.debug('prepare step', { id: c.id.slice(0, 12), step, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    const undo: Array<() => Promise<unknown>> = [];
    return (async () => {
      try {
        await mountOverlay(this.lowerDirs(c), rootfs);
        undo.push(() => unmountOverlay(rootfs));
        mark('rootfs');
        const { spec, process: proc } = await containerSpec(layout, pod, c, this.imageConfig(c), rootfs.merged);
        const bundle = layout.bundle(c.id);
        await fs.mkdir(bundle, { recursive: true, mode: 0o700 });
        await writeFileAtomic(path.join(bundle, 'config.json'), JSON.stringify(spec), 0o600, false);
        undo.push(() => fs.rm(bundle, { recursive: true, force: true }));
        mark('spec');
        if (c.logPath) await fs.mkdir(path.dirname(c.logPath), { recursive: true, mode: 0o755 });
        const stateDir = layout.shimState(c.id);
        await fs.rm(stateDir, { recursive: true, force: true });
        undo.push(() => driver.delete(c.id, cgroupsPath));
        undo.push(() => fs.rm(stateDir, { recursive: true, force: true }));
        const shim = await Shim.spawn({
          runtimePath: driver.execPath, runtimeRoot: driver.root, id: c.id, bundle, stateDir,
          tty: c.config.tty, stdin: c.config.stdin, stdinOnce: c.config.stdin_once && !c.config.tty,
          logPath: c.logPath || undefined, logFormat: 'cri',
        }).catch((err) => { throw internal(`failed to create containerd task "${c.id}": ${errorMessage(err)}`); });
        mark('created');
        return { shim, process: proc, cgroupsPath };
      } catch (err) {
        for (const step of undo.reverse()) await step().catch((e) => log.warn('undoing a container create step failed', { id: c.id, error: errorMessage(e) }));
        throw err;
      }
    })();
  }

  /** Starts preparing a new container in the background (see prepareLocked). */
  private prepareAhead(c: ContainerRecord): void {
    const p = this.serialize(c.id, () => this.prepareLocked(c));
    p.catch(() => undefined); // reported by StartContainer
    this.prepared.set(c.id, p);
  }

  /** A prepared runtime container that will not start: its process killed, its state and mounts removed. */
  private async discardPrepared(c: ContainerRecord): Promise<void> {
    const p = this.prepared.get(c.id);
    if (!p) return;
    this.prepared.delete(c.id);
    const prep = await p.catch(() => undefined);
    if (prep) await this.teardownPrepared(c, prep);
  }

  /** Kills the created process (its shim then writes its exit and goes away), then removes what it left. */
  private async teardownPrepared(c: ContainerRecord, prep: Prepared): Promise<void> {
    await this.ctx.driver.delete(c.id, prep.cgroupsPath).catch((e) => log.warn('runtime delete failed', { id: c.id, error: errorMessage(e) }));
    await Promise.race([prep.shim.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    prep.shim.close();
    await this.release(c, prep.cgroupsPath);
  }

  start(ref: string): Promise<void> {
    const c = this.ctx.store.container(ref);
    return this.serialize(c.id, () => this.startLocked(c));
  }

  private async startLocked(c: ContainerRecord): Promise<void> {
    if (c.state !== 'created') throw failedPrecondition(`container "${c.id}" is in ${c.state === 'running' ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED'} state`);
    const pod = this.ctx.store.pods.get(c.podId);
    if (!pod || pod.state !== 'ready' || pod.pausePid <= 0) throw failedPrecondition(`sandbox "${c.podId}" of container "${c.id}" is not running`);
    const ahead = this.prepared.get(c.id);
    this.prepared.delete(c.id);
    let prep: Prepared | undefined;
    try {
      prep = ahead ? await ahead : await this.prepareLocked(c);
      const pid = await prep.shim.start().catch((err) => { throw internal(`failed to start containerd task "${c.id}": ${errorMessage(err)}`); });
      c.pid = pid;
      c.state = 'running';
      c.startedAt = nowNs();
      c.process = prep.process;
      this.ctx.shims.set(c.id, prep.shim);
      await this.ctx.store.saveContainer(c);
      this.watch(c, prep.shim);
      this.event(c, ContainerEventType.STARTED);
    } catch (err) {
      if (prep) await this.teardownPrepared(c, prep);
      // like containerd: a container that failed to start is exited, with the reason
      c.state = 'exited';
      c.exitCode = 128;
      c.reason = 'StartError';
      c.message = errorMessage(err);
      c.finishedAt = nowNs();
      await this.ctx.store.saveContainer(c).catch(() => undefined);
      throw err instanceof CriError ? err : internal(`failed to start container "${c.id}": ${errorMessage(err)}`);
    }
  }

  /** Records the exit when the shim reports it, and releases the runtime state and the root file system. */
  watch(c: ContainerRecord, shim: Shim): void {
    const done = shim.exited.then((status) => this.serialize(c.id, () => this.handleExit(c, status)))
      .catch((err) => log.error('handling a CRI container exit failed', { id: c.id, error: errorMessage(err) }));
    this.exits.set(c.id, done);
  }

  private async handleExit(c: ContainerRecord, status: ExitStatus): Promise<void> {
    if (this.ctx.shims.get(c.id)) this.ctx.shims.delete(c.id);
    if (c.state !== 'running') return;
    const pod = this.ctx.store.pods.get(c.podId);
    const cgroupsPath = `${pod?.cgroupParent ?? this.ctx.cgroupRoot}/${c.id}`;
    const oom = status.oomKilled || (await oomKillCount(new ContainerCgroup(cgroupsPath)).catch(() => 0)) > 0;
    await this.release(c, cgroupsPath);
    c.state = 'exited';
    c.pid = 0;
    c.exitCode = status.exitCode;
    c.finishedAt = status.finishedAt ? isoToNs(status.finishedAt) : nowNs();
    c.reason = oom ? 'OOMKilled' : status.exitCode === 0 ? 'Completed' : 'Error';
    if (this.ctx.store.containers.has(c.id)) await this.ctx.store.saveContainer(c);
    this.event(c, ContainerEventType.STOPPED);
  }

  private async release(c: ContainerRecord, cgroupsPath: string): Promise<void> {
    await Promise.all([
      this.ctx.driver.delete(c.id, cgroupsPath).catch((e) => log.warn('runtime delete failed', { id: c.id, error: errorMessage(e) })),
      unmountOverlay(this.ctx.layout.rootfs(c.id)).catch((e) => log.warn('unmount failed', { id: c.id, error: errorMessage(e) })),
      removeDir(this.ctx.layout.bundle(c.id)),
      removeDir(this.ctx.layout.shimState(c.id)),
    ]);
  }

  // ------------------------------------------------------------------------------------------- stop / remove

  /** Stop signal (the image's StopSignal, else SIGTERM), then SIGKILL after `timeout` seconds (at once for 0). */
  stop(ref: string, timeout: number): Promise<void> {
    const c = this.ctx.store.container(ref);
    return this.stopRecord(c, timeout);
  }

  private async stopRecord(c: ContainerRecord, timeout: number): Promise<void> {
    if (c.state !== 'running') return;
    const exited = this.exits.get(c.id) ?? Promise.resolve();
    if (timeout > 0) {
      const sig = this.imageConfig(c).StopSignal || 'SIGTERM';
      this.signal(c, sig);
      const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeout * 1000).unref())]);
      if (!timedOut) return;
    }
    // every process of the container: with the pod's PID namespace shared, the init's children are not killed
    // with it, and they would hold its output open (containerd's shim kills them all as well)
    await this.killAll(c);
    await exited;
  }

  private async killAll(c: ContainerRecord): Promise<void> {
    this.signal(c, 'SIGKILL');
    const pod = this.ctx.store.pods.get(c.podId);
    if (!pod) return;
    const cg = new ContainerCgroup(`${pod.cgroupParent}/${c.id}`);
    const dir = cg.dir('pids') ?? cg.dir('memory') ?? cg.dir('cpu');
    const text = dir ? await fs.readFile(`${dir.dir}/cgroup.procs`, 'utf8').catch(() => '') : '';
    for (const pid of text.split('\n').map(Number).filter((p) => p > 0)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  private signal(c: ContainerRecord, sig: string): void {
    if (c.pid <= 0) return;
    const name = /^\d+$/.test(sig) ? Number(sig) : (sig.startsWith('SIG') ? sig : `SIG${sig}`) as NodeJS.Signals;
    try { process.kill(c.pid, name); } catch { /* gone already */ }
  }

  /** Idempotent: an unknown container is not an error (the kubelet retries removals). A running one is killed. */
  async remove(ref: string): Promise<void> {
    const c = this.ctx.store.findContainer(ref);
    if (!c) return;
    await this.removeRecord(c);
  }

  private async removeRecord(c: ContainerRecord): Promise<void> {
    await this.stopRecord(c, 0);
    await this.serialize(c.id, async () => {
      if (!this.ctx.store.containers.has(c.id)) return;
      await this.discardPrepared(c);
      await unmountOverlay(this.ctx.layout.rootfs(c.id)).catch(() => undefined);
      await fs.rm(this.ctx.layout.rootfsDir(c.id), { recursive: true, force: true });
      await this.ctx.store.removeContainer(c.id);
      this.exits.delete(c.id);
      this.event(c, ContainerEventType.DELETED);
    });
  }

  async stopForPod(c: ContainerRecord): Promise<void> {
    await this.stopRecord(c, 0);
    await this.serialize(c.id, () => this.discardPrepared(c));
  }
  removeForPod(c: ContainerRecord): Promise<void> { return this.removeRecord(c); }

  // ------------------------------------------------------------------------------------------- status / list

  statusOf(c: ContainerRecord): Record<string, unknown> {
    const res = c.resources ?? c.config.linux?.resources ?? null;
    return {
      id: c.id, metadata: c.config.metadata, state: STATE[c.state], created_at: c.createdAt, started_at: c.startedAt, finished_at: c.finishedAt,
      exit_code: c.exitCode, image: { image: c.imageName, annotations: c.config.image?.annotations ?? {}, user_specified_image: c.config.image?.user_specified_image ?? '' },
      image_ref: c.imageId, reason: c.reason, message: c.message,
      labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {},
      mounts: (c.config.mounts ?? []).map((m) => ({ container_path: m.container_path, host_path: m.host_path, readonly: m.readonly, selinux_relabel: false, propagation: m.propagation })),
      log_path: c.logPath,
      resources: res ? { linux: res } : null,
    };
  }

  status(ref: string, verbose: boolean): Record<string, unknown> {
    const c = this.ctx.store.container(ref);
    const info: Record<string, string> = {};
    if (verbose) {
      info.info = JSON.stringify({ sandboxID: c.podId, pid: c.pid, runtimeSpec: c.process ? { process: c.process } : null, config: c.config, logPath: c.logPath });
    }
    return { status: this.statusOf(c), info };
  }

  list(filter: { id?: string; state?: { state: ContainerState } | null; pod_sandbox_id?: string; label_selector?: Record<string, string> } | null): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const c of this.ctx.store.containers.values()) {
      if (filter?.id && !c.id.startsWith(filter.id)) continue;
      if (filter?.pod_sandbox_id && !c.podId.startsWith(filter.pod_sandbox_id)) continue;
      if (filter?.state && filter.state.state !== STATE[c.state]) continue;
      if (!labelsMatch(c.config.labels ?? {}, filter?.label_selector)) continue;
      out.push({
        id: c.id, pod_sandbox_id: c.podId, metadata: c.config.metadata,
        image: { image: c.imageName, annotations: {}, user_specified_image: c.config.image?.user_specified_image ?? '' },
        image_ref: c.imageId, state: STATE[c.state], created_at: c.createdAt,
        labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {},
      });
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------- update / logs

  async updateResources(ref: string, r: LinuxContainerResources | null): Promise<void> {
    const c = this.ctx.store.container(ref);
    if (!r) return;
    await this.serialize(c.id, async () => {
      if (c.state === 'running') {
        const pod = this.ctx.store.pods.get(c.podId)!;
        const oci = ociResources(r);
        if (oci) await applyResources(new ContainerCgroup(`${pod.cgroupParent}/${c.id}`), oci).catch((e) => { throw internal(`failed to update resources: ${errorMessage(e)}`); });
      } else if (c.state === 'exited') {
        throw failedPrecondition(`failed to update resources: container "${c.id}" is in CONTAINER_EXITED state`);
      }
      c.resources = r;
      await this.ctx.store.saveContainer(c);
    });
  }

  /** After the kubelet renamed the log away: the shim continues in a new file at the same path. */
  async reopenLog(ref: string): Promise<void> {
    const c = this.ctx.store.container(ref);
    if (c.state !== 'running') throw failedPrecondition(`container "${c.id}" is not running`);
    const shim = this.ctx.shims.get(c.id);
    if (!shim) throw failedPrecondition(`container "${c.id}" is not running`);
    if (!c.logPath) return;
    await shim.reopenLog().catch((e) => { throw internal(`failed to reopen log: ${errorMessage(e)}`); });
  }

  // ------------------------------------------------------------------------------------------- recovery

  /** After a daemon restart: reconnect to running shims; containers that exited meanwhile are recorded so. */
  async recover(c: ContainerRecord): Promise<void> {
    if (c.state === 'created') {
      // made ahead before the daemon went down: made again at start (the shim still waits: kill it)
      const shim = await Shim.connect(this.ctx.layout.shimState(c.id));
      shim?.close();
      const pod = this.ctx.store.pods.get(c.podId);
      await this.release(c, `${pod?.cgroupParent ?? this.ctx.cgroupRoot}/${c.id}`);
      return;
    }
    if (c.state !== 'running') return;
    const shim = await Shim.connect(this.ctx.layout.shimState(c.id));
    if (shim) {
      this.ctx.shims.set(c.id, shim);
      this.watch(c, shim);
      return;
    }
    await this.serialize(c.id, async () => this.handleExit(c, await readExitStatus(this.ctx.layout.shimState(c.id))));
  }

  runningShim(c: ContainerRecord): Shim | undefined { return this.ctx.shims.get(c.id); }
  podOf(c: ContainerRecord): PodRecord | undefined { return this.ctx.store.pods.get(c.podId); }
}

export { isoToNs };
