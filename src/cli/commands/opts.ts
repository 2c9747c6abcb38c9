// docker's container options (cli/command/container/opts.go): the run/create flag set and its mapping
// into the create body — Config, HostConfig and NetworkingConfig — exactly as the docker CLI builds it.
import { FlagTuple, Parsed, parseGoInt, goq } from '../command';
import { parseGoDuration, ramInBytes } from '../format/units';
import { parseKvFile, readEnv } from './util';

/** Flags shared by run and create (addFlags), in docker's wording. */
export const CONTAINER_FLAGS: FlagTuple[] = [
  ['a', 'attach', 'list', 'Attach to STDIN, STDOUT or STDERR'],
  ['', 'device-cgroup-rule', 'list', 'Add a rule to the cgroup allowed devices list'],
  ['', 'device', 'list', 'Add a host device to the container'],
  ['', 'gpus', 'gpu-request', "GPU devices to add to the container ('all' to pass all GPUs)"],
  ['e', 'env', 'list', 'Set environment variables'],
  ['', 'env-file', 'list', 'Read in a file of environment variables'],
  ['', 'entrypoint', 'string', 'Overwrite the default ENTRYPOINT of the image'],
  ['', 'group-add', 'list', 'Add additional groups to join'],
  ['h', 'hostname', 'string', 'Container host name'],
  ['', 'domainname', 'string', 'Container NIS domain name'],
  ['i', 'interactive', 'bool', 'Keep STDIN open even if not attached'],
  ['l', 'label', 'list', 'Set meta data on a container'],
  ['', 'label-file', 'list', 'Read in a line delimited file of labels'],
  ['', 'read-only', 'bool', "Mount the container's root filesystem as read only"],
  ['', 'restart', 'string', 'Restart policy to apply when a container exits', '"no"'],
  ['', 'stop-signal', 'string', 'Signal to stop the container'],
  ['', 'stop-timeout', 'int', 'Timeout (in seconds) to stop a container'],
  ['', 'sysctl', 'map', 'Sysctl options', 'map[]'],
  ['t', 'tty', 'bool', 'Allocate a pseudo-TTY'],
  ['', 'ulimit', 'ulimit', 'Ulimit options', '[]'],
  ['u', 'user', 'string', 'Username or UID (format: <name|uid>[:<group|gid>])'],
  ['w', 'workdir', 'string', 'Working directory inside the container'],
  ['', 'rm', 'bool', 'Automatically remove the container and its associated anonymous volumes when it exits'],
  ['', 'cap-add', 'list', 'Add Linux capabilities'],
  ['', 'cap-drop', 'list', 'Drop Linux capabilities'],
  ['', 'privileged', 'bool', 'Give extended privileges to this container'],
  ['', 'security-opt', 'list', 'Security Options'],
  ['', 'userns', 'string', 'User namespace to use'],
  ['', 'cgroupns', 'string', "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)"],
  ['', 'add-host', 'list', 'Add a custom host-to-IP mapping (host:ip)'],
  ['', 'dns', 'list', 'Set custom DNS servers'],
  ['', 'dns-opt', 'list', 'Set DNS options', '', 'hidden'],
  ['', 'dns-option', 'list', 'Set DNS options'],
  ['', 'dns-search', 'list', 'Set custom DNS search domains'],
  ['', 'expose', 'list', 'Expose a port or a range of ports'],
  ['', 'ip', 'string', 'IPv4 address (e.g., 172.30.100.104)'],
  ['', 'ip6', 'string', 'IPv6 address (e.g., 2001:db8::33)'],
  ['', 'link', 'list', 'Add link to another container'],
  ['', 'link-local-ip', 'list', 'Container IPv4/IPv6 link-local addresses'],
  ['', 'mac-address', 'string', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'],
  ['p', 'publish', 'list', "Publish a container's port(s) to the host"],
  ['P', 'publish-all', 'bool', 'Publish all exposed ports to random ports'],
  ['', 'net', 'network', 'Connect a container to a network', '', 'hidden'],
  ['', 'network', 'network', 'Connect a container to a network'],
  ['', 'net-alias', 'list', 'Add network-scoped alias for the container', '', 'hidden'],
  ['', 'network-alias', 'list', 'Add network-scoped alias for the container'],
  ['', 'log-driver', 'string', 'Logging driver for the container'],
  ['', 'volume-driver', 'string', 'Optional volume driver for the container'],
  ['', 'log-opt', 'list', 'Log driver options'],
  ['', 'storage-opt', 'list', 'Storage driver options for the container'],
  ['', 'tmpfs', 'list', 'Mount a tmpfs directory'],
  ['', 'volumes-from', 'list', 'Mount volumes from the specified container(s)'],
  ['v', 'volume', 'list', 'Bind mount a volume'],
  ['', 'mount', 'mount', 'Attach a filesystem mount to the container'],
  ['', 'health-cmd', 'string', 'Command to run to check health'],
  ['', 'health-interval', 'duration', 'Time between running the check (ms|s|m|h) (default 0s)'],
  ['', 'health-retries', 'int', 'Consecutive failures needed to report unhealthy'],
  ['', 'health-timeout', 'duration', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)'],
  ['', 'health-start-period', 'duration', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)'],
  ['', 'health-start-interval', 'duration', 'Time between running the check during the start period (ms|s|m|h) (default 0s)'],
  ['', 'no-healthcheck', 'bool', 'Disable any container-specified HEALTHCHECK'],
  ['', 'blkio-weight', 'uint16', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)'],
  ['', 'blkio-weight-device', 'list', 'Block IO weight (relative device weight)', '[]'],
  ['', 'cidfile', 'string', 'Write the container ID to the file'],
  ['', 'cpuset-cpus', 'string', 'CPUs in which to allow execution (0-3, 0,1)'],
  ['', 'cpuset-mems', 'string', 'MEMs in which to allow execution (0-3, 0,1)'],
  ['', 'cpu-count', 'int64', 'CPU count (Windows only)'],
  ['', 'cpu-percent', 'int64', 'CPU percent (Windows only)'],
  ['', 'cpu-period', 'int64', 'Limit CPU CFS (Completely Fair Scheduler) period'],
  ['', 'cpu-quota', 'int64', 'Limit CPU CFS (Completely Fair Scheduler) quota'],
  ['', 'cpu-rt-period', 'int64', 'Limit CPU real-time period in microseconds'],
  ['', 'cpu-rt-runtime', 'int64', 'Limit CPU real-time runtime in microseconds'],
  ['c', 'cpu-shares', 'int64', 'CPU shares (relative weight)'],
  ['', 'cpus', 'decimal', 'Number of CPUs'],
  ['', 'device-read-bps', 'list', 'Limit read rate (bytes per second) from a device', '[]'],
  ['', 'device-read-iops', 'list', 'Limit read rate (IO per second) from a device', '[]'],
  ['', 'device-write-bps', 'list', 'Limit write rate (bytes per second) to a device', '[]'],
  ['', 'device-write-iops', 'list', 'Limit write rate (IO per second) to a device', '[]'],
  ['', 'io-maxbandwidth', 'bytes', 'Maximum IO bandwidth limit for the system drive (Windows only)'],
  ['', 'io-maxiops', 'uint64', 'Maximum IOps limit for the system drive (Windows only)'],
  ['', 'kernel-memory', 'bytes', 'Kernel memory limit'],
  ['m', 'memory', 'bytes', 'Memory limit'],
  ['', 'memory-reservation', 'bytes', 'Memory soft limit'],
  ['', 'memory-swap', 'memswap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"],
  ['', 'memory-swappiness', 'int64', 'Tune container memory swappiness (0 to 100)', '-1'],
  ['', 'oom-kill-disable', 'bool', 'Disable OOM Killer'],
  ['', 'oom-score-adj', 'int', "Tune host's OOM preferences (-1000 to 1000)"],
  ['', 'pids-limit', 'int64', 'Tune container pids limit (set -1 for unlimited)'],
  ['', 'cgroup-parent', 'string', 'Optional parent cgroup for the container'],
  ['', 'ipc', 'string', 'IPC mode to use'],
  ['', 'isolation', 'string', 'Container isolation technology'],
  ['', 'pid', 'string', 'PID namespace to use'],
  ['', 'shm-size', 'bytes', 'Size of /dev/shm'],
  ['', 'uts', 'string', 'UTS namespace to use'],
  ['', 'runtime', 'string', 'Runtime to use for this container'],
  ['', 'init', 'bool', 'Run an init inside the container that forwards signals and reaps processes'],
  ['', 'annotation', 'map', 'Add an annotation to the container (passed through to the OCI runtime)', 'map[]'],
];

/** Validators of list flags (ListOpts validators in docker). */
export const CONTAINER_VALIDATORS: Record<string, (v: string) => string> = {
  attach(v) {
    const s = v.toLowerCase();
    if (s === 'stdin' || s === 'stdout' || s === 'stderr') return s;
    throw new Error('valid streams are STDIN, STDOUT and STDERR');
  },
  ulimit(v) { parseUlimit(v); return v; },
  mount(v) { parseMount(v); return v; },
  network(v) { parseNetworkOpt(v); return v; },
  net(v) { parseNetworkOpt(v); return v; },
  'memory-swap'(v) { if (v !== '-1') ramInBytes(v); return v; },
  'device-cgroup-rule'(v) {
    if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(v)) throw new Error(`invalid device cgroup format '${v}'`);
    return v;
  },
  dns(v) {
    if (!isIP(v.trim())) throw new Error(`IP address is not correctly formatted: ${v}`);
    return v.trim();
  },
  'add-host'(v) {
    const i = v.search(/[:=]/);
    if (i <= 0) throw new Error(`bad format for add-host: "${v}"`);
    return v;
  },
};

const isIP = (s: string) => /^(\d{1,3}\.){3}\d{1,3}$/.test(s) || (/^[0-9a-fA-F:.]+$/.test(s) && s.includes(':'));

export interface ContainerConfig {
  Config: Record<string, unknown>;
  HostConfig: Record<string, unknown>;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
}

export class OptsError extends Error {}

/** units.ParseUlimit. */
export function parseUlimit(val: string): { Name: string; Soft: number; Hard: number } {
  const eq = val.indexOf('=');
  if (eq < 0) throw new Error(`invalid ulimit argument: ${val}`);
  const name = val.slice(0, eq);
  const names = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];
  if (!names.includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = val.slice(eq + 1).split(':');
  if (parts.length > 2) throw new Error(`too many limit value arguments - ${val.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (s: string) => {
    if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${goq(s)}: invalid syntax`);
    return parseInt(s, 10);
  };
  const soft = num(parts[0]);
  const hard = parts.length === 2 ? num(parts[1]) : soft;
  if (hard !== -1) {
    if (soft === -1) throw new Error(`ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${hard}`);
    if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { Name: name, Soft: soft, Hard: hard };
}

/** A tiny CSV field splitter (Go's encoding/csv for one record). */
export function csvFields(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (q) {
      if (c === '"' && value[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"' && cur === '') q = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

const absPath = (p: string) => {
  const path: typeof import('path') = require('path');
  return path.resolve(p);
};

/** opts.MountOpt.Set → a mount.Mount. */
export function parseMount(value: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: 'volume' };
  let volumeOptions: Record<string, any> | undefined;
  let bindOptions: Record<string, any> | undefined;
  let tmpfsOptions: Record<string, any> | undefined;
  let imageOptions: Record<string, any> | undefined;
  const vol = () => (volumeOptions ??= { Labels: {} as Record<string, string>, DriverConfig: {} as Record<string, any> });
  const bind = () => (bindOptions ??= {});
  const tmpfs = () => (tmpfsOptions ??= {});
  const setMap = (t: Record<string, string>, v: string) => {
    const i = v.indexOf('=');
    const k = i >= 0 ? v.slice(0, i) : v;
    if (k !== '') t[k] = i >= 0 ? v.slice(i + 1) : '';
  };
  const bool = (key: string, v: string) => {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
    throw new Error(`invalid value for ${key}: ${v}`);
  };
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    const val = eq >= 0 ? field.slice(eq + 1) : '';
    if (eq < 0) {
      switch (key) {
        case 'readonly': case 'ro': m.ReadOnly = true; continue;
        case 'volume-nocopy': vol().NoCopy = true; continue;
        case 'bind-nonrecursive': bind().NonRecursive = true; continue;
        default: throw new Error(`invalid field '${field}' must be a key=value pair`);
      }
    }
    switch (key) {
      case 'type': m.Type = val.toLowerCase(); break;
      case 'source': case 'src': m.Source = !val.startsWith('/') && val.startsWith('.') ? absPath(val) : val; break;
      case 'target': case 'dst': case 'destination': m.Target = val; break;
      case 'readonly': case 'ro': m.ReadOnly = bool(key, val); break;
      case 'consistency': m.Consistency = val.toLowerCase(); break;
      case 'bind-propagation': bind().Propagation = val.toLowerCase(); break;
      case 'bind-nonrecursive': bind().NonRecursive = bool(key, val); break;
      case 'bind-recursive':
        if (val === 'disabled') bind().NonRecursive = true;
        else if (val === 'writable') bind().ReadOnlyNonRecursive = true;
        else if (val === 'readonly') bind().ReadOnlyForceRecursive = true;
        else if (val !== 'enabled') throw new Error(`invalid value for ${key}: ${val} (must "enabled", "disabled", "writable", or "readonly")`);
        break;
      case 'volume-subpath': vol().Subpath = val; break;
      case 'volume-nocopy': vol().NoCopy = bool('volume-nocopy', val); break;
      case 'volume-label': setMap(vol().Labels, val); break;
      case 'volume-driver': vol().DriverConfig.Name = val; break;
      case 'volume-opt': setMap((vol().DriverConfig.Options ??= {}), val); break;
      case 'image-subpath': (imageOptions ??= {}).Subpath = val; break;
      case 'tmpfs-size':
        try { tmpfs().SizeBytes = ramInBytes(val); } catch { throw new Error(`invalid value for ${key}: ${val}`); }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(val)) throw new Error(`invalid value for ${key}: ${val}`);
        tmpfs().Mode = parseInt(val, 8);
        break;
      default: throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new Error('type is required');
  if (!m.Target) throw new Error('target is required');
  if (volumeOptions && m.Type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (imageOptions && m.Type !== 'image') throw new Error(`cannot mix 'image-*' options with mount type '${m.Type}'`);
  if (bindOptions && m.Type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (tmpfsOptions && m.Type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  if (bindOptions?.ReadOnlyNonRecursive && !m.ReadOnly) throw new Error("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  if (bindOptions?.ReadOnlyForceRecursive) {
    if (!m.ReadOnly) throw new Error("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    if (bindOptions.Propagation !== 'rprivate') throw new Error("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
  }
  if (volumeOptions) m.VolumeOptions = volumeOptions;
  if (bindOptions) m.BindOptions = bindOptions;
  if (tmpfsOptions) m.TmpfsOptions = tmpfsOptions;
  if (imageOptions) m.ImageOptions = imageOptions;
  return m;
}

interface NetAttach {
  Target: string; Aliases: string[]; IPv4Address: string; IPv6Address: string; MacAddress: string;
  LinkLocalIPs: string[]; Links: string[]; DriverOpts?: Record<string, string>; GwPriority: number;
}

/** opts.NetworkOpt.Set: "bridge" or the long form "name=n,alias=a,ip=…". */
export function parseNetworkOpt(value: string): NetAttach {
  const n: NetAttach = { Target: '', Aliases: [], IPv4Address: '', IPv6Address: '', MacAddress: '', LinkLocalIPs: [], Links: [], GwPriority: 0 };
  if (!/\w+=\w+(,\w+=\w+)*/.test(value)) { n.Target = value; return n; }
  for (const field of csvFields(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = lower.slice(0, eq).trim();
    const val = lower.slice(eq + 1).trim();
    switch (key) {
      case 'name': n.Target = val; break;
      case 'alias': n.Aliases.push(val); break;
      case 'ip': n.IPv4Address = val; break;
      case 'ip6': n.IPv6Address = val; break;
      case 'mac-address': n.MacAddress = val; break;
      case 'link-local-ip': n.LinkLocalIPs.push(val); break;
      case 'driver-opt': {
        const i = val.indexOf('=');
        if (i <= 0) throw new Error('invalid key value pair format in driver options');
        (n.DriverOpts ??= {})[val.slice(0, i).trim()] = val.slice(i + 1).trim();
        break;
      }
      case 'gw-priority': {
        if (!/^[+-]?\d+$/.test(val)) throw new Error(`invalid gw-priority (${val}): invalid syntax`);
        n.GwPriority = parseInt(val, 10);
        break;
      }
      default: throw new Error('invalid field key ' + key);
    }
  }
  if (!n.Target) throw new Error('network name/id is not specified');
  return n;
}

// ---------------------------------------------------------------------------------------------------
// ports (go-connections/nat)

function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new Error('empty string specified for ports');
  const num = (s: string) => {
    if (!/^\d+$/.test(s) || parseInt(s, 10) > 65535) throw new Error(`strconv.ParseUint: parsing ${goq(s)}: invalid syntax`);
    return parseInt(s, 10);
  };
  if (!ports.includes('-')) { const p = num(ports); return [p, p]; }
  const [a, b] = ports.split('-');
  const start = num(a);
  const end = num(b);
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** nat.SplitProtoPort. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts[0].length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1].length === 0) return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const containerPort = parts[n - 1];
  if (n === 1) return ['', '', containerPort];
  if (n === 2) return ['', parts[0], containerPort];
  if (n === 3) return [parts[0], parts[1], containerPort];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], containerPort];
}

export interface PortBinding { HostIp: string; HostPort: string }

/** nat.ParsePortSpec: "ip:hostPort:containerPort/proto" with ranges. */
export function parsePortSpec(raw: string): { port: string; binding: PortBinding }[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  let proto: string;
  [proto, containerPort] = splitProtoPort(containerPort);
  if (ip !== '' && ip[0] === '[') {
    const m = /^\[([^\]]*)\]$/.exec(ip);
    if (!m) throw new Error(`invalid IP address ${ip}: address ${ip}:: too many colons in address`);
    ip = m[1];
  }
  if (ip !== '' && !isIP(ip)) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  let start: number, end: number;
  try { [start, end] = parsePortRange(containerPort); } catch { throw new Error(`invalid containerPort: ${containerPort}`); }
  let hStart = 0, hEnd = 0;
  if (hostPort.length > 0) {
    try { [hStart, hEnd] = parsePortRange(hostPort); } catch { throw new Error(`invalid hostPort: ${hostPort}`); }
  }
  if (hostPort !== '' && end - start !== hEnd - hStart && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const lproto = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(lproto)) throw new Error(`invalid proto: ${proto}`);
  const out: { port: string; binding: PortBinding }[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hp = hostPort;
    if (hostPort.length > 0) hp = String(hStart + i);
    if (start === end && hStart !== hEnd) hp = `${hp}-${hEnd}`;
    out.push({ port: `${start + i}/${lproto}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** convertToStandardNotation: the long --publish syntax "target=80,published=8080,protocol=udp". */
function toStandardNotation(ports: string[]): string[] {
  return ports.map((p) => {
    if (!p.includes('=')) return p;
    const params: Record<string, string> = { protocol: 'tcp' };
    for (const param of p.split(',')) {
      const i = param.indexOf('=');
      if (i <= 0) throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
      params[param.slice(0, i)] = param.slice(i + 1);
    }
    return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
  });
}

// ---------------------------------------------------------------------------------------------------

function parseLinuxDevice(device: string): Record<string, string> {
  const arr = device.split(':');
  if (arr.length > 3) throw new Error(`invalid device specification: ${device}`);
  const validMode = (m: string) => m !== '' && /^[rwm]+$/.test(m) && new Set(m).size === m.length;
  let src = arr[0];
  let dst = '';
  let perms = 'rwm';
  if (arr.length === 3) perms = arr[2];
  if (arr.length >= 2) {
    if (validMode(arr[1])) perms = arr[1];
    else dst = arr[1];
  }
  if (src.split(':').length > 3 || src === '') throw new Error(`bad format for path: ${device}`);
  if (arr.length === 3 && !validMode(arr[2])) throw new Error(`bad mode specified: ${arr[2]}`);
  const cpath = dst || src;
  if (!cpath.startsWith('/')) throw new Error(`${cpath} is not an absolute path`);
  if (!dst) dst = src;
  src = src.replace(/\/+$/, '') || '/';
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

function parseThrottle(v: string, bps: boolean): { Path: string; Rate: number } {
  const i = v.lastIndexOf(':');
  if (i <= 0) throw new Error(`bad format: ${v}`);
  const path = v.slice(0, i);
  if (!path.startsWith('/dev/')) throw new Error(`bad format for device path: ${v}`);
  const raw = v.slice(i + 1);
  let rate: number;
  if (bps) {
    try { rate = ramInBytes(raw); } catch { throw new Error(`invalid rate for device: ${v}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`); }
  } else {
    if (!/^\d+$/.test(raw)) throw new Error(`invalid rate for device: ${v}. The correct format is <device-path>:<number>. Number must be a positive integer`);
    rate = parseInt(raw, 10);
  }
  return { Path: path, Rate: rate };
}

function parseWeightDevice(v: string): { Path: string; Weight: number } {
  const i = v.lastIndexOf(':');
  if (i <= 0 || !v.startsWith('/dev/')) throw new Error(`bad format: ${v}`);
  const w = parseInt(v.slice(i + 1), 10);
  if (isNaN(w) || (w !== 0 && (w < 10 || w > 1000))) throw new Error(`invalid weight for device: ${v}`);
  return { Path: v.slice(0, i), Weight: w };
}

const kvMap = (values: string[]) => {
  const m: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    m[i >= 0 ? v.slice(0, i) : v] = i >= 0 ? v.slice(i + 1) : '';
  }
  return m;
};

/** NanoCPUs from "1.5". */
export function parseCpus(v: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(v);
  if (!m) throw new Error(`failed to parse ${v} as a rational number`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  const n = parseInt(m[2] || '0', 10) * 1e9 + parseInt((frac || '0').padEnd(9, '0'), 10);
  return m[1] === '-' ? -n : n;
}

const modeValid = (mode: string, kind: 'pid' | 'uts' | 'userns' | 'cgroupns'): boolean => {
  if (kind === 'cgroupns') return mode === '' || mode === 'host' || mode === 'private';
  if (kind === 'userns') return mode === '' || mode === 'host';
  const [m, ...rest] = mode.split(':');
  if (m === '' || m === 'host') return rest.length === 0;
  if (m === 'container' && kind === 'pid') return rest.length === 1 && rest[0] !== '';
  return false;
};

const isUserDefined = (n: string) => !['default', 'bridge', 'host', 'none'].includes(n) && !n.startsWith('container:');

/** opts.go parse(): flags → create body. Throws OptsError with docker's messages. */
export function buildContainerConfig(p: Parsed, image: string, args: string[]): ContainerConfig {
  try {
    return build(p, image, args);
  } catch (err) {
    throw new OptsError((err as Error).message);
  }
}

function build(p: Parsed, image: string, args: string[]): ContainerConfig {
  const attach = p.list('attach');
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  const mac = p.str('mac-address');
  if (mac && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(mac)) throw new Error(`${mac} is not a valid mac address`);
  if (p.bool('interactive')) attachStdin = true;
  if (attach.length === 0) { attachStdout = true; attachStderr = true; }

  const swappiness = p.int('memory-swappiness', -1);
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) throw new Error(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);

  // volumes: anything with a source is a bind (or named volume); the rest are anonymous volumes
  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of p.list('volume')) {
    const parts = v.split(':');
    if (v === '' || parts.some((x, i) => x === '' && i < 2)) throw new Error(`invalid spec: ${v}: empty section between colons`);
    if (parts.length === 1) { volumes[v] = {}; continue; }
    let host = parts[0];
    if (!host.startsWith('/') && host.startsWith('.')) host = absPath(host);
    binds.push([host, ...parts.slice(1)].join(':'));
  }

  const tmpfs: Record<string, string> = {};
  for (const t of p.list('tmpfs')) {
    const i = t.indexOf(':');
    tmpfs[i >= 0 ? t.slice(0, i) : t] = i >= 0 ? t.slice(i + 1) : '';
  }

  const cmd = args.length > 0 ? args : null;
  let entrypoint: string[] | null = null;
  if (p.str('entrypoint') !== '') entrypoint = [p.str('entrypoint')];
  else if (p.has('entrypoint')) entrypoint = [''];

  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of toStandardNotation(p.list('publish'))) {
    for (const { port, binding } of parsePortSpec(spec)) {
      exposed[port] ??= {};
      (bindings[port] ??= []).push(binding);
    }
  }
  for (const e of p.list('expose')) {
    if (e.includes(':')) throw new Error(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    let start: number, end: number;
    try { [start, end] = parsePortRange(port); } catch (err) { throw new Error(`invalid range format for --expose: ${e}, error: ${(err as Error).message}`); }
    for (let i = start; i <= end; i++) exposed[`${i}/${proto}`] ??= {};
  }

  const devices: Record<string, string>[] = [];
  const cdi: string[] = [];
  for (const d of p.list('device')) {
    if (/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*=[^/]+$/i.test(d)) { cdi.push(d); continue; }
    devices.push(parseLinuxDevice(d));
  }

  const env = readEnv(p.list('env-file'), p.list('env'));
  const labelLines: string[] = [];
  for (const f of p.list('label-file')) labelLines.push(...parseKvFile(f));
  labelLines.push(...p.list('label'));

  const pid = p.str('pid');
  if (!modeValid(pid, 'pid')) throw new Error('--pid: invalid PID mode');
  const uts = p.str('uts');
  if (!modeValid(uts, 'uts')) throw new Error('--uts: invalid UTS mode');
  const userns = p.str('userns');
  if (!modeValid(userns, 'userns')) throw new Error('--userns: invalid USER mode');
  const cgroupns = p.str('cgroupns');
  if (!modeValid(cgroupns, 'cgroupns')) throw new Error('--cgroupns: invalid CGROUP mode');

  // restart policy
  const restart = p.str('restart', 'no');
  const restartPolicy: { Name: string; MaximumRetryCount: number } = { Name: '', MaximumRetryCount: 0 };
  if (restart !== '') {
    const i = restart.indexOf(':');
    const k = i >= 0 ? restart.slice(0, i) : restart;
    const v = i >= 0 ? restart.slice(i + 1) : '';
    if (i >= 0 && k === '') throw new Error('invalid restart policy format: no policy provided before colon');
    if (v !== '') {
      if (!/^[+-]?\d+$/.test(v)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
      restartPolicy.MaximumRetryCount = parseInt(v, 10);
    }
    restartPolicy.Name = k;
  }

  const logDriver = p.str('log-driver');
  const logOpts = p.list('log-opt');
  if (logDriver === 'none' && logOpts.length > 0) throw new Error(`invalid logging opts for driver ${logDriver}`);

  // security options (a seccomp profile file is sent inline, compacted)
  let securityOpts = p.list('security-opt').map((opt) => {
    let i = opt.indexOf('=');
    let k = i >= 0 ? opt.slice(0, i) : opt;
    if (i < 0 && k !== 'no-new-privileges') { i = opt.indexOf(':'); k = i >= 0 ? opt.slice(0, i) : opt; }
    const v = i >= 0 ? opt.slice(i + 1) : '';
    if ((i < 0 || v === '') && k !== 'no-new-privileges') throw new Error(`Invalid --security-opt: ${goq(opt)}`);
    if (k === 'seccomp' && v !== 'builtin' && v !== 'unconfined') {
      const fs: typeof import('fs') = require('fs');
      let data: string;
      try { data = fs.readFileSync(v, 'utf8'); } catch (err) { throw new Error(`opening seccomp profile (${v}) failed: ${(err as Error).message}`); }
      try { return `seccomp=${JSON.stringify(JSON.parse(data))}`; } catch (err) { throw new Error(`compacting json for seccomp profile (${v}) failed: ${(err as Error).message}`); }
    }
    return opt;
  });
  let maskedPaths: string[] | undefined;
  let readonlyPaths: string[] | undefined;
  if (securityOpts.includes('systempaths=unconfined')) {
    securityOpts = securityOpts.filter((o) => o !== 'systempaths=unconfined');
    maskedPaths = [];
    readonlyPaths = [];
  }

  const storageOpt: Record<string, string> = {};
  for (const o of p.list('storage-opt')) {
    const i = o.indexOf('=');
    if (i < 0) throw new Error('invalid storage option');
    storageOpt[o.slice(0, i)] = o.slice(i + 1);
  }

  // healthcheck
  const dur = (name: string) => (p.has(name) ? parseGoDuration(p.str(name)) : 0);
  const hc = { cmd: p.str('health-cmd'), interval: dur('health-interval'), timeout: dur('health-timeout'), start: dur('health-start-period'), startInterval: dur('health-start-interval'), retries: p.int('health-retries') };
  const haveHealth = hc.cmd !== '' || hc.interval !== 0 || hc.timeout !== 0 || hc.start !== 0 || hc.retries !== 0 || hc.startInterval !== 0;
  let healthcheck: Record<string, unknown> | undefined;
  if (p.bool('no-healthcheck')) {
    if (haveHealth) throw new Error('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (haveHealth) {
    if (hc.interval < 0) throw new Error('--health-interval cannot be negative');
    if (hc.timeout < 0) throw new Error('--health-timeout cannot be negative');
    if (hc.retries < 0) throw new Error('--health-retries cannot be negative');
    if (hc.start < 0) throw new Error('--health-start-period cannot be negative');
    if (hc.startInterval < 0) throw new Error('--health-start-interval cannot be negative');
    healthcheck = {
      Test: hc.cmd ? ['CMD-SHELL', hc.cmd] : null,
      Interval: hc.interval, Timeout: hc.timeout, StartPeriod: hc.start, StartInterval: hc.startInterval, Retries: hc.retries,
    };
  }

  const bytes = (name: string) => (p.str(name) ? ramInBytes(p.str(name)) : 0);
  const i64 = (name: string) => (p.str(name) ? parseGoInt(p.str(name)) : 0);
  const swap = p.str('memory-swap');
  const deviceRequests: Record<string, unknown>[] = [];
  for (const g of p.list('gpus')) deviceRequests.push(parseGpus(g));
  if (cdi.length) deviceRequests.push({ Driver: 'cdi', DeviceIDs: cdi });

  const ulimits = new Map<string, ReturnType<typeof parseUlimit>>();
  for (const u of p.list('ulimit')) { const l = parseUlimit(u); ulimits.set(l.Name, l); }

  const resources = {
    CgroupParent: p.str('cgroup-parent'),
    BlkioWeight: p.str('blkio-weight') ? parseGoInt(p.str('blkio-weight')) : 0,
    BlkioWeightDevice: p.list('blkio-weight-device').map(parseWeightDevice),
    BlkioDeviceReadBps: p.list('device-read-bps').map((v) => parseThrottle(v, true)),
    BlkioDeviceWriteBps: p.list('device-write-bps').map((v) => parseThrottle(v, true)),
    BlkioDeviceReadIOps: p.list('device-read-iops').map((v) => parseThrottle(v, false)),
    BlkioDeviceWriteIOps: p.list('device-write-iops').map((v) => parseThrottle(v, false)),
    CpuPeriod: i64('cpu-period'),
    CpuQuota: i64('cpu-quota'),
    CpuRealtimePeriod: i64('cpu-rt-period'),
    CpuRealtimeRuntime: i64('cpu-rt-runtime'),
    CpusetCpus: p.str('cpuset-cpus'),
    CpusetMems: p.str('cpuset-mems'),
    CpuShares: i64('cpu-shares'),
    Devices: devices,
    DeviceCgroupRules: p.list('device-cgroup-rule'),
    DeviceRequests: deviceRequests,
    KernelMemory: bytes('kernel-memory'),
    Memory: bytes('memory'),
    MemoryReservation: bytes('memory-reservation'),
    MemorySwap: swap === '-1' ? -1 : swap ? ramInBytes(swap) : 0,
    MemorySwappiness: swappiness,
    NanoCpus: p.str('cpus') ? parseCpus(p.str('cpus')) : 0,
    OomKillDisable: p.bool('oom-kill-disable'),
    PidsLimit: i64('pids-limit'),
    Ulimits: [...ulimits.values()].sort((a, b) => (a.Name < b.Name ? -1 : 1)),
    CpuCount: i64('cpu-count'),
    CpuPercent: i64('cpu-percent'),
    IOMaximumIOps: i64('io-maxiops'),
    IOMaximumBandwidth: bytes('io-maxbandwidth'),
  };

  const config: Record<string, unknown> = {
    Hostname: p.str('hostname'),
    Domainname: p.str('domainname'),
    User: p.str('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: p.bool('tty'),
    OpenStdin: p.bool('interactive'),
    StdinOnce: false,
    Env: env,
    Cmd: cmd,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: volumes,
    WorkingDir: p.str('workdir'),
    Entrypoint: entrypoint,
    MacAddress: mac || undefined,
    OnBuild: null,
    Labels: kvMap(labelLines),
    StopSignal: p.str('stop-signal') || undefined,
  };
  if (p.has('stop-timeout')) config.StopTimeout = p.int('stop-timeout');

  // networks
  const netValues = [...p.list('net'), ...p.list('network')].map(parseNetworkOpt);
  const networkMode = netValues.length ? netValues[0].Target : 'default';

  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: p.str('cidfile'),
    LogConfig: { Type: logDriver, Config: kvMap(logOpts) },
    NetworkMode: networkMode,
    PortBindings: bindings,
    RestartPolicy: restartPolicy,
    AutoRemove: p.bool('rm'),
    VolumeDriver: p.str('volume-driver'),
    VolumesFrom: p.list('volumes-from').length ? p.list('volumes-from') : null,
    ConsoleSize: [0, 0],
    Annotations: Object.keys(kvMap(p.list('annotation'))).length ? kvMap(p.list('annotation')) : undefined,
    CapAdd: p.list('cap-add').length ? p.list('cap-add') : null,
    CapDrop: p.list('cap-drop').length ? p.list('cap-drop') : null,
    CgroupnsMode: cgroupns,
    Dns: p.list('dns'),
    DnsOptions: [...p.list('dns-opt'), ...p.list('dns-option')],
    DnsSearch: p.list('dns-search'),
    ExtraHosts: p.list('add-host').length ? p.list('add-host') : null,
    GroupAdd: p.list('group-add').length ? p.list('group-add') : null,
    IpcMode: p.str('ipc'),
    Cgroup: '',
    Links: p.list('link').length ? p.list('link') : null,
    OomScoreAdj: p.int('oom-score-adj'),
    PidMode: pid,
    Privileged: p.bool('privileged'),
    PublishAllPorts: p.bool('publish-all'),
    ReadonlyRootfs: p.bool('read-only'),
    SecurityOpt: securityOpts.length ? securityOpts : null,
    StorageOpt: Object.keys(storageOpt).length ? storageOpt : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: uts,
    UsernsMode: userns,
    ShmSize: bytes('shm-size'),
    Sysctls: Object.keys(kvMap(p.list('sysctl'))).length ? kvMap(p.list('sysctl')) : undefined,
    Runtime: p.str('runtime') || undefined,
    Isolation: p.str('isolation'),
    ...resources,
    Mounts: p.list('mount').length ? p.list('mount').map(parseMount) : undefined,
    MaskedPaths: maskedPaths ?? null,
    ReadonlyPaths: readonlyPaths ?? null,
    Init: p.has('init') ? p.bool('init') : undefined,
  };

  if (p.bool('rm') && restartPolicy.Name !== '' && restartPolicy.Name !== 'no') {
    throw new Error('conflicting options: cannot specify both --restart and --rm');
  }
  if (config.OpenStdin && config.AttachStdin) config.StdinOnce = true;

  const endpoints = parseNetworkEndpoints(p, netValues);
  const main = endpoints[networkMode] as { MacAddress?: string } | undefined;
  if (main?.MacAddress) config.MacAddress = main.MacAddress;

  return { Config: config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } };
}

/** parseNetworkOpts: endpoint settings per network, with --network-alias/--ip/… applied to the first. */
function parseNetworkEndpoints(p: Parsed, nets: NetAttach[]): Record<string, unknown> {
  const endpoints: Record<string, unknown> = {};
  const aliases = [...p.list('net-alias'), ...p.list('network-alias')];
  const links = p.list('link');
  const ip = p.str('ip'), ip6 = p.str('ip6'), mac = p.str('mac-address');
  const linkLocal = p.list('link-local-ip');
  const apply = (n: NetAttach) => {
    if (n.Aliases.length && aliases.length) throw new Error('conflicting options: cannot specify both --network-alias and per-network alias');
    if (n.Links.length && links.length) throw new Error('conflicting options: cannot specify both --link and per-network links');
    if (n.IPv4Address && ip) throw new Error('conflicting options: cannot specify both --ip and per-network IPv4 address');
    if (n.IPv6Address && ip6) throw new Error('conflicting options: cannot specify both --ip6 and per-network IPv6 address');
    if (n.MacAddress && mac) throw new Error('conflicting options: cannot specify both --mac-address and per-network MAC address');
    if (n.LinkLocalIPs.length && linkLocal.length) throw new Error('conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses');
    if (aliases.length) n.Aliases = [...aliases];
    if (isUserDefined(n.Target) && links.length) n.Links = [...links];
    if (ip) n.IPv4Address = ip;
    if (ip6) n.IPv6Address = ip6;
    if (mac) n.MacAddress = mac;
    if (linkLocal.length) n.LinkLocalIPs = [...linkLocal];
  };
  const endpoint = (n: NetAttach): Record<string, unknown> | null => {
    if (n.Target.trim() === '') throw new Error('no name set for network');
    if (!isUserDefined(n.Target)) {
      if (n.Aliases.length) throw new Error('network-scoped aliases are only supported for user-defined networks');
      if (n.Links.length) throw new Error('links are only supported for user-defined networks');
    }
    const ep: Record<string, unknown> = {};
    if (n.GwPriority) ep.GwPriority = n.GwPriority;
    if (n.Aliases.length) ep.Aliases = n.Aliases;
    if (n.DriverOpts) ep.DriverOpts = n.DriverOpts;
    if (n.Links.length) ep.Links = n.Links;
    if (n.IPv4Address || n.IPv6Address || n.LinkLocalIPs.length) {
      ep.IPAMConfig = { IPv4Address: n.IPv4Address, IPv6Address: n.IPv6Address, LinkLocalIPs: n.LinkLocalIPs.length ? n.LinkLocalIPs : undefined };
    }
    if (n.MacAddress) {
      if (!/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(n.MacAddress)) throw new Error(`${n.MacAddress} is not a valid mac address`);
      ep.MacAddress = n.MacAddress;
    }
    return ep;
  };
  if (nets.length === 0) {
    const n = parseNetworkOpt('default');
    apply(n);
    endpoints.default = endpoint(n);
  }
  let userDefined = false, nonUserDefined = false;
  nets.forEach((n, i) => {
    if (isUserDefined(n.Target)) userDefined = true; else nonUserDefined = true;
    if (i === 0) apply(n);
    const ep = endpoint(n);
    if (n.Target in endpoints) throw new Error(`network ${goq(n.Target)} is specified multiple times`);
    if (i === 0 && nets.length === 1 && (!ep || Object.keys(ep).length === 0)) return;
    endpoints[n.Target] = ep;
  });
  if (userDefined && nonUserDefined) throw new Error('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  return endpoints;
}

/** opts.GpuOpts: "all", "2", or "count=2,capabilities=utility,device=0". */
function parseGpus(v: string): Record<string, unknown> {
  const req: Record<string, unknown> = { Driver: '', Count: 0, DeviceIDs: null, Capabilities: [['gpu']], Options: {} };
  const fields = csvFields(v);
  for (const f of fields) {
    const i = f.indexOf('=');
    if (i < 0) {
      if (fields.length !== 1) throw new Error(`invalid field: ${f}`);
      if (f === 'all') req.Count = -1;
      else if (/^\d+$/.test(f)) req.Count = parseInt(f, 10);
      else throw new Error(`invalid field: ${f}`);
      continue;
    }
    const k = f.slice(0, i), val = f.slice(i + 1);
    if (k === 'driver') req.Driver = val;
    else if (k === 'count') req.Count = val === 'all' ? -1 : parseInt(val, 10);
    else if (k === 'device') req.DeviceIDs = val.split(',');
    else if (k === 'capabilities') req.Capabilities = [val.split(',')];
    else if (k === 'options') (req.Options as Record<string, string>)[val] = '';
    else throw new Error(`unexpected key '${k}' in '${v}'`);
  }
  return req;
}
