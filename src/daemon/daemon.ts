// The daemon object: opens the stores and managers, recovers containers, serves the API.
import { promises as fs, existsSync, readFileSync } from 'fs';
import * as http from 'http';
import { randomUUID } from 'crypto';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { EventBus } from '../engine/events';
import { ContainerEngine } from '../engine/containers/engine';
import { ExecEngine } from '../engine/exec/exec';
import { ImageStore } from '../storage/images';
import { VolumeStore } from '../engine/volumes/store';
import { NetworkManager } from '../network';
import { HealthMonitor } from '../engine/containers/health';
import { chooseRuntime, findRuntime, RuntimeInfo, unsafeRuntime } from '../runtime/runtime';
import { Router } from '../api/router';
import type { ApiServices } from '../api/services';
import { createApiServer, listenUnix, SERVER_VERSION } from '../api/server';
import { containerRoutes } from '../api/routes/containers';
import { systemRoutes } from '../api/routes/system';
import { imageRoutes } from '../api/routes/images';
import { distributionRoutes } from '../api/routes/distribution';
import { networkRoutes } from '../api/routes/networks';
import { diskUsageRoutes } from '../api/routes/disk-usage';
import { volumeRoutes } from '../api/routes/volumes';
import { buildRoutes } from '../api/routes/build';
import { swarmRoutes } from '../api/routes/swarm';
import { pluginRoutes } from '../api/routes/plugins';
import { acquireLock, releaseLock } from './lock';
import { execRootOnTmpfs } from './exec-root';
import { writeFileAtomic } from '../common/atomic';
import { CriServer } from '../cri';
import { containerUsing } from '../api/routes/images';
import type { RootlessChildContext } from '../rootless/child-context';
import { enterRootless, RootlessRuntime } from '../rootless/child';
import { overlayDriver } from '../runtime/rootfs';
import { IdleTrigger } from './idle';
import { compactMemory } from './compact';

/** How long the API must be quiet before the daemon gives memory back (compact.ts); BERTH_IDLE_COMPACT_MS
 * overrides it, 0 turns it off. Long enough that a script's next command seldom lands on a half-compacted
 * daemon, short enough that an idle daemon is small soon after use. */
const IDLE_COMPACT_MS = 5_000;

export interface DaemonOptions {
  dataRoot: string; execRoot: string; hosts: string[]; runtime?: string; bridgeName?: string; subnet?: string;
  /** Registries reached over plain HTTP (host[:port] or CIDR), besides loopback which always is. */
  insecureRegistries?: string[];
  /** `--add-runtime name=path`: more OCI runtimes containers may name in HostConfig.Runtime (dockerd's flag) */
  addedRuntimes?: Record<string, string>;
  /** unix://… of the Kubernetes CRI server; '' or undefined: no CRI */
  criSocket?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
  criRegistryMirrors?: Record<string, string>;
  /** the cgroup for CRI pods without a cgroup_parent (default /berth-cri) */
  criCgroupRoot?: string;
  criStreamAddress?: string;
  /** rootless seam: set when this daemon runs inside rootless berth's namespaces (src/rootless) */
  rootlessChild?: RootlessChildContext;
}

export class Daemon implements ApiServices {
  id = '';
  events = new EventBus();
  images!: ImageStore;
  network!: NetworkManager;
  health?: HealthMonitor;
  volumes!: VolumeStore;
  containers!: ContainerEngine;
  execs!: ExecEngine;
  runtime!: RuntimeInfo;
  runtimes: RuntimeInfo[] = [];
  warnings: string[] = [];
  cgroupVersion = '1';
  osName = 'Linux';
  osVersion = '';
  cri?: CriServer;
  /** settles once the CRI server listens (or failed to start: logged, the Engine API goes on) */
  criReady: Promise<void> = Promise.resolve();
  /** rootless berth's hooks and facts (undefined for the root daemon) */
  rootless?: RootlessRuntime;
  private servers: http.Server[] = [];
  private idle?: IdleTrigger;
  private sockets: string[] = [];

