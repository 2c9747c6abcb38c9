// Listings: GET /v2/<name>/tags/list, GET /v2/_catalog (both paginated with ?n= and ?last= and an RFC 8288
// Link header to the next page) and GET /v2/<name>/referrers/<digest> (OCI 1.1, optional artifactType
// filter). All answered from memory.
import { Ctx, checkDigest } from './context';
import { errs } from '../errors';
import { sendJson, Headers } from '../http';
import { byteOrder } from '../repos';
import { MediaType } from '../manifests';

/** The most repositories one catalog page lists (CNCF distribution's default maxEntries). A larger `n`, or none,
 * gets this many and a Link to the rest: one request cannot make the server list (and the client swallow) a
 * registry of any size at once (CVE-2017-11468). */
export const MAX_CATALOG_PAGE = 1000;

/** One page of a sorted list after `last`, at most `n` (and `max`) entries; `next` is set when more remain. */
function page(sorted: string[], c: Ctx, max = Infinity): { items: string[]; next?: { n: number; last: string } } {
  const q = c.url.searchParams;
  const nRaw = q.get('n');
  const last = q.get('last');
  let n = max;
  if (nRaw !== null && nRaw !== '') {
    if (!/^\d+$/.test(nRaw)) throw errs.paginationInvalid({ n: nRaw });
    n = Math.min(Number(nRaw), max);
  }
  let from = 0;
  if (last) {
    // binary search for the first entry after `last`
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (byteOrder(sorted[mid], last) <= 0) lo = mid + 1; else hi = mid; }
    from = lo;
  }
  if (n === 0) return { items: [] };
  const items = sorted.slice(from, from + n);
  const more = from + items.length < sorted.length;
  return more && items.length ? { items, next: { n, last: items[items.length - 1] } } : { items };
}

function link(path: string, next: { n: number; last: string } | undefined): Headers {
  if (!next) return {};
  return { Link: `<${path}?n=${next.n}&last=${encodeURIComponent(next.last)}>; rel="next"` };
}

export function listTags(c: Ctx, name: string): void {
  const repo = c.reg.repo(name);
  if (!repo) throw errs.nameUnknown({ name });
  const p = page([...repo.tags.keys()].sort(byteOrder), c);
  sendJson(c.res, 200, { name, tags: p.items }, link(`/v2/${name}/tags/list`, p.next));
}

export function catalog(c: Ctx): void {
  const p = page(c.reg.repos.names(), c, MAX_CATALOG_PAGE);
  sendJson(c.res, 200, { repositories: p.items }, link('/v2/_catalog', p.next));
}

export function referrers(c: Ctx, name: string, ref: string): void {
  const digest = checkDigest(ref);
  const repo = c.reg.repo(name);
  if (!repo) throw errs.nameUnknown({ name });
  const filter = c.url.searchParams.get('artifactType');
  const manifests: unknown[] = [];
  for (const d of [...(repo.referrers.get(digest) ?? [])].sort(byteOrder)) {
    const meta = repo.manifests.get(d);
    if (!meta || (filter && meta.artifactType !== filter)) continue;
    const desc: Record<string, unknown> = { mediaType: meta.mediaType, digest: d, size: meta.size };
    if (meta.artifactType) desc.artifactType = meta.artifactType;
    if (meta.annotations) desc.annotations = meta.annotations;
    manifests.push(desc);
  }
  const headers: Headers = { 'Content-Type': MediaType.ociIndex };
  if (filter) headers['OCI-Filters-Applied'] = 'artifactType';
  sendJson(c.res, 200, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }, headers);
}
