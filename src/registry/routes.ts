// URL → endpoint. Repository names contain slashes (a/b/c), so a path is matched from its end: the last
// one or two segments say which endpoint it is, everything before them is the name. The name is checked
// against the grammar here, once, for every endpoint that has one.
import { errs } from './errors';
import { validName } from './names';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; ref: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploadStart'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: Array<[RegExp, (name: string, arg: string) => Route]> = [
  [/^(.+)\/tags\/list$/, (name) => ({ kind: 'tags', name })],
  [/^(.+)\/manifests\/([^/]+)$/, (name, ref) => ({ kind: 'manifest', name, ref })],
  [/^(.+)\/blobs\/uploads\/?$/, (name) => ({ kind: 'uploadStart', name })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (name, uuid) => ({ kind: 'upload', name, uuid })],
  [/^(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: 'blob', name, digest })],
  [/^(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: 'referrers', name, digest })],
];

/** The endpoint for a request path, or undefined when there is none. Throws NAME_INVALID for bad names. */
export function route(pathname: string): Route | undefined {
  let p: string;
  try {
    p = decodeURIComponent(pathname); // some clients escape the ':' of digests
  } catch {
    return undefined;
  }
  if (p === '/v2' || p === '/v2/') return { kind: 'base' };
  if (!p.startsWith('/v2/')) return undefined;
  const rest = p.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [re, make] of PATTERNS) {
    const m = re.exec(rest);
    if (!m) continue;
    if (!validName(m[1])) throw errs.nameInvalid({ name: m[1] });
    return make(m[1], m[2]);
  }
  return undefined;
}
