// `docker pull`: resolve the reference on its registry, pick the platform's manifest from an index, fetch
// the config, then download the missing layers — three at a time, each hashed, decompressed and unpacked
// in one pass while it streams in (ImageStore.stageLayer) — and commit the image in one step. Nothing is
// stored unless every part arrived and verified; layers the store already has are not downloaded.
import { EngineError } from '../../common/errors';
import type { ImageRecord, ImageStore, Reference, StagedLayer } from '../../storage';
import { familiarName, warmUnpackWorkers } from '../../storage';
import { chainIds } from '../../storage/digest';
import { parseConfigFile } from '../../storage/image-config';
import {
  AuthConfig, ImageManifest, RegistryClient, noMatchingManifestError, parseManifest, parsePlatform, pullError, resolveEndpoint,
  schema1Error, isSchema1MediaType, selectManifest,
} from '../../distribution';
import type { RegistryEndpoint } from '../../distribution';
import { Limiter, settleAll } from './limit';
import type { ProgressSink } from './progress';
import { failpoint } from '../../common/failpoint';

export interface PullOptions {
  auth?: AuthConfig;
  /** os[/arch[/variant]]; default this host's. */
  platform?: string;
  insecureRegistries?: string[];
  /** Layers in flight at once (docker's default 3). */
  concurrency?: number;
  /** Where to pull from instead of the reference's own registry (a mirror); the image keeps its name. */
  endpoint?: RegistryEndpoint;
}

const concurrencyOf = (opts: PullOptions) => opts.concurrency ?? 3;

export const shortId = (digest: string) => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

/** Pulls one reference (tag or digest). Returns the image and whether anything new was stored. */
export async function pullImage(store: ImageStore, ref: Reference, progress: ProgressSink, opts: PullOptions = {}): Promise<{ image: ImageRecord; fresh: boolean }> {
  const name = ref.path; // docker shows the repository path: 'library/busybox', 'test/app'
  const shown = familiarName(ref);
  const endpoint = opts.endpoint ?? resolveEndpoint(ref.domain, { insecureRegistries: opts.insecureRegistries });
  const client = new RegistryClient(endpoint, ref.path, { auth: opts.auth, actions: ['pull'] });
  const platform = parsePlatform(opts.platform);
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';

  try {
    const top = await client.getManifest(tagOrDigest);
    if (isSchema1MediaType(top.mediaType)) throw schema1Error(shown);
    let manifestDoc = top;
    const topParsed = parseManifest(top.bytes, top.mediaType);
    let manifest: ImageManifest;
    if (topParsed.kind === 'index') {
      const chosen = selectManifest(topParsed.index, platform);
      if (!chosen) throw noMatchingManifestError(platform);
      manifestDoc = await client.getManifest(chosen.digest);
      const parsed = parseManifest(manifestDoc.bytes, manifestDoc.mediaType);
      if (parsed.kind !== 'manifest') throw new EngineError(500, `invalid manifest ${chosen.digest}: an index inside an index`);
      manifest = parsed.manifest;
    } else {
      manifest = topParsed.manifest;
    }
    progress.note(`Pulling from ${name}`, tagOrDigest);

    const configBytes = await client.getBlob(manifest.config.digest, { maxSize: 16 << 20 });
    const config = parseConfigFile(configBytes);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new EngineError(502, `invalid manifest: ${manifest.layers.length} layers, but the config lists ${diffIds.length} diff ids`);
    }
    const chains = chainIds(diffIds);
    const tags = ref.digest === undefined ? [ref] : [];
    const digestRefs = [{ domain: ref.domain, path: ref.path, digest: top.digest }];
    const existing = store.tryGet(manifest.config.digest);
    if (existing && chains.every((c) => store.hasLayer(c))) {
      const image = await store.commitImage(configBytes, [], { tags, digestRefs, manifest: { mediaType: manifestDoc.mediaType, bytes: manifestDoc.bytes } });
      progress.status(`Digest: ${top.digest}`);
      progress.status(`Status: Image is up to date for ${shown}`);
      return { image, fresh: false };
    }

    warmUnpackWorkers(Math.min(concurrencyOf(opts), manifest.layers.length)); // ~100 ms each to start: overlap it with the first requests
    const staged = await downloadLayers(store, client, manifest, chains, diffIds, progress, concurrencyOf(opts));
    const image = await store.commitImage(configBytes, staged, {
      tags, digestRefs, manifest: { mediaType: manifestDoc.mediaType, bytes: manifestDoc.bytes }, event: 'pull',
    });
    progress.status(`Digest: ${top.digest}`);
    progress.status(`Status: Downloaded newer image for ${shown}`);
    return { image, fresh: true };
  } catch (err) {
    throw err instanceof EngineError ? err : pullError(err, ref);
  }
}

/** Downloads and stages every layer whose chain the store lacks. On any failure the others are aborted and
 * everything staged is discarded before the error propagates. */
async function downloadLayers(
  store: ImageStore, client: RegistryClient, manifest: ImageManifest, chains: string[], diffIds: string[],
  progress: ProgressSink, concurrency: number,
): Promise<StagedLayer[]> {
  const needed = new Map<string, { digest: string; size: number; mediaType: string; diffId: string }>();
  manifest.layers.forEach((l, i) => {
    const id = shortId(l.digest);
    if (store.hasLayer(chains[i])) progress.status('Already exists', id);
    else if (!needed.has(l.digest)) needed.set(l.digest, { digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: diffIds[i] });
  });
  for (const l of needed.values()) progress.status('Pulling fs layer', shortId(l.digest));

  const limiter = new Limiter(concurrency);
  const abort = new AbortController();
  const staged: StagedLayer[] = [];
  const jobs = [...needed.values()].map((l) => limiter.run(async () => {
    if (abort.signal.aborted) throw abort.signal.reason;
    const id = shortId(l.digest);
    let received = 0;
    const layer = await store.stageLayer(client.fetchBlob(l.digest, {
      size: l.size, signal: abort.signal,
      onBytes: (n) => { received += n; progress.bytes('Downloading', id, received, l.size); },
    }), { expectedDigest: l.digest, mediaType: l.mediaType });
    staged.push(layer);
    await failpoint('pull.after-layer');
    if (layer.diffId !== l.diffId) throw new EngineError(502, `layer ${l.digest}: diff id ${layer.diffId} does not match the config's ${l.diffId}`);
    progress.status('Verifying Checksum', id);
    progress.status('Download complete', id);
    progress.bytes('Extracting', id, l.size, l.size);
    progress.status('Pull complete', id);
  }, () => progress.status('Waiting', shortId(l.digest))));
  try {
    await settleAll(jobs, abort);
  } catch (err) {
    await Promise.all(staged.map((l) => store.discardStaged(l)));
    throw err;
  }
  return staged;
}
