// berth's CRI beside Debian's containerd 1.6.20 (its CRI plugin), in the same run:
//  1. critest v1.29.0 pass counts for both, offline, with the same skip list (test/cri/skip-list.ts);
//  2. a pod with one container started the way the anchor kit measures it — `crictl runp` + `create` + `start`,
//     three crictl processes — and the same three calls made over gRPC directly (the runtime's own share);
//     beside them crictl's fixed cost per process (`crictl version`: Go start-up, dial, HTTP/2 handshake and
//     the Version call every crictl command makes first to validate the connection — the same work on both
//     runtimes, ~3 × 20–35 ms of each crictl total);
//  3. memory: the daemon's growth per pod and the per-pod monitors (berth-shim ×2 against containerd-shim-runc-v2).
// containerd runs from shared/tools/cri-tools/containerd-anchor copied to /var/tmp/ctd-cri (its own root, state,
// socket, CNI bridge ctdcri0 with 10.99.0.0/16 and registry on 127.0.0.1:38555); berth from test/cri/fixture.ts
// (its own CNI conf dir, a bk… bridge, 10.64.x.0/24). Nothing else on the machine uses those.
import { execFileSync } from 'child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriFixture, CRI_TOOLS, criTools } from '../test/cri/fixture';
import { CRITEST_SKIPS, parseSummary, skipRegex } from '../test/cri/skip-list';
import { runCmd, REPO } from '../test/helpers/daemon';
import { median } from './lib';

const PODS = parseInt(process.env.BENCH_PODS ?? '5', 10);
const SKIP_CRITEST = process.env.BENCH_CRI_SKIP_CRITEST === '1';
const KIT = '/var/tmp/ctd-cri';
const CTD_SOCK = '/run/ctd-cri/containerd.sock';
const BUSYBOX = 'registry.k8s.io/e2e-test-images/busybox:1.29-2';
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function rssKb(pid: number): number { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); }
function pssKb(pid: number): number { try { return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0); } catch { return 0; } }
function pgrep(pattern: string): number[] {
  try { return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number); } catch { return []; }
}

