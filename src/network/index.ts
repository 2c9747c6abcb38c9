// The network layer's entry point: the default "bridge" network (plus "host" and "none") and the per-container
// attachments the container engine asks for. See ./README.md for the design and the measurements behind it.
import { promises as fs } from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { EngineError, errorMessage, invalidParameter, notFound, systemError } from '../common/errors';
import { readJson, writeJsonAtomic, writeFileAtomic } from '../common/atomic';
import { log } from '../common/log';
import { Attachment, AttachRequest, NetworkMode, PortBinding, PortSpec } from './types';
import { Cidr, defaultCandidates, formatCidr, formatIp, hostAddresses, hostRange, hostRoutes, isIpv4, overlaps, parseCidr } from './ipv4';
import { Ipam } from './ipam';
import { Firewall } from './iptables';
import { PortInUse, PortTable, allocatePorts } from './ports';
import {
  createBridgedNetns, createEmptyNetns, deleteLink, enslave, ensureBridge, links, removeNetns, waitLinkGone, warmSpec,
  writeSysctl,
} from './netns';
import { replaceFile } from './fsutil';
import { WarmPool } from './warm';

export { Attachment, AttachRequest, NetworkMode, PortBinding, PortSpec } from './types';

export interface NetworkManagerOptions {
  /** persistent state; the layer keeps everything below <dataRoot>/network */
  dataRoot: string;
  /** runtime state (tmpfs); namespaces are bound under <execRoot>/netns/<containerId> */
  execRoot: string;
  /** default 'berth0' */
  bridgeName?: string;
  /** default: the first of 10.88.0.0/16 … 10.119.0.0/16, 172.30/31.0.0/16 that collides with no host route */
  subnet?: string;
  /** default 1500 */
  mtu?: number;
  /**
   * pre-start the helper processes and one spare namespace so that attach only feeds them (see warm.ts);
   * default true unless BERTH_NET_WARM=0
   */
  warm?: boolean;
}

interface NetworkState {
  version: 1;
  bridge: string;
  subnet: string;
  bridgeMac: string;
  ids: { bridge: string; host: string; none: string };
  created: string;
}

interface EndpointRecord {
  containerId: string;
  name?: string;
  mode: NetworkMode;
  netnsPath?: string;
  hostVeth?: string;
  ipAddress?: string;
  prefixLen?: number;
  gateway?: string;
  macAddress?: string;
  ports: PortBinding[];
  endpointId: string;
  created: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const randomMac = () => {
  const b = randomBytes(4);
  return ['02', '42', ...Array.from(b, (x) => x.toString(16).padStart(2, '0'))].join(':');
};

/** Serializes async sections (one chain per key). */
class Locks {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }
}

export class NetworkManager {
  readonly bridgeName: string;
  readonly root: string;
  readonly netnsDir: string;
  private readonly endpointsDir: string;
  private readonly mtu: number;
  private state!: NetworkState;
  private subnet!: Cidr;
  private gatewayIp!: string;
  private ipam!: Ipam;
  private firewall!: Firewall;
  private readonly ports = new PortTable();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly locks = new Locks();
  private pool: WarmPool | undefined;