  constructor(readonly options: DaemonOptions) {}

  async start(): Promise<void> {
    const { dataRoot, execRoot } = this.options;
    // CVE-2021-41091: with a root that other users may traverse (755, 711), any host user can walk into
    // container root filesystems and run their setuid files. Like dockerd's /var/lib/docker, both roots are 710
    // root:root — also roots made by an older berth or by hand, so the mode is set on every start, not only at mkdir.
    // A rootless daemon (an ordinary user's) keeps its roots to itself: 700, owned by that user.
    const rootful = !this.options.rootlessChild && process.getuid?.() === 0;
    for (const dir of [dataRoot, execRoot]) {
      await fs.mkdir(dir, { recursive: true, mode: rootful ? 0o710 : 0o700 });
      if (rootful) await fs.chown(dir, 0, 0);
      await fs.chmod(dir, rootful ? 0o710 : 0o700);
    }
    // rootless: the parent outside the namespaces holds the lock (and keeps the host's cgroups as they are)
    if (this.options.rootlessChild) this.rootless = await enterRootless(this.options.rootlessChild);
    else await acquireLock(`${dataRoot}/berth.pid`);
    // (after the lock: only this daemon decides about its exec root; before anything is made in it)
    if (rootful) await execRootOnTmpfs(execRoot);
    this.id = await this.engineId();
    this.readOsRelease();
    this.cgroupVersion = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
    if (this.rootless) this.warnings.push(...this.rootless.warnings);

    const added = this.options.addedRuntimes ?? {};
    this.runtime = await chooseRuntime(this.options.runtime, { fixCgroups: !this.rootless, added });
    this.runtimes = ['crun', 'runc', ...Object.keys(added)].map((n) => findRuntime(n, added)).filter((r): r is RuntimeInfo => !!r);
    // runtimes with known escapes are not offered (info lists only usable ones; the reason is a warning there)
    for (const r of this.runtimes) { const p = unsafeRuntime(r); if (p) this.warnings.push(`WARNING: ${p}`); }
    this.runtimes = this.runtimes.filter((r) => !unsafeRuntime(r));
    log.info('OCI runtime selected', { runtime: this.runtime.name, path: this.runtime.path });

    [this.images, this.network, this.volumes] = await Promise.all([
      ImageStore.open(`${dataRoot}/image`, { onEvent: (e) => this.events.emitEvent('image', e.action, e.id, e.name ? { name: e.name } : {}) }),
      NetworkManager.open({ dataRoot, execRoot, bridgeName: this.options.bridgeName, subnet: this.options.subnet, hostPorts: this.rootless?.hostPorts }),
      VolumeStore.open(`${dataRoot}/volumes`, this.events),
    ]);
    this.containers = new ContainerEngine({
      dataRoot, execRoot, images: this.images, network: this.network, events: this.events, volumes: this.volumes, defaultRuntime: this.runtime,
      addedRuntimes: added,
      rootless: this.rootless,
    });
    this.execs = new ExecEngine(this.containers, this.events);
    this.events.on('event', (ev: { Type: string; Action: string; Actor: { ID: string } }) => {
      if (ev.Type === 'container' && (ev.Action === 'die' || ev.Action === 'destroy')) this.execs.forgetContainer(ev.Actor.ID);
    });
    this.health = new HealthMonitor({
      execs: this.execs, events: this.events, get: (id) => this.containers.store.tryGet(id), save: (rec) => this.containers.store.save(rec),
    });
    await this.containers.recover();
    // layers of an image commit that a crash cut short (containers keep the layers of images removed under them)
    const containerLayers = new Set(this.containers.store.all().flatMap((c) => c.Layers ?? []));
    await this.images.removeUnusedLayers(containerLayers).catch((e) => log.warn('removing unused layers failed', { error: errorMessage(e) }));
    // containers that kept running across a daemon restart keep being probed (their health state is kept)
    for (const rec of this.containers.store.all()) if (rec.State.Status === 'running') this.health.watch(rec.Id, false);

    const router = new Router();
    systemRoutes(router, this);
    containerRoutes(router, this);
    imageRoutes(router, this);
    distributionRoutes(router, this);
    networkRoutes(router, this);
    volumeRoutes(router, this);
    diskUsageRoutes(router, this);
    buildRoutes(router, this);
    swarmRoutes(router);
    pluginRoutes(router);
    const quietMs = Number(process.env.BERTH_IDLE_COMPACT_MS ?? IDLE_COMPACT_MS);
    if (quietMs > 0) this.idle = new IdleTrigger(quietMs, () => compactMemory());
    for (const host of this.options.hosts) {
      if (!host.startsWith('unix://')) throw new Error(`unsupported host ${host}: berth listens on unix sockets only (no plain TCP)`);
      const path = host.slice('unix://'.length);
      const server = createApiServer(router);
      this.watchActivity(server);
      await listenUnix(server, path);
      this.servers.push(server);
      this.sockets.push(path);
      log.info('API listening', { socket: path });
    }
    if (this.options.criSocket) this.criReady = this.startCri(this.options.criSocket.slice('unix://'.length));
  }

