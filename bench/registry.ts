// Registry benchmark: berth's registry beside Debian's docker-registry (CNCF distribution 2.8), in the same
// run, same machine, same client. One 10 MiB random blob is pushed to each; then 8 concurrent clients pull
// it in a loop for a fixed time and we count complete, size-checked pulls per second. The clients run in
// 2 separate processes (4 keep-alive connections each, a lean reader: see pullLoop) so the servers, not
// the client, are what is measured; on this 2-core machine servers and clients share the CPUs, alike for
// both servers. Server and client CPU time per pull are printed too: on a shared, busy machine they are
// steadier than the rates. Rounds
// alternate between the two servers so drifting background load hits both alike.
//
//   node build/bench/registry.js          (BENCH_SECONDS=5 BENCH_ROUNDS=2 BENCH_CLIENTS=8 BENCH_PROCS=2)
import { spawn, fork, ChildProcess } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RegistryServer, sha256, tempDir } from '../test/integration/registry-fixture';
import { freePort } from './lib';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const PROCS = Number(process.env.BENCH_PROCS ?? 2);
const BLOB_BYTES = 10 << 20;

interface ClientResult { pulls: number; bytes: number; errors: number; cpuMs: number; elapsedMs: number }

// ---------------------------------------------------------------------------------------------------
// client mode: `registry.js --client URL CONNECTIONS SECONDS SIZE` pulls in a loop, prints a JSON result.
// A deliberately lean HTTP/1.1 client: one keep-alive socket per connection, reading into one reused
// 1 MiB buffer (net's `onread`), so the client's own CPU cost is little more than the kernel's copy.
// node:http's client allocates a buffer per 64 KiB read and costs more CPU per pull than the servers
// under test, which on 2 cores would make it, not the server, the thing measured.

function pullLoop(url: URL, size: number, until: number, res: ClientResult): Promise<void> {
  const request = `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: berth-bench\r\n\r\n`;
  return new Promise((resolve) => {
    let head = '';
    let inBody = false;
    let remaining = 0;
    let status = 0;
    const next = () => {
      if (Date.now() >= until) { sock.end(); return; }
      head = ''; inBody = false;
      sock.write(request);
    };
    const onBody = (n: number) => {
      remaining -= n;
      if (remaining === 0) {
        if (status === 200) { res.pulls++; res.bytes += size; } else res.errors++;
        next();
      }
    };
    const sock = net.connect({
      host: url.hostname, port: Number(url.port),
      onread: {
        buffer: Buffer.allocUnsafe(1 << 20),
        callback(n: number, buf: Uint8Array) {
          if (inBody) { onBody(n); return true; }
          head += Buffer.from(buf.buffer, buf.byteOffset, n).toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return true;
          status = Number(head.slice(9, 12));
          const len = /\r\ncontent-length: *(\d+)/i.exec(head.slice(0, end));
          remaining = len ? Number(len[1]) : 0;
          if (status === 200 && remaining !== size) { res.errors++; sock.destroy(); return false; }
          inBody = true;
          const already = head.length - (end + 4);
          if (remaining === 0) onBody(0); else if (already > 0) onBody(already);
          return true;
        },
      },
    } as net.NetConnectOpts, next);
    sock.on('error', () => { res.errors++; });
    sock.on('close', () => resolve());
  });
}

async function clientMain(url: string, conns: number, seconds: number, size: number): Promise<void> {
  const t0 = Date.now();
  const until = t0 + seconds * 1000;
  const res: ClientResult = { pulls: 0, bytes: 0, errors: 0, cpuMs: 0, elapsedMs: 0 };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: conns }, () => pullLoop(new URL(url), size, until, res)));
  const cpu = process.cpuUsage(cpu0);
  res.cpuMs = (cpu.user + cpu.system) / 1000;
  res.elapsedMs = Date.now() - t0; // the pulling window, without this process's start-up
  process.stdout.write(JSON.stringify(res));
}

// ---------------------------------------------------------------------------------------------------
// the anchor: docker-registry with a temporary config

