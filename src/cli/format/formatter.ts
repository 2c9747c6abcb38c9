// docker/cli's cli/command/formatter: the `table …` / `json` / custom --format machinery and the
// per-row contexts for `ps` and `images` (fields ID, Image, Command, RunningFor, Ports, …).
import { Template, TemplateError, headerFuncs, formatValue } from './template';
import { TabWriter, stringWidth, PRINTABLE_ASCII } from './tabwriter';
import { humanDuration, humanSizeWithPrecision, humanSize, goTimeString } from './units';
import type { ContainerSummary, ImageSummary, Port } from '../../client/types';

export const TABLE = 'table';
export const JSON_KEY = 'json';

export class FormatError extends Error {}

/** Context.preFormat: strip "table", map "json", trim, and turn literal \t \n into tab/newline. */
export function preFormat(format: string): string {
  let f = format;
  if (f.startsWith(TABLE)) f = f.slice(TABLE.length);
  else if (f === JSON_KEY) f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export interface HeaderContext { [k: string]: unknown }

/** SubHeaderContext with its Label method (last dotted segment, -/_ as spaces). */
export function headerContext(map: Record<string, string>): HeaderContext {
  return {
    ...map,
    Label(name: string): string {
      const n = name.split('.');
      return n[n.length - 1].replace(/[-_]/g, ' ');
    },
  };
}

/**
 * Context.Write: render rows with a docker format. Table formats get the header row and the tabwriter
 * (minwidth 10, padding 3); other formats print each row followed by a newline.
 */
export function writeFormatted(format: string, rows: object[], header: HeaderContext): string {
  const isTable = format.startsWith(TABLE);
  const final = preFormat(format);
  let tmpl: Template;
  try {
    tmpl = new Template(final);
  } catch (err) {
    throw new FormatError(`template parsing error: ${(err as Error).message}`);
  }
  let body = '';
  for (const row of rows) {
    try {
      body += tmpl.execute(row) + '\n';
    } catch (err) {
      if (err instanceof TemplateError) throw new FormatError(`template parsing error: ${err.message}`);
      throw err;
    }
  }
  if (!isTable) return body;
  const tw = new TabWriter(10, 3);
  let head = '';
  try {
    head = tmpl.execute(header, { funcs: headerFuncs });
  } catch { /* Go ignores header execution errors */ }
  tw.write(head);
  tw.write('\n');
  tw.write(body);
  return tw.flush();
}

// ---------------------------------------------------------------------------------------------------
// containers

/** stringid.TruncateID: strip the algorithm prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  if (i >= 0) id = id.slice(i + 1);
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** formatter.Ellipsis: cut to a display width, ending with "…". */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  if (PRINTABLE_ASCII.test(s) && max > 1) return s.length <= max ? s : s.slice(0, max - 1) + '…';
  const rs = [...s];
  if (max === 1) return rs[0] ?? '';
  if (stringWidth(s) <= max) return s;
  let w = 0;
  let out = '';
  for (const r of rs) {
    const cw = stringWidth(r) || 1;
    if (w + cw > max - 1) break;
    w += cw;
    out += r;
  }
  return out + '…';
}

/** strconv.Quote (Go escapes, keeps printable Unicode). */
export function goQuote(s: string): string {
  if (PRINTABLE_ASCII.test(s) && !/["\\]/.test(s)) return '"' + s + '"';
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '\n': out += '\\n'; break;
      case '\t': out += '\\t'; break;
      case '\r': out += '\\r'; break;
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\v': out += '\\v'; break;
      default:
        if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
        else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
        else out += ch;
    }
  }
  return out + '"';
}

