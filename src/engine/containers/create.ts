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
  checkList('Cmd', b.Cmd); checkList('Entrypoint', b.Entrypoint); checkList('Env', b.Env);
  if (b.Image !== undefined && typeof b.Image !== 'string') throw invalidParameter('json: cannot unmarshal into Go struct field ContainerConfig.Image of type string');
  return b;
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
