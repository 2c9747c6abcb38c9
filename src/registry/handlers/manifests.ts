// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<tag-or-digest>. A manifest is served with the media type it
// was pushed with and its digest; a PUT is validated (JSON, kind, descriptors, referenced content present
// in the repository) before anything is written.
import { createHash } from 'crypto';
import { Ctx, checkDigest, etag, notModified } from './context';
import { errs } from '../errors';
import { send, readBody, header } from '../http';
import { validTag } from '../names';
import { parseManifest } from '../manifests';

/** OCI asks registries to accept at least 4 MiB; CNCF distribution's limit is the same. */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** A reference from the URL: a digest (contains ':') or a tag, each checked against its grammar. */
function reference(ref: string, onBadTag: () => Error): string {
  if (ref.includes(':')) return checkDigest(ref, () => errs.manifestUnknown({ digest: ref }));
  if (!validTag(ref)) throw onBadTag();
  return ref;
}

export async function getManifest(c: Ctx, name: string, rawRef: string, head: boolean): Promise<void> {
  const ref = reference(rawRef, () => errs.manifestUnknown({ tag: rawRef }));
  const found = c.reg.resolveManifest(name, ref);
  if (!found) throw errs.manifestUnknown(ref.includes(':') ? { digest: ref } : { tag: ref });
  const { digest, meta } = found;
  const headers = { 'Content-Type': meta.mediaType, 'Docker-Content-Digest': digest, ETag: etag(digest), 'Content-Length': meta.size };
  if (notModified(c, digest)) { send(c.res, 304, headers); return; }
  if (head) { send(c.res, 200, headers); return; }
  send(c.res, 200, headers, await c.reg.manifestBytes(digest));
}

export async function putManifest(c: Ctx, name: string, rawRef: string): Promise<void> {
  const ref = reference(rawRef, () => errs.tagInvalid({ tag: rawRef }));
  const body = await readBody(c.req, MAX_MANIFEST_BYTES);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const byDigest = ref.includes(':');
  if (byDigest && ref !== digest) throw errs.digestInvalid({ expected: ref, actual: digest });
  const parsed = parseManifest(body, header(c.req, 'content-type'));
  await c.reg.putManifest(name, digest, body, parsed, byDigest ? undefined : ref);
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  // OCI 1.1: tells the client we index the subject, so it need not maintain a referrers tag itself.
  if (parsed.meta.subject) headers['OCI-Subject'] = parsed.meta.subject;
  send(c.res, 201, headers);
}

export async function deleteManifest(c: Ctx, name: string, rawRef: string): Promise<void> {
  const ref = reference(rawRef, () => errs.manifestUnknown({ tag: rawRef }));
  await c.reg.deleteManifest(name, ref);
  send(c.res, 202, {});
}
