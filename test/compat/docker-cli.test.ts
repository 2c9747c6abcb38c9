// The real docker CLI (v28, /usr/local/bin/docker) against berth's socket, and the berth CLI beside it:
// the same commands give the same results.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { TestDaemon, RunResult } from '../helpers/daemon';

const d = new TestDaemon('compat');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

for (const cli of ['docker', 'berth'] as const) {
  const run = (args: string[], opts: { input?: string } = {}) => (cli === 'docker' ? d.docker(args, opts) : d.berth(args, opts));

  test(`${cli}: run --rm prints output and returns the exit code`, async () => {
    const r = await run(['run', '--rm', 'busybox', 'echo', 'hello world']);
    ok(r, 'run');
    assert.equal(r.stdout, 'hello world\n');
    const e = await run(['run', '--rm', 'busybox', 'sh', '-c', 'echo to-err >&2; exit 5']);
    assert.equal(e.code, 5);
    assert.equal(e.stderr.trim(), 'to-err');
  });

  test(`${cli}: run errors exit 125/127`, async () => {
    const nf = await run(['run', '--rm', 'busybox', 'nosuchcmd']);
    assert.equal(nf.code, 127, nf.stderr);
    assert.match(nf.stderr, /executable file not found/);
    const img = await run(['run', '--rm', 'nosuchimage:1']);
    assert.equal(img.code, 125, img.stderr);
    const dir = await run(['run', '--rm', 'busybox', '/etc']);
    assert.equal(dir.code, 126, dir.stderr);
    assert.match(dir.stderr, /permission denied/);
    // nothing is left behind by the failed --rm runs
    assert.equal((await run(['ps', '-aq'])).stdout.trim(), '');
  });

  test(`${cli}: -i pipes stdin`, async () => {
    const r = await run(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\n' });
    ok(r, 'run -i');
    assert.equal(r.stdout, 'hi\n');
  });

  test(`${cli}: -i with more stdin than the process reads: the output still arrives`, async () => {
    // The process exits with stdin still coming: the client's writes must not cost it the output (they once did:
    // the shim closed its connections at once, the daemon's next stdin write failed and dropped the output).
    const big = 'x'.repeat(4 << 20);
    const r = await run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'head -c 10 >/dev/null; echo got'], { input: big });
    ok(r, 'run -i');
    assert.equal(r.stdout, 'got\n');
    const name = `${cli}-stdin`;
    ok(await run(['run', '-d', '--name', name, 'busybox', 'sleep', '300']), 'run -d');
    for (let i = 0; i < 3; i++) {
      const e = await run(['exec', '-i', name, 'sh', '-c', 'head -c 10 >/dev/null; echo got'], { input: big });
      ok(e, 'exec -i');
      assert.equal(e.stdout, 'got\n', `round ${i}`);
    }
    ok(await run(['rm', '-f', name]), 'rm -f');
  });

  test(`${cli}: run -d, ps, logs, exec, stop, inspect, rm -f`, async () => {
    const name = `${cli}-web`;
    const r = await run(['run', '-d', '--name', name, '-l', 'app=demo', 'busybox', 'sh', '-c', 'echo started; exec sleep 300']);
    ok(r, 'run -d');
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await run(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
    ok(ps, 'ps');
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} ${name} Up `, 'm'));
    const table = await run(['ps', '-a', '--filter', 'label=app=demo']);
    assert.match(table.stdout.split('\n')[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.ok(table.stdout.includes(name));
    const q = await run(['ps', '-q']);
    assert.ok(q.stdout.split('\n').includes(id.slice(0, 12)));
    let logs = await run(['logs', name]);
    for (let i = 0; i < 20 && !logs.stdout.includes('started'); i++) { await new Promise((r) => setTimeout(r, 100)); logs = await run(['logs', name]); }
    assert.equal(logs.stdout, 'started\n');
    const ex = await run(['exec', name, 'sh', '-c', 'echo in-$HOSTNAME']);
    ok(ex, 'exec');
    assert.equal(ex.stdout.trim(), `in-${id.slice(0, 12)}`);
    const exCode = await run(['exec', name, 'sh', '-c', 'exit 4']);
    assert.equal(exCode.code, 4);
    const fmt = await run(['inspect', '--format', '{{.State.Status}} {{.Config.Labels.app}}', name]);
    assert.equal(fmt.stdout.trim(), 'running demo');
    const t0 = Date.now();
    ok(await run(['stop', '-t', '1', name]), 'stop');
    assert.ok(Date.now() - t0 < 5000);
    const st = await run(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]);
    assert.equal(st.stdout.trim(), 'exited 137'); // sleep as PID 1 ignores SIGTERM: killed after -t
    const rm = await run(['rm', name]);
    ok(rm, 'rm');
    assert.equal(rm.stdout.trim(), name);
  });

  test(`${cli}: kill, rm -f of a running container, errors for unknown containers`, async () => {
    const id = (await run(['run', '-d', 'busybox', 'sleep', '300'])).stdout.trim();
    const k = await run(['kill', id.slice(0, 12)]);
    ok(k, 'kill');
    const again = await run(['kill', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not running/);
    const id2 = (await run(['run', '-d', 'busybox', 'sleep', '300'])).stdout.trim();
    const rmRunning = await run(['rm', id2]);
    assert.notEqual(rmRunning.code, 0);
    assert.match(rmRunning.stderr, /container is running: stop the container before removing or force remove/);
    ok(await run(['rm', '-f', id, id2]), 'rm -f');
    const missing = await run(['rm', 'nosuchcontainer']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error response from daemon: No such container: nosuchcontainer/);
  });

  test(`${cli}: images lists busybox`, async () => {
    const r = await run(['images']);
    ok(r, 'images');
    assert.match(r.stdout.split('\n')[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(r.stdout, /^busybox\s+latest\s+[0-9a-f]{12}\s/m);
  });
}

test('docker and berth agree on ps and inspect of the same container', async () => {
  const id = (await d.docker(['run', '-d', '--name', 'agree', 'busybox', 'sleep', '300'])).stdout.trim();
  const fmt = '{{.ID}}|{{.Image}}|{{.Command}}|{{.Names}}|{{.State}}';
  const a = await d.docker(['ps', '--no-trunc', '--format', fmt]);
  const b = await d.berth(['ps', '--no-trunc', '--format', fmt]);
  assert.equal(b.stdout, a.stdout);
  const ia = JSON.parse((await d.docker(['inspect', id])).stdout);
  const ib = JSON.parse((await d.berth(['inspect', id])).stdout);
  assert.deepEqual(ib[0].State, ia[0].State);
  assert.equal(ib[0].Id, ia[0].Id);
  await d.docker(['rm', '-f', id]);
});
