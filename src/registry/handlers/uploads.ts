// Blob pushes: POST /v2/<name>/blobs/uploads/ (monolithic with ?digest=, cross-repository ?mount=, or a
// new session), PATCH (a chunk), PUT ?digest= (finish, optionally with the last chunk), GET (where the
// session stands, so a client can resume) and DELETE (cancel). Nothing becomes a blob until its bytes
// hash to the digest the client named: a mismatch answers DIGEST_INVALID and leaves nothing behind.
import { promises as fs } from 'fs';
import { Ctx, checkDigest } from './context';
import { errs, RegistryError } from '../errors';
import { send, hasBody, header } from '../http';
import { parseContentRange, uploadRange } from '../range';
import { receiveBlob, Session, Chunk } from '../uploads';
import { validName } from '../names';

const blobLocation = (name: string, digest: string) => `/v2/${name}/blobs/${digest}`;
const sessionLocation = (s: Session) => `/v2/${s.repo}/blobs/uploads/${s.uuid}`;

function sessionHeaders(s: Session) {
  return { Location: sessionLocation(s), Range: uploadRange(s.size), 'Docker-Upload-UUID': s.uuid };
}

function created(c: Ctx, name: string, digest: string): void {
  send(c.res, 201, { Location: blobLocation(name, digest), 'Docker-Content-Digest': digest });
}

export async function startUpload(c: Ctx, name: string): Promise<void> {
  const q = c.url.searchParams;
  const mount = q.get('mount');
  if (mount !== null) {
    const from = q.get('from') ?? undefined;
    if (from !== undefined && !validName(from)) throw errs.nameInvalid({ name: from });
    const digest = checkDigest(mount);
    if (await c.reg.mount(name, digest, from)) { created(c, name, digest); return; }
    // not mountable: fall through to an ordinary session, as the spec asks
  } else if (q.has('digest')) {
    const want = checkDigest(q.get('digest'));
    await monolithic(c, name, want);
    return;
  }
  const s = await c.reg.uploads.create(name);
  send(c.res, 202, sessionHeaders(s));
}

/** POST ?digest=: the whole blob in one request, staged in tmp/ and adopted only if it verifies. */
async function monolithic(c: Ctx, name: string, want: string): Promise<void> {
  const file = c.reg.blobs.tempFile();
  try {
    const got = await receiveBlob(c.req, file);
    const declared = header(c.req, 'content-length');
    if (declared !== undefined && Number(declared) !== got.size) throw errs.sizeInvalid({ expected: Number(declared), received: got.size });
    if (got.digest !== want) throw errs.digestInvalid({ expected: want, actual: got.digest });
    await c.reg.commitBlob(name, file, want, got.size);
  } finally {
    await fs.rm(file, { force: true }); // no-op after a successful adopt (renamed away)
  }
  created(c, name, want);
}

function session(c: Ctx, name: string, uuid: string): Session {
  const s = c.reg.uploads.get(name, uuid);
  if (!s) throw errs.uploadUnknown({ uuid });
  return s;
}

/** The chunk a PATCH or PUT carries, with its Content-Range checked for form and length. */
function chunkOf(c: Ctx): Chunk {
  const cr = parseContentRange(header(c.req, 'content-range'));
  if (cr === null) throw errs.uploadInvalid({ reason: `malformed Content-Range ${header(c.req, 'content-range')}` });
  const len = header(c.req, 'content-length');
  const length = len === undefined ? undefined : Number(len);
  if (cr && length !== undefined && cr.end - cr.start + 1 !== length) {
    throw errs.sizeInvalid({ reason: 'Content-Range does not match Content-Length', range: `${cr.start}-${cr.end}`, length });
  }
  return { body: c.req, start: cr?.start, length: cr ? cr.end - cr.start + 1 : length };
}

/** A 416 tells the client where the session really is, so it can continue from there. */
function withSessionHeaders(err: unknown, s: Session): unknown {
  if (err instanceof RegistryError && err.status === 416) Object.assign(err.headers, sessionHeaders(s));
  return err;
}

export async function patchUpload(c: Ctx, name: string, uuid: string): Promise<void> {
  const s = session(c, name, uuid);
  try {
    await c.reg.uploads.append(s, chunkOf(c));
  } catch (err) {
    throw withSessionHeaders(err, s);
  }
  send(c.res, 202, sessionHeaders(s));
}

export async function putUpload(c: Ctx, name: string, uuid: string): Promise<void> {
  const s = session(c, name, uuid);
  const want = checkDigest(c.url.searchParams.get('digest'));
  let done: { file: string; digest: string; size: number };
  try {
    done = await c.reg.uploads.complete(s, hasBody(c.req) ? chunkOf(c) : undefined);
  } catch (err) {
    throw withSessionHeaders(err, s);
  }
  try {
    if (done.digest !== want) throw errs.digestInvalid({ expected: want, actual: done.digest });
    await c.reg.commitBlob(name, done.file, want, done.size);
  } finally {
    await c.reg.uploads.discard(s);
  }
  created(c, name, want);
}

export function getUpload(c: Ctx, name: string, uuid: string): void {
  const s = session(c, name, uuid);
  send(c.res, 204, sessionHeaders(s));
}

export async function deleteUpload(c: Ctx, name: string, uuid: string): Promise<void> {
  const s = session(c, name, uuid);
  await c.reg.uploads.discard(s);
  send(c.res, 204, {});
}
