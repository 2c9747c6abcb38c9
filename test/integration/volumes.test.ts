// Volumes and container mounts with real containers (root), driven by the real docker CLI against a private berth
// daemon: data outliving containers, copy-up from the image with owners and modes, read-only mounts and rootfs,
// tmpfs, binds both ways, --volumes-from, rm -v, in-use refusals, a tmpfs-type local volume, daemon restarts.
// Everything (host dirs for binds too) lives under the daemon's temporary directory; TestDaemon.stop removes the
// containers, unmounts what is left under it and deletes it, whatever the tests did.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync, statSync, readdirSync } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, REPO } from '../helpers/daemon';

const d = new TestDaemon('vols');
const host = (p: string) => path.join(d.dir, 'host', p);

before(async () => {
  await d.start();
  await d.loadBusybox();
  // an image with content at /data (owned by 1000:1000, mode 0750) and VOLUME /data: busybox plus one directory
  const tar = path.join(d.dir, 'withdata.tar');
  const src = path.join(d.dir, 'imgsrc');
  mkdirSync(path.join(src, 'data', 'sub'), { recursive: true });
  writeFileSync(path.join(src, 'data', 'hello.txt'), 'hello from the image\n');
  writeFileSync(path.join(src, 'data', 'sub', 'deep.txt'), 'deep\n');
  const mk = await runCmd('bash', ['-c', `bash ${REPO}/scripts/busybox-image --tar > ${tar} && chmod 0750 ${src}/data && tar -rf ${tar} --owner=1000 --group=1000 -C ${src} data`]);
  assert.equal(mk.code, 0, mk.stderr);
  ok(await d.docker(['import', '-c', 'CMD ["sh"]', '-c', 'VOLUME /data', tar, 'withdata']), 'import');
  mkdirSync(host(''), { recursive: true });
});
after(async () => { await d.stop(); });

function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}
const docker = (...args: string[]) => d.docker(args);
/** Removes containers and volumes by name whatever happened; missing ones are fine. */
async function cleanup(containers: string[], volumes: string[] = []): Promise<void> {
  if (containers.length) await docker('rm', '-f', '-v', ...containers);
  if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
}
const volumeNames = async () => ok(await docker('volume', 'ls', '-q'), 'volume ls').split('\n').filter(Boolean);

test('data written into a named volume outlives its container and is read by the next one', async () => {
  try {
    ok(await docker('run', '--name', 'writer', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f'), 'writer');
    ok(await docker('rm', 'writer'), 'rm writer');
    assert.equal(ok(await docker('run', '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f'), 'reader'), 'persisted');
    const info = JSON.parse(ok(await docker('volume', 'inspect', 'keep'), 'inspect'))[0];
    assert.equal(info.Mountpoint, path.join(d.dataRoot, 'volumes', 'keep', '_data'));
    assert.equal(readFileSync(path.join(info.Mountpoint, 'f'), 'utf8'), 'persisted\n');
  } finally {
    await cleanup(['writer'], ['keep']);
  }
});

test('copy-up: an empty volume gets the image content at its mount point, owners and modes kept; nocopy and full volumes do not', async () => {
  try {
    const out = ok(await docker('run', '--rm', '-v', 'filled:/data', 'withdata', 'sh', '-c', 'cat /data/hello.txt /data/sub/deep.txt; stat -c "%u:%g %a" /data'), 'run');
    assert.deepEqual(out.split('\n'), ['hello from the image', 'deep', '1000:1000 750']);
    const dir = path.join(d.dataRoot, 'volumes', 'filled', '_data');
    const st = statSync(dir);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 1000, 0o750]);
    assert.equal(statSync(path.join(dir, 'hello.txt')).uid, 1000);
    // changed content stays: the volume is no longer empty, so nothing is copied again
    ok(await docker('run', '--rm', '-v', 'filled:/data', 'busybox', 'sh', '-c', 'rm /data/hello.txt; echo mine > /data/own'), 'change');
    assert.equal(ok(await docker('run', '--rm', '-v', 'filled:/data', 'withdata', 'ls', '/data'), 'ls'), 'own\nsub');
    // nocopy: stays empty
    assert.equal(ok(await docker('run', '--rm', '-v', 'empty:/data:nocopy', 'withdata', 'ls', '-A', '/data'), 'nocopy'), '');
    assert.equal(ok(await docker('run', '--rm', '--mount', 'type=volume,src=empty2,dst=/data,volume-nocopy', 'withdata', 'ls', '-A', '/data'), 'volume-nocopy'), '');
    // the image's VOLUME: an anonymous volume, filled the same way; a bind is never filled
    assert.equal(ok(await docker('run', '--rm', 'withdata', 'cat', '/data/hello.txt'), 'anonymous'), 'hello from the image');
    mkdirSync(host('bindd'), { recursive: true });
    assert.equal(ok(await docker('run', '--rm', '-v', `${host('bindd')}:/data`, 'withdata', 'ls', '-A', '/data'), 'bind'), '');
  } finally {
    await cleanup([], ['filled', 'empty', 'empty2']);
  }
});

