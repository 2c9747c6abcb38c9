// The containers the page knows, kept current by engine events rather than polling: one full list when the
// page opens (the one the server wrote into the HTML, server/first-page.ts; else fetched) and again when the
// event stream (re)connects, then, for each container event, a fetch of just the containers it names (batched
// per animation frame) — or their removal on "destroy". A container that did not change keeps its object, so
// its row is not rendered again.
import type { ContainerSummary } from '../../client/types';
import { engine } from './api';
import { mergeList, takeFirstList, visible } from './first-list';
import { engineEpoch, onEvent } from './live';
import { Store } from './store';

export const containers = new Store(new Map<string, ContainerSummary>());
export const containersLoaded = new Store<{ loaded: boolean; error?: string }>({ loaded: false });
/** Ids removed while the page was open (a detail page shows "removed" for them). */
export const removed = new Set<string>();

function setList(list: ContainerSummary[]): void {
  containers.set(mergeList(containers.get(), list));
  containersLoaded.set({ loaded: true });
}

export async function loadContainers(): Promise<void> {
  try {
    setList(await engine<ContainerSummary[]>('GET', '/containers/json?all=1'));
  } catch (err) {
    containersLoaded.set({ loaded: containersLoaded.get().loaded, error: (err as Error).message });
  }
}

let pending = new Set<string>();
let scheduled = false;

async function refresh(ids: string[]): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ id: ids }));
  let list: ContainerSummary[];
  try {
    list = await engine<ContainerSummary[]>('GET', `/containers/json?all=1&filters=${filters}`);
  } catch {
    return;
  }
  // a new Map each time: views memoise on the map's identity
  const map = new Map(containers.get());
  const found = new Set(list.map((c) => c.Id));
  for (const c of list) if (visible(c)) map.set(c.Id, c);
  for (const id of ids) if (!found.has(id)) { map.delete(id); removed.add(id); }
  containers.set(map);
}

function schedule(id: string): void {
  pending.add(id);
  if (scheduled) return;
  scheduled = true;
  const run = () => {
    scheduled = false;
    const ids = [...pending];
    pending = new Set();
    refresh(ids);
  };
  // rAF is paused in background tabs: fall back to a timer so the list is current when the tab returns
  if (document.visibilityState === 'visible') requestAnimationFrame(run); else setTimeout(run, 100);
}

let started = false;
export function startContainers(): void {
  if (started) return;
  started = true;
  const first = takeFirstList(document);
  if (first) setList(first); else loadContainers();
  engineEpoch.subscribe(() => loadContainers());
  onEvent((e) => {
    if (e.Type !== 'container') return;
    const id = e.Actor?.ID ?? '';
    const action = String(e.Action ?? '');
    if (!id || action.startsWith('exec_') || action === 'top' || action.startsWith('archive-path')) return;
    if (action === 'destroy') {
      removed.add(id);
      if (containers.get().has(id)) {
        const map = new Map(containers.get());
        map.delete(id);
        containers.set(map);
      }
      return;
    }
    schedule(id);
  });
}
