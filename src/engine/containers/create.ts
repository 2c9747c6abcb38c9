// Turns a create request (Docker's Config + HostConfig) and the image's config into a container record,
// merging exactly as Docker does: Env is image env overridden by key; an Entrypoint given on the command
// line resets the image's Cmd; Cmd given replaces the image's Cmd; WorkingDir/User/StopSignal fall back to the image's.
import { invalidParameter } from '../../common/errors';
import { canonicalKeys } from '../../common/go-json';
import type { ContainerConfig, HealthConfig, HostConfig } from './types';
import { mergeHealthcheck } from './health';
import { defaultMaskedPaths, READONLY_PATHS } from '../../runtime/spec';
import { cgroupLayout } from '../../runtime/cgroups';
import { defaultCgroupnsMode } from './namespaces';

export interface ImageDefaults {
  Env?: string[] | null; Cmd?: string[] | null; Entrypoint?: string[] | null; WorkingDir?: string; User?: string;
  Labels?: Record<string, string> | null; ExposedPorts?: Record<string, object> | null; Volumes?: Record<string, object> | null;
  StopSignal?: string; OnBuild?: string[] | null; Healthcheck?: HealthConfig;
}

export interface CreateBody extends Partial<Omit<ContainerConfig, 'Cmd' | 'Entrypoint' | 'Env'>> {
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  HostConfig?: Partial<HostConfig>;
  NetworkingConfig?: unknown;
  /** API < 1.44: the primary endpoint's MAC address */
  MacAddress?: unknown;
}

const asList = (v: string[] | string | null | undefined): string[] | null | undefined =>
  typeof v === 'string' ? [v] : v;

export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  for (const kv of overrides) {
    const key = kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv;
    const i = out.findIndex((e) => e === key || e.startsWith(key + '='));
    if (i >= 0) out[i] = kv; else out.push(kv);
  }
  return out;
}

// The field names of the create body (swagger ContainerConfig + HostConfig). dockerd decodes JSON with Go's
// encoding/json, which matches names case-insensitively: clients send `CPURealtimeRuntime` (docker-py) and dockerd
// takes it as `CpuRealtimeRuntime`. canonicalKeys() gives berth the same leniency.
const CONFIG_FIELDS = ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty',
  'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint',
  'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell', 'HostConfig', 'NetworkingConfig'];
const HOST_CONFIG_FIELDS = ['CpuShares', 'Memory', 'CgroupParent', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod',
  'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'Devices', 'DeviceCgroupRules', 'DeviceRequests', 'KernelMemory',
  'KernelMemoryTCP', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'NanoCpus', 'OomKillDisable', 'Init', 'PidsLimit',
  'Ulimits', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'Binds', 'ContainerIDFile', 'LogConfig',
  'NetworkMode', 'PortBindings', 'RestartPolicy', 'AutoRemove', 'VolumeDriver', 'VolumesFrom', 'Mounts', 'ConsoleSize',
  'Annotations', 'CapAdd', 'CapDrop', 'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'IpcMode',
  'Cgroup', 'Links', 'OomScoreAdj', 'PidMode', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'StorageOpt',
  'Tmpfs', 'UTSMode', 'UsernsMode', 'ShmSize', 'Sysctls', 'Runtime', 'Isolation', 'MaskedPaths', 'ReadonlyPaths'];

