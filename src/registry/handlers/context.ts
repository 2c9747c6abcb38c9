// What every handler gets: the registry state and the request/response pair with its parsed URL.
import type { IncomingMessage, ServerResponse } from 'http';
import type { Registry } from '../registry';
import { errs } from '../errors';
import { looksLikeDigest, supportedDigest } from '../names';

export interface Ctx {
  reg: Registry;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

/**
 * A digest from the URL or query. Malformed → DIGEST_INVALID; well-formed but of an algorithm this
 * registry does not store → `unsupported` decides (usually "unknown": it cannot be here).
 */
export function checkDigest(s: string | null | undefined, unsupported: () => Error = () => errs.digestInvalid({ digest: s, reason: 'unsupported algorithm' })): string {
  if (!s || !looksLikeDigest(s)) throw errs.digestInvalid({ digest: s ?? null, reason: 'malformed digest' });
  if (!supportedDigest(s)) throw unsupported();
  return s;
}

/** "<digest>" as an entity tag, and whether an If-None-Match header matches it. */
export const etag = (digest: string) => `"${digest}"`;
export function notModified(c: Ctx, digest: string): boolean {
  const inm = c.req.headers['if-none-match'];
  if (!inm) return false;
  return inm.split(',').some((t) => { const v = t.trim().replace(/^W\//, ''); return v === etag(digest) || v === digest || v === '*'; });
}
