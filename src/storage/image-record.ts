// An image as the image store keeps it in memory: a type of its own, below the store and the API views
// (image-views.ts) that both use it, so neither imports the other.
import type { ImageConfigFile } from './image-config';

export interface ImageRecord {
  /** 'sha256:<hex>' of the config document. */
  id: string;
  /** Familiar 'name:tag', sorted. */
  repoTags: string[];
  /** Familiar 'name@sha256:…', sorted. */
  repoDigests: string[];
  /** RFC 3339 from the config ('' when the config has none). */
  created: string;
  config: ImageConfigFile;
  /** Bytes of file content over all layers. */
  size: number;
  /** Bottom layer first, like diffIds. */
  chainIds: string[];
  diffIds: string[];
  /** Image this one was built/committed from (local only). */
  parent?: string;
  lastTagTime?: string;
  /** Registry manifests known for this image (blobs in the store). */
  manifests?: ManifestRecord[];
}

/** A registry manifest known for an image (its blob is in the store). */
export interface ManifestRecord { digest: string; mediaType: string; size: number }