class DockerRegistry {
  proc?: ChildProcess;
  url = '';
  constructor(readonly dir: string) {}
  async start(): Promise<this> {
    const port = await freePort();
    const config = path.join(this.dir, 'config.yml');
    await fs.writeFile(config, [
      'version: 0.1',
      'log:', '  level: error', '  accesslog:', '    disabled: true',
      'storage:', '  filesystem:', `    rootdirectory: ${path.join(this.dir, 'data')}`, '  delete:', '    enabled: true',
      '  cache:', '    blobdescriptor: inmemory',
      'http:', `  addr: 127.0.0.1:${port}`, '',
    ].join('\n'));
    this.proc = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
    this.url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if ((await request('GET', `${this.url}/v2/`).catch(() => ({ status: 0 }))).status === 200) return this;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('docker-registry did not start');
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }
}

function request(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'Content-Length': String(body?.length ?? 0), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST a session, PUT the whole blob with ?digest= (the flow both registries support). */
async function pushBlob(base: string, name: string, data: Buffer): Promise<void> {
  const start = await request('POST', `${base}/v2/${name}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
  const loc = new URL(String(start.headers.location), base);
  loc.searchParams.set('digest', sha256(data));
  const put = await request('PUT', loc.toString(), data, { 'Content-Type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`PUT upload: ${put.status}`);
}

/** CPU seconds (user+system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

async function measure(url: string, pid: number): Promise<{ pullsPerSec: number; mibPerSec: number; cpuPerPullMs: number; clientCpuPerPullMs: number; errors: number }> {
  const self = path.join(__dirname, 'registry.js');
  const per = Math.max(1, Math.round(CLIENTS / PROCS));
  const cpu0 = cpuSeconds(pid);
  const results = await Promise.all(Array.from({ length: PROCS }, () => new Promise<ClientResult>((resolve, reject) => {
    const child = fork(self, ['--client', url, String(per), String(SECONDS), String(BLOB_BYTES)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`client exited ${code}`))));
  })));
  const secs = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const pulls = results.reduce((a, r) => a + r.pulls, 0);
  const bytes = results.reduce((a, r) => a + r.bytes, 0);
  const clientCpu = results.reduce((a, r) => a + r.cpuMs, 0);
  return {
    pullsPerSec: pulls / secs, mibPerSec: bytes / secs / (1 << 20), cpuPerPullMs: pulls ? (cpu * 1000) / pulls : 0,
    clientCpuPerPullMs: pulls ? clientCpu / pulls : 0, errors: results.reduce((a, r) => a + r.errors, 0),
  };
}

async function main(): Promise<void> {
  const dir = await tempDir('bench-registry-');
  const berth = new RegistryServer(path.join(dir, 'berth'));
  await fs.mkdir(path.join(dir, 'docker'));
  const docker = new DockerRegistry(path.join(dir, 'docker'));
  try {
    await berth.start();
    await docker.start();
    const blob = randomBytes(BLOB_BYTES);
    const digest = sha256(blob);
    await pushBlob(berth.url, 'bench/blob', blob);
    await pushBlob(docker.url, 'bench/blob', blob);
    const targets = [
      { name: 'berth', url: `${berth.url}/v2/bench/blob/blobs/${digest}`, pid: berth.proc!.pid! },
      { name: 'docker-registry', url: `${docker.url}/v2/bench/blob/blobs/${digest}`, pid: docker.proc!.pid! },
    ];
    console.log(`# 10 MiB blob, ${CLIENTS} concurrent keep-alive clients in ${PROCS} processes, ${SECONDS} s per round, ${ROUNDS} rounds; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const best: Record<string, number> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of round % 2 ? targets : [...targets].reverse()) {
        const r = await measure(t.url, t.pid);
        if (r.errors) throw new Error(`${t.name}: ${r.errors} failed pulls`);
        console.log(`round ${round}  ${t.name.padEnd(16)} ${r.pullsPerSec.toFixed(1).padStart(7)} pulls/s  ${r.mibPerSec.toFixed(0).padStart(5)} MiB/s  CPU per pull: server ${r.cpuPerPullMs.toFixed(2)} ms, clients ${r.clientCpuPerPullMs.toFixed(2)} ms`);
        best[t.name] = Math.max(best[t.name] ?? 0, r.pullsPerSec);
      }
    }
    console.log(`pulls/s (best round)  berth ${best.berth.toFixed(1)}   docker-registry ${best['docker-registry'].toFixed(1)}   ratio berth/docker-registry ${(best.berth / best['docker-registry']).toFixed(2)}`);
  } finally {
    await berth.stop();
    await docker.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--client') {
  clientMain(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6])).catch((err) => { console.error(err); process.exit(1); });
} else {
  main().catch((err) => { console.error(err); process.exit(1); });
}
