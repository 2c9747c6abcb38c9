// Starts a throw-away berth daemon for a test file: its own data root, exec root, socket, bridge and
// subnet, so tests never touch /var/lib/berth or a real daemon. Everything is removed in stop().
import { spawn, ChildProcess, execFile } from 'child_process';
import { mkdtempSync, existsSync, rmSync, readFileSync } from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as os from 'os';

export const REPO = path.resolve(__dirname, '../../..');
/** The berth command as shipped (the Bun-built executable, or the Node launcher where Bun was not available):
 * tests exec it directly, never through `node`, so they run what users run. */
export const BERTH = path.join(REPO, 'bin/berth');

let counter = 0;

export interface RunResult { code: number; stdout: string; stderr: string }

export function runCmd(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    // a command may exit without reading all its input (that is its right): the broken pipe is not our failure
    child.stdin!.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin!.end(opts.input); else child.stdin!.end();
  });
}

export class TestDaemon {
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly host: string;
  bridge: string;
  subnet: string;
  proc?: ChildProcess;
  log = '';
  /** more daemon flags (e.g. -D for step timings in the log) */
  extraArgs: string[] = [];
  /** more environment for the daemon process (e.g. BERTH_FAILPOINTS for the fault tests) */
  env: NodeJS.ProcessEnv = {};

  /** `network` overrides the bridge name and subnet (a benchmark's daemon keeps to its own range). */
  constructor(name = 'itest', network?: { bridge: string; subnet: string }) {
    const n = (process.pid % 200) + (counter++);
    this.dir = mkdtempSync(path.join(os.tmpdir(), `berth-${name}-`));
    this.dataRoot = path.join(this.dir, 'data');
    this.execRoot = path.join(this.dir, 'run');
    this.socket = path.join(this.execRoot, 'berth.sock');
    this.host = `unix://${this.socket}`;
    this.bridge = network?.bridge ?? `bt${process.pid % 10000}x${counter}`;
    this.subnet = network?.subnet ?? `10.${200 + (n % 50)}.${n % 250}.0/24`;
  }

  async start(): Promise<void> {
    this.proc = spawn(BERTH, ['daemon', '--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', this.host, '--bridge', this.bridge, '--bip', this.subnet, ...this.extraArgs], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.env } });
    this.proc.stderr!.on('data', (d) => { this.log += String(d); });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (existsSync(this.socket)) {
        try { await this.api('GET', '/_ping'); return; } catch { /* not yet */ }
      }
      if (!this.running()) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`daemon did not start:\n${this.log}`);
  }

  /** The daemon process is alive (neither exited nor killed by a signal). */
  running(): boolean { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  /** Resolves when the daemon process has exited (a failpoint crashed it); rejects after `timeoutMs`. */
  async exited(timeoutMs = 30_000): Promise<NodeJS.Signals | number | null> {
    const p = this.proc;
    if (!p) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.signalCode ?? p.exitCode;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`daemon still running after ${timeoutMs} ms`)), timeoutMs);
      p.once('exit', (code, sig) => { clearTimeout(t); resolve(sig ?? code); });
    });
  }

  /** SIGKILL: the crash the survival tests simulate. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running()) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async stopDaemon(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running()) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  /** Removes every container (killing them), stops the daemon and removes its files. */
  async stop(): Promise<void> {
    try {
      if (this.running()) {
        const list = (await this.api('GET', '/containers/json?all=1').catch(() => ({ body: [] }))).body as Array<{ Id: string }>;
        await Promise.all(list.map((c) => this.api('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined)));
      }
    } finally {
      if (process.env.BERTH_TEST_DEBUG) process.stderr.write(`--- daemon log (${this.dir})\n${this.log}\n`);
      await this.stopDaemon();
      await cleanupLeftovers(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  berth(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    // the test's own client config dir: credentials from login tests never touch ~/.docker
    return runCmd(BERTH, args, { ...opts, env: { BERTH_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'docker-config'), ...opts.env } });
  }

  docker(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return runCmd('/usr/local/bin/docker', args, { ...opts, env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'docker-config'), ...opts.env } });
  }

  api(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request({ socketPath: this.socket, method, path: urlPath, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Imports the offline busybox image into this daemon (the tar from scripts/busybox-image, through the API). */
  async loadBusybox(name = 'busybox:latest'): Promise<void> {
    const tar = await new Promise<Buffer>((resolve, reject) => {
      execFile('bash', [path.join(REPO, 'scripts/busybox-image'), '--tar'], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`busybox-image failed: ${stderr}`)); else resolve(stdout);
      });
    });
    const [repo, tag] = name.split(':');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, method: 'POST', path: `/images/create?fromSrc=-&repo=${repo}&tag=${tag ?? 'latest'}&changes=${encodeURIComponent('CMD ["sh"]')}`, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': tar.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(tar);
    });
    if (status !== 200) throw new Error(`import of ${name} failed: HTTP ${status}`);
  }
}

/** Unmounts anything left under the test's directories and removes its bridge. */
async function cleanupLeftovers(d: TestDaemon): Promise<void> {
  // The test daemon's network (bridge, its own iptables chains, netns files) goes with it.
  const { NetworkManager } = await import('../../src/network');
  const net = await NetworkManager.open({ dataRoot: d.dataRoot, execRoot: d.execRoot, bridgeName: d.bridge, subnet: d.subnet, warm: false }).catch(() => undefined);
  await net?.destroy().catch(() => undefined);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(d.dir));
  for (const m of mounts.sort().reverse()) await runCmd('umount', ['-l', m]);
  // only the daemon's own bridge: a test may point a second daemon at another one's bridge (it must refuse it)
  const alias = (await runCmd('cat', [`/sys/class/net/${d.bridge}/ifalias`])).stdout.trim();
  if (!alias || alias === `berth:${path.resolve(d.dataRoot)}`) await runCmd('ip', ['link', 'del', d.bridge]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
