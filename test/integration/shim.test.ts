// Integration tests for berth-shim (src/runtime/shim/PROTOCOL.md) with real containers run by crun.
// Needs root and /usr/bin/crun; skipped otherwise. Every container, shim and temp dir made here is removed in
// after(), also when a test fails.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ShimLauncher } from '../../src/runtime/shim-launcher';

const REPO = path.resolve(__dirname, '../../..'); // build/test/integration -> repo root
const SHIM_DIR = path.join(REPO, 'src/runtime/shim');
const SHIM = path.join(SHIM_DIR, 'berth-shim');
const CRUN = '/usr/bin/crun';
const canRun = process.getuid?.() === 0 && fs.existsSync(CRUN) && fs.existsSync('/bin/busybox');
const skip = canRun ? false : 'needs root, /usr/bin/crun and /bin/busybox';
const T = { skip, timeout: 60_000 };
const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

let tmp = '';
let rootfs = '';
let runRoot = '';
let baseSpec: Record<string, any> = {};
let seq = 0;
const containerIds: string[] = [];
const shimPids = new Set<number>();

// ---------------------------------------------------------------- helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  // a zombie is not alive for our purposes
  try { return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; }
}

function isShim(pid: number): boolean {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berth-shim'); } catch { return false; }
}

function newId(): string {
  const id = `berth-shim-test-${process.pid}-${++seq}`;
  containerIds.push(id);
  return id;
}

function makeBundle(args: string[], opts: { tty?: boolean } = {}): string {
  const dir = path.join(tmp, `bundle-${++seq}`);
  fs.mkdirSync(dir);
  const spec = JSON.parse(JSON.stringify(baseSpec));
  spec.process.args = args;
  spec.process.terminal = !!opts.tty;
  spec.root = { path: rootfs, readonly: true };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

interface ShimOpts { args?: string[]; tty?: boolean; stdin?: boolean; stdinOnce?: boolean; log?: boolean; bundle?: string; exec?: { id: string; process: object } }
interface Shim { id: string; stateDir: string; logPath: string; shimPid: number; report: any; readyMs: number }

function shimArgs(id: string, bundle: string, stateDir: string, o: ShimOpts, logPath: string): string[] {
  const args = ['--runtime', CRUN, '--runtime-root', runRoot, '--id', id, '--bundle', bundle, '--state-dir', stateDir];
  if (o.tty) args.push('--tty');
  if (o.stdin) args.push('--stdin');
  if (o.stdinOnce) args.push('--stdin-once');
  if (o.log !== false) args.push('--log-path', logPath);
  if (o.exec) {
    const file = path.join(tmp, `process-${++seq}.json`);
    fs.writeFileSync(file, JSON.stringify(o.exec.process));
    args.push('--exec', file, '--exec-id', `exec-${seq}`);
  }
  return args;
}

/** Spawns the shim the way the daemon does (fd 3 = sync pipe) and reads its one-line report. */
async function spawnShim(o: ShimOpts): Promise<Shim> {
  const id = o.exec ? o.exec.id : newId();
  const bundle = o.bundle ?? (o.exec ? path.join(tmp, 'none') : makeBundle(o.args ?? ['true'], { tty: o.tty }));
  const stateDir = path.join(tmp, `state-${++seq}`);
  const logPath = path.join(tmp, `log-${seq}.json`);
  const t0 = process.hrtime.bigint();
  const child = spawn(SHIM, shimArgs(id, bundle, stateDir, o, logPath), { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true });
  const sync = child.stdio[3] as net.Socket;
  const text = await new Promise<string>((resolve, reject) => {
    let s = '';
    sync.setEncoding('utf8');
    sync.on('data', (d: string) => { s += d; });
    sync.on('end', () => resolve(s));
    sync.on('error', reject);
    child.on('error', reject);
  });
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const report = JSON.parse(text.trim());
  if (report.shimPid) shimPids.add(report.shimPid);
  return { id, stateDir, logPath, shimPid: report.shimPid, report, readyMs };
}

/** A control connection kept open like the daemon keeps it; one reply line per command. */
class Ctl {
  private buf = '';
  private waiters: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private done = false;
  readonly closed: Promise<void>;
  private constructor(private sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters.shift()?.resolve(line);
      }
    });
    // allowHalfOpen (as in the daemon): the shim's exit shows as 'end'; 'close' only follows once we end too
    this.closed = new Promise((r) => {
      const gone = () => {
        this.done = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error('shim closed the control connection'));
        r();
      };
      sock.on('end', () => { sock.end(); gone(); });
      sock.on('close', gone);
    });
    sock.on('error', () => { /* close follows */ });
  }
  static async connect(stateDir: string): Promise<Ctl> { return new Ctl(await connectUnix(path.join(stateDir, 'ctl.sock'))); }
  request(cmd: string): Promise<string> {
    if (this.done) return Promise.reject(new Error('shim closed the control connection'));
    return new Promise((resolve, reject) => { this.waiters.push({ resolve, reject }); this.sock.write(cmd + '\n'); });
  }
  close(): void { this.sock.destroy(); }
}

