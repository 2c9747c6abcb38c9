// From a canonical service to Engine API request bodies, as Docker Compose v2 builds them: container names
// (`project-service-N` or container_name), labels (project, service, number, oneoff, config-hash, working_dir,
// config_files, depends_on, version), the config hash, Config/HostConfig/NetworkingConfig, and the network and
// volume create bodies with their labels.
import { createHash } from 'crypto';
import type { Project, ServiceConfig, VolumeMount } from './types';

export const COMPOSE_VERSION = '2.29.7';
export const L = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  hash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  envFile: 'com.docker.compose.project.environment_file',
  dependsOn: 'com.docker.compose.depends_on',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  slug: 'com.docker.compose.slug',
  replace: 'com.docker.compose.replace',
} as const;

/** The default name of container `number` of a service. */
export const containerName = (project: string, service: string, s: ServiceConfig | undefined, number: number): string =>
  s?.container_name || `${project}-${service}-${number}`;

/** The image a service runs: `image:` or, for a build without one, `project-service`. */
export const imageName = (project: string, service: string, s: ServiceConfig): string => s.image || `${project}-${service}`;

/** JSON with sorted keys (a stable text for hashing). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * The service's configuration hash: what decides a recreate. Like compose, what only matters for building,
 * pulling, scaling or ordering is left out (build, pull_policy, scale, deploy.replicas, depends_on, profiles).
 */
export function serviceHash(s: ServiceConfig): string {
  const o: Record<string, unknown> = { ...s };
  delete o.build; delete o.pull_policy; delete o.scale; delete o.depends_on; delete o.profiles;
  if (s.deploy) { const d = { ...s.deploy }; delete d.replicas; o.deploy = d; }
  return createHash('sha256').update(stableJson(o)).digest('hex');
}

/** Desired number of containers. */
export const scaleOf = (s: ServiceConfig): number => s.scale ?? s.deploy?.replicas ?? 1;

// ------------------------------------------------------------------------------------------------- units

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function durationNs(d: string | number | undefined): number | undefined {
  if (d === undefined || d === null || d === '') return undefined;
  if (typeof d === 'number') return d * 1e9;
  let s = d.trim();
  let sign = 1;
  if (s.startsWith('-')) { sign = -1; s = s.slice(1); }
  if (s === '0') return 0;
  let total = 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(s))) { total += parseFloat(m[1]) * DURATION_UNITS[m[2]]; consumed = re.lastIndex; }
  if (consumed !== s.length || consumed === 0) throw new Error(`time: invalid duration ${JSON.stringify(d)}`);
  return Math.round(sign * total);
}