test('read-only: -v x:/d:ro, --mount readonly and --read-only are enforced; --read-only leaves volumes writable', async () => {
  try {
    ok(await docker('volume', 'create', 'rov'), 'create');
    const ro = await docker('run', '--rm', '-v', 'rov:/d:ro', 'busybox', 'touch', '/d/x');
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    const ro2 = await docker('run', '--rm', '--mount', 'type=volume,src=rov,dst=/d,readonly', 'busybox', 'touch', '/d/x');
    assert.match(ro2.stderr, /Read-only file system/);
    const rootfs = await docker('run', '--rm', '--read-only', '-v', 'rov:/d', '--tmpfs', '/run', 'busybox', 'sh', '-c',
      'touch /x 2>&1; touch /d/ok && touch /run/ok && echo writable');
    assert.match(rootfs.stdout, /touch: \/x: Read-only file system/);
    assert.match(rootfs.stdout, /writable/);
    assert.ok(existsSync(path.join(d.dataRoot, 'volumes', 'rov', '_data', 'ok')));
    const info = JSON.parse(ok(await docker('inspect', (await docker('create', '-v', 'rov:/d:ro', 'busybox')).stdout.trim()), 'inspect'))[0];
    assert.deepEqual(info.Mounts, [{ Type: 'volume', Name: 'rov', Source: path.join(d.dataRoot, 'volumes', 'rov', '_data'), Destination: '/d', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' }]);
    assert.deepEqual(info.HostConfig.Binds, ['rov:/d:ro']);
    await docker('rm', info.Id);
  } finally {
    await cleanup([], ['rov']);
  }
});

test('tmpfs: --tmpfs and --mount type=tmpfs are tmpfs with docker\'s options and sizes', async () => {
  const out = ok(await docker('run', '--rm', '--tmpfs', '/t1:size=2m,mode=1770', '--mount', 'type=tmpfs,dst=/t2,tmpfs-size=3m', 'busybox', 'sh', '-c',
    'grep -E " /t[12] " /proc/mounts; stat -c %a /t1'), 'run');
  const lines = out.split('\n');
  assert.match(lines.find((l) => l.includes(' /t1 '))!, /^tmpfs \/t1 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770/);
  assert.match(lines.find((l) => l.includes(' /t2 '))!, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=3072k/);
  assert.equal(lines[lines.length - 1], '1770');
});

test('bind mounts both ways: host files seen inside, container writes seen on the host; -v creates a missing host dir, --mount refuses it', async () => {
  const dir = host('share');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'from-host'), 'host says hi\n');
  writeFileSync(host('single-file'), 'one file\n');
  const out = ok(await docker('run', '--rm', '-v', `${dir}:/share`, '--mount', `type=bind,src=${host('single-file')},dst=/etc/single,readonly`, 'busybox', 'sh', '-c',
    'cat /share/from-host /etc/single; echo container says hi > /share/from-container'), 'run');
  assert.equal(out, 'host says hi\none file');
  assert.equal(readFileSync(path.join(dir, 'from-container'), 'utf8'), 'container says hi\n');
  // -v creates what is missing on the host; --mount does not, with docker's message, and creates nothing
  const created = host('made/by/v');
  ok(await docker('run', '--rm', '-v', `${created}:/m`, 'busybox', 'true'), 'run -v missing');
  assert.ok(statSync(created).isDirectory());
  const before = await volumeNames();
  const missing = await docker('run', '--rm', '-v', 'should-not-exist:/v', '--mount', `type=bind,src=${host('nope')},dst=/x`, 'busybox', 'true');
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${host('nope')}`));
  assert.ok(!existsSync(host('nope')));
  assert.deepEqual(await volumeNames(), before, 'no volume left behind by the failed create');
});

test('--volumes-from: the same volumes and binds, narrowed to read-only with :ro', async () => {
  try {
    mkdirSync(host('vf'), { recursive: true });
    ok(await docker('create', '--name', 'lender', '-v', 'vfdata:/data', '-v', '/cache', '-v', `${host('vf')}:/hostdir`, 'busybox'), 'create lender');
    ok(await docker('run', '--rm', '--volumes-from', 'lender', 'busybox', 'sh', '-c', 'echo a > /data/a; echo c > /cache/c; echo h > /hostdir/h'), 'rw borrower');
    assert.equal(readFileSync(path.join(host('vf'), 'h'), 'utf8'), 'h\n');
    const ro = await docker('run', '--rm', '--volumes-from', 'lender:ro', 'busybox', 'sh', '-c', 'cat /data/a /cache/c; touch /data/x');
    assert.match(ro.stdout, /^a\nc\n$/);
    assert.match(ro.stderr, /Read-only file system/);
    const lender = JSON.parse(ok(await docker('inspect', 'lender'), 'inspect'))[0];
    const anon = lender.Mounts.find((m: { Destination: string }) => m.Destination === '/cache').Name;
    ok(await docker('run', '--name', 'borrower', '--volumes-from', 'lender', 'busybox', 'true'), 'borrower');
    const borrowed = JSON.parse(ok(await docker('inspect', 'borrower'), 'inspect'))[0];
    assert.deepEqual(borrowed.Mounts.map((m: { Destination: string }) => m.Destination).sort(), ['/cache', '/data', '/hostdir']);
    // the anonymous volume is still the lender's: rm -v of the borrower leaves it
    ok(await docker('rm', '-v', 'borrower'), 'rm borrower');
    assert.ok((await volumeNames()).includes(anon));
  } finally {
    await cleanup(['borrower', 'lender'], ['vfdata']);
  }
});

test('rm -v removes the anonymous volumes only; --rm does the same; volume rm of a used volume is a 409', async () => {
  try {
    const id = ok(await docker('create', '--name', 'owner', '-v', 'named:/n', '-v', '/anon1', '--mount', 'type=volume,dst=/anon2', 'busybox'), 'create');
    const mounts = JSON.parse(ok(await docker('inspect', 'owner'), 'inspect'))[0].Mounts as Array<{ Name: string; Destination: string }>;
    const anons = mounts.filter((m) => m.Destination !== '/n').map((m) => m.Name);
    assert.equal(anons.length, 2);
    const labels = JSON.parse(ok(await docker('volume', 'inspect', anons[0]), 'inspect'))[0].Labels;
    assert.deepEqual(labels, { 'com.docker.volume.anonymous': '' });
    // in use by a container that never ran: refused with docker's status and text
    const r = await d.api('DELETE', '/volumes/named');
    assert.equal(r.status, 409);
    assert.equal(r.body.message, `remove named: volume is in use - [${id}]`);
    const cli = await docker('volume', 'rm', 'named');
    assert.equal(cli.code, 1);
    assert.equal(cli.stderr.trim(), `Error response from daemon: remove named: volume is in use - [${id}]`);
    ok(await docker('rm', '-v', 'owner'), 'rm -v');
    const left = await volumeNames();
    assert.ok(left.includes('named'));
    for (const a of anons) assert.ok(!left.includes(a), `${a} removed`);
    // --rm: the anonymous volume goes with the container
    const beforeRun = await volumeNames();
    ok(await docker('run', '--rm', '-v', '/scratch', 'busybox', 'sh', '-c', 'echo x > /scratch/x'), 'run --rm');
    assert.deepEqual(await volumeNames(), beforeRun);
    // rm without -v keeps them all
    ok(await docker('run', '--name', 'keeper', '-v', '/kept', 'busybox', 'true'), 'run keeper');
    const kept = JSON.parse(ok(await docker('inspect', 'keeper'), 'inspect'))[0].Mounts[0].Name;
    ok(await docker('rm', 'keeper'), 'rm');
    assert.ok((await volumeNames()).includes(kept));
    await docker('volume', 'rm', kept);
  } finally {
    await cleanup(['owner', 'keeper'], ['named']);
  }
});

test('a tmpfs-type local volume is mounted while used, unmounted when its last user stops', async () => {
  const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(path.join(d.dataRoot, 'volumes', 'tv', '_data'));
  try {
    ok(await docker('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=4m,uid=1000', 'tv'), 'create');
    assert.deepEqual(JSON.parse(ok(await docker('volume', 'inspect', 'tv'), 'inspect'))[0].Options, { device: 'tmpfs', o: 'size=4m,uid=1000', type: 'tmpfs' });
    assert.ok(!mounted());
    ok(await docker('run', '-d', '--name', 'tv1', '-v', 'tv:/t', 'busybox', 'sleep', '60'), 'run 1');
    ok(await docker('run', '-d', '--name', 'tv2', '-v', 'tv:/t', 'busybox', 'sleep', '60'), 'run 2');
    assert.ok(mounted());
    const line = ok(await docker('exec', 'tv1', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %u /t; echo shared > /t/f'), 'exec');
    assert.match(line, /^tmpfs \/t tmpfs rw,relatime,size=4096k,uid=1000 0 0\n1000$/);
    assert.equal(ok(await docker('exec', 'tv2', 'cat', '/t/f'), 'exec 2'), 'shared');
    ok(await docker('rm', '-f', 'tv1'), 'rm 1');
    assert.ok(mounted(), 'still used by tv2');
    ok(await docker('stop', '-t', '0', 'tv2'), 'stop 2');
    assert.ok(!mounted(), 'unmounted with its last user');
    // a bad device fails the start with docker's message and mounts nothing
    ok(await docker('volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host('absent')}`, 'badbind'), 'create badbind');
    const bad = await docker('run', '--rm', '-v', 'badbind:/b', 'busybox', 'true');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, new RegExp(`error while mounting volume '${path.join(d.dataRoot, 'volumes', 'badbind', '_data')}': failed to mount local volume: mount ${host('absent')}:.*flags: 0x1000: no such file or directory`));
    // a bind-type volume shows the host directory, and removing the volume leaves that directory alone
    mkdirSync(host('bound'), { recursive: true });
    writeFileSync(path.join(host('bound'), 'precious'), 'keep me');
    ok(await docker('volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host('bound')}`, 'bindvol'), 'create bindvol');
    assert.equal(ok(await docker('run', '--rm', '-v', 'bindvol:/b', 'busybox', 'cat', '/b/precious'), 'run bindvol'), 'keep me');
    ok(await docker('volume', 'rm', 'bindvol'), 'rm bindvol');
    assert.equal(readFileSync(path.join(host('bound'), 'precious'), 'utf8'), 'keep me');
  } finally {
    await cleanup(['tv1', 'tv2'], ['tv', 'badbind', 'bindvol']);
  }
});

