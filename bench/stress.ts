// Stress gate, in the spirit of containerd-stress: N workers loop container lifecycles through the Engine API for
// T seconds — create/start/wait/delete, and every other iteration create/start/exec/delete — against berth and,
// on the same loop, a private Debian dockerd (its own data root, exec root, pidfile, socket and bridge). Reports
// lifecycles per second, latency percentiles per step, failures, and each daemon's RSS, open fds and threads
// after the warm-up and at the end (growth = a leak). test/faults/stress-gate.test.ts runs a short version in CI.
//
//   node build/bench/stress.js                      4 workers, 300 s, berth then dockerd (`npm run bench stress`)
//   STRESS_WORKERS=2 STRESS_SECONDS=20 STRESS_TARGETS=berth node build/bench/stress.js
//   STRESS_EXEC=0: no exec iterations; STRESS_JSON=file: the results as JSON too.
import * as http from 'http';
import * as os from 'os';
import { readFileSync, readdirSync, writeFileSync } from 'fs';
import { TestDaemon, sleep } from '../test/helpers/daemon';
import { Dockerd } from './lib';

export interface StressOptions {
  workers: number;
  seconds: number;
  /** seconds of load before the first resource sample (JIT, pools and caches fill up first) */
  warmupSeconds: number;
  /** every other iteration runs an exec in the container */
  exec: boolean;
  image?: string;
  /** keep warming up (10 s at a time) until RSS plateaus, at most this long in all (default: warmupSeconds) */
  maxWarmupSeconds?: number;
  /** how long the daemon idles before each resource sample (default 8) */
  idleSeconds?: number;
  /** resource samples during the run (default: 10 per run) */
  sampleEverySeconds?: number;
}

export interface ProcSample { rssKiB: number; fds: number; threads: number }

export interface StressResult {
  target: string;
  iterations: number;
  failures: number;
  failureSamples: string[];
  seconds: number;
  opsPerSecond: number;
  /** per step ('create', 'start', 'wait', 'exec', 'delete', 'iteration'): p50/p95/p99/max in ms */
  latency: Record<string, { n: number; p50: number; p95: number; p99: number; max: number }>;
  start: ProcSample;
  end: ProcSample;
  /** seconds of warm-up it took for RSS to plateau */
  warmupSeconds: number;
  /** RSS/fds/threads over the measured time, one sample per `sampleEverySeconds` */
  timeline: ProcSample[];
  leftoverContainers: number;
  loadAvg: { start: number[]; end: number[] };
}

/** One API connection pool on a unix socket; JSON in, JSON out. */
class Api {
  private agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  constructor(private readonly socket: string) {}

