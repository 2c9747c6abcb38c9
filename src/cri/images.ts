// The CRI ImageService on berth's own image store: `crictl images` and `berth images` show the same images.
// Pulls go through the engine's pull pipeline; registries may be mirrored (containerd's registry hosts): the
// mirror is asked first, the registry itself after a failure, and the image keeps its own name either way.
import { promises as fs } from 'fs';
import type { ImageRecord, ImageStore, Reference, ContainerUsing } from '../storage';
import { parseReference, referenceString } from '../storage';
import { pullImage, type ProgressSink } from '../engine';
import { errorMessage, EngineError } from '../common/errors';
import type { RegistryEndpoint } from '../distribution';
import { invalidArgument, notFound, CriError } from './errors';
// the status codes alone: the gRPC stack itself loads with the CRI socket's first client (server.ts)
import { Status } from '@grpc/grpc-js/build/src/constants';
import type { AuthConfig, ImageSpec } from './types';

export interface ImageServiceOptions {
  /** registry domain → mirror base URL (http://127.0.0.1:5000) */
  mirrors?: Record<string, string>;
  insecureRegistries?: string[];
  /** who uses an image (CRI and Engine API containers): removal keeps such an image's layers */
  containerUsing: ContainerUsing;
}

const silent: ProgressSink = { status() {}, note() {}, bytes() {}, aux() {} };

/** A reference in full, as the CRI shows names: docker.io/library/busybox:latest. */
function fullName(name: string): string {
  try { return referenceString(parseReference(name)); } catch { return name; }
}

export class CriImages {
  constructor(private readonly store: ImageStore, private readonly opts: ImageServiceOptions) {}

  /** An image by name, full id, id prefix or digest reference; undefined when there is none. */
  find(spec: ImageSpec | null | undefined): ImageRecord | undefined {
    const name = spec?.image ?? '';
    if (!name) return undefined;
    return this.store.tryGet(name) ?? this.store.tryGet(name.replace(/^sha256:/, ''));
  }

  view(img: ImageRecord): Record<string, unknown> {
    const user = img.config.config?.User ?? '';
    const userPart = user.split(':')[0];
    const uid = /^\d+$/.test(userPart) ? { value: Number(userPart) } : null;
    return {
      id: img.id,
      repo_tags: img.repoTags.map(fullName),
      repo_digests: img.repoDigests.map(fullName),
      size: img.size,
      uid,
      username: uid ? '' : userPart,
      spec: { image: img.id, annotations: {}, user_specified_image: '', runtime_handler: '' },
      pinned: false,
    };
  }

  list(filter: { image: ImageSpec | null } | null): Record<string, unknown>[] {
    const want = filter?.image?.image;
    if (want) {
      const img = this.find(filter!.image);
      return img ? [this.view(img)] : [];
    }
    return this.store.list().map((i) => this.view(i));
  }

  status(spec: ImageSpec | null, verbose: boolean): Record<string, unknown> {
    if (!spec?.image) throw invalidArgument('image spec is required');
    const img = this.find(spec);
    if (!img) return { image: null, info: {} };
    const info: Record<string, string> = verbose ? { info: JSON.stringify({ imageSpec: img.config, chainID: img.chainIds[img.chainIds.length - 1] ?? '' }) } : {};
    return { image: this.view(img), info };
  }

  async pull(spec: ImageSpec | null, auth: AuthConfig | null): Promise<string> {
    if (!spec?.image) throw invalidArgument('image spec is required');
    let ref: Reference;
    try { ref = parseReference(spec.image); } catch (err) { throw invalidArgument(`failed to pull image ${JSON.stringify(spec.image)}: ${errorMessage(err)}`); }
    const credentials = auth && (auth.username || auth.auth || auth.identity_token || auth.registry_token)
      ? { username: auth.username || undefined, password: auth.password || undefined, auth: auth.auth || undefined,
        identitytoken: auth.identity_token || undefined, registrytoken: auth.registry_token || undefined, serveraddress: auth.server_address || undefined }
      : undefined;
    const mirror = this.opts.mirrors?.[ref.domain];
    const attempts: Array<RegistryEndpoint | undefined> = mirror ? [{ domain: ref.domain, baseUrl: mirror.replace(/\/+$/, ''), insecure: true }, undefined] : [undefined];
    let lastErr: unknown;
    for (const endpoint of attempts) {
      try {
        const { image } = await pullImage(this.store, ref, silent, { auth: credentials, insecureRegistries: this.opts.insecureRegistries, endpoint });
        return image.id;
      } catch (err) {
        lastErr = lastErr ?? err; // the mirror's answer says more than a registry this host cannot reach
      }
    }
    const msg = `failed to pull and unpack image "${referenceString(ref)}": ${errorMessage(lastErr)}`;
    const code = lastErr instanceof EngineError && lastErr.status === 404 ? Status.NOT_FOUND
      : lastErr instanceof EngineError && (lastErr.status === 401 || lastErr.status === 403) ? Status.PERMISSION_DENIED : Status.UNKNOWN;
    throw new CriError(code, msg);
  }

  /** Idempotent (an image already gone is not an error). Every name of the image goes; layers in use stay. */
  async remove(spec: ImageSpec | null): Promise<void> {
    if (!spec?.image) throw invalidArgument('image spec is required');
    const img = this.find(spec);
    if (!img) return;
    try {
      await this.store.remove(img.id, { force: true, noPrune: true, containerUsing: this.opts.containerUsing });
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) return;
      throw err;
    }
  }

  async fsInfo(timestamp: string): Promise<Record<string, unknown>> {
    let used = 0;
    const seen = new Set<string>();
    for (const img of this.store.list()) {
      for (const c of img.chainIds) {
        if (seen.has(c)) continue;
        seen.add(c);
        used += this.store.layerSize(c) ?? 0;
      }
    }
    const root = this.store.root;
    await fs.access(root).catch(() => { throw notFound(`image store ${root} is missing`); });
    const usage = { timestamp, fs_id: { mountpoint: root }, used_bytes: { value: used }, inodes_used: { value: seen.size } };
    return { image_filesystems: [usage], container_filesystems: [] };
  }
}
