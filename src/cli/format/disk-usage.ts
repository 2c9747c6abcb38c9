// docker/cli's disk usage formatter (`system df`): the summary rows (TYPE TOTAL ACTIVE SIZE RECLAIMABLE) and,
// with -v, the per-image, per-container, per-volume and build cache tables.
import { ContainerContext, ImageContext, TABLE, headerContext, truncateId, writeFormatted, containerHeaders, imageHeaders, preFormat, FormatError } from './formatter';
import { humanDuration, humanSize } from './units';
import { Template, TemplateError } from './template';
import type { BuildCacheRecord, ContainerSummary, DiskUsage, ImageSummary, VolumeSummary } from '../../client/types';

const pct = (part: number, total: number) => Math.trunc((part * 100) / total);

/** One summary row. */
export class DiskUsageRow {
  get goType(): string { return '*formatter.diskUsageContext'; }
  constructor(readonly row: { type: string; total: number; active: number; size: number; reclaimable: number; percent: boolean }) {}
  Type(): string { return this.row.type; }
  TotalCount(): string { return String(this.row.total); }
  Active(): string { return String(this.row.active); }
  Size(): string { return humanSize(this.row.size); }
  Reclaimable(): string {
    const r = this.row;
    return r.percent && r.size > 0 ? `${humanSize(r.reclaimable)} (${pct(r.reclaimable, r.size)}%)` : humanSize(r.reclaimable);
  }
  toJSON(): Record<string, unknown> {
    return { Active: this.Active(), Reclaimable: this.Reclaimable(), Size: this.Size(), TotalCount: this.TotalCount(), Type: this.Type() };
  }
}

const isActiveContainer = (c: ContainerSummary) => /running|paused|restarting/.test(c.State ?? '');

/** The four summary rows, computed as docker's diskUsage*Context types do. */
export function diskUsageRows(du: DiskUsage): DiskUsageRow[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const layersSize = du.LayersSize ?? 0;
  let usedByContainers = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) === 0) continue;
    if (i.Size === -1 || i.SharedSize === -1) continue;
    usedByContainers += (i.Size ?? 0) - (i.SharedSize ?? 0);
  }
  let containerSize = 0;
  let containerReclaimable = 0;
  for (const c of containers) {
    containerSize += c.SizeRw ?? 0;
    if (!isActiveContainer(c)) containerReclaimable += c.SizeRw ?? 0;
  }
  let volumeSize = 0;
  let volumeReclaimable = 0;
  for (const v of volumes) {
    const size = v.UsageData?.Size ?? -1;
    if (size === -1) continue;
    volumeSize += size;
    if ((v.UsageData?.RefCount ?? 0) === 0) volumeReclaimable += size;
  }
  let builderSize = 0;
  let inUse = 0;
  for (const b of cache) {
    if (!b.Shared) builderSize += b.Size;
    if (b.InUse && !b.Shared) inUse += b.Size;
  }
  return [
    new DiskUsageRow({ type: 'Images', total: images.length, active: images.filter((i) => (i.Containers ?? 0) > 0).length, size: layersSize, reclaimable: layersSize - usedByContainers, percent: true }),
    new DiskUsageRow({ type: 'Containers', total: containers.length, active: containers.filter(isActiveContainer).length, size: containerSize, reclaimable: containerReclaimable, percent: true }),
    new DiskUsageRow({ type: 'Local Volumes', total: volumes.length, active: volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, size: volumeSize, reclaimable: volumeReclaimable, percent: true }),
    new DiskUsageRow({ type: 'Build Cache', total: cache.length, active: cache.filter((b) => b.InUse).length, size: builderSize, reclaimable: builderSize - inUse, percent: false }),
  ];
}

