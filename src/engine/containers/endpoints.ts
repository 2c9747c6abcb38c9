// A container's networks: the endpoint requests of a new container (HostConfig.NetworkMode and
// NetworkingConfig), the attachment made at start, and network connect/disconnect of a created or running one.
import { conflict, forbidden, invalidParameter, notFound } from '../../common/errors';
import type { NetworkManager, PortSpec, Attachment, EndpointRequest } from '../../network';
import type { EngineCore } from './core';
import type { ContainerRecord, HostConfig } from './types';

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


function portSpecs(rec: ContainerRecord): PortSpec[] {
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
export function endpointRequests(manager: NetworkManager, h: HostConfig, networking: unknown, macAddress?: string): EndpointRequest[] {
  const mode = h.NetworkMode;
  const raw = (networking as { EndpointsConfig?: Record<string, EndpointConfigBody | null> } | undefined)?.EndpointsConfig ?? {};
  if (mode.startsWith('container:')) return [];
  const primary = manager.resolve(mode);
  const entries = Object.entries(raw);
  const byNetwork = new Map<string, [string, EndpointConfigBody | null]>();
  for (const [key, cfg] of entries) {
    const name = key === 'default' ? 'bridge' : key; // the docker CLI names the default network "default"
    const r = manager.resolve(name);
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
    const r = manager.resolve(network);
    if (!r.userDefined && aliases.length) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
    if (!r.userDefined && ip) throw invalidParameter('user specified IP address is supported on user defined networks only');
    return { network, ...(aliases.length ? { aliases } : {}), ...(ip ? { ipv4Address: ip } : {}), ...endpointExtras(cfg) };
  };
  const out = [toRequest(mode, byNetwork.get(primary.id)?.[1])];
  // API < 1.44 carries the MAC address in Config.MacAddress: it belongs to the primary endpoint
  if (macAddress && !out[0].macAddress) out[0].macAddress = macAddress;
  for (const [id, [name, cfg]] of byNetwork) {
    if (id === primary.id) continue;
    const r = manager.resolve(name);
    if (r.driver !== 'bridge') throw invalidParameter(`container cannot be connected to network ${name} and to other networks`);
    out.push(toRequest(name, cfg));
  }
  return out;
}

export async function setupNetwork(core: EngineCore, rec: ContainerRecord): Promise<{ netnsPath?: string; joinPid?: number; attachment?: Attachment }> {
  const mode = rec.HostConfig.NetworkMode;
  if (mode.startsWith('container:')) {
    const other = core.store.tryGet(mode.slice('container:'.length));
    if (!other) throw notFound(`No such container: ${mode.slice('container:'.length)}`);
    if (other.State.Status !== 'running' && other.State.Status !== 'paused') throw conflict(`cannot join network namespace of a non running container: ${other.Id}`);
    return { joinPid: other.State.Pid };
  }
  const kind = core.network.resolve(mode).driver;
  if (kind === 'host') return {};
  if (kind === 'null') {
    const attachment = await core.network.attach(rec.Id, { name: rec.Name.slice(1), mode: 'none', ports: [] });
    return { netnsPath: attachment.netnsPath, attachment };
  }
  // [] after `network disconnect` of every network: the container starts with loopback only, as in docker
  const networks = rec.Networks ?? [{ network: mode }];
  const attachment = await core.network.attach(rec.Id, { name: rec.Name.slice(1), mode: 'bridge', ports: portSpecs(rec), networks, ...(rec.HostConfig.Dns?.length ? { dns: rec.HostConfig.Dns } : {}) });
  return { netnsPath: attachment.netnsPath, attachment };
}

/**
 * POST /networks/{id}/connect: a running container gets the interface at once; a stopped one at its next start.
 * Returns the network's id and name (for the event).
 */
export async function connectNetwork(core: EngineCore, networkRef: string, containerRef: string, cfg: EndpointConfigBody | null | undefined): Promise<{ id: string; name: string; container: string }> {
  const rec = core.store.get(containerRef);
  const net = core.network.resolve(networkRef);
  return core.serialize(rec.Id, async () => {
    const mode = rec.HostConfig.NetworkMode;
    if (mode.startsWith('container:') || core.network.resolve(mode).driver === 'host') {
      throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
    }
    if (core.network.resolve(mode).driver === 'null' || net.driver === 'null') {
      throw invalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    }
    if (net.driver === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
    const current = rec.Networks ?? [{ network: mode }];
    const live = core.isRunning(rec) && !!rec.Network;
    const configured = current.findIndex((r) => sameNetwork(core, r.network, net.id));
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
      await core.store.save(rec);
      return { id: net.id, name: net.name, container: rec.Id };
    }
    if (live) {
      rec.Network = await core.network.connect(rec.Id, req);
    }
    rec.Networks = [...current, req];
    await core.store.save(rec);
    return { id: net.id, name: net.name, container: rec.Id };
  });
}

/** POST /networks/{id}/disconnect. */
export async function disconnectNetwork(core: EngineCore, networkRef: string, containerRef: string, force = false): Promise<{ id: string; name: string; container: string }> {
  const rec = core.store.get(containerRef);
  const net = core.network.resolve(networkRef);
  return core.serialize(rec.Id, async () => {
    const mode = rec.HostConfig.NetworkMode;
    // host and none modes hold no endpoint requests (Networks is []): the mode itself is what they are on
    const bridged = !mode.startsWith('container:') && core.network.resolve(mode).driver === 'bridge';
    const current = rec.Networks && (rec.Networks.length || bridged) ? rec.Networks : mode.startsWith('container:') ? [] : [{ network: mode }];
    const i = current.findIndex((r) => sameNetwork(core, r.network, net.id));
    // force or not, a container that is not on the network is an error (a second force-disconnect fails too)
    if (i < 0) throw forbidden(`container ${rec.Id} is not connected to network ${net.name}`);
    void force;
    if (net.driver !== 'bridge') throw invalidParameter(`container cannot be disconnected from ${net.name} network`);
    if (core.isRunning(rec) && rec.Network) {
      rec.Network = await core.network.disconnect(rec.Id, net.id);
    }
    const rest = current.filter((_, j) => j !== i);
    rec.Networks = rest;
    // the primary network went away: the next one becomes the container's network mode, as in Docker; with
    // none left the mode stays (docker keeps it), and the container can be connected again
    if (i === 0 && rest.length) rec.HostConfig.NetworkMode = rest[0].network;
    await core.store.save(rec);
    return { id: net.id, name: net.name, container: rec.Id };
  });
}

function sameNetwork(core: EngineCore, ref: string, id: string): boolean {
  try { return core.network.resolve(ref).id === id; } catch { return false; }
}
