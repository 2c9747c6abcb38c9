// Client side of berth-shim (see shim/PROTOCOL.md): spawn it, talk to its control socket, attach to
// its output, and learn of the process's exit when the shim goes away (its control connection closes).
import { spawn } from 'child_process';
import { existsSync, mkdirSync, readFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import { builtBinary } from './binaries';
import { ShimLauncher } from './shim-launcher';

export interface ExitStatus { exitCode: number; signal: number | null; finishedAt: string; oomKilled: boolean }

export interface ShimOptions {
  runtimePath: string; runtimeRoot: string; id: string; bundle: string; stateDir: string;
  tty: boolean; stdin: boolean; stdinOnce: boolean; logPath?: string;
  /** 'cri': the log is written in the Kubernetes CRI format (the CRI server's containers); default json-file */
  logFormat?: 'json-file' | 'cri';
  /** native: processFile is the shim's own exec file (native-exec.c), not an OCI process for the runtime */
  exec?: { processFile: string; execId: string; native?: boolean };
  /** create and start in one `run --detach` at `start` (one runtime process instead of two) */
  run?: boolean;
  /** connect to attach.sock at spawn, beside ctl.sock, for the first `attach()` (see there) */
  attachEarly?: boolean;
}

export function shimBinary(): string {
  const found = process.env.BERTH_SHIM && existsSync(process.env.BERTH_SHIM) ? process.env.BERTH_SHIM : builtBinary('src/runtime/shim/berth-shim');
  if (!found) throw new Error('berth-shim not found: run `make -C src/runtime/shim` (scripts/setup does)');
  return found;
}

/** One launcher per shim binary (the daemon has one; BERTH_SHIM may name another in tests). */
const launchers = new Map<string, ShimLauncher>();

/**
 * Starts the shim and returns its one-line report: through the launcher (no fork of this process), or, where the
 * launcher cannot run at all, by spawning it directly. BERTH_SHIM_LAUNCHER=0 always spawns directly.
 */
async function spawnReport(binary: string, args: string[]): Promise<string> {
  if (process.env.BERTH_SHIM_LAUNCHER !== '0') {
    let launcher = launchers.get(binary);
    if (!launcher) launchers.set(binary, launcher = new ShimLauncher(binary));
    if (!launcher.broken) {
      try {
        return await launcher.launch([binary, ...args]);
      } catch (err) {
        if (!launcher.broken) throw err; // it ran and went away mid-request: the shim's fate is unknown
      }
    }
  }
  return spawnDirect(binary, args);
}

/** The shim as this process's own child, its sync pipe as fd 3. */
async function spawnDirect(binary: string, args: string[]): Promise<string> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true });
  const sync = child.stdio[3] as NodeJS.ReadableStream;
  const report = await new Promise<string>((resolve, reject) => {
    let text = '';
    sync.setEncoding('utf8');
    sync.on('data', (d: string) => { text += d; });
    sync.on('end', () => resolve(text));
    sync.on('error', reject);
    child.on('error', reject);
  });
  child.unref();
  return report;
}

export class Shim {
  private queue: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private buffer = '';
  /** set when we close the connection ourselves (daemon shutdown): that is not the process exiting. */
  private detached = false;
  /** the attach connection made at spawn (`attachEarly`), until `attach()` takes it */
  private early?: Promise<net.Socket>;
  readonly exited: Promise<ExitStatus>;