export function validateBody(body: unknown): CreateBody {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid JSON: the request body must be a JSON object');
  const b = canonicalKeys(body as Record<string, unknown>, [...CONFIG_FIELDS, 'Runtime']) as CreateBody;
  if (b.HostConfig && typeof b.HostConfig === 'object' && !Array.isArray(b.HostConfig)) {
    b.HostConfig = canonicalKeys(b.HostConfig as Record<string, unknown>, HOST_CONFIG_FIELDS) as Partial<HostConfig>;
  }
  // docker-py's create_container(runtime=…) sends Runtime beside HostConfig, where dockerd ignores it (it passes
  // there only because runc is dockerd's default). The user asked for that runtime: berth runs it.
  const topRuntime = (b as { Runtime?: unknown }).Runtime;
  if (typeof topRuntime === 'string' && topRuntime && !b.HostConfig?.Runtime) b.HostConfig = { ...(b.HostConfig ?? {}), Runtime: topRuntime };
  delete (b as { Runtime?: unknown }).Runtime;
  const checkList = (name: string, v: unknown) => {
    if (v !== undefined && v !== null && typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ContainerConfig.${name} of type []string`);
    }
  };
  checkList('Cmd', b.Cmd); checkList('Entrypoint', b.Entrypoint);
  if (b.Image !== undefined && typeof b.Image !== 'string') throw invalidParameter('json: cannot unmarshal into Go struct field ContainerConfig.Image of type string');
  checkShape('ContainerConfig', b as Record<string, unknown>, CONFIG_SHAPE);
  if (b.HostConfig !== undefined && b.HostConfig !== null) {
    if (typeof b.HostConfig !== 'object' || Array.isArray(b.HostConfig)) throw unmarshalError(b.HostConfig, 'ContainerCreateConfig.HostConfig', 'container.HostConfig');
    checkShape('HostConfig', b.HostConfig as Record<string, unknown>, HOST_CONFIG_SHAPE);
    // PortBindings: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}] | null}
    for (const [port, list] of Object.entries((b.HostConfig.PortBindings ?? {}) as Record<string, unknown>)) {
      if (list === null) continue;
      if (!Array.isArray(list)) throw unmarshalError(list, `HostConfig.PortBindings.${port}`, '[]nat.PortBinding');
      for (const pb of list) {
        if (jsonKind(pb) !== 'object') throw unmarshalError(pb, `HostConfig.PortBindings.${port}`, 'nat.PortBinding');
        for (const k of ['HostIp', 'HostPort']) {
          const v = (pb as Record<string, unknown>)[k];
          if (v !== undefined && v !== null && typeof v !== 'string') throw unmarshalError(v, `PortBinding.${k}`, 'string');
        }
      }
    }
  }
  return b;
}

/** The JSON kinds Go's decoder takes for a field (null always decodes to the zero value). */
type Shape = 'string' | 'bool' | 'number' | '[]string' | 'map[string]string' | 'object';

// The fields of a create body whose type the engine relies on (engine code calls .filter on Env, spreads Labels …).
// A wrong type was a TypeError answered with 500 (issue 16: API abuse must answer 4xx): Go's decoder refuses such a
// body with 400, and so do we, with its wording. Fields with their own checks (Mounts, Tmpfs, Binds, resources) and
// unknown fields (ignored, as docker ignores them) are not listed.
const CONFIG_SHAPE: Record<string, Shape> = {
  Hostname: 'string', Domainname: 'string', User: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool',
  ExposedPorts: 'object', Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', Env: '[]string', Healthcheck: 'object',
  ArgsEscaped: 'bool', Volumes: 'object', WorkingDir: 'string', NetworkDisabled: 'bool', MacAddress: 'string',
  OnBuild: '[]string', Labels: 'map[string]string', StopSignal: 'string', StopTimeout: 'number', Shell: '[]string',
  NetworkingConfig: 'object',
};
const HOST_CONFIG_SHAPE: Record<string, Shape> = {
  ContainerIDFile: 'string', LogConfig: 'object', NetworkMode: 'string', PortBindings: 'object', RestartPolicy: 'object',
  AutoRemove: 'bool', VolumeDriver: 'string', VolumesFrom: '[]string', CapAdd: '[]string', CapDrop: '[]string',
  CgroupnsMode: 'string', Dns: '[]string', DnsOptions: '[]string', DnsSearch: '[]string', ExtraHosts: '[]string',
  GroupAdd: '[]string', IpcMode: 'string', Cgroup: 'string', Links: '[]string', OomScoreAdj: 'number', PidMode: 'string',
  Privileged: 'bool', PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', SecurityOpt: '[]string', StorageOpt: 'map[string]string',
  UTSMode: 'string', UsernsMode: 'string', ShmSize: 'number', Sysctls: 'map[string]string', Runtime: 'string',
  Isolation: 'string', MaskedPaths: '[]string', ReadonlyPaths: '[]string', Init: 'bool', Annotations: 'map[string]string',
};

const jsonKind = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'boolean' ? 'bool' : typeof v);

function unmarshalError(v: unknown, field: string, goType: string) {
  return invalidParameter(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${field} of type ${goType}`);
}

function checkShape(struct: string, obj: Record<string, unknown>, shapes: Record<string, Shape>): void {
  for (const [key, shape] of Object.entries(shapes)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const field = `${struct}.${key}`;
    switch (shape) {
      case 'string': case 'bool': case 'number':
        if (jsonKind(v) !== shape) throw unmarshalError(v, field, shape === 'number' ? 'int64' : shape);
        break;
      case '[]string':
        if (!Array.isArray(v)) throw unmarshalError(v, field, shape);
        for (const x of v) if (typeof x !== 'string') throw unmarshalError(x, field, 'string');
        break;
      case 'map[string]string':
        if (jsonKind(v) !== 'object') throw unmarshalError(v, field, shape);
        for (const x of Object.values(v as object)) if (typeof x !== 'string') throw unmarshalError(x, field, 'string');
        break;
      case 'object':
        if (jsonKind(v) !== 'object') throw unmarshalError(v, field, 'struct');
        break;
    }
  }
}

export function mergeConfig(body: CreateBody, image: ImageDefaults, imageRef: string): ContainerConfig {
  const entrypointGiven = body.Entrypoint !== undefined && body.Entrypoint !== null;
  const entrypoint = entrypointGiven ? asList(body.Entrypoint)! : image.Entrypoint ?? null;
  const bodyCmd = asList(body.Cmd);
  // `--entrypoint x` without a command drops the image's CMD, as Docker does.
  const cmd = bodyCmd && bodyCmd.length ? bodyCmd : entrypointGiven ? null : image.Cmd ?? null;
  // `Foo` without "=" is kept as given, as dockerd keeps it in Config.Env (the docker CLI has already replaced
  // `-e Foo` by the client's value, or dropped it); the process does not get it (runtime/env.ts).
  const env = mergeEnv(image.Env ?? [], body.Env ?? []);
  return {
    Hostname: body.Hostname ?? '',
    Domainname: body.Domainname ?? '',
    User: body.User || image.User || '',
    AttachStdin: !!body.AttachStdin,
    AttachStdout: body.AttachStdout ?? false,
    AttachStderr: body.AttachStderr ?? false,
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) },
    Tty: !!body.Tty,
    OpenStdin: !!body.OpenStdin,
    StdinOnce: !!body.StdinOnce,
    Env: env,
    Cmd: cmd,
    Image: imageRef,
    // the image's VOLUMEs are added to the ones asked for (-v /path), as docker merges them
    Volumes: body.Volumes && Object.keys(body.Volumes).length ? { ...body.Volumes, ...(image.Volumes ?? {}) } : image.Volumes ?? body.Volumes ?? null,
    WorkingDir: body.WorkingDir || image.WorkingDir || '',
    Entrypoint: entrypoint && entrypoint.length && !(entrypoint.length === 1 && entrypoint[0] === '') ? entrypoint : null,
    OnBuild: image.OnBuild ?? null,
    Labels: { ...(image.Labels ?? {}), ...(body.Labels ?? {}) },
    ...(body.StopSignal || image.StopSignal ? { StopSignal: body.StopSignal || image.StopSignal } : {}),
    ...(body.StopTimeout !== undefined && body.StopTimeout !== null ? { StopTimeout: body.StopTimeout } : {}),
    ...healthOf(body.Healthcheck, image.Healthcheck),
    ...(typeof body.MacAddress === 'string' && body.MacAddress ? { MacAddress: body.MacAddress } : {}),
  };
}

