// The network layer's entry point: the default "bridge" network (plus "host" and "none") and the per-container
// attachments the container engine asks for. See ./README.md for the design and the measurements behind it.
import { promises as fs } from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { EngineError, errorMessage, invalidParameter, notFound, systemError } from '../common/errors';
import { readJson, writeJsonAtomic, writeFileAtomic } from '../common/atomic';
import { forbidden } from '../common/errors';
import { log } from '../common/log';
import { Attachment, AttachRequest, Endpoint, EndpointRequest, HostPortForwarder, NetworkMode, PortBinding, PortSpec } from './types';
import { Cidr, defaultCandidates, formatCidr, formatIp, hostAddresses, hostRange, hostRoutes, isIpv4, overlaps, parseCidr } from './ipv4';
import { ForwardFilter, save as saveRules } from './iptables';
import { PortInUse, PortTable, allocatePorts } from './ports';
import {
  addVeth, createBridgedNetns, replaceDefaultRoute, createEmptyNetns, deleteLink, enslave, links, removeNetns, waitLinkGone, warmSpec,
  writeSysctl,
} from './netns';
import { WarmPool } from './warm';
import { BridgeNetwork } from './bridge';
import { CreateNetworkBody, NetworkConfig, newNetworkConfig } from './config';
import { EndpointFiles, EndpointRecord, normalize } from './records';
import { NameTable } from './names';
import { DnsServer, hostNameservers } from './dns';
import { bridgeNetworkObject, builtinNetworkObject, endpointSettings, networkSettings } from './views';

export { Attachment, AttachRequest, Endpoint, EndpointRequest, HostPortForwarder, NetworkMode, PortBinding, PortSpec } from './types';
export { PortInUse, probe as probeHostPort } from './ports';
export { CreateNetworkBody, NetworkConfig } from './config';

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
  /** the embedded DNS port (default 53; tests may use another) */
  dnsPort?: number;
  /**
   * rootless seam (src/rootless): the daemon lives in its own network namespace and published ports are opened on
   * the host by this forwarder; DNAT rules then match the port alone (traffic arrives at the namespace's address).
   */
  hostPorts?: HostPortForwarder;
}

interface NetworkState {
  version: 1;
  bridge: string;
  subnet: string;
  bridgeMac: string;
  ids: { bridge: string; host: string; none: string };
  created: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const randomMac = () => {
  const b = randomBytes(4);
  return ['02', '42', ...Array.from(b, (x) => x.toString(16).padStart(2, '0'))].join(':');
};
/** A user-defined bridge gets a MAC derived from its id: stable across re-creations of the device. */
const macFor = (id: string) => ['02', '42', ...(id.slice(0, 8).match(/../g) ?? [])].join(':');

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

/** Rootless: the host refused a published port (a privileged one); docker's 500 with the forwarder's reason. */
class HostForwardError extends EngineError {
  constructor(message: string) { super(500, message); }
}

/** Where an endpoint is to be made: the network and what the container asked of it. */
interface Planned { net: BridgeNetwork; req: EndpointRequest }

export class NetworkManager {
  readonly bridgeName: string;
  readonly root: string;
  readonly netnsDir: string;
  private readonly netsDir: string;
  private readonly files: EndpointFiles;
  private readonly mtu: number;
  private state!: NetworkState;
  private defaultNet!: BridgeNetwork;
  /** every bridge network by id, the default one included */
  private readonly nets = new Map<string, BridgeNetwork>();
  private filter!: ForwardFilter;
  private readonly ports = new PortTable();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly locks = new Locks();
  private pool: WarmPool | undefined;
  private dns: DnsServer | undefined;
  readonly names: NameTable;

  private constructor(private readonly opts: NetworkManagerOptions) {
    this.bridgeName = opts.bridgeName ?? 'berth0';
    if (!/^[A-Za-z0-9_-]{1,15}$/.test(this.bridgeName) || this.bridgeName.length > 15) {
      throw invalidParameter(`invalid bridge name: ${this.bridgeName}`);
    }
    this.root = path.join(opts.dataRoot, 'network');
    this.files = new EndpointFiles(path.join(this.root, 'endpoints'));
    this.netsDir = path.join(this.root, 'networks');
    this.netnsDir = path.join(opts.execRoot, 'netns');
    this.mtu = opts.mtu ?? 1500;
    this.names = new NameTable({
      records: () => this.endpoints.values(),
      hasDns: (id) => { const n = this.nets.get(id); return !!n && !n.cfg.Default; },
      isInternal: (id) => this.nets.get(id)?.cfg.Internal ?? false,
    });
  }

  /** Creates or repairs the networks: bridge devices, IPAM, NAT/filter rules, sysctls, the embedded DNS. */
  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const m = new NetworkManager(opts);
    await m.init();
    return m;
  }

  get subnetCidr(): string { return this.defaultNet.cfg.Subnet; }
  get gateway(): string { return this.defaultNet.gateway; }

