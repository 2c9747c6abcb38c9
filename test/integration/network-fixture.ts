// Shared fixture of the network integration tests (root): a NetworkManager on a test-only bridge, subnet, data
// and exec root, helpers to look at the host, and a cleanup that leaves the machine as it was even after a failure.
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { promises as fs, appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { NetworkManager } from '../../src/network';
import { hostRoutes, overlaps, parseCidr, hostAddresses } from '../../src/network/ipv4';

export const isRoot = process.getuid?.() === 0;
const ENV = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` };

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
export function trySh(cmd: string, args: string[]): string | undefined {
  try { return sh(cmd, args); } catch { return undefined; }
}
export function iptablesRestore(text: string): void {
  execFileSync('iptables-restore', ['-w', '--noflush'], { env: ENV, input: text, stdio: ['pipe', 'ignore', 'pipe'] });
}

export const newId = () => randomBytes(32).toString('hex');


/** A /24 in 10.234.0.0/16 that no host route or address uses. */
export async function freeTestSubnet(): Promise<string> {
  const taken = [...(await hostRoutes()).map((r) => r.dst), ...hostAddresses().map((a) => a.cidr)];
  for (let i = 0; i < 256; i++) {
    const c = `10.234.${(Math.floor(Math.random() * 250) + i) % 250}.0/24`;
    if (!taken.some((t) => overlaps(t, parseCidr(c)))) return c;
  }
  throw new Error('no free test subnet');
}

/** The host's primary IPv4 address (not loopback, not a bridge of ours), if any. */
export function primaryAddress(exclude: string): string | undefined {
  // the interface of the default route first: other engines' bridges (test daemons, dockerd) come and go
  const routeDev = readFileSync('/proc/net/route', 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === '00000000' && f[7] === '00000000')?.[0];
  const ifs = os.networkInterfaces();
  const viaRoute = routeDev && routeDev !== exclude ? ifs[routeDev]?.find((a) => a.family === 'IPv4' && !a.internal) : undefined;
  if (viaRoute) return viaRoute.address;
  for (const [dev, addrs] of Object.entries(ifs)) {
    if (dev === 'lo' || dev === exclude || dev.startsWith('vb') || dev.startsWith('berth')) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export interface HostSnapshot { links: string[]; rules: string[]; mounts: string[] }

export class NetFixture {
  readonly tag = 'bt' + randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'berth-net-test-'));
  readonly dataRoot = path.join(this.dir, 'data');
  readonly execRoot = path.join(this.dir, 'run');
  readonly www = path.join(this.dir, 'www');
  subnet = '';
  mgr!: NetworkManager;
  /** container ids used by the test (to find their veths even when they are off the bridge) */
  readonly ids = new Set<string>();
  private children: ChildProcess[] = [];
  private ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  async open(): Promise<NetworkManager> {
    sweepDeadRuns();
    writeFileSync(path.join(this.dir, 'owner'), `${process.pid} ${this.tag}\n`);
    this.subnet ||= await freeTestSubnet();
    await fs.mkdir(this.www, { recursive: true });
    await fs.writeFile(path.join(this.www, 'index.html'), `hello from ${this.tag}\n`);
    this.mgr = await NetworkManager.open({ dataRoot: this.dataRoot, execRoot: this.execRoot, bridgeName: this.tag, subnet: this.subnet });
    return this.mgr;
  }

  /** Our part of the host: links named after the tag or on our bridge, our rules, our namespace mounts. */
  snapshot(): HostSnapshot {
    const all = new Set(sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).filter(Boolean));
    const mine = new Set([this.tag, ...this.ourVeths(), ...[...this.ids].map((id) => this.mgr?.vethName(id))]);
    const links = [...all].filter((n) => mine.has(n)).sort();
    const rules = ['nat', 'filter'].flatMap((t) => (trySh('iptables-save', ['-t', t]) ?? '').split('\n'))
      .filter((l) => l.startsWith('-A') && l.includes(this.tag)).sort();
    const spare = new Set(this.mgr?.spareNetns() ?? []);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(this.execRoot) && !spare.has(m)).sort();
    return { links, rules, mounts };
  }

  /** snapshot once background refills are done */
  async quiet(): Promise<HostSnapshot> {
    await this.mgr.settle();
    return this.snapshot();
  }

  /** veths attached to our bridge plus any whose name our manager would give. */
  ourVeths(): Set<string> {
    const out = new Set<string>();
    for (const l of (trySh('ip', ['-o', 'link', 'show', 'master', this.tag]) ?? '').split('\n')) {
      const n = l.split(': ')[1]?.split('@')[0];
      if (n) out.add(n);
    }
    return out;
  }

  id(): string {
    const id = newId();
    this.ids.add(id);
    return id;
  }

  vethExists(name: string): boolean {
    return trySh('ip', ['link', 'show', 'dev', name]) !== undefined;
  }

  /** Runs a command inside a namespace file. */
  inNs(netns: string, cmd: string, args: string[]): string {
    return sh('nsenter', [`--net=${netns}`, cmd, ...args]);
  }

  /** busybox httpd on :80 inside the namespace; killed by cleanup(). */
  async serveHttp(netns: string, ip: string): Promise<void> {
    const child = spawn('nsenter', [`--net=${netns}`, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', this.www], { stdio: 'ignore', env: ENV });
    this.children.push(child);
    if (child.pid) appendFileSync(path.join(this.dir, 'children'), `${child.pid}\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      try { await httpGet(`http://${ip}:80/`, 500); return; } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** HTTP GET from inside a namespace (node as the client: no curl/wget needed). */
  httpGetFromNs(netns: string, url: string): string {
    const js = `require('http').get(${JSON.stringify(url)},{timeout:3000},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{process.stdout.write(b)})}).on('error',e=>{console.error(e.message);process.exit(1)}).on('timeout',function(){this.destroy(new Error('timeout'))})`;
    return sh('nsenter', [`--net=${netns}`, process.execPath, '-e', js]);
  }

  async cleanup(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    if (this.mgr) await this.mgr.destroy().catch((e) => console.error('destroy failed:', e));
    // belt and braces: whatever destroy() could not remove
    removeLeftovers(this.dir, this.tag, [...this.snapshot().links]);
    await fs.rm(this.dir, { recursive: true, force: true });
    // ip_forward back to what it was, unless another engine's bridge network now relies on it
    const others = (trySh('iptables-save', ['-t', 'filter']) ?? '').includes(':BERTH-FWD-') || trySh('ip', ['link', 'show', 'docker0']) !== undefined;
    if (this.ipForward === '0' && !others) await fs.writeFile('/proc/sys/net/ipv4/ip_forward', '0').catch(() => undefined);
  }
}