  /** A request's start and end (a hijacked one's socket closing) are activity: compaction waits for quiet. */
  private watchActivity(server: http.Server): void {
    const idle = this.idle;
    if (!idle) return;
    const mark = () => idle.activity();
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => { mark(); res.once('close', mark); });
    server.on('upgrade', (_req: http.IncomingMessage, socket: NodeJS.EventEmitter) => { mark(); socket.once('close', mark); });
  }

  /** The Kubernetes CRI server, started beside the Engine API (its proto loads in ~0.2 s: the API does not wait). */
  private async startCri(socket: string): Promise<void> {
    const { dataRoot, execRoot } = this.options;
    const cri = new CriServer({
      socket, dataRoot, execRoot, images: this.images, runtime: this.runtime,
      cniConfDir: this.options.cniConfDir, cniBinDirs: this.options.cniBinDirs, registryMirrors: this.options.criRegistryMirrors,
      insecureRegistries: this.options.insecureRegistries, streamAddress: this.options.criStreamAddress, cgroupRoot: this.options.criCgroupRoot,
      engineImageUsers: containerUsing(this), version: SERVER_VERSION,
    });
    this.cri = cri;
    this.containers.store.setForeign(cri.foreign());
    try {
      await cri.start();
    } catch (err) {
      log.error(`CRI server failed to start: ${errorMessage(err)}`, { socket });
    }
  }

  private async engineId(): Promise<string> {
    const file = `${this.options.dataRoot}/engine-id`;
    try { return (await fs.readFile(file, 'utf8')).trim(); } catch { /* first start */ }
    const id = randomUUID();
    await writeFileAtomic(file, id + '\n', 0o600);
    return id;
  }

  /** The storage driver `info` names: overlay2, or fuse-overlayfs where rootless berth fell back to it. */
  get storageDriver(): string { return overlayDriver(); }

  private readOsRelease(): void {
    try {
      const text = readFileSync('/etc/os-release', 'utf8');
      this.osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
      this.osVersion = /^VERSION_ID="?([^"\n]*)"?/m.exec(text)?.[1] ?? '';
    } catch { /* keep defaults */ }
  }

  /** Stops serving; running containers keep running under their shims (live restore). */
  async shutdown(): Promise<void> {
    this.idle?.close();
    await this.criReady;
    await this.cri?.stop().catch((e) => log.warn('stopping the CRI server failed', { error: errorMessage(e) }));
    for (const s of this.servers) {
      s.close();
      s.closeAllConnections?.();
    }
    this.containers?.detachAll();
    this.health?.close();
    await this.network?.close().catch(() => undefined);
    await Promise.all(this.sockets.map((p) => fs.rm(p, { force: true }).catch(() => undefined)));
    if (!this.options.rootlessChild) await releaseLock(`${this.options.dataRoot}/berth.pid`).catch((e) => log.warn('releasing lock failed', { error: errorMessage(e) }));
  }
}
