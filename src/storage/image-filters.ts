// Which images `GET /images/json` lists and `POST /images/prune` removes, with moby's filter semantics
// (daemon/images image_list.go and image_prune.go of the classic store) and its error texts:
//   list:  dangling, label, before, since (image references), reference (path.Match globs), until
//   prune: dangling (default true), label, label!, until
// Pure functions over the in-memory records, so they are unit-tested without a daemon.
import { invalidParameter } from '../common/errors';
import type { ImageRecord } from './images';
import { imageSummary, ImageSummary } from './image-views';
import { familiarRepository, parseReference } from './reference';

export type Filters = Record<string, string[]>;

export const LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];
export const PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'];

/** filters.Args.Validate. */
export function validateFilters(filters: Filters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!accepted.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

/** filters.Args.GetBoolOrDefault: '1'/'true' or '0'/'false'; anything else, or both, is an error. */
export function boolFilter(filters: Filters, key: string, dflt: boolean): boolean {
  const values = filters[key];
  if (values === undefined) return dflt;
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw invalidParameter(`invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}

/** filters.Args.MatchKVList: every "k" or "k=v" holds in `labels` (true when there are no such filters). */
export function matchKVList(values: string[] | undefined, labels: Record<string, string> | undefined): boolean {
  if (!values || values.length === 0) return true;
  if (!labels || Object.keys(labels).length === 0) return false;
  return values.every((v) => {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    return eq < 0 || labels[key] === v.slice(eq + 1);
  });
}

// ---- Go's path.Match ----

const badPattern = () => invalidParameter('syntax error in pattern');

/** Compiles a path.Match pattern ('*' and '?' stop at '/', classes, backslash escapes); throws on a bad one. */
export function compileGlob(pattern: string): RegExp {
  let re = '';
  const chars = [...pattern];
  let i = 0;
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const escClass = (c: string) => c.replace(/[\\\]^[-]/g, '\\$&');
  /** getEsc: one (possibly escaped) class character. */
  const classChar = (): string => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') throw badPattern();
    if (chars[i] === '\\') {
      i++;
      if (i >= chars.length) throw badPattern();
    }
    const c = chars[i++];
    if (i >= chars.length) throw badPattern();
    return c;
  };
  while (i < chars.length) {
    const c = chars[i];
    if (c === '*') { re += '[^/]*'; i++; continue; }
    if (c === '?') { re += '[^/]'; i++; continue; }
    if (c === '\\') {
      i++;
      if (i >= chars.length) throw badPattern();
      re += esc(chars[i++]);
      continue;
    }
    if (c === '[') {
      i++;
      let cls = '';
      if (chars[i] === '^') { cls = '^'; i++; }
      let ranges = 0;
      for (;;) {
        if (i < chars.length && chars[i] === ']' && ranges > 0) { i++; break; }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === '-') { i++; hi = classChar(); }
        // a reversed range matches nothing (JS would reject it; an empty class [] matches nothing too)
        if (hi.codePointAt(0)! >= lo.codePointAt(0)!) cls += hi === lo ? escClass(lo) : `${escClass(lo)}-${escClass(hi)}`;
        ranges++;
      }
      re += `[${cls}]`;
      continue;
    }
    re += esc(c);
    i++;
  }
  return new RegExp(`^${re}$`, 'u');
}

/** reference.FamiliarMatch: the pattern against 'name:tag' (or 'name@digest'), then against the name alone. */
export function familiarMatch(glob: RegExp, ref: string): boolean {
  if (glob.test(ref)) return true;
  try {
    return glob.test(familiarRepository(parseReference(ref)));
  } catch {
    return false;
  }
}

// ---- timestamps (api/types/time.GetTimestamp) ----

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** time.ParseDuration in milliseconds; undefined when `s` is not a duration. */
function parseDuration(s: string): number | undefined {
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return s === '0' ? 0 : undefined;
  let total = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += parseFloat(part[1]) * DURATION_UNITS[part[2]];
  return m[1] === '-' ? -total : total;
}

/** A filter time: a Go duration before `now`, an RFC 3339 date or date-time (local without a zone), or unix
 * seconds with an optional fraction. Returns milliseconds since the epoch. */
export function parseTimestamp(value: string, now: number = Date.now()): number {
  if (value !== '0') {
    const d = parseDuration(value);
    if (d !== undefined) return Math.floor((now - d) / 1000) * 1000;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (m) {
    const [, Y, Mo, D, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const ms = Math.floor(parseFloat(`0${frac || '.0'}`) * 1000);
    if (!zone) return new Date(+Y, +Mo - 1, +D, +h, +mi, +s, ms).getTime();
    const off = zone === 'Z' || zone === 'z' ? 0 : (zone[0] === '-' ? -1 : 1) * (parseInt(zone.slice(1, 3), 10) * 60 + parseInt(zone.slice(4), 10));
    return Date.UTC(+Y, +Mo - 1, +D, +h, +mi, +s, ms) - off * 60_000;
  }
  if (value.includes('-')) throw invalidParameter(`parsing time ${JSON.stringify(value)}: cannot parse ${JSON.stringify(value)} as "2006-01-02"`);
  if (!/^\d+(\.\d+)?$/.test(value)) throw invalidParameter(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return Math.floor(parseFloat(value) * 1000);
}

const createdMs = (img: ImageRecord): number | undefined => {
  const ms = Date.parse(img.created);
  return Number.isFinite(ms) ? ms : undefined;
};

// ---- listing ----

export interface ListContext {
  /** Resolves before=/since= references; throws docker's 404 for unknown ones. */
  get(ref: string): ImageRecord;
  /** Containers per image id, when the caller wants Containers counted (system df). */
  containers?: (imageId: string) => number;
  /** Fill in SharedSize (system df): bytes of layers this image shares with other images. */
  sharedSize?: (img: ImageRecord) => number;
  now?: number;
}

/** Images that have other images built on them (parents of local builds). */
export function childrenIndex(images: readonly ImageRecord[]): Set<string> {
  const parents = new Set<string>();
  for (const i of images) if (i.parent) parents.add(i.parent);
  return parents;
}

/** GET /images/json: filters applied, newest first, RepoTags/RepoDigests narrowed by reference=. */
export function listImages(images: readonly ImageRecord[], opts: { all?: boolean; filters?: Filters }, ctx: ListContext): ImageSummary[] {
  const filters = opts.filters ?? {};
  validateFilters(filters, LIST_FILTERS);
  const danglingOnly = boolFilter(filters, 'dangling', false);
  let before: number | undefined;
  let since: number | undefined;
  for (const ref of filters.before ?? []) {
    const t = createdMs(ctx.get(ref));
    if (t !== undefined && (before === undefined || t < before)) before = t;
  }
  for (const v of filters.until ?? []) {
    const t = parseTimestamp(v, ctx.now);
    if (before === undefined || t < before) before = t;
  }
  for (const ref of filters.since ?? []) {
    const t = createdMs(ctx.get(ref));
    if (t !== undefined && (since === undefined || t > since)) since = t;
  }
  const globs = filters.reference?.map(compileGlob);
  const parents = childrenIndex(images);

  const out: ImageSummary[] = [];
  for (const img of images) {
    if (danglingOnly && parents.has(img.id)) continue; // imageStore.Heads()
    const created = createdMs(img);
    if (before !== undefined && (created === undefined || created >= before)) continue;
    if (since !== undefined && (created === undefined || created <= since)) continue;
    if (filters.label && !matchKVList(filters.label, img.config.config?.Labels)) continue;
    const summary = imageSummary(img);
    if (globs) {
      summary.RepoTags = summary.RepoTags.filter((t) => globs.some((g) => familiarMatch(g, t)));
      summary.RepoDigests = summary.RepoDigests.filter((t) => globs.some((g) => familiarMatch(g, t)));
    }
    if (summary.RepoTags.length === 0 && summary.RepoDigests.length === 0) {
      if (!opts.all && parents.has(img.id)) continue; // an intermediate image
      if (filters.dangling && !danglingOnly) continue; // dangling=false
      if (globs) continue;
    } else if (danglingOnly && summary.RepoTags.length > 0) {
      continue;
    }
    if (ctx.containers) summary.Containers = ctx.containers(img.id);
    if (ctx.sharedSize) summary.SharedSize = ctx.sharedSize(img);
    out.push(summary);
  }
  return out.sort((a, b) => b.Created - a.Created);
}

// ---- pruning ----

/** The images `image prune` tries to remove, and by which names (moby deletes by each reference, or by id). */
export interface PruneCandidate { id: string; names: string[] }

/** POST /images/prune's selection; deleting (and skipping what is in use) is the caller's. */
export function pruneCandidates(images: readonly ImageRecord[], filters: Filters, now: number = Date.now()): PruneCandidate[] {
  validateFilters(filters, PRUNE_FILTERS);
  const danglingOnly = boolFilter(filters, 'dangling', true);
  const untilValues = filters.until ?? [];
  if (untilValues.length > 1) throw invalidParameter('more than one until filter specified');
  const until = untilValues.length ? parseTimestamp(untilValues[0], now) : undefined;
  const parents = childrenIndex(images);
  const out: PruneCandidate[] = [];
  for (const img of images) {
    if (danglingOnly && parents.has(img.id)) continue;
    const names = [...img.repoTags, ...img.repoDigests];
    if (names.length === 0 && parents.has(img.id)) continue;
    const created = createdMs(img);
    if (until !== undefined && (created === undefined || created > until)) continue;
    const labels = img.config.config?.Labels;
    if (!matchKVList(filters.label, labels)) continue;
    if (filters['label!'] && matchKVList(filters['label!'], labels)) continue;
    if (names.length > 0) {
      // with references: only when pruning everything, or when none of them is a tag
      if (danglingOnly && img.repoTags.length > 0) continue;
      out.push({ id: img.id, names });
    } else {
      out.push({ id: img.id, names: [img.id.slice('sha256:'.length)] });
    }
  }
  return out;
}