/** Removes what a test run with this temp dir and tag may have left: mounts, veths, bridge, rules. */
function removeLeftovers(dir: string, tag: string, links: string[] = []): void {
  for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4])) {
    if (m && m.startsWith(dir + '/')) trySh('umount', ['-l', m]);
  }
  const onBridge = (trySh('ip', ['-o', 'link', 'show', 'master', tag]) ?? '').split('\n').map((l) => l.split(': ')[1]?.split('@')[0]);
  for (const v of new Set([...links, ...onBridge])) if (v && v !== tag) trySh('ip', ['link', 'del', v]);
  trySh('ip', ['link', 'del', tag]);
  for (const t of ['nat', 'filter']) {
    const lines = (trySh('iptables-save', ['-t', t]) ?? '').split('\n');
    const del = lines.filter((l) => l.startsWith('-A') && l.includes(tag)).map((l) => '-D' + l.slice(2));
    const chains = lines.filter((l) => l.startsWith(':') && l.includes(tag)).map((l) => l.slice(1).split(' ')[0]);
    if (del.length || chains.length) {
      try {
        iptablesRestore([`*${t}`, ...del, ...chains.flatMap((c) => [`-F ${c}`, `-X ${c}`]), 'COMMIT', ''].join('\n'));
      } catch (e) { console.error('iptables cleanup failed:', e); }
    }
  }
}

/** Leftovers of test runs that were killed (their process is gone): swept before a new run. */
function sweepDeadRuns(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith('berth-net-test-')) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner: string[];
    try { owner = readFileSync(path.join(dir, 'owner'), 'utf8').trim().split(' '); } catch { continue; }
    const [pid, tag] = owner;
    let alive = true;
    try { process.kill(Number(pid), 0); } catch { alive = false; }
    if (alive || !/^bt[0-9a-f]{6}$/.test(tag)) continue;
    // servers the dead run started (recorded by pid; killed only if still running from that run's directory)
    let children: string[] = [];
    try { children = readFileSync(path.join(dir, 'children'), 'utf8').split('\n').filter(Boolean); } catch { /* none */ }
    for (const child of children) {
      const cmdline = (() => { try { return readFileSync(`/proc/${child}/cmdline`, 'utf8'); } catch { return ''; } })();
      if (cmdline.includes(dir)) try { process.kill(Number(child), 'SIGKILL'); } catch { /* gone */ }
    }
    removeLeftovers(dir, tag);
    trySh('rm', ['-rf', dir]);
  }
}

export function httpGet(url: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}
