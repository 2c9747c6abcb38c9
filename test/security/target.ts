// The engines a security test runs against: berth always, and Debian's dockerd beside it when
// BERTH_SECURITY_DOCKERD=1 (scripts/security-table does that and prints the berth | dockerd table). Both are driven
// the same way: the real docker CLI and raw HTTP on their unix socket. Each engine gets its own data root, exec root,
// pid file, socket, bridge (bh*) and subnet (10.66.0.0/17), so it never meets a daemon of another test or engineer.
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { mkdtempSync, existsSync, rmSync, readFileSync, mkdirSync, writeFileSync, readdirSync } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, REPO } from '../helpers/daemon';

export type EngineKind = 'berth' | 'dockerd';

/** The docker CLI with a hard timeout: `docker run` forwards SIGTERM to the container and keeps waiting, so a timed
 * out client is killed with SIGKILL (a hung engine must fail the test, not stall it). */
export function dockerCli(host: string, configDir: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = require('child_process').execFile('/usr/local/bin/docker', args, {
      env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
    }, (err: (Error & { code?: unknown; killed?: boolean }) | null, stdout: string, stderr: string) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err?.killed ? `\n(killed after ${opts.timeoutMs ?? 120_000} ms)` : '') });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input); else child.stdin.end();
  });
}

/** Long versions of the slow tests (2,000 cp races, 100 GB bombs, 8 GB imports) run when this is set. */
export const LONG = !!process.env.BERTH_SECURITY_LONG;

export interface ApiAnswer { status: number; body: any; text: string; headers: Record<string, unknown> }

export interface Engine {
  readonly kind: EngineKind;
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly bridge: string;
  readonly subnet: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** the real docker CLI against this engine */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  api(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** the daemon's pid (for fd and memory counts) */
  pid(): number;
  /** the daemon's log so far (for a failing assertion's message) */
  log(): string;
  /** berth only: stop the daemon (containers keep running under their shims) and start it again */
  restart?(): Promise<void>;
}

let seq = 0;
/** A /24 inside 10.66.0.0/17 and a bh* bridge name, distinct per process and engine. */
function netFor(kind: EngineKind): { bridge: string; subnet: string; third: number } {
  const n = seq++;
  const third = ((process.pid % 60) * 2 + n) % 128;
  return { bridge: `bh${kind === 'berth' ? 'b' : 'd'}${process.pid % 100000}${n}`.slice(0, 15), subnet: `10.66.${third}.0/24`, third };
}

export function engineKinds(): EngineKind[] {
  const kinds: EngineKind[] = ['berth'];
  if (process.env.BERTH_SECURITY_DOCKERD && existsSync('/usr/sbin/dockerd')) kinds.push('dockerd');
  return kinds;
}

export function makeEngine(kind: EngineKind, name: string): Engine {
  return kind === 'berth' ? new BerthEngine(name) : new DockerdEngine(name);
}

/** One HTTP request on a unix socket; the body is JSON unless a Buffer/string is given. */
export function socketRequest(socket: string, method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 60_000): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    const h: Record<string, string | number> = { ...headers };
    if (data) { h['Content-Length'] = data.length; h['Content-Type'] ??= 'application/json'; }
    // agent: false — a connection of its own: a pooled keep-alive connection the daemon closed while this process was
    // busy (the fuzzers hold the event loop for seconds) would fail the next request with EPIPE
    const req = require('http').request({ socketPath: socket, method, path: urlPath, headers: h, timeout: timeoutMs, agent: false }, (res: any) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Writes raw bytes on a fresh connection and returns what the server answers until it closes or goes quiet. */
export function rawExchange(socket: string, bytes: Buffer | string, quietMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createConnection(socket);
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => { clearTimeout(timer); s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(done, quietMs); };
    s.on('connect', () => { s.write(bytes); arm(); });
    s.on('data', (c) => { chunks.push(c); arm(); });
    s.on('error', done);
    s.on('close', done);
  });
}

/** The status code of the first HTTP answer in a raw exchange (0 when the server sent nothing). */
export const rawStatus = (answer: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);

/** The busybox root file system tar from scripts/busybox-image (cached per process). */
let busyboxTar: Buffer | undefined;
export function busyboxRootfsTar(): Buffer {
  busyboxTar ??= execFileSync('bash', [path.join(REPO, 'scripts/busybox-image'), '--tar'], { maxBuffer: 64 << 20 });
  return busyboxTar;
}

/** Imports busybox (plus an optional extra layer of files) as `name` through POST /images/create?fromSrc=-. */
export async function importBusybox(e: Engine, name = 'busybox:latest', changes = 'CMD ["sh"]'): Promise<void> {
  const [repo, tag] = name.split(':');
  const r = await socketRequest(e.socket, 'POST', `/images/create?fromSrc=-&repo=${repo}&tag=${tag ?? 'latest'}&changes=${encodeURIComponent(changes)}`, busyboxRootfsTar(), { 'Content-Type': 'application/x-tar' }, 120_000);
  if (r.status !== 200 || /errorDetail/.test(r.text)) throw new Error(`import of ${name} into ${e.kind} failed: ${r.status} ${r.text.slice(0, 300)}`);
}

