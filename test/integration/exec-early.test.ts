// Execs whose shim is made at create time (src/engine/exec/exec.ts, prepareEarly): `docker exec` sends the start
// right after the create, so a non-terminal exec without stdin gets its shim meanwhile. What must hold: the start
// runs it; one never started leaves no process and no file; a container stopped or restarted in between takes its
// execs' shims along; only a few are made ahead; and a shim made ahead exits with the daemon that made it.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { TestDaemon, waitFor } from '../helpers/daemon';

const d = new TestDaemon('exec-early');
let cid = '';

before(async () => {
  await d.start();
  await d.loadBusybox();
  cid = (await d.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600'])).stdout.trim();
  assert.match(cid, /^[0-9a-f]{64}$/);
});
after(async () => { await d.stop(); });

/** pids of the berth-shim processes started for this exec (found by the --exec-id argument) */
function shimsOf(execId: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('berth-shim') && argv.includes(execId)) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}
const stateDir = (execId: string) => path.join(d.execRoot, 'shim', `${cid.slice(0, 16)}-${execId.slice(0, 16)}`);

async function createExec(body: Record<string, unknown> = {}): Promise<string> {
  const r = await d.api('POST', `/containers/${cid}/exec`, { Cmd: ['sh', '-c', 'echo ran > /tmp/ran-$PPID; exit 3'], AttachStdout: true, AttachStderr: true, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.Id;
}
async function startDetachedAndWait(execId: string): Promise<number> {
  const r = await d.api('POST', `/exec/${execId}/start`, { Detach: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return waitFor(async () => { const i = (await d.api('GET', `/exec/${execId}/json`)).body; return !i.Running && i.ExitCode !== null ? i.ExitCode as number : undefined; }, 10_000, 'the exec exited');
}

test('a non-terminal exec without stdin has its shim before the start, and the start runs it; terminal and stdin execs wait for the start', async () => {
  const id = await createExec();
  await waitFor(async () => shimsOf(id).length === 1, 5000, 'a shim made at create');
  assert.equal(await startDetachedAndWait(id), 3);
  // the attached path through the docker CLI: output and exit code
  const r = await d.docker(['exec', cid, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [5, 'out\n', 'err\n']);
  const tty = await createExec({ Tty: true });
  const stdin = await createExec({ AttachStdin: true });
  await new Promise((res) => setTimeout(res, 300));
  assert.deepEqual([shimsOf(tty), shimsOf(stdin)], [[], []]);
  await d.api('POST', `/exec/${tty}/start`, { Detach: true });
  await d.api('POST', `/exec/${stdin}/start`, { Detach: true });
});

test('an exec never started: its shim and its files are gone after 10 s', async () => {
  const id = await createExec();
  await waitFor(async () => shimsOf(id).length === 1, 5000, 'a shim made at create');
  assert.ok(existsSync(stateDir(id)));
  await waitFor(async () => shimsOf(id).length === 0 && !existsSync(stateDir(id)) && !existsSync(`${stateDir(id)}.exec`), 20_000, 'the unstarted shim gone');
  // started late, it still runs (its shim is made then)
  assert.equal(await startDetachedAndWait(id), 3);
});

test('the container restarts between create and start: the exec is forgotten (as in dockerd), and its shim with it', async () => {
  const id = await createExec();
  await waitFor(async () => shimsOf(id).length === 1, 5000, 'a shim made at create');
  assert.equal((await d.docker(['restart', '-t', '0', cid])).code, 0);
  await waitFor(async () => shimsOf(id).length === 0 && !existsSync(stateDir(id)), 5000, 'the shim made for the old process gone');
  assert.equal((await d.api('POST', `/exec/${id}/start`, { Detach: true })).status, 404);
  // one created after the restart is made for the new process and runs there
  const again = await createExec({ Cmd: ['sh', '-c', 'exit 4'] });
  await waitFor(async () => shimsOf(again).length === 1, 5000, 'a shim made at create');
  assert.equal(await startDetachedAndWait(again), 4);
});

test('only four execs have a shim made ahead; the others get theirs at the start, and all run', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await createExec());
  await waitFor(async () => ids.filter((id) => shimsOf(id).length === 1).length === 4, 5000, 'four shims made ahead');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(ids.filter((id) => shimsOf(id).length === 1).length, 4);
  for (const id of ids) assert.equal(await startDetachedAndWait(id), 3);
});

test('the container stops: the shims made for its execs go with them', async () => {
  const id = await createExec();
  await waitFor(async () => shimsOf(id).length === 1, 5000, 'a shim made at create');
  assert.equal((await d.docker(['stop', '-t', '0', cid])).code, 0);
  await waitFor(async () => shimsOf(id).length === 0 && !existsSync(stateDir(id)), 5000, 'the shim and its state dir gone');
  assert.equal((await d.docker(['start', cid])).code, 0);
});

test('a shim made ahead exits with the daemon that made it', async () => {
  const id = await createExec();
  await waitFor(async () => shimsOf(id).length === 1, 5000, 'a shim made at create');
  await d.kill();
  await waitFor(async () => shimsOf(id).length === 0, 5000, 'the shim gone with its daemon');
  // the container itself survives the daemon, as always
  await d.start();
  const r = await d.docker(['exec', cid, 'echo', 'alive']);
  assert.deepEqual([r.code, r.stdout], [0, 'alive\n']);
});
