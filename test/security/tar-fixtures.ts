// Hostile tars built byte by byte: a library would refuse or clean the names these tests need (`../x`, `/etc/x`,
// links out of the root, devices). USTAR headers, PAX records for long names, synchronous.
import { createHash } from 'crypto';

export interface HostileEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  body?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  /** extra PAX records (e.g. SCHILY.xattr.*) */
  pax?: Record<string, string>;
}

const TYPEFLAG: Record<NonNullable<HostileEntry['type']>, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, typeflag: string, size: number, e: Partial<HostileEntry>): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(e.mode ?? (typeflag === '5' ? 0o755 : 0o644), 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  if (e.linkname) h.write(e.linkname.slice(0, 100), 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(e.devmajor ?? 0, 8), 329);
  h.write(octal(e.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function paxRecords(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

/** A tar of the entries in order, with the end-of-archive blocks. */
export function tarOf(entries: HostileEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith('/') ? 'dir' : 'file');
    const body = type === 'file' ? Buffer.from(e.body ?? '') : Buffer.alloc(0);
    const pax: Record<string, string> = { ...(e.pax ?? {}) };
    if (Buffer.byteLength(e.name) > 100) pax.path = e.name;
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
    if (Object.keys(pax).length) {
      const data = paxRecords(pax);
      parts.push(header('PaxHeaders/x', 'x', data.length, {}), pad(data));
    }
    parts.push(header(e.name, TYPEFLAG[type], body.length, e), pad(body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A docker-archive (docker save's layout: manifest.json + config + layer tars) holding one image. */
export function dockerArchive(opts: { layers: Buffer[]; diffIds?: string[]; tag?: string; config?: Record<string, unknown>; manifest?: unknown; extra?: HostileEntry[] }): Buffer {
  const diffIds = opts.diffIds ?? opts.layers.map((l) => sha256(l));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds }, ...(opts.config ?? {}),
  }));
  const configName = `${sha256(config).slice(7)}.json`;
  const layerNames = opts.layers.map((l) => `${sha256(l).slice(7)}/layer.tar`);
  const manifest = opts.manifest ?? [{ Config: configName, RepoTags: opts.tag ? [opts.tag] : null, Layers: layerNames }];
  return tarOf([
    { name: configName, body: config },
    ...opts.layers.flatMap((l, i) => [{ name: layerNames[i].split('/')[0] + '/', type: 'dir' as const }, { name: layerNames[i], body: l }]),
    ...(opts.extra ?? []),
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
}
