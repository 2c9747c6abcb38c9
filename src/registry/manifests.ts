// Manifest parsing and validation for PUT: which of the four manifest kinds it is (OCI image manifest,
// OCI index, Docker schema2 manifest, Docker manifest list), that its descriptors are well formed, and
// what it references (blobs and child manifests, checked against the repository by the caller) and, for
// OCI 1.1, its subject. The bytes themselves are stored untouched: the digest is of what the client sent.
import { errs } from './errors';
import { looksLikeDigest, supportedDigest } from './names';
import type { ManifestMeta } from './repos';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const KNOWN = new Set<string>(Object.values(MediaType));
const SCHEMA1 = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
}

export interface ParsedManifest {
  meta: ManifestMeta;
  /** Blobs that must be in the repository (config and layers; layers with `urls` are foreign and exempt). */
  blobs: Descriptor[];
  /** Manifests that must be in the repository (an index's entries). */
  manifests: Descriptor[];
}

/** The media type without parameters ("; charset=utf-8"), which registries must ignore. */
export const bareType = (contentType: string | undefined) => (contentType ?? '').split(';')[0].trim().toLowerCase();

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errs.manifestInvalid({ reason: `not JSON: ${(err as Error).message}` });
  }
  if (!isObject(doc)) throw errs.manifestInvalid({ reason: 'not a JSON object' });
  const header = bareType(contentType);
  if (doc.schemaVersion === 1 || SCHEMA1.has(header)) throw errs.manifestInvalid({ reason: 'schema 1 manifests are not supported' });
  if (doc.schemaVersion !== 2) throw errs.manifestInvalid({ reason: 'schemaVersion must be 2' });

  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw errs.manifestInvalid({ reason: 'mediaType must be a string' });
  // The manifest's own mediaType wins; it must agree with a Content-Type that names a manifest type.
  if (declared && KNOWN.has(header) && declared !== header) {
    throw errs.manifestInvalid({ reason: `mediaType ${declared} does not match Content-Type ${header}` });
  }
  const mediaType = declared || (KNOWN.has(header) ? header : Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (!KNOWN.has(mediaType)) throw errs.manifestInvalid({ reason: `unsupported manifest media type ${mediaType}` });

  const meta: ManifestMeta = { mediaType, size: body.length };
  const isIndex = mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
  const isOci = mediaType === MediaType.ociManifest || mediaType === MediaType.ociIndex;
  const out: ParsedManifest = { meta, blobs: [], manifests: [] };

  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw errs.manifestInvalid({ reason: 'manifests must be an array' });
    if (doc.layers !== undefined || doc.config !== undefined) throw errs.manifestInvalid({ reason: 'an index has no config or layers' });
    doc.manifests.forEach((d, i) => out.manifests.push(descriptor(d, `manifests[${i}]`)));
  } else {
    if (doc.manifests !== undefined) throw errs.manifestInvalid({ reason: 'an image manifest has no manifests list' });
    const config = descriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw errs.manifestInvalid({ reason: 'layers must be an array' });
    out.blobs.push(config);
    doc.layers.forEach((d, i) => {
      const layer = descriptor(d, `layers[${i}]`);
      if (!layer.urls?.length) out.blobs.push(layer);
    });
    if (isOci) meta.artifactType = config.mediaType;
  }

  if (isOci) {
    if (doc.artifactType !== undefined) {
      if (typeof doc.artifactType !== 'string') throw errs.manifestInvalid({ reason: 'artifactType must be a string' });
      meta.artifactType = doc.artifactType;
    } else if (isIndex) {
      delete meta.artifactType;
    }
    if (doc.subject !== undefined) meta.subject = descriptor(doc.subject, 'subject').digest;
    if (doc.annotations !== undefined) {
      if (!isObject(doc.annotations) || !Object.values(doc.annotations).every((v) => typeof v === 'string')) {
        throw errs.manifestInvalid({ reason: 'annotations must map strings to strings' });
      }
      meta.annotations = doc.annotations as Record<string, string>;
    }
  }
  // artifactType and annotations only serve the referrers API: keep them for manifests with a subject.
  if (!meta.subject) { delete meta.artifactType; delete meta.annotations; }
  return out;
}

function descriptor(d: unknown, where: string): Descriptor {
  if (!isObject(d)) throw errs.manifestInvalid({ reason: `${where}: not a descriptor` });
  if (typeof d.mediaType !== 'string' || !d.mediaType) throw errs.manifestInvalid({ reason: `${where}: mediaType missing` });
  if (typeof d.digest !== 'string' || !looksLikeDigest(d.digest)) throw errs.manifestInvalid({ reason: `${where}: invalid digest` });
  if (!supportedDigest(d.digest)) throw errs.manifestInvalid({ reason: `${where}: unsupported digest algorithm` });
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw errs.manifestInvalid({ reason: `${where}: invalid size` });
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls) || !d.urls.every((u) => typeof u === 'string')) throw errs.manifestInvalid({ reason: `${where}: urls must be strings` });
    out.urls = d.urls as string[];
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
