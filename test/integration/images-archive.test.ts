// save / load / history / prune / images filters / system df against a real berth daemon, with real containers;
// and a cross-check with Docker's own daemon (Debian's dockerd, when installed): what berth saves docker loads
// and runs, what docker saves berth loads and runs.
import { test, before, after, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'child_process';
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, sleep, BERTH } from '../helpers/daemon';
import { legacyArchive, layerOf, sha } from '../unit/archive-fixtures';

const d = new TestDaemon('archive');
let work: string;
before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'berth-archive-it-'));
  await d.start();
  await d.loadBusybox();
});
after(async () => {
  await d.stop();
  rmSync(work, { recursive: true, force: true });
});

const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

/** POST a raw body to the daemon; resolves with status and body text. */
function post(socket: string, urlPath: string, body: Buffer): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: urlPath, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const imageId = async (ref: string) => (await d.berth(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();

describe('save and load', () => {
  test('save → rmi → load keeps the id and tags, and the image runs', async () => {
    ok(await d.berth(['tag', 'busybox', 'bb:two']), 'tag');
    const id = await imageId('busybox');
    const file = path.join(work, 'bb.tar');
    ok(await d.berth(['save', '-o', file, 'busybox', 'bb:two']), 'save');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600, 'written like docker (temp file, 0600, renamed)');
    const manifest = JSON.parse((await runCmd('tar', ['-xOf', file, 'manifest.json'])).stdout);
    assert.deepEqual(manifest[0].RepoTags, ['busybox:latest', 'bb:two'], 'in the order the names were given');

    ok(await d.berth(['rmi', 'busybox', 'bb:two']), 'rmi');
    assert.equal((await d.berth(['images', '-q'])).stdout, '');
    const load = await d.berth(['load', '-i', file]);
    ok(load, 'load');
    assert.equal(load.stdout, 'Loaded image: busybox:latest\nLoaded image: bb:two\n');
    assert.equal(await imageId('busybox'), id);
    assert.equal(await imageId('bb:two'), id);
    const run = await d.berth(['run', '--rm', 'busybox', 'echo', 'loaded and running']);
    ok(run, 'run');
    assert.equal(run.stdout, 'loaded and running\n');

    // save to stdout, load from stdin (-q prints only the result)
    const piped = await runCmd('sh', ['-c', `${BERTH} save busybox | ${BERTH} load -q`], { env: { BERTH_HOST: d.host } });
    ok(piped, 'save | load');
    assert.equal(piped.stdout, 'Loaded image: busybox:latest\n');
    await d.berth(['rmi', 'bb:two']);
  });

  test('save refuses a terminal, reports unknown images and bad output paths like docker', async () => {
    const missing = await d.berth(['save', '-o', path.join(work, 'x.tar'), 'nosuch:1']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'Error response from daemon: reference does not exist');
    const noDir = await d.berth(['save', '-o', '/nonexistent-dir/x.tar', 'busybox']);
    assert.equal(noDir.code, 1);
    assert.equal(noDir.stderr.trim(), 'failed to save image: invalid output path: stat /nonexistent-dir: no such file or directory');
    assert.ok(!existsSync(path.join(work, 'x.tar')));
    // a pseudo-terminal as stdout
    const tty = await runCmd('script', ['-qec', `${BERTH} save busybox`, '/dev/null'], { env: { BERTH_HOST: d.host } });
    assert.match(tty.stdout, /cowardly refusing to save to a terminal\. Use the -o flag or redirect/);
  });

  test('an archive in docker\'s legacy layout (as dockerd ≤ 24 writes) loads and runs', async () => {
    // busybox's own layer, repackaged the way an older docker save lays it out
    const file = path.join(work, 'bb2.tar');
    ok(await d.berth(['save', '-o', file, 'busybox']), 'save');
    const manifest = JSON.parse((await runCmd('tar', ['-xOf', file, 'manifest.json'])).stdout);
    const layer = Buffer.from((await runCmd('sh', ['-c', `tar -xOf ${file} ${manifest[0].Layers[0]} | base64 -w0`])).stdout, 'base64');
    const extra = await layerOf('extra');
    const archive = await legacyArchive([{ layers: [layer, extra], tags: ['legacy:1'], config: { config: { Cmd: ['sh', '-c', 'cat /extra/file.txt'] } } }]);
    const r = await post(d.socket, '/images/load?quiet=1', archive);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    assert.equal(r.text, '{"stream":"Loaded image: legacy:1\\n"}\r\n');
    const run = await d.berth(['run', '--rm', 'legacy:1']);
    ok(run, 'run');
    assert.equal(run.stdout, 'content of extra\n');
    const inspect = JSON.parse((await d.berth(['image', 'inspect', 'legacy:1'])).stdout)[0];
    assert.deepEqual(inspect.RootFS.Layers, [sha(layer), sha(extra)]);
    ok(await d.berth(['rmi', 'legacy:1']), 'rmi');
  });

  test('a corrupt upload: error in the stream (docker\'s 200 + errorDetail), the store unchanged', async () => {
    const before = (await d.api('GET', '/images/json?all=1')).body;
    const file = path.join(work, 'bb3.tar');
    ok(await d.berth(['save', '-o', file, 'busybox']), 'save');
    const good = await fs.readFile(file);
    const truncated = await post(d.socket, '/images/load', good.subarray(0, Math.floor(good.length / 2)));
    assert.equal(truncated.status, 200);
    assert.deepEqual(JSON.parse(truncated.text.trim()), { errorDetail: { message: 'Error processing tar file: unexpected EOF' }, error: 'Error processing tar file: unexpected EOF' });
    const garbage = await d.berth(['load'], { input: 'not an archive\n'.repeat(100) });
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /^Error processing tar file: /);
    assert.deepEqual((await d.api('GET', '/images/json?all=1')).body, before);
    const tmp = path.join(d.dataRoot, 'image/tmp');
    assert.deepEqual(await fs.readdir(tmp), [], 'no staging left behind');
  });
});

