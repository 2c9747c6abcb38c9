// Image archives built in memory for the save/load tests: docker's legacy layout (`<id>/layer.tar`, `<id>.json`),
// Docker 25+'s OCI layout with manifest.json, and plain OCI layouts (index.json only).
import { createHash } from 'crypto';
import * as tar from 'tar-stream';
import { makeTar, TarEntry } from './storage-fixtures';

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const hex = (d: string) => d.slice('sha256:'.length);

export interface FixtureImage {
  /** Layer tarballs as they go into the archive (plain or compressed). */
  layers: Buffer[];
  /** Uncompressed tars of the layers when `layers` holds compressed ones (for the diff ids). */
  uncompressed?: Buffer[];
  tags?: string[];
  config?: Record<string, unknown>;
}

export function configOf(img: FixtureImage): Buffer {
  const diffIds = (img.uncompressed ?? img.layers).map((l) => sha(l));
  return Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z',
    config: { Cmd: ['sh'] },
    history: diffIds.map((_, i) => ({ created: '2024-01-02T03:04:05Z', created_by: `step ${i}` })),
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...(img.config ?? {}),
  }));
}

/** Docker ≤ 24's layout: one directory per layer (v1 ids made up here), config as <hex>.json. */
export async function legacyArchive(images: FixtureImage[]): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const manifest: object[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();
  for (const img of images) {
    const config = configOf(img);
    const layerPaths: string[] = [];
    let parent = '';
    for (const layer of img.layers) {
      const v1 = hex(sha(parent + sha(layer)));
      parent = v1;
      layerPaths.push(`${v1}/layer.tar`);
      if (seen.has(v1)) continue;
      seen.add(v1);
      entries.push({ name: `${v1}/`, type: 'directory' });
      entries.push({ name: `${v1}/VERSION`, content: '1.0' });
      entries.push({ name: `${v1}/json`, content: JSON.stringify({ id: v1 }) });
      entries.push({ name: `${v1}/layer.tar`, content: layer });
    }
    entries.push({ name: `${hex(sha(config))}.json`, content: config });
    manifest.push({ Config: `${hex(sha(config))}.json`, RepoTags: img.tags ?? null, Layers: layerPaths });
    for (const t of img.tags ?? []) {
      const [repo, tag] = t.split(':');
      (repositories[repo] ??= {})[tag] = parent;
    }
  }
  entries.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  entries.push({ name: 'repositories', content: JSON.stringify(repositories) });
  return makeTar(entries);
}

/** An OCI image layout; with `dockerManifest` also manifest.json (what Docker 25+ writes). Layers come first,
 * manifest.json and index.json last, as in docker's archives. */
export async function ociArchive(images: FixtureImage[], opts: { dockerManifest?: boolean; layerMediaType?: string } = {}): Promise<Buffer> {
  const blobs = new Map<string, Buffer>();
  const manifest: object[] = [];
  const index: object[] = [];
  for (const img of images) {
    const config = configOf(img);
    for (const l of img.layers) blobs.set(hex(sha(l)), l);
    blobs.set(hex(sha(config)), config);
    const m = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: img.layers.map((l) => ({ mediaType: opts.layerMediaType ?? 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
    }));
    blobs.set(hex(sha(m)), m);
    const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(m), size: m.length };
    for (const t of img.tags ?? []) {
      index.push({ ...desc, annotations: { 'io.containerd.image.name': `docker.io/library/${t}`, 'org.opencontainers.image.ref.name': t.split(':')[1] } });
    }
    if (!img.tags?.length) index.push(desc);
    manifest.push({ Config: `blobs/sha256/${hex(sha(config))}`, RepoTags: img.tags ?? null, Layers: img.layers.map((l) => `blobs/sha256/${hex(sha(l))}`) });
  }
  const entries: TarEntry[] = [{ name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' }];
  for (const [h, b] of blobs) entries.push({ name: `blobs/sha256/${h}`, content: b });
  entries.push({ name: 'index.json', content: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }) });
  if (opts.dockerManifest) entries.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  entries.push({ name: 'oci-layout', content: '{"imageLayoutVersion": "1.0.0"}' });
  return makeTar(entries);
}

/** name → content (directories as null) of a tar in memory. */
export async function readTar(data: Buffer): Promise<Map<string, { header: tar.Header; content: Buffer }>> {
  const out = new Map<string, { header: tar.Header; content: Buffer }>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract as unknown as AsyncIterable<AsyncIterable<Buffer> & { header: tar.Header }>) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c);
      out.set(entry.header.name, { header: entry.header, content: Buffer.concat(parts) });
    }
  })();
  extract.end(data);
  await done;
  return out;
}

/** A layer tar with a few files; `seed` makes its contents (and so its digest) differ. */
export function layerOf(seed: string, extra: TarEntry[] = []): Promise<Buffer> {
  return makeTar([
    { name: `${seed}/`, type: 'directory' },
    { name: `${seed}/file.txt`, content: `content of ${seed}\n` },
    ...extra,
  ]);
}
