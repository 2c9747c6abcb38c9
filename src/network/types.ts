// Public types of the network layer (re-exported by ./index).

export type NetworkMode = 'bridge' | 'none' | 'host';

export interface PortSpec {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' = all IPv4 addresses */
  hostIp: string;
  /** 0 = a random free port of the ephemeral range */
  hostPort: number;
}

export interface PortBinding {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' = all */
  hostIp: string;
  hostPort: number;
}

/** One network of a container: its interface on that network's bridge. */
export interface Endpoint {
  networkId: string;
  /** the network's name when the endpoint was made */
  network: string;
  /** the interface inside the container: eth0, eth1, … */
  ifname: string;
  hostVeth: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  /** --network-alias: extra DNS names on this network */
  aliases: string[];
  endpointId: string;
  /** the address was asked for (--ip), not allocated */
  staticIp?: boolean;
  /** --link on a user-defined network, "target:alias": the alias resolves to the target for this container */
  links?: string[];
  /** --link-local-ip: more addresses on the interface (IPAMConfig.LinkLocalIPs) */
  linkLocalIps?: string[];
  /** EndpointSettings.DriverOpts, kept and shown as given */
  driverOpts?: Record<string, string>;
  /** dual-stack networks: the IPv6 address, its prefix length and the network's IPv6 gateway */
  ipv6Address?: string;
  prefixLen6?: number;
  gateway6?: string;
  /** --ip6 as asked (IPAMConfig.IPv6Address), also on a network without IPv6 where nothing is assigned */
  requestedIpv6?: string;
}

/** What the container asks of one network (NetworkingConfig.EndpointsConfig[name]). */
export interface EndpointRequest {
  /** name or id of a bridge network */
  network: string;
  aliases?: string[];
  /** --ip */
  ipv4Address?: string;
  /** --mac-address */
  macAddress?: string;
  links?: string[];
  linkLocalIps?: string[];
  driverOpts?: Record<string, string>;
  /** --ip6 */
  ipv6Address?: string;
}

export interface Attachment {
  mode: NetworkMode;
  /** undefined for host mode */
  netnsPath?: string;
  /** 'bridge' | 'none' | 'host' */
  network?: string;
  ipAddress?: string;
  prefixLen?: number;
  gateway?: string;
  macAddress?: string;
  /** resolved (random ports chosen) */
  ports: PortBinding[];
  /** 64-hex endpoint id shown by inspect (addition to the agreed API; optional) */
  endpointId?: string;
  /** every network of a bridged container, the primary one (ipAddress … above) first */
  endpoints?: Endpoint[];
  /** the nameserver for the container's resolv.conf: the embedded DNS on a user-defined network's gateway */
  dnsServer?: string;
}

export interface AttachRequest {
  mode: NetworkMode;
  ports: PortSpec[];
  /** container name without '/', used in error messages like Docker's "on endpoint <name>" (optional addition) */
  name?: string;
  /** bridge mode: the networks, primary first (default: the default "bridge" network) */
  networks?: EndpointRequest[];
  /** --dns: the nameservers the embedded DNS forwards this container's other queries to */
  dns?: string[];
}

/**
 * Rootless seam: when the daemon runs in its own network namespace (rootless berth), published ports must also
 * be opened on the host, by the user-mode network that links the namespace to it. `add` opens `b.hostIp:b.hostPort`
 * on the host and forwards it to port `b.hostPort` of the daemon's namespace (where the DNAT rules take it to the
 * container); it throws `PortInUse` when the host port is taken, or an error with a clear message when the host
 * refuses it (a privileged port). `remove` is idempotent.
 */
export interface HostPortForwarder {
  add(b: PortBinding): Promise<void>;
  remove(b: PortBinding): Promise<void>;
}