class Runtime {
  private client?: { runtime: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  constructor(readonly name: string, readonly socket: string) {}
  crictl(args: string[]) {
    return runCmd(criTools().crictl, ['--runtime-endpoint', `unix://${this.socket}`, '--image-endpoint', `unix://${this.socket}`, '--timeout', '60s', ...args]);
  }
  async ok(args: string[]): Promise<string> {
    const r = await this.crictl(args);
    if (r.code !== 0) throw new Error(`${this.name}: crictl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }
  call(method: string, req: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!this.client) {
      const def = protoLoader.loadSync(path.join(REPO, 'src/cri/runtime-v1.proto'), { keepCase: true, longs: String, enums: Number, defaults: true });
      const pkg = grpc.loadPackageDefinition(def) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      this.client = { runtime: new pkg.runtime.v1.RuntimeService(`unix://${this.socket}`, grpc.credentials.createInsecure()) };
    }
    return new Promise((resolve, reject) => this.client!.runtime[method](req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
  }
  close(): void { this.client?.runtime.close(); }
}

async function critest(rt: Runtime): Promise<string> {
  const r = await runCmd(criTools().critest, ['--runtime-endpoint', `unix://${rt.socket}`, '--image-endpoint', `unix://${rt.socket}`,
    '--ginkgo.no-color', '--ginkgo.skip', skipRegex()], { timeoutMs: 30 * 60_000 });
  const s = parseSummary(r.stdout + r.stderr);
  if (!s) return `no summary (exit ${r.code})`;
  return `${s.passed} passed, ${s.failed} failed of ${s.ran} run (${s.total} specs; ${s.skipped} skipped: 5 benchmarks + ${CRITEST_SKIPS.length} on the list)${s.failures.length ? `; failed: ${s.failures.join('; ')}` : ''}`;
}

interface PodTimes { runp: number; create: number; start: number; total: number; pod: string }

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** The anchor kit's measurement: three crictl processes. */
async function podViaCrictl(rt: Runtime, dir: string, i: number, tag: string): Promise<PodTimes> {
  const pod = path.join(dir, `${tag}-pod-${i}.json`);
  writeFileSync(pod, JSON.stringify({ metadata: { name: `bench-${tag}-${i}`, namespace: 'default', uid: `bench-${tag}-uid-${i}`, attempt: 1 }, linux: {} }));
  const ctr = path.join(dir, 'ctr.json');
  const t0 = now();
  const id = await rt.ok(['runp', pod]);
  const t1 = now();
  const cid = await rt.ok(['create', '--no-pull', id, ctr, pod]);
  const t2 = now();
  await rt.ok(['start', cid]);
  const t3 = now();
  return { runp: t1 - t0, create: t2 - t1, start: t3 - t2, total: t3 - t0, pod: id };
}

/** The same three calls over one gRPC connection: the runtime's own time, without crictl's start-up. */
async function podViaGrpc(rt: Runtime, i: number, tag: string): Promise<PodTimes> {
  const config = { metadata: { name: `bench-${tag}-g${i}`, namespace: 'default', uid: `bench-${tag}-guid-${i}`, attempt: 1 }, linux: {} };
  const t0 = now();
  const { pod_sandbox_id: id } = await rt.call('RunPodSandbox', { config });
  const t1 = now();
  const { container_id: cid } = await rt.call('CreateContainer', { pod_sandbox_id: id, config: { metadata: { name: 'busybox' }, image: { image: BUSYBOX }, command: ['sleep', '3600'], linux: {} }, sandbox_config: config });
  const t2 = now();
  await rt.call('StartContainer', { container_id: cid });
  const t3 = now();
  return { runp: t1 - t0, create: t2 - t1, start: t3 - t2, total: t3 - t0, pod: id };
}

/** crictl's own cost per command: `crictl version` is a process start, a dial and two Version calls. */
async function crictlFixedCost(rt: Runtime, n: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await rt.ok(['version']);
    xs.push(now() - t0);
  }
  return median(xs);
}

function line(what: string, b: PodTimes[], c: PodTimes[]): void {
  const m = (xs: PodTimes[], k: keyof Omit<PodTimes, 'pod'>) => median(xs.map((x) => x[k]));
  const f = (xs: PodTimes[]) => `runp ${m(xs, 'runp').toFixed(0).padStart(4)}  create ${m(xs, 'create').toFixed(0).padStart(4)}  start ${m(xs, 'start').toFixed(0).padStart(4)}  total ${m(xs, 'total').toFixed(0).padStart(4)} ms`;
  console.log(`${what}\n  berth      ${f(b)}\n  containerd ${f(c)}\n  ratio (total) ${(m(b, 'total') / m(c, 'total')).toFixed(2)}   load ${load()}`);
}

async function startContainerd(): Promise<void> {
  if (!existsSync(path.join(KIT, 'start-ctd.sh'))) {
    rmSync(KIT, { recursive: true, force: true });
    cpSync(path.join(CRI_TOOLS, 'containerd-anchor'), KIT, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', KIT]);
  }
  if (!existsSync(path.join(KIT, 'images/ctd-cri-images.oci.tar'))) execFileSync(path.join(KIT, 'build-images.py'), { stdio: 'ignore' });
  execFileSync(path.join(KIT, 'start-ctd.sh'), { stdio: 'ignore' });
}

function stopContainerd(): void {
  try { execFileSync(path.join(KIT, 'stop-ctd.sh'), { stdio: 'ignore' }); } catch { /* not running */ }
  // its bridge only: the CNI-HOSTPORT chains are portmap's, shared with any other CNI user on the machine
  try { execFileSync('ip', ['link', 'del', 'ctdcri0'], { stdio: 'ignore' }); } catch { /* gone */ }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-cri-'));
  writeFileSync(path.join(dir, 'ctr.json'), JSON.stringify({ metadata: { name: 'busybox' }, image: { image: BUSYBOX }, command: ['sleep', '3600'], linux: {} }));
  const fixture = new CriFixture({ images: true, name: 'bench-cri' });
  const berth = new Runtime('berth', fixture.socket);
  const ctd = new Runtime('containerd', CTD_SOCK);
  try {
    await fixture.start();
    await startContainerd();
    await berth.ok(['pull', BUSYBOX]);
    console.log(`# CRI: berth (${fixture.bridge}, ${fixture.subnet}) beside containerd 1.6.20 (ctdcri0, 10.99.0.0/16); load ${load()}`);

    if (!SKIP_CRITEST) {
      console.log(`critest v1.29.0, skip list: ${CRITEST_SKIPS.map((s) => s.spec).join('; ')}`);
      console.log(`  berth      ${await critest(berth)}   load ${load()}`);
      console.log(`  containerd ${await critest(ctd)}   load ${load()}`);
    }

    const berthPid = fixture.daemon.proc!.pid!;
    const ctdPid = Number(readFileSync('/tmp/ctd-cri.pid', 'utf8'));
    const rss0 = { berth: rssKb(berthPid), ctd: rssKb(ctdPid) };
    // warm-up pod each (first pod pays for seccomp compilation, caches), then interleaved rounds
    await berth.ok(['rmp', '-f', (await podViaCrictl(berth, dir, 0, 'b')).pod]);
    await ctd.ok(['rmp', '-f', (await podViaCrictl(ctd, dir, 0, 'c')).pod]);
    const b: PodTimes[] = []; const c: PodTimes[] = [];
    for (let i = 1; i <= PODS; i++) {
      b.push(await podViaCrictl(berth, dir, i, 'b'));
      c.push(await podViaCrictl(ctd, dir, i, 'c'));
    }
    line(`pod start, crictl runp + create + start (one busybox container), median of ${PODS}`, b, c);
    const fixed = { berth: await crictlFixedCost(berth, PODS * 2), ctd: await crictlFixedCost(ctd, PODS * 2) };
    console.log(`crictl's fixed cost per command (\`crictl version\`: Go start-up, dial, HTTP/2 handshake, Version twice), median of ${PODS * 2}`);
    console.log(`  berth ${fixed.berth.toFixed(0)} ms  containerd ${fixed.ctd.toFixed(0)} ms: three commands put ~${(3 * fixed.berth).toFixed(0)} / ~${(3 * fixed.ctd).toFixed(0)} ms of crictl's own into each total above   load ${load()}`);
    await new Promise((r) => setTimeout(r, 2000));
    const rss1 = { berth: rssKb(berthPid), ctd: rssKb(ctdPid) };
    const berthShims = b.flatMap((p) => {
      const c2 = JSON.parse(execFileSync(criTools().crictl, ['--runtime-endpoint', `unix://${fixture.socket}`, 'ps', '-o', 'json', '-p', p.pod], { encoding: 'utf8' })).containers[0].id as string;
      return [...pgrep(`berth-shim .*--id ${p.pod}`), ...pgrep(`berth-shim .*--id ${c2}`)];
    });
    const ctdShims = c.flatMap((p) => pgrep(`containerd-shim-runc-v2 -namespace k8s.io -id ${p.pod}`));
    const per = (pids: number[], f: (p: number) => number) => pids.reduce((s, p) => s + f(p), 0) / PODS / 1024;
    console.log(`memory with ${PODS} pods running (MiB per pod)   load ${load()}`);
    console.log(`  berth      monitors (2 berth-shim per pod) RSS ${per(berthShims, rssKb).toFixed(2)}  PSS ${per(berthShims, pssKb).toFixed(2)}   daemon ${(rss0.berth / 1024).toFixed(1)} → ${(rss1.berth / 1024).toFixed(1)} MiB`);
    console.log(`  containerd monitors (containerd-shim-runc-v2) RSS ${per(ctdShims, rssKb).toFixed(2)}  PSS ${per(ctdShims, pssKb).toFixed(2)}   daemon ${(rss0.ctd / 1024).toFixed(1)} → ${(rss1.ctd / 1024).toFixed(1)} MiB`);
    for (const p of b) await berth.ok(['rmp', '-f', p.pod]);
    for (const p of c) await ctd.ok(['rmp', '-f', p.pod]);

    const gb: PodTimes[] = []; const gc: PodTimes[] = [];
    for (let i = 1; i <= PODS; i++) {
      gb.push(await podViaGrpc(berth, i, 'b'));
      gc.push(await podViaGrpc(ctd, i, 'c'));
    }
    line(`pod start, the same three calls over gRPC directly (the runtime's share), median of ${PODS}`, gb, gc);
    for (const p of gb) await berth.ok(['rmp', '-f', p.pod]);
    for (const p of gc) await ctd.ok(['rmp', '-f', p.pod]);
  } finally {
    berth.close();
    ctd.close();
    stopContainerd();
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