function connectUnix(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path: file, allowHalfOpen: true });
    sock.once('connect', () => { sock.removeListener('error', reject); resolve(sock); });
    sock.once('error', reject);
  });
}

interface Frame { stream: number; data: Buffer }

/** An attach connection: collects stdcopy frames until the shim closes it. */
class Attach {
  frames: Frame[] = [];
  bytes = 0;
  private pending = Buffer.alloc(0);
  readonly ended: Promise<void>;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.pending = Buffer.concat([this.pending, d]);
      while (this.pending.length >= 8) {
        const len = this.pending.readUInt32BE(4);
        if (this.pending.length < 8 + len) break;
        assert.deepEqual([...this.pending.subarray(1, 4)], [0, 0, 0]);
        this.frames.push({ stream: this.pending[0], data: this.pending.subarray(8, 8 + len) });
        this.bytes += len;
        this.pending = this.pending.subarray(8 + len);
      }
    });
    this.ended = new Promise((resolve) => { sock.on('end', () => { sock.end(); resolve(); }); sock.on('close', () => resolve()); });
    sock.on('error', () => { /* end/close follows */ });
  }
  static async connect(stateDir: string): Promise<Attach> { return new Attach(await connectUnix(path.join(stateDir, 'attach.sock'))); }
  text(stream?: number): string {
    return Buffer.concat(this.frames.filter((f) => stream === undefined || f.stream === stream).map((f) => f.data)).toString('utf8');
  }
}

interface ExitJson { exitCode: number; signal: number | null; finishedAt: string; oomKilled: boolean }

async function waitExit(stateDir: string, ms = 15_000): Promise<ExitJson> {
  const file = path.join(stateDir, 'exit.json');
  await waitFor('exit.json', () => fs.existsSync(file), ms);
  const st = JSON.parse(fs.readFileSync(file, 'utf8')) as ExitJson;
  assert.match(st.finishedAt, TIME_RE);
  assert.equal(st.oomKilled, false);
  return st;
}

/** After exit.json the shim removes its sockets and exits. */
async function waitShimGone(s: Shim): Promise<void> {
  await waitFor('shim exit', () => !alive(s.shimPid));
  assert.ok(!fs.existsSync(path.join(s.stateDir, 'ctl.sock')));
  assert.ok(!fs.existsSync(path.join(s.stateDir, 'attach.sock')));
}

interface LogEntry { log: string; stream: string; time: string }
function readLog(file: string): LogEntry[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'));
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEntry);
}

async function startShim(s: Shim): Promise<{ ctl: Ctl; pid: number }> {
  const ctl = await Ctl.connect(s.stateDir);
  const reply = await ctl.request('start');
  assert.match(reply, /^ok \d+$/);
  return { ctl, pid: parseInt(reply.slice(3), 10) };
}

function crun(...args: string[]) {
  return spawnSync(CRUN, ['--root', runRoot, ...args], { encoding: 'utf8' });
}

// ---------------------------------------------------------------- setup / teardown

before(() => {
  if (!canRun) return;
  // BERTH_SHIM_NO_BUILD=1: test the binary as it is (e.g. a sanitizer build)
  if (!process.env.BERTH_SHIM_NO_BUILD) execFileSync('make', ['-s', '-C', SHIM_DIR], { stdio: 'inherit' });
  // crun on this cgroup v1/v2 hybrid needs the hugetlb v1 hierarchy mounted
  const hugetlb = '/sys/fs/cgroup/hugetlb';
  if (spawnSync('mountpoint', ['-q', hugetlb]).status !== 0) {
    fs.mkdirSync(hugetlb, { recursive: true });
    execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', hugetlb]);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-shim-test-'));
  runRoot = path.join(tmp, 'runtime');
  rootfs = path.join(tmp, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'echo', 'sleep', 'true', 'printf', 'stty', 'dd', 'head', 'kill', 'ls']) {
    fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  }
  const specDir = path.join(tmp, 'spec');
  fs.mkdirSync(specDir);
  execFileSync(CRUN, ['spec'], { cwd: specDir });
  baseSpec = JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8'));
});