test('volumes, their references and a running container\'s volume mounts survive daemon restarts', async () => {
  const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(path.join(d.dataRoot, 'volumes', 'rt', '_data'));
  try {
    ok(await docker('volume', 'create', '--label', 'team=ops', 'survivor'), 'create');
    ok(await docker('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'rt'), 'create rt');
    const id = ok(await docker('run', '-d', '--name', 'user', '-v', 'survivor:/s', '-v', 'rt:/rt', 'busybox', 'sh', '-c', 'echo ok > /rt/f; echo ok > /s/f; sleep 120'), 'run');
    await d.kill(); // SIGKILL: no chance to save anything more
    await d.start();
    const v = JSON.parse(ok(await docker('volume', 'inspect', 'survivor'), 'inspect'))[0];
    assert.deepEqual(v.Labels, { team: 'ops' });
    const busy = await docker('volume', 'rm', 'survivor');
    assert.equal(busy.stderr.trim(), `Error response from daemon: remove survivor: volume is in use - [${id}]`);
    assert.ok(mounted());
    assert.equal(ok(await docker('exec', 'user', 'cat', '/rt/f'), 'exec'), 'ok');
    await d.stopDaemon();
    await d.start();
    ok(await docker('stop', '-t', '0', 'user'), 'stop');
    assert.ok(!mounted(), 'unmounted at the stop after the restart');
    ok(await docker('rm', 'user'), 'rm');
    ok(await docker('volume', 'rm', 'survivor', 'rt'), 'volume rm');
  } finally {
    await cleanup(['user'], ['survivor', 'rt']);
  }
});

test('system df counts volumes, their size and users; GET /containers/json lists mounts', async () => {
  try {
    ok(await docker('run', '--name', 'dfuser', '-v', 'dfvol:/d', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /d/blob'), 'run');
    const df = await d.api('GET', '/system/df?type=volume');
    const vol = df.body.Volumes.find((x: { Name: string }) => x.Name === 'dfvol');
    assert.deepEqual(vol.UsageData, { Size: 5000, RefCount: 1 });
    const table = ok(await docker('system', 'df', '-v'), 'df -v');
    assert.match(table, /dfvol\s+1\s+5kB/);
    const list = await d.api('GET', '/containers/json?all=1&filters=' + encodeURIComponent(JSON.stringify({ name: ['dfuser'] })));
    assert.equal(list.body[0].Mounts[0].Name, 'dfvol');
    assert.equal(ok(await docker('ps', '-a', '--filter', 'name=dfuser', '--format', '{{.Mounts}} {{.LocalVolumes}}'), 'ps'), 'dfvol 1');
    // nothing of berth's own left in the volumes directory but volumes
    assert.ok(readdirSync(path.join(d.dataRoot, 'volumes')).every((n) => !n.startsWith('.')));
  } finally {
    await cleanup(['dfuser'], ['dfvol']);
  }
});

test('cp reaches into volumes and binds, of running and stopped containers', async () => {
  mkdirSync(host('cpbind'), { recursive: true });
  writeFileSync(host('cpbind/from-host'), 'bound\n');
  writeFileSync(host('cp-in.txt'), 'copied in\n');
  ok(await docker('volume', 'create', 'cpvol'), 'volume');
  ok(await docker('run', '-d', '--name', 'cpv', '-v', 'cpvol:/vol', '-v', `${host('cpbind')}:/bind`, 'busybox', 'sleep', '60'), 'run');
  try {
    ok(await docker('cp', host('cp-in.txt'), 'cpv:/vol/in.txt'), 'cp into a volume (running)');
    assert.equal(ok(await docker('exec', 'cpv', 'cat', '/vol/in.txt'), 'read').trim(), 'copied in');
    ok(await docker('cp', 'cpv:/bind/from-host', host('back.txt')), 'cp out of a bind');
    assert.equal(readFileSync(host('back.txt'), 'utf8'), 'bound\n');
    ok(await docker('stop', '-t', '0', 'cpv'), 'stop');
    ok(await docker('cp', host('cp-in.txt'), 'cpv:/vol/in2.txt'), 'cp into a volume (stopped)');
    // the data is in the volume itself: a new container sees it
    assert.equal(ok(await docker('run', '--rm', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/in2.txt'), 'new container').trim(), 'copied in');
  } finally {
    await docker('rm', '-f', 'cpv');
    await docker('volume', 'rm', 'cpvol');
  }
});