/** docker's RAMInBytes (`512m`, `1g`, `100k`, plain bytes). */
export function ramBytes(v: string | number | undefined): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new Error(`invalid size: '${v}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2].toLowerCase()] ?? 1;
  return Math.round(parseFloat(m[1]) * mult);
}

// ------------------------------------------------------------------------------------------------- bodies

export interface ContainerPlan {
  name: string;
  number: number;
  body: Record<string, unknown>;
  /** Networks to connect after create (all but the primary). */
  extraNetworks: Array<{ network: string; config: Record<string, unknown> }>;
}

export interface ConvertOptions {
  oneoff?: boolean;
  /** `run`: command override, extra env, no ports unless --service-ports, etc. are applied by the caller. */
  extraLabels?: Record<string, string>;
  /** Anonymous volumes of the container being replaced, kept unless -V. */
  inheritFrom?: string;
  /** Publish the service's ports (run without --service-ports does not). */
  publishPorts?: boolean;
  apiVersion?: string;
}

function projectLabels(p: Project, service: string, s: ServiceConfig, number: number, oneoff: boolean): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels ?? {})) labels[k] = v ?? '';
  labels[L.project] = p.name;
  labels[L.service] = service;
  labels[L.oneoff] = oneoff ? 'True' : 'False';
  if (!oneoff) labels[L.number] = String(number);
  labels[L.hash] = serviceHash(s);
  labels[L.workingDir] = p.workingDir;
  labels[L.configFiles] = (p.configFiles ?? []).join(',');
  if (p.envFiles?.length) labels[L.envFile] = p.envFiles.join(',');
  labels[L.dependsOn] = Object.entries(s.depends_on ?? {}).map(([d, c]) => `${d}:${c.condition}:${c.restart === true}`).join(',');
  labels[L.version] = COMPOSE_VERSION;
  if (s.image) labels[L.image] = s.image;
  return labels;
}

/** The create body of container `number` of `service`. */
export function containerPlan(p: Project, service: string, number: number, opts: ConvertOptions = {}): ContainerPlan {
  const s = p.services[service] ?? p.disabled[service];
  const name = opts.oneoff ? '' : containerName(p.name, service, s, number);
  const labels = { ...projectLabels(p, service, s, number, !!opts.oneoff), ...(opts.extraLabels ?? {}) };
  const env = Object.entries(s.environment ?? {}).map(([k, v]) => (v === null ? k : `${k}=${v}`));

  const exposed: Record<string, object> = {};
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const e of s.expose ?? []) {
    const [port, proto = 'tcp'] = String(e).split('/');
    exposed[`${port}/${proto}`] = {};
  }
  for (const port of s.ports ?? []) {
    const key = `${port.target}/${port.protocol || 'tcp'}`;
    exposed[key] = {};
    if (opts.publishPorts === false) continue;
    (portBindings[key] ??= []).push({ HostIp: port.host_ip ?? '', HostPort: port.published ?? '' });
  }

  const mounts: Array<Record<string, unknown>> = [];
  for (const v of s.volumes ?? []) mounts.push(toMount(p, v));
  for (const sec of s.secrets ?? []) {
    const def = p.secrets[sec.source];
    if (def?.file) mounts.push({ Type: 'bind', Source: def.file, Target: sec.target?.startsWith('/') ? sec.target : `/run/secrets/${sec.target ?? sec.source}`, ReadOnly: true });
    else if (def?.environment) {
      // environment secrets are written by compose into the container after create; berth mounts them from a file
      // compose keeps next to the project (not supported here: the engine API has no way to pass content)
    }
  }
  for (const cfg of s.configs ?? []) {
    const def = p.configs[cfg.source];
    if (def?.file) mounts.push({ Type: 'bind', Source: def.file, Target: cfg.target ?? `/${cfg.source}`, ReadOnly: true });
  }
  const tmpfs: Record<string, string> = {};
  for (const t of s.tmpfs ?? []) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = ''; else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  const restart = restartPolicy(s);
  const limits = s.deploy?.resources?.limits;
  const memory = ramBytes(limits?.memory ?? s.mem_limit);
  const cpus = limits?.cpus ?? s.cpus;
  const hc = s.healthcheck;
  const healthcheck = hc ? (hc.disable ? { Test: ['NONE'] } : {
    ...(hc.test ? { Test: hc.test } : {}),
    ...(hc.interval ? { Interval: durationNs(hc.interval) } : {}),
    ...(hc.timeout ? { Timeout: durationNs(hc.timeout) } : {}),
    ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
    ...(hc.start_period ? { StartPeriod: durationNs(hc.start_period) } : {}),
    ...(hc.start_interval ? { StartInterval: durationNs(hc.start_interval) } : {}),
  }) : undefined;

  const hostConfig: Record<string, unknown> = {
    Mounts: mounts,
    PortBindings: portBindings,
    RestartPolicy: restart,
    CapAdd: s.cap_add ?? null,
    CapDrop: s.cap_drop ?? null,
    Privileged: !!s.privileged,
    ReadonlyRootfs: !!s.read_only,
    ExtraHosts: (s.extra_hosts ?? []).map((h) => h.replace('=', ':')),
    Dns: s.dns ?? null,
    DnsSearch: s.dns_search ?? null,
    DnsOptions: s.dns_opt ?? null,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    LogConfig: s.logging ? { Type: s.logging.driver ?? '', Config: Object.fromEntries(Object.entries(s.logging.options ?? {}).map(([k, v]) => [k, v ?? ''])) } : { Type: '', Config: null },
    SecurityOpt: s.security_opt ?? null,
    Sysctls: s.sysctls ? Object.fromEntries(Object.entries(s.sysctls).map(([k, v]) => [k, v ?? ''])) : undefined,
    Ulimits: s.ulimits ? Object.entries(s.ulimits).map(([n, u]) => (typeof u === 'number' ? { Name: n, Soft: u, Hard: u } : { Name: n, Soft: u.soft, Hard: u.hard })) : undefined,
    ...(s.init !== undefined ? { Init: s.init } : {}),
    ...(memory !== undefined ? { Memory: memory } : {}),
    ...(cpus !== undefined ? { NanoCpus: Math.round(Number(cpus) * 1e9) } : {}),
    ...(limits?.pids !== undefined ? { PidsLimit: limits.pids } : s.pids_limit !== undefined ? { PidsLimit: s.pids_limit } : {}),
    ...(s.shm_size !== undefined ? { ShmSize: ramBytes(s.shm_size) } : {}),
    ...(s.volumes_from ? { VolumesFrom: (s.volumes_from as string[]).map((v) => volumesFrom(p, v)) } : {}),
  };

  // networks: the first by priority is the container's network mode; the others are connected after create
  let networkMode = s.network_mode;
  const endpoints: Record<string, unknown> = {};
  const extraNetworks: ContainerPlan['extraNetworks'] = [];
  if (networkMode?.startsWith('service:')) {
    const target = networkMode.slice(8);
    networkMode = `container:${containerName(p.name, target, p.services[target], 1)}`;
  }
  if (!networkMode) {
    const keys = Object.keys(s.networks ?? {}).sort((a, b) => (s.networks?.[b]?.priority ?? 0) - (s.networks?.[a]?.priority ?? 0) || (a < b ? -1 : 1));
    if (keys.length === 0) networkMode = 'none';
    else {
      const endpoint = (key: string) => {
        const cfg = s.networks?.[key];
        const aliases = [opts.oneoff ? '' : name, service, ...(cfg?.aliases ?? [])].filter(Boolean);
        return {
          Aliases: opts.oneoff ? [service, ...(cfg?.aliases ?? [])] : aliases,
          ...(cfg?.ipv4_address ? { IPAMConfig: { IPv4Address: cfg.ipv4_address } } : {}),
          ...(cfg?.mac_address ? { MacAddress: cfg.mac_address } : {}),
        };
      };
      const primary = keys[0];
      networkMode = String(p.networks[primary]?.name ?? `${p.name}_${primary}`);
      endpoints[networkMode] = endpoint(primary);
      for (const k of keys.slice(1)) extraNetworks.push({ network: String(p.networks[k]?.name ?? `${p.name}_${k}`), config: endpoint(k) });
    }
  }
  hostConfig.NetworkMode = networkMode;

  const body: Record<string, unknown> = {
    Hostname: s.hostname ?? '',
    Domainname: s.domainname ?? '',
    User: s.user ?? '',
    ExposedPorts: exposed,
    Tty: !!s.tty,
    OpenStdin: !!s.stdin_open,
    StdinOnce: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Env: env,
    Cmd: s.command ?? null,
    Image: imageName(p.name, service, s),
    Labels: labels,
    WorkingDir: s.working_dir ?? '',
    Entrypoint: s.entrypoint ?? null,
    ...(s.stop_signal ? { StopSignal: s.stop_signal } : {}),
    ...(s.stop_grace_period ? { StopTimeout: Math.round((durationNs(s.stop_grace_period) ?? 0) / 1e9) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    HostConfig: hostConfig,
    NetworkingConfig: Object.keys(endpoints).length ? { EndpointsConfig: endpoints } : undefined,
  };
  return { name, number, body, extraNetworks };
}

function volumesFrom(p: Project, v: string): string {
  if (v.startsWith('container:')) return v.slice(10);
  const [svc, mode] = v.split(':');
  const name = containerName(p.name, svc, p.services[svc], 1);
  return mode ? `${name}:${mode}` : name;
}

function toMount(p: Project, v: VolumeMount): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: v.type, Target: v.target };
  if (v.read_only) m.ReadOnly = true;
  if (v.type === 'volume') {
    if (v.source) m.Source = String(p.volumes[v.source]?.name ?? v.source);
    const vo: Record<string, unknown> = {};
    if (v.volume?.nocopy) vo.NoCopy = true;
    if (v.volume?.subpath) vo.Subpath = v.volume.subpath;
    if (Object.keys(vo).length) m.VolumeOptions = vo;
  } else if (v.type === 'bind') {
    m.Source = v.source;
    if (v.bind?.propagation) m.BindOptions = { Propagation: v.bind.propagation };
  } else if (v.type === 'tmpfs') {
    const size = v.tmpfs?.size !== undefined ? ramBytes(v.tmpfs.size) : undefined;
    if (size !== undefined || v.tmpfs?.mode !== undefined) m.TmpfsOptions = { ...(size !== undefined ? { SizeBytes: size } : {}), ...(v.tmpfs?.mode !== undefined ? { Mode: v.tmpfs.mode } : {}) };
  }
  return m;
}

function restartPolicy(s: ServiceConfig): { Name: string; MaximumRetryCount: number } {
  let name = '';
  let count = 0;
  if (s.restart) {
    const [n, c] = s.restart.split(':');
    name = n === 'no' ? 'no' : n;
    count = c ? parseInt(c, 10) : 0;
  }
  const rp = s.deploy?.restart_policy;
  if (rp) {
    name = rp.condition === 'none' ? 'no' : rp.condition === 'on-failure' ? 'on-failure' : rp.condition === 'any' || !rp.condition ? 'always' : rp.condition;
    count = rp.max_attempts ?? 0;
  }
  return { Name: name, MaximumRetryCount: count };
}

/** POST /networks/create body of a project network. */
export function networkBody(p: Project, key: string): Record<string, unknown> {
  const n = p.networks[key] as Record<string, unknown>;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries((n.labels as Record<string, string | null>) ?? {})) labels[k] = v ?? '';
  labels[L.network] = key;
  labels[L.project] = p.name;
  labels[L.version] = COMPOSE_VERSION;
  const ipam = n.ipam as { driver?: string; config?: Array<Record<string, unknown>>; options?: Record<string, string> } | undefined;
  return {
    Name: n.name,
    CheckDuplicate: true,
    Driver: (n.driver as string) || 'bridge',
    Internal: !!n.internal,
    Attachable: !!n.attachable,
    EnableIPv6: !!n.enable_ipv6,
    Options: n.driver_opts ?? {},
    Labels: labels,
    ...(ipam ? {
      IPAM: {
        Driver: ipam.driver || 'default',
        Options: ipam.options ?? {},
        Config: (ipam.config ?? []).map((c) => ({
          ...(c.subnet ? { Subnet: c.subnet } : {}), ...(c.ip_range ? { IPRange: c.ip_range } : {}), ...(c.gateway ? { Gateway: c.gateway } : {}),
          ...(c.aux_addresses ? { AuxiliaryAddresses: c.aux_addresses } : {}),
        })),
      },
    } : {}),
  };
}

/** POST /volumes/create body of a project volume. */
export function volumeBody(p: Project, key: string): Record<string, unknown> {
  const v = p.volumes[key] as Record<string, unknown>;
  const labels: Record<string, string> = {};
  for (const [k, x] of Object.entries((v.labels as Record<string, string | null>) ?? {})) labels[k] = x ?? '';
  labels[L.volume] = key;
  labels[L.project] = p.name;
  labels[L.version] = COMPOSE_VERSION;
  return { Name: v.name, Driver: (v.driver as string) || 'local', DriverOpts: v.driver_opts ?? {}, Labels: labels };
}
