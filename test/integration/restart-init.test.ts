// Restart policies and --init with real containers, driven by the real docker CLI: on-failure:N restarts exactly N
// times, "restarting" shows during the back-off and stop cancels it, always/unless-stopped come back after a
// daemon restart (unless the user stopped them), and --init reaps zombies and forwards signals.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync } from 'fs';
import { TestDaemon, RunResult, waitFor, sleep } from '../helpers/daemon';

const d = new TestDaemon('restart');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };
const inspect = async (name: string, fmt: string) => ok(await d.docker(['inspect', '-f', fmt, name]), `inspect ${fmt}`);

test('on-failure:3 restarts exactly three times, then stays exited; success is not restarted', async () => {
  ok(await d.docker(['run', '-d', '--name', 'of3', '--restart', 'on-failure:3', 'busybox', 'sh', '-c', 'exit 3']), 'run');
  ok(await d.docker(['run', '-d', '--name', 'of0', '--restart', 'on-failure', 'busybox', 'true']), 'run ok');
  try {
    // back-off 100, 200, 400 ms: three restarts well within 10 s
    await waitFor(async () => (await inspect('of3', '{{.RestartCount}} {{.State.Status}}')) === '3 exited', 15_000, 'three restarts');
    await sleep(1500); // no fourth
    assert.equal(await inspect('of3', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '3 exited 3');
    assert.equal(await inspect('of0', '{{.RestartCount}} {{.State.Status}}'), '0 exited');
  } finally {
    await d.docker(['rm', '-f', 'of3', 'of0']);
  }
});

test('always: "restarting" during the back-off, stop cancels it; rm needs -f', async () => {
  ok(await d.docker(['run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1']), 'run');
  try {
    // after five restarts (100+200+400+800+1600 ms) the next back-off is 3.2 s: long enough to look at it
    // the same restarting state, count 5 and start time twice, 800 ms apart (longer than a start takes): in the 3.2 s back-off, not in the
    // middle of a policy start (which also shows "restarting" until the container runs)
    const look = () => inspect('alw', '{{.State.Status}} {{.RestartCount}} {{.State.StartedAt}}');
    await waitFor(async () => {
      const a = await look();
      if (!/^restarting 5 /.test(a)) return false;
      await sleep(800);
      return (await look()) === a;
    }, 20_000, 'restarting');
    assert.match(ok(await d.docker(['ps', '--filter', 'name=alw', '--format', '{{.Status}}']), 'ps'), /^Restarting \(1\) /);
    const rm = await d.docker(['rm', 'alw']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /You cannot remove a restarting container/);
    ok(await d.docker(['stop', 'alw']), 'stop');
    const count = await inspect('alw', '{{.RestartCount}}');
    await sleep(2000);
    assert.equal(await inspect('alw', '{{.State.Status}} {{.RestartCount}}'), `exited ${count}`);
  } finally {
    await d.docker(['rm', '-f', 'alw']);
  }
});

test('rm -f right after the exit of an always-restarting container: removed, and no write races the removal (docker-py\'s test_create_with_restart_policy)', async () => {
  // The exit handler saves the "restarting" state. That save ran outside the container's lock, and a removal arriving
  // meanwhile deleted the directory it was writing into (once "ENOTEMPTY … rmdir", a 500). A failpoint widens the
  // window: the save must hold the lock, so the removal waits for it and nothing writes into the removed directory.
  const fp = new TestDaemon('restart-rm');
  fp.env = { BERTH_FAILPOINTS: 'container.exit.before-restart-save=delay(300)' };
  await fp.start();
  try {
    await fp.loadBusybox();
    for (let i = 0; i < 3; i++) {
      const id = (await fp.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 }, NetworkMode: 'none' } })).body.Id as string;
      assert.equal((await fp.api('POST', `/containers/${id}/start`)).status, 204);
      assert.equal((await fp.api('POST', `/containers/${id}/wait`)).status, 200);
      const plain = await fp.api('DELETE', `/containers/${id}`);
      assert.equal(plain.status, 409, JSON.stringify(plain.body));
      assert.match(String(plain.body.message).toLowerCase(), /stop the container before/);
      const forced = await fp.api('DELETE', `/containers/${id}?force=1`);
      assert.equal(forced.status, 204, `rm -f → ${forced.status} ${JSON.stringify(forced.body)}`);
      await sleep(500); // past the failpoint's delay: a save that raced the removal has failed by now
      assert.equal((await fp.api('GET', `/containers/${id}/json`)).status, 404);
      assert.ok(!existsSync(`${fp.dataRoot}/containers/${id}`), 'the removed container\'s directory is back');
    }
    assert.doesNotMatch(fp.log, /saving restarting state failed/);
  } finally {
    await fp.stop();
  }
});

test('always and unless-stopped come back after a daemon restart; a user-stopped unless-stopped does not', async () => {
  ok(await d.docker(['run', '-d', '--name', 'back1', '--restart', 'always', 'busybox', 'sleep', '300']), 'always');
  ok(await d.docker(['run', '-d', '--name', 'back2', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']), 'unless-stopped');
  ok(await d.docker(['run', '-d', '--name', 'back3', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']), 'unless-stopped, stopped');
  ok(await d.docker(['stop', '-t', '0', 'back3']), 'stop back3');
  try {
    const pids = [await inspect('back1', '{{.State.Pid}}'), await inspect('back2', '{{.State.Pid}}')];
    // the daemon dies, and so do the containers (as on a reboot): the restart brings the policies' ones back
    await d.kill();
    for (const p of pids) process.kill(Number(p), 'SIGKILL');
    await sleep(300);
    await d.start();
    await waitFor(async () => (await inspect('back1', '{{.State.Status}}')) === 'running', 15_000, 'always back');
    await waitFor(async () => (await inspect('back2', '{{.State.Status}}')) === 'running', 15_000, 'unless-stopped back');
    assert.equal(await inspect('back3', '{{.State.Status}}'), 'exited');
    assert.notEqual(await inspect('back1', '{{.State.Pid}}'), pids[0]);
  } finally {
    await d.docker(['rm', '-f', 'back1', 'back2', 'back3']);
  }
});

test('--init: PID 1 is the init, zombies are reaped, signals reach the process', async () => {
  // sh makes an orphan that exits at once: without an init it would stay a zombie under PID 1
  ok(await d.docker(['run', '-d', '--name', 'ini', '--init', 'busybox', 'sh', '-c', '(sleep 0.1 &) ; trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done']), 'run --init');
  try {
    const comm = ok(await d.docker(['exec', 'ini', 'cat', '/proc/1/comm']), 'comm');
    assert.match(comm, /^(tini|docker-init|init)/);
    await sleep(500);
    const zombies = ok(await d.docker(['exec', 'ini', 'sh', '-c', 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l']), 'zombies');
    assert.equal(zombies, '0');
    ok(await d.docker(['stop', '-t', '5', 'ini']), 'stop');
    assert.equal(await inspect('ini', '{{.State.ExitCode}}'), '7');
    assert.match(ok(await d.docker(['logs', 'ini']), 'logs'), /got-term/);
  } finally {
    await d.docker(['rm', '-f', 'ini']);
  }
});
