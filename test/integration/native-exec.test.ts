// Execs the shim starts itself (berth-shim --native, src/runtime/shim/native-exec.c) against `crun exec`: two
// daemons, one with the native path and one with BERTH_NATIVE_EXEC=0, run the same containers and the same execs,
// and each exec'd process must come out identical: capability sets, no_new_privs, seccomp (filter count and
// speculation flags), uid/gid/groups, every namespace, every cgroup, rlimits, oom_score_adj, stdio ownership,
// umask, session, cwd and environment. Plus what only the native path does: its shim runs with --native, a pid
// that is not the container's any more is refused, and the process gets no fd beyond its stdio.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'fs';
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, REPO, sleep, waitFor } from '../helpers/daemon';

const SHIM = path.join(REPO, 'src/runtime/shim/berth-shim');

const native = new TestDaemon('nexec');
const viaCrun = new TestDaemon('nexec-crun');
viaCrun.env = { BERTH_NATIVE_EXEC: '0' };

before(async () => {
  await Promise.all([native.start(), viaCrun.start()]);
  await Promise.all([native.loadBusybox(), viaCrun.loadBusybox()]);
});
after(async () => { await Promise.all([native.stop(), viaCrun.stop()]); });

/** What the process learns about itself, with the numbers that differ between any two containers masked. */
const PROBE = [
  'for f in CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp Seccomp_filters Speculation_Store_Bypass Groups Uid Gid; do grep "^$f:" /proc/self/status; done',
  'for n in ipc mnt net pid pid_for_children uts cgroup user; do [ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo "$n same as init" || echo "$n differs from init"; done',
  'cat /proc/self/cgroup', 'cat /proc/self/limits', 'cat /proc/self/oom_score_adj', 'stat -c "stdout %u:%g" /proc/self/fd/1',
  'umask', 'cut -d" " -f5,6 /proc/self/stat | awk "{print (\\$1 == \\$2 ? \\"session leader\\" : \\"not a session leader\\")}"',
  'echo "pid 1 is $(cat /proc/1/comm)"', 'pwd', 'env | sort',
].join('; ');

