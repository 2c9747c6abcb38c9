// cp and export with real containers, through both the docker CLI (v28) and the berth CLI: round trips keep
// modes, owners, mtimes and symlinks; running, created and stopped containers; trailing "/."; tar streams on
// stdin/stdout; docker's errors; symlinks and ".." that try to leave the container; export; concurrent copies of
// a stopped container (the mount is counted) and nothing left mounted afterwards.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, BERTH } from '../helpers/daemon';

const d = new TestDaemon('archive');
let host: string; // a scratch directory of the test, removed with the daemon's files
let marker: string; // a host directory that no copy may ever touch
let markerBefore: string;

before(async () => {
  await d.start();
  await d.loadBusybox();
  host = path.join(d.dir, 'host');
  // The tree copied in and out: owners 1234:5678, modes 0750/0700/4755, symlinks (relative, absolute, to a
  // directory), a hard link, a subdirectory, an old mtime.
  await fs.mkdir(path.join(host, 'tree/sub'), { recursive: true });
  await fs.writeFile(path.join(host, 'tree/owned'), 'owned by 1234\n');
  await fs.chown(path.join(host, 'tree/owned'), 1234, 5678);
  await fs.chmod(path.join(host, 'tree/owned'), 0o750);
  await fs.writeFile(path.join(host, 'tree/sub/deep'), 'deep\n');
  await fs.chmod(path.join(host, 'tree/sub'), 0o700);
  await fs.writeFile(path.join(host, 'tree/suid'), '#!/bin/sh\n');
  await fs.chmod(path.join(host, 'tree/suid'), 0o4755);
  await fs.symlink('owned', path.join(host, 'tree/rel'));
  await fs.symlink('/etc/passwd', path.join(host, 'tree/abs'));
  await fs.symlink('sub', path.join(host, 'tree/dirlink'));
  await fs.link(path.join(host, 'tree/owned'), path.join(host, 'tree/hard'));
  await fs.utimes(path.join(host, 'tree/owned'), 1_500_000_000, 1_500_000_000);
  marker = path.join('/tmp', `berth-archive-marker-${process.pid}`);
  await fs.mkdir(marker, { recursive: true });
  await fs.writeFile(path.join(marker, 'secret'), 'host secret');
  markerBefore = snapshotOf(marker);
});

after(async () => {
  try {
    assert.equal(snapshotOf(marker), markerBefore, 'a copy touched a host directory outside every container');
  } finally {
    await fs.rm(marker, { recursive: true, force: true });
    await d.stop();
  }
});

