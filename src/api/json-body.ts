// Reading and parsing the JSON body of a non-streaming request, bounded: a client may send anything, and
// nothing it sends may cost the daemon unbounded memory or a stack overflow (issue 16, API abuse).
import type { IncomingMessage } from 'http';
import { EngineError, errorMessage, invalidParameter } from '../common/errors';

/** The largest JSON body a non-streaming endpoint takes. Real create bodies are a few KiB; a long Env list a few
 * hundred KiB. Anything bigger is refused with 413 before it is held in memory. */
export const MAX_JSON_BODY = 16 << 20;

/** The deepest nesting of arrays and objects we parse. Docker's bodies nest fewer than 10 levels; Go's decoder stops
 * at 10000. Our consumers recurse (merges, clones, JSON.stringify when saving), so a body nested 100,000 deep
 * answered 500 "Maximum call stack size exceeded": refusing it up front makes it a 400. */
export const MAX_JSON_DEPTH = 512;

export const bodyTooLarge = () => new EngineError(413, `request body too large: the limit is ${MAX_JSON_BODY} bytes`);

/** Reads a request body up to `limit` bytes; more is a 413 (checked against Content-Length first, so a client that
 * announces a huge body is refused before it sends it). */
export async function readBoundedBody(req: IncomingMessage, limit = MAX_JSON_BODY, prefix?: Buffer): Promise<Buffer> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) { req.resume(); throw bodyTooLarge(); }
  const chunks: Buffer[] = prefix && prefix.length ? [prefix] : [];
  let size = prefix?.length ?? 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) { req.resume(); throw bodyTooLarge(); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The deepest nesting of `[`/`{` in a JSON text, strings skipped; stops counting once past `max`. */
export function jsonDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) { if (++depth > deepest) { deepest = depth; if (deepest > max) return deepest; } }
    else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return deepest;
}

/** False when `text` has at most `max` opening brackets, so it cannot nest deeper than `max`: the common case, found
 * with native indexOf scans (a 12 MiB body in a few ms) instead of the character loop of jsonDepth. */
function mayNestDeeper(text: string, max: number): boolean {
  let n = 0;
  for (const ch of ['[', '{']) {
    for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) if (++n > max) return true;
  }
  return false;
}

/** Parses a JSON body; an empty body is `{}` (docker's clients send none for many POSTs). */
export function parseJsonBody(buf: Buffer): unknown {
  const text = buf.toString('utf8').trim();
  if (!text) return {};
  if (mayNestDeeper(text, MAX_JSON_DEPTH) && jsonDepth(text) > MAX_JSON_DEPTH) throw invalidParameter(`invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${errorMessage(err)}`);
  }
}
