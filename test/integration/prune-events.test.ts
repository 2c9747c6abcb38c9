// container prune, system prune and events with both CLIs against a real daemon and real containers.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { TestDaemon, RunResult } from '../helpers/daemon';

const d = new TestDaemon('prune');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

for (const cli of ['docker', 'berth'] as const) {
  const run = (...args: string[]) => (cli === 'docker' ? d.docker(args) : d.berth(args));

  test(`${cli}: container prune removes stopped containers only, with filters`, async () => {
    const stopped = ok(await run('run', '--name', `${cli}-p1`, 'busybox', 'sh', '-c', 'echo data > /f'), 'run').trim();
    assert.equal(stopped, '');
    ok(await run('create', '--name', `${cli}-p2`, '--label', 'keep=yes', 'busybox', 'true'), 'create');
    ok(await run('run', '-d', '--name', `${cli}-p3`, 'busybox', 'sleep', '60'), 'running');
    try {
      const out = ok(await run('container', 'prune', '-f', '--filter', 'label!=keep=yes'), 'prune');
      const id1 = ok(await run('inspect', '-f', '{{.Id}}', `${cli}-p3`), 'inspect').trim();
      assert.match(out, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: \d/);
      assert.doesNotMatch(out, new RegExp(id1));
      const left = ok(await run('ps', '-a', '--format', '{{.Names}}'), 'ps').trim().split('\n').sort();
      assert.deepEqual(left, [`${cli}-p2`, `${cli}-p3`]);
      const none = ok(await run('container', 'prune', '-f', '--filter', 'label=nothing'), 'prune none');
      assert.equal(none, 'Total reclaimed space: 0B\n');
    } finally {
      await run('rm', '-f', `${cli}-p1`, `${cli}-p2`, `${cli}-p3`);
    }
  });

  test(`${cli}: system prune removes stopped containers, unused networks and dangling images`, async () => {
    ok(await run('run', '--name', `${cli}-s1`, 'busybox', 'true'), 'run');
    ok(await run('network', 'create', `${cli}-unused`), 'network');
    const out = ok(await run('system', 'prune', '-f'), 'system prune');
    assert.match(out, /Deleted Containers:\n[0-9a-f]{64}\n/);
    assert.match(out, new RegExp(`Deleted Networks:\\n${cli}-unused\\n`));
    assert.match(out, /Total reclaimed space: /);
    assert.equal(ok(await run('ps', '-aq'), 'ps').trim(), '');
    // the image is used by nothing but is tagged: kept without -a
    assert.match(ok(await run('images', '--format', '{{.Repository}}'), 'images'), /busybox/);
  });

  test(`${cli}: events with --since/--until, filters and --format`, async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(await run('run', '--rm', '--name', `${cli}-ev`, 'busybox', 'true'), 'run');
    const until = Math.floor(Date.now() / 1000) + 1;
    const plain = ok(await run('events', '--since', String(since), '--until', String(until), '--filter', `container=${cli}-ev`), 'events').trim().split('\n');
    const actions = plain.map((l) => l.split(' ')[2]);
    assert.deepEqual(actions.filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)), ['create', 'start', 'die', 'destroy']);
    assert.match(plain[0], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z container create [0-9a-f]{64} \(image=busybox, name=[a-z]+-ev\)$/);
    const fmt = ok(await run('system', 'events', '--since', String(since), '--until', String(until), '--filter', `container=${cli}-ev`,
      '--filter', 'event=die', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.exitCode}}'), 'format').trim();
    assert.equal(fmt, 'container die 0');
  });
}
