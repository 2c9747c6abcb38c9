// A dedicated unprivileged user for the rootless tests (and bench/rootless): made with useradd and given subordinate
// ids and a runtime directory by `berth rootless setup`, its daemon started with `berth daemon` as that user,
// its commands (berth, the docker CLI) run through runuser. Everything is undone by remove(): the user's processes
// (found by uid, killed by pid), its home, its runtime directory and its /etc/subuid and /etc/subgid lines.
import { spawn, ChildProcess, execFile } from 'child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'fs';
import * as http from 'http';
import * as path from 'path';
import { REPO, RunResult } from './daemon';

export interface IdRange { start: number; count: number }

export function sh(file: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? '/', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    // a command may exit without reading all its input (that is its right): the broken pipe is not our failure
    child.stdin!.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin!.end(opts.input); else child.stdin!.end();
  });
}

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

export class RootlessUser {
  uid = 0;
  gid = 0;
  home = '';
  subuids: IdRange = { start: 0, count: 0 };
  daemon?: ChildProcess;
  log = '';
  /** where the user runs berth from: this checkout when the user can read it, else a copy of what runs */
  root = REPO;

  /** `withSubIds: false` makes a user without subordinate ids (the bad-input test). */
  constructor(readonly name: string, private readonly withSubIds = true) {}

  get runtimeDir(): string { return `/run/user/${this.uid}`; }
  get execRoot(): string { return `${this.runtimeDir}/berth`; }
  get socket(): string { return `${this.execRoot}/berth.sock`; }
  get host(): string { return `unix://${this.socket}`; }
  get dataRoot(): string { return `${this.home}/.local/share/berth`; }

  async create(): Promise<void> {
    const add = await sh('useradd', ['-m', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', this.name]);
    if (add.code !== 0) throw new Error(`useradd failed: ${add.stderr}`);
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${this.name}:`))!.split(':');
    [this.uid, this.gid, this.home] = [Number(pw[2]), Number(pw[3]), pw[5]];
    if (this.withSubIds) {
      const setup = await sh(path.join(REPO, 'bin/berth'), ['rootless', 'setup', this.name]);
      if (setup.code !== 0) throw new Error(`berth rootless setup failed: ${setup.stderr}`);
      const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${this.name}:`))!.split(':');
      this.subuids = { start: Number(line[1]), count: Number(line[2]) };
    } else {
      await sh('install', ['-d', '-m', '0700', '-o', String(this.uid), '-g', String(this.gid), this.runtimeDir]);
    }
    // the user must be able to read the code it runs (CI may clone under a private directory)
    if ((await this.exec('test', ['-r', path.join(REPO, 'dist/daemon.js'), '-a', '-x', path.join(REPO, 'src/runtime/shim/berth-shim')])).code !== 0) {
      this.root = `${this.home}/berth`;
      const parts = ['bin', 'dist', 'package.json', 'node_modules/koffi', 'src/runtime/shim/berth-shim', 'src/runtime/seccomp/berth-seccomp', 'scripts/busybox-image'];
      for (const p of parts) {
        if (!existsSync(path.join(REPO, p))) continue;
        await sh('mkdir', ['-p', path.dirname(path.join(this.root, p))]);
        await sh('cp', ['-a', path.join(REPO, p), path.join(this.root, p)]);
      }
      await sh('chown', ['-R', `${this.uid}:${this.gid}`, this.root]);
    }
  }

  /** setpriv becomes the user and execs (no supervising process, unlike runuser: signals reach the command itself) */
  private asUser(): string[] {
    return ['--reuid', String(this.uid), '--regid', String(this.gid), '--init-groups', '--reset-env'];
  }

  /** A command as the user, with its login environment (HOME, XDG_RUNTIME_DIR), from its home directory. */
  exec(file: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    const env = Object.entries({ HOME: this.home, USER: this.name, XDG_RUNTIME_DIR: this.runtimeDir, PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', ...opts.env }).map(([k, v]) => `${k}=${v}`);
    return sh('setpriv', [...this.asUser(), '--', 'env', '-i', ...env, file, ...args], { input: opts.input, timeoutMs: opts.timeoutMs, cwd: this.home || '/' });
  }

  berth(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    // the CLI as shipped (bin/berth: the Bun-built executable), exec'd directly
    return this.exec(path.join(this.root, 'bin/berth'), args, opts);
  }

  /** The real docker CLI against the rootless socket. */
  docker(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec('/usr/local/bin/docker', args, { ...opts, env: { DOCKER_HOST: this.host, ...opts.env } });
  }

  /** `berth daemon` as the user (rootless by itself); resolves when the socket answers. */
  async startDaemon(args: string[] = []): Promise<void> {
    const env = [`HOME=${this.home}`, `USER=${this.name}`, `XDG_RUNTIME_DIR=${this.runtimeDir}`, 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'];
    const proc = spawn('setpriv', [...this.asUser(), '--', 'env', '-i', ...env, path.join(this.root, 'bin/berth'), 'daemon', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: this.home });
    this.daemon = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    proc.stderr!.on('data', (d) => { this.log += String(d); });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (existsSync(this.socket) && (await this.ping())) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`rootless daemon did not start:\n${this.log}`);
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.request({ socketPath: this.socket, path: '/_ping', timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  api(method: string, urlPath: string): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, method, path: urlPath }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => { let body: unknown = text; try { body = JSON.parse(text); } catch { /* text */ } resolve({ status: res.statusCode ?? 0, body }); });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** SIGTERM to the daemon (berth's rootless parent) and wait for it. */
  async stopDaemon(): Promise<number | null> {
    const p = this.daemon;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }

  /** Pids of processes running as the user or as one of its subordinate uids. */
  processes(): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const uid = statSync(`/proc/${name}`).uid;
        if (uid === this.uid || (this.subuids.count && uid >= this.subuids.start && uid < this.subuids.start + this.subuids.count)) out.push(Number(name));
      } catch { /* gone */ }
    }
    return out;
  }

  /** Stops the daemon, kills whatever the user still runs (by pid), removes the user and what it owned. */
  async remove(): Promise<void> {
    await this.stopDaemon().catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      const pids = this.processes();
      if (!pids.length) break;
      for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (this.uid) {
      // mounts made in the user's namespaces vanish with them; the runtime directory is a plain directory on the host
      rmSync(this.runtimeDir, { recursive: true, force: true });
    }
    await sh('userdel', ['-r', '-f', this.name]);
    // userdel removes the subordinate ranges too; make sure
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      const text = readFileSync(f, 'utf8');
      if (text.split('\n').some((l) => l.startsWith(`${this.name}:`))) await sh('sed', ['-i', `/^${this.name}:/d`, f]);
    }
  }
}

/** A short user name unique to this test process. */
export function testUserName(tag: string): string {
  return `brl${tag}${process.pid % 100000}`.slice(0, 31);
}
