// Execs made ready at create (src/engine/exec/exec.ts, prepareEarly): the shim of a created exec is spawned
// before its start arrives, and everything that does not become a start gives it back. Each case reads the host:
// the exec shims running for the daemon's exec root, and their state dirs.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'fs';
import * as path from 'path';
import { TestDaemon, waitFor } from '../helpers/daemon';

const until = (what: string, fn: () => boolean | Promise<boolean>, ms: number) => waitFor(async () => fn(), ms, what);

const d = new TestDaemon('xearly');
d.env = { BERTH_EXEC_EARLY_TTL_MS: '1500' };
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const shimRoot = () => path.join(d.execRoot, 'shim');

/** pids of the exec shims (those with --exec-id) of this daemon's containers */
function execShims(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    const dir = argv[argv.indexOf('--state-dir') + 1];
    if (argv.includes('--exec-id') && dir?.startsWith(shimRoot())) out.push(Number(name));
  }
  return out;
}

const execDir = (containerId: string, execId: string) => path.join(shimRoot(), `${containerId.slice(0, 16)}-${execId.slice(0, 16)}`);

async function running(name: string): Promise<string> {
  const r = await d.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '300']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function createExec(id: string, body: Record<string, unknown>): Promise<string> {
  const r = await d.api('POST', `/containers/${id}/exec`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.Id as string;
}

async function inspectExec(execId: string): Promise<{ Running: boolean; ExitCode: number | null }> {
  return (await d.api('GET', `/exec/${execId}/json`)).body;
}

test('a created exec has its shim before the start; a detached start runs it; nothing is left', async () => {
  const id = await running('early-a');
  const execId = await createExec(id, { Cmd: ['sh', '-c', 'echo ran > /tmp/mark'] });
  await until('the prepared shim', () => execShims().length === 1, 5000);
  assert.ok(existsSync(path.join(execDir(id, execId), 'ctl.sock')));
  const r = await d.api('POST', `/exec/${execId}/start`, { Detach: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until('the exec to end', async () => (await inspectExec(execId)).ExitCode === 0, 5000);
  assert.equal((await d.docker(['exec', 'early-a', 'cat', '/tmp/mark'])).stdout, 'ran\n');
  await until('no exec shim', () => execShims().length === 0, 5000);
  await until('no exec state left', () => readdirSync(shimRoot()).every((n) => !n.includes('-')), 5000);
  assert.equal((await d.docker(['rm', '-f', 'early-a'])).code, 0);
});

test('a start that differs from the prepared one (detached, with stdin) gets a shim of its own', async () => {
  const id = await running('early-b');
  // prepared for an attached start with stdin; started detached, the process must get no stdin at all (cat ends)
  const execId = await createExec(id, { Cmd: ['sh', '-c', 'cat; echo done > /tmp/mark'], AttachStdin: true, AttachStdout: true });
  await until('the prepared shim', () => execShims().length === 1, 5000);
  const prepared = execShims()[0];
  const r = await d.api('POST', `/exec/${execId}/start`, { Detach: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until('the exec to end', async () => (await inspectExec(execId)).ExitCode === 0, 5000);
  assert.equal((await d.docker(['exec', 'early-b', 'cat', '/tmp/mark'])).stdout, 'done\n');
  await until('the prepared shim to go', () => !execShims().includes(prepared), 5000);
  await until('no exec state left', () => readdirSync(shimRoot()).every((n) => !n.includes('-')), 5000);
  assert.equal((await d.docker(['rm', '-f', 'early-b'])).code, 0);
});

test('an exec never started gives its shim back: at its time limit, and when the container stops', async () => {
  const id = await running('early-c');
  const execId = await createExec(id, { Cmd: ['true'] });
  await until('the prepared shim', () => execShims().length === 1, 5000);
  // BERTH_EXEC_EARLY_TTL_MS is 1.5 s here
  await until('the shim to be given back', () => execShims().length === 0, 10_000);
  await until('its state dir to go', () => !existsSync(execDir(id, execId)), 5000);
  // started after that, it still runs (a new shim)
  const r = await d.api('POST', `/exec/${execId}/start`, { Detach: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until('the exec to end', async () => (await inspectExec(execId)).ExitCode === 0, 5000);

  const pending = await createExec(id, { Cmd: ['true'] });
  await until('the prepared shim', () => execShims().length === 1, 5000);
  assert.equal((await d.docker(['stop', '-t', '0', 'early-c'])).code, 0);
  await until('the shim of the exec the stop forgot', () => execShims().length === 0, 5000);
  await until('its state dir to go', () => !existsSync(execDir(id, pending)), 5000);
  assert.equal((await d.api('GET', `/exec/${pending}/json`)).status, 404);
  assert.equal((await d.docker(['rm', '-f', 'early-c'])).code, 0);
});

test('at most 16 created execs wait with a shim; the others are prepared at their start', async () => {
  const id = await running('early-d');
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await createExec(id, { Cmd: ['true'], AttachStdout: true }));
  await until('16 prepared shims', () => execShims().length === 16, 5000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(execShims().length, 16);
  for (const execId of ids) {
    const r = await d.api('POST', `/exec/${execId}/start`, { Detach: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  for (const execId of ids) await until('each exec to end', async () => (await inspectExec(execId)).ExitCode === 0, 5000);
  await until('no exec shim', () => execShims().length === 0, 5000);
  assert.equal((await d.docker(['rm', '-f', 'early-d'])).code, 0);
});

test('the docker CLI: exec, exec -i and failing execs, each created and started as it always is', async () => {
  await running('early-e');
  const out = await d.docker(['exec', 'early-e', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([out.code, out.stdout, out.stderr], [3, 'out\n', 'err\n']);
  const inp = await d.docker(['exec', '-i', 'early-e', 'cat'], { input: 'piped\n' });
  assert.deepEqual([inp.code, inp.stdout], [0, 'piped\n']);
  const user = await d.docker(['exec', '-u', 'nosuch', 'early-e', 'true']);
  assert.equal(user.code, 126);
  assert.match(user.stdout + user.stderr, /unable to find user nosuch/); // (dockerd writes it on the stream)
  const missing = await d.docker(['exec', 'early-e', 'nosuchcmd']);
  assert.equal(missing.code, 126); // as dockerd: 126 for every exec that could not start
  await until('no exec shim', () => execShims().length === 0, 5000);
  assert.equal((await d.docker(['rm', '-f', 'early-e'])).code, 0);
});
