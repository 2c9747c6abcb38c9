// Shared by the benchmarks: timing, a private dockerd (Debian's docker.io) as the anchor, and reporting.
import { spawn, execFile, ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as os from 'os';
import { runCmd, sleep, RunResult, REPO } from '../test/helpers/daemon';
import { hostAddresses, hostRoutes, overlaps, parseCidr } from '../src/network/ipv4';

export const DOCKER = '/usr/local/bin/docker';

export const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Median of n timed runs after one warm-up. */
export async function sample(n: number, fn: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  await fn();
  for (let i = 0; i < n; i++) xs.push(await timed(fn));
  return median(xs);
}

/** Medians of n rounds that run every fn once each, after one warm-up of each. Interleaving makes drift in the
 * machine's load hit every variant alike, which matters most for differences of medians (bridge − none). */
export async function sampleRounds(n: number, fns: Array<() => Promise<unknown>>): Promise<number[]> {
  for (const f of fns) await f();
  const xs: number[][] = fns.map(() => []);
  for (let i = 0; i < n; i++) for (const [k, f] of fns.entries()) xs[k].push(await timed(f));
  return xs.map(median);
}

export async function must(p: Promise<RunResult>, what: string): Promise<RunResult> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  return r;
}

/** Prints one line: berth's figure (or another subject's, e.g. a floor), the anchor's, and their ratio. */
export function report(what: string, berth: number, anchor: number, anchorName: string, subject = 'berth'): void {
  console.log(`${what.padEnd(44)} ${subject} ${berth.toFixed(1).padStart(8)}   ${anchorName} ${anchor.toFixed(1).padStart(8)}   ratio ${(berth / anchor).toFixed(2)}`);
}

const handedOut = new Set<number>();

/** A TCP port free on all addresses a moment ago, never the same one twice in a process: berth publishes a port
 * with a DNAT rule and binds nothing, so a port it already uses still looks free to bind(). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer().listen(0, '0.0.0.0', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      }).on('error', reject);
    });
    if (!handedOut.has(port)) { handedOut.add(port); return port; }
  }
}

/** A 10.252.x.0/24 that no host route or address overlaps (the test daemons use 10.200–249, berth 10.88–119). */
export async function freeSubnet(): Promise<string> {
  const taken = [...(await hostRoutes()).map((r) => r.dst), ...hostAddresses().map((a) => a.cidr)];
  for (let i = 0; i < 256; i++) {
    const c = `10.252.${(process.pid + i) % 256}.0/24`;
    if (!taken.some((t) => overlaps(t, parseCidr(c)))) return c;
  }
  throw new Error('no free 10.252.x.0/24');
}

/** The host's own non-loopback IPv4 address: the one on the default route's device. */
export async function hostAddress(): Promise<string | undefined> {
  const dev = /\bdev (\S+)/.exec((await runCmd('ip', ['-4', 'route', 'show', 'default'])).stdout)?.[1];
  return hostAddresses().find((a) => a.dev === dev)?.address;
}

/** Pids of processes whose comm is `name`. */
export function pidsByName(name: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === name) out.push(Number(p)); } catch { /* gone */ }
  }
  return out;
}

/** Pids of processes named `name` whose command line contains `arg` (another daemon's shims on a shared machine
 * are not ours: each daemon's shims name its exec root). */
export function pidsWithArg(name: string, arg: string): number[] {
  return pidsByName(name).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(arg); } catch { return false; }
  });
}

/** The process's descendants (a dockerd's containerd, a containerd's shims). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

export function rssKiB(pid: number): number {
  try { return parseInt(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1], 10); } catch { return 0; }
}

export function pssKiB(pid: number): number {
  try { return parseInt(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1], 10); } catch { return rssKiB(pid); }
}

export const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** A private dockerd on its own data root and socket. By default without networking side effects on the host;
 * with `network: true` it has Docker's real networking — its default bridge on a private bridge device and its
 * iptables rules (NAT, docker-proxy for published ports), as on a stock install — so network costs compare
 * like with like; stop() removes the device, the networks and the rules again. */
export class Dockerd {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dockerd-'));
  sock = path.join(this.dir, 'docker.sock');
  proc?: ChildProcess;
  bridge?: { name: string; subnet: string };

  /** `bridge`: the bridge device and subnet to use with `network` (default bd<pid> on a free 10.252.x.0/24) */
  constructor(private readonly opts: { network?: boolean; bridge?: { name: string; subnet: string } } = {}) {}

