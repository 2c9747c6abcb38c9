// Projections of a container record into the Engine API's JSON: GET /containers/json items and
// GET /containers/{id}/json. Field names and shapes follow the Docker Engine API spec.
import type { ContainerRecord } from './types';
import type { ContainerPaths } from './paths';
import type { NetworkManager } from '../../network';
import { healthSuffix } from './health';

export function humanDuration(seconds: number): string {
  const whole = Math.floor(seconds);
  if (whole < 1) return 'Less than a second';
  if (whole === 1) return '1 second';
  if (whole < 60) return `${whole} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const since = (iso: string) => Math.max(0, (Date.now() - Date.parse(iso)) / 1000);

/** The STATUS column: "Up 3 seconds", "Up 2 minutes (Paused)", "Exited (0) 5 seconds ago", "Created". */
export function statusText(rec: ContainerRecord): string {
  const s = rec.State;
  switch (s.Status) {
    case 'running': return `Up ${humanDuration(since(s.StartedAt))}${healthSuffix(s.Health)}`;
    case 'paused': return `Up ${humanDuration(since(s.StartedAt))} (Paused)`;
    case 'restarting': return `Restarting (${s.ExitCode}) ${humanDuration(since(s.FinishedAt))} ago`;
    case 'removing': return 'Removal In Progress';
    case 'dead': return 'Dead';
    case 'exited':
      return s.FinishedAt.startsWith('0001') ? 'Created' : `Exited (${s.ExitCode}) ${humanDuration(since(s.FinishedAt))} ago`;
    default: return 'Created';
  }
}

function apiPorts(rec: ContainerRecord): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const running = rec.State.Status === 'running' || rec.State.Status === 'paused';
  const bound = new Set<string>();
  for (const p of running ? rec.Network?.ports ?? [] : []) {
    bound.add(`${p.containerPort}/${p.protocol}`);
    out.push({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
  }
  for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!bound.has(`${port}/${proto}`)) out.push({ PrivatePort: parseInt(port, 10), Type: proto });
  }
  return out;
}

export function commandString(rec: ContainerRecord): string {
  return [rec.Path, ...rec.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

const who = (rec: ContainerRecord) => ({ id: rec.Id, name: rec.Name.slice(1) });

/** Mounts as docker shows them (inspect and list): volumes, binds and --mount tmpfs; not --tmpfs. */
export function mountsView(rec: ContainerRecord): Array<Record<string, unknown>> {
  return (rec.MountPoints ?? []).map((m) => ({
    Type: m.Type, ...(m.Name ? { Name: m.Name } : {}), Source: m.Source, Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}), Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
  }));
}

/** The networks of a container that is not running, as Docker shows them: configured, without addresses. */
function configured(rec: ContainerRecord, network: NetworkManager): Record<string, object> {
  const mode = rec.HostConfig.NetworkMode;
  if (mode.startsWith('container:')) return {};
  return network.configuredNetworks(mode, rec.Networks ?? []);
}

export function listItem(rec: ContainerRecord, network: NetworkManager): Record<string, unknown> {
  const running = rec.State.Status === 'running' || rec.State.Status === 'paused';
  const settings = running && rec.Network ? (network.toApiNetworkSettings(rec.Network, who(rec)) as { Networks?: unknown }) : undefined;
  return {
    Id: rec.Id,
    Names: [rec.Name],
    Image: rec.ImageRef,
    ImageID: rec.Image,
    Command: commandString(rec),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: apiPorts(rec),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode },
    NetworkSettings: { Networks: settings?.Networks ?? configured(rec, network) },
    Mounts: mountsView(rec),
  };
}

export function inspectView(rec: ContainerRecord, paths: ContainerPaths, network: NetworkManager, execIds: string[]): Record<string, unknown> {
  const s = rec.State;
  const running = s.Status === 'running' || s.Status === 'paused';
  const rootfs = paths.rootfs(rec.Id);
  const netSettings = running && rec.Network
    ? network.toApiNetworkSettings(rec.Network, who(rec))
    : { Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '', Networks: configured(rec, network) };
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: {
      Status: s.Status, Running: running, Paused: s.Status === 'paused', Restarting: s.Status === 'restarting',
      OOMKilled: s.OOMKilled, Dead: s.Status === 'dead', Pid: s.Pid, ExitCode: s.ExitCode, Error: s.Error,
      StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
      ...(s.Health ? { Health: s.Health } : {}),
    },
    Image: rec.Image,
    ResolvConfPath: paths.resolvConf(rec.Id),
    HostnamePath: paths.hostname(rec.Id),
    HostsPath: paths.hosts(rec.Id),
    LogPath: paths.log(rec.Id),
    Name: rec.Name,
    RestartCount: rec.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, VolumeDriver: '', VolumesFrom: null,
      ConsoleSize: [0, 0], CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
      IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', ReadonlyPaths: null,
      MaskedPaths: null, Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
      CpusetCpus: '', CpusetMems: '', Devices: [], MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null,
      OomKillDisable: null, PidsLimit: null, Ulimits: null, UTSMode: '', UsernsMode: '', SecurityOpt: null,
      ...rec.HostConfig,
      Runtime: rec.Runtime,
    },
    GraphDriver: { Name: 'overlay2', Data: { MergedDir: rootfs.merged, UpperDir: rootfs.upper, WorkDir: rootfs.work } },
    Mounts: mountsView(rec),
    Config: { ...rec.Config, Cmd: rec.Config.Cmd, Entrypoint: rec.Config.Entrypoint },
    NetworkSettings: netSettings,
  };
}
