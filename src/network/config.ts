// The definition of a bridge network (the default one and user-defined ones) and the validation of
// POST /networks/create bodies into such definitions, with Docker's rules and error texts.
import { randomBytes } from 'crypto';
import { conflict, forbidden, invalidParameter, notFound } from '../common/errors';
import { Cidr, contains, formatCidr, formatIp, hostRange, isIpv4, overlaps, parseCidr, parseIp } from './ipv4';
import { Cidr6, contains6, formatCidr6, formatIp6, isIpv6, overlaps6, parseCidr6, parseIp6 } from './ipv6';

export interface NetworkConfig {
  Id: string;
  Name: string;
  Created: string;
  /** the subnet, canonical a.b.c.d/n */
  Subnet: string;
  Gateway: string;
  IPRange?: string;
  AuxAddresses?: Record<string, string>;
  /** IPAM.Config came from the user: static addresses (--ip) are allowed, as in Docker */
  UserSubnet: boolean;
  Internal: boolean;
  Attachable: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  /** dual stack (EnableIPv6): containers get an address of Subnet6 too, the bridge has Gateway6 */
  EnableIPv6?: boolean;
  /** the IPv6 pool of IPAM.Config, canonical; kept (and shown) even when EnableIPv6 is off, as dockerd does */
  Subnet6?: string;
  Gateway6?: string;
  /** the IPv6 gateway was given (IPAM.Config shows it only then, as dockerd) */
  Gateway6Given?: boolean;
  /** --ip-range of the IPv6 pool: where dynamic IPv6 addresses come from */
  IPRange6?: string;
  /** IPAM.Options as given at create (null when none were: dockerd echoes what it was sent) */
  IpamOptions?: Record<string, string> | null;
  /** the Linux bridge device */
  Bridge: string;
  Mtu: number;
  /** containers on the network may talk to each other (com.docker.network.bridge.enable_icc) */
  Icc: boolean;
  /** outgoing traffic is masqueraded (com.docker.network.bridge.enable_ip_masquerade) */
  Masquerade: boolean;
  /** default host address of published ports (com.docker.network.bridge.host_binding_ipv4) */
  HostBindingIpv4: string;
  /** the default "bridge" network: no embedded DNS, no aliases, no static addresses */
  Default: boolean;
  /** set while `network rm` tears it down, so a crash in the middle is finished at the next start */
  Removing?: boolean;
  /** set until `network create` has finished: a create cut by a crash is undone at the next start (fault
   * network.create.after-record: finishing it instead raced other daemons for the subnet it had not yet taken) */
  Creating?: boolean;
}

/** The body of POST /networks/create (the parts berth reads). */
export interface CreateNetworkBody {
  Name?: unknown;
  Driver?: unknown;
  Internal?: unknown;
  Attachable?: unknown;
  Ingress?: unknown;
  ConfigOnly?: unknown;
  ConfigFrom?: { Network?: unknown } | null;
  EnableIPv6?: unknown;
  EnableIPv4?: unknown;
  IPAM?: { Driver?: unknown; Config?: Array<{ Subnet?: unknown; IPRange?: unknown; Gateway?: unknown; AuxiliaryAddresses?: unknown }> | null; Options?: unknown } | null;
  Options?: unknown;
  Labels?: unknown;
}

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** Docker's local address pools for networks created without a subnet: 172.17–31/16, then 192.168.x.0/20. */
export function userNetworkCandidates(): string[] {
  const out: string[] = [];
  for (let b = 17; b < 32; b++) out.push(`172.${b}.0.0/16`);
  for (let c = 0; c < 256; c += 16) out.push(`192.168.${c}.0/20`);
  return out;
}

