// The container lifecycle: create, start, stop, kill, pause, restart, wait, remove, rename, resize, attach.
// State lives in ContainerStore; processes run under berth-shim (runtime/shim.ts) so they outlive the daemon.
import { promises as fs, statSync, existsSync, readFileSync } from 'fs';
import type { Duplex } from 'stream';
import { conflict, EngineError, forbidden, invalidParameter, notFound, notModified, systemError, errorMessage } from '../../common/errors';
import { newId } from '../../common/ids';
import { log } from '../../common/log';
import { writeFileAtomic } from '../../common/atomic';
import type { ImageStore, ImageRecord } from '../../storage/images';
import { familiarName, type Change } from '../../storage';
import type { NetworkManager, PortSpec, Attachment, EndpointRequest } from '../../network';
import { buildSpec, containerSeccomp } from '../../runtime/spec';
import { seccompBpf } from '../../runtime/seccomp';
import { mountOverlay, unmountOverlay } from '../../runtime/rootfs';
import { resolveUser } from '../../runtime/user';
import { processEnv } from '../../runtime/env';
import { RuntimeDriver, RuntimeInfo, findRuntime, unsafeRuntime } from '../../runtime/runtime';
import { Shim, ExitStatus, readExitStatus } from '../../runtime/shim';
import { ContainerStore, checkName } from './store';
import { generateName } from './names';
import { ContainerPaths } from './paths';
import { writeEtcFiles } from './etcfiles';
import { CreateBody, validateBody, mergeConfig, mergeEnv, defaultHostConfig, commandLine } from './create';
import { parseLink, linkView, linkEnv, resolveLinks } from './links';
import { parseSignal } from './signals';
import { relay, parseDetachKeys } from './attach';
import { buildCommit, commitConfig, commitTarget, containerChanges, CommitOptions } from './commit';
import type { ContainerRecord, HostConfig } from './types';
import { ContainerCgroup, applyResources, hostSupport, oomKillCount } from '../../runtime/cgroups';
import { checkCreateResources, checkRestartPolicy, mergeUpdate, ociResources, parseUpdateBody, updateResources, verifyResources } from './resources';
import { ContainerStatsReader } from './stats';
import type { EventBus } from '../events';
import type { VolumeStore } from '../volumes/store';
import { planMounts } from './mount-spec';
import { ContainerMounts } from './mounts';
import { ContainerArchive, RootfsHold } from './archive';
import { failpoint } from '../../common/failpoint';
import { killCgroupProcesses, killShim, mountsUnder, shimPidOf, shimProcesses, cgroupExists, isFrozen, ShimProcess } from '../../runtime/leftovers';

/** What the engine keeps about a container whose process is (or is about to be) running. */
interface Live {
  shim?: Shim;
  /** resolves when the current run's exit has been fully handled (state saved). */
  exitHandled?: Promise<void>;
  /** attach clients that connected before start: joined to the shim before the process starts. */
  pendingAttach: Array<(shim: Shim) => void>;
}

/** NetworkingConfig.EndpointsConfig[name] / the EndpointConfig of POST /networks/{id}/connect (the parts berth reads). */
export interface EndpointConfigBody {
  Aliases?: unknown[] | null; IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: unknown[] | null } | null; MacAddress?: string;
  Links?: unknown[] | null; DriverOpts?: Record<string, unknown> | null;
}

/** The parts of an EndpointConfig beside aliases and --ip: --ip6, MAC address, legacy links, link-local IPs, driver options. */
function endpointExtras(cfg: EndpointConfigBody | null | undefined): Partial<EndpointRequest> {
  const strings = (v: unknown[] | null | undefined) => (v ?? []).filter((x): x is string => typeof x === 'string' && x !== '');
  const links = strings(cfg?.Links);
  const linkLocalIps = strings(cfg?.IPAMConfig?.LinkLocalIPs);
  const driverOpts = Object.fromEntries(Object.entries(cfg?.DriverOpts ?? {}).map(([k, v]) => [k, String(v)]));
  const ip6 = cfg?.IPAMConfig?.IPv6Address;
  return {
    ...(typeof ip6 === 'string' && ip6 ? { ipv6Address: ip6 } : {}),
    ...(cfg?.MacAddress ? { macAddress: cfg.MacAddress } : {}), ...(links.length ? { links } : {}),
    ...(linkLocalIps.length ? { linkLocalIps } : {}), ...(Object.keys(driverOpts).length ? { driverOpts } : {}),
  };
}

interface Waiter { condition: 'next-exit' | 'removed' | 'not-running'; resolve: (r: { StatusCode: number; Error?: { Message: string } }) => void }

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

const nowIso = () => new Date().toISOString();

const INIT_PATH = '/sbin/docker-init';
function initBinary(): string {
  // Static, so it runs in any image (busybox has no libc); Debian's tini package ships both.
  const found = ['/usr/bin/tini-static', '/usr/bin/catatonit'].find((p) => existsSync(p));
  if (!found) throw invalidParameter('--init needs an init binary: install the Debian package tini');
  return found;
}

function isPresentButNotExecutable(file: string): boolean {
  try {
    const st = statSync(file);
    return st.isDirectory() || (st.mode & 0o111) === 0;
  } catch {
    return false;
  }
}
const ZERO_TIME = '0001-01-01T00:00:00Z';

export class ContainerEngine {
  readonly store: ContainerStore;
  readonly paths: ContainerPaths;
  readonly mounts: ContainerMounts;
  private live = new Map<string, Live>();
  private waiters = new Map<string, Waiter[]>();
  private locks = new Map<string, Promise<unknown>>();
  private drivers = new Map<string, RuntimeDriver>();
  /** containers whose runtime resources are released since they last ran */
  private released = new Set<string>();
  /** holders of a container's mounted root file system besides its own run (cp, export): id → count */
  private rootfsHolds = new Map<string, number>();
  /** cp and export (archive.ts) */
  readonly archive: ContainerArchive;

  constructor(private readonly opts: EngineOptions) {
    this.paths = new ContainerPaths(opts.dataRoot, opts.execRoot);
    this.store = new ContainerStore(`${opts.dataRoot}/containers`);
    this.mounts = new ContainerMounts(opts.volumes, opts.events);
    this.archive = new ContainerArchive(this);
    // cp reads and writes volumes and binds at their sources, as docker does (tmpfs mounts live only in the
    // container's mount namespace: not reachable from here)
    this.archive.addMountResolver((rec) => (rec.MountPoints ?? [])
      .filter((m) => m.Type !== 'tmpfs' && m.Source)
      .map((m) => ({ destination: m.Destination, source: m.Source, readOnly: !m.RW })));
  }

  get images() { return this.opts.images; }

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
  private safeDriver(name: string): RuntimeDriver {
    const d = this.driver(name);
    const unsafe = unsafeRuntime(d.info);
    if (unsafe) throw invalidParameter(unsafe);
    return d;
  }