  private async init(): Promise<void> {
    await this.files.init();
    await fs.mkdir(this.netsDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.netnsDir, { recursive: true, mode: 0o711 });
    const stateFile = path.join(this.root, 'network.json');
    const prev = await readJson<NetworkState>(stateFile);
    const userConfigs = await this.readNetworkConfigs();
    let subnet: Cidr;
    if (this.opts.subnet) {
      try { subnet = parseCidr(this.opts.subnet); } catch (err) { throw invalidParameter(errorMessage(err)); }
      if (subnet.prefix > 30) throw invalidParameter(`subnet ${this.opts.subnet} is too small`);
    } else if (prev?.subnet && prev.bridge === this.bridgeName) {
      subnet = parseCidr(prev.subnet);
    } else {
      subnet = await this.chooseSubnet(userConfigs.map((c) => parseCidr(c.Subnet)));
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
    this.defaultNet = new BridgeNetwork(this.defaultConfig(subnet), path.join(this.root, 'ipam', 'bridge'), this.state.bridgeMac,
      () => this.pool?.takeIptables(), !!this.opts.hostPorts);
    this.nets.set(this.defaultNet.id, this.defaultNet);
    this.filter = new ForwardFilter(this.bridgeName);

    await writeSysctl('net/ipv4/ip_forward', '1');
    const saved = await saveRules();
    await this.defaultNet.up(saved);
    await this.writeConflist(this.defaultNet);
    for (const cfg of userConfigs) {
      const net = this.userNetwork(cfg);
      if (cfg.Removing) {
        // a `network rm` was cut short: finish it
        await this.finishRemoval(net, saved).catch((e) => log.warn('network: finishing a removal failed', { network: cfg.Name, err: errorMessage(e) }));
        continue;
      }
      this.nets.set(cfg.Id, net);
      await net.up(saved).catch((e) => log.error('network: could not set up a network', { network: cfg.Name, err: errorMessage(e) }));
    }
    await this.syncFilter();
    for (const net of this.nets.values()) if (!net.cfg.Default) await this.startDns(net);

    for (const raw of await this.files.readAll()) {
      const rec = this.normalize(raw);
      this.endpoints.set(rec.containerId, rec);
      for (const p of rec.ports) this.ports.add(rec.containerId, p);
    }
    if (this.opts.warm ?? process.env.BERTH_NET_WARM !== '0') {
      this.pool = new WarmPool(this.netnsDir, warmSpec());
      await this.pool.warm();
    }
  }

  private defaultConfig(subnet: Cidr): NetworkConfig {
    return {
      Id: this.state.ids.bridge, Name: 'bridge', Created: this.state.created,
      Subnet: formatCidr(subnet), Gateway: formatIp(hostRange(subnet).first), UserSubnet: false,
      Internal: false, Attachable: false, Labels: {}, Options: {}, Bridge: this.bridgeName, Mtu: this.mtu,
      Icc: true, Masquerade: true, HostBindingIpv4: '', Default: true,
    };
  }

  private userNetwork(cfg: NetworkConfig): BridgeNetwork {
    return new BridgeNetwork(cfg, path.join(this.root, 'ipam', cfg.Name), macFor(cfg.Id), () => this.pool?.takeIptables(), !!this.opts.hostPorts);
  }

  private normalize(rec: EndpointRecord): EndpointRecord {
    return normalize(rec, { id: this.defaultNet.id, name: 'bridge' });
  }

  private async readNetworkConfigs(): Promise<NetworkConfig[]> {
    const out: NetworkConfig[] = [];
    for (const f of await fs.readdir(this.netsDir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const cfg = await readJson<NetworkConfig>(path.join(this.netsDir, f)).catch(() => undefined);
      if (cfg && cfg.Id === f.slice(0, -5)) out.push(cfg);
    }
    return out.sort((a, b) => a.Created.localeCompare(b.Created));
  }

  private async saveNetworkConfig(cfg: NetworkConfig): Promise<void> {
    await writeJsonAtomic(path.join(this.netsDir, `${cfg.Id}.json`), cfg);
  }

  private async syncFilter(): Promise<void> {
    await this.filter.sync([...this.nets.values()].map((n) => ({ bridge: n.bridge, internal: n.cfg.Internal, icc: n.cfg.Icc })));
  }

  private async startDns(net: BridgeNetwork): Promise<void> {
    // no nameserver on the host: Google's public resolvers, the fallback Docker gives its containers too
    const upstreams = () => { const ns = hostNameservers(); return ns.length ? ns : ['8.8.8.8', '8.8.4.4']; };
    this.dns ??= new DnsServer({ resolver: this.names, upstreams, port: this.opts.dnsPort });
    await this.dns.addAddress(net.gateway).catch((e) => log.error('network: the embedded DNS could not listen', { network: net.name, address: net.gateway, err: errorMessage(e) }));
  }

  /** Namespace files pre-created for the next attachments (not owned by any container). */
  spareNetns(): string[] { return this.pool?.files() ?? []; }

  /** Waits for background work (refilling the pre-started helpers). */
  async settle(): Promise<void> { await this.pool?.settle(); }

  /** Stops the pre-started helpers, the DNS server and the spare namespace (daemon shutdown). Attachments stay. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
    const dns = this.dns;
    this.dns = undefined;
    await dns?.close();
  }

  private async chooseSubnet(users: Cidr[]): Promise<Cidr> {
    const taken: Cidr[] = [
      ...(await hostRoutes()).filter((r) => r.dev !== this.bridgeName).map((r) => r.dst),
      ...hostAddresses().filter((a) => a.dev !== this.bridgeName).map((a) => a.cidr),
      ...users,
    ];
    for (const c of defaultCandidates()) {
      const cidr = parseCidr(c);
      if (!taken.some((t) => overlaps(t, cidr))) return cidr;
    }
    throw systemError('could not find a free subnet for the default bridge network: all candidates collide with host routes');
  }

  /** The network as a CNI conflist, for CNI tooling (the IPAM directory is shared with host-local). */
  private async writeConflist(net: BridgeNetwork): Promise<void> {
    const file = path.join(this.root, 'cni', `${net.name}.conflist`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const text = JSON.stringify(net.conflist(), null, 2) + '\n';
    if ((await fs.readFile(file, 'utf8').catch(() => '')) !== text) await writeFileAtomic(file, text, 0o644);
  }

  vethName(containerId: string, bridge = this.bridgeName): string {
    return 'vb' + sha(`${bridge}\0${containerId}`).slice(0, 12);
  }

  /** A new namespace file name: random, like Docker's sandbox keys (/var/run/docker/netns/8ab54b426c38). */
  private newNetnsPath(): string { return path.join(this.netnsDir, hex(6)); }

  // ------------------------------------------------------------------ networks

  /** A bridge network by name, full id or unique id prefix (Docker's order); undefined for host/none/unknown. */
  private findBridge(ref: string): BridgeNetwork | undefined {
    const all = [...this.nets.values()];
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const byId = all.find((n) => n.id === ref);
    if (byId) return byId;
    const prefixed = ref.length > 0 ? all.filter((n) => n.id.startsWith(ref)) : [];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  /** 'host' | 'none' when ref names one of them (by name or id). */
  private findBuiltin(ref: string): 'host' | 'none' | undefined {
    for (const n of ['host', 'none'] as const) {
      if (ref === n || ref === this.state.ids[n] || (ref.length > 0 && this.state.ids[n].startsWith(ref) && !this.findBridge(ref))) return n;
    }
    return undefined;
  }

  /** Resolves a network reference: the network's name and id, and whether it is a bridge network; 404 otherwise. */
  resolve(ref: string): { id: string; name: string; driver: 'bridge' | 'host' | 'null'; userDefined: boolean } {
    const b = this.findBridge(ref);
    if (b) return { id: b.id, name: b.name, driver: 'bridge', userDefined: !b.cfg.Default };
    const builtin = this.findBuiltin(ref);
    if (builtin) return { id: this.state.ids[builtin], name: builtin, driver: builtin === 'host' ? 'host' : 'null', userDefined: false };
    throw notFound(`network ${ref} not found`);
  }

  /** POST /networks/create: validates, sets the network up (bridge, rules, DNS) or nothing at all. */
  async createNetwork(body: CreateNetworkBody): Promise<{ Id: string; Warning: string }> {
    return this.locks.run('\0networks', async () => {
      const taken = [
        ...(await hostRoutes()).map((r) => r.dst),
        ...hostAddresses().map((a) => a.cidr),
      ];
      const hostLinks = new Set((await links().catch(() => [])).map((l) => l.ifname));
      const cfg = newNetworkConfig(body, { existing: [...this.nets.values()].map((n) => n.cfg), taken, hostLinks, mtu: this.mtu });
      const net = this.userNetwork(cfg);
      await this.saveNetworkConfig(cfg);
      this.nets.set(cfg.Id, net);
      try {
        await net.up();
        await this.syncFilter();
        await this.startDns(net);
        await this.writeConflist(net);
      } catch (err) {
        this.nets.delete(cfg.Id);
        await this.finishRemoval(net).catch((e) => log.error('network: undo of a failed create failed', { network: cfg.Name, err: errorMessage(e) }));
        throw systemError(`failed to create network ${cfg.Name}: ${errorMessage(err)}`);
      }
      return { Id: cfg.Id, Warning: '' };
    });
  }

  /** Containers with an endpoint on the network (running ones: stopped containers hold none, as in Docker). */
  private endpointsOn(networkId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((r) => (r.endpoints ?? []).some((e) => e.networkId === networkId));
  }

  /** DELETE /networks/{id}. */
  async removeNetwork(ref: string): Promise<{ id: string; name: string }> {
    return this.locks.run('\0networks', async () => {
      const net = this.findBridge(ref);
      const builtin = net ? undefined : this.findBuiltin(ref);
      if ((net && net.cfg.Default) || builtin) throw forbidden(`${net?.name ?? builtin} is a pre-defined network and cannot be removed`);
      if (!net) throw notFound(`network ${ref} not found`);
      const users = this.endpointsOn(net.id);
      if (users.length) {
        const list = users.map((r) => `name:${JSON.stringify(r.name ?? '')} id:${JSON.stringify(r.containerId.slice(0, 12))}`).join(', ');
        throw forbidden(`error while removing network: network ${net.name} has active endpoints (${list})`);
      }
      net.cfg.Removing = true;
      await this.saveNetworkConfig(net.cfg);
      this.nets.delete(net.id);
      await this.finishRemoval(net);
      return { id: net.id, name: net.name };
    });
  }

  /** Tears a user-defined network down (DNS, rules, bridge, reservations, record). */
  private async finishRemoval(net: BridgeNetwork, saved?: Parameters<BridgeNetwork['down']>[0]): Promise<void> {
    await this.dns?.removeAddress(net.gateway).catch(() => undefined);
    await this.syncFilter();
    await net.down(saved);
    await fs.rm(path.join(this.root, 'cni', `${net.name}.conflist`), { force: true });
    await fs.rm(path.join(this.netsDir, `${net.id}.json`), { force: true });
  }

  /** User-defined networks, for prune: name, id, created, labels and whether a container uses it. */
  userNetworks(): { id: string; name: string; created: string; labels: Record<string, string>; inUse: boolean }[] {
    return [...this.nets.values()].filter((n) => !n.cfg.Default).map((n) => ({
      id: n.id, name: n.name, created: n.cfg.Created, labels: n.cfg.Labels, inUse: this.endpointsOn(n.id).length > 0,
    }));
  }

  /** GET /networks items: bridge, host, none, then the user-defined ones (Containers is empty in lists, as in Docker). */
  listNetworks(): object[] {
    const builtins = (['host', 'none'] as const).map((n) => builtinNetworkObject({ name: n, id: this.state.ids[n], created: this.state.created }, undefined));
    const users = [...this.nets.values()].filter((n) => !n.cfg.Default).map((n) => bridgeNetworkObject(n.cfg, undefined));
    return [bridgeNetworkObject(this.defaultNet.cfg, undefined), ...builtins, ...users];
  }

  /** GET /networks/{id}: by name, full id or unique id prefix; with the attached containers. */
  inspectNetwork(ref: string): object {
    const records = [...this.endpoints.values()];
    const net = this.findBridge(ref);
    if (net) return bridgeNetworkObject(net.cfg, records);
    const builtin = this.findBuiltin(ref);
    if (builtin) return builtinNetworkObject({ name: builtin, id: this.state.ids[builtin], created: this.state.created }, records);
    throw notFound(`network ${ref} not found`);
  }

  // ------------------------------------------------------------------ attachments

  /** Checks what a container asks of its networks before anything is allocated (Docker's texts). */
  private plan(reqs: EndpointRequest[]): Planned[] {
    const seen = new Set<string>();
    return reqs.map((req) => {
      const net = this.findBridge(req.network);
      if (!net) {
        if (this.findBuiltin(req.network)) throw invalidParameter(`container cannot be connected to network ${req.network} and to other networks`);
        throw notFound(`network ${req.network} not found`);
      }
      if (seen.has(net.id)) throw forbidden(`network ${net.name} is specified multiple times`);
      seen.add(net.id);
      if (net.cfg.Default && (req.aliases ?? []).length) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
      if (req.ipv4Address) {
        if (net.cfg.Default) throw invalidParameter('user specified IP address is supported on user defined networks only');
        if (!net.cfg.UserSubnet) throw invalidParameter('user specified IP address is supported only when connecting to networks with user configured subnets');
        if (!isIpv4(req.ipv4Address)) throw invalidParameter(`invalid IPv4 address: ${req.ipv4Address}`);
      }
      if (req.macAddress && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(req.macAddress)) throw invalidParameter(`invalid MAC address: ${req.macAddress}`);
      for (const ll of req.linkLocalIps ?? []) {
        if (!isIpv4(ll) || !ll.startsWith('169.254.')) throw invalidParameter(`invalid link-local IP address: ${ll}`);
      }
      return { net, req };
    });
  }

  /** Reserves the addresses of planned endpoints; all or nothing. */
  private async allocateAddresses(containerId: string, planned: Planned[], firstIf: number): Promise<Endpoint[]> {
    const made: Endpoint[] = [];
    try {
      for (const [i, { net, req }] of planned.entries()) {
        const ifname = `eth${firstIf + i}`;
        let ip: string;
        if (req.ipv4Address) {
          await net.ipam.reserve(containerId, req.ipv4Address, ifname);
          ip = req.ipv4Address;
        } else {
          ip = await net.ipam.allocate(containerId, ifname);
        }
        // dual stack: the IPv6 address too (an --ip6 on a network without IPv6 is kept in the request only, as dockerd)
        let ip6: string | undefined;
        if (net.ipam6) {
          try {
            ip6 = req.ipv6Address ? await net.ipam6.reserve(containerId, req.ipv6Address, ifname) : await net.ipam6.allocate(containerId, ifname);
          } catch (err) {
            await net.ipam.release(containerId, ip);
            throw err;
          }
        }
        made.push({
          ...(ip6 ? { ipv6Address: ip6, prefixLen6: net.subnet6!.prefix, gateway6: net.cfg.Gateway6 } : {}),
          ...(req.ipv6Address ? { requestedIpv6: req.ipv6Address } : {}),
          networkId: net.id, network: net.name, ifname, hostVeth: this.vethName(containerId, net.bridge), ipAddress: ip,
          prefixLen: net.subnet.prefix, gateway: net.gateway, macAddress: req.macAddress ?? randomMac(),
          aliases: [...new Set(req.aliases ?? [])], endpointId: hex(32), staticIp: !!req.ipv4Address,
          ...(req.links?.length ? { links: req.links } : {}), ...(req.linkLocalIps?.length ? { linkLocalIps: req.linkLocalIps } : {}),
          ...(req.driverOpts && Object.keys(req.driverOpts).length ? { driverOpts: req.driverOpts } : {}),
        });
      }
      return made;
    } catch (err) {
      for (const ep of made) await this.releaseAddresses(containerId, ep);
      throw err;
    }
  }

  /**
   * Creates the container's network namespace (bridge / none) and returns how it is attached.
   * On failure everything done so far is undone.
   */
  async attach(containerId: string, req: AttachRequest): Promise<Attachment> {
    if (!ID_RE.test(containerId)) throw invalidParameter(`invalid container id for networking: ${containerId}`);
    if (!['bridge', 'none', 'host'].includes(req.mode)) throw invalidParameter(`unsupported network mode: ${req.mode}`);
    const specs = req.mode === 'bridge' ? validatePorts(req.ports ?? []) : [];
    // bridge mode with an empty list: a container disconnected from all its networks (loopback only, connectable)
    const unplugged = req.mode === 'bridge' && req.networks !== undefined && req.networks.length === 0;
    const planned = req.mode === 'bridge' && !unplugged ? this.plan(req.networks?.length ? req.networks : [{ network: 'bridge' }]) : [];
    return this.locks.run(containerId, async () => {
      const stale = this.endpoints.get(containerId) ?? await this.files.read(containerId);
      if (stale) {
        log.warn('network: removing a stale attachment before attaching again', { container: containerId });
        await this.cleanup(this.normalize(stale));
      }
      const endpointId = hex(32);
      if (req.mode === 'host') return { mode: 'host', network: 'host', ports: [], endpointId };

      const rec: EndpointRecord = {
        containerId, name: req.name, mode: req.mode, ports: [], endpointId, created: new Date().toISOString(), endpoints: [],
        ...(req.dns?.length ? { dns: req.dns } : {}),
      };
      if (req.mode === 'none' || unplugged) {
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
      const primary = planned[0].net;
      const portSpecs = primary.cfg.Internal ? [] : specs.map((s) => ({ ...s, hostIp: s.hostIp || primary.cfg.HostBindingIpv4 }));
      const alloc = await this.locks.run('\0alloc', async () => {
        const eps = await this.allocateAddresses(containerId, planned, 0);
        try {
          return { eps, ports: await allocatePorts(this.ports, containerId, portSpecs) };
        } catch (err) {
          for (const ep of eps) await this.releaseAddresses(containerId, ep);
          throw err;
        }
      }).catch((err) => {
        if (err instanceof PortInUse) {
          throw new EngineError(500, `driver failed programming external connectivity on endpoint ${req.name ?? containerId.slice(0, 12)} (${endpointId}): ${err.message}`);
        }
        throw err;
      });
      alloc.eps[0].endpointId = endpointId;
      const warmNs = this.pool?.takeNetns();
      const warmIp = this.pool?.takeIp();
      Object.assign(rec, { netnsPath: warmNs?.file ?? this.newNetnsPath(), ports: alloc.ports, endpoints: alloc.eps });
      try {
        await this.saveRecord(rec);
        const first = alloc.eps[0];
        const results = await Promise.allSettled([
          createBridgedNetns(rec.netnsPath!, this.vethConfig(first, primary), { netns: warmNs, ip: warmIp }),
          primary.nat.addPorts(containerId, first.ipAddress, rec.ports),
        ]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        for (const [i, ep] of alloc.eps.entries()) if (i > 0) await addVeth(rec.netnsPath!, this.vethConfig(ep, planned[i].net, false));
        await this.forwardFromHost(rec.ports, req.name ?? containerId.slice(0, 12), endpointId);
      } catch (err) {
        if (warmIp?.alive) void warmIp.discard();
        if (warmNs?.inside.alive) void warmNs.inside.discard();
        await this.cleanup(rec).catch((e) => log.error('network: undo failed', { container: containerId, err: errorMessage(e) }));
        if (err instanceof PortInUse) {
          throw new EngineError(500, `driver failed programming external connectivity on endpoint ${req.name ?? containerId.slice(0, 12)} (${endpointId}): ${err.message}`);
        }
        if (err instanceof HostForwardError) throw err;
        throw systemError(`failed to set up container networking: ${errorMessage(err)}`);
      }
      return this.toAttachment(rec);
    });
  }

  private vethConfig(ep: Endpoint, net: BridgeNetwork, primary = true) {
    return {
      hostVeth: ep.hostVeth, bridge: net.bridge, mac: ep.macAddress, address: ep.ipAddress, prefixLen: ep.prefixLen,
      gateway: ep.gateway, mtu: net.cfg.Mtu, defaultRoute: primary && net.routesOut, ifname: ep.ifname,
      extraAddresses: (ep.linkLocalIps ?? []).map((ip) => `${ip}/16`),
      ...(ep.ipv6Address ? { address6: `${ep.ipv6Address}/${ep.prefixLen6}`, gateway6: ep.gateway6 } : {}),
    };
  }

  /** Gives an endpoint's addresses back to their networks' allocators (idempotent). */
  private async releaseAddresses(containerId: string, ep: Endpoint): Promise<void> {
    const net = this.nets.get(ep.networkId);
    await net?.ipam.release(containerId, ep.ipAddress);
    if (ep.ipv6Address) await net?.ipam6?.release(containerId, ep.ipv6Address);
  }

  /** `network connect` of a running container: one more interface in its namespace. Returns the new attachment. */
  async connect(containerId: string, req: EndpointRequest): Promise<Attachment> {
    const [planned] = this.plan([req]);
    return this.locks.run(containerId, async () => {
      const rec = this.endpoints.get(containerId);
      if (!rec || !rec.netnsPath) throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
      if (rec.mode === 'none') throw invalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      const eps = rec.endpoints ?? [];
      if (eps.some((e) => e.networkId === planned.net.id)) throw forbidden(`endpoint with name ${rec.name ?? containerId.slice(0, 12)} already exists in network ${planned.net.name}`);
      const used = new Set(eps.map((e) => e.ifname));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      const [ep] = await this.locks.run('\0alloc', () => this.allocateAddresses(containerId, [planned], n));
      const next: EndpointRecord = { ...rec, endpoints: [...eps, ep] };
      try {
        await this.saveRecord(next);
        await addVeth(rec.netnsPath, this.vethConfig(ep, planned.net, eps.length === 0));
      } catch (err) {
        await deleteLink(ep.hostVeth).catch(() => undefined);
        await this.releaseAddresses(containerId, ep);
        await this.saveRecord(rec).catch(() => undefined);
        throw systemError(`failed to connect to network ${planned.net.name}: ${errorMessage(err)}`);
      }
      return this.toAttachment(next);
    });
  }

  /** `network disconnect` of a running container. Returns the remaining attachment. */
  async disconnect(containerId: string, networkRef: string): Promise<Attachment> {
    const { id: networkId, name } = this.resolve(networkRef);
    return this.locks.run(containerId, async () => {
      const rec = this.endpoints.get(containerId);
      const eps = rec?.endpoints ?? [];
      const i = eps.findIndex((e) => e.networkId === networkId);
      if (!rec || i < 0) throw forbidden(`container ${containerId} is not connected to network ${name}`);
      const ep = eps[i];
      const net = this.nets.get(networkId);
      // the published ports live on the primary endpoint: they go with it
      const ports = i === 0 ? rec.ports : [];
      if (ports.length) await net?.nat.removePorts(containerId, ep.ipAddress, ports);
      await deleteLink(ep.hostVeth);
      await this.releaseAddresses(containerId, ep);
      const next: EndpointRecord = { ...rec, ports: i === 0 ? [] : rec.ports, endpoints: eps.filter((_, j) => j !== i) };
      if (i === 0) this.ports.removeOwner(containerId);
      await this.saveRecord(next);
      // the primary network went away: the next one carries the default route, as Docker moves the gateway
      const nextFirst = next.endpoints?.[0];
      const nextNet = nextFirst ? this.nets.get(nextFirst.networkId) : undefined;
      if (i === 0 && nextFirst && nextNet?.routesOut && rec.netnsPath) {
        await replaceDefaultRoute(rec.netnsPath, nextFirst.gateway, nextFirst.ifname)
          .catch((e) => log.warn('network: could not move the default route', { container: containerId, err: errorMessage(e) }));
      }
      return this.toAttachment(next);
    });
  }

  /** The container's name changed: the DNS answers for the new one. */
  async rename(containerId: string, name: string): Promise<void> {
    await this.locks.run(containerId, async () => {
      const rec = this.endpoints.get(containerId);
      if (rec) await this.saveRecord({ ...rec, name });
    });
  }

  /** Removes the container's namespace, veth, rules and address. Idempotent; safe after a crash or restart. */
  async detach(containerId: string, att: Attachment): Promise<void> {
    if (!ID_RE.test(containerId)) throw invalidParameter(`invalid container id for networking: ${containerId}`);
    await this.locks.run(containerId, async () => {
      const found = this.endpoints.get(containerId) ?? await this.files.read(containerId);
      const rec = found ? this.normalize(found) : this.recordFrom(containerId, att);
      await this.cleanup(rec);
    });
  }

  /**
   * At daemon start: removes namespaces, veths, DNAT rules, addresses and records of every container that is not
   * in `live`, and re-adopts the live ones.
   */
  async reconcile(live: Map<string, Attachment>): Promise<void> {
    await this.pool?.settle(); // its spare namespace must be listed before we look for unknown ones
    const records = (await this.files.readAll()).map((r) => this.normalize(r));
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
    const liveRecs = [...this.endpoints.values()];
    const liveNetns = new Set(liveRecs.map((r) => r.netnsPath));
    // namespace files of unknown containers (but not our spare one)
    const spare = new Set(this.pool?.files() ?? []);
    for (const name of await fs.readdir(this.netnsDir).catch(() => [] as string[])) {
      const file = path.join(this.netnsDir, name);
      if (!liveNetns.has(file) && !spare.has(file)) await removeNetns(file).catch((e) => errors.push(errorMessage(e)));
    }
    // veth host side -> the bridge it belongs on
    const liveVeths = new Map<string, string>();
    for (const r of liveRecs) {
      for (const ep of r.endpoints ?? []) {
        const net = this.nets.get(ep.networkId);
        if (net) liveVeths.set(ep.hostVeth, net.bridge);
      }
    }
    const bridges = new Set([...this.nets.values()].map((n) => n.bridge));
    for (const net of this.nets.values()) {
      // addresses held by unknown containers
      for (const [ip, owner] of await net.ipam.list().catch(() => new Map<string, string>())) {
        if (owner !== 'aux-address' && !live.has(owner)) await net.ipam.release(owner, ip).catch((e) => errors.push(errorMessage(e)));
      }
      for (const [ip, owner] of await net.ipam6?.list().catch(() => new Map<string, string>()) ?? []) {
        if (!live.has(owner)) await net.ipam6!.release(owner, ip).catch((e) => errors.push(errorMessage(e)));
      }
      // DNAT rules of unknown containers; live containers whose rules were lost (a firewall reload) get them back
      await net.nat.removeWhere((id) => !live.has(id)).catch((e) => errors.push(errorMessage(e)));
      const owners = await net.nat.ruleOwners().catch(() => new Map<string, string[]>());
      for (const rec of liveRecs) {
        const first = rec.endpoints?.[0];
        if (!first || first.networkId !== net.id || rec.ports.length === 0) continue;
        if ((owners.get(rec.containerId)?.length ?? 0) === rec.ports.length) continue;
        await net.nat.removeWhere((id) => id === rec.containerId)
          .then(() => net.nat.addPorts(rec.containerId, first.ipAddress, rec.ports))
          .catch((e) => errors.push(errorMessage(e)));
      }
    }
    // veths on our bridges that no live container owns; live ones that lost the bridge (it was re-created) rejoin it
    for (const l of await links().catch(() => [])) {
      if (l.kind !== 'veth') continue;
      if (l.master && bridges.has(l.master) && !liveVeths.has(l.ifname)) {
        await deleteLink(l.ifname).catch((e) => errors.push(errorMessage(e)));
      } else if (!l.master && liveVeths.has(l.ifname)) {
        await enslave(l.ifname, liveVeths.get(l.ifname)!).catch((e) => errors.push(errorMessage(e)));
      }
    }
    if (errors.length) log.warn('network: reconcile left some leftovers', { errors });
  }

  /** Removes every network: attachments, rules, bridges, the DNS and the layer's data (tests, reset). */
  async destroy(): Promise<void> {
    await this.close();
    for (const rec of await this.files.readAll()) await this.cleanup(this.normalize(rec)).catch(() => undefined);
    await this.reconcile(new Map()).catch(() => undefined);
    for (const net of [...this.nets.values()].filter((n) => !n.cfg.Default)) {
      this.nets.delete(net.id);
      await net.down().catch(() => undefined);
    }
    await this.filter.teardown();
    await this.defaultNet.nat.teardown();
    await deleteLink(this.bridgeName);
    await fs.rm(this.root, { recursive: true, force: true });
    await fs.rmdir(this.netnsDir).catch(() => undefined);
  }

  /** NetworkSettings of GET /containers/{id}/json; `who` names the container in DNSNames. */
  toApiNetworkSettings(att: Attachment, who?: { id: string; name: string }): object {
    const networks: Record<string, object> = {};
    const eps = att.endpoints ?? (att.mode === 'bridge' && att.ipAddress ? [this.legacyEndpoint(att)] : []);
    if (att.mode === 'bridge') {
      for (const ep of eps) {
        const net = this.nets.get(ep.networkId);
        networks[net?.name ?? ep.network] = endpointSettings(ep, who, !!net && !net.cfg.Default);
      }
    } else {
      const name = att.network ?? att.mode;
      networks[name] = endpointSettings({ networkId: this.state.ids[att.mode as 'host' | 'none'] ?? '', endpointId: att.endpointId }, who, false);
    }
    const primaryIsDefault = eps.length > 0 && eps[0].networkId === this.defaultNet.id;
    return networkSettings(att, networks, primaryIsDefault);
  }

  /** NetworkSettings.Networks of a container that is not running: what it is configured for, without addresses. */
  configuredNetworks(mode: string, requests: EndpointRequest[]): Record<string, object> {
    const out: Record<string, object> = {};
    const reqs = requests.length ? requests : [{ network: mode }];
    for (const r of reqs) {
      const b = this.findBridge(r.network);
      const builtin = b ? undefined : this.findBuiltin(r.network);
      const id = b?.id ?? (builtin ? this.state.ids[builtin] : '');
      const ep = endpointSettings({
        networkId: id, aliases: r.aliases, ipAddress: r.ipv4Address, staticIp: !!r.ipv4Address, macAddress: r.macAddress,
        links: r.links, linkLocalIps: r.linkLocalIps, driverOpts: r.driverOpts, requestedIpv6: r.ipv6Address,
      }, undefined, false);
      out[b?.name ?? builtin ?? r.network] = { ...ep, IPAddress: '' };
    }
    return out;
  }

  private legacyEndpoint(att: Attachment): Endpoint {
    return {
      networkId: this.defaultNet.id, network: 'bridge', ifname: 'eth0', hostVeth: '', ipAddress: att.ipAddress ?? '',
      prefixLen: att.prefixLen ?? 0, gateway: att.gateway ?? '', macAddress: att.macAddress ?? '', aliases: [], endpointId: att.endpointId ?? '',
    };
  }

  private toAttachment(rec: EndpointRecord): Attachment {
    const eps = rec.endpoints ?? [];
    const first = eps[0];
    const att: Attachment = {
      mode: rec.mode, netnsPath: rec.netnsPath, network: rec.mode === 'bridge' ? first?.network ?? 'bridge' : rec.mode,
      ports: rec.ports, endpointId: rec.endpointId,
    };
    if (rec.mode === 'bridge') {
      att.endpoints = eps;
      if (first) Object.assign(att, { ipAddress: first.ipAddress, prefixLen: first.prefixLen, gateway: first.gateway, macAddress: first.macAddress });
      const net = first ? this.nets.get(first.networkId) : undefined;
      if (net && !net.cfg.Default) att.dnsServer = net.gateway;
    }
    return att;
  }

  private recordFrom(containerId: string, att: Attachment): EndpointRecord {
    const rec: EndpointRecord = {
      containerId, mode: att.mode, netnsPath: att.mode === 'host' ? undefined : att.netnsPath,
      ports: att.ports ?? [], endpointId: att.endpointId ?? '', created: new Date().toISOString(),
      endpoints: att.endpoints,
    };
    if (!att.endpoints && att.mode === 'bridge') {
      Object.assign(rec, { hostVeth: this.vethName(containerId), ipAddress: att.ipAddress, prefixLen: att.prefixLen, gateway: att.gateway, macAddress: att.macAddress });
    }
    return this.normalize(rec);
  }

  /** Undoes everything a record describes; each step is idempotent. Keeps the record if some step failed. */
  private async cleanup(rec: EndpointRecord): Promise<void> {
    const id = rec.containerId;
    const eps = rec.endpoints ?? [];
    const steps: Promise<unknown>[] = [];
    if (rec.mode === 'bridge') {
      // the kernel destroys the veth pairs with the namespace (asynchronously: wait for them, so that no veth is
      // left behind when detach returns)
      steps.push((rec.netnsPath ? removeNetns(rec.netnsPath) : Promise.resolve())
        .then(() => Promise.all(eps.map((ep) => waitLinkGone(ep.hostVeth)))));
      const first = eps[0];
      const nat = (first ? this.nets.get(first.networkId) : this.defaultNet)?.nat ?? this.defaultNet.nat;
      if (rec.ports.length > 0 || !first) steps.push(nat.removePorts(id, first?.ipAddress, rec.ports));
      const fwd = this.opts.hostPorts;
      if (fwd) for (const p of rec.ports) steps.push(fwd.remove(p));
    } else if (rec.netnsPath) {
      steps.push(removeNetns(rec.netnsPath));
    }
    const results = await Promise.allSettled(steps);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw systemError(`failed to release the network of ${id}: ${failed.map((f) => errorMessage(f.reason)).join('; ')}`);
    for (const ep of eps) await this.releaseAddresses(id, ep);
    this.ports.removeOwner(id);
    this.endpoints.delete(id);
    await this.files.remove(id);
  }

  /** Rootless: opens the published ports on the host too (all or none: the caller's cleanup removes them). */
  private async forwardFromHost(ports: PortBinding[], name: string, endpointId: string): Promise<void> {
    const fwd = this.opts.hostPorts;
    if (!fwd) return;
    for (const p of ports) {
      await fwd.add(p).catch((err) => {
        if (err instanceof PortInUse) throw err;
        throw new HostForwardError(`driver failed programming external connectivity on endpoint ${name} (${endpointId}): ${errorMessage(err)}`);
      });
    }
  }

  private async saveRecord(rec: EndpointRecord): Promise<void> {
    await this.files.save(rec);
    this.endpoints.set(rec.containerId, rec);
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
