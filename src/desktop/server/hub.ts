// One server-sent-event stream per open page, multiplexing what changes on its own: engine events, stats
// samples and the engine's up/down state. The hub holds one engine /events stream and one stats stream per
// container that some page watches — opened when the first page wants them, closed when the last page goes,
// so a closed dashboard costs the server nothing.
import type { IncomingMessage, ServerResponse } from 'http';
import { randomBytes } from 'crypto';
import { Client, JsonStreamParser } from '../../client';
import { compactStats, StatSample } from './stats';

/** What a page wants stats for: nothing, every running container (the list), or some containers (a detail page). */
export type StatsWant = 'none' | 'all' | string[];

interface Page {
  id: string;
  res: ServerResponse;
  want: StatsWant;
}

export interface EngineState { up: boolean; message?: string }

const RETRY_MS = 2000;
const FLUSH_MS = 1000;
/** A page that cannot keep up (a stalled tab) is dropped rather than buffered without bound. */
const MAX_BUFFERED = 8 << 20;

export class Hub {
  private readonly pages = new Map<string, Page>();
  private events?: IncomingMessage;
  private opening = false;
  private retryTimer?: NodeJS.Timeout;
  private engine: EngineState = { up: true };
  /** Running containers, kept from the event stream (full ids). */
  private running = new Set<string>();
  private readonly statStreams = new Map<string, IncomingMessage>();
  private pending = new Map<string, StatSample>();
  private flushTimer?: NodeJS.Timeout;
  /** Listeners inside the server (the builds log, tests) for raw engine events. */
  private readonly listeners = new Set<(e: Record<string, unknown>) => void>();

  constructor(private readonly client: Client) {}

  get pageCount(): number { return this.pages.size; }
  get statStreamCount(): number { return this.statStreams.size; }
  get engineState(): EngineState { return this.engine; }
  get eventsOpen(): boolean { return !!this.events; }

  /** Opens a page's SSE stream; it ends when the page closes the connection. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    const page: Page = { id: randomBytes(9).toString('base64url'), res, want: 'none' };
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.socket?.setNoDelay(true);
    this.pages.set(page.id, page);
    send(page, 'hello', { page: page.id, engine: this.engine });
    const gone = () => {
      if (!this.pages.delete(page.id)) return;
      this.reconcile();
    };
    req.on('close', gone);
    res.on('close', gone);
    this.ensureEvents();
  }

  /** Changes what a page wants stats for; false when the page is unknown (closed). */
  subscribe(pageId: string, want: StatsWant): boolean {
    const page = this.pages.get(pageId);
    if (!page) return false;
    page.want = want;
    this.reconcile();
    return true;
  }

  onEvent(fn: (e: Record<string, unknown>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Ends every page stream and engine stream (server shutdown). */
  close(): void {
    for (const p of this.pages.values()) p.res.end();
    this.pages.clear();
    this.reconcile();
  }

  // --------------------------------------------------------------------------------------- engine events

  private ensureEvents(): void {
    if (this.events || this.opening || this.pages.size === 0 || this.retryTimer) return;
    this.opening = true;
    this.openEvents().finally(() => { this.opening = false; });
  }

  private async openEvents(): Promise<void> {
    let res: IncomingMessage;
    try {
      // the engine may be an older dockerd (or have been replaced while down): agree on the API version first
      await this.client.negotiateVersion();
      res = await this.client.events({});
      const list = await this.client.containerList({});
      this.running = new Set(list.map((c) => c.Id));
    } catch (err) {
      this.engineDown((err as Error).message);
      return;
    }
    if (this.pages.size === 0) { res.destroy(); return; }
    this.events = res;
    if (!this.engine.up) this.setEngine({ up: true });
    const parser = new JsonStreamParser((v) => this.onEngineEvent(v as Record<string, unknown>));
    res.on('data', (c: Buffer) => {
      try { parser.push(c); } catch { res.destroy(); }
    });
    const ended = () => {
      if (this.events !== res) return;
      this.events = undefined;
      if (this.pages.size > 0) this.engineDown('the engine closed the event stream');
    };
    res.on('end', ended);
    res.on('close', ended);
    res.on('error', ended);
    this.reconcile();
  }

  private engineDown(message: string): void {
    this.setEngine({ up: false, message });
    this.running.clear();
    this.reconcile();
    if (this.pages.size > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.ensureEvents();
      }, RETRY_MS);
    }
  }

