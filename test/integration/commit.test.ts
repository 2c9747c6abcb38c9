// `diff` and `commit` with real containers on a private berth daemon, through the real docker CLI and the berth
// CLI: changes of stopped and running containers, images made of them (file, --change, message, author, owners,
// modes, deletions, opaque directories), pausing a running container while it is committed, save of a committed
// image, and docker's error texts. The daemon and everything it made go away in after().
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd } from '../helpers/daemon';

const d = new TestDaemon('commit');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };
const docker = (...args: string[]) => d.docker(args);
const berth = (...args: string[]) => d.berth(args);

test('diff lists added, changed and deleted paths with their parents, in the docker CLI and the berth CLI', async () => {
  ok(await docker('run', '--name', 'df1', 'busybox', 'sh', '-c',
    'echo new > /etc/x && echo more >> /etc/group && rm /etc/passwd && mkdir -p /tmp/a/b && echo z > /tmp/a/b/c && rm -rf /var/www'), 'run df1');
  const expected = ['C /etc', 'C /etc/group', 'D /etc/passwd', 'A /etc/x', 'C /tmp', 'A /tmp/a', 'A /tmp/a/b', 'A /tmp/a/b/c', 'C /var', 'D /var/www'];
  assert.deepEqual(ok(await docker('diff', 'df1'), 'docker diff').split('\n'), expected);
  assert.deepEqual(ok(await docker('container', 'diff', 'df1'), 'docker container diff').split('\n'), expected);
  assert.deepEqual(ok(await berth('diff', 'df1'), 'berth diff').split('\n'), expected);
  assert.deepEqual(ok(await berth('container', 'diff', 'df1'), 'berth container diff').split('\n'), expected);
  const api = await d.api('GET', '/containers/df1/changes');
  assert.equal(api.status, 200);
  assert.deepEqual(api.body.slice(0, 3), [{ Path: '/etc', Kind: 0 }, { Path: '/etc/group', Kind: 0 }, { Path: '/etc/passwd', Kind: 2 }]);
  assert.deepEqual(api.body[3], { Path: '/etc/x', Kind: 1 });

  // a running container, and one that never ran (null, as dockerd answers)
  ok(await docker('run', '-d', '--name', 'df2', 'busybox', 'sh', '-c', 'touch /root/live && exec sleep 300'), 'run -d df2');
  for (let i = 0; i < 50 && !(await docker('diff', 'df2')).stdout.includes('/root/live'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(ok(await docker('diff', 'df2'), 'diff running').split('\n'), ['C /root', 'A /root/live']);
  ok(await docker('create', '--name', 'df3', 'busybox'), 'create df3');
  assert.equal(ok(await docker('diff', 'df3'), 'diff created'), '');
  assert.equal((await d.api('GET', '/containers/df3/changes')).body, null);

  const missing = await docker('diff', 'nosuch');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'Error response from daemon: No such container: nosuch');
  ok(await docker('rm', '-f', 'df1', 'df2', 'df3'), 'rm');
});

test('mount targets the runtime had to create in a bare image are neither in diff nor in a commit', async () => {
  const dir = path.join(d.dir, 'bare');
  await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.copyFile('/bin/busybox', path.join(dir, 'bin/busybox'));
  ok(await runCmd('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']), 'tar');
  ok(await docker('import', '-c', 'CMD ["/bin/busybox","true"]', `${dir}.tar`, 'bare:1'), 'import bare');
  ok(await docker('run', '--name', 'bare1', 'bare:1'), 'run bare');
  assert.equal(ok(await docker('diff', 'bare1'), 'diff bare'), '');
  ok(await docker('run', '--name', 'bare2', 'bare:1', '/bin/busybox', 'sh', '-c', 'echo x > /etc/app.conf'), 'run bare2');
  assert.deepEqual(ok(await docker('diff', 'bare2'), 'diff bare2').split('\n'), ['A /etc', 'A /etc/app.conf']);
  ok(await docker('commit', 'bare2', 'bare:2'), 'commit bare2');
  // the new image's /etc holds app.conf only; the runtime mounts its own hostname/hosts/resolv.conf again
  ok(await docker('run', '--name', 'bare3', 'bare:2', '/bin/busybox', 'true'), 'run bare:2');
  assert.equal(ok(await docker('diff', 'bare3'), 'diff bare3'), '');
  const layer = ok(await docker('image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'bare:2'), 'inspect');
  assert.equal(layer, '2');
  ok(await docker('rm', 'bare1', 'bare2', 'bare3'), 'rm');
  ok(await docker('rmi', 'bare:2', 'bare:1'), 'rmi');
});

test('commit with --change, message and author: the new image has the file, the new CMD and the history', async () => {
  ok(await docker('run', '--name', 'c1', '-e', 'FOO=1', 'busybox', 'sh', '-c', 'echo hello from c1 > /hello'), 'run c1');
  const id = ok(await docker('commit', '-c', 'CMD ["cat","/hello"]', '-c', 'ENV BAR=2', '-m', 'first commit', '-a', 'Ann <ann@example.com>', 'c1', 'committed:1'), 'commit');
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.equal(ok(await docker('run', '--rm', 'committed:1'), 'run committed'), 'hello from c1');
  assert.equal(ok(await docker('run', '--rm', 'committed:1', 'sh', '-c', 'echo $FOO$BAR'), 'env'), '12');

  const [img] = JSON.parse(ok(await docker('image', 'inspect', 'committed:1'), 'inspect'));
  const base = ok(await docker('image', 'inspect', '-f', '{{.Id}}', 'busybox'), 'inspect busybox');
  const cid = ok(await docker('inspect', '-f', '{{.Id}}', 'c1'), 'inspect c1');
  assert.equal(img.Id, id);
  assert.equal(img.Parent, base);
  assert.equal(img.Comment, 'first commit');
  assert.equal(img.Author, 'Ann <ann@example.com>');
  assert.deepEqual(img.Config.Cmd, ['cat', '/hello']);
  assert.deepEqual(img.Config.Env, ['FOO=1', 'BAR=2']);
  assert.equal(img.RootFS.Layers.length, 2);
  // the fields older API versions show
  const legacy = await d.api('GET', '/v1.44/images/committed:1/json');
  assert.equal(legacy.body.Container, cid);
  assert.deepEqual(legacy.body.ContainerConfig.Cmd, ['sh', '-c', 'echo hello from c1 > /hello']);

  const history = ok(await docker('history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', 'committed:1'), 'history').split('\n');
  assert.equal(history[0], `${id}|sh -c echo hello from c1 > /hello|first commit`);
  assert.equal(history.length, 2);
  assert.match(ok(await berth('history', 'committed:1'), 'berth history'), /first commit/);

  // the berth CLI, both spellings; no reference: an untagged image
  const bid = ok(await berth('commit', '-c', 'CMD ["cat","/hello"]', 'c1', 'committed:2'), 'berth commit');
  assert.match(bid, /^sha256:[a-f0-9]{64}$/);
  assert.equal(ok(await berth('run', '--rm', 'committed:2'), 'berth run'), 'hello from c1');
  const untagged = ok(await berth('container', 'commit', '-m', 'no tag', 'c1'), 'berth container commit');
  assert.equal(ok(await docker('image', 'inspect', '-f', '{{.Comment}} {{len .RepoTags}}', untagged), 'inspect untagged'), 'no tag 0');
  ok(await docker('rm', 'c1'), 'rm c1');
  ok(await docker('rmi', 'committed:2', untagged), 'rmi');
});

test('a committed image keeps owners, modes, links, deletions and opaque directories, and can be saved and loaded', async () => {
  ok(await docker('run', '--name', 'c2', 'busybox', 'sh', '-c', [
    'mkdir -p /data/sub', 'echo secret > /data/f', 'chown 1234:5678 /data/f', 'chmod 4750 /data/f', 'chmod 700 /data/sub',
    'chown 42:43 /data/sub', 'ln -s f /data/link', 'ln /data/f /data/hard', 'rm /etc/group', 'rm -rf /var/www', 'mkdir /var/www',
    'echo only > /var/www/only',
  ].join(' && ')), 'run c2');
  ok(await docker('commit', 'c2', 'owners:1'), 'commit');
  const out = ok(await docker('run', '--rm', 'owners:1', 'sh', '-c',
    'stat -c "%n %u:%g %a" /data/f /data/sub; readlink /data/link; stat -c %h /data/f; test -e /etc/group || echo no-group; ls -A /var/www'), 'run owners');
  assert.deepEqual(out.split('\n'), ['/data/f 1234:5678 4750', '/data/sub 42:43 700', 'f', '2', 'no-group', 'only']);

  const tarFile = path.join(d.dir, 'owners.tar');
  ok(await docker('save', '-o', tarFile, 'owners:1'), 'save');
  const listing = ok(await runCmd('tar', ['-tf', tarFile]), 'tar -t').split('\n');
  assert.ok(listing.includes('manifest.json') && listing.includes('index.json'), listing.join(' '));
  ok(await docker('rm', 'c2'), 'rm c2');
  ok(await docker('rmi', 'owners:1'), 'rmi');
  ok(await docker('load', '-i', tarFile), 'load');
  assert.equal(ok(await docker('run', '--rm', 'owners:1', 'cat', '/data/f'), 'run loaded'), 'secret');
  ok(await docker('rmi', 'owners:1'), 'rmi loaded');
});

test('a running container is paused while it is committed, and runs on afterwards; --pause=false does not pause', async () => {
  ok(await docker('run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo started > /state && exec sleep 300'), 'run -d');
  for (let i = 0; i < 50 && (await docker('exec', 'live', 'cat', '/state')).stdout.trim() !== 'started'; i++) await new Promise((r) => setTimeout(r, 100));
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(await docker('commit', 'live', 'live:1'), 'commit running');
  ok(await docker('commit', '--pause=false', 'live', 'live:2'), 'commit --pause=false');
  const until = Math.ceil(Date.now() / 1000) + 1;
  const events = ok(await docker('events', '--since', String(since), '--until', String(until), '--filter', 'container=live', '--format', '{{.Action}}'), 'events').split('\n');
  // (the window, in whole seconds, may hold the container's start too)
  assert.deepEqual(events.filter((a) => ['pause', 'unpause', 'commit'].includes(a)), ['pause', 'commit', 'unpause', 'commit']);
  assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}}', 'live'), 'inspect'), 'running');
  assert.equal(ok(await docker('run', '--rm', 'live:1', 'cat', '/state'), 'run live:1'), 'started');

  // a container the user paused stays paused
  ok(await docker('pause', 'live'), 'pause');
  ok(await docker('commit', 'live', 'live:3'), 'commit paused');
  assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}}', 'live'), 'inspect'), 'paused');
  ok(await docker('rm', '-f', 'live'), 'rm live');
  ok(await docker('rmi', 'live:1', 'live:2', 'live:3'), 'rmi');
});

