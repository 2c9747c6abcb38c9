// Logs of several containers interleaved line by line, each line prefixed with the container's short name
// ("web-1  | …", padded to the longest, coloured per service on a terminal), as `logs` and attached `up` print.
import type { ContainerSummary } from '../client';
import { StdcopyDemuxer } from '../client';
import type { ComposeEnv } from './state';
import { nameOf, serviceOf } from './state';
import { L } from './convert';

// compose's rainbow (cmd/formatter/colors.go): foreground colours, normal then bright
const COLORS = ['36', '33', '32', '35', '34', '96', '93', '92', '95', '94'];

export interface LogOptions {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
  until?: string;
  noPrefix?: boolean;
  /** Print a container's output from now on only (containers that were already running in `up`). */
  sinceNow?: Set<string>;
  color?: boolean;
}

/** The name shown in prefixes: `service-N`, or the custom container_name. */
export function displayName(c: ContainerSummary, project: string): string {
  const name = nameOf(c);
  const dflt = `${project}-${serviceOf(c)}-${c.Labels?.[L.number] ?? ''}`;
  return name === dflt ? name.slice(project.length + 1) : name;
}

export class LogPrinter {
  private width = 0;
  private colors = new Map<string, string>();

  constructor(private env: ComposeEnv, private o: LogOptions, names: string[]) {
    this.width = Math.max(0, ...names.map((n) => n.length));
  }

  prefix(name: string, service: string): string {
    if (this.o.noPrefix) return '';
    if (!this.colors.has(service)) this.colors.set(service, COLORS[this.colors.size % COLORS.length]);
    const text = `${name.padEnd(this.width)}  | `;
    return this.o.color ? `\x1b[${this.colors.get(service)}m${text}\x1b[0m` : text;
  }

  /** A line-buffered writer for one container's stream. */
  writer(name: string, service: string, err = false): { write(b: Buffer | string): void; flush(): void } {
    let pending = '';
    const out = (s: string) => (err ? this.env.err(s) : this.env.out(s));
    return {
      write: (b) => {
        pending += typeof b === 'string' ? b : b.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          out(this.prefix(name, service) + pending.slice(0, nl + 1));
          pending = pending.slice(nl + 1);
        }
      },
      flush: () => { if (pending) { out(this.prefix(name, service) + pending + '\n'); pending = ''; } },
    };
  }

  /** Notes printed between log lines ("web-1 exited with code 0"). */
  note(text: string): void { this.env.out(text + '\n'); }
}

/** Streams the logs of `containers` until they end (follow: until each container stops). */
export async function streamLogs(env: ComposeEnv, containers: ContainerSummary[], o: LogOptions, printer?: LogPrinter,
  onEnd?: (c: ContainerSummary) => void): Promise<void> {
  const names = containers.map((c) => displayName(c, env.project.name));
  const pr = printer ?? new LogPrinter(env, o, names);
  const nowS = String(Math.floor(Date.now() / 1000));
  await Promise.all(containers.map(async (c, i) => {
    const info = await env.client.containerInspect(c.Id).catch(() => undefined);
    if (!info) return;
    const tty = !!info.Config?.Tty;
    const res = await env.client.containerLogs(c.Id, {
      stdout: '1', stderr: '1', follow: o.follow ? '1' : undefined, tail: o.tail || 'all',
      timestamps: o.timestamps ? '1' : undefined,
      since: o.sinceNow?.has(c.Id) ? nowS : o.since, until: o.until,
    }).catch(() => undefined);
    if (!res) return;
    const svc = serviceOf(c);
    const out = pr.writer(names[i], svc);
    const err = pr.writer(names[i], svc, true);
    const demux = tty ? undefined : new StdcopyDemuxer((b) => out.write(b), (b) => err.write(b));
    await new Promise<void>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        if (!demux) { out.write(chunk); return; }
        try { demux.push(chunk); } catch { res.destroy(); }
      });
      const done = () => { out.flush(); err.flush(); resolve(); };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    onEnd?.(c);
  }));
}