const CONFIGS: string[][] = [
  ['--network', 'none'],
  ['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'SETUID'],
  ['--privileged'],
  ['--ulimit', 'nofile=100:200', '--ulimit', 'nproc=50:60'],
  ['-u', '1000', '--group-add', '50'],
  ['--security-opt', 'no-new-privileges'],
  ['--pid', 'host', '--network', 'host'],
  ['--read-only', '--memory', '64m'],
];
const EXECS: string[][] = [[], ['-u', '1000:1000', '-w', '/tmp', '-e', 'FOO=bar'], ['--privileged', '-u', 'nobody']];

async function probe(d: TestDaemon, name: string, opts: string[]): Promise<string> {
  const run = await d.docker(['run', '-d', '--name', name, ...opts, 'busybox', 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  let out = '';
  for (const e of EXECS) {
    const r = await d.docker(['exec', ...e, name, 'sh', '-c', PROBE]);
    out += `== exec ${e.join(' ')} (exit ${r.code})\n${r.stdout}${r.stderr}`;
  }
  await d.docker(['rm', '-f', name]);
  return out.split(id).join('<id>').replace(/HOSTNAME=\w+/g, 'HOSTNAME=<h>');
}

test('a native exec is the same process as a crun exec, in every container configuration', async () => {
  for (const [i, opts] of CONFIGS.entries()) {
    const [a, b] = await Promise.all([probe(native, `p${i}`, opts), probe(viaCrun, `p${i}`, opts)]);
    assert.ok(a.includes('CapBnd:') && a.includes('Max open files'), a);
    // pid 1 is the container's init (sleep), except with --pid host: the host's, whose namespaces it cannot read
    if (opts.join(' ').includes('--pid host')) assert.doesNotMatch(a, /pid 1 is sleep/);
    else assert.ok(a.includes('cgroup same as init') && a.includes('pid 1 is sleep'), a);
    assert.equal(a, b, `container ${opts.join(' ')}: native exec (actual) against crun exec (expected)`);
  }
});

test('the exec goes through the shim itself, and its process holds no fd beyond stdio', async () => {
  const run = await native.docker(['run', '-d', '--name', 'fds', 'busybox', 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const running = native.docker(['exec', 'fds', 'sh', '-c', 'ls /proc/self/fd; sleep 2']);
  let shimArgs: string[] = [];
  for (let i = 0; i < 40 && !shimArgs.length; i++) {
    await sleep(50);
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let argv: string[];
      try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
      if (argv[0]?.endsWith('berth-shim') && argv.includes('--exec') && argv.some((a) => a.startsWith(native.execRoot))) shimArgs = argv;
    }
  }
  assert.ok(shimArgs.includes('--native'), `the exec's shim: ${shimArgs.join(' ')}`);
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  // 0-2, and 3: the directory ls is reading
  assert.deepEqual(r.stdout.trim().split(/\s+/), ['0', '1', '2', '3']);
  // a terminal exec still goes through crun (the native path does not make terminals)
  const tty = await native.docker(['exec', '-t', 'fds', 'tty']);
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+/);
  await native.docker(['rm', '-f', 'fds']);
});

test('exec errors read as dockerd\'s on both paths: a missing binary, a file that is no program, a bad working directory, an unknown user', async () => {
  await native.docker(['run', '-d', '--name', 'errs', 'busybox', 'sleep', '300']);
  await viaCrun.docker(['run', '-d', '--name', 'errs', 'busybox', 'sleep', '300']);
  // what the docker CLI printed (on stdout: the exec's stream) against dockerd 20.10 with runc, exit code 126
  const P = 'OCI runtime exec failed: exec failed: unable to start container process: ';
  const cases: [string[], string][] = [
    [['errs', 'nosuch'], `${P}exec: "nosuch": executable file not found in $PATH: unknown`],
    [['errs', '/bin/nosuch'], `${P}exec: "/bin/nosuch": executable file not found in $PATH: unknown`],
    [['errs', '/etc/passwd'], `${P}exec: "/etc/passwd": permission denied: unknown`],
    [['-w', '/nonexistent', 'errs', 'true'], `${P}chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory: unknown`],
    [['-w', '/etc/passwd', 'errs', 'true'], `${P}chdir to cwd ("/etc/passwd") set in config.json failed: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`],
    [['-w', 'relative', 'errs', 'pwd'], 'OCI runtime exec failed: exec failed: Cwd must be an absolute path: unknown'],
    [['-u', 'nosuchuser', 'errs', 'true'], 'unable to find user nosuchuser: no matching entries in passwd file'],
  ];
  for (const [args, text] of cases) {
    const [a, b] = await Promise.all([native.docker(['exec', ...args]), viaCrun.docker(['exec', ...args])]);
    assert.deepEqual([a.code, a.stdout, a.stderr], [126, `${text}\r\n`, ''], `native: ${args}`);
    assert.deepEqual([b.code, b.stdout, b.stderr], [126, `${text}\r\n`, ''], `crun: ${args}`);
  }
  // a terminal exec goes through crun on both daemons, whose error is coloured on a terminal
  const t = await native.docker(['exec', '-t', '-w', '/nonexistent', 'errs', 'true']);
  assert.deepEqual([t.code, t.stdout], [126, `${P}chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory: unknown\r\n`]);
  // an exec that never started leaves nothing on tmpfs: neither its shim's state dir nor the file handed to it
  for (const d of [native, viaCrun]) {
    const id = (await d.docker(['inspect', '-f', '{{.Id}}', 'errs'])).stdout.trim();
    const leftovers = () => readdirSync(path.join(d.execRoot, 'shim')).filter((f) => f.startsWith(`${id.slice(0, 16)}-`));
    await waitFor(async () => leftovers().length === 0, 5000).catch(() => undefined);
    assert.deepEqual(leftovers(), [], `${d === native ? 'native' : 'crun'} exec leftovers`);
  }
  await native.docker(['rm', '-f', 'errs']);
  await viaCrun.docker(['rm', '-f', 'errs']);
});

test('an exec racing its container\'s death is refused', async () => {
  const run = await native.docker(['run', '-d', '--name', 'gone', 'busybox', 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const pid = Number((await native.docker(['inspect', '-f', '{{.State.Pid}}', 'gone'])).stdout.trim());
  // the daemon learns of the exit through the shim: this exec may reach the shim before that news
  process.kill(pid, 'SIGKILL');
  const r = await native.docker(['exec', 'gone', 'true']);
  assert.notEqual(r.code, 0, 'an exec into a dead container succeeded');
  await native.docker(['rm', '-f', 'gone']);
});

/**
 * A native exec shim started by hand (no daemon) for a stand-in "container init" (a sleep of ours), whose command
 * would touch `marker`; `startSkew` shifts the recorded start time (non-zero: a pid reused by another process).
 * The shim has reported ready when this resolves; `cleanup` kills the stand-in and removes the directory.
 */
async function handStartedShim(startSkew: number): Promise<{ dir: string; marker: string; cleanup: () => void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-nexec-'));
  const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
  const cleanup = () => { victim.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
  try {
    const stat = readFileSync(`/proc/${victim.pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const file = path.join(dir, 'exec');
    const marker = path.join(dir, 'ran');
    writeFileSync(file, [`pid=${victim.pid}`, `start=${start + startSkew}`, 'uid=0', 'gid=0', 'caps=0', 'arg=/bin/touch', `arg=${marker}`].map((r) => `${r}\0`).join(''));
    const shim = spawn(SHIM, ['--runtime', '/usr/bin/crun', '--id', 'x', '--state-dir', path.join(dir, 'state'), '--exec', file, '--native'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const ready = await new Promise<string>((resolve) => { let t = ''; shim.stdio[3]!.on('data', (d) => { t += d; }).on('end', () => resolve(t)); });
    assert.match(ready, /"ready":true/);
    return { dir, marker, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

test('the shim refuses a pid whose start time is not the container\'s (a pid reused after the container exited)', async () => {
  const { dir, marker, cleanup } = await handStartedShim(1);
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(path.join(dir, 'state/ctl.sock'), () => c.write('start\n'));
      let t = '';
      c.on('data', (d) => { t += d; if (t.includes('\n')) { c.destroy(); resolve(t); } }).on('error', reject);
    });
    assert.match(reply, /^error the container's process \d+ is not running/);
    assert.ok(!existsSync(marker), 'the command ran');
  } finally {
    cleanup();
  }
});

test('an exec shim whose daemon connection closes before the start exits without running anything', async () => {
  // (a daemon that died between the spawn and the start: the shim used to wait for a start for ever)
  const { dir, marker, cleanup } = await handStartedShim(0);
  try {
    const shimPid = Number(readFileSync(path.join(dir, 'state/shim.pid'), 'utf8'));
    // running: not gone and not a zombie (it is reparented to pid 1 here, which may reap it late)
    const alive = () => { try { const st = readFileSync(`/proc/${shimPid}/stat`, 'utf8'); return st[st.lastIndexOf(')') + 2] !== 'Z'; } catch { return false; } };
    const c = await new Promise<net.Socket>((resolve, reject) => { const s = net.connect(path.join(dir, 'state/ctl.sock'), () => resolve(s)); s.on('error', reject); });
    await sleep(200);
    assert.ok(alive(), 'the shim waits for its start while the connection is open');
    c.end();
    await waitFor(async () => !alive(), 5000, 'the shim gone once its connection closed');
    assert.ok(!existsSync(marker), 'the command ran');
    assert.ok(!existsSync(path.join(dir, 'state/ctl.sock')), 'its sockets are removed');
  } finally {
    cleanup();
  }
});
