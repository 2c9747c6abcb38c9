// `docker push`: upload the layers the registry lacks (three at a time; mounted from another repository of
// the same registry when this store knows one that has the blob), then the config, then the manifest. A
// manifest this image was pulled with is sent byte for byte so the digest stays the same; otherwise a Docker
// schema 2 manifest is built from the stored blobs (OCI when a layer is zstd, which schema 2 cannot name).
import { createReadStream } from 'fs';
import { EngineError } from '../../common/errors';
import type { ImageRecord, ImageStore, Reference } from '../../storage';
import { familiarName, parseReference } from '../../storage';
import { AuthConfig, RegistryClient, RegistryError, pushErrorMessage, resolveEndpoint } from '../../distribution';
import { Limiter, settleAll } from './limit';
import type { ProgressSink } from './progress';
import { shortId } from './pull';

export interface PushOptions {
  auth?: AuthConfig;
  insecureRegistries?: string[];
  concurrency?: number;
}

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** Layer media types: ours (OCI names) → Docker schema 2's, for the compressions schema 2 knows. */
const DOCKER_LAYER: Record<string, string> = {
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.docker.image.rootfs.diff.tar',
};

interface Descriptor { mediaType: string; digest: string; size: number }

/** Pushes one tag of the image. Returns the manifest digest the registry stored. */
export async function pushImage(store: ImageStore, ref: Reference, progress: ProgressSink, opts: PushOptions = {}): Promise<string> {
  const image = store.get(familiarName(ref));
  const endpoint = resolveEndpoint(ref.domain, { insecureRegistries: opts.insecureRegistries });
  const client = new RegistryClient(endpoint, ref.path, { auth: opts.auth, actions: ['pull', 'push'] });
  try {
    const layers = await uploadLayers(store, client, image, ref, progress, opts.concurrency ?? 3);
    const { mediaType, bytes } = await manifestFor(store, image, layers);
    const configDigest = image.id;
    if (!(await client.hasBlob(configDigest))) {
      const config = await store.readBlob(configDigest);
      await client.pushBlob(configDigest, config.length, () => [config]);
    }
    const digest = await client.putManifest(ref.tag ?? 'latest', mediaType, bytes);
    await store.commitImage(await store.readBlob(image.id), [], {
      digestRefs: [{ domain: ref.domain, path: ref.path, digest }], manifest: { mediaType, bytes },
    });
    progress.status(`${ref.tag ?? 'latest'}: digest: ${digest} size: ${bytes.length}`);
    progress.aux({ Tag: ref.tag ?? 'latest', Digest: digest, Size: bytes.length });
    return digest;
  } catch (err) {
    if (err instanceof RegistryError || !(err instanceof EngineError)) throw new EngineError(statusOf(err), pushErrorMessage(err, ref));
    throw err;
  }
}

/** Uploads every layer the registry lacks (compressing plain-tar layers first) and returns their descriptors,
 * bottom layer first. Layers are listed top first and named by diff id, like docker's output. */
async function uploadLayers(
  store: ImageStore, client: RegistryClient, image: ImageRecord, ref: Reference, progress: ProgressSink, concurrency: number,
): Promise<Descriptor[]> {
  const order = image.chainIds.map((_c, i) => i).reverse();
  const seen = new Set<string>();
  const unique = order.filter((i) => !seen.has(image.diffIds[i]) && seen.add(image.diffIds[i]));
  for (const i of unique) progress.status('Preparing', shortId(image.diffIds[i]));
  const limiter = new Limiter(concurrency);
  const abort = new AbortController();
  const byDiffId = new Map<string, Descriptor>();
  const jobs = unique.map((i) => {
    const id = shortId(image.diffIds[i]);
    return limiter.run(async () => {
      if (abort.signal.aborted) throw abort.signal.reason;
      const blob = await store.pushableLayerBlob(image.chainIds[i]);
      if (!blob) throw new EngineError(500, `layer ${image.diffIds[i]} has no stored archive to push`);
      const layer = { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
      byDiffId.set(image.diffIds[i], layer);
      if (await client.hasBlob(layer.digest)) return progress.status('Layer already exists', id);
      const source = mountSource(store, layer.digest, ref);
      if (source && await client.mountBlob(layer.digest, source)) {
        return progress.status(`Mounted from ${source}`, id); // docker names the repository by its path
      }
      let sent = 0;
      await client.pushBlob(layer.digest, layer.size, (offset) => createReadStream(store.blobPath(layer.digest), { start: offset, highWaterMark: 1 << 20 }), {
        signal: abort.signal,
        onBytes: (n) => { sent += n; progress.bytes('Pushing', id, sent, layer.size); },
      });
      progress.status('Pushed', id);
    }, () => progress.status('Waiting', id));
  });
  await settleAll(jobs, abort);
  return image.diffIds.map((d) => byDiffId.get(d)!);
}

/** Another repository on the same registry that this store pulled or pushed the blob as part of. */
function mountSource(store: ImageStore, digest: string, target: Reference): string | undefined {
  for (const img of store.list()) {
    if (!img.chainIds.some((c) => store.layerBlob(c)?.digest === digest)) continue;
    for (const d of img.repoDigests) {
      const { domain, path } = parseReference(d);
      if (domain === target.domain && path !== target.path) return path;
    }
  }
  return undefined;
}

async function manifestFor(store: ImageStore, image: ImageRecord, layers: Descriptor[]): Promise<{ mediaType: string; bytes: Buffer }> {
  for (const m of image.manifests ?? []) {
    const bytes = await store.readBlob(m.digest).catch(() => undefined);
    if (!bytes) continue;
    try {
      const doc = JSON.parse(bytes.toString()) as { config?: { digest?: string }; layers?: Array<{ digest?: string }> };
      if (doc.config?.digest === image.id && doc.layers?.length === layers.length && doc.layers.every((l, i) => l.digest === layers[i].digest)) {
        return { mediaType: m.mediaType, bytes };
      }
    } catch { /* not a manifest we can reuse */ }
  }
  const config = await store.readBlob(image.id);
  const docker = layers.every((l) => DOCKER_LAYER[l.mediaType] !== undefined);
  const doc = docker
    ? {
      schemaVersion: 2, mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: config.length, digest: image.id },
      layers: layers.map((l) => ({ mediaType: DOCKER_LAYER[l.mediaType], size: l.size, digest: l.digest })),
    }
    : {
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, size: config.length, digest: image.id },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    };
  return { mediaType: doc.mediaType, bytes: Buffer.from(JSON.stringify(doc, null, 3)) };
}

function statusOf(err: unknown): number {
  if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) return 401;
  if (err instanceof RegistryError && err.status === 404) return 404;
  return 500;
}