  call(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request({ socketPath: this.socket, agent: this.agent, method, path, timeout: timeoutMs,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void { this.agent.destroy(); }
}

export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rssKiB: parseInt(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0', 10),
    threads: parseInt(/Threads:\s+(\d+)/.exec(status)?.[1] ?? '0', 10),
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

const pct = (sorted: number[], p: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;

/** Runs the loop against the daemon on `socket` whose process is `pid`. */
export async function runStress(target: string, socket: string, pid: number, opts: StressOptions): Promise<StressResult> {
  const api = new Api(socket);
  const image = opts.image ?? 'busybox';
  const times: Record<string, number[]> = { create: [], start: [], wait: [], exec: [], delete: [], iteration: [] };
  const failureSamples: string[] = [];
  let failures = 0;
  let iterations = 0;
  let measuring = false;
  const expect = (r: { status: number; body: any }, status: number[], what: string) => {
    if (!status.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`.slice(0, 300));
    return r.body;
  };
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = process.hrtime.bigint();
    const v = await fn();
    if (measuring) times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    return v;
  };

  const lifecycle = async (withExec: boolean) => {
    let id: string | undefined;
    try {
      id = (await step('create', async () => expect(await api.call('POST', '/containers/create',
        { Image: image, Cmd: withExec ? ['sleep', '60'] : ['true'], HostConfig: {} }), [201], 'create')) as { Id: string }).Id;
      await step('start', async () => expect(await api.call('POST', `/containers/${id}/start`), [204], 'start'));
      if (withExec) {
        await step('exec', async () => {
          const ex = expect(await api.call('POST', `/containers/${id}/exec`, { Cmd: ['true'], AttachStdout: false, AttachStderr: false }), [201], 'exec create') as { Id: string };
          expect(await api.call('POST', `/exec/${ex.Id}/start`, { Detach: true }), [200, 204], 'exec start');
          for (let k = 0; ; k++) {
            const info = expect(await api.call('GET', `/exec/${ex.Id}/json`), [200], 'exec inspect') as { Running: boolean; ExitCode: number | null };
            if (!info.Running && info.ExitCode !== null) {
              if (info.ExitCode !== 0) throw new Error(`exec exited ${info.ExitCode}`);
              return;
            }
            if (k > 6000) throw new Error('exec did not finish in 60 s');
            await sleep(5);
          }
        });
      } else {
        const r = await step('wait', async () => expect(await api.call('POST', `/containers/${id}/wait`), [200], 'wait')) as { StatusCode: number };
        if (r.StatusCode !== 0) throw new Error(`container exited ${r.StatusCode}`);
      }
      await step('delete', async () => expect(await api.call('DELETE', `/containers/${id}?force=1`), [204], 'delete'));
      id = undefined;
    } finally {
      // a failed iteration must not leave its container to skew the resource figures
      if (id) await api.call('DELETE', `/containers/${id}?force=1`).catch(() => undefined);
    }
  };

  // COMPARABLE_IDLE: berth's daemon runs with its idle compaction off here (BERTH_IDLE_COMPACT_MS=0). Compaction's
  // GC and malloc_trim run 5 s into a quiet moment, but V8 hands its freed pages back some seconds later still, at
  // no fixed time: one idle sample could read the compacted heap and the other the full one (75 -> 107 MiB in a CI
  // run whose memory did not grow). Without it both samples read the heap's plateau, like for like.
  // Two phases with the same workers: a warm-up, then the measured run. Resources are sampled when the daemon has
  // been idle for a while (V8 shrinks its heap once allocation stops; the lowest of a few samples), so the start
  // and end figures compare like with like instead of catching the heap at a random point of its GC cycle.
  const phase = async (seconds: number) => {
    const deadline = Date.now() + seconds * 1000;
    await Promise.all(Array.from({ length: opts.workers }, async (_, w) => {
      for (let k = 0; Date.now() < deadline; k++) {
        const t0 = process.hrtime.bigint();
        try {
          await lifecycle(opts.exec && (k + w) % 2 === 1);
          if (measuring) { iterations++; times.iteration.push(Number(process.hrtime.bigint() - t0) / 1e6); }
        } catch (err) {
          failures++;
          if (failureSamples.length < 10) failureSamples.push((err as Error).message);
        }
      }
    }));
  };
  const idleSample = async (): Promise<ProcSample> => {
    await sleep(idleMs * 0.6);
    const xs: ProcSample[] = [];
    for (let i = 0; i < 5; i++) { xs.push(procSample(pid)); await sleep((idleMs * 0.4) / 5); }
    return { rssKiB: Math.min(...xs.map((x) => x.rssKiB)), fds: Math.min(...xs.map((x) => x.fds)), threads: Math.min(...xs.map((x) => x.threads)) };
  };
  const idleMs = (opts.idleSeconds ?? 8) * 1000;
  let warmupTaken = 0;
  // Warm-up: at least warmupSeconds, then on in 10 s slices until the daemon's RSS stops climbing (< 3% per slice;
  // V8 sizes its heap to the allocation rate, which takes a while under load) or maxWarmupSeconds have passed. A
  // leak shows as growth after that plateau, not as the heap reaching it.
  await phase(opts.warmupSeconds);
  let warmed = opts.warmupSeconds;
  for (let prev = procSample(pid).rssKiB; warmed < (opts.maxWarmupSeconds ?? opts.warmupSeconds); warmed += 10) {
    await phase(10);
    const now = procSample(pid).rssKiB;
    if (Math.abs(now - prev) / prev < 0.03) break;
    prev = now;
  }
  warmupTaken = warmed;
  const startSample = await idleSample();
  const startLoad = os.loadavg();
  const timeline: ProcSample[] = [];
  const sampler = setInterval(() => { try { timeline.push(procSample(pid)); } catch { /* daemon gone */ } },
    (opts.sampleEverySeconds ?? Math.max(1, opts.seconds / 10)) * 1000);
  measuring = true;
  const measureStart = Date.now();
  await phase(opts.seconds);
  clearInterval(sampler);
  const seconds = (Date.now() - measureStart) / 1000;
  const end = await idleSample();
  const endLoad = os.loadavg();
  const left = (await api.call('GET', '/containers/json?all=1')).body as unknown[];
  api.close();
  const latency: StressResult['latency'] = {};
  for (const [k, xs] of Object.entries(times)) {
    if (!xs.length) continue;
    const s = [...xs].sort((a, b) => a - b);
    latency[k] = { n: s.length, p50: pct(s, 0.5), p95: pct(s, 0.95), p99: pct(s, 0.99), max: s[s.length - 1] };
  }
  return {
    target, iterations, failures, failureSamples, seconds, opsPerSecond: iterations / seconds, latency,
    start: startSample, end, timeline, warmupSeconds: warmupTaken, leftoverContainers: Array.isArray(left) ? left.length : -1, loadAvg: { start: startLoad, end: endLoad },
  };
}

const mib = (kib: number) => (kib / 1024).toFixed(1);
const change = (a: number, b: number) => (a ? `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%` : 'n/a');

export function printResult(r: StressResult): void {
  console.log(`== ${r.target}: after ${r.warmupSeconds} s of warm-up, ${r.iterations} lifecycles in ${r.seconds.toFixed(0)} s = ${r.opsPerSecond.toFixed(2)}/s, ${r.failures} failures, ${r.leftoverContainers} containers left` +
    `   (load average ${r.loadAvg.start.map((x) => x.toFixed(2)).join(' ')} → ${r.loadAvg.end.map((x) => x.toFixed(2)).join(' ')})`);
  for (const [k, l] of Object.entries(r.latency)) {
    console.log(`   ${k.padEnd(10)} n=${String(l.n).padStart(6)}  p50 ${l.p50.toFixed(1).padStart(8)} ms  p95 ${l.p95.toFixed(1).padStart(8)} ms  p99 ${l.p99.toFixed(1).padStart(8)} ms  max ${l.max.toFixed(1).padStart(8)} ms`);
  }
  console.log(`   daemon RSS ${mib(r.start.rssKiB)} → ${mib(r.end.rssKiB)} MiB (${change(r.start.rssKiB, r.end.rssKiB)}), fds ${r.start.fds} → ${r.end.fds} (${change(r.start.fds, r.end.fds)}), threads ${r.start.threads} → ${r.end.threads}`);
  if (r.timeline.length) console.log(`   RSS over time (MiB): ${r.timeline.map((x) => mib(x.rssKiB)).join(' ')}; fds: ${r.timeline.map((x) => x.fds).join(' ')}`);
  for (const f of r.failureSamples) console.log(`   failure: ${f}`);
}

async function main(): Promise<void> {
  const opts: StressOptions = {
    workers: Number(process.env.STRESS_WORKERS ?? 4),
    seconds: Number(process.env.STRESS_SECONDS ?? 300),
    warmupSeconds: Number(process.env.STRESS_WARMUP ?? 20),
    maxWarmupSeconds: Number(process.env.STRESS_MAX_WARMUP ?? 180),
    exec: process.env.STRESS_EXEC !== '0',
  };
  const targets = (process.env.STRESS_TARGETS ?? 'berth,dockerd').split(',');
  const results: StressResult[] = [];
  console.log(`# stress: ${opts.workers} workers, ${opts.warmupSeconds} s warm-up + ${opts.seconds} s, exec ${opts.exec ? 'every other iteration' : 'off'}; ${os.cpus().length} cpus`);
  const tag = process.pid % 10000;
  for (const t of targets) {
    if (t === 'berth') {
      const d = new TestDaemon('stress');
      d.bridge = `bfb${tag}`;
      d.subnet = '10.66.130.0/24';
      d.env = { BERTH_IDLE_COMPACT_MS: '0' }; // see COMPARABLE_IDLE below
      try {
        await d.start();
        await d.loadBusybox();
        results.push(await runStress('berth', d.socket, d.proc!.pid!, opts));
      } finally { await d.stop(); }
    } else if (t === 'dockerd') {
      const dd = new Dockerd({ network: true, bridge: { name: `bfd${tag}`, subnet: '10.66.131.0/24' } });
      try {
        await dd.start();
        await dd.loadBusybox();
        results.push(await runStress('dockerd', dd.sock, dd.pid!, opts));
      } finally { await dd.stop(); }
    } else throw new Error(`unknown target ${t}`);
    printResult(results[results.length - 1]);
  }
  const b = results.find((r) => r.target === 'berth');
  const dd = results.find((r) => r.target === 'dockerd');
  if (b && dd) console.log(`lifecycles/s: berth ${b.opsPerSecond.toFixed(2)}   dockerd ${dd.opsPerSecond.toFixed(2)}   ratio ${(b.opsPerSecond / dd.opsPerSecond).toFixed(2)}`);
  if (process.env.STRESS_JSON) writeFileSync(process.env.STRESS_JSON, JSON.stringify(results, null, 1));
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
