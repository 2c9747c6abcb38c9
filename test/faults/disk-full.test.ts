// Fault: the data root fills up (a small ext4 loop device mounted as the daemon's data root, filled with a filler
// file) during a pull, a build and while a container logs. Each gives a clean "no space left on device" error or,
// for logs, drops lines without corrupting the file; the daemon stays up, the store stays intact (nothing half
// written, busybox still runs), and the same operation works once there is room again.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, statfsSync, readdirSync, existsSync } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, waitFor } from '../helpers/daemon';
import { startDockerRegistry, dockerRegistryAvailable, DockerRegistry } from '../helpers/registry';

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/mkfs.ext4');
const T = { skip: canRun ? false : 'needs root and mkfs.ext4', timeout: 180_000 };
const d = new TestDaemon('diskfull');
const image = path.join(d.dir, 'data.img');
const filler = path.join(d.dataRoot, 'filler');
let reg: DockerRegistry | undefined;

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };

before(async () => {
  if (!canRun) return;
  ok(await runCmd('truncate', ['-s', '256M', image]), 'truncate');
  ok(await runCmd('mkfs.ext4', ['-q', '-F', '-m', '0', image]), 'mkfs');
  mkdirSync(d.dataRoot, { recursive: true });
  ok(await runCmd('mount', ['-o', 'loop', image, d.dataRoot]), 'mount -o loop');
  await d.start();
  await d.loadBusybox();
  if (dockerRegistryAvailable()) reg = await startDockerRegistry();
});
after(async () => {
  if (!canRun) return;
  await reg?.stop().catch(() => undefined);
  rmSync(filler, { force: true });
  await d.stop(); // unmounts what is below the test dir (the loop mount too) and removes it
});

const free = () => { const s = statfsSync(d.dataRoot); return s.bavail * s.bsize; };

/** Fills the data root so that about `leave` bytes stay free. */
async function fill(leave: number): Promise<void> {
  rmSync(filler, { force: true });
  const n = free() - leave;
  if (n > 0) ok(await runCmd('fallocate', ['-l', String(n), filler]), 'fallocate');
}

/** The store still works: the daemon answers, busybox runs, no staging or half image is left. */
async function storeIntact(imagesBefore: string[]): Promise<void> {
  assert.equal((await d.api('GET', '/_ping')).status, 200, 'the daemon is down');
  const images = ((await d.api('GET', '/images/json')).body as Array<{ Id: string }>).map((i) => i.Id).sort();
  assert.deepEqual(images, imagesBefore, 'the image list changed');
  const tmp = path.join(d.dataRoot, 'image', 'tmp');
  assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'staging left in image/tmp');
  assert.deepEqual((await d.api('GET', '/containers/json?all=1')).body, [], 'containers left');
  assert.equal(ok(await d.berth(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'alive']), 'run after the fault'), 'alive');
}

const imageIds = async () => ((await d.api('GET', '/images/json')).body as Array<{ Id: string }>).map((i) => i.Id).sort();

test('fault: disk full during a pull — clean error, no half image, pull works with room again', { ...T, skip: T.skip || (dockerRegistryAvailable() ? false : 'needs docker-registry') }, async () => {
  const ref = `${reg!.host}/diskfull/big:1`;
  const root = path.join(d.dir, 'bigroot');
  mkdirSync(root, { recursive: true });
  ok(await runCmd('dd', ['if=/dev/urandom', `of=${path.join(root, 'random')}`, 'bs=1M', 'count=24', 'status=none']), 'dd');
  ok(await runCmd('tar', ['-C', root, '-cf', path.join(d.dir, 'big.tar'), '.']), 'tar');
  ok(await d.berth(['import', path.join(d.dir, 'big.tar'), ref]), 'import');
  ok(await d.berth(['push', ref]), 'push');
  ok(await d.berth(['rmi', ref]), 'rmi');
  const before = await imageIds();
  await fill(10 << 20);
  const r = await d.berth(['pull', ref]);
  assert.notEqual(r.code, 0, 'the pull succeeded on a full disk');
  assert.match(r.stderr, /no space left on device/i);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  rmSync(filler, { force: true });
  await storeIntact(before);
  ok(await d.berth(['pull', ref]), 'pull with room again');
  ok(await d.berth(['rmi', ref]), 'rmi');
});

test('fault: disk full during a build — clean error, no half image, no step container, build works with room again', T, async () => {
  const ctx = path.join(d.dir, 'ctx');
  mkdirSync(ctx, { recursive: true });
  // the RUN fills the disk (dd stops at ENOSPC, `|| true` lets the step succeed), so the step's commit hits it
  writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null || true\n');
  const before = await imageIds();
  await fill(24 << 20);
  // --force-rm: like docker, a failed step's container is otherwise kept for inspection
  const r = await d.berth(['build', '--force-rm', '-t', 'diskfull/built:1', ctx]);
  assert.notEqual(r.code, 0, 'the build succeeded on a full disk');
  assert.match(r.stderr + r.stdout, /no space left on device/i);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  rmSync(filler, { force: true });
  // the build's step image may not exist; no tagged or half image may
  assert.equal((await d.api('GET', '/images/diskfull%2Fbuilt:1/json')).status, 404);
  await d.berth(['image', 'prune', '-f']);
  await storeIntact(before);
  writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=4 2>/dev/null\n');
  ok(await d.berth(['build', '-t', 'diskfull/built:1', ctx]), 'build with room again');
  ok(await d.berth(['rmi', 'diskfull/built:1']), 'rmi');
  await d.berth(['image', 'prune', '-f']);
});

test('fault: disk full while a container logs — lines are dropped, never corrupted; its exit is recorded; logging resumes', T, async () => {
  const id = ok(await d.berth(['run', '-d', '--name', 'logger', 'busybox', 'sh', '-c',
    'i=0; while [ $i -lt 40000 ]; do i=$((i+1)); echo "line $i padding-padding-padding-padding-padding"; done; sleep 2; echo after-room; sleep 1; echo last']), 'run');
  await fill(256 << 10);
  await waitFor(async () => (await d.api('GET', `/containers/${id}/json`)).body?.State?.Status === 'exited', 60_000, 'the logger to exit on a full disk');
  const st = (await d.api('GET', `/containers/${id}/json`)).body.State;
  assert.equal(st.ExitCode, 0);
  const logs = await d.berth(['logs', id], { timeoutMs: 60_000 });
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.split('\n').filter(Boolean);
  const bad = lines.filter((l) => !/^line \d+ padding(-padding){4}$/.test(l) && l !== 'after-room' && l !== 'last');
  assert.deepEqual(bad.slice(0, 3), [], 'corrupted log lines');
  assert.ok(lines.length < 40002, 'no line was dropped: the disk was not full');
  rmSync(filler, { force: true });
  // with room again the next run logs everything
  ok(await d.berth(['start', id]), 'start again');
  await waitFor(async () => (await d.api('GET', `/containers/${id}/json`)).body?.State?.Status === 'exited', 60_000, 'the second run to exit');
  const again = (await d.berth(['logs', '--tail', '2', id])).stdout.split('\n').filter(Boolean);
  assert.deepEqual(again, ['after-room', 'last']);
  ok(await d.berth(['rm', id]), 'rm');
});
