// A dashboard server for a test: `bin/berth-node desktop-server` (the process `berth desktop` starts) on a free
// 127.0.0.1 port against a test daemon, with its state directory in the test's own temp dir. launchUrl()
// asks its control socket for a fresh one-time login link.
import { spawn, ChildProcess } from 'child_process';
import * as http from 'http';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO, sleep } from './daemon';

/** The Node launcher: the dashboard server is a Node process whatever the CLI runs on. */
export const BERTH_NODE = path.join(REPO, 'bin/berth-node');

export function controlRequest<T>(sock: string, method: string, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => { try { resolve(JSON.parse(b) as T); } catch (err) { reject(err); } });
    });
    req.on('error', reject);
    req.end();
  });
}

export class TestDashboard {
  readonly stateDir = mkdtempSync(path.join(os.tmpdir(), 'berth-desktop-'));
  readonly sock = path.join(this.stateDir, 'control.sock');
  proc?: ChildProcess;
  port = 0;
  log = '';

  constructor(readonly engineHost: string) {}

  async start(): Promise<void> {
    this.proc = spawn(process.execPath, [BERTH_NODE, 'desktop-server', '--engine-host', this.engineHost, '--port', '0', '--state-dir', this.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d) => { this.log += String(d); });
    this.proc.stderr!.on('data', (d) => { this.log += String(d); });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      const s = await controlRequest<{ port: number }>(this.sock, 'GET', '/status').catch(() => undefined);
      if (s) { this.port = s.port; return; }
      await sleep(50);
    }
    throw new Error(`dashboard server did not start:\n${this.log}`);
  }

  get origin(): string { return `http://127.0.0.1:${this.port}`; }

  async launchUrl(): Promise<string> {
    return (await controlRequest<{ url: string }>(this.sock, 'POST', '/token')).url;
  }

  async status(): Promise<{ pages: number; engineUp: boolean; pid: number }> {
    return controlRequest(this.sock, 'GET', '/status');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