export const diskUsageHeaders = headerContext({ Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' });

class VolumeContext {
  get goType(): string { return '*formatter.volumeContext'; }
  constructor(private v: VolumeSummary) {}
  Name(): string { return this.v.Name; }
  Links(): string { const n = this.v.UsageData?.RefCount ?? -1; return n === -1 ? 'N/A' : String(n); }
  Size(): string { const n = this.v.UsageData?.Size ?? -1; return n === -1 ? 'N/A' : humanSize(n); }
  toJSON(): Record<string, unknown> { return { Links: this.Links(), Name: this.Name(), Size: this.Size() }; }
}
const volumeHeaders = headerContext({ Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' });

class BuildCacheContext {
  get goType(): string { return '*formatter.buildCacheContext'; }
  constructor(private b: BuildCacheRecord, private trunc: boolean, private now = Date.now()) {}
  ID(): string { return this.trunc ? truncateId(this.b.ID) : this.b.ID; }
  CacheType(): string { return this.b.Type ?? ''; }
  Size(): string { return humanSize(this.b.Size); }
  CreatedSince(): string { return this.b.CreatedAt ? humanDuration(this.now - Date.parse(this.b.CreatedAt)) + ' ago' : ''; }
  LastUsedSince(): string { return this.b.LastUsedAt ? humanDuration(this.now - Date.parse(this.b.LastUsedAt)) + ' ago' : ''; }
  UsageCount(): string { return String(this.b.UsageCount ?? 0); }
  Shared(): string { return String(!!this.b.Shared); }
  toJSON(): Record<string, unknown> {
    return { CacheType: this.CacheType(), CreatedSince: this.CreatedSince(), ID: this.ID(), LastUsedSince: this.LastUsedSince(), Shared: this.Shared(), Size: this.Size(), UsageCount: this.UsageCount() };
  }
}
const buildCacheHeaders = headerContext({ ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' });

/** docker's isDangling for a summary. */
function isDangling(i: ImageSummary): boolean {
  const tags = i.RepoTags ?? [];
  const digests = i.RepoDigests ?? [];
  return (tags.length === 0 && digests.length === 0) || (tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>');
}

function imageRowsForDf(images: ImageSummary[], trunc: boolean, now: number): ImageContext[] {
  return images.map((i) => {
    let repo = '<none>';
    let tag = '<none>';
    const first = (i.RepoTags ?? [])[0];
    if (first && !isDangling(i)) {
      const at = first.lastIndexOf(':');
      if (at > first.lastIndexOf('/')) { repo = first.slice(0, at); tag = first.slice(at + 1); }
    }
    return new ImageContext(i, trunc, repo, tag, '', now);
  });
}

/** `system df -v`: four sections; a custom format runs once over {Images, Containers, Volumes, BuildCache}. */
export function verboseDiskUsage(format: string, du: DiskUsage, now = Date.now()): string {
  const trunc = format.startsWith(TABLE);
  const images = imageRowsForDf(du.Images ?? [], trunc, now);
  const containers = (du.Containers ?? []).map((c) => new ContainerContext({ ...c, SizeRootFs: 0 }, trunc, now));
  const volumes = (du.Volumes ?? []).map((v) => new VolumeContext(v));
  const cache = [...(du.BuildCache ?? [])].sort((a, b) => Date.parse(b.LastUsedAt ?? '') - Date.parse(a.LastUsedAt ?? '') || a.ID.localeCompare(b.ID))
    .map((b) => new BuildCacheContext(b, trunc, now));
  if (format === TABLE) {
    let out = 'Images space usage:\n\n';
    out += writeFormatted('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', images, imageHeaders);
    out += '\nContainers space usage:\n\n';
    out += writeFormatted('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', containers, containerHeaders);
    out += '\nLocal Volumes space usage:\n\n';
    out += writeFormatted('table {{.Name}}\t{{.Links}}\t{{.Size}}', volumes, volumeHeaders);
    let builderSize = 0;
    for (const b of du.BuildCache ?? []) if (!b.Shared) builderSize += b.Size;
    out += `\nBuild cache usage: ${humanSize(builderSize)}\n\n`;
    out += writeFormatted('table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', cache, buildCacheHeaders);
    return out;
  }
  let tmpl: Template;
  try {
    tmpl = new Template(preFormat(format));
  } catch (err) {
    throw new FormatError(`template parsing error: ${(err as Error).message}`);
  }
  const data = { Images: images, Containers: containers, Volumes: volumes, BuildCache: cache, goType: '*formatter.diskUsageContext' };
  Object.defineProperty(data, 'toJSON', { value: () => ({ Images: images, Containers: containers, Volumes: volumes, BuildCache: cache }) });
  try {
    return tmpl.execute(data) + '\n';
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(`template parsing error: ${err.message}`);
    throw err;
  }
}

/** NewDiskUsageFormat for the summary. */
export function diskUsageFormat(source: string): string {
  if (source === TABLE) return 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
  if (source === 'raw') return 'type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n';
  return source;
}