  private constructor(readonly stateDir: string, private readonly ctl: net.Socket) {
    ctl.setEncoding('utf8');
    ctl.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.queue.shift()?.resolve(line);
      }
    });
    this.exited = new Promise((resolve) => {
      ctl.on('error', () => { /* close follows */ });
      // The connection is half-open capable (attach needs that); a shim going away must still close it.
      ctl.on('end', () => ctl.destroy());
      ctl.on('close', () => {
        for (const q of this.queue.splice(0)) q.reject(new Error('container shim exited'));
        if (!this.detached) resolve(readExitStatus(stateDir));
      });
    });
  }

  /** Connect to a running shim (at spawn, and after a daemon restart). Undefined when none is listening. */
  static async connect(stateDir: string): Promise<Shim | undefined> {
    const sock = await connectUnix(path.join(stateDir, 'ctl.sock')).catch(() => undefined);
    return sock ? new Shim(stateDir, sock) : undefined;
  }

  static async spawn(opts: ShimOptions): Promise<Shim> {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 }); // tmpfs: no thread-pool round trip for it
    const args = ['--runtime', opts.runtimePath, '--runtime-root', opts.runtimeRoot, '--id', opts.id, '--bundle', opts.bundle, '--state-dir', opts.stateDir];
    if (opts.tty) args.push('--tty');
    if (opts.stdin) args.push('--stdin');
    if (opts.stdinOnce) args.push('--stdin-once');
    if (opts.logPath) args.push('--log-path', opts.logPath);
    if (opts.logFormat === 'cri') args.push('--log-format', 'cri');
    if (opts.exec) args.push('--exec', opts.exec.processFile, '--exec-id', opts.exec.execId, ...(opts.exec.native ? ['--native'] : []));
    else if (opts.run) args.push('--run');
    const report = await spawnReport(shimBinary(), args);
    let msg: { ready?: boolean; error?: string };
    try { msg = JSON.parse(report.trim().split('\n')[0] || '{}'); } catch { msg = { error: `container shim failed: ${report.trim() || 'no report'}` }; }
    if (!msg.ready) throw new Error(msg.error || 'container shim exited without reporting');
    // Both connect(2) calls happen here, in this tick (a unix socket connects at once): the shim wakes once for
    // both, and the attach connection is queued before any `start` the caller sends (the shim accepts it first).
    const ctl = connectUnix(path.join(opts.stateDir, 'ctl.sock'));
    const early = opts.attachEarly ? connectUnix(path.join(opts.stateDir, 'attach.sock')) : undefined;
    early?.catch(() => undefined); // (its failure is the taker's to see)
    const sock = await ctl.catch(() => undefined);
    if (!sock) {
      void early?.then((c) => c.destroy(), () => undefined);
      throw new Error('container shim is not listening');
    }
    const shim = new Shim(opts.stateDir, sock);
    shim.early = early;
    return shim;
  }

  request(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.ctl.destroyed) return reject(new Error('container shim exited'));
      this.queue.push({ resolve, reject });
      this.ctl.write(command + '\n');
    });
  }

  /** Starts the process; resolves with its host pid. */
  async start(): Promise<number> {
    const reply = await this.request('start');
    if (!reply.startsWith('ok')) throw new Error(reply.replace(/^error\s*/, '') || 'start failed');
    return parseInt(reply.slice(3), 10);
  }

  async resize(rows: number, cols: number): Promise<void> { await this.request(`resize ${rows} ${cols}`); }
  async closeStdin(): Promise<void> { await this.request('close-stdin'); }

  /** Continues the log in a new file at the same path (after it was renamed away). */
  async reopenLog(): Promise<void> {
    const reply = await this.request('reopen-log');
    if (!reply.startsWith('ok')) throw new Error(reply.replace(/^error\s*/, '') || 'reopen-log failed');
  }

  /**
   * A new attach connection: stdcopy-framed output from the shim, raw stdin to it. The first one is the
   * connection made at spawn with `attachEarly`: its connect(2) already happened, so a `start` sent before this
   * resolves still finds it attached.
   */
  attach(): Promise<net.Socket> {
    const early = this.early;
    this.early = undefined;
    return early ?? connectUnix(path.join(this.stateDir, 'attach.sock'));
  }

  /** Drops the control connection without affecting the process; `exited` then never resolves. */
  close(): void {
    this.detached = true;
    this.ctl.destroy();
    void this.early?.then((c) => c.destroy(), () => undefined);
    this.early = undefined;
  }
}

export async function readExitStatus(stateDir: string): Promise<ExitStatus> {
  let status: ExitStatus | undefined;
  // synchronous: a small file on tmpfs, read on every exit path (three thread-pool round trips otherwise)
  try { status = JSON.parse(readFileSync(path.join(stateDir, 'exit.json'), 'utf8')) as ExitStatus; } catch { /* none, or torn */ }
  return status ?? { exitCode: 255, signal: null, finishedAt: new Date().toISOString(), oomKilled: false };
}

export async function hasExitStatus(stateDir: string): Promise<boolean> {
  return existsSync(path.join(stateDir, 'exit.json'));
}

function connectUnix(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path: file, allowHalfOpen: true });
    sock.once('connect', () => { sock.removeListener('error', reject); resolve(sock); });
    sock.once('error', reject);
  });
}