  private constructor(private readonly opts: NetworkManagerOptions) {
    this.bridgeName = opts.bridgeName ?? 'berth0';
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(this.bridgeName) || this.bridgeName.length > 15) {
      throw invalidParameter(`invalid bridge name: ${this.bridgeName}`);
    }
    this.root = path.join(opts.dataRoot, 'network');
    this.endpointsDir = path.join(this.root, 'endpoints');
    this.netnsDir = path.join(opts.execRoot, 'netns');
    this.mtu = opts.mtu ?? 1500;
  }

  /** Creates or repairs the default network "bridge": bridge device, IPAM, NAT/filter rules, sysctls. */
  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const m = new NetworkManager(opts);
    await m.init();
    return m;
  }

  get subnetCidr(): string { return formatCidr(this.subnet); }
  get gateway(): string { return this.gatewayIp; }

  private async init(): Promise<void> {
    await fs.mkdir(this.endpointsDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.netnsDir, { recursive: true, mode: 0o711 });
    const stateFile = path.join(this.root, 'network.json');
    const prev = await readJson<NetworkState>(stateFile);
    let subnet: Cidr;
    if (this.opts.subnet) {
      try { subnet = parseCidr(this.opts.subnet); } catch (err) { throw invalidParameter(errorMessage(err)); }
      if (subnet.prefix > 30) throw invalidParameter(`subnet ${this.opts.subnet} is too small`);
    } else if (prev?.subnet && prev.bridge === this.bridgeName) {
      subnet = parseCidr(prev.subnet);
    } else {
      subnet = await this.chooseSubnet();
    }
    this.state = {
      version: 1,
      bridge: this.bridgeName,
      subnet: formatCidr(subnet),
      bridgeMac: prev?.bridgeMac ?? randomMac(),
      ids: prev?.ids ?? { bridge: hex(32), host: hex(32), none: hex(32) },
      created: prev?.created ?? new Date().toISOString(),
    };
    if (JSON.stringify(prev) !== JSON.stringify(this.state)) await writeJsonAtomic(stateFile, this.state);
    this.subnet = subnet;
    const gw = hostRange(subnet).first;
    this.gatewayIp = formatIp(gw);
    this.ipam = new Ipam(path.join(this.root, 'ipam', 'bridge'), subnet, gw);
    await this.ipam.init();
    this.firewall = new Firewall(this.bridgeName, formatCidr(subnet), () => this.pool?.takeIptables());

    await ensureBridge(this.bridgeName, this.state.bridgeMac, `${this.gatewayIp}/${subnet.prefix}`, this.mtu);
    await writeSysctl('net/ipv4/ip_forward', '1');
    // published ports answer on 127.0.0.1: DNAT to the bridge needs 127/8 to be routable there
    await writeSysctl(`net/ipv4/conf/${this.bridgeName}/route_localnet`, '1');
    await this.firewall.setup();
    await this.writeConflist();

    for (const rec of await this.readRecords()) {
      this.endpoints.set(rec.containerId, rec);
      for (const p of rec.ports) this.ports.add(rec.containerId, p);
    }
    if (this.opts.warm ?? process.env.BERTH_NET_WARM !== '0') {
      this.pool = new WarmPool(this.netnsDir, warmSpec());
      await this.pool.warm();
    }
  }

  /** Namespace files pre-created for the next attachments (not owned by any container). */
  spareNetns(): string[] { return this.pool?.files() ?? []; }

  /** Waits for background work (refilling the pre-started helpers). */
  async settle(): Promise<void> { await this.pool?.settle(); }

  /** Stops the pre-started helpers and removes the spare namespace (daemon shutdown). Attachments stay. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private async chooseSubnet(): Promise<Cidr> {
    const taken: Cidr[] = [
      ...(await hostRoutes()).filter((r) => r.dev !== this.bridgeName).map((r) => r.dst),
      ...hostAddresses().filter((a) => a.dev !== this.bridgeName).map((a) => a.cidr),
    ];
    for (const c of defaultCandidates()) {
      const cidr = parseCidr(c);
      if (!taken.some((t) => overlaps(t, cidr))) return cidr;
    }
    throw systemError('could not find a free subnet for the default bridge network: all candidates collide with host routes');
  }

  /** The same network as a CNI conflist, for CNI tooling (the IPAM directory is shared with host-local). */
  private async writeConflist(): Promise<void> {
    const conf = {
      cniVersion: '1.0.0',
      name: 'bridge',
      plugins: [
        {
          type: 'bridge', bridge: this.bridgeName, isGateway: true, ipMasq: false, hairpinMode: false, mtu: this.mtu,
          ipam: {
            type: 'host-local', dataDir: path.join(this.root, 'ipam'),
            ranges: [[{ subnet: formatCidr(this.subnet), gateway: this.gatewayIp }]], routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall', backend: 'iptables' },
      ],
    };
    const file = path.join(this.root, 'cni', 'bridge.conflist');
    await fs.mkdir(path.dirname(file), { recursive: true });
    const text = JSON.stringify(conf, null, 2) + '\n';
    if ((await fs.readFile(file, 'utf8').catch(() => '')) !== text) await writeFileAtomic(file, text, 0o644);
  }

  vethName(containerId: string): string {
    return 'vb' + sha(`${this.bridgeName}\0${containerId}`).slice(0, 12);
  }

  /** A new namespace file name: random, like Docker's sandbox keys (/var/run/docker/netns/8ab54b426c38). */
  private newNetnsPath(): string { return path.join(this.netnsDir, hex(6)); }

  /**
   * Creates the container's network namespace (bridge / none) and returns how it is attached.
   * On failure everything done so far is undone.
   */
  async attach(containerId: string, req: AttachRequest): Promise<Attachment> {
    if (!ID_RE.test(containerId)) throw invalidParameter(`invalid container id for networking: ${containerId}`);
    if (!['bridge', 'none', 'host'].includes(req.mode)) throw invalidParameter(`unsupported network mode: ${req.mode}`);
    const specs = req.mode === 'bridge' ? validatePorts(req.ports ?? []) : [];
    return this.locks.run(containerId, async () => {
      const stale = this.endpoints.get(containerId) ?? await this.readRecord(containerId);
      if (stale) {
        log.warn('network: removing a stale attachment before attaching again', { container: containerId });
        await this.cleanup(stale);
      }
      const endpointId = hex(32);
      if (req.mode === 'host') return { mode: 'host', network: 'host', ports: [], endpointId };

      const rec: EndpointRecord = {
        containerId, name: req.name, mode: req.mode, ports: [], endpointId, created: new Date().toISOString(),
      };
      if (req.mode === 'none') {
        const warm = this.pool?.takeNetns();
        rec.netnsPath = warm?.file ?? this.newNetnsPath();
        try {
          await this.saveRecord(rec);
          await createEmptyNetns(rec.netnsPath, warm);
        } catch (err) {
          if (warm?.inside.alive) void warm.inside.discard();
          await this.cleanup(rec).catch((e) => log.error('network: undo failed', { container: containerId, err: errorMessage(e) }));
          throw systemError(`failed to create network namespace: ${errorMessage(err)}`);
        }
        return this.toAttachment(rec);
      }

      // bridge: addresses and ports first (all-or-nothing, serialized between containers), then the kernel work
      const alloc = await this.locks.run('\0alloc', async () => {
        const ip = await this.ipam.allocate(containerId);
        try {
          return { ip, ports: await allocatePorts(this.ports, containerId, specs) };
        } catch (err) {
          await this.ipam.release(containerId, ip);
          throw err;
        }
      }).catch((err) => {
        if (err instanceof PortInUse) {
          throw new EngineError(500, `driver failed programming external connectivity on endpoint ${req.name ?? containerId.slice(0, 12)} (${endpointId}): ${err.message}`);
        }
        throw err;
      });
      const warmNs = this.pool?.takeNetns();
      const warmIp = this.pool?.takeIp();
      Object.assign(rec, {
        netnsPath: warmNs?.file ?? this.newNetnsPath(),
        hostVeth: this.vethName(containerId), ipAddress: alloc.ip, prefixLen: this.subnet.prefix, gateway: this.gatewayIp,
        macAddress: randomMac(), ports: alloc.ports,
      });
      try {
        await this.saveRecord(rec);
        const results = await Promise.allSettled([
          createBridgedNetns(rec.netnsPath!, {
            hostVeth: rec.hostVeth!, bridge: this.bridgeName, mac: rec.macAddress!, address: rec.ipAddress!,
            prefixLen: rec.prefixLen!, gateway: rec.gateway!, mtu: this.mtu,
          }, { netns: warmNs, ip: warmIp }),
          this.firewall.addPorts(containerId, rec.ipAddress!, rec.ports),
        ]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } catch (err) {
        if (warmIp?.alive) void warmIp.discard();
        if (warmNs?.inside.alive) void warmNs.inside.discard();
        await this.cleanup(rec).catch((e) => log.error('network: undo failed', { container: containerId, err: errorMessage(e) }));
        throw systemError(`failed to set up container networking: ${errorMessage(err)}`);
      }
      return this.toAttachment(rec);
    });
  }

  /** Removes the container's namespace, veth, rules and address. Idempotent; safe after a crash or restart. */
  async detach(containerId: string, att: Attachment): Promise<void> {
    if (!ID_RE.test(containerId)) throw invalidParameter(`invalid container id for networking: ${containerId}`);
    await this.locks.run(containerId, async () => {
      const rec = this.endpoints.get(containerId) ?? await this.readRecord(containerId) ?? this.recordFrom(containerId, att);
      await this.cleanup(rec);
    });
  }

  /**
   * At daemon start: removes namespaces, veths, DNAT rules, addresses and records of every container that is not
   * in `live`, and re-adopts the live ones.
   */
  async reconcile(live: Map<string, Attachment>): Promise<void> {
    await this.pool?.settle(); // its spare namespace must be listed before we look for unknown ones
    const records = await this.readRecords();
    const errors: string[] = [];
    for (const rec of records) {
      if (live.has(rec.containerId)) continue;
      await this.locks.run(rec.containerId, () => this.cleanup(rec)).catch((e) => errors.push(errorMessage(e)));
    }
    this.endpoints.clear();
    this.ports.clear();
    for (const [id, att] of live) {
      if (att.mode === 'host' || !ID_RE.test(id)) continue;
      const rec = records.find((r) => r.containerId === id) ?? this.recordFrom(id, att);
      if (!records.includes(rec)) await this.saveRecord(rec).catch((e) => errors.push(errorMessage(e)));
      this.endpoints.set(id, rec);
      for (const p of rec.ports) this.ports.add(id, p);
    }
    const liveNetns = new Set([...this.endpoints.values()].map((r) => r.netnsPath));
    const liveVeths = new Set([...this.endpoints.values()].map((r) => r.hostVeth));
    // namespace files of unknown containers (but not our spare one)
    const spare = new Set(this.pool?.files() ?? []);
    for (const name of await fs.readdir(this.netnsDir).catch(() => [] as string[])) {
      const file = path.join(this.netnsDir, name);
      if (!liveNetns.has(file) && !spare.has(file)) await removeNetns(file).catch((e) => errors.push(errorMessage(e)));
    }
    // addresses held by unknown containers
    for (const [ip, owner] of await this.ipam.list()) {
      if (!live.has(owner)) await this.ipam.release(owner, ip).catch((e) => errors.push(errorMessage(e)));
    }
    // DNAT rules of unknown containers; live containers whose rules were lost (a firewall reload) get them back
    await this.firewall.removeWhere((id) => !live.has(id)).catch((e) => errors.push(errorMessage(e)));
    const owners = await this.firewall.ruleOwners().catch(() => new Map<string, string[]>());
    for (const rec of this.endpoints.values()) {
      if (rec.mode !== 'bridge' || !rec.ipAddress || rec.ports.length === 0) continue;
      if ((owners.get(rec.containerId)?.length ?? 0) === rec.ports.length) continue;
      await this.firewall.removeWhere((id) => id === rec.containerId)
        .then(() => this.firewall.addPorts(rec.containerId, rec.ipAddress!, rec.ports))
        .catch((e) => errors.push(errorMessage(e)));
    }
    // veths on our bridge that no live container owns; live ones that lost the bridge (it was re-created) rejoin it
    for (const l of await links().catch(() => [])) {
      if (l.kind !== 'veth') continue;
      if (l.master === this.bridgeName && !liveVeths.has(l.ifname)) {
        await deleteLink(l.ifname).catch((e) => errors.push(errorMessage(e)));
      } else if (!l.master && liveVeths.has(l.ifname)) {
        await enslave(l.ifname, this.bridgeName).catch((e) => errors.push(errorMessage(e)));
      }
    }
    if (errors.length) log.warn('network: reconcile left some leftovers', { errors });
  }

  /** Removes the whole default network: every attachment, the rules, the bridge and the layer's data (tests, reset). */
  async destroy(): Promise<void> {
    await this.close();
    for (const rec of await this.readRecords()) await this.cleanup(rec).catch(() => undefined);
    await this.reconcile(new Map()).catch(() => undefined);
    await this.firewall.teardown();
    await deleteLink(this.bridgeName);
    await fs.rm(this.root, { recursive: true, force: true });
    await fs.rmdir(this.netnsDir).catch(() => undefined);
  }

  /** NetworkSettings of GET /containers/{id}/json. */
  toApiNetworkSettings(att: Attachment): object {
    const network = att.network ?? att.mode;
    const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
    for (const p of att.ports ?? []) {
      const k = `${p.containerPort}/${p.protocol}`;
      (ports[k] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
    }
    const endpoint = {
      IPAMConfig: null, Links: null, Aliases: null,
      MacAddress: att.macAddress ?? '',
      DriverOpts: null, GwPriority: 0,
      NetworkID: this.networkId(network),
      EndpointID: att.endpointId ?? '',
      Gateway: att.gateway ?? '',
      IPAddress: att.ipAddress ?? '',
      IPPrefixLen: att.prefixLen ?? 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    };
    const isBridge = att.mode === 'bridge';
    return {
      Bridge: '',
      SandboxID: sha(`sandbox\0${att.netnsPath ?? 'host'}\0${att.endpointId ?? ''}`),
      SandboxKey: att.netnsPath ?? '',
      Ports: ports,
      HairpinMode: false,
      LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
      EndpointID: isBridge ? endpoint.EndpointID : '',
      Gateway: isBridge ? endpoint.Gateway : '',
      GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      IPAddress: isBridge ? endpoint.IPAddress : '',
      IPPrefixLen: isBridge ? endpoint.IPPrefixLen : 0,
      IPv6Gateway: '',
      MacAddress: isBridge ? endpoint.MacAddress : '',
      Networks: { [network]: endpoint },
    };
  }

  /** GET /networks items (bridge, host, none). */
  listNetworks(): object[] {
    return (['bridge', 'host', 'none'] as const).map((n) => this.networkObject(n, false));
  }

  /** GET /networks/{id}: by name, full id or unique id prefix; with the attached containers. */
  inspectNetwork(ref: string): object {
    const names = ['bridge', 'host', 'none'] as const;
    const byName = names.find((n) => n === ref);
    const byId = names.filter((n) => ref.length > 0 && this.state.ids[n].startsWith(ref));
    const name = byName ?? (byId.length === 1 ? byId[0] : undefined);
    if (!name) throw notFound(`network ${ref} not found`);
    return this.networkObject(name, true);
  }

  private networkId(name: string): string {
    return (this.state.ids as Record<string, string>)[name] ?? '';
  }

  private networkObject(name: 'bridge' | 'host' | 'none', withContainers: boolean): object {
    const containers: Record<string, object> = {};
    if (withContainers) {
      for (const r of this.endpoints.values()) {
        if (r.mode !== name) continue;
        containers[r.containerId] = {
          Name: r.name ?? '', EndpointID: r.endpointId, MacAddress: r.macAddress ?? '',
          IPv4Address: r.ipAddress ? `${r.ipAddress}/${r.prefixLen}` : '', IPv6Address: '',
        };
      }
    }
    const base = {
      Name: name, Id: this.state.ids[name], Created: this.state.created, Scope: 'local',
      Driver: name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null',
      EnableIPv4: name === 'bridge', EnableIPv6: false,
      IPAM: {
        Driver: 'default', Options: null,
        Config: name === 'bridge' ? [{ Subnet: formatCidr(this.subnet), Gateway: this.gatewayIp }] : [],
      },
      Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers,
      Options: name === 'bridge' ? {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': this.bridgeName,
        'com.docker.network.driver.mtu': String(this.mtu),
      } : {},
      Labels: {},
    };
    return base;
  }

  private toAttachment(rec: EndpointRecord): Attachment {
    const att: Attachment = { mode: rec.mode, netnsPath: rec.netnsPath, network: rec.mode, ports: rec.ports, endpointId: rec.endpointId };
    if (rec.mode === 'bridge') {
      Object.assign(att, { ipAddress: rec.ipAddress, prefixLen: rec.prefixLen, gateway: rec.gateway, macAddress: rec.macAddress });
    }
    return att;
  }

  private recordFrom(containerId: string, att: Attachment): EndpointRecord {
    return {
      containerId, mode: att.mode, netnsPath: att.mode === 'host' ? undefined : att.netnsPath,
      hostVeth: att.mode === 'bridge' ? this.vethName(containerId) : undefined,
      ipAddress: att.ipAddress, prefixLen: att.prefixLen, gateway: att.gateway, macAddress: att.macAddress,
      ports: att.ports ?? [], endpointId: att.endpointId ?? '', created: new Date().toISOString(),
    };
  }

  /** Undoes everything a record describes; each step is idempotent. Keeps the record if some step failed. */
  private async cleanup(rec: EndpointRecord): Promise<void> {
    const id = rec.containerId;
    const steps: Promise<unknown>[] = [];
    if (rec.mode === 'bridge') {
      // the kernel destroys the veth pair with the namespace (asynchronously: wait for it, so that no veth is
      // left behind when detach returns)
      const veth = rec.hostVeth ?? this.vethName(id);
      steps.push((rec.netnsPath ? removeNetns(rec.netnsPath) : Promise.resolve()).then(() => waitLinkGone(veth)));
      if (rec.ports.length > 0 || !rec.ipAddress) steps.push(this.firewall.removePorts(id, rec.ipAddress, rec.ports));
    } else if (rec.netnsPath) {
      steps.push(removeNetns(rec.netnsPath));
    }
    const results = await Promise.allSettled(steps);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw systemError(`failed to release the network of ${id}: ${failed.map((f) => errorMessage(f.reason)).join('; ')}`);
    if (rec.ipAddress) await this.ipam.release(id, rec.ipAddress);
    this.ports.removeOwner(id);
    this.endpoints.delete(id);
    await fs.rm(path.join(this.endpointsDir, `${id}.json`), { force: true });
  }

  private async saveRecord(rec: EndpointRecord): Promise<void> {
    await replaceFile(path.join(this.endpointsDir, `${rec.containerId}.json`), JSON.stringify(rec) + '\n', 0o600);
    this.endpoints.set(rec.containerId, rec);
  }

  private async readRecord(id: string): Promise<EndpointRecord | undefined> {
    return readJson<EndpointRecord>(path.join(this.endpointsDir, `${id}.json`)).catch(() => undefined);
  }

  private async readRecords(): Promise<EndpointRecord[]> {
    const out: EndpointRecord[] = [];
    for (const f of await fs.readdir(this.endpointsDir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const rec = await this.readRecord(f.slice(0, -5));
      if (rec && rec.containerId === f.slice(0, -5)) out.push(rec);
    }
    return out;
  }
}

function validatePorts(ports: PortSpec[]): PortSpec[] {
  return ports.map((p) => {
    const protocol = p.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw invalidParameter(`invalid proto: ${String(p.protocol)}`);
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      throw invalidParameter(`invalid port specification: "${p.containerPort}"`);
    }
    if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) {
      throw invalidParameter(`invalid hostPort: ${p.hostPort}`);
    }
    const hostIp = p.hostIp ?? '';
    if (hostIp !== '' && !isIpv4(hostIp)) {
      throw invalidParameter(`invalid host IP for published port ${p.hostPort}: ${hostIp} (only IPv4 addresses are supported)`);
    }
    return { containerPort: p.containerPort, protocol, hostIp, hostPort: p.hostPort };
  });
}
