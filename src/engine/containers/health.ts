// Healthchecks: the image's HEALTHCHECK or --health-*, run as exec probes inside the running container, with
// Docker's state machine (starting → healthy/unhealthy, failing streak, start period, a log of the last five
// probes) and its health_status events. The monitor follows container start/die events, so the container
// lifecycle code knows nothing about it.
import { PassThrough } from 'stream';
import { errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import type { EventBus } from '../events';
import type { ExecEngine } from '../exec/exec';
import type { ContainerRecord, HealthConfig, HealthState } from './types';

const NS = 1_000_000; // nanoseconds per millisecond
const DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };
const LOG_ENTRIES = 5;
const OUTPUT_LIMIT = 4096;

/** The probe's argv; undefined when there is no healthcheck (none configured, or NONE). */
export function probeCommand(hc: HealthConfig | undefined): string[] | undefined {
  const test = hc?.Test ?? [];
  if (!test.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  if (test[0] === 'CMD-SHELL') return test.length > 1 ? ['/bin/sh', '-c', test[1]] : undefined;
  return undefined;
}

/** Docker's rule when merging: the container's healthcheck wins field by field; empty Test and zero durations inherit. */
export function mergeHealthcheck(container: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!container) return image;
  if (!image) return container;
  return {
    Test: container.Test?.length ? container.Test : image.Test,
    Interval: container.Interval || image.Interval,
    Timeout: container.Timeout || image.Timeout,
    StartPeriod: container.StartPeriod || image.StartPeriod,
    StartInterval: container.StartInterval || image.StartInterval,
    Retries: container.Retries || image.Retries,
  };
}

/** What ps appends to "Up 3 seconds". */
export function healthSuffix(h: HealthState | undefined): string {
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : h.Status === 'healthy' ? ' (healthy)' : h.Status === 'unhealthy' ? ' (unhealthy)' : '';
}

/** Splits a stdcopy stream (non-TTY exec) into text; stdout and stderr both count as the probe's output. */
function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return out;
}

interface Watch { timer?: NodeJS.Timeout; stopped: boolean; startedAt: number }

export interface HealthDeps {
  execs: ExecEngine;
  events: EventBus;
  get(id: string): ContainerRecord | undefined;
  /** persists the record (health status changes are durable, like the rest of State) */
  save(rec: ContainerRecord): Promise<void>;
}

export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly deps: HealthDeps) {
    deps.events.on('event', (ev: { Type: string; Action: string; Actor: { ID: string } }) => {
      if (ev.Type !== 'container') return;
      if (ev.Action === 'start') this.watch(ev.Actor.ID, true);
      else if (ev.Action === 'die' || ev.Action === 'destroy') this.unwatch(ev.Actor.ID);
    });
  }

  /** Starts probing a running container; `fresh` (a start) resets its health to "starting". */
  watch(id: string, fresh: boolean): void {
    const rec = this.deps.get(id);
    if (!rec || !probeCommand(rec.Config.Healthcheck)) return;
    this.unwatch(id);
    if (fresh || !rec.State.Health) rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    const w: Watch = { stopped: false, startedAt: Date.now() };
    this.watches.set(id, w);
    this.schedule(id, w);
  }

  unwatch(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.watches.delete(id);
  }

  close(): void { for (const id of [...this.watches.keys()]) this.unwatch(id); }

  private settings(rec: ContainerRecord) {
    const hc = rec.Config.Healthcheck ?? {};
    const ms = (v: number | undefined, d: number) => (v && v > 0 ? v / NS : d);
    return {
      interval: ms(hc.Interval, DEFAULTS.interval), timeout: ms(hc.Timeout, DEFAULTS.timeout),
      startPeriod: ms(hc.StartPeriod, DEFAULTS.startPeriod), startInterval: ms(hc.StartInterval, DEFAULTS.startInterval),
      retries: hc.Retries && hc.Retries > 0 ? hc.Retries : DEFAULTS.retries,
    };
  }

  private schedule(id: string, w: Watch): void {
    const rec = this.deps.get(id);
    if (!rec || w.stopped) return;
    const s = this.settings(rec);
    const inStartPeriod = Date.now() - w.startedAt < s.startPeriod;
    // the faster start interval applies while the container is still starting up (Docker 25+)
    const delay = inStartPeriod && rec.Config.Healthcheck?.StartInterval ? s.startInterval : s.interval;
    w.timer = setTimeout(() => {
      this.probe(id, w).catch((e) => log.warn('healthcheck failed to run', { id, error: errorMessage(e) }))
        .finally(() => this.schedule(id, w));
    }, delay);
    w.timer.unref();
  }

  private async probe(id: string, w: Watch): Promise<void> {
    const rec = this.deps.get(id);
    const cmd = rec ? probeCommand(rec.Config.Healthcheck) : undefined;
    if (!rec || !cmd || w.stopped || rec.State.Status !== 'running') return;
    const s = this.settings(rec);
    const start = new Date();
    const { exitCode, output } = await this.run(rec, cmd, s.timeout);
    if (w.stopped || rec.State.Status !== 'running') return;
    const h = rec.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    h.Log = [...h.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output }].slice(-LOG_ENTRIES);
    const before = h.Status;
    if (exitCode === 0) {
      h.Status = 'healthy';
      h.FailingStreak = 0;
    } else if (Date.now() - w.startedAt >= s.startPeriod || before !== 'starting') {
      // failures inside the start period do not count, as long as the container never was healthy
      h.FailingStreak++;
      if (h.FailingStreak >= s.retries) h.Status = 'unhealthy';
    }
    rec.State.Health = h;
    if (h.Status !== before) {
      await this.deps.save(rec).catch((e) => log.warn('saving health status failed', { id, error: errorMessage(e) }));
      // the container's labels go with it, as with dockerd's container events (compose filters on them)
      this.deps.events.emitEvent('container', `health_status: ${h.Status}`, rec.Id, { image: rec.ImageRef, name: rec.Name.slice(1), ...rec.Config.Labels });
    }
  }

  /** One probe as an exec: its exit code and first 4 KiB of output; a timeout kills it (exit -1, Docker's text). */
  private async run(rec: ContainerRecord, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const { Id } = this.deps.execs.create(rec.Id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    let size = 0;
    sink.on('data', (c: Buffer) => { if (size < OUTPUT_LIMIT * 2) { chunks.push(c); size += c.length; } });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; this.deps.execs.kill(Id); }, timeoutMs);
    try {
      await this.deps.execs.start(Id, { detach: false, tty: false }, sink);
    } finally {
      clearTimeout(timer);
    }
    const code = (this.deps.execs.inspect(Id) as { ExitCode: number | null }).ExitCode ?? -1;
    this.deps.execs.forget(Id);
    if (timedOut) return { exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    return { exitCode: code, output: demux(Buffer.concat(chunks)).slice(0, OUTPUT_LIMIT) };
  }
}