  async start(extraArgs: string[] = []): Promise<void> {
    if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd missing: bench/run installs docker.io');
    let netArgs = ['--bridge', 'none', '--iptables=false', '--ip-forward=false'];
    if (this.opts.network) {
      // Our own bridge device rather than docker0 (dockerd only creates docker0 itself; --bip and -b exclude each
      // other). --ip-forward stays off: host-to-container traffic, published ports included, is not forwarded, and
      // with it dockerd sets the host's FORWARD policy to DROP when it finds forwarding off.
      const name = this.opts.bridge?.name ?? `bd${process.pid % 100000}`;
      const subnet = this.opts.bridge?.subnet ?? await freeSubnet();
      this.bridge = { name, subnet };
      await runCmd('ip', ['link', 'del', name]);
      await must(runCmd('ip', ['link', 'add', name, 'type', 'bridge']), 'ip link add');
      await must(runCmd('ip', ['addr', 'add', subnet.replace(/\.0\/24$/, '.1/24'), 'dev', name]), 'ip addr add');
      await must(runCmd('ip', ['link', 'set', name, 'up']), 'ip link set up');
      netArgs = ['--bridge', name, '--iptables=true', '--ip-forward=false'];
    }
    this.proc = spawn('/usr/sbin/dockerd', ['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', `unix://${this.sock}`,
      '--pidfile', path.join(this.dir, 'pid'), ...netArgs, ...extraArgs], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(this.sock); i++) await sleep(100);
    for (let i = 0; i < 100; i++) { if ((await this.docker(['version'])).code === 0) return; await sleep(100); }
    throw new Error('dockerd did not start');
  }

  docker(args: string[], input?: string): Promise<RunResult> {
    return runCmd(DOCKER, args, { env: { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'config') }, input, timeoutMs: 600_000 });
  }

  /** Imports the offline busybox image (scripts/busybox-image, as TestDaemon.loadBusybox does for berth). */
  async loadBusybox(): Promise<void> {
    const tar = await new Promise<Buffer>((resolve, reject) => execFile('bash', [path.join(REPO, 'scripts/busybox-image'), '--tar'], { encoding: 'buffer', maxBuffer: 64 << 20 }, (e, out) => (e ? reject(e) : resolve(out))));
    const tarFile = path.join(this.dir, 'busybox.tar');
    writeFileSync(tarFile, tar);
    await must(runCmd('sh', ['-c', `${DOCKER} import -c 'CMD ["sh"]' - busybox:latest < ${tarFile}`], { env: { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'config') } }), 'docker import');
  }

  /** dockerd's pid (while it runs) */
  get pid(): number | undefined { return this.proc?.pid; }

  async stop(): Promise<void> {
    const list = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (list.length) await this.docker(['rm', '-f', ...list]);
    // dockerd keeps its networks (bridges, rules) across restarts; remove them while it still knows them
    const bridges = this.bridge ? [this.bridge.name, ...await this.userBridges()] : [];
    if (this.bridge) await this.docker(['network', 'prune', '-f']);
    if (this.proc && this.proc.exitCode === null) { const e = new Promise((r) => this.proc!.once('exit', r)); this.proc.kill('SIGTERM'); await e; }
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir)).reverse()) await runCmd('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.bridge) await removeDockerNetworking(bridges);
  }

  /** Bridge devices of the user-defined bridge networks (br-<12 hex of the id> unless named). */
  private async userBridges(): Promise<string[]> {
    const ids = (await this.docker(['network', 'ls', '-q', '--filter', 'driver=bridge'])).stdout.split('\n').filter(Boolean);
    if (!ids.length) return [];
    const r = await this.docker(['network', 'inspect', '-f', '{{.Id}} {{index .Options "com.docker.network.bridge.name"}}', ...ids]);
    return r.stdout.split('\n').filter(Boolean).map((l) => { const [id, name] = l.split(' '); return name || `br-${id.slice(0, 12)}`; });
  }
}

/** What a dockerd with --iptables leaves behind when it stops: its rules in the built-in chains, its DOCKER*
 * chains (only when no other dockerd with iptables is running: they are shared) and the bridge devices. */
async function removeDockerNetworking(bridges: string[]): Promise<void> {
  const cmdline = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return '--iptables=false'; } };
  const alone = !pidsByName('dockerd').some((p) => !cmdline(p).includes('--iptables=false'));
  const onBridge = (r: string) => bridges.some((b) => r.includes(`-i ${b} `) || r.includes(`-o ${b} `) || r.endsWith(` ${b}`));
  for (const table of ['filter', 'nat']) {
    const rules = (await runCmd('iptables', ['-t', table, '-S'])).stdout.split('\n');
    for (const r of rules) {
      if (!/^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /.test(r)) continue;
      if (onBridge(r) || (alone && / -j DOCKER(-[A-Z0-9-]+)?$/.test(r))) await runCmd('iptables', ['-t', table, '-D', ...r.slice(3).split(' ')]);
    }
    if (!alone) continue;
    const chains = rules.filter((r) => /^-N DOCKER/.test(r)).map((r) => r.slice(3));
    for (const c of chains) await runCmd('iptables', ['-t', table, '-F', c]);
    for (const c of chains) await runCmd('iptables', ['-t', table, '-X', c]);
  }
  for (const b of bridges) await runCmd('ip', ['link', 'del', b]);
}
