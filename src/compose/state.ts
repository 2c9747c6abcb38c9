// What exists on the daemon for a project, found by compose's labels (so containers Docker Compose created are
// found too), and a watcher of the daemon's container events that healthy/completed waits subscribe to instead
// of polling.
import type { Client, ContainerSummary, ContainerInspect } from '../client';
import type { Readable } from 'stream';
import type { Progress } from './progress';
import type { Project } from './types';
import { L } from './convert';

/** What a compose operation works with. */
export interface ComposeEnv {
  client: Client;
  project: Project;
  progress: Progress;
  out(s: string): void;
  err(s: string): void;
  /** stdout is a terminal (colours, log prefixes). */
  tty: boolean;
  /** The CLI's build-context packer (the context dir as a tar stream, .dockerignore applied). */
  packContext?: (dir: string, dockerfile: string) => Promise<Readable>;
  /** X-Registry-Auth value for an image reference (from the user's docker config). */
  registryAuth?: (ref: string) => Promise<string | undefined>;
}

/** A failure the CLI prints as-is with the exit status. */
export class ComposeError extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
    this.name = 'ComposeError';
  }
}

export const filters = (f: Record<string, string[]>) => JSON.stringify(f);

/** The project's containers (all states); `oneoff`: include `run` containers. */
export async function projectContainers(c: Client, project: string, opts: { all?: boolean; oneoff?: boolean; services?: string[] } = {}): Promise<ContainerSummary[]> {
  const label = [`${L.project}=${project}`];
  if (!opts.oneoff) label.push(`${L.oneoff}=False`);
  const list = await c.containerList({ all: opts.all !== false ? '1' : undefined, filters: filters({ label }) });
  const wanted = opts.services?.length ? new Set(opts.services) : undefined;
  return list.filter((x) => !wanted || wanted.has(x.Labels?.[L.service] ?? '')).sort(byServiceAndNumber);
}

export const serviceOf = (c: ContainerSummary) => c.Labels?.[L.service] ?? '';
export const numberOf = (c: ContainerSummary) => parseInt(c.Labels?.[L.number] ?? '0', 10) || 0;
export function nameOf(c: ContainerSummary | ContainerInspect): string {
  const names = (c as ContainerSummary).Names;
  return (names?.length ? names[0] : (c as ContainerInspect).Name ?? '').replace(/^\//, '');
}

function byServiceAndNumber(a: ContainerSummary, b: ContainerSummary): number {
  const s = serviceOf(a).localeCompare(serviceOf(b));
  return s || numberOf(a) - numberOf(b) || nameOf(a).localeCompare(nameOf(b));
}

/** Progress id of a container ("Container p-web-1"). */
export const containerId = (name: string) => `Container ${name}`;

// ------------------------------------------------------------------------------------------------ events

export interface ContainerEvent { id: string; action: string; attributes: Record<string, string>; /** ms since the epoch (0: unknown) */ time: number }

/**
 * One GET /events stream for the project's containers; waiters register a predicate per container id. Start it
 * before inspecting the state you wait on, so no event falls between the inspect and the subscription.
 */
export class EventWatcher {
  private waiters = new Set<(e: ContainerEvent) => void>();
  private res?: import('http').IncomingMessage;
  private ready?: Promise<void>;

  constructor(private client: Client, private project: string) {}

  start(): Promise<void> {
    if (this.ready) return this.ready;
    const since = Math.floor(Date.now() / 1000) - 1;
    this.ready = this.client.events({ since: String(since), filters: filters({ type: ['container'], label: [`${L.project}=${this.project}`] }) }).then((res) => {
      this.res = res;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          try {
            const m = JSON.parse(line) as { id?: string; Action?: string; status?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; time?: number; timeNano?: number };
            const time = m.timeNano ? m.timeNano / 1e6 : (m.time ?? 0) * 1000;
            const e: ContainerEvent = { id: m.Actor?.ID ?? m.id ?? '', action: m.Action ?? m.status ?? '', attributes: m.Actor?.Attributes ?? {}, time };
            for (const w of [...this.waiters]) w(e);
          } catch { /* not an event */ }
        }
      });
      res.on('error', () => undefined);
    });
    return this.ready;
  }

  /** Resolves with the first event for which `fn` returns true. */
  until(fn: (e: ContainerEvent) => boolean): { promise: Promise<ContainerEvent>; cancel(): void } {
    let waiter!: (e: ContainerEvent) => void;
    const promise = new Promise<ContainerEvent>((resolve) => {
      waiter = (e) => { if (fn(e)) { this.waiters.delete(waiter); resolve(e); } };
      this.waiters.add(waiter);
    });
    return { promise, cancel: () => this.waiters.delete(waiter) };
  }

  close(): void {
    this.res?.destroy();
  }
}
