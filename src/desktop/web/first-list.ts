// The containers list's plain logic, without the DOM or Preact (the unit tests run it in Node): taking the list
// the server wrote into the HTML (server/first-page.ts) and merging a new list into the one shown.
import type { ContainerSummary } from '../../client/types';

export const HELPER_LABEL = 'com.berth.desktop.helper';
export const FIRST_DATA_ID = 'first-containers';

/** The dashboard's own helper containers (volume browsing) are not shown. */
export const visible = (c: ContainerSummary) => !c.Labels?.[HELPER_LABEL];

interface DataBlocks { getElementById(id: string): { textContent: string | null; remove(): void } | null }

/** The list written into the HTML (a JSON data block, never run), taken once. */
export function takeFirstList(doc: DataBlocks): ContainerSummary[] | undefined {
  const el = doc.getElementById(FIRST_DATA_ID);
  if (!el) return undefined;
  el.remove();
  try {
    const v = JSON.parse(el.textContent ?? '') as unknown;
    return Array.isArray(v) ? (v as ContainerSummary[]) : undefined;
  } catch {
    return undefined;
  }
}

/** The new list as a Map, reusing the previous object of every container whose JSON did not change (its row is
 * then not rendered again). */
export function mergeList(prev: Map<string, ContainerSummary>, list: ContainerSummary[]): Map<string, ContainerSummary> {
  const map = new Map<string, ContainerSummary>();
  for (const c of list) {
    if (!visible(c)) continue;
    const old = prev.get(c.Id);
    map.set(c.Id, old && JSON.stringify(old) === JSON.stringify(c) ? old : c);
  }
  return map;
}
