// The Engine API's JSON for images (GET /images/json items, GET /images/{name}/json), built from the in-memory
// records: listing and inspecting never touch the disk. Shapes follow the API spec (v1.56) and docker's classic
// image store; the API layer trims fields for older API versions.
import type { ImageRecord } from './image-record';

/** Docker sends Go's zero time when an image was never tagged locally. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

const unixSeconds = (iso: string) => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
};

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export function imageSummary(img: ImageRecord): ImageSummary {
  return {
    Id: img.id,
    ParentId: img.parent ?? '',
    RepoTags: [...img.repoTags],
    RepoDigests: [...img.repoDigests],
    Created: unixSeconds(img.created),
    Size: img.size,
    SharedSize: -1,
    // docker sends null for an image without labels; the spec says non-nullable, and clients iterate it
    Labels: { ...(img.config.config?.Labels ?? {}) },
    Containers: -1,
  };
}

/** @param layerDirs unpacked layer dirs, top first (ImageStore.layerDirs). */
export function imageInspect(img: ImageRecord, layerDirs: string[]): Record<string, unknown> {
  const c = img.config;
  const out: Record<string, unknown> = {
    Id: img.id,
    RepoTags: [...img.repoTags],
    RepoDigests: [...img.repoDigests],
    Parent: img.parent ?? '',
    Comment: c.comment ?? '',
  };
  if (img.created) out.Created = img.created;
  out.Author = c.author ?? '';
  out.Config = structuredClone(c.config ?? {});
  out.Architecture = c.architecture;
  if (c.variant) out.Variant = c.variant;
  out.Os = c.os;
  if (c['os.version']) out.OsVersion = c['os.version'];
  out.Size = img.size;
  out.GraphDriver = { Name: 'overlay2', Data: graphDriverData(layerDirs) };
  out.RootFS = { Type: 'layers', Layers: [...img.diffIds] };
  out.Metadata = { LastTagTime: img.lastTagTime ?? ZERO_TIME };
  return out;
}

/** Like overlay2's: the top layer is the "upper" dir, the rest are lower dirs; merged/work are where a mount
 * of the image alone would go (they do not exist, as with docker). */
function graphDriverData(dirs: string[]): Record<string, string> {
  if (dirs.length === 0) return {};
  const top = dirs[0].replace(/\/diff$/, '');
  const data: Record<string, string> = {};
  if (dirs.length > 1) data.LowerDir = dirs.slice(1).join(':');
  data.MergedDir = `${top}/merged`;
  data.UpperDir = dirs[0];
  data.WorkDir = `${top}/work`;
  return data;
}

/** container.Config as Go marshals it: fields without omitempty always present (zero values), the rest if set. */
function fullRunConfig(c: Record<string, unknown> | undefined): Record<string, unknown> {
  const src = c ?? {};
  const v = (k: string, zero: unknown) => (src[k] !== undefined ? src[k] : zero);
  const out: Record<string, unknown> = {
    Hostname: v('Hostname', ''), Domainname: v('Domainname', ''), User: v('User', ''),
    AttachStdin: v('AttachStdin', false), AttachStdout: v('AttachStdout', false), AttachStderr: v('AttachStderr', false),
  };
  if (src.ExposedPorts !== undefined) out.ExposedPorts = src.ExposedPorts;
  Object.assign(out, { Tty: v('Tty', false), OpenStdin: v('OpenStdin', false), StdinOnce: v('StdinOnce', false), Env: v('Env', null), Cmd: v('Cmd', null) });
  if (src.Healthcheck !== undefined) out.Healthcheck = src.Healthcheck;
  if (src.ArgsEscaped) out.ArgsEscaped = src.ArgsEscaped;
  Object.assign(out, { Image: v('Image', ''), Volumes: v('Volumes', null), WorkingDir: v('WorkingDir', ''), Entrypoint: v('Entrypoint', null) });
  if (src.NetworkDisabled) out.NetworkDisabled = src.NetworkDisabled;
  if (src.MacAddress) out.MacAddress = src.MacAddress;
  Object.assign(out, { OnBuild: v('OnBuild', null), Labels: v('Labels', null) });
  if (src.StopSignal) out.StopSignal = src.StopSignal;
  if (src.StopTimeout !== undefined) out.StopTimeout = src.StopTimeout;
  if (src.Shell !== undefined) out.Shell = src.Shell;
  return out;
}

const versionLess = (a: string, b: string) => {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
};

/**
 * GET /images/{name}/json as a daemon speaking `apiVersion` (≤ 1.49) answers: Config as the full container.Config,
 * plus the fields older versions still carried (VirtualSize before 1.44; Container, ContainerConfig, DockerVersion
 * before 1.45), in docker's key order.
 */
export function inspectForApiVersion(img: ImageRecord, view: Record<string, unknown>, apiVersion: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const raw = img.config as unknown as Record<string, unknown>;
  const legacy = versionLess(apiVersion, '1.45') < 0;
  for (const [k, value] of Object.entries(view)) {
    if (k === 'Author' && legacy) {
      out.Container = raw.container ?? '';
      out.ContainerConfig = fullRunConfig(raw.container_config as Record<string, unknown> | undefined);
      out.DockerVersion = raw.docker_version ?? '';
    }
    out[k] = k === 'Config' ? fullRunConfig(value as Record<string, unknown>) : value;
    if (k === 'Size' && versionLess(apiVersion, '1.44') < 0) out.VirtualSize = value;
  }
  return out;
}
