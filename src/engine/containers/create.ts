// Turns a create request (Docker's Config + HostConfig) and the image's config into a container record,
// merging exactly as Docker does: Env is image env overridden by key; an Entrypoint given on the command
// line resets the image's Cmd; Cmd given replaces the image's Cmd; WorkingDir/User/StopSignal fall back to the image's.
import { invalidParameter } from '../../common/errors';
import type { ContainerConfig, HealthConfig, HostConfig } from './types';
import { mergeHealthcheck } from './health';

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

export function validateBody(body: unknown): CreateBody {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid JSON: the request body must be a JSON object');
  const b = body as CreateBody;
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
  const env = mergeEnv(image.Env ?? [], (body.Env ?? []).filter((e) => e.includes('=')));
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
  };
}

function healthOf(container: HealthConfig | undefined, image: HealthConfig | undefined): { Healthcheck?: HealthConfig } {
  const hc = mergeHealthcheck(container, image);
  return hc ? { Healthcheck: hc } : {};
}

export function defaultHostConfig(h: Partial<HostConfig> = {}): HostConfig {
  return {
    ...h,
    NetworkMode: !h.NetworkMode || h.NetworkMode === 'default' ? 'bridge' : h.NetworkMode,
    PortBindings: h.PortBindings ?? {},
    PublishAllPorts: !!h.PublishAllPorts,
    AutoRemove: !!h.AutoRemove,
    RestartPolicy: { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    Runtime: h.Runtime || '',
    Privileged: !!h.Privileged,
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    ReadonlyRootfs: !!h.ReadonlyRootfs,
    ShmSize: h.ShmSize || 64 * 1024 * 1024,
  };
}

/** The command line: entrypoint + cmd, split into Path and Args as inspect shows. */
export function commandLine(cfg: ContainerConfig): string[] {
  return [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
}