  /** One operation at a time per container (start racing rm, …). */
  private serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => { if (this.locks.get(id) === tail) this.locks.delete(id); });
    return next;
  }

  private liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) { l = { pendingAttach: [] }; this.live.set(id, l); }
    return l;
  }

  event(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    // Labels come first: an image or a user may set any label, and a label called "name" or "image" must not
    // rename the container in the events every client reads (issue 16: image labels cannot set berth's own fields).
    this.opts.events.emitEvent('container', action, rec.Id, { ...rec.Config.Labels, image: rec.ImageRef, name: rec.Name.slice(1), ...extra });
  }

  // ---------------------------------------------------------------- create

  async create(rawBody: unknown, requestedName?: string, opts: { transient?: boolean } = {}): Promise<{ Id: string; Warnings: string[] }> {
    const body: CreateBody = validateBody(rawBody);
    if (!body.Image) throw invalidParameter('Config cannot be empty in order to create a container');
    const image: ImageRecord = this.images.get(body.Image);
    const imgCfg = image.config?.config ?? {};
    const config = mergeConfig(body, imgCfg, body.Image);
    const hostConfig = defaultHostConfig(body.HostConfig);
    const cmd = commandLine(config);
    if (!cmd.length) throw invalidParameter('no command specified');
    this.validateHostConfig(hostConfig);
    const resourceWarnings = checkCreateResources(hostConfig, hostSupport());
    this.refuseLimitsWithoutCgroups(ociResources(hostConfig));
    if (hostConfig.Runtime) this.safeDriver(hostConfig.Runtime);
    const links = (hostConfig.Links as string[] | null | undefined ?? []).map(parseLink);
    for (const l of links) if (!this.store.tryGet(l.name)) throw notFound(`could not get container for ${l.name}: No such container: ${l.name}`);
    const networks = this.endpointRequests(hostConfig, body.NetworkingConfig, typeof body.MacAddress === 'string' ? body.MacAddress : undefined);
    const warnings: string[] = [...resourceWarnings];
    if (hostConfig.NetworkMode === 'host' && Object.keys(hostConfig.PortBindings ?? {}).length) {
      warnings.push('Published ports are discarded when using host network mode');
    }
    const planned = planMounts({
      binds: hostConfig.Binds, mounts: hostConfig.Mounts, tmpfs: hostConfig.Tmpfs, volumesFrom: hostConfig.VolumesFrom,
      volumeDriver: hostConfig.VolumeDriver, volumes: config.Volumes,
      mountsOf: (ref) => { const other = this.store.tryGet(ref); return other ? other.MountPoints ?? [] : undefined; },
    });

    const id = newId();
    const name = requestedName ? checkName(requestedName) : generateName((n) => this.store.hasName(n));
    this.store.reserveName(name, id);
    let registered: Awaited<ReturnType<ContainerMounts['register']>>;
    try {
      registered = await this.mounts.register(id, planned);
    } catch (err) {
      this.store.releaseName(name, id);
      throw err;
    }
    const rec: ContainerRecord = {
      Id: id, Name: name, Created: nowIso(), Path: cmd[0], Args: cmd.slice(1), Image: image.id, ImageRef: body.Image,
      Config: { ...config, Hostname: config.Hostname || id.slice(0, 12) },
      HostConfig: links.length ? { ...hostConfig, Links: links.map((l) => linkView(l, name)) } : hostConfig,
      State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
      RestartCount: 0,
      Runtime: hostConfig.Runtime || this.opts.defaultRuntime.name,
      Layers: [...image.chainIds],
      Networks: networks,
      MountPoints: registered.mountPoints,
      ...(opts.transient ? { Transient: true } : {}),
    };
    try {
      await failpoint('container.create.before-record');
      await this.store.add(rec);
    } catch (err) {
      this.store.releaseName(name, id);
      await fs.rm(this.paths.dir(id), { recursive: true, force: true });
      await this.mounts.rollback(id, registered.mountPoints.filter((m) => m.Type === 'volume').map((m) => m.Name!), registered.created);
      throw systemError(`failed to create container: ${errorMessage(err)}`);
    }
    await failpoint('container.create.after-record');
    this.event(rec, 'create');
    return { Id: id, Warnings: warnings };
  }

  private validateHostConfig(h: ReturnType<typeof defaultHostConfig>): void {
    const policies = ['no', 'always', 'on-failure', 'unless-stopped', ''];
    if (!policies.includes(h.RestartPolicy.Name)) throw invalidParameter(`invalid restart policy: unknown policy '${h.RestartPolicy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    if (h.AutoRemove && h.RestartPolicy.Name !== 'no' && h.RestartPolicy.Name !== '') throw invalidParameter('conflicting options: cannot specify both --restart and --rm');
    const mode = h.NetworkMode;
    if (mode.startsWith('container:')) {
      if (Object.keys(h.PortBindings ?? {}).length || h.PublishAllPorts) throw invalidParameter('conflicting options: port publishing and the container type network mode');
    } else {
      this.opts.network.resolve(mode); // 404 network X not found
    }
    for (const [port, bindings] of Object.entries(h.PortBindings ?? {})) {
      if (!/^\d+(\/(tcp|udp|sctp))?$/.test(port)) throw invalidParameter(`invalid port specification: "${port}"`);
      for (const b of bindings ?? []) if (b.HostPort && !/^\d+(-\d+)?$/.test(b.HostPort)) throw invalidParameter(`invalid port specification: "${b.HostPort}"`);
    }
  }

  // ---------------------------------------------------------------- start

  start(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    return this.serialize(rec.Id, () => {
      rec.StoppedByUser = false; // the user starts it: restart policies apply again
      return this.startLocked(rec);
    });
  }

  /** A start by a restart policy: decided under the container's lock, so a stop or rm that came first wins. */
  private restartByPolicy(rec: ContainerRecord): Promise<void> {
    return this.serialize(rec.Id, async () => {
      if (!this.store.tryGet(rec.Id) || rec.StoppedByUser || (rec.State.Status !== 'exited' && rec.State.Status !== 'restarting')) return;
      rec.RestartCount++;
      await this.startLocked(rec);
    });
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    if (rec.State.Status === 'paused') throw conflict('cannot start a paused container, try unpause instead');
    if (rec.State.Status === 'running') throw notModified();
    if (rec.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
    const lowerDirs = this.lowerDirs(rec);
    const rootfs = this.paths.rootfs(rec.Id);
    const driver = this.safeDriver(rec.Runtime);
    const undo: Array<() => Promise<unknown>> = [];
    const live = this.liveOf(rec.Id);
    this.released.delete(rec.Id);
    const t0 = process.hrtime.bigint();
    const mark = (step: string) => log.debug('start step', { id: rec.Id.slice(0, 12), step, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    try {
      // The rootfs and the network do not depend on each other: set both up at once.
      const [mounted, networked] = await Promise.allSettled([mountOverlay(lowerDirs, rootfs), this.setupNetwork(rec)]);
      // a cp or export may hold the mount (it was there before): then it stays
      if (mounted.status === 'fulfilled') undo.push(async () => { if (!this.rootfsHolds.has(rec.Id)) await unmountOverlay(rootfs); });
      const net = networked.status === 'fulfilled' ? networked.value : undefined;
      const attachment = net?.attachment;
      if (attachment) undo.push(() => this.opts.network.detach(rec.Id, attachment));
      if (mounted.status === 'rejected') throw mounted.reason;
      if (networked.status === 'rejected') throw networked.reason;
      const { netnsPath, joinPid } = net!;
      mark('rootfs+network');
      await failpoint('container.start.after-rootfs');

      const user = await resolveUser(rootfs.merged, rec.Config.User, (rec.HostConfig.GroupAdd as string[] | null) ?? []);
      const linked = this.linkedContainers(rec);
      const cwd = rec.Config.WorkingDir || '/';
      if (cwd !== '/') await this.ensureDir(rootfs.merged, cwd);
      undo.push(() => this.mounts.release(rec));
      const userMounts = await this.mounts.setup(rec, rootfs.merged);
      mark('mounts');
      const hostNet = rec.HostConfig.NetworkMode === 'host';
      await writeEtcFiles({ hosts: this.paths.hosts(rec.Id), hostname: this.paths.hostname(rec.Id), resolvConf: this.paths.resolvConf(rec.Id) },
        rec.Config.Hostname, attachment?.ipAddress, hostNet,
        [...(rec.HostConfig.ExtraHosts as string[] | null) ?? [], ...linked.map(({ link, target }) => `${link.alias} ${target.name}:${target.ip}`)], attachment?.dnsServer,
        { servers: rec.HostConfig.Dns, search: rec.HostConfig.DnsSearch as string[] | null, options: rec.HostConfig.DnsOptions as string[] | null });

      const secInput = { capAdd: rec.HostConfig.CapAdd ?? [], capDrop: rec.HostConfig.CapDrop ?? [], privileged: rec.HostConfig.Privileged };
      const profile = driver.info.name === 'crun' ? containerSeccomp(secInput) : undefined;
      const seccompBpfData = profile ? await seccompBpf(profile) : undefined;
      const spec = buildSpec({
        seccompBpf: seccompBpfData,
        rootfs: rootfs.merged, readonlyRootfs: rec.HostConfig.ReadonlyRootfs,
        args: rec.HostConfig.Init ? [INIT_PATH, '--', ...commandLine(rec.Config)] : commandLine(rec.Config),
        env: processEnv(mergeEnv(linked.flatMap(({ link, target }) => linkEnv(rec.Name, link, target)), rec.Config.Env), { tty: rec.Config.Tty, home: user.home, hostname: rec.Config.Hostname }), cwd, user,
        terminal: rec.Config.Tty, hostname: hostNet ? (await import('os')).hostname() : rec.Config.Hostname,
        netnsPath: hostNet ? null : netnsPath, joinPid,
        capAdd: rec.HostConfig.CapAdd ?? [], capDrop: rec.HostConfig.CapDrop ?? [], privileged: rec.HostConfig.Privileged,
        cgroupsPath: this.cgroupPath(rec), shmSize: rec.HostConfig.ShmSize, resources: ociResources(rec.HostConfig),
        etcFiles: [
          { destination: '/etc/hostname', source: this.paths.hostname(rec.Id) },
          { destination: '/etc/hosts', source: this.paths.hosts(rec.Id) },
          { destination: '/etc/resolv.conf', source: this.paths.resolvConf(rec.Id) },
          // --init: Debian's static tini as PID 1 (reaps zombies, forwards signals), where Docker puts its init.
          ...(rec.HostConfig.Init ? [{ destination: INIT_PATH, source: initBinary() }] : []),
        ],
        mounts: userMounts.binds,
        tmpfs: userMounts.tmpfs,
        ulimits: rec.HostConfig.Ulimits ?? undefined,
        sysctl: rec.HostConfig.Sysctls ?? undefined,
      });
      this.opts.rootless?.adjustSpec(spec, { privileged: rec.HostConfig.Privileged, hostNetwork: hostNet });
      const bundle = this.paths.bundle(rec.Id);
      await fs.rm(bundle, { recursive: true, force: true });
      await fs.rm(this.paths.shimState(rec.Id), { recursive: true, force: true }); // a previous run's exit.json
      await fs.mkdir(bundle, { recursive: true, mode: 0o700 });
      await writeFileAtomic(`${bundle}/config.json`, JSON.stringify(spec), 0o600, false); // tmpfs, rebuilt every start
      undo.push(() => driver.delete(rec.Id));
      mark('spec');

      const shim = await Shim.spawn({
        runtimePath: driver.info.path, runtimeRoot: driver.root, id: rec.Id, bundle, stateDir: this.paths.shimState(rec.Id),
        tty: rec.Config.Tty, stdin: rec.Config.OpenStdin, stdinOnce: rec.Config.StdinOnce && !rec.Config.Tty,
        logPath: (rec.HostConfig.LogConfig as { Type?: string } | undefined)?.Type === 'none' ? undefined : this.paths.log(rec.Id),
        run: true,
      }).catch((err) => { throw this.runtimeError(err, rootfs.merged); });
      // Fault "error after the shim was spawned": closing our connection alone left the shim (and a started
      // process) running with no owner; the shim goes with the failed start.
      undo.push(async () => {
        shim.close();
        const shimPid = await shimPidOf(this.paths.shimState(rec.Id));
        if (shimPid) await killShim(shimPid);
      });
      live.shim = shim;
      mark('shim-create');
      await failpoint('container.start.after-shim');
      // Clients that attached before start must see the very first output.
      for (const join of live.pendingAttach.splice(0)) join(shim);
      const pid = await shim.start().catch((err) => { throw this.runtimeError(err, rootfs.merged, rec.Path); });

      mark('shim-start');
      await failpoint('container.start.after-run');
      rec.Network = attachment;
      rec.State = { ...rec.State, Status: 'running', Pid: pid, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: nowIso(), FinishedAt: rec.State.FinishedAt };
      await this.store.save(rec);
      this.watchExit(rec, shim);
      this.event(rec, 'start');
    } catch (err) {
      live.shim = undefined;
      for (const step of undo.reverse()) await step().catch((e) => log.warn('rollback step failed', { id: rec.Id, error: errorMessage(e) }));
      const e = err instanceof EngineError ? err : systemError(errorMessage(err));
      rec.State = { ...rec.State, Error: e.message, ExitCode: /executable file not found|no such file/i.test(e.message) ? 127 : /permission denied/i.test(e.message) ? 126 : 128 };
      await this.store.save(rec).catch(() => undefined);
      // Like dockerd: a --rm container that cannot start is removed (its waiters for "removed" return).
      if (rec.HostConfig.AutoRemove) await this.removeLocked(rec, { force: true, volumes: true }).catch(() => undefined);
      throw e;
    }
  }

  /** The running containers this one links to (HostConfig.Links), with what its environment and hosts need. */
  private linkedContainers(rec: ContainerRecord): ReturnType<typeof resolveLinks> {
    const links = ((rec.HostConfig.Links as string[] | null) ?? []).map(parseLink);
    if (!links.length) return [];
    const get = (name: string) => {
      const t = this.store.tryGet(name);
      return t && { name: t.Name.slice(1), ip: t.Network?.ipAddress ?? '', env: t.Config.Env, exposedPorts: Object.keys(t.Config.ExposedPorts ?? {}) };
    };
    return resolveLinks(links, get, (name) => this.store.tryGet(name)?.State.Status === 'running');
  }

  /** The image's layers; by the recorded chain ids when the image itself was removed with `rmi -f`. */
  private lowerDirs(rec: ContainerRecord): string[] {
    const image = this.images.tryGet(rec.Image);
    if (image) return this.images.layerDirs(image);
    const chains = rec.Layers ?? [];
    const dirs = this.images.layerDirsForChains(chains);
    if (!chains.length || dirs.length !== chains.length) throw notFound(`No such image: ${rec.Image}`);
    return dirs;
  }

  /** Runtime failures phrased the way Docker reports them, so clients map them to 126/127 as with Docker. */
  private runtimeError(err: unknown, rootfs?: string, command?: string): EngineError {
    const msg = errorMessage(err);
    // `crun run` reports a path it cannot execute (a directory, no x bit) as "open executable: …".
    if (command && /open executable: (Operation not permitted|Permission denied|Is a directory)/i.test(msg)) {
      return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${command}": permission denied: unknown`);
    }
    const exe = /executable file `([^`]*)` not found|exec: "([^"]*)": executable file not found|`([^`]*)`: No such file or directory/.exec(msg);
    if (exe) {
      const name = exe[1] ?? exe[2] ?? exe[3];
      // crun says "not found" for a path that exists but cannot be executed (a directory, no x bit);
      // Docker reports that as permission denied (exit 126), so look for ourselves.
      if (rootfs && name.includes('/') && isPresentButNotExecutable(`${rootfs}/${name}`)) {
        return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${name}": permission denied: unknown`);
      }
      return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${name}": executable file not found in $PATH: unknown`);
    }
    const perm = /(?:open|exec|execute)[^`"]*[`"]([^`"]*)[`"][^:]*: (?:Permission denied|Is a directory)/i.exec(msg) ?? /(?:open|exec|execute)\s*`?([^`:]*)`?: (?:Permission denied|Is a directory)/i.exec(msg);
    if (perm) return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${perm[1]}": permission denied: unknown`);
    return systemError(`failed to create task for container: OCI runtime create failed: ${msg.trim()}: unknown`);
  }

  private async ensureDir(root: string, dir: string): Promise<void> {
    // Created through the merged overlay; refuse to follow a symlink out of the rootfs.
    const parts = dir.split('/').filter((p) => p && p !== '.' && p !== '..');
    let cur = root;
    for (const p of parts) {
      cur = `${cur}/${p}`;
      const st = await fs.lstat(cur).catch(() => undefined);
      if (!st) await fs.mkdir(cur, { mode: 0o755 });
      else if (st.isSymbolicLink()) return; // the runtime resolves it inside the container
    }
  }

  private portSpecs(rec: ContainerRecord): PortSpec[] {
    const specs: PortSpec[] = [];
    const seen = new Set<string>();
    for (const [key, bindings] of Object.entries(rec.HostConfig.PortBindings ?? {})) {
      const [port, proto = 'tcp'] = key.split('/');
      for (const b of bindings && bindings.length ? bindings : [{}]) {
        specs.push({ containerPort: parseInt(port, 10), protocol: proto as 'tcp' | 'udp', hostIp: b.HostIp ?? '', hostPort: parseInt(b.HostPort || '0', 10) });
        seen.add(`${port}/${proto}`);
      }
    }
    if (rec.HostConfig.PublishAllPorts) {
      for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
        const [port, proto = 'tcp'] = key.split('/');
        if (!seen.has(`${port}/${proto}`)) specs.push({ containerPort: parseInt(port, 10), protocol: proto as 'tcp' | 'udp', hostIp: '', hostPort: 0 });
      }
    }
    return specs;
  }

  /**
   * The networks of a new container from HostConfig.NetworkMode and NetworkingConfig.EndpointsConfig (the docker
   * CLI sends the --network-alias/--ip of the first --network there), primary first. Unknown networks are a 404.
   */
  private endpointRequests(h: HostConfig, networking: unknown, macAddress?: string): EndpointRequest[] {
    const mode = h.NetworkMode;
    const raw = (networking as { EndpointsConfig?: Record<string, EndpointConfigBody | null> } | undefined)?.EndpointsConfig ?? {};
    if (mode.startsWith('container:')) return [];
    const primary = this.opts.network.resolve(mode);
    const entries = Object.entries(raw);
    const byNetwork = new Map<string, [string, EndpointConfigBody | null]>();
    for (const [key, cfg] of entries) {
      const name = key === 'default' ? 'bridge' : key; // the docker CLI names the default network "default"
      const r = this.opts.network.resolve(name);
      if (byNetwork.has(r.id)) throw invalidParameter(`network ${name} is specified multiple times`);
      byNetwork.set(r.id, [name, cfg]);
    }
    if (primary.driver !== 'bridge') {
      if ([...byNetwork.keys()].some((id) => id !== primary.id)) {
        throw invalidParameter(primary.driver === 'null'
          ? 'container cannot be connected to multiple networks with one of the networks in private (none) mode'
          : 'container cannot be disconnected from host network or connected to host network');
      }
      return [];
    }
    const toRequest = (network: string, cfg: EndpointConfigBody | null | undefined): EndpointRequest => {
      const aliases = (cfg?.Aliases ?? []).filter((a): a is string => typeof a === 'string' && a !== '');
      const ip = cfg?.IPAMConfig?.IPv4Address || undefined;
      const r = this.opts.network.resolve(network);
      if (!r.userDefined && aliases.length) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
      if (!r.userDefined && ip) throw invalidParameter('user specified IP address is supported on user defined networks only');
      return { network, ...(aliases.length ? { aliases } : {}), ...(ip ? { ipv4Address: ip } : {}), ...endpointExtras(cfg) };
    };
    const out = [toRequest(mode, byNetwork.get(primary.id)?.[1])];
    // API < 1.44 carries the MAC address in Config.MacAddress: it belongs to the primary endpoint
    if (macAddress && !out[0].macAddress) out[0].macAddress = macAddress;
    for (const [id, [name, cfg]] of byNetwork) {
      if (id === primary.id) continue;
      const r = this.opts.network.resolve(name);
      if (r.driver !== 'bridge') throw invalidParameter(`container cannot be connected to network ${name} and to other networks`);
      out.push(toRequest(name, cfg));
    }
    return out;
  }

  private async setupNetwork(rec: ContainerRecord): Promise<{ netnsPath?: string; joinPid?: number; attachment?: Attachment }> {
    const mode = rec.HostConfig.NetworkMode;
    if (mode.startsWith('container:')) {
      const other = this.store.tryGet(mode.slice('container:'.length));
      if (!other) throw notFound(`No such container: ${mode.slice('container:'.length)}`);
      if (other.State.Status !== 'running' && other.State.Status !== 'paused') throw conflict(`cannot join network namespace of a non running container: ${other.Id}`);
      return { joinPid: other.State.Pid };
    }
    const kind = this.opts.network.resolve(mode).driver;
    if (kind === 'host') return {};
    if (kind === 'null') {
      const attachment = await this.opts.network.attach(rec.Id, { name: rec.Name.slice(1), mode: 'none', ports: [] });
      return { netnsPath: attachment.netnsPath, attachment };
    }
    // [] after `network disconnect` of every network: the container starts with loopback only, as in docker
    const networks = rec.Networks ?? [{ network: mode }];
    const attachment = await this.opts.network.attach(rec.Id, { name: rec.Name.slice(1), mode: 'bridge', ports: this.portSpecs(rec), networks, ...(rec.HostConfig.Dns?.length ? { dns: rec.HostConfig.Dns } : {}) });
    return { netnsPath: attachment.netnsPath, attachment };
  }

  // ---------------------------------------------------------------- exit handling

  private watchExit(rec: ContainerRecord, shim: Shim): void {
    const live = this.liveOf(rec.Id);
    live.exitHandled = shim.exited.then((status) => this.serialize(rec.Id, () => this.handleExit(rec, status)))
      .catch((err) => log.error('handling container exit failed', { id: rec.Id, error: errorMessage(err) }));
  }

  /** Runtime state, network and rootfs of a stopped container; the three are independent, so in parallel. */
  private async releaseResources(rec: ContainerRecord): Promise<void> {
    if (this.released.has(rec.Id)) return; // an auto-removed container was released at its exit already
    const network = rec.Network;
    const t0 = Date.now();
    const took = (what: string) => () => log.debug('released', { id: rec.Id.slice(0, 12), what, ms: Date.now() - t0 });
    await Promise.all([
      // (a runtime this daemon no longer knows — an --add-runtime dropped at restart — must not stop the rest)
      Promise.resolve().then(() => this.driver(rec.Runtime).delete(rec.Id, this.cgroupPath(rec))).catch((e) => log.warn('runtime delete failed', { id: rec.Id, error: errorMessage(e) })).then(took('runtime')),
      network ? this.opts.network.detach(rec.Id, network).catch((e) => log.warn('network detach failed', { id: rec.Id, error: errorMessage(e) })).then(took('network')) : undefined,
      // A cp or export holding the root file system unmounts it when it is done, unless the container is going away.
      (this.rootfsHolds.has(rec.Id) && rec.State.Status !== 'removing' ? Promise.resolve()
        : unmountOverlay(this.paths.rootfs(rec.Id)).catch((e) => log.warn('unmount failed', { id: rec.Id, error: errorMessage(e) }))).then(took('rootfs')),
      fs.rm(this.paths.bundle(rec.Id), { recursive: true, force: true }),
      fs.rm(this.paths.shimState(rec.Id), { recursive: true, force: true }),
    ]);
    // after the runtime let go of them: a volume with options is unmounted when its last user stopped
    await this.mounts.release(rec).then(took('volumes'));
    this.released.add(rec.Id);
  }

  private async handleExit(rec: ContainerRecord, status: ExitStatus): Promise<void> {
    if (!this.store.tryGet(rec.Id)) return; // removed (rm -f) while it ran: removal handled the exit
    const live = this.live.get(rec.Id);
    if (live) live.shim = undefined;
    const t0 = Date.now();
    log.debug('exit seen', { id: rec.Id.slice(0, 12), sinceExitMs: t0 - Date.parse(status.finishedAt) });
    const oomKilled = status.oomKilled || (await this.wasOomKilled(rec));
    if (oomKilled) this.event(rec, 'oom');
    await this.releaseResources(rec);
    log.debug('resources released', { id: rec.Id.slice(0, 12), ms: Date.now() - t0 });
    rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: status.exitCode, OOMKilled: oomKilled, FinishedAt: status.finishedAt || nowIso() };
    rec.Network = undefined;
    // An auto-removed container's record is deleted next: no point making this state durable first.
    if (!rec.HostConfig.AutoRemove) await this.store.save(rec);
    this.event(rec, 'die', { exitCode: String(status.exitCode) });
    this.notify(rec, 'next-exit', { StatusCode: status.exitCode });
    if (rec.HostConfig.AutoRemove) {
      // --rm takes the container's anonymous volumes with it, as docker's does
      await this.removeLocked(rec, { force: true, volumes: true }).catch((e) => log.warn('auto-remove failed', { id: rec.Id, error: errorMessage(e) }));
      return;
    }
    this.notify(rec, 'not-running', { StatusCode: status.exitCode });
    this.maybeRestart(rec);
  }

  /** Restart policies (always, unless-stopped, on-failure[:N]) with Docker's doubling back-off. */
  private maybeRestart(rec: ContainerRecord): void {
    const policy = rec.HostConfig.RestartPolicy;
    if (rec.StoppedByUser || !policy || policy.Name === 'no' || policy.Name === '') return;
    if (policy.Name === 'on-failure' && (rec.State.ExitCode === 0 || (policy.MaximumRetryCount > 0 && rec.RestartCount >= policy.MaximumRetryCount))) return;
    const delay = Math.min(100 * 2 ** Math.min(rec.RestartCount, 10), 60_000);
    // shown as "Restarting (code) … ago" until the policy's start, as Docker does during the back-off
    rec.State.Status = 'restarting';
    void this.store.save(rec).catch((e) => log.warn('saving restarting state failed', { id: rec.Id, error: errorMessage(e) }));
    setTimeout(() => {
      this.restartByPolicy(rec).catch((e) => log.warn('restart failed', { id: rec.Id, error: errorMessage(e) }));
    }, delay).unref();
  }

  private notify(rec: ContainerRecord, condition: Waiter['condition'], result: { StatusCode: number }): void {
    const list = this.waiters.get(rec.Id);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (w.condition === condition || (condition === 'removed' && w.condition !== 'removed')) w.resolve(result);
      else keep.push(w);
    }
    if (keep.length) this.waiters.set(rec.Id, keep); else this.waiters.delete(rec.Id);
  }

  // ---------------------------------------------------------------- stop / kill / pause

  private isRunning(rec: ContainerRecord) { return rec.State.Status === 'running' || rec.State.Status === 'paused'; }

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.store.get(ref);
    // Set first: it also cancels a restart that a restart policy has pending for an exited container.
    rec.StoppedByUser = true;
    if (rec.State.Status === 'restarting') {
      // stopping a container in its restart back-off cancels the restart
      rec.State.Status = 'exited';
      await this.store.save(rec);
      this.event(rec, 'stop');
      return;
    }
    if (!this.isRunning(rec)) {
      await this.store.save(rec);
      throw notModified();
    }
    const sig = parseSignal(opts.signal || rec.Config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? rec.Config.StopTimeout ?? 10;
    await this.terminate(rec, sig, timeout);
    this.event(rec, 'stop');
  }

  /** Sends `sig`, waits up to `timeoutSec` (negative: forever), then SIGKILL; resolves once the exit is handled. */
  private async terminate(rec: ContainerRecord, sig: number, timeoutSec: number): Promise<void> {
    const live = this.live.get(rec.Id);
    const exited = live?.exitHandled ?? Promise.resolve();
    if (rec.State.Status === 'paused') await this.unpauseQuiet(rec);
    this.signal(rec, sig);
    if (sig !== 9) {
      const timedOut = timeoutSec < 0 ? new Promise<boolean>(() => {}) : new Promise<boolean>((r) => setTimeout(() => r(true), timeoutSec * 1000).unref());
      const done = await Promise.race([exited.then(() => false), timedOut]);
      if (!done) return;
      if (this.isRunning(rec)) this.signal(rec, 9);
    }
    await exited;
  }

  private signal(rec: ContainerRecord, sig: number): void {
    try {
      if (rec.State.Pid > 0) process.kill(rec.State.Pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw systemError(`cannot kill container ${rec.Id}: ${errorMessage(err)}`);
    }
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const rec = this.store.get(ref);
    const sig = parseSignal(signal, 'SIGKILL');
    if (!this.isRunning(rec)) throw conflict(`Cannot kill container: ${ref}: Container ${rec.Id} is not running`);
    // A killing signal is a deliberate stop: restart policies leave the container down.
    if (sig === 9 || sig === 15 || sig === 2) rec.StoppedByUser = true;
    if (rec.State.Status === 'paused' && sig === 9) await this.unpauseQuiet(rec);
    this.signal(rec, sig);
    this.event(rec, 'kill', { signal: String(sig) });
    if (sig === 9) await this.live.get(rec.Id)?.exitHandled;
  }

  async pause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.serialize(rec.Id, () => this.pauseLocked(rec));
  }

  private async pauseLocked(rec: ContainerRecord, persist = true): Promise<void> {
    if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is already paused`);
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    await this.driver(rec.Runtime).pause(rec.Id).catch((e) => { throw systemError(`cannot pause container ${rec.Id}: ${errorMessage(e)}`); });
    rec.State.Status = 'paused';
    if (persist) await this.store.save(rec);
    this.event(rec, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.serialize(rec.Id, () => this.unpauseLocked(rec));
  }

  private async unpauseLocked(rec: ContainerRecord): Promise<void> {
    if (rec.State.Status !== 'paused') throw conflict(`Container ${rec.Id} is not paused`);
    await this.unpauseQuiet(rec);
    this.event(rec, 'unpause');
  }

  private async unpauseQuiet(rec: ContainerRecord): Promise<void> {
    await this.driver(rec.Runtime).resume(rec.Id).catch((e) => { throw systemError(`cannot unpause container ${rec.Id}: ${errorMessage(e)}`); });
    rec.State.Status = 'running';
    await this.store.save(rec);
  }

  async restart(ref: string, timeout?: number): Promise<void> {
    const rec = this.store.get(ref);
    if (this.isRunning(rec)) {
      rec.StoppedByUser = true;
      await this.terminate(rec, parseSignal(rec.Config.StopSignal || 'SIGTERM'), timeout ?? rec.Config.StopTimeout ?? 10);
    }
    await this.start(rec.Id);
    this.event(rec, 'restart');
  }

  // ---------------------------------------------------------------- wait / remove / rename / resize

  wait(ref: string, condition = 'not-running'): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    const rec = this.store.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalidParameter(`invalid condition: "${condition}"`);
    if (condition === 'not-running' && !this.isRunning(rec) && rec.State.Status !== 'removing') return Promise.resolve({ StatusCode: rec.State.ExitCode });
    return new Promise((resolve) => {
      const list = this.waiters.get(rec.Id) ?? [];
      list.push({ condition: condition as Waiter['condition'], resolve });
      this.waiters.set(rec.Id, list);
    });
  }

  /** `rm --link`: drops the link named alias from the container (its next start no longer links). */
  async removeLink(ref: string, alias: string): Promise<void> {
    const rec = this.store.get(ref);
    await this.serialize(rec.Id, async () => {
      const links = (rec.HostConfig.Links as string[] | null) ?? [];
      const kept = links.filter((l) => parseLink(l).alias !== alias);
      if (kept.length === links.length) throw notFound(`Could not find container for entity id ${rec.Name}/${alias}`);
      rec.HostConfig = { ...rec.HostConfig, Links: kept.length ? kept : null };
      await this.store.save(rec);
    });
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    await this.serialize(rec.Id, () => this.removeLocked(rec, opts));
  }

  private async removeLocked(rec: ContainerRecord, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
    if (!this.store.tryGet(rec.Id)) return;
    if (rec.State.Status === 'restarting') {
      if (!opts.force) throw conflict('You cannot remove a restarting container. Stop the container before attempting removal or force remove');
      rec.StoppedByUser = true;
      rec.State.Status = 'exited';
    }
    if (this.isRunning(rec)) {
      if (!opts.force) {
        const what = rec.State.Status === 'paused' ? 'container is paused' : 'container is running';
        throw conflict(`cannot remove container "${rec.Name}": ${what}: stop the container before removing or force remove`);
      }
      rec.StoppedByUser = true;
      if (rec.State.Status === 'paused') await this.unpauseQuiet(rec).catch(() => undefined);
      this.signal(rec, 9);
      // The exit handler needs this container's lock, which we hold: wait for the shim directly instead.
      const shim = this.live.get(rec.Id)?.shim;
      const status = shim ? await shim.exited : await readExitStatus(this.paths.shimState(rec.Id));
      rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: status.exitCode, FinishedAt: status.finishedAt || nowIso() };
      this.event(rec, 'die', { exitCode: String(status.exitCode) });
      this.notify(rec, 'next-exit', { StatusCode: status.exitCode });
    }
    rec.State.Status = 'removing';
    await failpoint('container.rm.before-release');
    // A stopped container's resources were released at its exit; a cp or export may have mounted its root since.
    if (this.rootfsHolds.has(rec.Id)) await unmountOverlay(this.paths.rootfs(rec.Id)).catch((e) => log.warn('unmount failed', { id: rec.Id, error: errorMessage(e) }));
    await this.releaseResources(rec);
    await failpoint('container.rm.after-release');
    await this.store.remove(rec);
    await this.mounts.forget(rec, !!opts.volumes);
    this.live.delete(rec.Id);
    this.released.delete(rec.Id);
    this.event(rec, 'destroy');
    this.notify(rec, 'removed', { StatusCode: rec.State.ExitCode });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.store.get(ref);
    if (!newName) throw invalidParameter('Neither old nor new names may be empty');
    const name = checkName(newName);
    if (name === rec.Name) throw conflict(`Renaming a container with the same name as its current name`);
    this.store.reserveName(name, rec.Id);
    const old = rec.Name;
    rec.Name = name;
    try {
      await this.store.save(rec);
    } catch (err) {
      rec.Name = old;
      this.store.releaseName(name, rec.Id);
      throw err;
    }
    this.store.releaseName(old, rec.Id);
    await this.opts.network.rename(rec.Id, name.slice(1)).catch((e) => log.warn('network rename failed', { id: rec.Id, error: errorMessage(e) }));
    this.event(rec, 'rename', { oldName: old });
  }

  // ---------------------------------------------------------------- network connect / disconnect

  /**
   * POST /networks/{id}/connect: a running container gets the interface at once; a stopped one at its next start.
   * Returns the network's id and name (for the event).
   */
  async connectNetwork(networkRef: string, containerRef: string, cfg: EndpointConfigBody | null | undefined): Promise<{ id: string; name: string; container: string }> {
    const rec = this.store.get(containerRef);
    const net = this.opts.network.resolve(networkRef);
    return this.serialize(rec.Id, async () => {
      const mode = rec.HostConfig.NetworkMode;
      if (mode.startsWith('container:') || this.opts.network.resolve(mode).driver === 'host') {
        throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (this.opts.network.resolve(mode).driver === 'null' || net.driver === 'null') {
        throw invalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (net.driver === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
      const current = rec.Networks ?? [{ network: mode }];
      const live = this.isRunning(rec) && !!rec.Network;
      const configured = current.findIndex((r) => this.sameNetwork(r.network, net.id));
      // a running container has the endpoint already; a stopped or created one only has its configuration, which
      // dockerd replaces (docker-compose 1.29 connects each created container to its own network with aliases)
      if (configured >= 0 && live) {
        throw forbidden(`endpoint with name ${rec.Name.slice(1)} already exists in network ${net.name}`);
      }
      const aliases = (cfg?.Aliases ?? []).filter((a): a is string => typeof a === 'string' && a !== '');
      const ip = cfg?.IPAMConfig?.IPv4Address || undefined;
      if (!net.userDefined && aliases.length) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
      if (!net.userDefined && ip) throw invalidParameter('user specified IP address is supported on user defined networks only');
      const req: EndpointRequest = { network: net.name, ...(aliases.length ? { aliases } : {}), ...(ip ? { ipv4Address: ip } : {}), ...endpointExtras(cfg) };
      if (configured >= 0) {
        rec.Networks = current.map((r, j) => (j === configured ? req : r));
        await this.store.save(rec);
        return { id: net.id, name: net.name, container: rec.Id };
      }
      if (live) {
        rec.Network = await this.opts.network.connect(rec.Id, req);
      }
      rec.Networks = [...current, req];
      await this.store.save(rec);
      return { id: net.id, name: net.name, container: rec.Id };
    });
  }

  /** POST /networks/{id}/disconnect. */
  async disconnectNetwork(networkRef: string, containerRef: string, force = false): Promise<{ id: string; name: string; container: string }> {
    const rec = this.store.get(containerRef);
    const net = this.opts.network.resolve(networkRef);
    return this.serialize(rec.Id, async () => {
      const mode = rec.HostConfig.NetworkMode;
      // host and none modes hold no endpoint requests (Networks is []): the mode itself is what they are on
      const bridged = !mode.startsWith('container:') && this.opts.network.resolve(mode).driver === 'bridge';
      const current = rec.Networks && (rec.Networks.length || bridged) ? rec.Networks : mode.startsWith('container:') ? [] : [{ network: mode }];
      const i = current.findIndex((r) => this.sameNetwork(r.network, net.id));
      // force or not, a container that is not on the network is an error (a second force-disconnect fails too)
      if (i < 0) throw forbidden(`container ${rec.Id} is not connected to network ${net.name}`);
      void force;
      if (net.driver !== 'bridge') throw invalidParameter(`container cannot be disconnected from ${net.name} network`);
      if (this.isRunning(rec) && rec.Network) {
        rec.Network = await this.opts.network.disconnect(rec.Id, net.id);
      }
      const rest = current.filter((_, j) => j !== i);
      rec.Networks = rest;
      // the primary network went away: the next one becomes the container's network mode, as in Docker; with
      // none left the mode stays (docker keeps it), and the container can be connected again
      if (i === 0 && rest.length) rec.HostConfig.NetworkMode = rest[0].network;
      await this.store.save(rec);
      return { id: net.id, name: net.name, container: rec.Id };
    });
  }

  private sameNetwork(ref: string, id: string): boolean {
    try { return this.opts.network.resolve(ref).id === id; } catch { return false; }
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const rec = this.store.get(ref);
    const shim = this.live.get(rec.Id)?.shim;
    if (!shim || !this.isRunning(rec)) throw conflict(`Container ${rec.Id} is not running`);
    if (!Number.isFinite(rows) || !Number.isFinite(cols) || rows < 0 || cols < 0) throw invalidParameter('invalid height or width');
    await shim.resize(rows, cols);
  }

  runningShim(rec: ContainerRecord): Shim | undefined { return this.live.get(rec.Id)?.shim; }

  // ---------------------------------------------------------------- diff / commit (commit.ts)

  /** GET /containers/{id}/changes: from the upper dir, which persists while the container exists. */
  changes(ref: string): Promise<Change[]> {
    const rec = this.store.get(ref);
    return containerChanges(this.paths.rootfs(rec.Id).upper, this.lowerDirs(rec));
  }

  /**
   * POST /commit. Everything that can be refused (reference, body, changes) is checked before the container is
   * touched; a running container is paused while its changes are read and the image is made (unless
   * `pause: false`), and unpaused again whatever happens. Under the container's lock, so rm waits for it.
   */
  async commit(ref: string, opts: CommitOptions): Promise<ImageRecord> {
    const rec = this.store.get(ref);
    const target = commitTarget(opts.repo, opts.tag);
    const config = commitConfig(rec, opts);
    return this.serialize(rec.Id, async () => {
      if (rec.State.Status === 'removing') throw conflict(`You cannot commit container ${rec.Id} which is being removed`);
      if (rec.State.Status === 'dead') throw conflict(`You cannot commit container ${rec.Id} which is Dead`);
      let freeze = opts.pause !== false && rec.State.Status === 'running';
      // Not persisted: a daemon killed during the commit restarts with the container "running", and unfreezes it.
      // A container whose process has just exited (its exit not handled yet) cannot be frozen: dockerd commits it
      // as it is, and so does berth; a pause that fails on a live process is still an error.
      if (freeze) await this.pauseLocked(rec, false).catch((err) => { if (processAlive(rec.State.Pid)) throw err; freeze = false; });
      try {
        const image = await buildCommit({
          images: this.images, rec, upper: this.paths.rootfs(rec.Id).upper, lowers: this.lowerDirs(rec),
          config, target, author: opts.author, comment: opts.comment,
        });
        this.event(rec, 'commit', { comment: opts.comment ?? '', imageID: image.id, imageRef: target ? familiarName(target) : '' });
        return image;
      } finally {
        // the container may have been stopped or killed meanwhile (both unpause it first)
        if (freeze && rec.State.Status === 'paused') {
          await this.unpauseLocked(rec).catch((e) => log.warn('unpause after commit failed', { id: rec.Id, error: errorMessage(e) }));
        }
      }
    });
  }

  /**
   * The classic builder's commit of a RUN step: `config` is the new image's config as is (the builder keeps the
   * stage's config itself, so nothing is taken over from the container's run command), the container is stopped.
   */
  async commitForBuild(ref: string, config: Record<string, unknown>, createdBy: string): Promise<ImageRecord> {
    const rec = this.store.get(ref);
    return this.serialize(rec.Id, () => buildCommit({
      images: this.images, rec, upper: this.paths.rootfs(rec.Id).upper, lowers: this.lowerDirs(rec), config, createdBy,
    }));
  }

  // ---------------------------------------------------------------- root file system for cp / export

  /**
   * The container's root file system, mounted for a file operation (cp, export) until release(). A running
   * container's is there already; a stopped one's is mounted now and unmounted after the last holder lets go,
   * unless the container runs again by then. Holders are counted: concurrent operations never unmount under
   * each other, and a container that exits while one holds its root leaves the unmount to the holder.
   */
  async holdRootfs(ref: string): Promise<RootfsHold> {
    const rec = this.store.get(ref);
    const rootfs = this.paths.rootfs(rec.Id);
    await this.serialize(rec.Id, async () => {
      if (rec.State.Status === 'removing' || !this.store.tryGet(rec.Id)) throw conflict(`container ${rec.Id} is marked for removal`);
      if (!this.isRunning(rec)) await mountOverlay(this.lowerDirs(rec), rootfs);
      this.rootfsHolds.set(rec.Id, (this.rootfsHolds.get(rec.Id) ?? 0) + 1);
    });
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await this.serialize(rec.Id, async () => {
        const n = (this.rootfsHolds.get(rec.Id) ?? 1) - 1;
        if (n > 0) { this.rootfsHolds.set(rec.Id, n); return; }
        this.rootfsHolds.delete(rec.Id);
        if (!this.isRunning(rec) && rec.State.Status !== 'removing' && this.store.tryGet(rec.Id)) await unmountOverlay(rootfs);
      }).catch((e) => log.warn('unmount after a file operation failed', { id: rec.Id, error: errorMessage(e) }));
    };
    return { rec, root: rootfs.merged, release };
  }

  // ---------------------------------------------------------------- attach

  /**
   * Joins a hijacked client connection to the container. Before start, the client is queued and joined
   * to the shim before the process runs, so no output is missed.
   */
  async attach(ref: string, client: Duplex, q: { stdin: boolean; stdout: boolean; stderr: boolean; detachKeys?: string }): Promise<void> {
    const rec = this.store.get(ref);
    const keys = parseDetachKeys(q.detachKeys);
    const opts = {
      tty: rec.Config.Tty, stdin: q.stdin && rec.Config.OpenStdin, stdout: q.stdout, stderr: q.stderr, detachKeys: keys,
      onStdinEnd: () => {
        // Docker closes the process's stdin when an attached client ends it, for StdinOnce without a TTY.
        if (rec.Config.StdinOnce && !rec.Config.Tty) void this.live.get(rec.Id)?.shim?.closeStdin().catch(() => undefined);
      },
    };
    const join = async (shim: Shim) => {
      const conn = await shim.attach();
      const how = await relay(client, conn, opts);
      if (how === 'detached') this.event(rec, 'detach');
    };
    const live = this.liveOf(rec.Id);
    if (live.shim) return join(live.shim);
    if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
      // Not running yet: wait for the next start (docker run attaches before it starts the container).
      return new Promise<void>((resolve) => {
        const entry = (shim: Shim) => { join(shim).then(resolve, () => { client.destroy(); resolve(); }); };
        live.pendingAttach.push(entry);
        client.on('close', () => {
          const i = live.pendingAttach.indexOf(entry);
          if (i >= 0) { live.pendingAttach.splice(i, 1); resolve(); }
        });
      });
    }
    throw conflict('You cannot attach to a stopped container, start it first');
  }

  // ---------------------------------------------------------------- recovery after a daemon restart

  /** Finds every container where it was: reconnects to live shims, records exits that happened meanwhile. */
  async recover(): Promise<void> {
    await this.store.load();
    // every reference first: an auto-removed container's exit below must not take a volume another one uses
    for (const rec of this.store.all()) this.mounts.addRefs(rec);
    const mounted = new Set(await mountsUnder(this.store.root).catch(() => [] as string[]));
    // the shims that exist before anything is started again: restart policies may spawn new ones while the
    // recovery goes on, and those are never orphans
    const shimsAtStart = await shimProcesses(`${this.opts.execRoot}/shim`).catch(() => []);
    const alive = new Map<string, Attachment>();
    await Promise.all(this.store.all().map(async (rec) => {
      if (rec.Transient) {
        // a build step's container whose build died with the daemon: nobody will commit or remove it
        const shimPid = await shimPidOf(this.paths.shimState(rec.Id));
        if (shimPid) await killShim(shimPid);
        await killCgroupProcesses(this.cgroupPath(rec));
        rec.State = { ...rec.State, Status: 'exited', Pid: 0 };
        await this.serialize(rec.Id, () => this.removeLocked(rec, { force: true, volumes: true }))
          .catch((e) => log.warn('removing a build container at daemon start failed', { id: rec.Id, error: errorMessage(e) }));
        return;
      }
      // the daemon went down during a restart back-off: the container is simply exited (policies below apply)
      if (rec.State.Status === 'restarting') rec.State.Status = 'exited';
      if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
        await this.rollBackInterruptedStart(rec, mounted);
        // Fault "SIGKILL during `run --rm`": the cut run stayed behind as Created. Like dockerd's restore, an
        // auto-remove container that is not running when the daemon comes back is removed.
        if (rec.HostConfig.AutoRemove) {
          await this.serialize(rec.Id, () => this.removeLocked(rec, { force: true, volumes: true }))
            .catch((e) => log.warn('auto-remove at daemon start failed', { id: rec.Id, error: errorMessage(e) }));
        }
        return;
      }
      if (!this.isRunning(rec) && rec.State.Status !== 'removing') return;
      const shim = await Shim.connect(this.paths.shimState(rec.Id));
      if (shim) {
        // Fault "SIGKILL during commit": commit's freeze is not persisted, so a container whose record says
        // running but whose cgroup is frozen was frozen by a commit that died with the daemon: thaw it.
        if (rec.State.Status === 'running' && (await isFrozen(this.cgroupPath(rec)))) {
          await this.driver(rec.Runtime).resume(rec.Id).catch((e) => log.warn('thawing a container frozen by a cut commit failed', { id: rec.Id, error: errorMessage(e) }));
        }
        await this.mounts.adopt(rec);
        this.liveOf(rec.Id).shim = shim;
        if (rec.Network) alive.set(rec.Id, rec.Network);
        this.watchExit(rec, shim);
        return;
      }
      // Its exit is handled below (which detaches its network) before reconcile runs: it is not alive for
      // reconcile. (Fault "SIGKILL during rm -f": listing it re-created the endpoint record of a dead container.)
      const status = await readExitStatus(this.paths.shimState(rec.Id));
      if (rec.State.Status === 'removing') {
        await this.serialize(rec.Id, () => this.removeLocked({ ...rec, State: { ...rec.State, Status: 'exited' } }, { force: true }));
        return;
      }
      await this.serialize(rec.Id, () => this.handleExit(rec, status));
    }));
    await this.removeOrphans(shimsAtStart);
    await this.opts.network.reconcile(alive).catch((e) => log.warn('network reconcile failed', { error: errorMessage(e) }));
    await this.opts.volumes.reconcileMounts().catch((e) => log.warn('volume mount reconcile failed', { error: errorMessage(e) }));
    // Restart policies after a daemon restart: always, and unless-stopped unless the user stopped it.
    for (const rec of this.store.all()) {
      const p = rec.HostConfig.RestartPolicy?.Name;
      if (rec.State.Status === 'exited' && !rec.StoppedByUser && (p === 'always' || p === 'unless-stopped')) {
        this.restartByPolicy(rec).catch((e) => log.warn('restart after daemon start failed', { id: rec.Id, error: errorMessage(e) }));
      }
    }
  }

  /**
   * A daemon killed in the middle of a start leaves a record that says created/exited and, maybe, a shim (with or
   * without a started process), a mounted rootfs, a cgroup and runtime state. The start never completed, so it is
   * undone. Fault "SIGKILL between mount and bundle": the mount alone is a leftover too (it used to stay mounted).
   */
  private async rollBackInterruptedStart(rec: ContainerRecord, mounted: Set<string>): Promise<void> {
    const stateDir = this.paths.shimState(rec.Id);
    const leftovers = existsSync(stateDir) || existsSync(this.paths.bundle(rec.Id)) || mounted.has(this.paths.rootfs(rec.Id).merged)
      || this.runtimeStateExists(rec) || (await cgroupExists(this.cgroupPath(rec)));
    if (!leftovers) return;
    // Fault "SIGKILL after the shim was spawned, before `start`": the shim waits for a start that never comes and
    // a connect-then-close left it running forever. It is killed with whatever it started (a `crun run` in
    // flight); processes that already made it into the container's cgroup go with the cgroup.
    const shimPid = await shimPidOf(stateDir);
    if (shimPid) await killShim(shimPid);
    await killCgroupProcesses(this.cgroupPath(rec));
    log.warn('rolled back a container start the daemon did not finish', { id: rec.Id });
    await this.releaseResources(rec);
    this.released.delete(rec.Id);
  }

  /** The runtime keeps state for the container (false when its runtime is no longer known to this daemon). */
  private runtimeStateExists(rec: ContainerRecord): boolean {
    try { return existsSync(`${this.driver(rec.Runtime).root}/${rec.Id}`); } catch { return false; }
  }

  /**
   * What belongs to no container any more (fault "SIGKILL during rm or a cut start of a container that is gone"):
   * shims of unknown containers, overlay mounts and directories of containers without a record (a create or an
   * rm cut short). Exec shims of running containers are left alone: their processes are the user's.
   */
  private async removeOrphans(shimsAtStart: ShimProcess[]): Promise<void> {
    const known = new Map(this.store.all().map((r) => [r.Id.slice(0, 16), r]));
    const shimRoot = `${this.opts.execRoot}/shim`;
    for (const p of shimsAtStart) {
      const [cid, execId] = p.stateDir.slice(shimRoot.length + 1).split('-');
      const rec = known.get(cid);
      const owned = rec && (execId ? this.isRunning(rec) : this.live.get(rec.Id)?.shim !== undefined);
      if (owned) continue;
      log.warn('killing an orphaned container shim', { pid: p.pid, stateDir: p.stateDir });
      await killShim(p.pid);
    }
    for (const name of await fs.readdir(shimRoot).catch(() => [] as string[])) {
      const rec = known.get(name.split('-')[0]);
      // (a state dir whose shim is still there is left alone: that shim is either owned or was killed above)
      if (!rec) await fs.rm(`${shimRoot}/${name}`, { recursive: true, force: true }).catch(() => undefined);
    }
    for (const id of await fs.readdir(this.store.root).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(id) || this.store.tryGet(id)) continue;
      const dir = this.store.dir(id);
      // only a directory without any record: an unreadable record is kept for a human to look at
      if (existsSync(`${dir}/config.v2.json`)) continue;
      for (const m of await mountsUnder(dir).catch(() => [] as string[])) {
        await unmountOverlay({ upper: '', work: '', merged: m }).catch((e) => log.warn('unmount of an orphaned rootfs failed', { mount: m, error: errorMessage(e) }));
      }
      await killCgroupProcesses(this.cgroupPath({ Id: id } as ContainerRecord)).catch(() => 0);
      await this.driver(this.opts.defaultRuntime.name).delete(id, this.cgroupPath({ Id: id } as ContainerRecord)).catch(() => undefined);
      log.warn('removing the files of a container that has no record (a create or rm was cut short)', { id });
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- resources: update, stats, OOM

  /** Rootless without a delegated cgroup v2 subtree: limits cannot be enforced, so asking for one is refused (400). */
  private refuseLimitsWithoutCgroups(r: object): void {
    const why = this.opts.rootless?.limitsUnavailable;
    if (why && Object.keys(r).length) throw invalidParameter(why);
  }

  /** The container's cgroup, as given to the runtime (the same path in every v1 hierarchy, or under the v2 root). */
  cgroupPath(rec: ContainerRecord): string { return `/berth/${rec.Id}`; }

  /** Whether the kernel's OOM killer killed a process of the container (read before its cgroup is removed). */
  private async wasOomKilled(rec: ContainerRecord): Promise<boolean> {
    return (await oomKillCount(new ContainerCgroup(this.cgroupPath(rec))).catch(() => 0)) > 0;
  }

  /**
   * POST /containers/{id}/update: resource limits and the restart policy. Persisted, and written into the
   * cgroup at once when the container runs; a stopped one gets them at its next start.
   */
  async update(ref: string, body: unknown): Promise<{ Warnings: string[] | null }> {
    const rec = this.store.get(ref);
    const req = parseUpdateBody(body);
    checkRestartPolicy(req.RestartPolicy);
    const warnings = verifyResources(req, hostSupport(), true);
    this.refuseLimitsWithoutCgroups(updateResources(req, req));
    return this.serialize(rec.Id, async () => {
      if (!this.store.tryGet(rec.Id) || rec.State.Status === 'removing') {
        throw conflict(`Cannot update container ${rec.Id}: container is marked for removal and cannot be "update"`);
      }
      const next = mergeUpdate(rec.HostConfig, req, rec.Id);
      if (this.isRunning(rec)) {
        await applyResources(new ContainerCgroup(this.cgroupPath(rec)), updateResources(req, next))
          .catch((e) => { throw systemError(`Cannot update container ${rec.Id}: ${errorMessage(e)}`); });
      }
      rec.HostConfig = next;
      await this.store.save(rec);
      this.event(rec, 'update');
      return { Warnings: warnings.length ? warnings : null };
    });
  }

  private statsReader?: ContainerStatsReader;
  /** Samples of running containers' cgroups for GET /containers/{id}/stats. */
  get stats(): ContainerStatsReader {
    return this.statsReader ??= new ContainerStatsReader({ exists: (id) => !!this.store.tryGet(id), cgroupPath: (rec) => this.cgroupPath(rec) });
  }

  /** Detaches from shims without stopping containers (daemon shutdown). */
  detachAll(): void {
    for (const l of this.live.values()) l.shim?.close();
  }

}

/** The process exists and is not a zombie (an exited container's pid is reaped by its shim, which may lag). */
function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}
