// Media types of Docker's and OCI's image formats, the manifest and index documents, and their parsing with
// clear errors. Parsing checks what a pull relies on (schemaVersion, descriptors' digest/size/mediaType) and
// keeps every other field as received; the bytes themselves stay the source of truth (their digest is the id).
import { EngineError } from '../common/errors';
import { parseConfigFile, ImageConfigFile } from '../storage/image-config';
import { schema1Error } from './errors';

export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  InTotoLayer: 'application/vnd.in-toto+json',
} as const;

/** The Accept header for manifest requests: every manifest and index format this client can use. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest,
].join(', ');

export const isIndexMediaType = (t: string | undefined) => t === MediaType.OciIndex || t === MediaType.DockerManifestList;
export const isImageManifestMediaType = (t: string | undefined) => t === MediaType.OciManifest || t === MediaType.DockerManifest;
export const isSchema1MediaType = (t: string | undefined) => t === MediaType.DockerSchema1 || t === MediaType.DockerSchema1Signed;
export const isConfigMediaType = (t: string | undefined) => t === MediaType.DockerConfig || t === MediaType.OciConfig;

/** Layer media types an image can hold, with how they are compressed. Undefined for non-layers. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' | undefined {
  switch (mediaType) {
    case MediaType.DockerLayer: case MediaType.DockerForeignLayer: case MediaType.OciLayerGzip: case MediaType.OciLayerNonDistributableGzip:
      return 'gzip';
    case MediaType.OciLayerZstd: case MediaType.OciLayerNonDistributableZstd:
      return 'zstd';
    case MediaType.OciLayer: case MediaType.OciLayerNonDistributable:
      return 'none';
  }
  return undefined;
}

/** Foreign/non-distributable layers are not pushed (their bytes come from `urls`). */
export const isForeignLayer = (mediaType: string) => mediaType === MediaType.DockerForeignLayer || mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.');

export interface PlatformSpec {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  data?: string;
}

export interface ManifestDescriptor extends Descriptor {
  platform?: PlatformSpec;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ManifestIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: ManifestDescriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ManifestIndex };

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

const invalid = (what: string, detail: string) => new EngineError(500, `invalid ${what}: ${detail}`);

function parseJsonObject(bytes: Uint8Array | string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw invalid(what, (err as Error).message);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(what, 'not a JSON object');
  return doc as Record<string, unknown>;
}

/** Checks one descriptor ({mediaType, digest, size}); `where` names it in errors ('layers[2]'). */
export function validateDescriptor(d: unknown, what: string, where: string): Descriptor {
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw invalid(what, `${where} is not an object`);
  const x = d as Record<string, unknown>;
  if (typeof x.mediaType !== 'string' || x.mediaType === '') throw invalid(what, `${where}.mediaType is missing`);
  if (typeof x.digest !== 'string' || !DIGEST_RE.test(x.digest)) throw invalid(what, `${where}.digest ${JSON.stringify(x.digest)} is not a digest`);
  if (x.digest.startsWith('sha256:') && !SHA256_RE.test(x.digest)) throw invalid(what, `${where}.digest ${JSON.stringify(x.digest)} is not a sha256 digest`);
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) throw invalid(what, `${where}.size must be a non-negative integer`);
  if (x.urls !== undefined && (!Array.isArray(x.urls) || x.urls.some((u) => typeof u !== 'string'))) throw invalid(what, `${where}.urls must be a list of strings`);
  if (x.platform !== undefined) {
    const p = x.platform as Record<string, unknown> | null;
    if (!p || typeof p !== 'object' || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw invalid(what, `${where}.platform needs os and architecture`);
    }
  }
  return x as unknown as Descriptor;
}

function checkSchemaVersion(doc: Record<string, unknown>, what: string): void {
  if (doc.schemaVersion === 1) throw schema1Error();
  if (doc.schemaVersion !== 2) throw invalid(what, `unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
}

/** An OCI image manifest or Docker schema 2 manifest. */
export function parseImageManifest(bytes: Uint8Array | string): ImageManifest {
  const doc = parseJsonObject(bytes, 'manifest');
  checkSchemaVersion(doc, 'manifest');
  if (doc.mediaType !== undefined && !isImageManifestMediaType(doc.mediaType as string)) {
    throw invalid('manifest', `unexpected mediaType ${JSON.stringify(doc.mediaType)}`);
  }
  validateDescriptor(doc.config, 'manifest', 'config');
  if (!Array.isArray(doc.layers)) throw invalid('manifest', 'layers must be a list');
  doc.layers.forEach((l, i) => validateDescriptor(l, 'manifest', `layers[${i}]`));
  if (doc.subject !== undefined) validateDescriptor(doc.subject, 'manifest', 'subject');
  return doc as unknown as ImageManifest;
}

/** An OCI image index or Docker manifest list. */
export function parseManifestIndex(bytes: Uint8Array | string): ManifestIndex {
  const doc = parseJsonObject(bytes, 'manifest list');
  checkSchemaVersion(doc, 'manifest list');
  if (doc.mediaType !== undefined && !isIndexMediaType(doc.mediaType as string)) {
    throw invalid('manifest list', `unexpected mediaType ${JSON.stringify(doc.mediaType)}`);
  }
  if (!Array.isArray(doc.manifests)) throw invalid('manifest list', 'manifests must be a list');
  doc.manifests.forEach((m, i) => validateDescriptor(m, 'manifest list', `manifests[${i}]`));
  return doc as unknown as ManifestIndex;
}

/**
 * The media type of manifest bytes: the document's own mediaType, else the Content-Type the registry sent
 * (unless generic), else guessed from the shape (manifests → OCI index, config+layers → OCI manifest).
 */
export function detectManifestMediaType(bytes: Uint8Array | string, contentType?: string): string {
  const ct = contentType?.split(';')[0].trim().toLowerCase();
  let doc: Record<string, unknown> | undefined;
  try { doc = parseJsonObject(bytes, 'manifest'); } catch { doc = undefined; }
  if (doc && typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  if (ct && ct !== 'application/json' && ct !== 'text/plain' && ct !== 'application/octet-stream') return ct;
  if (doc?.schemaVersion === 1) return doc.signatures ? MediaType.DockerSchema1Signed : MediaType.DockerSchema1;
  if (doc && Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc && doc.config !== undefined) return MediaType.OciManifest;
  return ct ?? '';
}

/** Parses manifest bytes of any supported kind. Schema 1 is refused with docker's text; unknown kinds too. */
export function parseManifest(bytes: Uint8Array | string, mediaType?: string): ParsedManifest {
  const mt = mediaType && mediaType !== 'application/json' ? mediaType : detectManifestMediaType(bytes, mediaType);
  if (isSchema1MediaType(mt)) throw schema1Error();
  if (isIndexMediaType(mt)) return { kind: 'index', mediaType: mt, index: parseManifestIndex(bytes) };
  if (isImageManifestMediaType(mt)) return { kind: 'manifest', mediaType: mt, manifest: parseImageManifest(bytes) };
  throw new EngineError(400, `unsupported media type ${mt}`);
}

/** The image config document (the storage layer's checks: rootfs, os, architecture). */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfigFile {
  return parseConfigFile(bytes);
}