test('a container that changed nothing gives an image without a new layer; a request Config is merged', async () => {
  ok(await docker('create', '--name', 'same', '-e', 'KEEP=1', 'busybox', 'true'), 'create');
  ok(await docker('commit', 'same', 'same:1'), 'commit');
  const layers = (ref: string) => docker('image', 'inspect', '-f', '{{len .RootFS.Layers}}', ref);
  assert.equal(ok(await layers('same:1'), 'layers'), ok(await layers('busybox'), 'layers busybox'));
  const size = ok(await docker('history', '--format', '{{.Size}}', 'same:1'), 'history').split('\n')[0];
  assert.equal(size, '0B');

  const r = await d.api('POST', '/commit?container=same&repo=same&tag=2&comment=api', { Cmd: ['echo', 'from', 'body'], Labels: { via: 'api' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.Id, /^sha256:/);
  const cfg = JSON.parse(ok(await docker('image', 'inspect', '-f', '{{json .Config}}', 'same:2'), 'inspect'));
  assert.deepEqual(cfg.Cmd, ['echo', 'from', 'body']);
  assert.deepEqual(cfg.Env, ['KEEP=1']);
  assert.deepEqual(cfg.Labels, { via: 'api' });
  assert.equal(ok(await docker('run', '--rm', 'same:2'), 'run same:2'), 'from body');
  ok(await docker('rm', 'same'), 'rm');
  ok(await docker('rmi', 'same:1', 'same:2'), 'rmi');
});

test('errors: unknown container, bad --change, bad references, as docker words them', async () => {
  ok(await docker('create', '--name', 'e1', 'busybox'), 'create');
  const images = ok(await docker('images', '-aq'), 'images');
  const cases: Array<[string[], string]> = [
    [['commit', 'nosuch', 'x'], 'Error response from daemon: No such container: nosuch'],
    [['commit', '-c', 'FROM busybox', 'e1'], 'Error response from daemon: from is not a valid change command'],
    [['commit', '-c', 'EXPOSE 99999', 'e1'], 'Error response from daemon: invalid containerPort: 99999'],
    [['commit', 'e1', 'Bad:x'], 'invalid reference format: repository name (library/Bad) must be lowercase'],
    [['commit', 'e1', 'x@sha256:' + 'a'.repeat(64)], 'refusing to create a tag with a digest reference'],
  ];
  for (const [args, text] of cases) {
    for (const cli of [docker, berth]) {
      const r = await cli(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.stderr.trim(), text, args.join(' '));
    }
  }
  const api = async (q: string) => { const r = await d.api('POST', `/commit?${q}`); return [r.status, r.body.message]; };
  assert.deepEqual(await api('container=nosuch'), [404, 'No such container: nosuch']);
  assert.deepEqual(await api('container=e1&repo=Bad'), [400, 'invalid reference format: repository name (library/Bad) must be lowercase']);
  assert.deepEqual(await api('container=e1&repo=x&tag=b@d'), [400, 'invalid tag format']);
  assert.deepEqual(await api('repo=x'), [400, 'invalid name or ID supplied: ""']);
  assert.deepEqual(await api('container=e1&changes=FROM%20x'), [400, 'from is not a valid change command']);
  // nothing was made by the failures
  assert.equal(ok(await docker('images', '-aq'), 'images'), images);
  ok(await docker('rm', 'e1'), 'rm');
});
