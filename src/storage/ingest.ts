// One pass over an incoming layer tarball: the bytes as received go to a blob (kept for push/save), are
// decompressed, hashed into the diff id, and unpacked into the staging dir — no temp tarball, no second read.
import type { Readable } from 'stream';
import { BlobStore } from './blobs';
import { Compression } from './compression';
import { LayerBlob } from './layers';
import { unpackStream, UnpackOptions } from './unpack';

export const LAYER_MEDIA_TYPES: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  // no OCI media types exist for these; push must recompress them
  bzip2: 'application/x-bzip2',
  xz: 'application/x-xz',
};

/**
 * Normalizes any readable (string chunks included) to bytes. A Node stream is not destroyed when we stop early
 * (a bad archive): for an HTTP request that would kill the socket before the error response is written; Node's
 * server discards the unread rest of the body once the response ends.
 */
export async function* bytesOf(input: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  const readable = input as Partial<Readable>;
  const source = typeof readable.iterator === 'function'
    ? readable.iterator({ destroyOnReturn: false })
    : (input as AsyncIterable<Uint8Array | string>);
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

export interface IngestResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Bytes of file content. */
  size: number;
  entries: number;
  /** The stored tarball, exactly as received. */
  blob: LayerBlob;
}

export interface IngestOptions extends UnpackOptions {
  /** For pulls: the digest the registry promised; a mismatch fails the ingest and keeps nothing. */
  expectedDigest?: string;
}

/**
 * Reads `input` to its end into `diffDir` (an empty staging dir) and blobs/. On failure the blob is not kept;
 * the caller discards the staging dir. Storing and hashing the blob, decompression, the diff-id hash and the
 * unpacking all run in a worker thread (unpack.ts); this thread only reads `input`.
 */
export async function ingestLayer(input: AsyncIterable<Uint8Array>, diffDir: string, blobs: BlobStore, opts: IngestOptions = {}): Promise<IngestResult> {
  const { expectedDigest, ...unpackOpts } = opts;
  const writer = await blobs.createWriter();
  try {
    const unpacked = await unpackStream(input, diffDir, { ...unpackOpts, decompress: true, hash: true, blobFd: writer.fd });
    writer.written(unpacked.blob!);
    const blob = await writer.commit(expectedDigest);
    return {
      diffId: unpacked.diffId!,
      size: unpacked.size,
      entries: unpacked.entries,
      blob: { ...blob, mediaType: LAYER_MEDIA_TYPES[unpacked.compression] },
    };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
