// The berth CLI as shipped — bin/berth, the Bun-built executable where the build could make one — doing what
// people do with it: a real terminal for run/exec/attach -it (raw mode, the size at start and after SIGWINCH,
// ctrl-p ctrl-q, the terminal restored), signals proxied to the container, exit statuses, a build context
// upload, an interactive login whose credentials push and pull then use, logout, pull progress bars on a
// terminal, and the daemon and `registry serve` handed to Node in the same process.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, execFileSync, ChildProcess } from 'child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, BERTH, REPO, RunResult, runCmd, waitFor, sleep } from '../helpers/daemon';
import { RegistryServer } from './registry-fixture';

const d = new TestDaemon('shipped');
const work = mkdtempSync(path.join(os.tmpdir(), 'berth-shipped-'));
const env = () => ({ BERTH_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') });
const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r; };
const live: ChildProcess[] = [];

before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
  await d.stop();
  rmSync(work, { recursive: true, force: true });
});

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A command on a real terminal: util-linux `script` gives it a pty; we type into it and read the screen. */
class Terminal {
  readonly proc: ChildProcess;
  out = '';
  readonly exited: Promise<number>;

  constructor(command: string) {
    this.proc = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env() }, stdio: ['pipe', 'pipe', 'pipe'] });
    live.push(this.proc);
    this.proc.stdout!.on('data', (b: Buffer) => { this.out += b.toString('utf8'); });
    this.proc.stderr!.on('data', (b: Buffer) => { this.out += b.toString('utf8'); });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code ?? -1)));
  }

  static berth(args: string[]): Terminal { return new Terminal([BERTH, ...args].map(shq).join(' ')); }

  type(s: string): void { this.proc.stdin!.write(s); }

  async waitFor(re: RegExp, what = String(re)): Promise<void> {
    await waitFor(async () => re.test(this.out), 15_000, `${what} on the terminal; it shows ${JSON.stringify(this.out.slice(-400))}`);
  }

  /** The pty of the command `script` runs (its child's stdin). */
  async pts(): Promise<string> {
    return waitFor(async () => {
      let kids = '';
      try { kids = readFileSync(`/proc/${this.proc.pid}/task/${this.proc.pid}/children`, 'utf8').trim(); } catch { return undefined; }
      for (const k of kids.split(/\s+/).filter(Boolean)) {
        try { const t = readlinkSync(`/proc/${k}/fd/0`); if (t.startsWith('/dev/pts/')) return t; } catch { /* gone */ }
      }
      return undefined;
    }, 10_000, 'the terminal of the command');
  }

  /** Sets the terminal's size: the kernel sends SIGWINCH to its foreground process group (the CLI). */
  async resize(rows: number, cols: number): Promise<void> {
    execFileSync('stty', ['-F', await this.pts(), 'rows', String(rows), 'cols', String(cols)]);
  }

  async mode(): Promise<string> { return execFileSync('stty', ['-F', await this.pts(), '-a'], { encoding: 'utf8' }); }
}

test('bin/berth is the Bun-built executable where Bun is installed; the daemon runs on Node in the process started', async () => {
  const bun = existsSync(path.join(REPO, 'node_modules/@oven/bun-linux-x64/bin/bun'));
  const exe = realpathSync(BERTH);
  const magic = readFileSync(exe).subarray(0, 4);
  if (bun) assert.deepEqual([...magic], [0x7f, 0x45, 0x4c, 0x46], `${exe} is an ELF executable`);
  else assert.equal(magic.toString('latin1', 0, 2), '#!', `${exe} is the Node launcher`);
  assert.equal(ok(await d.berth(['--version']), 'version').stdout, 'berth version 0.1.0\n');
  // TestDaemon spawned bin/berth itself: the same pid now runs node with the daemon bundle
  const pid = d.proc!.pid!;
  assert.match(readlinkSync(`/proc/${pid}/exe`), /\/node(js)?$/);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /bin\/berth-node\0daemon\0/);
});