/** net.JoinHostPort. */
const joinHostPort = (host: string, port: string) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** formatter.DisplayablePorts: "0.0.0.0:8080->80/tcp, 443/tcp", consecutive ports grouped as ranges. */
export function displayablePorts(ports: Port[] | null | undefined): string {
  const list = [...(ports ?? [])].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    const ai = a.IP ?? '', bi = b.IP ?? '';
    if (ai !== bi) return ai < bi ? -1 : 1;
    const ap = a.PublicPort ?? 0, bp = b.PublicPort ?? 0;
    if (ap !== bp) return ap - bp;
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const keys: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const p of list) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = p.IP + '/' + p.Type;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      keys.push(key);
      continue;
    }
    if (current === g.last + 1) { g.last = current; continue; }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const k of keys) {
    const g = groups.get(k)!;
    result.push(formGroup(k, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

function formGroup(key: string, start: number, last: number): string {
  const parts = key.split('/');
  let type = parts[0];
  let ip = '';
  if (parts.length > 1) { ip = parts[0]; type = parts[1]; }
  let group = String(start);
  if (start !== last) group += `-${last}`;
  if (ip) group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}

/** reference.FamiliarString for the common cases: drop docker.io/ and library/. */
export function familiarName(ref: string): string {
  let r = ref;
  if (r.startsWith('docker.io/')) r = r.slice('docker.io/'.length);
  else if (r.startsWith('index.docker.io/')) r = r.slice('index.docker.io/'.length);
  else return r;
  if (r.startsWith('library/') && !r.slice('library/'.length).includes('/')) r = r.slice('library/'.length);
  return r;
}

/** ContainerContext: the fields `ps --format` offers. Methods so `{{json .}}` and `.Label "k"` work. */
export class ContainerContext {
  get goType(): string { return '*formatter.ContainerContext'; }
  /** Set when a template reads .Size (docker then asks the daemon for sizes). */
  sizeUsed = false;
  constructor(private c: ContainerSummary, private trunc: boolean, private now: number = Date.now()) {}

  ID(): string { return this.trunc ? truncateId(this.c.Id ?? '') : this.c.Id ?? ''; }
  Names(): string {
    let names = (this.c.Names ?? []).map((n) => n.slice(1));
    if (this.trunc) {
      const primary = names.find((n) => n.split('/').length === 1);
      if (primary !== undefined) names = [primary];
    }
    return names.join(',');
  }
  Image(): string {
    const image = this.c.Image ?? '';
    if (image === '') return '<no image>';
    if (this.trunc) {
      const tid = truncateId(this.c.ImageID ?? '');
      if (tid === truncateId(image)) return tid;
      // drop a digest: name@sha256:… → name, name:tag@sha256:… → name:tag
      const at = image.indexOf('@');
      const base = at >= 0 ? image.slice(0, at) : image;
      return familiarName(base);
    }
    return image;
  }
  Command(): string {
    const cmd = this.c.Command ?? '';
    return goQuote(this.trunc ? ellipsis(cmd, 20) : cmd);
  }
  CreatedAt(): string { return goTimeString(this.c.Created ?? 0); }
  RunningFor(): string { return humanDuration(this.now - (this.c.Created ?? 0) * 1000) + ' ago'; }
  Ports(): string { return displayablePorts(this.c.Ports); }
  State(): string { return this.c.State ?? ''; }
  Status(): string { return this.c.Status ?? ''; }
  Size(): string {
    this.sizeUsed = true;
    const srw = humanSizeWithPrecision(this.c.SizeRw ?? 0, 3);
    const sv = humanSizeWithPrecision(this.c.SizeRootFs ?? 0, 3);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${sv})` : srw;
  }
  Labels(): string {
    const l = this.c.Labels;
    if (!l) return '';
    return Object.keys(l).map((k) => `${k}=${l[k]}`).sort().join(',');
  }
  Label(name: string): string { return this.c.Labels?.[name] ?? ''; }
  Mounts(): string {
    return (this.c.Mounts ?? []).map((m) => {
      const name = m.Name ? m.Name : m.Source ?? '';
      return this.trunc ? ellipsis(name, 15) : name;
    }).join(',');
  }
  LocalVolumes(): string { return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length); }
  Networks(): string { return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(','); }
  Platform(): unknown {
    const p = (this.c as { ImageManifestDescriptor?: { platform?: unknown } }).ImageManifestDescriptor?.platform;
    return p ?? null;
  }
  /** formatter.MarshalJSON: every zero-argument method, keys sorted (a Go map). */
  toJSON(): Record<string, unknown> {
    return {
      Command: this.Command(), CreatedAt: this.CreatedAt(), ID: this.ID(), Image: this.Image(), Labels: this.Labels(),
      LocalVolumes: this.LocalVolumes(), Mounts: this.Mounts(), Names: this.Names(), Networks: this.Networks(),
      Platform: this.Platform(), Ports: this.Ports(), RunningFor: this.RunningFor(), Size: this.Size(),
      State: this.State(), Status: this.Status(),
    };
  }
  toGoString(): string { return '&{' + formatValue(this.c) + '}'; }
}

export const containerHeaders = headerContext({
  ID: 'CONTAINER ID', Names: 'NAMES', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS',
  Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
});

export const defaultContainerTableFormat = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** formatter.NewContainerFormat. */
export function containerFormat(source: string, quiet: boolean, size: boolean): string {
  if (source === TABLE || source === '') {
    if (quiet) return '{{.ID}}';
    return defaultContainerTableFormat + (size ? '\t{{.Size}}' : '');
  }
  if (source === 'raw') {
    if (quiet) return 'container_id: {{.ID}}';
    let f = 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
    if (size) f += 'size: {{.Size}}\\n';
    return f;
  }
  return quiet ? '{{.ID}}' : source;
}

// ---------------------------------------------------------------------------------------------------
// images

/** time.Time{}.Unix(): the Created value of an image without a creation date. */
const ZERO_TIME = -62135596800;

export class ImageContext {
  get goType(): string { return '*formatter.imageContext'; }
  constructor(private i: ImageSummary, private trunc: boolean, private repo: string, private tag: string, private digest: string, private now: number = Date.now()) {}
  ID(): string { return this.trunc ? truncateId(this.i.Id ?? '') : this.i.Id ?? ''; }
  Repository(): string { return this.repo; }
  Tag(): string { return this.tag; }
  Digest(): string { return this.digest; }
  CreatedSince(): string {
    // Go's zero time (0001-01-01) means "unknown": the table shows N/A
    if ((this.i.Created ?? 0) === ZERO_TIME) return '';
    return humanDuration(this.now - (this.i.Created ?? 0) * 1000) + ' ago';
  }
  CreatedAt(): string { return goTimeString(this.i.Created ?? 0); }
  Size(): string { return humanSizeWithPrecision(this.i.Size ?? 0, 3); }
  Containers(): string { return this.i.Containers === -1 || this.i.Containers === undefined ? 'N/A' : String(this.i.Containers); }
  VirtualSize(): string { return humanSize(this.i.Size ?? 0); }
  SharedSize(): string { return this.i.SharedSize === -1 || this.i.SharedSize === undefined ? 'N/A' : humanSize(this.i.SharedSize); }
  UniqueSize(): string {
    const s = this.i.Size ?? 0, sh = this.i.SharedSize ?? -1;
    return s === -1 || sh === -1 ? 'N/A' : humanSize(s - sh);
  }
  toJSON(): Record<string, unknown> {
    return {
      Containers: this.Containers(), CreatedAt: this.CreatedAt(), CreatedSince: this.CreatedSince(), Digest: this.Digest(),
      ID: this.ID(), Repository: this.Repository(), SharedSize: this.SharedSize(), Size: this.Size(), Tag: this.Tag(),
      UniqueSize: this.UniqueSize(), VirtualSize: this.VirtualSize(),
    };
  }
}

export const imageHeaders = headerContext({
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
});

const defaultImageTableFormat = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const defaultImageTableFormatWithDigest = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

/** formatter.NewImageFormat. */
export function imageFormat(source: string, quiet: boolean, digest: boolean): string {
  if (source === TABLE) {
    if (quiet) return '{{.ID}}';
    return digest ? defaultImageTableFormatWithDigest : defaultImageTableFormat;
  }
  if (source === 'raw') {
    if (quiet) return 'image_id: {{.ID}}';
    return digest
      ? 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n'
      : 'repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n';
  }
  if (source.startsWith(TABLE) && digest && !source.includes('{{.Digest}}')) return source + '\t{{.Digest}}';
  return source;
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [], digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** Splits "name:tag" / "name@digest" (the tag colon is the last one after the last slash). */
function splitRef(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref };
}

/** formatter.imageFormat: one row per repo:tag (and per digest with --digests). */
export function imageRows(images: ImageSummary[], opts: { trunc: boolean; digest: boolean; format: string }, now = Date.now()): ImageContext[] {
  const needDigest = opts.digest || opts.format.includes('{{.Digest}}');
  const rows: ImageContext[] = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push(new ImageContext(img, opts.trunc, '<none>', '<none>', '<none>', now));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const r of img.RepoTags ?? []) {
      const p = splitRef(r);
      if (p.tag === undefined || p.digest !== undefined) continue;
      const name = familiarName(p.name);
      repoTags.set(name, [...(repoTags.get(name) ?? []), p.tag]);
    }
    for (const r of img.RepoDigests ?? []) {
      const p = splitRef(r);
      if (p.digest === undefined) continue;
      const name = familiarName(p.name);
      repoDigests.set(name, [...(repoDigests.get(name) ?? []), p.digest]);
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!needDigest) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) { rows.push(new ImageContext(img, opts.trunc, repo, tag, '<none>', now)); continue; }
        for (const d of digests) rows.push(new ImageContext(img, opts.trunc, repo, tag, d, now));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digest) for (const d of digests) rows.push(new ImageContext(img, opts.trunc, repo, '<none>', d, now));
      else rows.push(new ImageContext(img, opts.trunc, repo, '<none>', '', now));
    }
  }
  return rows;
}