function healthOf(container: HealthConfig | undefined, image: HealthConfig | undefined): { Healthcheck?: HealthConfig } {
  const hc = mergeHealthcheck(container, image);
  return hc ? { Healthcheck: hc } : {};
}

/** The log drivers dockerd has built in; berth has json-file and none. */
const DOCKER_LOG_DRIVERS = ['none', 'local', 'json-file', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];
const JSON_FILE_OPTS = ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];

/** HostConfig.LogConfig as dockerd checks and stores it: "" means the default, json-file, with its options kept. */
export function logConfig(lc: unknown): { Type: string; Config: Record<string, string> } {
  const { Type, Config } = (lc && typeof lc === 'object' ? lc : {}) as { Type?: unknown; Config?: unknown };
  const type = typeof Type === 'string' && Type ? Type : 'json-file';
  const config = Config && typeof Config === 'object' && !Array.isArray(Config) ? Config as Record<string, string> : {};
  if (type === 'none') return { Type: type, Config: config }; // no log at all: `logs` answers that it cannot read
  if (type !== 'json-file') {
    if (!DOCKER_LOG_DRIVERS.includes(type)) throw invalidParameter(`error looking up logging plugin ${type}: plugin "${type}" not found`);
    throw invalidParameter(`logging driver ${type} is not supported by berth: berth has json-file and none`);
  }
  for (const k of Object.keys(config)) if (!JSON_FILE_OPTS.includes(k)) throw invalidParameter(`unknown log opt '${k}' for json-file log driver`);
  return { Type: type, Config: config };
}

export function defaultHostConfig(h: Partial<HostConfig> = {}): HostConfig {
  return {
    ...h,
    LogConfig: logConfig(h.LogConfig),
    NetworkMode: !h.NetworkMode || h.NetworkMode === 'default' ? 'bridge' : h.NetworkMode,
    PortBindings: h.PortBindings ?? {},
    PublishAllPorts: !!h.PublishAllPorts,
    AutoRemove: !!h.AutoRemove,
    RestartPolicy: { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    Runtime: h.Runtime || '',
    Privileged: !!h.Privileged,
    // as dockerd: Docker's lists are written into the record at create (inspect shows them), except when privileged
    MaskedPaths: stringList(h.MaskedPaths) ?? (h.Privileged ? null : [...defaultMaskedPaths()]),
    ReadonlyPaths: stringList(h.ReadonlyPaths) ?? (h.Privileged ? null : [...READONLY_PATHS]),
    CgroupnsMode: (h.CgroupnsMode as string | undefined) || defaultCgroupnsMode(isPureCgroupV2()),
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    ReadonlyRootfs: !!h.ReadonlyRootfs,
    ShmSize: h.ShmSize || 64 * 1024 * 1024,
  };
}

const stringList = (v: unknown): string[] | null => (Array.isArray(v) ? v.map(String) : null);
const isPureCgroupV2 = (): boolean => { const l = cgroupLayout(); return !!l.unified && Object.keys(l.v1).length === 0; };

/** The command line: entrypoint + cmd, split into Path and Args as inspect shows. */
export function commandLine(cfg: ContainerConfig): string[] {
  return [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
}
