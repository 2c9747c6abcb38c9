// Fault: the daemon SIGKILLed at each failpoint of pull, load, commit, build, create, start, rm and network setup
// (BERTH_FAILPOINTS=<point>=crash, src/common/failpoint.ts). After the restart: no half-written image or
// container, the name is reusable, no mount, veth, iptables rule, cgroup, IP reservation, endpoint record or shim
// is left (leaks.ts), and the operation can be repeated. Each test names the failpoint it covers.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, existsSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd } from '../helpers/daemon';
import { startDockerRegistry, dockerRegistryAvailable, DockerRegistry } from '../helpers/registry';
import { leakReport } from './leaks';
import { createHash } from 'crypto';

const sha256 = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

const canRun = process.getuid?.() === 0;
const T = { skip: canRun ? false : 'needs root', timeout: 180_000 };

const d = new TestDaemon('faults');
let reg: DockerRegistry | undefined;
let work = '';
const known: string[] = [];

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };

before(async () => {
  if (!canRun) return;
  work = mkdtempSync(path.join(os.tmpdir(), 'berth-faults-'));
  await d.start();
  await d.loadBusybox();
  if (dockerRegistryAvailable()) reg = await startDockerRegistry();
});
after(async () => {
  if (!canRun) return;
  await reg?.stop().catch(() => undefined);
  if (!d.running()) { d.env = {}; await d.start().catch(() => undefined); }
  await d.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Restarts the daemon with `point` armed to crash, runs `op` (which the crash cuts), restarts it clean. */
async function crashAt(point: string, op: () => Promise<unknown>): Promise<void> {
  await d.stopDaemon();
  d.env = { BERTH_FAILPOINTS: `${point}=crash` };
  await d.start();
  const opDone = op().catch((e) => e);
  const how = await d.exited(120_000);
  assert.equal(how, 'SIGKILL', `failpoint ${point} was never reached:\n${d.log.slice(-2000)}`);
  await opDone;
  d.env = {};
  await d.start();
}

async function noLeaks(what: string): Promise<void> {
  const problems = await leakReport(d, { known });
  assert.deepEqual(problems, [], `${what}: leftovers after the restart:\n${problems.join('\n')}\n--- daemon log\n${d.log.slice(-3000)}`);
}

async function createNamed(name: string, args: string[] = []): Promise<string> {
  const id = ok(await d.berth(['create', '--name', name, ...args, 'busybox', 'sleep', '600']), `create ${name}`);
  known.push(id);
  return id;
}

/** The container does not exist, or exists whole (inspectable, removable); then the name is free. */
async function nameReusable(name: string): Promise<void> {
  const inspect = await d.api('GET', `/containers/${name}/json`);
  if (inspect.status === 200) ok(await d.berth(['rm', '-f', name]), `rm ${name} after the restart`);
  else assert.equal(inspect.status, 404);
  const id = await createNamed(name);
  ok(await d.berth(['rm', id]), 'rm of the re-created container');
}

for (const point of ['container.create.before-record', 'container.create.after-record']) {
  test(`fault: SIGKILL at ${point} — no half container, name reusable, create repeats`, T, async () => {
    const name = `fc-${point.split('.').pop()}`;
    await crashAt(point, () => d.berth(['create', '--name', name, 'busybox', 'true']));
    await noLeaks(point);
    await nameReusable(name);
  });
}

for (const point of ['container.start.after-rootfs', 'network.attach.after-record', 'network.attach.after-setup', 'container.start.after-shim', 'container.start.after-run']) {
  test(`fault: SIGKILL at ${point} during a start with a published port — rolled back, start repeats`, T, async () => {
    const name = `fs-${point.replace(/\W/g, '-')}`;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const id = await createNamed(name, ['-p', `${port}:80`]);
    await crashAt(point, () => d.berth(['start', name]));
    const state = (await d.api('GET', `/containers/${id}/json`)).body?.State?.Status;
    assert.ok(state === 'created' || state === 'exited', `state after the restart: ${state}`);
    await noLeaks(point);
    // the operation repeats: same container, same port
    ok(await d.berth(['start', name]), 'start again');
    assert.equal((await d.api('GET', `/containers/${id}/json`)).body.State.Status, 'running');
    ok(await d.berth(['rm', '-f', name]), 'rm -f');
    await noLeaks(`${point}, after the repeat`);
    await nameReusable(name);
  });
}

test('fault: SIGKILL at container.start.after-shim during `run --rm` — the cut run is removed at restart', T, async () => {
  const cid = path.join(work, 'run-rm.cid');
  await crashAt('container.start.after-shim', () => d.docker(['run', '--rm', '--cidfile', cid, '--name', 'f-run-rm', 'busybox', 'true']));
  if (existsSync(cid)) known.push(readFileSync(cid, 'utf8').trim());
  const list = (await d.api('GET', '/containers/json?all=1')).body as Array<{ Names: string[] }>;
  assert.ok(!list.some((c) => c.Names.includes('/f-run-rm')), 'the --rm container stayed behind');
  await noLeaks('run --rm');
  ok(await d.docker(['run', '--rm', '--name', 'f-run-rm', 'busybox', 'true']), 'run --rm again');
});

for (const point of ['container.rm.before-release', 'container.rm.after-release']) {
  test(`fault: SIGKILL at ${point} while removing a running container — gone or whole, name reusable`, T, async () => {
    const name = `fr-${point.split('.').pop()}`;
    await createNamed(name);
    ok(await d.berth(['start', name]), 'start');
    await crashAt(point, () => d.berth(['rm', '-f', name]));
    await noLeaks(point);
    await nameReusable(name);
  });
}

async function uniqueImage(tag: string): Promise<void> {
  const dir = path.join(work, tag.replace(/\W/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  const root = path.join(dir, 'root');
  await runCmd('mkdir', ['-p', root]);
  writeFileSync(path.join(root, 'marker'), `${tag} ${Date.now()} ${Math.random()}\n`.repeat(2000));
  ok(await runCmd('tar', ['-C', root, '-cf', path.join(dir, 'l.tar'), '.']), 'tar');
  ok(await d.berth(['import', path.join(dir, 'l.tar'), tag]), 'import');
}

/** The image store lists no image for `ref`, and has no layer or image record that no image uses. */
async function noHalfImage(ref: string): Promise<void> {
  assert.equal((await d.api('GET', `/images/${encodeURIComponent(ref)}/json`)).status, 404, `${ref} exists after the crash`);
  const images = (await d.api('GET', '/images/json?all=1')).body as Array<{ Id: string }>;
  // layers: each one belongs to a listed image (a commit cut between layers and image record leaves none)
  const chains = new Set<string>();
  for (const img of images) {
    const diffs: string[] = (await d.api('GET', `/images/${img.Id}/json`)).body?.RootFS?.Layers ?? [];
    let chain = '';
    for (const diff of diffs) { chain = chain ? sha256(`${chain} ${diff}`) : diff; chains.add(chain.replace(/^sha256:/, '')); }
  }
  const layerDirs = readdirSync(path.join(d.dataRoot, 'image', 'layers')).filter((l) => /^[0-9a-f]{64}$/.test(l));
  assert.deepEqual(layerDirs.filter((l) => !chains.has(l.replace(/^sha256:/, ''))), [], 'layers that no image uses');
  assert.equal(readdirSync(path.join(d.dataRoot, 'image', 'images')).filter((f) => f.endsWith('.json')).length, images.length, 'image records that are not listed');
  const tmp = path.join(d.dataRoot, 'image', 'tmp');
  assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'staging left in image/tmp');
}

test('fault: SIGKILL at pull.after-layer — no half image, pull repeats', { ...T, skip: T.skip || (dockerRegistryAvailable() ? false : 'needs docker-registry') }, async () => {
  const ref = `${reg!.host}/faults/pulled:1`;
  await uniqueImage(ref);
  ok(await d.berth(['push', ref]), 'push');
  ok(await d.berth(['rmi', ref]), 'rmi');
  await crashAt('pull.after-layer', () => d.berth(['pull', ref]));
  await noHalfImage(ref);
  ok(await d.berth(['pull', ref]), 'pull again');
  ok(await d.berth(['rmi', ref]), 'rmi');
});

for (const point of ['load.before-commit', 'image.commit.after-layers']) {
  test(`fault: SIGKILL at ${point} during load — no half image, load repeats`, T, async () => {
    const ref = `faults/loaded-${point.split('.')[0]}:1`;
    await uniqueImage(ref);
    const tar = path.join(work, 'saved.tar');
    ok(await d.berth(['save', '-o', tar, ref]), 'save');
    ok(await d.berth(['rmi', ref]), 'rmi');
    await crashAt(point, () => d.berth(['load', '-i', tar]));
    await noHalfImage(ref);
    ok(await d.berth(['load', '-i', tar]), 'load again');
    ok(await d.berth(['rmi', ref]), 'rmi');
  });
}

for (const point of ['commit.after-layer', 'image.commit.after-layers']) {
  test(`fault: SIGKILL at ${point} during commit — no half image, the container runs on, commit repeats`, T, async () => {
    const name = `fcm-${point.split('.')[0]}`;
    const id = await createNamed(name);
    ok(await d.berth(['start', name]), 'start');
    ok(await d.berth(['exec', name, 'sh', '-c', 'echo data > /committed']), 'exec');
    await crashAt(point, () => d.berth(['commit', name, 'faults/committed:1']));
    await noHalfImage('faults/committed:1');
    // commit froze the container: it must not stay frozen behind a "running" status
    const st = (await d.api('GET', `/containers/${id}/json`)).body.State;
    assert.equal(st.Status, 'running');
    ok(await d.berth(['exec', name, 'true']), 'exec after the restart (not frozen)');
    ok(await d.berth(['commit', name, 'faults/committed:1']), 'commit again');
    ok(await d.berth(['rm', '-f', name]), 'rm');
    ok(await d.berth(['rmi', 'faults/committed:1']), 'rmi');
    await noLeaks(point);
  });
}

test('fault: SIGKILL at build.after-step — no build container left, build repeats', T, async () => {
  const ctx = path.join(work, 'build');
  rmSync(ctx, { recursive: true, force: true });
  await runCmd('mkdir', ['-p', ctx]);
  writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo one-${Date.now()} > /one\nRUN echo two > /two\n`);
  await crashAt('build.after-step', () => d.berth(['build', '-t', 'faults/built:1', ctx]));
  assert.deepEqual((await d.api('GET', '/containers/json?all=1')).body, [], 'a build container stayed behind');
  await noHalfImage('faults/built:1');
  await noLeaks('build');
  ok(await d.berth(['build', '-t', 'faults/built:1', ctx]), 'build again');
  ok(await d.berth(['rmi', 'faults/built:1']), 'rmi');
});

/** Restarts the daemon with `point` armed to fail (error action), runs `op`, restarts it clean. */
async function failAt(point: string, op: () => Promise<RunResult>): Promise<RunResult> {
  await d.stopDaemon();
  d.env = { BERTH_FAILPOINTS: `${point}=error` };
  await d.start();
  try {
    return await op();
  } finally {
    await d.stopDaemon();
    d.env = {};
    await d.start();
  }
}

for (const point of ['container.start.after-rootfs', 'network.attach.after-record', 'network.attach.after-setup', 'container.start.after-shim', 'container.start.after-run']) {
  test(`fault: an error at ${point} — a clean 500, the start rolled back at once (no restart needed), start repeats`, T, async () => {
    const name = `fe-${point.replace(/\W/g, '-')}`;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const id = await createNamed(name, ['-p', `${port}:80`]);
    let problems: string[] = [];
    const r = await failAt(point, async () => {
      const res = await d.docker(['start', name]);
      problems = await leakReport(d, { known }); // while the failpoint's daemon still runs: the rollback was immediate
      return res;
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Error response from daemon: .*failpoint ${point.replace(/\./g, '\\.')}: injected error`));
    assert.deepEqual(problems, [], `leftovers right after the failed start:\n${problems.join('\n')}`);
    ok(await d.berth(['start', name]), 'start again');
    ok(await d.berth(['rm', '-f', name]), 'rm -f');
    await noLeaks(`${point} (error)`);
    assert.ok(id);
  });
}

test('fault: SIGKILL at network.create.after-record — the cut create is undone at restart (no record, bridge or rules); create repeats', T, async () => {
  await crashAt('network.create.after-record', () => d.berth(['network', 'create', 'fnet']));
  assert.equal((await d.api('GET', '/networks/fnet')).status, 404, 'the cut network is listed');
  assert.deepEqual(readdirSync(path.join(d.dataRoot, 'network', 'networks')), [], 'a network record is left');
  ok(await d.berth(['network', 'create', 'fnet']), 'network create again');
  ok(await d.docker(['run', '--rm', '--network', 'fnet', 'busybox', 'true']), 'run on it');
  ok(await d.berth(['network', 'rm', 'fnet']), 'network rm');
  await noLeaks('network create');
});
