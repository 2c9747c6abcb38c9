// Pod sandboxes: RunPodSandbox makes the pod's namespaces and network and starts the pause process that holds
// them; Stop tears the network down and stops everything in the pod; Remove deletes what is left. Every step of
// a run is undone when a later one fails, so a failed RunPodSandbox leaves no netns, veth, IP reservation, mount
// or cgroup behind.
import { promises as fs, existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { newId } from '../common/ids';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { writeFileAtomic } from '../common/atomic';
import { buildSpec, containerSeccomp, seccompBpf, Shim, readExitStatus, run, mountSyscall, umountSyscall, createNetnsSyscall, MNT_DETACH, SyscallError } from '../runtime';
import type { CriContext } from './context';
import type { PodRecord, ContainerRecord } from './store';
import { alreadyExists, failedPrecondition, invalidArgument, wrap, internal } from './errors';
import { loadNetwork, podIps } from './cni';
import { NamespaceMode, PodState, type PodSandboxConfig, type PortMapping, Protocol } from './types';
import { nowNs } from './events';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

/** containers of the pod are stopped, the network is torn down: what StopPodSandbox does to the containers */
export interface ContainerStopper { stopForPod(c: ContainerRecord): Promise<void>; removeForPod(c: ContainerRecord): Promise<void> }

const PAUSE_UID = 65535;

export function podKey(cfg: PodSandboxConfig): string {
  const m = cfg.metadata!;
  return `${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}

export function namespaceOptions(cfg: PodSandboxConfig) {
  const ns = cfg.linux?.security_context?.namespace_options;
  return {
    network: ns?.network ?? NamespaceMode.POD, pid: ns?.pid ?? NamespaceMode.POD, ipc: ns?.ipc ?? NamespaceMode.POD,
  };
}

export class PodManager {
  /** names being set up (a pod is in the store only once it is complete) */
  private reserved = new Set<string>();

  constructor(private readonly ctx: CriContext, private readonly containers: ContainerStopper) {}

  // ------------------------------------------------------------------------------------------- run

  async run(cfg: PodSandboxConfig | null, handler: string): Promise<string> {
    if (!cfg) throw invalidArgument('sandbox config is required');
    const m = cfg.metadata;
    if (!m || !m.name || !m.uid || !m.namespace) throw invalidArgument('sandbox config must include metadata with name, uid and namespace');
    if (handler && handler !== this.ctx.driver.info.name) throw invalidArgument(`no runtime for "${handler}" is configured`);
    checkPortMappings(cfg.port_mappings ?? []);
    const key = podKey(cfg);
    for (const p of this.ctx.store.pods.values()) {
      if (podKey(p.config) === key) throw alreadyExists(`failed to reserve sandbox name "${key}": name is reserved for "${p.id}"`);
    }
    if (this.reserved.has(key)) throw alreadyExists(`failed to reserve sandbox name "${key}": name is being reserved`);
    this.reserved.add(key);
    const id = newId();
    const ns = namespaceOptions(cfg);
    const hostNetwork = ns.network === NamespaceMode.NODE;
    const userParent = cfg.linux?.cgroup_parent || '';
    const pod: PodRecord = {
      id, config: cfg, runtimeHandler: handler, createdAt: nowNs(), state: 'ready', hostNetwork, pausePid: 0,
      cgroupParent: userParent || `${this.ctx.cgroupRoot}/${id}`, ownCgroupParent: !userParent,
    };
    const undo: Array<() => Promise<unknown>> = [];
    const t0 = process.hrtime.bigint();
    const mark = (step: string) => log.debug('runp step', { id: id.slice(0, 12), step, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    try {
      const net = hostNetwork ? undefined : await loadNetwork(this.ctx.cni.confDir);
      if (!hostNetwork && !net) throw failedPrecondition(`failed to setup network for sandbox "${id}": cni config uninitialized: no network config found in ${this.ctx.cni.confDir}`);
      // CNI fills the network namespace and the pause joins it: both start as soon as it exists (the runp
      // critical path is netns → max(CNI, pause)); the sandbox's files and /dev/shm are made meanwhile
      const files = this.writeSandboxFiles(pod);
      const shm = ns.ipc !== NamespaceMode.NODE ? this.mountShm(id) : Promise.resolve(undefined);
      const netns = hostNetwork ? Promise.resolve(undefined) : this.createNetns(id).then((file) => { mark('netns'); return file; });
      const cni = net ? netns.then((file) => this.ctx.cni.add(net, {
        containerId: id, netns: file!, podName: m.name, podNamespace: m.namespace, podUid: m.uid,
        portMappings: (cfg.port_mappings ?? []).filter((p) => p.host_port > 0).map((p) => ({
          hostPort: p.host_port, containerPort: p.container_port, protocol: protocolName(p.protocol), hostIP: p.host_ip || '',
        })),
      })) : Promise.resolve(undefined);
      const pause = netns.then((file) => { pod.netns = file; return this.startPause(pod, mark); });
      const [filesR, shmR, netnsR, cniR, pauseR] = await Promise.allSettled([files, shm, netns, cni, pause]);
      mark('cni+pause');
      undo.push(() => fs.rm(this.ctx.layout.sandboxDir(id), { recursive: true, force: true }));
      if (shmR.status === 'fulfilled' && shmR.value) { pod.shm = shmR.value; undo.push(() => this.unmountShm(id)); }
      if (netnsR.status === 'fulfilled' && netnsR.value) { pod.netns = netnsR.value; undo.push(() => this.removeNetns(id)); }
      if (cniR.status === 'fulfilled' && cniR.value) {
        const state = cniR.value;
        pod.cni = state;
        const ips = podIps(state.result);
        pod.ip = ips[0];
        pod.additionalIps = ips.slice(1);
        undo.push(() => this.ctx.cni.del(state, pod.netns));
      }
      if (pauseR.status === 'fulfilled') undo.push(() => this.killPause(pod));
      for (const r of [filesR, shmR, netnsR]) if (r.status === 'rejected') throw r.reason;
      if (cniR.status === 'rejected') throw wrap(cniR.reason, `failed to setup network for sandbox "${id}"`);
      if (pauseR.status === 'rejected') throw pauseR.reason;
      if (pod.ip) await this.writeHosts(pod); // the pod's own name resolves to its address
      await this.ctx.store.savePod(pod);
      mark('saved');
      return id;
    } catch (err) {
      for (const step of undo.reverse()) await step().catch((e) => log.warn('undoing a pod sandbox step failed', { id, error: errorMessage(e) }));
      await this.removeCgroupParent(pod).catch(() => undefined);
      throw err;
    } finally {
      this.reserved.delete(key);
    }
  }

  /** hostname, hosts and resolv.conf of the pod, bind-mounted into each of its containers */
  private async writeSandboxFiles(pod: PodRecord): Promise<void> {
    const dir = this.ctx.layout.sandboxDir(pod.id);
    await fs.mkdir(dir, { recursive: true, mode: 0o711 });
    await writeFileAtomic(path.join(dir, 'hostname'), podHostname(pod) + '\n', 0o644, false);
    const dns = pod.config.dns_config;
    let resolv: string;
    if (dns && (dns.servers.length || dns.searches.length || dns.options.length)) {
      resolv = [
        ...(dns.searches.length ? [`search ${dns.searches.join(' ')}`] : []),
        ...dns.servers.map((s) => `nameserver ${s}`),
        ...(dns.options.length ? [`options ${dns.options.join(' ')}`] : []),
      ].join('\n') + '\n';
    } else {
      resolv = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    }
    await writeFileAtomic(path.join(dir, 'resolv.conf'), resolv, 0o644, false);
    await this.writeHosts(pod);
  }

  private async writeHosts(pod: PodRecord): Promise<void> {
    const file = path.join(this.ctx.layout.sandboxDir(pod.id), 'hosts');
    if (pod.hostNetwork) {
      await writeFileAtomic(file, await fs.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n'), 0o644, false);
      return;
    }
    const name = pod.config.hostname || os.hostname();
    const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters', ...(pod.ip ? [`${pod.ip}\t${name}`] : [])];
    await writeFileAtomic(file, lines.join('\n') + '\n', 0o644, false);
  }

  /** The pod-wide /dev/shm (its containers share the IPC namespace, so they share this too). */
  private async mountShm(id: string): Promise<string> {
    const dir = this.ctx.layout.shm(id);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const opts = 'mode=1777,size=67108864';
    if (!mountSyscall('shm', dir, 'tmpfs', 0x2 | 0x4 | 0x8 /* nosuid nodev noexec */, opts)) {
      await run('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,${opts}`, 'shm', dir]);
    }
    return dir;
  }

  private async unmountShm(id: string): Promise<void> {
    const dir = this.ctx.layout.shm(id);
    await detach(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** A new network namespace bound to a file, with lo up (what CNI's loopback plugin would do): through the
   * syscalls (the runp critical path runs through here to CNI), else busybox's or util-linux's unshare and ip. */
  private async createNetns(id: string): Promise<string> {
    const file = this.ctx.layout.netns(id);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o711 });
    await fs.writeFile(file, '', { mode: 0o444 });
    try {
      if (createNetnsSyscall(file)) return file;
      if (BUSYBOX) await run(BUSYBOX, ['unshare', `--net=${file}`, BUSYBOX, 'ip', 'link', 'set', 'lo', 'up']);
      else await run('unshare', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await detach(file);
      await fs.rm(file, { force: true });
      throw internal(`failed to create network namespace for sandbox "${id}": ${errorMessage(err)}`);
    }
    return file;
  }

  private async removeNetns(id: string): Promise<void> {
    const file = this.ctx.layout.netns(id);
    await detach(file);
    await fs.rm(file, { force: true });
  }

  // ------------------------------------------------------------------------------------------- pause

  private async startPause(pod: PodRecord, mark: (step: string) => void = () => {}): Promise<void> {
    const { layout, driver } = this.ctx;
    const ns = namespaceOptions(pod.config);
    const sysctls = pod.config.linux?.sysctls ?? {};
    const privileged = !!pod.config.linux?.security_context?.privileged;
    const seccompIn = { capAdd: [], capDrop: ['ALL'], privileged: false };
    const profile = containerSeccomp(seccompIn);
    const spec = buildSpec({
      rootfs: layout.pauseRoot(), readonlyRootfs: true, args: ['/pause'], env: ['PATH=/'], cwd: '/',
      user: { uid: PAUSE_UID, gid: PAUSE_UID, additionalGids: [] }, terminal: false,
      hostname: podHostname(pod),
      netnsPath: pod.hostNetwork ? null : pod.netns, ...seccompIn, seccomp: profile ?? null, seccompBpf: profile ? await seccompBpf(profile) : undefined,
      cgroupsPath: `${pod.cgroupParent}/${pod.id}`, etcFiles: [],
      sysctl: Object.keys(sysctls).length ? sysctls : undefined,
    });
    const linux = spec.linux as { namespaces: Array<{ type: string; path?: string }>; maskedPaths?: string[]; readonlyPaths?: string[] };
    linux.namespaces = linux.namespaces.filter((n) => {
      if (n.type === 'pid') return ns.pid === NamespaceMode.POD;
      if (n.type === 'ipc') return ns.ipc !== NamespaceMode.NODE;
      if (n.type === 'uts') return !pod.hostNetwork;
      return true;
    });
    if (pod.hostNetwork) delete spec.hostname;
    // a privileged pod's sandbox may set any sysctl: no read-only /proc/sys in the way
    if (privileged) { delete linux.maskedPaths; delete linux.readonlyPaths; }
    const bundle = layout.bundle(pod.id);
    await fs.mkdir(bundle, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(bundle, 'config.json'), JSON.stringify(spec), 0o600, false);
    const stateDir = layout.shimState(pod.id);
    await fs.rm(stateDir, { recursive: true, force: true });
    let shim: Shim | undefined;
    mark('pause spec');
    try {
      shim = await Shim.spawn({ runtimePath: driver.execPath, runtimeRoot: driver.root, id: pod.id, bundle, stateDir, tty: false, stdin: false, stdinOnce: false, run: true });
      mark('pause shim');
      pod.pausePid = await shim.start();
      mark('pause started');
    } catch (err) {
      shim?.close();
      await driver.delete(pod.id, `${pod.cgroupParent}/${pod.id}`).catch(() => undefined);
      await fs.rm(bundle, { recursive: true, force: true });
      await fs.rm(stateDir, { recursive: true, force: true });
      throw internal(`failed to start sandbox container "${pod.id}": ${errorMessage(err)}`);
    }
    this.ctx.shims.set(pod.id, shim);
    this.watchPause(pod, shim);
  }

  watchPause(pod: PodRecord, shim: Shim): void {
    void shim.exited.then(() => {
      if (this.ctx.shims.get(pod.id) === shim) this.ctx.shims.delete(pod.id);
      pod.pausePid = 0;
    });
  }

  /** Stops the pause process and removes its runtime state; resolves once it is gone. */
  private async killPause(pod: PodRecord): Promise<void> {
    const shim = this.ctx.shims.get(pod.id);
    if (pod.pausePid > 0) { try { process.kill(pod.pausePid, 'SIGKILL'); } catch { /* gone */ } }
    if (shim) await Promise.race([shim.exited, delay(10_000)]);
    else if (pod.pausePid > 0) await readExitStatus(this.ctx.layout.shimState(pod.id)).catch(() => undefined);
    this.ctx.shims.delete(pod.id);
    pod.pausePid = 0;
    await this.ctx.driver.delete(pod.id, `${pod.cgroupParent}/${pod.id}`).catch((e) => log.warn('pause runtime delete failed', { id: pod.id, error: errorMessage(e) }));
    await fs.rm(this.ctx.layout.bundle(pod.id), { recursive: true, force: true });
    await fs.rm(this.ctx.layout.shimState(pod.id), { recursive: true, force: true });
  }

  /** The pod's own cgroup parent (only when berth made it: a kubelet's parent belongs to the kubelet). */
  private async removeCgroupParent(pod: PodRecord): Promise<void> {
    if (!pod.ownCgroupParent) return;
    const dirs = [`/sys/fs/cgroup${pod.cgroupParent}`, ...(await fs.readdir('/sys/fs/cgroup')).map((h) => `/sys/fs/cgroup/${h}${pod.cgroupParent}`)];
    await Promise.all(dirs.map((d) => fs.rmdir(d).catch(() => undefined)));
  }

  // ------------------------------------------------------------------------------------------- stop / remove

  async stop(ref: string): Promise<void> {
    const pod = this.ctx.store.pod(ref);
    // containers first (they use the namespaces), then the pause, then the network
    for (const c of this.ctx.store.containersOf(pod.id)) await this.containers.stopForPod(c);
    await this.killPause(pod);
    if (pod.cni) {
      try {
        await this.ctx.cni.del(pod.cni, pod.netns);
      } catch (err) {
        throw wrap(err, `failed to destroy network for sandbox "${pod.id}"`);
      }
      pod.cni.added = 0; // torn down: a second stop does nothing
    }
    if (pod.netns) await this.removeNetns(pod.id);
    if (pod.shm) await this.unmountShm(pod.id);
    if (pod.state !== 'notready') {
      pod.state = 'notready';
      await this.ctx.store.savePod(pod);
    }
  }

  /** Idempotent: an unknown pod is not an error (the kubelet retries removals). */
  async remove(ref: string): Promise<void> {
    const pod = this.ctx.store.findPod(ref);
    if (!pod) return;
    await this.stop(pod.id);
    for (const c of this.ctx.store.containersOf(pod.id)) await this.containers.removeForPod(c);
    await this.removeCgroupParent(pod).catch(() => undefined);
    await fs.rm(this.ctx.layout.sandboxDir(pod.id), { recursive: true, force: true });
    await this.ctx.store.removePod(pod.id);
  }

  // ------------------------------------------------------------------------------------------- status / list

  status(ref: string, verbose: boolean): Record<string, unknown> {
    const pod = this.ctx.store.pod(ref);
    const status = podStatus(pod);
    const info: Record<string, string> = {};
    if (verbose) {
      info.info = JSON.stringify({
        pid: pod.pausePid, netNamespacePath: pod.netns ?? '', runtimeHandler: pod.runtimeHandler || this.ctx.driver.info.name,
        cgroupParent: pod.cgroupParent, cniResult: pod.cni?.result ?? null, config: pod.config,
      });
    }
    return { status, info, containers_statuses: [], timestamp: nowNs() };
  }

  list(filter: { id?: string; state?: { state: PodState } | null; label_selector?: Record<string, string> } | null): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const pod of this.ctx.store.pods.values()) {
      if (filter?.id && !pod.id.startsWith(filter.id)) continue;
      const state = pod.state === 'ready' ? PodState.READY : PodState.NOTREADY;
      if (filter?.state && filter.state.state !== state) continue;
      if (!labelsMatch(pod.config.labels ?? {}, filter?.label_selector)) continue;
      out.push({
        id: pod.id, metadata: pod.config.metadata, state, created_at: pod.createdAt,
        labels: pod.config.labels ?? {}, annotations: pod.config.annotations ?? {}, runtime_handler: pod.runtimeHandler,
      });
    }
    return out;
  }
}