test('run -it: raw mode, the terminal size at start and after SIGWINCH, ctrl-p ctrl-q detaches, terminal restored', async () => {
  // the shell prints the terminal's mode once berth has gone, so the restore is seen from the terminal itself
  const t = new Terminal(`${shq(BERTH)} run -it --name tty1 busybox sh; echo "mode after: $(stty -a | tr '\\n' ' ')"`);
  await t.waitFor(/# /, 'the prompt');
  const mode = await t.mode();
  assert.match(mode, /-icanon/, 'raw mode while attached');
  assert.match(mode, /-echo /, 'no local echo while attached');
  await t.resize(31, 101);
  t.type('stty size\r');
  await t.waitFor(/31 101/, 'the size after the first resize');
  await t.resize(42, 120);
  await sleep(200);
  t.type('stty size\r');
  await t.waitFor(/42 120/, 'the size after SIGWINCH');
  t.type('\x10\x11');
  await t.waitFor(/mode after: /, 'berth detached');
  assert.equal(await t.exited, 0);
  assert.match(t.out, /mode after: .* icanon .* echo /, 'canonical mode and echo are back');
  assert.equal(ok(await d.berth(['inspect', '-f', '{{.State.Status}}', 'tty1']), 'inspect').stdout, 'running\n');
});

test('exec -it and attach on a terminal: input reaches the container and its exit status is the CLI\'s', async () => {
  const e = Terminal.berth(['exec', '-it', 'tty1', 'sh']);
  await e.waitFor(/# /, 'the exec prompt');
  await e.resize(25, 90);
  e.type('stty size; exit 3\r');
  assert.equal(await e.exited, 3);
  assert.match(e.out, /25 90/);
  const a = Terminal.berth(['attach', 'tty1']);
  await a.pts();
  await sleep(300);
  a.type('echo attached-$((40+2)); exit 5\r');
  assert.equal(await a.exited, 5);
  assert.match(a.out, /attached-42/);
  ok(await d.berth(['rm', 'tty1']), 'rm');
});

test('signals: SIGTERM to `berth run` reaches the container; exit statuses 7, 125, 126, 127', async () => {
  const p = spawn(BERTH, ['run', '--name', 'sig1', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done'], { env: { ...process.env, ...env() } });
  live.push(p);
  let out = '';
  p.stdout.on('data', (b) => { out += b; });
  const exited = new Promise<number>((r) => p.on('exit', (c) => r(c ?? -1)));
  await waitFor(async () => out.includes('ready'), 15_000, 'the container to start');
  p.kill('SIGTERM');
  assert.equal(await exited, 42);
  assert.match(out, /got TERM/);
  ok(await d.berth(['rm', 'sig1']), 'rm');
  assert.equal((await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7'])).code, 7);
  assert.equal((await d.berth(['run', '--rm', '--bogus', 'busybox'])).code, 125);
  assert.equal((await d.berth(['run', '--rm', 'busybox', '/etc/passwd'])).code, 126);
  const missing = await d.berth(['run', '--rm', 'busybox', 'no-such-command']);
  assert.equal(missing.code, 127, missing.stderr);
});

test('streamed answers: logs -f until the exit, events, stats --no-stream, top, wait, save to a pipe', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(await d.berth(['run', '-d', '--name', 'str1', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.3; done; sleep 3']), 'run -d');
  const stats = ok(await d.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'str1']), 'stats');
  assert.match(stats.stdout, /^str1 \d+\n$/);
  assert.match(ok(await d.berth(['top', 'str1']), 'top').stdout, /^UID +PID +PPID .*\n.*(sh -c|sleep)/s);
  // -f ends when the container does
  const logs = ok(await d.berth(['logs', '-f', 'str1']), 'logs -f');
  assert.equal(logs.stdout, 'out1\nout2\nout3\n');
  assert.equal(logs.stderr, 'err1\nerr2\nerr3\n');
  assert.equal(ok(await d.berth(['wait', 'str1']), 'wait').stdout, '0\n');
  const events = ok(await d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=str1', '--format', '{{.Action}}']), 'events');
  assert.deepEqual(events.stdout.split('\n').filter((l) => /^(create|start|die)$/.test(l)), ['create', 'start', 'die']);
  // a binary stream to a pipe (the stdout stream, not the descriptor writes)
  const saved = await runCmd('sh', ['-c', `${shq(BERTH)} save busybox | wc -c`], { env: env() });
  assert.ok(parseInt(saved.stdout, 10) > 500_000, saved.stdout + saved.stderr);
  ok(await d.berth(['rm', 'str1']), 'rm');
});

test('build: the context (with .dockerignore) is uploaded and the image runs', async () => {
  const dir = path.join(work, 'ctx');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\nCMD ["sh", "-c", "cat /ctx/sub/hello.txt; ls /ctx"]\n');
  writeFileSync(path.join(dir, 'sub/hello.txt'), 'hello from the context\n');
  writeFileSync(path.join(dir, 'secret.key'), 'no\n');
  writeFileSync(path.join(dir, '.dockerignore'), 'secret.key\n');
  ok(await d.berth(['build', '-t', 'shipped-build:1', dir], { timeoutMs: 120_000 }), 'build');
  const r = ok(await d.berth(['run', '--rm', 'shipped-build:1']), 'run');
  assert.match(r.stdout, /^hello from the context\n/);
  assert.doesNotMatch(r.stdout, /secret\.key/);
});

test('login on a terminal stores the credentials; push and a pull with progress bars use them; logout forgets', async () => {
  const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
  const htpasswd = path.join(work, 'htpasswd');
  writeFileSync(htpasswd, `ship:${bcrypt.hashSync('pw-ship', 5).replace(/^\$2b\$/, '$2y$')}\n`);
  const reg = await new RegistryServer(path.join(work, 'registry'), ['--htpasswd', htpasswd]).start();
  try {
    const host = reg.hostPort;
    const ref = `${host}/ship/layered:1`;
    // an image with a layer of its own, so the pull below downloads something
    const dir = path.join(work, 'layered');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY f /f\n');
    writeFileSync(path.join(dir, 'f'), `${Date.now()} ${Math.random()}\n`.repeat(5000));
    ok(await d.berth(['build', '-q', '-t', ref, dir], { timeoutMs: 120_000 }), 'build');
    assert.match((await d.berth(['push', ref])).stderr, /no basic auth credentials|unauthorized|authentication required/i);
    const login = Terminal.berth(['login', host]);
    await login.waitFor(/Username: /);
    login.type('ship\r');
    await login.waitFor(/Password: /);
    login.type('pw-ship\r');
    assert.equal(await login.exited, 0, login.out);
    assert.match(login.out, /Login Succeeded/);
    assert.doesNotMatch(login.out, /pw-ship/, 'the password is not echoed');
    const config = JSON.parse(readFileSync(path.join(d.dir, 'docker-config', 'config.json'), 'utf8'));
    assert.equal(Buffer.from(config.auths[host].auth, 'base64').toString(), 'ship:pw-ship');
    ok(await d.berth(['push', ref]), 'push with stored credentials');
    ok(await d.berth(['rmi', ref]), 'rmi');
    const pull = Terminal.berth(['pull', ref]);
    assert.equal(await pull.exited, 0, pull.out);
    assert.match(pull.out, /Pull complete/);
    assert.match(pull.out, /\x1b\[\d+A|\x1b\[2K/, 'progress lines redrawn in place on a terminal');
    assert.match(pull.out, /Status: Downloaded newer image for /);
    assert.equal(ok(await d.berth(['logout', host]), 'logout').stdout, `Removing login credentials for ${host}\n`);
    ok(await d.berth(['rmi', ref]), 'rmi again');
    assert.notEqual((await d.berth(['pull', ref])).code, 0, 'no credentials after logout');
    // `registry serve` ran on Node in the process started as bin/berth
    assert.match(readlinkSync(`/proc/${reg.proc!.pid}/exe`), /\/node(js)?$/);
  } finally {
    await reg.stop();
  }
});
