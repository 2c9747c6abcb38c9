// The real docker CLI (v28) and the berth CLI against berth's socket: volume create/ls/inspect/rm/prune, run -v and
// --mount give the same results and the same errors.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult } from '../helpers/daemon';

const d = new TestDaemon('compat-vol');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

for (const cli of ['docker', 'berth'] as const) {
  const run = (...args: string[]) => (cli === 'docker' ? d.docker(args) : d.berth(args));
  const n = (name: string) => `${cli}-${name}`;

  test(`${cli}: volume create, ls, inspect, rm with docker's output`, async () => {
    try {
      assert.equal(ok(await run('volume', 'create', '--label', 'team=blue', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', n('v1')), 'create'), `${n('v1')}\n`);
      assert.equal(ok(await run('volume', 'create', n('v2')), 'create plain'), `${n('v2')}\n`);
      // the same name again gives the existing volume
      assert.equal(ok(await run('volume', 'create', n('v2')), 'create again'), `${n('v2')}\n`);
      const anon = ok(await run('volume', 'create'), 'create anonymous').trim();
      assert.match(anon, /^[0-9a-f]{64}$/);

      const ls = ok(await run('volume', 'ls'), 'ls').split('\n');
      assert.match(ls[0], /^DRIVER\s+VOLUME NAME$/);
      assert.ok(ls.some((l) => new RegExp(`^local\\s+${n('v1')}$`).test(l)), ls.join('\n'));
      assert.equal(ok(await run('volume', 'ls', '-q', '--filter', 'label=team=blue'), 'ls -q').trim(), n('v1'));
      assert.equal(ok(await run('volume', 'ls', '--filter', `name=${n('v')}`, '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Links}}'), 'ls format'),
        `${n('v1')} local local team=blue N/A\n${n('v2')} local local  N/A\n`);
      const json = JSON.parse(ok(await run('volume', 'ls', '--filter', `name=${n('v1')}`, '--format', 'json'), 'ls json'));
      assert.equal(json.Mountpoint, path.join(d.dataRoot, 'volumes', n('v1'), '_data'));

      const ins = JSON.parse(ok(await run('volume', 'inspect', n('v1'), n('v2')), 'inspect'));
      assert.equal(ins.length, 2);
      assert.deepEqual(Object.keys(ins[0]), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
      assert.deepEqual(ins[0].Labels, { team: 'blue' });
      assert.deepEqual(ins[0].Options, { device: 'tmpfs', o: 'size=8m', type: 'tmpfs' });
      assert.equal(ins[1].Labels, null);
      assert.equal(ins[1].Options, null);
      assert.equal(ok(await run('volume', 'inspect', '-f', '{{.Driver}}/{{.Scope}}/{{index .Labels "team"}}', n('v1')), 'inspect -f').trim(), 'local/local/blue');
      assert.equal(ok(await run('inspect', '--type', 'volume', '-f', '{{.Name}}', n('v2')), 'inspect --type').trim(), n('v2'));

      // errors, as docker prints them
      const bad = await run('volume', 'create', 'a b');
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.trim(), 'Error response from daemon: create a b: "a b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
      const opt = await run('volume', 'create', '-o', 'type=tmpfs', n('bad'));
      assert.equal(opt.stderr.trim(), `Error response from daemon: create ${n('bad')}: missing required option: "device"`);
      const missing = await run('volume', 'inspect', 'no-such-volume');
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr.trim(), 'Error response from daemon: get no-such-volume: no such volume');
      const rm = await run('volume', 'rm', n('v2'), 'no-such-volume');
      assert.equal(rm.code, 1);
      assert.equal(rm.stdout, `${n('v2')}\n`);
      assert.equal(rm.stderr.trim(), 'Error response from daemon: get no-such-volume: no such volume');
      const forced = await run('volume', 'rm', '-f', 'no-such-volume');
      assert.equal(forced.code, 0);
      assert.equal(forced.stdout, 'no-such-volume\n');
      assert.equal(ok(await run('volume', 'rm', anon), 'rm anonymous'), `${anon}\n`);
    } finally {
      await run('volume', 'rm', '-f', n('v1'), n('v2'));
    }
  });

  test(`${cli}: run -v and --mount`, async () => {
    const hostDir = path.join(d.dir, `${cli}-host`);
    mkdirSync(hostDir, { recursive: true });
    try {
      ok(await run('run', '--name', n('w'), '-v', `${n('data')}:/data`, 'busybox', 'sh', '-c', 'echo hi > /data/f'), 'run -v');
      assert.equal(ok(await run('run', '--rm', '--mount', `type=volume,src=${n('data')},dst=/d,readonly`, 'busybox', 'cat', '/d/f'), 'run --mount'), 'hi\n');
      const tm = ok(await run('run', '--rm', '--mount', `type=volume,src=${n('tv')},dst=/t,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=2m`, 'busybox', 'grep', ' /t ', '/proc/mounts'), 'tmpfs volume');
      assert.match(tm, /^tmpfs \/t tmpfs rw,relatime,size=2048k/);
      ok(await run('run', '--rm', '--mount', `type=bind,src=${hostDir},dst=/h`, 'busybox', 'sh', '-c', 'echo back > /h/out'), 'bind');
      const mounts = JSON.parse(ok(await run('inspect', '-f', '{{json .Mounts}}', n('w')), 'inspect'));
      assert.deepEqual(mounts, [{ Type: 'volume', Name: n('data'), Source: path.join(d.dataRoot, 'volumes', n('data'), '_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
      assert.equal(ok(await run('ps', '-a', '--filter', `name=${n('w')}`, '--format', '{{.Mounts}}'), 'ps').trim(), n('data'));

      const nosrc = await run('run', '--rm', '--mount', `type=bind,src=${path.join(hostDir, 'absent')},dst=/x`, 'busybox', 'true');
      assert.equal(nosrc.code, 125);
      assert.match(nosrc.stderr, new RegExp(`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${path.join(hostDir, 'absent')}`));
      const dup = await run('create', '-v', `${n('a')}:/x`, '-v', `${hostDir}:/x`, 'busybox');
      assert.equal(dup.code, 1); // create says 1 where run says 125
      assert.match(dup.stderr, /Error response from daemon: Duplicate mount point: \/x/);
      const spec = await run('create', '-v', `${n('a')}:rel`, 'busybox');
      assert.match(spec.stderr, new RegExp(`invalid volume specification: '${n('a')}:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`));
      const busy = await run('volume', 'rm', n('data'));
      assert.match(busy.stderr, new RegExp(`Error response from daemon: remove ${n('data')}: volume is in use - \\[[0-9a-f]{64}\\]`));
    } finally {
      await run('rm', '-f', n('w'));
      await run('volume', 'rm', '-f', n('data'), n('tv'), n('a'));
    }
  });

  test(`${cli}: volume prune takes unused anonymous volumes, all of them with -a, and follows label filters`, async () => {
    try {
      ok(await run('create', '--name', n('holder'), '-v', '/held', 'busybox'), 'create holder');
      ok(await run('run', '--name', n('gone'), '-v', '/loose', 'busybox', 'true'), 'run');
      const loose = JSON.parse(ok(await run('inspect', '-f', '{{json .Mounts}}', n('gone')), 'inspect'))[0].Name;
      ok(await run('rm', n('gone')), 'rm');
      ok(await run('volume', 'create', '--label', 'keep=1', n('named-keep')), 'create');
      ok(await run('volume', 'create', n('named')), 'create');
      const p1 = ok(await run('volume', 'prune', '-f'), 'prune');
      assert.equal(p1, `Deleted Volumes:\n${loose}\n\nTotal reclaimed space: 0B\n`);
      const p2 = ok(await run('volume', 'prune', '-f', '-a', '--filter', 'label!=keep'), 'prune -a');
      assert.match(p2, new RegExp(`^Deleted Volumes:\\n(?:[0-9a-f]{64}\\n)*${n('named')}\\n(?:[0-9a-f]{64}\\n)*\\nTotal reclaimed space: `));
      assert.ok(!p2.includes(n('named-keep')));
      const names = ok(await run('volume', 'ls', '-q'), 'ls').split('\n');
      assert.ok(names.includes(n('named-keep')));
      const held = JSON.parse(ok(await run('inspect', '-f', '{{json .Mounts}}', n('holder')), 'inspect'))[0].Name;
      assert.ok(names.includes(held), 'a volume of a created container is in use');
      const none = ok(await run('volume', 'prune', '-f'), 'prune nothing');
      assert.equal(none, 'Total reclaimed space: 0B\n');
      const conflicting = await run('volume', 'prune', '-f', '-a', '--filter', 'all=1');
      assert.equal(conflicting.code, 1);
      assert.equal(conflicting.stderr.trim(), 'conflicting options: cannot specify both --all and --filter all=1');
    } finally {
      await run('rm', '-f', '-v', n('holder'), n('gone'));
      await run('volume', 'rm', '-f', n('named-keep'), n('named'));
    }
  });
}