describe('history, images, prune, system df', () => {
  test('history shows docker\'s columns', async () => {
    const h = await d.berth(['history', 'busybox']);
    ok(h, 'history');
    const [header, row] = h.stdout.split('\n');
    assert.match(header, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.match(row, /^[0-9a-f]{12}\s+.* ago\s+\S+\s+Imported from -$/);
    const raw = await d.berth(['history', '-H=false', '--no-trunc', '--format', '{{.ID}}|{{.CreatedAt}}|{{.Size}}', 'busybox']);
    assert.match(raw.stdout, /^sha256:[0-9a-f]{64}\|\d{4}-\d\d-\d\dT[\d:]+(Z|[+-]\d\d:\d\d)\|\d+\n$/);
    const q = await d.berth(['history', '-q', 'busybox']);
    assert.equal(q.stdout, (await imageId('busybox')).slice(7, 19) + '\n');
  });

  test('image prune: dangling by default, -a everything no container uses; a used image stays', async () => {
    // a dangling image and an unused tagged one
    const file = path.join(work, 'prune.tar');
    const l1 = await layerOf('dangling');
    const l2 = await layerOf('unused');
    await fs.writeFile(file, await legacyArchive([{ layers: [l1] }, { layers: [l2], tags: ['unused:1'] }]));
    ok(await d.berth(['load', '-i', file]), 'load');
    const ctr = (await d.berth(['create', 'busybox', 'true'])).stdout.trim();

    const dangling = await d.berth(['image', 'prune', '-f']);
    ok(dangling, 'prune');
    assert.match(dangling.stdout, /^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: \d+B\n$/);
    assert.ok((await d.berth(['images', '-q', 'unused'])).stdout.trim(), 'tagged images stay without -a');

    const declined = await d.berth(['image', 'prune', '-a'], { input: 'n\n' });
    ok(declined, 'declined prune');
    assert.equal(declined.stdout, 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] ');

    const all = await d.berth(['image', 'prune', '-a'], { input: 'y\n' });
    ok(all, 'prune -a');
    assert.match(all.stdout, /untagged: unused:1\ndeleted: sha256:/);
    assert.match(all.stdout, /Total reclaimed space: \d+(\.\d+)?k?B\n$/);
    assert.ok((await d.berth(['images', '-q', 'busybox'])).stdout.trim(), 'busybox is used by a container: kept');
    assert.equal((await d.berth(['images', '-q', 'unused'])).stdout, '');
    const none = await d.berth(['image', 'prune', '-f']);
    assert.equal(none.stdout, 'Total reclaimed space: 0B\n');
    await d.berth(['rm', ctr]);
  });

  test('images filters and formats', async () => {
    const bb = await imageId('busybox');
    const f = await d.berth(['images', '--filter', 'reference=busy*', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(f.stdout, `busybox:latest ${bb.slice(7, 19)}\n`);
    assert.equal((await d.berth(['images', '--filter', 'dangling=true', '-q'])).stdout, '');
    const bad = await d.berth(['images', '--filter', 'foo=bar']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), "Error response from daemon: invalid filter 'foo'");
    const noTrunc = await d.berth(['images', '--no-trunc', '--digests', '--format', '{{.ID}} {{.Digest}}', 'busybox']);
    assert.equal(noTrunc.stdout, `${bb} <none>\n`);
    const before = await d.berth(['images', '--filter', 'before=busybox', '-q']);
    assert.equal(before.stdout, '');
  });

  test('system df: images, containers (their writable layers), volumes and build cache rows', async () => {
    const ctr = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /big; sleep 60'])).stdout.trim();
    try {
      for (let i = 0; i < 50; i++) {
        const sz = (await d.api('GET', '/system/df?type=container')).body.Containers.find((c: { Id: string }) => c.Id === ctr)?.SizeRw;
        if (sz >= 300000) break;
        await sleep(100);
      }
      const df = await d.berth(['system', 'df']);
      ok(df, 'system df');
      const lines = df.stdout.trim().split('\n');
      assert.match(lines[0], /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
      assert.match(lines[1], /^Images\s+1\s+1\s+\S+MB\s+0B \(0%\)$/);
      assert.match(lines[2], /^Containers\s+1\s+1\s+30\d(\.\d+)?kB\s+0B \(0%\)$/);
      assert.match(lines[3], /^Local Volumes\s+0\s+0\s+0B\s+0B$/);
      assert.match(lines[4], /^Build Cache\s+0\s+0\s+0B\s+0B$/);
      const v = await d.berth(['system', 'df', '-v']);
      assert.match(v.stdout, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\nbusybox\s+latest\s+[0-9a-f]{12}\s+.+\s+1\n\nContainers space usage:\n\nCONTAINER ID\s+IMAGE\s+COMMAND\s+LOCAL VOLUMES\s+SIZE\s+CREATED\s+STATUS\s+NAMES\n[0-9a-f]{12}\s+busybox/);
      const json = await d.berth(['system', 'df', '--format', '{{json .}}']);
      assert.deepEqual(JSON.parse(json.stdout.split('\n')[0]).Type, 'Images');
    } finally {
      await d.berth(['rm', '-f', ctr]);
    }
  });
});

// ---- Docker's own daemon, for the cross-check ----

const DOCKERD = '/usr/sbin/dockerd';

class Dockerd {
  dir = mkdtempSync(path.join(os.tmpdir(), 'berth-it-dockerd-'));
  sock = path.join(this.dir, 'docker.sock');
  proc?: ChildProcess;
  async start(): Promise<void> {
    this.proc = spawn(DOCKERD, ['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', `unix://${this.sock}`,
      '--pidfile', path.join(this.dir, 'pid'), '--bridge', 'none', '--iptables=false', '--ip-forward=false'], { stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      if (existsSync(this.sock) && (await this.docker(['version'])).code === 0) return;
      await sleep(100);
    }
    throw new Error('dockerd did not start');
  }
  docker(args: string[]): Promise<RunResult> {
    return runCmd('/usr/local/bin/docker', args, { env: { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'cfg') }, timeoutMs: 120_000 });
  }
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir));
    for (const m of mounts.reverse()) await runCmd('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('with docker\'s daemon (scripts/setup installs docker.io as a test peer)', () => {
  const dockerd = new Dockerd();
  before(async () => { await dockerd.start(); });
  after(async () => { await dockerd.stop(); });

  test('docker loads and runs what berth saves; berth loads and runs what docker saves', async () => {
    const id = await imageId('busybox');
    const fromBerth = path.join(work, 'from-berth.tar');
    ok(await d.berth(['save', '-o', fromBerth, 'busybox']), 'berth save');
    const loaded = await dockerd.docker(['load', '-i', fromBerth]);
    ok(loaded, 'docker load');
    assert.equal(loaded.stdout, 'Loaded image: busybox:latest\n');
    assert.equal((await dockerd.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim(), id);
    const run = await dockerd.docker(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'saved by berth']);
    ok(run, 'docker run');
    assert.equal(run.stdout, 'saved by berth\n');

    ok(await dockerd.docker(['tag', 'busybox', 'from-docker:1']), 'docker tag');
    const fromDocker = path.join(work, 'from-docker.tar');
    ok(await dockerd.docker(['save', '-o', fromDocker, 'from-docker:1']), 'docker save');
    const back = await d.berth(['load', '-i', fromDocker]);
    ok(back, 'berth load');
    assert.equal(back.stdout, 'Loaded image: from-docker:1\n');
    assert.equal(await imageId('from-docker:1'), id);
    const run2 = await d.berth(['run', '--rm', 'from-docker:1', 'echo', 'saved by docker']);
    ok(run2, 'berth run');
    assert.equal(run2.stdout, 'saved by docker\n');
    ok(await d.berth(['rmi', 'from-docker:1']), 'rmi');
  });
});