after(() => {
  if (!canRun || !tmp) return;
  for (const id of containerIds) crun('delete', '-f', id);
  for (const pid of shimPids) if (alive(pid) && isShim(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- tests

test('stdout and stderr land in the log as json-file lines', T, async () => {
  const s = await spawnShim({ args: ['sh', '-c', 'echo out; echo err >&2; printf partial'] });
  assert.deepEqual(s.report, { ready: true, shimPid: s.shimPid });
  assert.equal(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8').trim(), String(s.shimPid));
  assert.equal((fs.statSync(s.stateDir).mode & 0o777), 0o700);
  const { pid } = await startShim(s);
  assert.ok(pid > 0);
  const st = await waitExit(s.stateDir);
  assert.equal(st.exitCode, 0);
  assert.equal(st.signal, null);
  await waitShimGone(s);
  const log = readLog(s.logPath);
  const out = log.filter((e) => e.stream === 'stdout').map((e) => e.log);
  const err = log.filter((e) => e.stream === 'stderr').map((e) => e.log);
  assert.deepEqual(out, ['out\n', 'partial']);
  assert.deepEqual(err, ['err\n']);
  for (const e of log) assert.match(e.time, TIME_RE);
  assert.equal(fs.readFileSync(path.join(s.stateDir, 'pid'), 'utf8').trim(), String(pid));
});

test('log escaping is correct for any bytes, long lines are split at 16 KiB', T, async () => {
  // printf: \001 control, \377 invalid UTF-8, \303\251 = é, \342\200\250 = U+2028, plus " \ < and a tab
  const script = [
    String.raw`printf 'x\001y\377z\303\251"\\<\t\342\200\250\n'`,
    // 20000 digits then a newline: one 16384-byte entry and the rest
    'i=0; while [ $i -lt 2000 ]; do printf 0123456789; i=$((i+1)); done; echo',
    // "a" then 10000 x é (2 bytes): the 16 KiB cut must not split a character
    String.raw`printf a; i=0; while [ $i -lt 10000 ]; do printf '\303\251'; i=$((i+1)); done; echo`,
  ].join('; ');
  const s = await spawnShim({ args: ['sh', '-c', script] });
  await startShim(s);
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  const raw = fs.readFileSync(s.logPath, 'utf8').split('\n');
  assert.ok(raw[0].startsWith(String.raw`{"log":"x\u0001y\ufffdzé\"\\\u003c\t\u2028\n","stream":"stdout","time":"`), raw[0]);
  const log = readLog(s.logPath);
  assert.equal(log[0].log, 'x\u0001y\ufffdzé"\\<\t\u2028\n');
  assert.equal(log[1].log, '0123456789'.repeat(2000).slice(0, 16384));
  assert.equal(log[2].log, '0123456789'.repeat(2000).slice(16384) + '\n');
  assert.equal(Buffer.byteLength(log[3].log), 16383); // "a" + 8191 x é: the cut moved back one byte
  assert.equal(log[3].log + log[4].log, 'a' + 'é'.repeat(10000) + '\n');
  assert.ok(!log.some((e) => e.log.includes('\ufffd') && e !== log[0]));
  assert.equal(log.length, 5);
});

test('attach before start receives framed stdout/stderr, then EOF', T, async () => {
  const s = await spawnShim({ args: ['sh', '-c', 'echo out; echo err >&2; echo out2'] });
  const a = await Attach.connect(s.stateDir);
  await startShim(s);
  await a.ended;
  assert.equal(a.text(1), 'out\nout2\n');
  assert.equal(a.text(2), 'err\n');
  assert.ok(a.frames.every((f) => f.stream === 1 || f.stream === 2));
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  await waitShimGone(s);
});

test('stdin through attach with --stdin --stdin-once', T, async () => {
  const s = await spawnShim({ args: ['cat'], stdin: true, stdinOnce: true });
  const a = await Attach.connect(s.stateDir);
  const watcher = await Attach.connect(s.stateDir); // output only: its disconnect must not close stdin
  await startShim(s);
  a.sock.write('hello\n');
  await waitFor('echo', () => a.text(1) === 'hello\n');
  watcher.sock.destroy();
  await sleep(100);
  assert.ok(!fs.existsSync(path.join(s.stateDir, 'exit.json')), 'cat must still be running');
  a.sock.write('world\n');
  a.sock.end(); // half-close: stdin ends, output keeps coming
  await a.ended;
  assert.equal(a.text(1), 'hello\nworld\n');
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  assert.deepEqual(readLog(s.logPath).map((e) => e.log), ['hello\n', 'world\n']);
});

test('a client still writing stdin after the exit gets the output and EOF, never EPIPE; the shim then goes', T, async () => {
  const s = await spawnShim({ args: ['sh', '-c', 'head -c 1 >/dev/null; echo done'], stdin: true });
  const a = await Attach.connect(s.stateDir);
  let writeError: Error | undefined;
  a.sock.on('error', (e) => { writeError = e; });
  await startShim(s);
  const chunk = Buffer.alloc(64 << 10, 120);
  let writing = true;
  const pump = (async () => {
    // keep writing well past the process's exit, as a client piping a large file does
    while (writing && a.sock.writable) {
      // (a socket that closes while we wait never drains: its close ends the wait too)
      if (!a.sock.write(chunk)) await new Promise((r) => { a.sock.once('drain', r); a.sock.once('close', r); });
      await new Promise((r) => setImmediate(r));
    }
  })();
  await a.ended;
  writing = false;
  await pump;
  assert.equal(writeError, undefined);
  assert.equal(a.text(1), 'done\n');
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  await waitShimGone(s); // (Attach ends its side on EOF)
});

test('close-stdin on ctl ends the input', T, async () => {
  const s = await spawnShim({ args: ['cat'], stdin: true });
  const { ctl } = await startShim(s);
  const a = await Attach.connect(s.stateDir);
  a.sock.write('abc\n');
  await waitFor('echo', () => a.text(1) === 'abc\n');
  assert.equal(await ctl.request('close-stdin'), 'ok');
  await a.ended;
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  await ctl.closed; // the daemon learns of the exit from its ctl connection closing
});

test("exit code of sh -c 'exit 3' is 3", T, async () => {
  const s = await spawnShim({ args: ['sh', '-c', 'exit 3'] });
  const { ctl } = await startShim(s);
  const st = await waitExit(s.stateDir);
  assert.equal(st.exitCode, 3);
  assert.equal(st.signal, null);
  await ctl.closed;
  await waitShimGone(s);
});

test('a process killed with SIGKILL exits 137', T, async () => {
  const s = await spawnShim({ args: ['sleep', '100'] });
  const { ctl, pid } = await startShim(s);
  assert.ok(alive(pid));
  assert.equal(await ctl.request('start'), 'error already started');
  assert.equal(await ctl.request('bogus'), 'error unknown command');
  assert.equal(await ctl.request('resize 1'), 'error usage: resize <rows> <cols>');
  assert.equal(await ctl.request('resize 24 80'), 'ok'); // accepted and ignored without a tty
  process.kill(pid, 'SIGKILL');
  const st = await waitExit(s.stateDir);
  assert.equal(st.exitCode, 137);
  assert.equal(st.signal, 9);
  await waitShimGone(s);
});

test('--tty: output is stream 1, resize sets the terminal size', T, async () => {
  const s = await spawnShim({ args: ['sh', '-c', 'stty size; read x; stty size'], tty: true, stdin: true });
  const ctl = await Ctl.connect(s.stateDir);
  assert.equal(await ctl.request('resize 30 100'), 'ok');
  const a = await Attach.connect(s.stateDir);
  assert.match(await ctl.request('start'), /^ok \d+$/);
  await waitFor('first stty size', () => a.text().includes('30 100'));
  assert.equal(await ctl.request('resize 40 120'), 'ok');
  a.sock.write('go\r');
  await a.ended;
  assert.ok(a.frames.length > 0 && a.frames.every((f) => f.stream === 1));
  assert.ok(a.text().includes('40 120'), JSON.stringify(a.text()));
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  const log = readLog(s.logPath);
  assert.ok(log.every((e) => e.stream === 'stdout'));
  assert.equal(log[0].log, '30 100\r\n');
  assert.ok(log.some((e) => e.log === '40 120\r\n'));
  await ctl.closed;
});

test('--tty with --stdin-once: the end of stdin reaches the process as the terminal EOF', T, async () => {
  const s = await spawnShim({ args: ['cat'], tty: true, stdin: true, stdinOnce: true });
  const a = await Attach.connect(s.stateDir);
  await startShim(s);
  a.sock.write('hello\n');
  await waitFor('echo', () => a.text(1) === 'hello\r\nhello\r\n'); // the tty's echo, then cat's output
  a.sock.end();
  await a.ended;
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
});

test('exec in a running container: output and exit.json; exec with a tty', T, async () => {
  const c = await spawnShim({ args: ['sleep', '100'] });
  const { pid } = await startShim(c);
  const proc = { terminal: false, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo hello; echo oops >&2; exit 5'], env: ['PATH=/bin'], cwd: '/' };
  const e = await spawnShim({ exec: { id: c.id, process: proc }, log: false });
  assert.equal(e.report.ready, true);
  const a = await Attach.connect(e.stateDir);
  const { pid: execPid } = await startShim(e);
  assert.ok(execPid > 0 && execPid !== pid);
  await a.ended;
  assert.equal(a.text(1), 'hello\n');
  assert.equal(a.text(2), 'oops\n');
  assert.deepEqual((({ exitCode, signal }) => ({ exitCode, signal }))(await waitExit(e.stateDir)), { exitCode: 5, signal: null });
  await waitShimGone(e);

  // with a terminal. An exec'd process runs before the runtime hands over its pty, so the initial size belongs
  // in the process JSON (consoleSize); resize works from then on. The size is read after a first input line:
  // crun (1.8) forks the exec'd process and sizes the pty from consoleSize only afterwards, in its parent, so a
  // program that reads its size in its very first instant may see 0x0 (runc sizes it before the exec). Input
  // reaches the process only once the shim holds the terminal, which crun sends after sizing it.
  const ttyProc = { ...proc, terminal: true, consoleSize: { height: 25, width: 80 }, args: ['sh', '-c', 'read x; stty size; read y; stty size'] };
  const t = await spawnShim({ exec: { id: c.id, process: ttyProc }, tty: true, stdin: true, log: false });
  const ctl = await Ctl.connect(t.stateDir);
  const ta = await Attach.connect(t.stateDir);
  assert.match(await ctl.request('start'), /^ok \d+$/);
  ta.sock.write('one\r');
  await waitFor('first size', () => ta.text(1).includes('25 80\r\n')).catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(ta.text(1))}`); });
  assert.equal(await ctl.request('resize 40 120'), 'ok');
  ta.sock.write('go\r');
  await ta.ended;
  assert.ok(ta.text(1).endsWith('40 120\r\n'), JSON.stringify(ta.text(1)));
  assert.ok(ta.frames.every((f) => f.stream === 1));
  assert.equal((await waitExit(t.stateDir)).exitCode, 0);

  // the container itself is untouched by the execs
  assert.ok(alive(pid));
  assert.ok(!fs.existsSync(path.join(c.stateDir, 'exit.json')));
  crun('kill', c.id, 'KILL');
  assert.equal((await waitExit(c.stateDir)).exitCode, 137);
});

test('an attach connection made in the same tick as the start request sees the output from its first byte', T, async () => {
  // what the daemon does for every exec: connect(2) to attach.sock, send `start` at once, read the attach later
  const c = await spawnShim({ args: ['sleep', '100'] });
  await startShim(c);
  const proc = { terminal: false, user: { uid: 0, gid: 0 }, args: ['echo', 'first'], env: ['PATH=/bin'], cwd: '/' };
  for (let i = 0; i < 10; i++) {
    const e = await spawnShim({ exec: { id: c.id, process: proc }, log: false });
    const ctl = await Ctl.connect(e.stateDir);
    const attaching = Attach.connect(e.stateDir); // its connect(2) runs now, before the request below is written
    const started = ctl.request('start');
    const a = await attaching;
    assert.match(await started, /^ok \d+$/);
    await a.ended;
    assert.equal(a.text(1), 'first\n', `round ${i}`);
    assert.equal((await waitExit(e.stateDir)).exitCode, 0);
    await waitShimGone(e);
  }
  crun('kill', c.id, 'KILL');
  assert.equal((await waitExit(c.stateDir)).exitCode, 137);
});

test('a failed exec start replies error and the exec shim goes away', T, async () => {
  const c = await spawnShim({ args: ['sleep', '100'] });
  await startShim(c);
  const proc = { terminal: false, user: { uid: 0, gid: 0 }, args: ['/no/such/binary'], env: ['PATH=/bin'], cwd: '/' };
  const e = await spawnShim({ exec: { id: c.id, process: proc }, log: false });
  const ctl = await Ctl.connect(e.stateDir);
  const reply = await ctl.request('start');
  assert.match(reply, /^error .*no\/such\/binary/);
  await ctl.closed;
  await waitShimGone(e);
  crun('kill', c.id, 'KILL');
  await waitExit(c.stateDir);
});

test('the shim survives its parent and keeps logging', T, async () => {
  const id = newId();
  const bundle = makeBundle(['sh', '-c', 'i=0; while [ $i -lt 5 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
  const stateDir = path.join(tmp, `state-${++seq}`);
  const logPath = path.join(tmp, `log-${seq}.json`);
  // an intermediate process starts the shim (its stdout as the shim's fd 3) and exits at once
  const parent = spawn('/bin/sh', ['-c', '"$@" 3>&1; exit 0', 'sh', SHIM, ...shimArgs(id, bundle, stateDir, {}, logPath)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  parent.stdout!.setEncoding('utf8');
  parent.stdout!.on('data', (d: string) => { text += d; });
  await new Promise<void>((r) => parent.stdout!.on('end', () => r()));
  await new Promise<void>((r) => (parent.exitCode !== null ? r() : parent.on('exit', () => r())));
  const report = JSON.parse(text);
  shimPids.add(report.shimPid);
  assert.ok(alive(report.shimPid));
  const stat = fs.readFileSync(`/proc/${report.shimPid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.notEqual(Number(fields[1]), parent.pid); // ppid: not the (dead) parent
  assert.equal(Number(fields[3]), report.shimPid); // its own session (setsid)
  const s: Shim = { id, stateDir, logPath, shimPid: report.shimPid, report, readyMs: 0 };
  await startShim(s);
  assert.equal((await waitExit(stateDir)).exitCode, 0);
  assert.deepEqual(readLog(logPath).map((e) => e.log), [0, 1, 2, 3, 4].map((i) => `tick ${i}\n`));
  await waitShimGone(s);
});

test('a slow attach client is dropped, output and other clients are not blocked', T, async () => {
  // 8 MiB without newlines, in 128 KiB bursts a reading client keeps up with; the other client never reads
  const script = 'i=0; while [ $i -lt 64 ]; do dd if=/dev/zero bs=65536 count=2 2>/dev/null; sleep 0.01; i=$((i+1)); done';
  const s = await spawnShim({ args: ['sh', '-c', script], log: false });
  const fast = await Attach.connect(s.stateDir);
  const slow = await Attach.connect(s.stateDir);
  slow.sock.pause();
  // and clients that go away: at once, mid-stream, or half-closing after a little output
  const quitters = await Promise.all([1, 2, 3].map(() => Attach.connect(s.stateDir)));
  quitters[0].sock.destroy(); // before any output
  quitters[1].sock.once('data', () => quitters[1].sock.destroy());
  quitters[2].sock.once('data', () => quitters[2].sock.end());
  await startShim(s);
  await fast.ended;
  assert.equal(fast.bytes, 8 << 20);
  assert.equal((await waitExit(s.stateDir)).exitCode, 0);
  slow.sock.resume();
  await slow.ended;
  assert.ok(slow.bytes < 8 << 20, `slow client got ${slow.bytes}`);
  await waitShimGone(s);
});

test('a runtime error reports {"error"} on fd 3 and leaves nothing behind', T, async () => {
  // no config.json in the bundle
  const bad = path.join(tmp, `bad-bundle-${++seq}`);
  fs.mkdirSync(bad);
  const s = await spawnShim({ bundle: bad });
  assert.match(s.report.error, /config\.json/); // the runtime's own message
  assert.equal(s.report.ready, undefined);
  assert.ok(!fs.existsSync(s.stateDir), 'state dir removed');
  assert.ok(!fs.existsSync(s.logPath), 'log removed');
  assert.ok(!JSON.stringify(crun('list', '--format', 'json').stdout).includes(s.id));
  // a state dir the daemon created stays, empty; an invalid config reports the runtime's message
  const bundle = makeBundle(['true']);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{"ociVersion": "1.0.0", "process": ');
  const pre = path.join(tmp, `state-pre-${++seq}`);
  fs.mkdirSync(pre, { mode: 0o700 });
  const id = newId();
  const child = spawn(SHIM, shimArgs(id, bundle, pre, { log: false }, ''), { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  let text = '';
  (child.stdio[3] as net.Socket).setEncoding('utf8').on('data', (d: string) => { text += d; });
  await new Promise<void>((r) => (child.stdio[3] as net.Socket).on('end', () => r()));
  const report = JSON.parse(text);
  assert.equal(typeof report.error, 'string');
  assert.deepEqual(fs.readdirSync(pre), []);
  // no shim process is left for these state dirs
  await sleep(50);
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { continue; }
    assert.ok(!cmd.includes(pre) && !cmd.includes(s.stateDir), `leftover process ${p}: ${cmd}`);
  }
  // bad arguments are reported the same way
  const u = spawn(SHIM, ['--bogus'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  let utext = '';
  (u.stdio[3] as net.Socket).setEncoding('utf8').on('data', (d: string) => { utext += d; });
  await new Promise<void>((r) => (u.stdio[3] as net.Socket).on('end', () => r()));
  assert.match(JSON.parse(utext).error, /unknown argument/);
});

test('measurements: start latency vs raw crun, shim memory', T, async (t) => {
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
  const r: Record<string, number[]> = { ok: [], ready: [], start: [], exit: [], run: [], create: [], rstart: [], version: [] };
  const bundle = makeBundle(['true']);
  const sync = (args: string[]) => assert.equal(spawnSync(CRUN, ['--root', runRoot, ...args], { stdio: 'ignore' }).status, 0);
  // interleaved, so that load from elsewhere on the machine hits every variant alike
  for (let i = 0; i < 20; i++) {
    let t0 = process.hrtime.bigint();
    const s = await spawnShim({ args: ['true'], log: false, bundle });
    r.ready.push(ms(t0));
    const ctl = await Ctl.connect(s.stateDir);
    const t1 = process.hrtime.bigint();
    assert.match(await ctl.request('start'), /^ok \d+$/);
    r.start.push(ms(t1));
    r.ok.push(ms(t0));
    await ctl.closed;
    r.exit.push(ms(t0));
    crun('delete', '-f', s.id);

    let id = newId();
    t0 = process.hrtime.bigint();
    sync(['run', '--bundle', bundle, id]);
    r.run.push(ms(t0));
    crun('delete', '-f', id);

    id = newId();
    t0 = process.hrtime.bigint();
    sync(['create', '--bundle', bundle, id]);
    r.create.push(ms(t0));
    t0 = process.hrtime.bigint();
    sync(['start', id]);
    r.rstart.push(ms(t0));
    crun('delete', '-f', id);

    t0 = process.hrtime.bigint();
    spawnSync(CRUN, ['--version'], { stdio: 'ignore' });
    r.version.push(ms(t0));
  }
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v).toFixed(1)]));
  const lines = [
    `shim spawn -> ok <pid> ('true'): median ${m.ok} ms = spawn -> ready (crun create inside) ${m.ready} + ctl start -> ok (crun start inside) ${m.start}`,
    `shim spawn -> ctl closed after exit.json: median ${m.exit} ms`,
    `raw crun create + crun start: median ${m.create} + ${m.rstart} ms`,
    `raw crun run ('true', waits for the exit): median ${m.run} ms`,
    `crun --version (runtime process start-up alone): median ${m.version} ms`,
  ];
  const s = await spawnShim({ args: ['sleep', '100'] });
  await startShim(s);
  await sleep(100);
  const status = fs.readFileSync(`/proc/${s.shimPid}/status`, 'utf8');
  const rollup = fs.readFileSync(`/proc/${s.shimPid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  const priv = kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty');
  lines.push(`shim memory (sleep 100 running): VmRSS ${kb(status, 'VmRSS')} kB, Pss ${kb(rollup, 'Pss')} kB, private ${priv} kB`);
  for (const l of lines) t.diagnostic(l);
  assert.ok(priv < 1024, `private memory ${priv} kB`);
  crun('kill', s.id, 'KILL');
  await waitExit(s.stateDir);
  await waitShimGone(s);
});

test('the launcher (--launcher) starts shims like a direct spawn: several at once, each with its own exit code', T, async () => {
  const launcher = new ShimLauncher(SHIM);
  try {
    const runs = [0, 3, 7].map((code) => {
      const id = newId();
      const stateDir = path.join(tmp, `state-${++seq}`);
      const bundle = makeBundle(['sh', '-c', `exit ${code}`]);
      return { code, id, stateDir, report: launcher.launch([SHIM, ...shimArgs(id, bundle, stateDir, { log: false }, '')]) };
    });
    for (const r of runs) {
      const report = JSON.parse(await r.report);
      assert.equal(report.ready, true, JSON.stringify(report));
      shimPids.add(report.shimPid);
      // with its own argv (leftover detection reads it), not our child, in a session of its own; forked by the
      // launcher, it stays the launcher's child, which reaps it when it exits (waitShimGone sees no zombie)
      assert.ok(fs.readFileSync(`/proc/${report.shimPid}/cmdline`, 'utf8').split('\0').includes(r.stateDir));
      const stat = fs.readFileSync(`/proc/${report.shimPid}/stat`, 'utf8').split(') ')[1].split(' ');
      assert.equal(Number(stat[1]), launcher.pid);
      assert.equal(Number(stat[3]), report.shimPid, 'the shim leads its own session');
      const s: Shim = { id: r.id, stateDir: r.stateDir, logPath: '', shimPid: report.shimPid, report, readyMs: 0 };
      await startShim(s);
      assert.equal((await waitExit(r.stateDir)).exitCode, r.code);
      await waitShimGone(s);
    }
  } finally {
    launcher.close();
  }
});

/** /proc/PID/stat's arg_start (field 48) and startstack (field 28): an exec'd process's argv lies above its stack
 * start, a cmdline the forked shim pointed at its own copy (PR_SET_MM_MAP) lies in its heap, below. */
function argvPlacement(pid: number): 'stack' | 'heap' {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); // f[k - 3] is field k
  return BigInt(f[48 - 3]) > BigInt(f[28 - 3]) ? 'stack' : 'heap';
}

test('the launcher forks its own binary without exec, with the cmdline an exec would give; another file is exec\'d', T, async () => {
  const forking = new ShimLauncher(SHIM);
  const execing = new ShimLauncher(SHIM); // with BERTH_SHIM_FORK=0 (read when it starts, at its first launch)
  const copy = path.join(tmp, 'rebuilt', 'berth-shim'); // another inode: what a rebuilt binary on disk looks like
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  fs.copyFileSync(SHIM, copy);
  fs.chmodSync(copy, 0o755);
  try {
    const cases = [[forking, SHIM, 'heap'], [forking, copy, 'stack'], [execing, SHIM, 'stack']] as const;
    for (const [launcher, binary, placement] of cases) {
      const id = newId();
      const stateDir = path.join(tmp, `state-${++seq}`);
      const argv = [binary, ...shimArgs(id, makeBundle(['sh', '-c', 'exit 5']), stateDir, { log: false }, '')];
      if (launcher === execing) process.env.BERTH_SHIM_FORK = '0';
      const report = JSON.parse(await launcher.launch(argv));
      delete process.env.BERTH_SHIM_FORK;
      assert.equal(report.ready, true, JSON.stringify(report));
      shimPids.add(report.shimPid);
      // exactly the argv, NUL-terminated, as the kernel shows an exec'd program's (leftovers.ts splits on NUL)
      assert.equal(fs.readFileSync(`/proc/${report.shimPid}/cmdline`, 'utf8'), `${argv.join('\0')}\0`);
      assert.equal(argvPlacement(report.shimPid), placement, binary);
      // forked: the launcher's child; exec'd: detached by its own fork, as from the daemon
      const ppid = Number(fs.readFileSync(`/proc/${report.shimPid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (placement === 'heap') assert.equal(ppid, launcher.pid);
      else assert.notEqual(ppid, launcher.pid);
      assert.equal(fs.readFileSync(`/proc/${report.shimPid}/comm`, 'utf8').trim(), 'berth-shim');
      const s: Shim = { id, stateDir, logPath: '', shimPid: report.shimPid, report, readyMs: 0 };
      await startShim(s);
      assert.equal((await waitExit(stateDir)).exitCode, 5);
      await waitShimGone(s);
    }
  } finally {
    delete process.env.BERTH_SHIM_FORK;
    forking.close();
    execing.close();
  }
});

test('the launcher reports what it cannot start, answers a runtime error like a direct spawn, and exits when its input ends', T, async () => {
  const launcher = new ShimLauncher(SHIM);
  const missing = JSON.parse(await launcher.launch(['/nonexistent/berth-shim', '--id', 'x']));
  assert.match(missing.error, /cannot start \/nonexistent\/berth-shim: No such file or directory/);
  // a forked shim answers itself in one write of at most PIPE_BUF bytes; a longer report goes through the launcher
  const short = JSON.parse(await launcher.launch([SHIM, '--bogus']));
  assert.equal(short.error, 'berth-shim: unknown argument --bogus');
  const long = await launcher.launch([SHIM, `--${'x'.repeat(5000)}`]);
  assert.ok(long.startsWith(`{"error":"berth-shim: unknown argument --xxx`), long.slice(0, 80));
  assert.ok(long.length > 4000, String(long.length));
  // a bad bundle: the shim's own {"error"} comes back as it is
  const id = newId();
  const stateDir = path.join(tmp, `state-${++seq}`);
  const bad = JSON.parse(await launcher.launch([SHIM, ...shimArgs(id, path.join(tmp, 'no-such-bundle'), stateDir, { log: false }, ''), '--run']));
  assert.equal(bad.ready, true, 'with --run the bundle is read at start');
  shimPids.add(bad.shimPid);
  const s: Shim = { id, stateDir, logPath: '', shimPid: bad.shimPid, report: bad, readyMs: 0 };
  const ctl = await Ctl.connect(stateDir);
  assert.match(await ctl.request('start'), /^error /);
  await waitShimGone(s);
  const pid = launcher.pid!;
  assert.ok(alive(pid));
  launcher.close();
  await waitFor('the launcher to exit', () => !alive(pid), 10_000);
});

test('nothing is left running', T, async () => {
  for (const id of containerIds) crun('delete', '-f', id);
  for (const pid of shimPids) await waitFor(`shim ${pid} to exit`, () => !alive(pid) || !isShim(pid), 10_000);
  assert.equal(crun('list', '-q').stdout.trim(), '');
});