/** The pod's hostname: its config's (else the node's); the node's with the host's network. */
function podHostname(pod: PodRecord): string {
  return pod.hostNetwork ? os.hostname() : (pod.config.hostname || os.hostname());
}

export function podStatus(pod: PodRecord): Record<string, unknown> {
  const ns = namespaceOptions(pod.config);
  return {
    id: pod.id, metadata: pod.config.metadata, state: pod.state === 'ready' ? PodState.READY : PodState.NOTREADY,
    created_at: pod.createdAt,
    network: pod.state === 'ready' && pod.ip ? { ip: pod.ip, additional_ips: (pod.additionalIps ?? []).map((ip) => ({ ip })) } : { ip: '', additional_ips: [] },
    linux: { namespaces: { options: { network: ns.network, pid: ns.pid, ipc: ns.ipc, target_id: '' } } },
    labels: pod.config.labels ?? {}, annotations: pod.config.annotations ?? {}, runtime_handler: pod.runtimeHandler,
  };
}

export function labelsMatch(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

function checkPortMappings(ports: PortMapping[]): void {
  for (const p of ports) {
    if (p.container_port <= 0 || p.container_port > 65535) throw invalidArgument(`invalid container port ${p.container_port}`);
    if (p.host_port < 0 || p.host_port > 65535) throw invalidArgument(`invalid host port ${p.host_port}`);
  }
}

function protocolName(p: Protocol): string {
  return p === Protocol.UDP ? 'udp' : p === Protocol.SCTP ? 'sctp' : 'tcp';
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Unmounts (lazily) whatever is mounted at `target`; nothing mounted is fine. */
async function detach(target: string): Promise<void> {
  try {
    if (umountSyscall(target, MNT_DETACH)) return;
  } catch (err) {
    if (err instanceof SyscallError && (err.errno === 22 || err.errno === 2)) return; // EINVAL/ENOENT: not mounted
    throw err;
  }
  await run('umount', ['-l', target]).catch(() => undefined);
}
