// The Engine API shapes of networks (GET /networks, /networks/{id}) and of a container's NetworkSettings.
import { createHash } from 'crypto';
import type { NetworkConfig } from './config';
import type { EndpointRecord } from './records';
import type { Attachment, Endpoint } from './types';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export interface Builtin { name: 'host' | 'none'; id: string; created: string }

/** A bridge network (default or user-defined) as GET /networks/{id} shows it. */
export function bridgeNetworkObject(cfg: NetworkConfig, records: EndpointRecord[] | undefined): object {
  const containers: Record<string, object> = {};
  for (const r of records ?? []) {
    for (const ep of r.endpoints ?? []) {
      if (ep.networkId !== cfg.Id) continue;
      containers[r.containerId] = {
        Name: r.name ?? '', EndpointID: ep.endpointId, MacAddress: ep.macAddress,
        IPv4Address: `${ep.ipAddress}/${ep.prefixLen}`, IPv6Address: ep.ipv6Address ? `${ep.ipv6Address}/${ep.prefixLen6}` : '',
      };
    }
  }
  const ipamConfig: Record<string, unknown> = { Subnet: cfg.Subnet };
  if (cfg.IPRange) ipamConfig.IPRange = cfg.IPRange;
  ipamConfig.Gateway = cfg.Gateway;
  if (cfg.AuxAddresses && Object.keys(cfg.AuxAddresses).length) ipamConfig.AuxiliaryAddresses = cfg.AuxAddresses;
  const configs: object[] = [ipamConfig];
  if (cfg.Subnet6) configs.push({ Subnet: cfg.Subnet6, ...(cfg.IPRange6 ? { IPRange: cfg.IPRange6 } : {}), ...(cfg.Gateway6Given ? { Gateway: cfg.Gateway6 } : {}) });
  return {
    Name: cfg.Name, Id: cfg.Id, Created: cfg.Created, Scope: 'local', Driver: 'bridge',
    EnableIPv4: true, EnableIPv6: !!cfg.EnableIPv6,
    // networks made before IpamOptions was kept show {} as they did
    IPAM: { Driver: 'default', Options: cfg.Default ? null : cfg.IpamOptions === undefined ? {} : cfg.IpamOptions, Config: configs },
    Internal: cfg.Internal, Attachable: cfg.Attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: containers,
    Options: cfg.Default ? {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': cfg.Bridge,
      'com.docker.network.driver.mtu': String(cfg.Mtu),
    } : cfg.Options,
    Labels: cfg.Labels,
  };
}

/** host and none. */
export function builtinNetworkObject(b: Builtin, records: EndpointRecord[] | undefined): object {
  const containers: Record<string, object> = {};
  for (const r of records ?? []) {
    if (r.mode !== b.name) continue;
    containers[r.containerId] = { Name: r.name ?? '', EndpointID: r.endpointId, MacAddress: '', IPv4Address: '', IPv6Address: '' };
  }
  return {
    Name: b.name, Id: b.id, Created: b.created, Scope: 'local', Driver: b.name === 'host' ? 'host' : 'null',
    EnableIPv4: false, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: containers, Options: {}, Labels: {},
  };
}

/** EndpointSettings.IPAMConfig: what the container asked for (static address, link-local ones), else null. */
function ipamConfig(ep: Partial<Endpoint>): object | null {
  const cfg: Record<string, unknown> = {};
  if (ep.staticIp && ep.ipAddress) cfg.IPv4Address = ep.ipAddress;
  if (ep.requestedIpv6) cfg.IPv6Address = ep.requestedIpv6;
  if (ep.linkLocalIps?.length) cfg.LinkLocalIPs = ep.linkLocalIps;
  return Object.keys(cfg).length ? cfg : null;
}

/** One entry of NetworkSettings.Networks. */
export function endpointSettings(ep: Partial<Endpoint> & { networkId: string }, who: { id: string; name: string } | undefined, userDefined: boolean): object {
  const aliases = ep.aliases ?? [];
  return {
    IPAMConfig: ipamConfig(ep),
    Links: ep.links?.length ? ep.links : null,
    Aliases: aliases.length ? aliases : null,
    MacAddress: ep.macAddress ?? '',
    DriverOpts: ep.driverOpts && Object.keys(ep.driverOpts).length ? ep.driverOpts : null, GwPriority: 0,
    NetworkID: ep.networkId,
    EndpointID: ep.endpointId ?? '',
    Gateway: ep.gateway ?? '',
    IPAddress: ep.ipAddress ?? '',
    IPPrefixLen: ep.prefixLen ?? 0,
    IPv6Gateway: ep.gateway6 ?? '', GlobalIPv6Address: ep.ipv6Address ?? '', GlobalIPv6PrefixLen: ep.prefixLen6 ?? 0,
    DNSNames: userDefined && who ? [who.name, who.id.slice(0, 12), ...aliases].filter(Boolean) : null,
  };
}

/**
 * NetworkSettings of GET /containers/{id}/json for a running container. The deprecated top-level address fields
 * are filled for the default bridge only, as Docker does.
 */
export function networkSettings(att: Attachment, networks: Record<string, object>, primaryIsDefault: boolean): object {
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of att.ports ?? []) {
    const k = `${p.containerPort}/${p.protocol}`;
    (ports[k] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  const top = att.mode === 'bridge' && primaryIsDefault;
  return {
    Bridge: '',
    SandboxID: sha(`sandbox\0${att.netnsPath ?? 'host'}\0${att.endpointId ?? ''}`),
    SandboxKey: att.netnsPath ?? '',
    Ports: ports,
    HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: top ? att.endpointId ?? '' : '',
    Gateway: top ? att.gateway ?? '' : '',
    GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: top ? att.ipAddress ?? '' : '',
    IPPrefixLen: top ? att.prefixLen ?? 0 : 0,
    IPv6Gateway: '',
    MacAddress: top ? att.macAddress ?? '' : '',
    Networks: networks,
  };
}
