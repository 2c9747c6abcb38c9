// GET /containers/{id}/stats: Docker's frames over time. A streaming client gets one object a second, the first
// with an empty precpu_stats; stream=false waits for a second sample so the one answer has both (the docker CLI's
// `stats --no-stream` computes CPU % from them); one-shot answers at once. A stopped container yields frames
// with only its name and id; a removed one ends the stream.
import { ContainerCgroup, hostSupport } from '../../runtime/cgroups';
import { OpenFiles, emptyStats, readSample, Sample, StatsJSON, statsJson, stringifyStats } from '../../runtime/stats';
import type { ContainerRecord } from './types';

const INTERVAL_MS = 1000;
/** /proc/stat is read at most this often: every container sampled in the same tick shares one read. */
const PROC_STAT_TTL_MS = 50;

export interface StatsOptions { stream: boolean; oneShot: boolean }

/** What the stats reader needs from the engine. */
export interface StatsHost {
  exists(id: string): boolean;
  cgroupPath(rec: ContainerRecord): string;
}

const isRunning = (rec: ContainerRecord) => rec.State.Status === 'running' || rec.State.Status === 'paused';

export class ContainerStatsReader {
  private procStat?: { at: number; text: Promise<string> };
  private readonly system = new OpenFiles();

  constructor(private readonly host: StatsHost) {}

  private systemStat(): Promise<string> {
    const now = Date.now();
    if (!this.procStat || now - this.procStat.at > PROC_STAT_TTL_MS) {
      this.procStat = { at: now, text: this.system.read('/proc/stat').then((t) => t ?? '') };
    }
    return this.procStat.text;
  }

  /**
   * One sample of a running container; undefined when it is not running (or stopped while being read).
   * `files` keeps the container's files open between the samples of one stream.
   */
  async sample(rec: ContainerRecord, files?: OpenFiles): Promise<Sample | undefined> {
    if (!isRunning(rec)) return undefined;
    const own = files ?? new OpenFiles();
    try {
      const procStat = await this.systemStat();
      const s = await readSample(new ContainerCgroup(this.host.cgroupPath(rec)), {
        pid: rec.State.Pid,
        // with --network host the namespace's counters are the host's: Docker reports no networks then
        network: rec.HostConfig.NetworkMode !== 'host',
        procStat,
        machineMemory: hostSupport().machineMemory,
        read: own.read,
      });
      // nothing readable: the cgroup is gone or not made yet; look again from scratch next time
      if (!s) own.reset();
      return s;
    } finally {
      if (!files) own.close();
    }
  }

  /** Writes Docker's stats frames for `rec` through `emit` (one JSON text each) until done or `signal` aborts. */
  async run(rec: ContainerRecord, opts: StatsOptions, emit: (json: string) => void, signal: AbortSignal): Promise<void> {
    const frame = (s: StatsJSON) => emit(stringifyStats(s) + '\n');
    if (!isRunning(rec) && !opts.stream) return frame(emptyStats(rec.Name, rec.Id));
    if (opts.oneShot) {
      const s = await this.sample(rec);
      return frame(s ? statsJson(rec.Name, rec.Id, s) : emptyStats(rec.Name, rec.Id));
    }
    const files = new OpenFiles();
    let pid = rec.State.Pid;
    let prev: Sample | undefined;
    let primed = false;
    try {
      for (;;) {
        if (signal.aborted || !this.host.exists(rec.Id)) break;
        const started = Date.now();
        if (rec.State.Pid !== pid) { files.reset(); pid = rec.State.Pid; } // restarted: a new cgroup, a new init
        const s = await this.sample(rec, files);
        if (signal.aborted) break;
        if (s) {
          const out = statsJson(rec.Name, rec.Id, s, prev);
          prev = s;
          if (opts.stream) frame(out);
          else if (primed) { frame(out); break; }
          // stream=false answers with the second sample, so that its precpu_stats are filled
          primed = true;
        } else {
          // not running: name and id only; the frame right after a stop still carries the last CPU figures
          const empty = emptyStats(rec.Name, rec.Id);
          if (prev) { empty.precpu_stats = prev.cpu_stats; empty.preread = prev.read; }
          prev = undefined;
          frame(empty);
          if (!opts.stream) break;
        }
        await sleep(Math.max(0, INTERVAL_MS - (Date.now() - started)), signal);
      }
    } finally {
      files.close();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