class BerthEngine implements Engine {
  readonly kind = 'berth' as const;
  private readonly d: TestDaemon;
  constructor(name: string) {
    const n = netFor('berth');
    this.d = new TestDaemon(`sec-${name}`, { bridge: n.bridge, subnet: n.subnet });
  }
  get dir() { return this.d.dir; }
  get dataRoot() { return this.d.dataRoot; }
  get execRoot() { return this.d.execRoot; }
  get socket() { return this.d.socket; }
  get bridge() { return this.d.bridge; }
  get subnet() { return this.d.subnet; }
  get daemon(): TestDaemon { return this.d; }
  start() { return this.d.start(); }
  stop() { return this.d.stop(); }
  docker(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) { return dockerCli(this.d.host, path.join(this.d.dir, 'docker-config'), args, opts); }
  api(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) { return socketRequest(this.socket, method, urlPath, body, headers); }
  pid() { return this.d.proc!.pid!; }
  log() { return this.d.log; }
  async restart() { await this.d.stopDaemon(); await this.d.start(); }
}

/** A private dockerd (Debian's docker.io): its own roots, pid file, socket, a bh* bridge of its own, no iptables
 * (its chains are global and other engineers' dockerds may use them), its own managed containerd. */
class DockerdEngine implements Engine {
  readonly kind = 'dockerd' as const;
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly bridge: string;
  readonly subnet: string;
  private proc?: ChildProcess;
  private logText = '';
  constructor(name: string) {
    const n = netFor('dockerd');
    this.dir = mkdtempSync(path.join(os.tmpdir(), `dockerd-sec-${name}-`));
    this.dataRoot = path.join(this.dir, 'data');
    this.execRoot = path.join(this.dir, 'run');
    this.socket = path.join(this.dir, 'docker.sock');
    this.bridge = n.bridge;
    this.subnet = n.subnet;
  }
  async start(): Promise<void> {
    mkdirSync(this.dataRoot, { recursive: true });
    const gw = this.subnet.replace(/\.0\/24$/, '.1/24');
    await runCmd('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await runCmd('ip', ['addr', 'add', gw, 'dev', this.bridge]);
    await runCmd('ip', ['link', 'set', this.bridge, 'up']);
    writeFileSync(path.join(this.dir, 'daemon.json'), '{}');
    this.proc = spawn('/usr/sbin/dockerd', [
      '--config-file', path.join(this.dir, 'daemon.json'), '--data-root', this.dataRoot, '--exec-root', this.execRoot,
      '--pidfile', path.join(this.dir, 'dockerd.pid'), '-H', `unix://${this.socket}`, '--bridge', this.bridge,
      '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--cgroup-parent', `/bhsec-${process.pid}`,
      '--log-level', 'warn', '--storage-driver', 'overlay2',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d) => { this.logText += String(d); });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (existsSync(this.socket)) {
        try { if ((await socketRequest(this.socket, 'GET', '/_ping', undefined, {}, 5000)).status === 200) return; } catch { /* not yet */ }
      }
      if (this.proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dockerd did not start:\n${this.logText}`);
  }
  async stop(): Promise<void> {
    try {
      if (this.proc && this.proc.exitCode === null) {
        const list = (await this.api('GET', '/containers/json?all=1').catch(() => ({ body: [] }))).body as Array<{ Id: string }>;
        await Promise.all((list ?? []).map((c) => this.api('DELETE', `/containers/${c.Id}?force=1&v=1`).catch(() => undefined)));
        const exited = new Promise((r) => this.proc!.once('exit', r));
        this.proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
      }
    } finally {
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(this.dir));
      for (const m of mounts.sort().reverse()) await runCmd('umount', ['-l', m]);
      await runCmd('ip', ['link', 'del', this.bridge]);
      // the cgroups dockerd made under its own parent
      for (const base of ['/sys/fs/cgroup', ...safeDirs('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}`)]) {
        const p = `${base}/bhsec-${process.pid}`;
        if (existsSync(p)) await runCmd('find', [p, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
      }
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
  docker(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    return dockerCli(`unix://${this.socket}`, path.join(this.dir, 'docker-config'), args, opts);
  }
  api(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) { return socketRequest(this.socket, method, urlPath, body, headers); }
  pid() { return this.proc!.pid!; }
  log() { return this.logText; }
}

function safeDirs(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** A file on the host that no test may read through a container, nor write: its token, and a snapshot of its
 * directory to compare at the end. */
export class HostMarker {
  readonly dir: string;
  readonly file: string;
  readonly token: string;
  private readonly before: string;
  constructor(label: string) {
    this.dir = mkdtempSync(path.join('/tmp', `berth-sec-marker-${label}-`));
    this.token = `host-secret-${label}-${process.pid}-${Math.random().toString(36).slice(2)}`;
    this.file = path.join(this.dir, 'secret');
    writeFileSync(this.file, this.token + '\n', { mode: 0o600 });
    this.before = this.snapshot();
  }
  snapshot(): string {
    return execFileSync('find', [this.dir, '-printf', '%p %y %m %s %u:%g %T@\\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
  }
  /** Throws when anything under the marker directory changed. */
  check(): void {
    const now = this.snapshot();
    if (now !== this.before) throw new Error(`the host marker directory ${this.dir} changed:\nbefore:\n${this.before}\nnow:\n${now}`);
    if (readFileSync(this.file, 'utf8') !== this.token + '\n') throw new Error('the host marker file was rewritten');
  }
  remove(): void { rmSync(this.dir, { recursive: true, force: true }); }
}

/** Open file descriptors and resident memory of a process. */
export function processUsage(pid: number): { fds: number; rssKiB: number } {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { fds, rssKiB };
}
