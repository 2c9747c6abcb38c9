// The `network` group: create, ls, inspect, rm, prune, connect, disconnect. Request bodies are built field
// for field the way docker's CLI builds them (including its zero values), so the daemon sees the same JSON
// from either client; the checks docker makes before sending anything are made here with its messages.
import { CommandSpec, StatusError, flagDefs, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { ApiError } from '../../client';
import { confirm, filtersJson, naturalCompare, validateLabel } from './util';
import { contains, parseCIDR, parseIP } from './ipnet';

export function command(id: string): Cmd {
  switch (id) {
    case 'network create': return createCommand(id);
    case 'network ls': return lsCommand(id);
    case 'network inspect': return inspectCommand(id);
    case 'network rm': return rmCommand(id);
    case 'network prune': return pruneCommand(id);
    case 'network connect': return connectCommand(id);
    case 'network disconnect': return disconnectCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

/** The client library's check on names: surrounding blanks go, and nothing left is refused locally. */
export function trimRef(kind: 'network' | 'container', ref: string): string {
  const t = ref.trim();
  if (t === '') throw new Error(`invalid ${kind} name or ID: value is empty`);
  return t;
}

/** Go marshals maps with sorted keys; building them sorted keeps berth's JSON identical to docker's. */
function sortedMap(entries: Iterable<[string, string]>): Record<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of entries) m.set(k, v); // the last value of a repeated key wins
  const out: Record<string, string> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

/** opts.MapOpts / ConvertKVStringsToMap: "k=v" pairs, a bare "k" maps to "". */
const kvMap = (values: string[]) => sortedMap(values.map((v): [string, string] => {
  const eq = v.indexOf('=');
  return eq < 0 ? [v, ''] : [v.slice(0, eq), v.slice(eq + 1)];
}));

/** API versions compare numerically per component ("1.9" < "1.10"). */
function versionLess(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// create

export interface IpamInput {
  driver: string;
  subnets: string[];
  ipRanges: string[];
  gateways: string[];
  aux: string[];
  options: string[];
}

interface IpamConfig { Subnet: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }

/** Go's subnet-contains-address test as docker's create uses it; the subnet must parse, the data may not. */
function subnetMatches(subnet: string, data: string): boolean {
  let net;
  try {
    net = parseCIDR(subnet);
  } catch (err) {
    throw new Error(`invalid subnet: ${(err as Error).message}`);
  }
  const ip = data.includes('/') ? parseCIDR(data).ip : parseIP(data);
  return contains(net, ip);
}

/**
 * Groups --subnet, --ip-range, --gateway and --aux-address into one IPAM config per subnet, refusing what
 * docker refuses (in its order, with its messages). Configs keep the order the subnets were given in.
 */
export function buildIpam(o: IpamInput): { Driver: string; Options: Record<string, string>; Config: IpamConfig[] } {
  if (o.subnets.length < o.ipRanges.length || o.subnets.length < o.gateways.length) {
    throw new Error('every ip-range or gateway must have a corresponding subnet');
  }
  const configs = new Map<string, IpamConfig & { aux: [string, string][] }>();
  for (const s of o.subnets) {
    for (const k of configs.keys()) {
      // both directions are checked before deciding, so an unparsable subnet is always reported
      const inside = subnetMatches(s, k);
      const around = subnetMatches(k, s);
      if (inside || around) throw new Error('multiple overlapping subnet configuration is not supported');
    }
    configs.set(s, { Subnet: s, aux: [] });
  }
  for (const r of o.ipRanges) {
    let match = false;
    for (const s of o.subnets) {
      parseCIDR(r);
      if (!subnetMatches(s, r)) continue;
      const c = configs.get(s)!;
      if (c.IPRange) throw new Error(`cannot configure multiple ranges (${r}, ${c.IPRange}) on the same subnet (${s})`);
      c.IPRange = r;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for range ${r}`);
  }
  for (const g of o.gateways) {
    let match = false;
    for (const s of o.subnets) {
      if (!subnetMatches(s, g)) continue;
      const c = configs.get(s)!;
      if (c.Gateway) throw new Error(`cannot configure multiple gateways (${g}, ${c.Gateway}) for the same subnet (${s})`);
      c.Gateway = g;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for gateway ${g}`);
  }
  for (const [key, addr] of Object.entries(kvMap(o.aux))) {
    let match = false;
    for (const s of o.subnets) {
      if (!subnetMatches(s, addr)) continue;
      configs.get(s)!.aux.push([key, addr]);
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for aux-address ${addr}`);
  }
  const Config = [...configs.values()].map(({ aux, ...c }) => {
    const out: IpamConfig = { Subnet: c.Subnet };
    if (c.IPRange) out.IPRange = c.IPRange;
    if (c.Gateway) out.Gateway = c.Gateway;
    if (aux.length) out.AuxiliaryAddresses = sortedMap(aux);
    return out;
  });
  return { Driver: o.driver, Options: kvMap(o.options), Config };
}

function createCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] NETWORK',
    short: 'Create a network',
    args: { exact: 1 },
    flags: flagDefs([
      ['d', 'driver', 'string', 'Driver to manage the Network', '"bridge"'],
      ['o', 'opt', 'map', 'Set driver specific options', 'map[]'],
      ['', 'label', 'list', 'Set metadata on a network'],
      ['', 'internal', 'bool', 'Restrict external access to the network'],
      ['', 'ipv4', 'bool', 'Enable or disable IPv4 address assignment', 'true'],
      ['', 'ipv6', 'bool', 'Enable or disable IPv6 address assignment'],
      ['', 'attachable', 'bool', 'Enable manual container attachment'],
      ['', 'ingress', 'bool', 'Create swarm routing-mesh network'],
      ['', 'scope', 'string', "Control the network's scope"],
      ['', 'config-only', 'bool', 'Create a configuration only network'],
      ['', 'config-from', 'string', 'The network from which to copy the configuration'],
      ['', 'ipam-driver', 'string', 'IP Address Management Driver', '"default"'],
      ['', 'subnet', 'strings', 'Subnet in CIDR format that represents a network segment'],
      ['', 'ip-range', 'strings', 'Allocate container ip from a sub-range'],
      ['', 'gateway', 'strings', 'IPv4 or IPv6 Gateway for the master subnet'],
      ['', 'aux-address', 'map', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', 'map[]'],
      ['', 'ipam-opt', 'map', 'Set IPAM driver specific options', 'map[]'],
    ]),
  };
  return {
    spec,
    validators: { label: validateLabel },
    async run(ctx, p) {
      let ipam;
      try {
        ipam = buildIpam({
          driver: p.str('ipam-driver', 'default'), subnets: p.list('subnet'), ipRanges: p.list('ip-range'),
          gateways: p.list('gateway'), aux: p.list('aux-address'), options: p.list('ipam-opt'),
        });
      } catch (err) {
        throw new StatusError(1, (err as Error).message);
      }
      const configFrom = p.str('config-from');
      // Field order and zero values as docker's client marshals network.CreateRequest.
      const body: Record<string, unknown> = { Driver: p.str('driver', 'bridge'), Scope: p.str('scope') };
      if (p.has('ipv4')) body.EnableIPv4 = p.bool('ipv4', true);
      if (p.has('ipv6')) body.EnableIPv6 = p.bool('ipv6');
      Object.assign(body, {
        IPAM: ipam,
        Internal: p.bool('internal'),
        Attachable: p.bool('attachable'),
        Ingress: p.bool('ingress'),
        ConfigOnly: p.bool('config-only'),
        ConfigFrom: configFrom ? { Network: configFrom } : null,
        Options: kvMap(p.list('opt')),
        Labels: kvMap(p.list('label')),
        Name: p.args[0],
      });
      // CheckDuplicate is gone from API 1.44; older daemons only refuse duplicate names when asked to.
      const client = ctx.client();
      if (versionLess(client.version, '1.44')) body.CheckDuplicate = true;
      const res = await client.networkCreate(body);
      ctx.out(`${res?.Id ?? ''}\n`);
      return 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// ls

function lsCommand(id: string): Cmd {
  const { FORMAT_HELP } = require('./ps') as typeof import('./ps');
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'List networks',
    aliases: `${BIN} network ls, ${BIN} network list`,
    args: 'none',
    flags: flagDefs([
      ['f', 'filter', 'filter', 'Provide filter values (e.g. "driver=bridge")'],
      ['', 'format', 'string', FORMAT_HELP],
      ['', 'no-trunc', 'bool', 'Do not truncate the output'],
      ['q', 'quiet', 'bool', 'Only display network IDs'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const list = (await ctx.client().networkList(filtersJson(p.list('filter')))) ?? [];
      list.sort((a, b) => naturalCompare(a.Name ?? '', b.Name ?? ''));
      const { NetworkContext, networkFormat, networkHeaders } = require('../format/network') as typeof import('../format/network');
      const { writeFormatted, FormatError } = require('../format/formatter') as typeof import('../format/formatter');
      const trunc = !p.bool('no-trunc');
      const rows = list.map((n) => new NetworkContext(n, trunc));
      try {
        ctx.out(writeFormatted(networkFormat(p.str('format') || 'table', p.bool('quiet')), rows, networkHeaders));
      } catch (err) {
        if (err instanceof FormatError) throw new StatusError(1, err.message);
        throw err;
      }
      return 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// inspect

function inspectCommand(id: string): Cmd {
  // required here: only `network inspect` needs the inspect machinery (and its template engine)
  const { INSPECT_FORMAT_HELP, inspectRefs } = require('./system') as typeof import('./system');
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] NETWORK [NETWORK...]',
    short: 'Display detailed information on one or more networks',
    args: { min: 1 },
    flags: flagDefs([
      ['f', 'format', 'string', INSPECT_FORMAT_HELP],
      ['v', 'verbose', 'bool', 'Verbose output for diagnostics'],
    ]),
  };
  return {
    spec,
    run: (ctx, p) => inspectRefs(ctx, p.args, p.str('format'),
      async (ref) => ctx.client().networkInspectRaw(trimRef('network', ref), p.bool('verbose'))),
  };
}

// ---------------------------------------------------------------------------------------------------
// rm

const INGRESS_WARNING = 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?';

function rmCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: 'NETWORK [NETWORK...]',
    short: 'Remove one or more networks',
    aliases: `${BIN} network rm, ${BIN} network remove`,
    args: { min: 1 },
    flags: flagDefs([['f', 'force', 'bool', 'Do not error if the network does not exist']]),
  };
  return {
    spec,
    async run(ctx, p) {
      const client = ctx.client();
      let failed = false;
      // One at a time, like docker: removing the ingress network asks first, and that needs the terminal.
      for (const name of p.args) {
        try {
          const ref = trimRef('network', name);
          let ingress = false;
          try {
            ingress = !!(await client.networkInspect(ref))?.Ingress;
          } catch { /* the removal below reports what is wrong */ }
          if (ingress && !(await confirm(ctx, INGRESS_WARNING))) continue;
          await client.networkRemove(ref);
          ctx.out(name + '\n');
        } catch (err) {
          if (p.bool('force') && err instanceof ApiError && err.notFound) continue;
          ctx.err((err as Error).message + '\n');
          failed = true;
        }
      }
      // docker's errors were already printed; its bare status error then prints as "exit status 1"
      if (failed) throw new StatusError(1, 'exit status 1');
      return 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// prune

function pruneCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Remove all unused networks',
    args: 'none',
    flags: flagDefs([
      ['', 'filter', 'filter', 'Provide filter values (e.g. "until=<timestamp>")'],
      ['f', 'force', 'bool', 'Do not prompt for confirmation'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const warning = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';
      // a "no" is not an error: docker exits 0 without output
      if (!p.bool('force') && !(await confirm(ctx, warning))) return 0;
      const report = await ctx.client().networksPrune(filtersJson(p.list('filter')));
      const deleted = report?.NetworksDeleted ?? [];
      if (deleted.length > 0) ctx.out(`Deleted Networks:\n${deleted.map((n) => n + '\n').join('')}\n`);
      return 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// connect / disconnect

/** opts.ValidateLink: "name" or "name:alias". */
function validateLink(v: string): string {
  if (v === '') throw new Error('empty string specified for links');
  if (v.split(':').length > 2) throw new Error(`bad format for links: ${v}`);
  return v;
}

/** --driver-opt k=v pairs: keys and values trimmed, a key is required. */
function driverOpts(values: string[]): Record<string, string> {
  return sortedMap(values.map((o): [string, string] => {
    const eq = o.indexOf('=');
    const k = (eq < 0 ? o : o.slice(0, eq)).trim();
    if (eq < 0 || k === '') throw new StatusError(1, 'invalid key/value pair format in driver options');
    return [k, o.slice(eq + 1).trim()];
  }));
}

function connectCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] NETWORK CONTAINER',
    short: 'Connect a container to a network',
    args: { exact: 2 },
    flags: flagDefs([
      ['', 'ip', 'string', 'IPv4 address (e.g., "172.30.100.104")'],
      ['', 'ip6', 'string', 'IPv6 address (e.g., "2001:db8::33")'],
      ['', 'link', 'list', 'Add link to another container'],
      ['', 'alias', 'strings', 'Add network-scoped alias for the container'],
      ['', 'link-local-ip', 'strings', 'Add a link-local address for the container'],
      ['', 'driver-opt', 'strings', 'driver options for the network'],
      ['', 'gw-priority', 'int', 'Highest gw-priority provides the default gateway. Accepts positive and negative values.'],
    ]),
  };
  return {
    spec,
    validators: { link: validateLink },
    async run(ctx, p) {
      const opts = driverOpts(p.list('driver-opt'));
      const [network, container] = p.args;
      let netRef: string, ctrRef: string;
      try {
        netRef = trimRef('network', network);
        ctrRef = trimRef('container', container);
      } catch (err) {
        throw new StatusError(1, (err as Error).message);
      }
      const ipam: Record<string, unknown> = {};
      if (p.str('ip')) ipam.IPv4Address = p.str('ip');
      if (p.str('ip6')) ipam.IPv6Address = p.str('ip6');
      if (p.list('link-local-ip').length) ipam.LinkLocalIPs = p.list('link-local-ip');
      // docker sends the whole EndpointSettings struct, zero values included
      const endpoint = {
        IPAMConfig: ipam,
        Links: p.list('link').length ? p.list('link') : null,
        Aliases: p.list('alias'),
        MacAddress: '',
        DriverOpts: opts,
        GwPriority: p.int('gw-priority'),
        NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '',
        GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
      };
      await ctx.client().networkConnect(netRef, { Container: ctrRef, EndpointConfig: endpoint });
      return 0;
    },
  };
}

function disconnectCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] NETWORK CONTAINER',
    short: 'Disconnect a container from a network',
    args: { exact: 2 },
    flags: flagDefs([['f', 'force', 'bool', 'Force the container to disconnect from a network']]),
  };
  return {
    spec,
    async run(ctx: Ctx, p) {
      let netRef: string, ctrRef: string;
      try {
        netRef = trimRef('network', p.args[0]);
        ctrRef = trimRef('container', p.args[1]);
      } catch (err) {
        throw new StatusError(1, (err as Error).message);
      }
      await ctx.client().networkDisconnect(netRef, { Container: ctrRef, Force: p.bool('force') });
      return 0;
    },
  };
}
