// GET/HEAD/DELETE /v2/<name>/blobs/<digest>. Downloads stream from the file in pooled chunks with
// backpressure from the socket (sendfile.ts), never buffering a blob; a single Range is honoured (206) so clients
// can resume an interrupted pull.
import { promises as fs } from 'fs';
import { Ctx, checkDigest, etag, notModified } from './context';
import { errs } from '../errors';
import { send, Headers, header } from '../http';
import { parseRange } from '../range';
import { sendRange } from '../sendfile';

export async function getBlob(c: Ctx, name: string, ref: string, head: boolean): Promise<void> {
  const digest = checkDigest(ref, () => errs.blobUnknown({ digest: ref }));
  const size = await c.reg.blobSize(name, digest);
  if (size === undefined) throw errs.blobUnknown({ digest });
  const headers: Headers = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: etag(digest),
    'Accept-Ranges': 'bytes',
    // content-addressed: the bytes behind this URL never change
    'Cache-Control': 'max-age=31536000',
  };
  if (notModified(c, digest)) { send(c.res, 304, headers); return; }

  // If-Range with another validator means "the thing changed, send it all"; ours never changes.
  const ifRange = header(c.req, 'if-range');
  const range = ifRange && ifRange !== etag(digest) ? undefined : parseRange(header(c.req, 'range'), size);
  if (range === 'unsatisfiable') {
    send(c.res, 416, { ...headers, 'Content-Range': `bytes */${size}` });
    return;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : size - 1;
  headers['Content-Length'] = end - start + 1;
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  const status = range ? 206 : 200;
  if (head || end < start) { send(c.res, status, headers); return; }

  let fh: fs.FileHandle;
  try {
    fh = await fs.open(c.reg.blobs.path(digest), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errs.blobUnknown({ digest });
    throw err;
  }
  c.res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  try {
    await sendRange(fh, c.res, start, end);
  } catch {
    c.res.destroy(); // the client went away mid-download (or the file was cut short): end the connection
  } finally {
    await fh.close();
  }
}

export async function deleteBlob(c: Ctx, name: string, ref: string): Promise<void> {
  const digest = checkDigest(ref, () => errs.blobUnknown({ digest: ref }));
  await c.reg.deleteBlob(name, digest);
  send(c.res, 202, { 'Docker-Content-Digest': digest });
}
