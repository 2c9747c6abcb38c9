// Streams docker's JSON progress messages for /images/create and /images/{name}/push. The HTTP response
// starts with the first message, not before: an error that happens before anything was said (an unknown
// manifest, refused credentials) still gets a plain HTTP status, as with dockerd. Byte-count updates are
// throttled so a fast loopback pull does not turn into a flood of tiny writes.
import type { ServerResponse } from 'http';
import type { ProgressMessage, ProgressSink } from '../engine/images/progress';

const THROTTLE_MS = 100;

/** The bar docker's daemon puts in `progress` for old clients (new ones draw it from progressDetail). */
export function progressBar(current: number, total: number): string {
  const human = (n: number) => (n < 1000 ? `${n}B` : n < 1e6 ? `${(n / 1e3).toFixed(3).replace(/\.?0+$/, '')}kB` : n < 1e9 ? `${(n / 1e6).toFixed(3).replace(/\.?0+$/, '')}MB` : `${(n / 1e9).toFixed(3).replace(/\.?0+$/, '')}GB`);
  if (total <= 0) return human(current);
  const pct = Math.min(50, Math.floor((current / total) * 50));
  return `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] ${human(current)}/${human(total)}`;
}

export class StreamProgress implements ProgressSink {
  private started = false;
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly res: ServerResponse, private readonly headers: Record<string, string> = {}) {}

  get hasStarted(): boolean {
    return this.started;
  }

  status(status: string, id?: string): void {
    this.send({ status, ...(id ? { id, progressDetail: {} } : {}) });
  }

  note(status: string, id: string): void {
    this.send({ status, id });
  }

  bytes(status: string, id: string, current: number, total: number): void {
    const now = Date.now();
    if (current < total && now - (this.lastSent.get(id) ?? 0) < THROTTLE_MS) return;
    this.lastSent.set(id, now);
    this.send({ status, id, progressDetail: { current, total }, progress: progressBar(current, total) });
  }

  aux(value: unknown): void {
    this.send({ progressDetail: {}, aux: value });
  }

  /** Ends the stream with an error message (after it started) — docker clients print errorDetail.message. */
  fail(message: string): void {
    this.send({ errorDetail: { message }, error: message });
    this.res.end();
  }

  end(): void {
    if (!this.started) this.start();
    this.res.end();
  }

  private start(): void {
    this.started = true;
    this.res.writeHead(200, { ...this.headers, 'Content-Type': 'application/json' });
  }

  private send(m: ProgressMessage): void {
    if (!this.started) this.start();
    if (!this.res.writableEnded) this.res.write(JSON.stringify(m) + '\r\n');
  }
}

