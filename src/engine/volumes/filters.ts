// The `filters` of GET /volumes (dangling, driver, label, name) and POST /volumes/prune (label, label!, all),
// with docker's validation and matching rules: name matches as a regular expression (or exactly), driver exactly,
// labels as key or key=value.
import { invalidParameter } from '../../common/errors';
import { boolFilter, matchKVList, validateFilters } from '../../storage/image-filters';
import type { VolumeRecord } from './store';

type Filters = Record<string, string[]>;

const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

/** filters.Args.Match: an exact value, or any value that, as a regular expression, matches. */
function matchAny(values: string[] | undefined, s: string): boolean {
  if (!values?.length) return true;
  return values.some((v) => {
    if (v === s) return true;
    try { return new RegExp(v).test(s); } catch { return false; }
  });
}

/** A predicate for GET /volumes; `inUse` answers dangling. Throws docker's errors for bad filters. */
export function listFilter(f: Filters, inUse: (name: string) => boolean): (v: VolumeRecord) => boolean {
  validateFilters(f, LIST_FILTERS);
  let dangling: boolean | undefined;
  if (f.dangling) {
    if (!f.dangling.every((x) => ['true', '1', 'false', '0'].includes(x))) throw invalidParameter(`invalid filter 'dangling=[${f.dangling.join(' ')}]'`);
    dangling = boolFilter(f, 'dangling', false);
  }
  return (v) => {
    if (f.driver?.length && !f.driver.includes(v.Driver)) return false;
    if (!matchAny(f.name, v.Name)) return false;
    if (!matchKVList(f.label, v.Labels ?? undefined)) return false;
    if (dangling !== undefined && dangling === inUse(v.Name)) return false;
    return true;
  };
}

/** POST /volumes/prune: whether `all` volumes are candidates, and the label predicate. Clients before API 1.42
 * knew no anonymous-only pruning: for them every unused volume is a candidate, as the daemon then did. */
export function pruneFilter(f: Filters, apiVersionBefore142: boolean): { all: boolean; match: (v: VolumeRecord) => boolean } {
  validateFilters(f, PRUNE_FILTERS);
  const all = apiVersionBefore142 || boolFilter(f, 'all', false);
  const match = (v: VolumeRecord) => {
    const labels = v.Labels ?? undefined;
    if (!matchKVList(f.label, labels)) return false;
    if (f['label!']?.length && f['label!'].some((x) => matchKVList([x], labels))) return false;
    return true;
  };
  return { all, match };
}
