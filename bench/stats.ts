// Stats benchmark: what streaming GET /containers/{id}/stats costs the engine. N idle busybox containers on
// berth and on Debian's dockerd (with its containerd), both started by the docker CLI with --network none (the
// anchor dockerd runs without networking); then one streaming stats request per container for SECONDS, read
// by this process. Measured: the engine's CPU time (utime+stime from /proc) during the window, its RSS at the
// end, and the frames received. For dockerd the engine is dockerd + containerd; its per-container shims answer
// the metrics calls too and are shown on their own line.
//
//   node build/bench/stats.js          (BENCH_CONTAINERS=20 BENCH_SECONDS=10)
import * as http from 'http';
import { readFileSync } from 'fs';
import { TestDaemon } from '../test/helpers/daemon';
import { Dockerd, must, pidsByName, report } from './lib';

const N = parseInt(process.env.BENCH_CONTAINERS ?? '20', 10);
const SECONDS = parseInt(process.env.BENCH_SECONDS ?? '10', 10);
const TICK_MS = 10; // USER_HZ 100

/** CPU time (ms) a process has used, user + system. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS; // fields 14 and 15 of stat(5)
  } catch {
    return 0;
  }
}

function rssMiB(pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
}

const cmdline = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Opens one streaming stats request per container; close() ends them and tells how many frames arrived. */
function streamAll(socket: string, ids: string[]): { close(): number } {
  let frames = 0;
  const reqs = ids.map((id) => http.get({ socketPath: socket, path: `/v1.41/containers/${id}/stats` }, (res) => {
    res.on('data', (chunk: Buffer) => { for (const c of chunk) if (c === 10) frames++; });
    res.on('error', () => undefined);
  }).on('error', () => undefined));
  return { close: () => { for (const r of reqs) r.destroy(); return frames; } };
}

interface Measure { cpuMsPerS: number; rss: number; framesPerS: number; idleCpuMsPerS: number; otherCpuMsPerS: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Seconds of streaming before the window opens: connections made, files opened, first frames out. */
const WARMUP_S = 2;
const IDLE_S = 3;

/** Idle CPU over a few seconds, then CPU and peak RSS over the streaming window (after a warm-up). */
async function measure(socket: string, ids: string[], pids: () => number[], others: () => number[] = () => []): Promise<Measure> {
  const i0 = sum(pids().map(cpuMs));
  await sleep(IDLE_S * 1000);
  const idleCpuMsPerS = (sum(pids().map(cpuMs)) - i0) / IDLE_S;
  const streams = streamAll(socket, ids);
  await sleep(WARMUP_S * 1000);
  const c0 = sum(pids().map(cpuMs));
  const o0 = sum(others().map(cpuMs));
  let rss = 0;
  const sampler = setInterval(() => { rss = Math.max(rss, sum(pids().map(rssMiB))); }, 500);
  await sleep(SECONDS * 1000);
  const c1 = sum(pids().map(cpuMs));
  const o1 = sum(others().map(cpuMs));
  clearInterval(sampler);
  rss = Math.max(rss, sum(pids().map(rssMiB)));
  const frames = streams.close();
  return { cpuMsPerS: (c1 - c0) / SECONDS, rss, framesPerS: frames / (SECONDS + WARMUP_S), idleCpuMsPerS, otherCpuMsPerS: (o1 - o0) / SECONDS };
}

async function startContainers(cli: (a: string[]) => Promise<import('../test/helpers/daemon').RunResult>, what: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i++) ids.push((await must(cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '3600']), `${what} run -d`)).stdout.trim());
  return ids;
}

async function main() {
  const berth = new TestDaemon('statsbench');
  const dockerd = new Dockerd();
  let stopping: Promise<void> | undefined;
  const cleanup = () => stopping ??= (async () => {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  })();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { console.error(`\n${sig}: cleaning up`); void cleanup().finally(() => process.exit(130)); });
  }
  try {
    await berth.start();
    await berth.loadBusybox();
    await dockerd.start();
    await dockerd.loadBusybox();
    const bIds = await startContainers((a) => berth.docker(a), 'berth');
    const dIds = await startContainers((a) => dockerd.docker(a), 'docker');
    console.log(`# ${N} idle containers each, one streaming stats request per container; CPU = utime+stime from /proc over ${SECONDS} s after ${WARMUP_S} s of warm-up`);

    const berthPid = berth.proc!.pid!;
    const b = await measure(berth.socket, bIds, () => [berthPid]);
    const engine = () => [dockerd.proc!.pid!, ...pidsByName('containerd').filter((p) => cmdline(p).includes(dockerd.dir))];
    const shims = () => pidsByName('containerd-shim').filter((p) => cmdline(p).includes(dockerd.dir));
    const d = await measure(dockerd.sock, dIds, engine, shims);

    report('engine CPU while streaming (ms per s)', b.cpuMsPerS, d.cpuMsPerS, 'dockerd+containerd');
    report('engine CPU idle, same containers (ms per s)', b.idleCpuMsPerS, d.idleCpuMsPerS, 'dockerd+containerd');
    report('engine RSS peak while streaming (MiB)', b.rss, d.rss, 'dockerd+containerd');
    report('stats frames received (per s)', b.framesPerS, d.framesPerS, 'dockerd+containerd');
    console.log(`# dockerd's ${shims().length} containerd shims answer its metrics calls: ${d.otherCpuMsPerS.toFixed(1)} ms CPU per s more in the same window (not in the ratio above); berth reads the cgroup files itself`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
