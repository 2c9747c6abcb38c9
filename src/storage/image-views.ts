// The Engine API's JSON for images (GET /images/json items, GET /images/{name}/json), built from the in-memory
// records: listing and inspecting never touch the disk. Shapes follow the API spec (v1.56) and docker's classic
// image store; the API layer trims fields for older API versions.
import type { ImageRecord } from './images';

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