  private setEngine(state: EngineState): void {
    this.engine = state;
    this.broadcast('engine', state);
  }

  private onEngineEvent(e: Record<string, unknown>): void {
    for (const fn of this.listeners) fn(e);
    if (e.Type === 'container') {
      const id = String((e.Actor as { ID?: string } | undefined)?.ID ?? e.id ?? '');
      const action = String(e.Action ?? e.status ?? '');
      if (action === 'start' || action === 'unpause' || action === 'restart') this.running.add(id);
      else if (action === 'die' || action === 'destroy' || action === 'stop') this.running.delete(id);
      if (action === 'start' || action === 'die' || action === 'destroy' || action === 'stop') this.reconcile();
    }
    // exec_* and health_status events carry a colon suffix and are many; pages get them all the same
    this.broadcast('event', e);
  }

  // --------------------------------------------------------------------------------------- stats

  /** Opens and closes engine streams so that exactly what some page wants is open. */
  private reconcile(): void {
    if (this.pages.size === 0) {
      if (this.events) { const ev = this.events; this.events = undefined; ev.destroy(); }
      if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = undefined; }
    }
    const wanted = new Set<string>();
    for (const p of this.pages.values()) {
      if (p.want === 'all') for (const id of this.running) wanted.add(id);
      else if (Array.isArray(p.want)) for (const id of p.want) if (this.running.has(id)) wanted.add(id);
    }
    for (const [id, stream] of this.statStreams) {
      if (!wanted.has(id)) { this.statStreams.delete(id); stream.destroy(); }
    }
    for (const id of wanted) if (!this.statStreams.has(id)) this.openStats(id);
    if (this.statStreams.size === 0 && this.flushTimer) { clearInterval(this.flushTimer); this.flushTimer = undefined; }
  }

  private openStats(id: string): void {
    // placeholder while the request is on its way, so a second reconcile does not open another
    const placeholder = { dead: false, destroy() { placeholder.dead = true; } } as unknown as IncomingMessage & { dead: boolean };
    this.statStreams.set(id, placeholder);
    this.client.containerStats(id, true).then((res) => {
      if (this.statStreams.get(id) !== placeholder || placeholder.dead) { res.destroy(); return; }
      this.statStreams.set(id, res);
      const parser = new JsonStreamParser((v) => { this.pending.set(id, compactStats(id, v)); });
      res.on('data', (c: Buffer) => { try { parser.push(c); } catch { res.destroy(); } });
      const ended = () => { if (this.statStreams.get(id) === res) this.statStreams.delete(id); };
      res.on('end', ended);
      res.on('close', ended);
      res.on('error', ended);
    }, () => {
      if (this.statStreams.get(id) === placeholder) this.statStreams.delete(id);
    });
    if (!this.flushTimer) this.flushTimer = setInterval(() => this.flushStats(), FLUSH_MS);
  }

  private flushStats(): void {
    if (this.pending.size === 0) return;
    const samples = this.pending;
    this.pending = new Map();
    for (const p of this.pages.values()) {
      if (p.want === 'none') continue;
      const items = p.want === 'all' ? [...samples.values()] : p.want.map((id) => samples.get(id)).filter((s): s is StatSample => !!s);
      if (items.length) send(p, 'stats', items);
    }
  }

  private broadcast(name: string, data: unknown): void {
    for (const p of this.pages.values()) send(p, name, data);
  }
}

function send(page: Page, name: string, data: unknown): void {
  if (page.res.writableLength > MAX_BUFFERED) { page.res.destroy(); return; }
  page.res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}