function snapshotOf(dir: string): string {
  return execFileSync('find', [dir, '-printf', '%p %y %m %s %u:%g %T@\\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
}

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

/** Mounts under this daemon's directory (running containers have one each). */
function mountsOfDaemon(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(d.dir));
}

for (const cli of ['docker', 'berth'] as const) {
  const run = (...args: string[]) => (cli === 'docker' ? d.docker(args) : d.berth(args));
  /** A shell line with the CLI as $CLI (for pipes and redirections of binary tars). */
  const sh = (line: string) => runCmd('bash', ['-c', line], {
    env: cli === 'docker'
      ? { CLI: '/usr/local/bin/docker', DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') }
      : { CLI: BERTH, BERTH_HOST: d.host },
  });
  const n = (s: string) => `${cli}-${s}`;
  const statIn = async (c: string, p: string) => ok(await run('exec', c, 'stat', '-c', '%n %u:%g %a %F %Y', p), `stat ${p}`).trim();

  test(`${cli}: a tree into a running container and back keeps modes, owners, mtimes, symlinks and hard links`, async () => {
    const c = n('rt');
    ok(await run('run', '-d', '--name', c, 'busybox', 'sleep', '600'), 'run');
    try {
      ok(await run('cp', path.join(host, 'tree'), `${c}:/copied`), 'cp in');
      assert.equal(await statIn(c, '/copied/owned'), '/copied/owned 1234:5678 750 regular file 1500000000');
      assert.equal(await statIn(c, '/copied/sub'), '/copied/sub 0:0 700 directory ' + Math.floor((await fs.stat(path.join(host, 'tree/sub'))).mtimeMs / 1000));
      assert.equal(await statIn(c, '/copied/suid'), '/copied/suid 0:0 4755 regular file ' + Math.floor((await fs.stat(path.join(host, 'tree/suid'))).mtimeMs / 1000));
      const links = ok(await run('exec', c, 'sh', '-c', 'readlink /copied/rel; readlink /copied/abs; readlink /copied/dirlink'), 'readlink');
      assert.equal(links, 'owned\n/etc/passwd\nsub\n');
      const inodes = ok(await run('exec', c, 'stat', '-c', '%i', '/copied/owned', '/copied/hard'), 'inodes').trim().split('\n');
      assert.equal(inodes[0], inodes[1], 'hard link kept');

      const out = path.join(host, n('out-rt'));
      ok(await run('cp', `${c}:/copied`, out), 'cp out');
      const st = await fs.stat(path.join(out, 'owned'));
      assert.equal(st.mode & 0o7777, 0o750);
      assert.equal(st.mtimeMs, 1_500_000_000_000);
      assert.equal((await fs.stat(path.join(out, 'suid'))).mode & 0o7777, 0o4755);
      assert.equal((await fs.stat(path.join(out, 'sub'))).mode & 0o777, 0o700);
      assert.equal(await fs.readlink(path.join(out, 'abs')), '/etc/passwd');
      assert.equal(await fs.readFile(path.join(out, 'sub/deep'), 'utf8'), 'deep\n');
      assert.equal((await fs.stat(path.join(out, 'hard'))).ino, st.ino);
      // files copied out belong to whoever copies (docker's rule); -a keeps the owners going in (below)
      assert.equal(st.uid, process.getuid!());
    } finally {
      await run('rm', '-f', c);
    }
  });

  test(`${cli}: created and stopped containers, file and directory rules, trailing "/."`, async () => {
    const c = n('stopped');
    ok(await run('create', '--name', c, 'busybox', 'sh', '-c', 'ls -la /in /in/tree /dot; cat /in/file'), 'create');
    try {
      const before = mountsOfDaemon().length;
      await fs.writeFile(path.join(host, n('file')), 'a file\n');
      // a created container: the destination's parent must exist; a file onto a missing name takes that name
      const missing = await run('cp', path.join(host, n('file')), `${c}:/in/file`);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr.trim(), `Error response from daemon: Could not find the file /in in container ${c}`);
      const mk = await sh(`mkdir -p ${host}/${n('empty')}/in && tar -C ${host}/${n('empty')} -cf - in | $CLI cp - ${c}:/`);
      ok(mk, 'mkdir through a tar on stdin');
      ok(await run('cp', path.join(host, n('file')), `${c}:/in/file`), 'cp file');
      ok(await run('cp', path.join(host, 'tree'), `${c}:/in/`), 'cp dir into a dir');
      ok(await run('cp', `${path.join(host, 'tree')}/.`, `${c}:/dot`), 'cp contents to a new dir');
      // a directory onto an existing file, a file into a missing directory: docker's client-side errors
      const dirOnFile = await run('cp', path.join(host, 'tree'), `${c}:/in/file`);
      // (docker's CLI may log its own tar writer's "closed pipe" before it)
      assert.deepEqual([dirOnFile.code, dirOnFile.stderr.trim().split('\n').pop()], [1, 'cannot copy directory']);
      const noDir = await run('cp', path.join(host, n('file')), `${c}:/in/nodir/`);
      assert.deepEqual([noDir.code, noDir.stderr.trim().split('\n').pop()], [1, 'no such directory']);
      assert.equal(mountsOfDaemon().length, before, 'nothing stays mounted for a created container');

      ok(await run('start', '-a', c), 'start');
      const logs = ok(await run('logs', c), 'logs');
      assert.match(logs, /owned/);
      assert.match(logs, /a file/);
      // stopped now: copy out, contents only with "/."
      const out = path.join(host, n('out-stopped'));
      await fs.mkdir(out);
      ok(await run('cp', `${c}:/in/tree/.`, path.join(out, 'contents')), 'cp contents out');
      assert.deepEqual((await fs.readdir(path.join(out, 'contents'))).sort(), ['abs', 'dirlink', 'hard', 'owned', 'rel', 'sub', 'suid']);
      ok(await run('cp', `${c}:/in/tree`, out), 'cp dir into a dir');
      assert.ok((await fs.stat(path.join(out, 'tree/sub/deep'))).isFile());
      ok(await run('cp', `${c}:/in/file`, path.join(out, 'renamed')), 'cp file to a new name');
      assert.equal(await fs.readFile(path.join(out, 'renamed'), 'utf8'), 'a file\n');
      assert.equal(mountsOfDaemon().length, before, 'the stopped container is unmounted again');
    } finally {
      await run('rm', '-f', c);
    }
  });

  test(`${cli}: tar streams on stdout and stdin, and -a gives the container's user`, async () => {
    const c = n('stream');
    ok(await run('run', '-d', '--name', c, '--user', '4321:8765', 'busybox', 'sleep', '600'), 'run');
    try {
      const list = ok(await sh(`$CLI cp ${c}:/etc - | tar -tvf - | head -3`), 'cp to stdout');
      assert.match(list.split('\n')[0], /^d.* etc\/$/);
      const tarFile = path.join(host, n('in.tar'));
      execFileSync('tar', ['-C', host, '-cf', tarFile, 'tree']);
      ok(await sh(`$CLI cp - ${c}:/tmp < ${tarFile}`), 'cp from stdin');
      assert.equal(await statIn(c, '/tmp/tree/owned'), '/tmp/tree/owned 1234:5678 750 regular file 1500000000');
      const notDir = await sh(`$CLI cp - ${c}:/etc/passwd < ${tarFile}`);
      assert.deepEqual([notDir.code, notDir.stderr.trim()], [1, `destination "${c}:/etc/passwd" must be a directory`]);
      ok(await run('cp', '-a', path.join(host, 'tree/owned'), `${c}:/tmp/mine`), 'cp -a');
      assert.equal((await statIn(c, '/tmp/mine')).split(' ')[1], '4321:8765');
      ok(await run('cp', path.join(host, 'tree/owned'), `${c}:/tmp/theirs`), 'cp without -a');
      assert.equal((await statIn(c, '/tmp/theirs')).split(' ')[1], '1234:5678');
    } finally {
      await run('rm', '-f', c);
    }
  });

  test(`${cli}: docker's errors for missing paths and containers, and its progress line on a terminal`, async () => {
    const c = n('errors');
    ok(await run('run', '-d', '--name', c, 'busybox', 'sleep', '600'), 'run');
    try {
      const missing = await run('cp', `${c}:/nope`, host);
      assert.deepEqual([missing.code, missing.stderr.trim()], [1, `Error response from daemon: Could not find the file /nope in container ${c}`]);
      const noCtr = await run('cp', 'no-such-ctr:/etc', host);
      assert.deepEqual([noCtr.code, noCtr.stderr.trim()], [1, 'Error response from daemon: No such container: no-such-ctr']);
      const notDir = await run('cp', path.join(host, 'tree/owned'), `${c}:/etc/passwd/x`);
      assert.deepEqual([notDir.code, notDir.stderr.trim()], [1, 'Error response from daemon: extraction point is not a directory']);
      const both = await run('cp', `${c}:/a`, `${c}:/b`);
      assert.deepEqual([both.code, both.stderr.trim()], [1, 'copying between containers is not supported']);
      const none = await run('cp', 'a', 'b');
      assert.deepEqual([none.code, none.stderr.trim()], [1, 'must specify at least one container source']);
      // on a terminal: "Successfully copied <tar size> to <destination>"
      const tty = await sh(`script -qc "$CLI cp ${c}:/etc/passwd ${host}/${n('tty-out')}" /dev/null`);
      assert.equal(tty.stdout.replace(/\r/g, '').trim(), `Successfully copied 2.05kB to ${host}/${n('tty-out')}`);
      const ttyIn = await sh(`script -qc "$CLI cp ${host}/tree/owned ${c}:/tmp/" /dev/null`);
      assert.equal(ttyIn.stdout.replace(/\r/g, '').trim(), `Successfully copied 2.05kB to ${c}:/tmp/`);
    } finally {
      await run('rm', '-f', c);
    }
  });

  test(`${cli}: symlinks and ".." that point out of the container stay inside it`, async () => {
    const c = n('escape');
    const up = '../'.repeat(12);
    ok(await run('run', '-d', '--name', c, 'busybox', 'sh', '-c',
      `ln -s ${marker} /abs && ln -s ${up}${marker.slice(1)} /rel && mkdir -p /d && ln -s / /d/root && sleep 600`), 'run');
    try {
      for (const p of [`${marker}/secret`, `/abs/secret`, `/rel/secret`, `/../../..${marker}/secret`, `/d/root/..${marker}/secret`]) {
        const r = await run('cp', `${c}:${p}`, '-');
        assert.equal(r.code, 1, `${p} must not be found: ${r.stdout.slice(0, 200)}`);
        assert.match(r.stderr, /Could not find the file/);
      }
      // writing through them lands in the container's own directories
      await fs.writeFile(path.join(host, n('payload')), 'payload');
      ok(await run('exec', c, 'mkdir', '-p', marker), 'mkdir in the container');
      ok(await run('cp', path.join(host, n('payload')), `${c}:/abs/`), 'cp through an absolute link');
      ok(await run('cp', path.join(host, n('payload')), `${c}:/rel/`), 'cp through a relative link');
      assert.equal(ok(await run('exec', c, 'cat', `${marker}/${n('payload')}`), 'cat'), 'payload');
      // a hostile tar from stdin: a link to / and a file through it, names with ".."
      const evil = path.join(host, n('evil.tar'));
      execFileSync('python3', ['-c', `
import tarfile, io
t = tarfile.open('${evil}', 'w')
s = tarfile.TarInfo('esc'); s.type = tarfile.SYMTYPE; s.linkname = '/'; t.addfile(s)
f = tarfile.TarInfo('esc${marker}/secret'); data = b'overwritten'; f.size = len(data); t.addfile(f, io.BytesIO(data))
t.close()`]);
      ok(await sh(`$CLI cp - ${c}:/d < ${evil}`), 'hostile tar');
      assert.equal(ok(await run('exec', c, 'cat', `${marker}/secret`), 'in the container'), 'overwritten');
      const dotdot = path.join(host, n('dotdot.tar'));
      execFileSync('python3', ['-c', `
import tarfile, io
t = tarfile.open('${dotdot}', 'w')
f = tarfile.TarInfo('../../../../../..${marker}/secret'); data = b'x'; f.size = 1; t.addfile(f, io.BytesIO(data))
t.close()`]);
      const r = await sh(`$CLI cp - ${c}:/d < ${dotdot}`);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is outside of "\/d"/);
    } finally {
      await run('rm', '-f', c);
    }
  });

  test(`${cli}: export has the image's files and the changes, not what was deleted`, async () => {
    const c = n('export');
    ok(await run('run', '--name', c, 'busybox', 'sh', '-c', 'echo changed > /new-file && rm /etc/group && mkdir -p /var/x && echo y > /var/x/y'), 'run');
    try {
      const list = ok(await sh(`$CLI export ${c} | tar -tf -`), 'export').split('\n');
      assert.ok(list.includes('bin/busybox'), 'image file');
      assert.ok(list.includes('new-file'), 'added file');
      assert.ok(list.includes('var/x/y'), 'added tree');
      assert.ok(list.includes('etc/passwd'));
      assert.ok(!list.includes('etc/group'), 'deleted file left out');
      assert.ok(!list.some((l) => l.startsWith('/') || l.startsWith('./')), 'relative names without a top entry');
      const file = path.join(host, n('export.tar'));
      ok(await run('export', '-o', file, c), 'export -o');
      assert.equal(execFileSync('tar', ['-xOf', file, 'new-file'], { encoding: 'utf8' }), 'changed\n');
      const tty = await sh(`script -qc "$CLI export ${c}" /dev/null`);
      assert.equal(tty.stdout.replace(/\r/g, '').trim(), 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const missing = await run('export', 'no-such-ctr');
      assert.deepEqual([missing.code, missing.stderr.trim()], [1, 'Error response from daemon: No such container: no-such-ctr']);
    } finally {
      await run('rm', '-f', c);
    }
  });
}

test('API: HEAD answers the stat header; concurrent copies of a stopped container share its mount', async () => {
  const r = await d.api('POST', '/containers/create?name=api-stat', { Image: 'busybox', Cmd: ['sh', '-c', 'mkdir /d && echo hi > /d/f && chmod 750 /d/f && ln -s /etc /d/lnk'] });
  assert.equal(r.status, 201);
  const id = r.body.Id as string;
  try {
    await d.api('POST', `/containers/${id}/start`);
    await d.api('POST', `/containers/${id}/wait`);
    const statOf = async (p: string) => {
      const h = await d.api('HEAD', `/containers/${id}/archive?path=${encodeURIComponent(p)}`);
      return { status: h.status, stat: h.headers['x-docker-container-path-stat'] ? JSON.parse(Buffer.from(String(h.headers['x-docker-container-path-stat']), 'base64').toString()) : undefined };
    };
    const f = await statOf('/d/f');
    assert.equal(f.status, 200);
    assert.deepEqual([f.stat.name, f.stat.size, f.stat.mode, f.stat.linkTarget], ['f', 3, 0o750, '']);
    assert.match(f.stat.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const dir = await statOf('/d');
    assert.equal(dir.stat.mode, 2 ** 31 + 0o755);
    const lnk = await statOf('/d/lnk');
    assert.deepEqual([lnk.stat.mode, lnk.stat.linkTarget], [2 ** 27 + 0o777, '/etc']);
    assert.equal((await statOf('/d/lnk/')).stat.mode, 2 ** 31 + 0o755);
    assert.equal((await statOf('/nope')).status, 404);
    assert.equal((await statOf('/d/f/')).status, 500);
    const get = await d.api('GET', `/containers/${id}/archive?path=/nope`);
    assert.deepEqual([get.status, get.body.message], [404, 'Could not find the file /nope in container ' + id]);
    const empty = await d.api('GET', `/containers/${id}/archive?path=`);
    assert.equal(empty.status, 400);

    // eight copies at once, while it is stopped: all succeed, and the mount goes when the last one is done
    const before = mountsOfDaemon().length;
    const results = await Promise.all(Array.from({ length: 8 }, () => d.docker(['cp', `${id}:/bin`, '-'])));
    for (const res of results) assert.equal(res.code, 0, res.stderr);
    assert.ok(results.every((res) => res.stdout.length === results[0].stdout.length));
    assert.equal(mountsOfDaemon().length, before);
    // and a start in the middle of copies neither fails nor unmounts under them
    const copies = Promise.all(Array.from({ length: 4 }, () => d.docker(['cp', `${id}:/bin`, '-'])));
    const started = d.api('POST', `/containers/${id}/start`);
    for (const res of await copies) assert.equal(res.code, 0, res.stderr);
    await started;
    await d.api('POST', `/containers/${id}/wait`);
    assert.equal(mountsOfDaemon().length, before);
  } finally {
    await d.api('DELETE', `/containers/${id}?force=1`);
  }
});

test('API: a read-only root file system refuses copies into it; events name the operations', async () => {
  const r = await d.api('POST', '/containers/create?name=ro', { Image: 'busybox', Cmd: ['true'], HostConfig: { ReadonlyRootfs: true } });
  const id = r.body.Id as string;
  try {
    await fs.writeFile(path.join(host, 'ro-file'), 'x');
    const res = await d.docker(['cp', path.join(host, 'ro-file'), 'ro:/tmp/']);
    assert.deepEqual([res.code, res.stderr.trim()], [1, 'Error response from daemon: container rootfs is marked read-only']);
    ok(await d.docker(['cp', 'ro:/etc/passwd', path.join(host, 'ro-out')]), 'copy out still works');
    const ev = await d.docker(['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=ro', '--format', '{{.Action}}']);
    assert.match(ev.stdout, /archive-path/);
  } finally {
    await d.api('DELETE', `/containers/${id}?force=1`);
  }
});
