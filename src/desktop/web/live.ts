// The page's one live connection: an EventSource on /api/stream that carries engine events, stats samples and
// the engine's up/down state. Everything live in the dashboard listens here; stats history is kept per
// container for as long as the page is open (10 minutes of samples), so charts have a past when they open.
import { json } from './api';
import { Store } from './store';

export interface StatSample { id: string; t: number; cpu: number; mem: number; memLimit: number; netRx: number; netTx: number; blkRead: number; blkWrite: number; pids: number }
export interface EngineEvent { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; time?: number; timeNano?: number; [k: string]: unknown }

export const engineState = new Store<{ up: boolean; message?: string; connected: boolean }>({ up: true, connected: false });
/** Bumped when the engine comes back: views reload what they show. */
export const engineEpoch = new Store(0);
export const latestStats = new Store(new Map<string, StatSample>());

const HISTORY = 600;
const history = new Map<string, StatSample[]>();
const eventListeners = new Set<(e: EngineEvent) => void>();
const statsListeners = new Set<(s: StatSample[]) => void>();
/** Recent events, newest last (the Events view shows them; kept while the page is open). */
export const recentEvents: EngineEvent[] = [];
const MAX_EVENTS = 2000;

let source: EventSource | undefined;
let pageId = '';
/** Stats wanted by each mounted view; the union is sent to the server. */
const wants = new Map<symbol, 'all' | string[]>();

export function connect(): void {
  if (source) return;
  source = new EventSource('/api/stream');
  source.addEventListener('hello', (ev) => {
    const d = JSON.parse((ev as MessageEvent).data) as { page: string; engine: { up: boolean; message?: string } };
    pageId = d.page;
    setEngine(d.engine, true);
    sendWants();
  });
  source.addEventListener('engine', (ev) => setEngine(JSON.parse((ev as MessageEvent).data), true));
  source.addEventListener('event', (ev) => {
    const e = JSON.parse((ev as MessageEvent).data) as EngineEvent;
    recentEvents.push(e);
    if (recentEvents.length > MAX_EVENTS) recentEvents.splice(0, recentEvents.length - MAX_EVENTS);
    for (const l of eventListeners) l(e);
  });
  source.addEventListener('stats', (ev) => {
    const items = JSON.parse((ev as MessageEvent).data) as StatSample[];
    const latest = latestStats.get();
    for (const s of items) {
      latest.set(s.id, s);
      let h = history.get(s.id);
      if (!h) history.set(s.id, (h = []));
      if (!h.length || h[h.length - 1].t < s.t) h.push(s);
      if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
    }
    latestStats.emit();
    for (const l of statsListeners) l(items);
  });
  // the dashboard server itself went away (stopped, restarted): EventSource reconnects by itself
  source.onerror = () => { if (engineState.get().connected) engineState.set({ ...engineState.get(), connected: false }); };
}

function setEngine(s: { up: boolean; message?: string }, connected: boolean): void {
  const was = engineState.get();
  engineState.set({ up: s.up, message: s.message, connected });
  if (s.up && (!was.up || !was.connected) && engineEpoch.get() >= 0) engineEpoch.set(engineEpoch.get() + 1);
}

function sendWants(): void {
  if (!pageId) return;
  let stats: 'none' | 'all' | string[] = 'none';
  const ids = new Set<string>();
  for (const w of wants.values()) {
    if (w === 'all') { stats = 'all'; break; }
    for (const id of w) ids.add(id);
  }
  if (stats !== 'all' && ids.size) stats = [...ids];
  json('/api/subscribe', { body: { page: pageId, stats } }).catch(() => undefined);
}

/** Asks for stats while a view is mounted; returns the function that withdraws the wish. */
export function wantStats(what: 'all' | string[]): () => void {
  const key = Symbol();
  wants.set(key, what);
  sendWants();
  return () => { wants.delete(key); sendWants(); };
}

export function onEvent(fn: (e: EngineEvent) => void): () => void {
  eventListeners.add(fn);
  return () => { eventListeners.delete(fn); };
}

export function onStats(fn: (s: StatSample[]) => void): () => void {
  statsListeners.add(fn);
  return () => { statsListeners.delete(fn); };
}

export function statsHistory(id: string): StatSample[] { return history.get(id) ?? []; }
