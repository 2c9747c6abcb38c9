// A private dockerd (Debian's docker.io) for compat tests: its own data root, exec root, pidfile and socket, no
// default bridge and no iptables rules (--bridge none --iptables=false), and user-defined networks from a given
// address pool; stop() removes its containers, networks (their br-* devices) and files.
import { spawn, ChildProcess, execFile } from 'child_process';
import { mkdtempSync, existsSync, rmSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { runCmd, sleep, RunResult, REPO } from './daemon';

export class PrivateDockerd {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'test-dockerd-'));
  readonly socket = path.join(this.dir, 'docker.sock');
  readonly host = `unix://${this.socket}`;
  private proc?: ChildProcess;

  /** `pool`: where compose's networks get their subnets (e.g. 10.61.224.0/20, /24 each). */
  constructor(private readonly pool: string) {}

  static available(): boolean { return existsSync('/usr/sbin/dockerd'); }

  async start(): Promise<void> {
    this.proc = spawn('/usr/sbin/dockerd', ['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', this.host,
      '--pidfile', path.join(this.dir, 'pid'), '--bridge', 'none', '--iptables=false', '--ip-forward=false', '--ip-masq=false',
      '--default-address-pool', `base=${this.pool},size=24`], { stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      if (existsSync(this.socket) && (await this.docker(['version'])).code === 0) return;
      if (this.proc.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error('dockerd did not start');
  }

  docker(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return runCmd('/usr/local/bin/docker', args, { env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'config'), ...opts.env }, input: opts.input, timeoutMs: 120_000 });
  }

  async loadBusybox(): Promise<void> {
    const tar = await new Promise<Buffer>((resolve, reject) => execFile('bash', [path.join(REPO, 'scripts/busybox-image'), '--tar'], { encoding: 'buffer', maxBuffer: 64 << 20 }, (e, out) => (e ? reject(e) : resolve(out))));
    const file = path.join(this.dir, 'busybox.tar');
    writeFileSync(file, tar);
    const r = await runCmd('sh', ['-c', `/usr/local/bin/docker import -c 'CMD ["sh"]' - busybox:latest < ${file}`], { env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'config') } });
    if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr}`);
  }

  async stop(): Promise<void> {
    const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await this.docker(['rm', '-f', ...ids]);
    const nets = (await this.docker(['network', 'ls', '-q', '--filter', 'type=custom'])).stdout.split('\n').filter(Boolean);
    const bridges = nets.map((id) => `br-${id.slice(0, 12)}`);
    if (nets.length) await this.docker(['network', 'rm', ...nets]);
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    for (const b of bridges) await runCmd('ip', ['link', 'del', b]);
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir)).reverse()) await runCmd('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
