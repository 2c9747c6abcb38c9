// Shared by the benchmarks: timing, a private dockerd (Debian's docker.io) as the anchor, and reporting.
import { spawn, ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { runCmd, sleep, RunResult } from '../test/helpers/daemon';

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

export async function must(p: Promise<RunResult>, what: string): Promise<RunResult> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  return r;
}

/** Prints one line: berth's figure, the anchor's, and their ratio. */
export function report(what: string, berth: number, anchor: number, anchorName: string): void {
  console.log(`${what.padEnd(44)} berth ${berth.toFixed(1).padStart(8)}   ${anchorName} ${anchor.toFixed(1).padStart(8)}   ratio ${(berth / anchor).toFixed(2)}`);
}

/** A private dockerd on its own data root and socket, without networking side effects on the host. */
export class Dockerd {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dockerd-'));
  sock = path.join(this.dir, 'docker.sock');
  proc?: ChildProcess;

  async start(extraArgs: string[] = []): Promise<void> {
    if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd missing: bench/run installs docker.io');
    this.proc = spawn('/usr/sbin/dockerd', ['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', `unix://${this.sock}`,
      '--pidfile', path.join(this.dir, 'pid'), '--bridge', 'none', '--iptables=false', '--ip-forward=false', ...extraArgs], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(this.sock); i++) await sleep(100);
    for (let i = 0; i < 100; i++) { if ((await this.docker(['version'])).code === 0) return; await sleep(100); }
    throw new Error('dockerd did not start');
  }

  docker(args: string[], input?: string): Promise<RunResult> {
    return runCmd(DOCKER, args, { env: { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'config') }, input, timeoutMs: 600_000 });
  }

  async stop(): Promise<void> {
    const list = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (list.length) await this.docker(['rm', '-f', ...list]);
    if (this.proc && this.proc.exitCode === null) { const e = new Promise((r) => this.proc!.once('exit', r)); this.proc.kill('SIGTERM'); await e; }
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir)).reverse()) await runCmd('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