const stringMap = (v: unknown, what: string): Record<string, string> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter(`invalid ${what}: must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') throw invalidParameter(`invalid ${what}: the value of ${k} must be a string`);
    out[k] = x;
  }
  return out;
};

const parseBool = (v: string, opt: string): boolean => {
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw invalidParameter(`invalid value for option ${opt}: ${JSON.stringify(v)}: must be a boolean`);
};

function parseSubnet(s: string): Cidr {
  let c: Cidr;
  try { c = parseCidr(s); } catch { throw invalidParameter(`invalid network config: invalid subnet ${s}: invalid CIDR address: ${s}`); }
  if (formatCidr(c) !== s) throw invalidParameter(`invalid network config: invalid subnet ${s}: it should be ${formatCidr(c)}`);
  if (c.prefix > 30) throw invalidParameter(`invalid network config: invalid subnet ${s}: it is too small for a bridge network`);
  return c;
}

export interface CreateContext {
  /** every existing network (to check names, subnets and bridge names) */
  existing: NetworkConfig[];
  /** host routes and addresses that an automatically chosen subnet must avoid */
  taken: Cidr[];
  /** names of the host's interfaces (a bridge name taken by something else is refused) */
  hostLinks: Set<string>;
  mtu: number;
}

/** The IPv6 part of a create: the pool (checked for overlaps with other networks' pools) and its gateway. */
function ipv6Config(c: { Subnet?: unknown; IPRange?: unknown; Gateway?: unknown } | undefined, enable: boolean, ours: NetworkConfig[]): Partial<NetworkConfig> {
  if (!c) {
    // dockerd has no default IPv6 pools either: an IPv6 network needs its subnet
    if (enable) throw invalidParameter('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
    return {};
  }
  if (typeof c.Subnet !== 'string' || !c.Subnet) throw invalidParameter('every ip-range or gateway must have a corresponding subnet');
  let subnet: Cidr6;
  try { subnet = parseCidr6(c.Subnet); } catch { throw invalidParameter(`invalid network config: invalid subnet ${c.Subnet}: invalid CIDR address: ${c.Subnet}`); }
  let range: Cidr6 | undefined;
  if (c.IPRange) {
    const rs = String(c.IPRange);
    try { range = parseCidr6(rs); } catch { throw invalidParameter(`invalid network config: invalid ip-range ${rs}: invalid CIDR address: ${rs}`); }
    if (range.prefix < subnet.prefix || !contains6(subnet, range.base)) throw invalidParameter(`no matching subnet for range ${rs}`);
  }
  if (subnet.prefix > 126) throw invalidParameter(`invalid network config: the IPv6 subnet ${c.Subnet} is too small`);
  if (ours.some((n) => n.Subnet6 && overlaps6(parseCidr6(n.Subnet6), subnet))) {
    throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
  }
  let gateway = subnet.base + 1n;
  if (c.Gateway) {
    const g = String(c.Gateway);
    if (!isIpv6(g)) throw invalidParameter(`invalid network config: invalid gateway address ${g}`);
    gateway = parseIp6(g);
    if (!contains6(subnet, gateway) || gateway === subnet.base) throw invalidParameter(`no matching subnet for gateway ${g}`);
  }
  return { EnableIPv6: enable, Subnet6: formatCidr6(subnet), Gateway6: formatIp6(gateway), Gateway6Given: !!c.Gateway, ...(range ? { IPRange6: formatCidr6(range) } : {}) };
}

/**
 * Validates a create body and turns it into a new network definition (nothing is set up yet).
 * Errors use Docker's statuses: 400 for bad input, 403 for overlapping pools, 409 for a taken name.
 */
export function newNetworkConfig(body: CreateNetworkBody, ctx: CreateContext): NetworkConfig {
  if (!body || typeof body !== 'object') throw invalidParameter('invalid JSON: the request body must be a JSON object');
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw invalidParameter('network name must not be empty');
  if (name.length > 255) throw invalidParameter(`invalid network name ${JSON.stringify(name.slice(0, 40))}…: longer than 255 characters`);
  // dockerd takes any name that is not blank ("test 01"); berth keeps a network's addresses in a directory named
  // after it, so a name must also be usable as one path component ("/" and "." / ".." are refused)
  if (!name.trim()) throw invalidParameter(`invalid name: ${name}`);
  if (/[/\0]/.test(name) || name === '.' || name === '..') throw invalidParameter(`invalid network name ${JSON.stringify(name)}: it may not contain "/" or be "." or ".."`);
  if (ctx.existing.some((n) => n.Name === name) || ['bridge', 'host', 'none'].includes(name)) {
    throw conflict(`network with name ${name} already exists`);
  }
  const driver = body.Driver === undefined || body.Driver === null || body.Driver === '' ? 'bridge' : body.Driver;
  if (typeof driver !== 'string') throw invalidParameter('invalid driver: must be a string');
  if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
  if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
  if (body.EnableIPv4 === false) throw invalidParameter('IPv4 cannot be disabled: berth networks are IPv4-only');
  if (body.Ingress === true) throw forbidden('ingress networks need swarm mode, which berth does not have');
  if (body.ConfigOnly === true || (body.ConfigFrom && body.ConfigFrom.Network)) {
    throw invalidParameter('config-only networks (--config-only, --config-from) are not supported by berth');
  }
  const ipamDriver = body.IPAM?.Driver;
  if (ipamDriver !== undefined && ipamDriver !== null && ipamDriver !== '' && ipamDriver !== 'default') {
    throw notFound(`plugin "${String(ipamDriver)}" not found`);
  }
  const options = stringMap(body.Options, 'options');
  const labels = stringMap(body.Labels, 'labels');

  if (body.IPAM !== undefined && body.IPAM !== null && (typeof body.IPAM !== 'object' || Array.isArray(body.IPAM))) throw invalidParameter('json: cannot unmarshal into Go struct field NetworkCreateRequest.IPAM of type network.IPAM');
  // a Config that is not a list was a TypeError answered with 500 (issue 16, API abuse): Go's decoder answers 400
  if (body.IPAM?.Config !== undefined && body.IPAM?.Config !== null && !Array.isArray(body.IPAM.Config)) throw invalidParameter('json: cannot unmarshal into Go struct field IPAM.IPAM.Config of type []network.IPAMConfig');
  const configs = (body.IPAM?.Config ?? []).filter((c) => c && typeof c === 'object' && (c.Subnet || c.IPRange || c.Gateway));
  const v4 = configs.filter((c) => !String(c.Subnet ?? c.IPRange ?? c.Gateway ?? '').includes(':'));
  const v6 = configs.filter((c) => !v4.includes(c));
  if (v4.length > 1) throw invalidParameter('berth bridge networks take one IPv4 subnet; several were given');
  if (v6.length > 1) throw invalidParameter('berth bridge networks take one IPv6 subnet; several were given');
  const ours = ctx.existing.filter((n) => !n.Removing);
  const ipv6 = ipv6Config(v6[0], body.EnableIPv6 === true, ours);

  let subnet: Cidr;
  let gateway: number;
  let range: Cidr | undefined;
  let aux: Record<string, string> | undefined;
  const userSubnet = v4.length === 1 && typeof v4[0].Subnet === 'string' && v4[0].Subnet !== '';
  if (v4.length === 1 && !userSubnet) throw invalidParameter('every ip-range or gateway must have a corresponding subnet');
  if (userSubnet) {
    const c = v4[0];
    subnet = parseSubnet(String(c.Subnet));
    if (ours.some((n) => overlaps(parseCidr(n.Subnet), subnet))) {
      throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
    }
    if (c.IPRange) {
      const rs = String(c.IPRange);
      try { range = parseCidr(rs); } catch { throw invalidParameter(`invalid network config: invalid ip-range ${rs}: invalid CIDR address: ${rs}`); }
      if (range.prefix < subnet.prefix || !contains(subnet, range.base)) throw invalidParameter(`no matching subnet for range ${rs}`);
    }
    if (c.Gateway) {
      const g = String(c.Gateway);
      if (!isIpv4(g)) throw invalidParameter(`invalid network config: invalid gateway address ${g}`);
      gateway = parseIp(g);
      if (!contains(subnet, gateway)) throw invalidParameter(`no matching subnet for gateway ${g}`);
    } else {
      gateway = hostRange(subnet).first;
    }
    if (c.AuxiliaryAddresses) {
      aux = stringMap(c.AuxiliaryAddresses, 'auxiliary addresses');
      for (const [k, a] of Object.entries(aux)) {
        if (!isIpv4(a) || !contains(subnet, parseIp(a))) throw invalidParameter(`no matching subnet for aux-address ${a} (${k})`);
      }
    }
  } else {
    const taken = [...ctx.taken, ...ours.map((n) => parseCidr(n.Subnet))];
    const free = userNetworkCandidates().map(parseCidr).find((c) => !taken.some((t) => overlaps(t, c)));
    if (!free) throw forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    subnet = free;
    gateway = hostRange(subnet).first;
  }

  const id = randomBytes(32).toString('hex');
  const bridge = options[OPT_BRIDGE_NAME] ?? `br-${id.slice(0, 12)}`;
  if (!IFNAME_RE.test(bridge)) throw invalidParameter(`invalid bridge name ${JSON.stringify(bridge)}: at most 15 characters of [A-Za-z0-9_.-]`);
  if (ours.some((n) => n.Bridge === bridge) || ctx.hostLinks.has(bridge)) {
    throw conflict(`bridge name ${bridge} is already in use`);
  }
  let mtu = ctx.mtu;
  if (options[OPT_MTU] !== undefined) {
    mtu = Number(options[OPT_MTU]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw invalidParameter(`invalid MTU ${JSON.stringify(options[OPT_MTU])}: must be between 68 and 65535`);
  }
  const hostBinding = options[OPT_HOST_BINDING] ?? '';
  if (hostBinding && !isIpv4(hostBinding)) throw invalidParameter(`invalid host binding address ${hostBinding}: only IPv4 addresses are supported`);
  return {
    Id: id, Name: name, Created: new Date().toISOString(),
    Subnet: formatCidr(subnet), Gateway: formatIp(gateway), IPRange: range ? formatCidr(range) : undefined, AuxAddresses: aux,
    UserSubnet: userSubnet, Internal: body.Internal === true, Attachable: body.Attachable === true,
    Labels: labels, Options: options, Bridge: bridge, Mtu: mtu, ...ipv6,
    IpamOptions: body.IPAM?.Options === undefined || body.IPAM?.Options === null ? null : stringMap(body.IPAM.Options, 'IPAM options'),
    Icc: options[OPT_ICC] === undefined ? true : parseBool(options[OPT_ICC], OPT_ICC),
    Masquerade: options[OPT_MASQ] === undefined ? true : parseBool(options[OPT_MASQ], OPT_MASQ),
    HostBindingIpv4: hostBinding,
    Default: false,
  };
}
