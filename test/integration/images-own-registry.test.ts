// berth's own registry (`berth registry serve`) between two berth stores: push from one, pull into the other
// and run; a multi-platform index with platform selection; pull --all-tags; GET /distribution; and a pull
// into a full disk that fails cleanly, leaving the store as it was.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { TestDaemon, RunResult, runCmd } from '../helpers/daemon';
import { RegistryServer, tempDir } from './registry-fixture';

const a = new TestDaemon('reg-a');
const b = new TestDaemon('reg-b');
let reg: RegistryServer;
let host = '';
const cleanups: Array<() => Promise<unknown>> = [];
const sha = (buf: Buffer | string) => `sha256:${createHash('sha256').update(buf).digest('hex')}`;
const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

before(async () => {
  await Promise.all([a.start(), b.start()]);
  await a.loadBusybox();
  const root = await tempDir('berth-own-registry-');
  cleanups.push(() => runCmd('rm', ['-rf', root]));
  reg = await new RegistryServer(root).start();
  cleanups.push(() => reg.stop());
  host = reg.hostPort;
});
after(async () => {
  await Promise.allSettled([a.stop(), b.stop()]);
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

test('push from one store, pull into another, run it', async () => {
  const ref = `${host}/team/busybox:1`;
  ok(await a.berth(['tag', 'busybox', ref]), 'tag');
  ok(await a.berth(['push', ref]), 'push');
  const pull = await b.berth(['pull', ref]);
  ok(pull, 'pull');
  assert.match(pull.stdout, /Pull complete/);
  const idA = (await a.berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
  const idB = (await b.berth(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();
  assert.equal(idB, idA);
  const run = await b.berth(['run', '--rm', ref, 'sh', '-c', 'echo from-$(hostname | wc -c)']);
  ok(run, 'run');
  assert.match(run.stdout, /^from-\d+\n$/);
});

async function registry(method: string, p: string, body?: Buffer, contentType?: string): Promise<Response> {
  return fetch(`${reg.url}${p}`, { method, body, headers: contentType ? { 'Content-Type': contentType } : {} });
}
async function putBlob(repo: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const r = await registry('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, data, 'application/octet-stream');
  assert.equal(r.status, 201, await r.text());
  return digest;
}

test('a multi-platform index: the host platform by default, --platform picks another, an unknown one fails', async () => {
  // the amd64 image is what was pushed above; an arm64 twin gets its own config, then an index over both
  const repo = 'team/busybox';
  const m1 = await registry('GET', `/v2/${repo}/manifests/1`, undefined);
  const amd64Bytes = Buffer.from(await m1.arrayBuffer());
  const amd64 = JSON.parse(amd64Bytes.toString()) as { mediaType: string; config: { digest: string }; layers: unknown[] };
  const cfgA = JSON.parse(Buffer.from(await (await registry('GET', `/v2/${repo}/blobs/${amd64.config.digest}`)).arrayBuffer()).toString());
  const cfgArm = Buffer.from(JSON.stringify({ ...cfgA, architecture: 'arm64', variant: 'v8' }));
  const cfgArmDigest = await putBlob(repo, cfgArm);
  const armManifest = Buffer.from(JSON.stringify({ ...amd64, config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: cfgArm.length, digest: cfgArmDigest } }));
  const putArm = await registry('PUT', `/v2/${repo}/manifests/${sha(armManifest)}`, armManifest, amd64.mediaType);
  assert.equal(putArm.status, 201, await putArm.text());
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      { mediaType: amd64.mediaType, size: armManifest.length, digest: sha(armManifest), platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      { mediaType: amd64.mediaType, size: amd64Bytes.length, digest: sha(amd64Bytes), platform: { architecture: 'amd64', os: 'linux' } },
    ],
  }));
  const putIndex = await registry('PUT', `/v2/${repo}/manifests/multi`, index, 'application/vnd.docker.distribution.manifest.list.v2+json');
  assert.equal(putIndex.status, 201, await putIndex.text());

  const ref = `${host}/${repo}:multi`;
  const dist = await b.api('GET', `/distribution/${ref}/json`);
  assert.equal(dist.status, 200, JSON.stringify(dist.body));
  assert.equal(dist.body.Descriptor.digest, sha(index));
  assert.deepEqual(dist.body.Platforms.map((p: { architecture: string }) => p.architecture).sort(), ['amd64', 'arm64']);

  ok(await b.berth(['pull', ref]), 'pull default platform');
  const [archDefault, digests] = (await b.berth(['image', 'inspect', '-f', '{{.Architecture}} {{json .RepoDigests}}', ref])).stdout.trim().split(' ');
  assert.equal(archDefault, 'amd64');
  // the index digest joins the per-platform manifest digest the first test's pull recorded
  assert.ok((JSON.parse(digests) as string[]).includes(`${host}/${repo}@${sha(index)}`), digests);
  const arm = await b.berth(['pull', '--platform', 'linux/arm64', ref]);
  ok(arm, 'pull arm64');
  assert.match(arm.stdout, /Already exists/); // same layers as the amd64 image
  assert.equal((await b.berth(['image', 'inspect', '-f', '{{.Architecture}}/{{.Variant}}', ref])).stdout.trim(), 'arm64/v8');
  const none = await b.berth(['pull', '--platform', 'linux/s390x', ref]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('pull --all-tags fetches every tag of the repository', async () => {
  for (const t of ['t1', 't2']) {
    ok(await a.berth(['tag', 'busybox', `${host}/all/bb:${t}`]), 'tag');
    ok(await a.berth(['push', '-q', `${host}/all/bb:${t}`]), 'push');
  }
  const r = await b.berth(['pull', '-a', `${host}/all/bb`]);
  ok(r, 'pull -a');
  const tags = (await b.berth(['images', '--format', '{{.Repository}}:{{.Tag}}', `${host}/all/bb`])).stdout.trim().split('\n').sort();
  assert.deepEqual(tags, [`${host}/all/bb:t1`, `${host}/all/bb:t2`]);
});

test('a pull into a full disk fails with a clear error and leaves the store as it was', async () => {
  // an image with a 24 MB incompressible layer, pushed from A
  const work = await tempDir('berth-big-layer-');
  cleanups.push(() => runCmd('rm', ['-rf', work]));
  mkdirSync(path.join(work, 'root'));
  writeFileSync(path.join(work, 'root', 'big.bin'), randomBytes(24 << 20));
  execFileSync('tar', ['-C', path.join(work, 'root'), '-cf', path.join(work, 'big.tar'), '.']);
  ok(await runCmd(path.join(__dirname, '../../../bin/berth'), ['import', path.join(work, 'big.tar'), `${host}/big/layer:1`], { env: { BERTH_HOST: a.host } }), 'import');
  ok(await a.berth(['push', `${host}/big/layer:1`]), 'push big');

  const c = new TestDaemon('reg-full');
  cleanups.unshift(() => c.stop());
  mkdirSync(c.dataRoot, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'berth-test-full', c.dataRoot]);
  await c.start();
  await c.loadBusybox();
  const files = () => {
    const root = path.join(c.dataRoot, 'image');
    return ['blobs/sha256', 'layers', 'images'].flatMap((s) => readdirSync(path.join(root, s)).map((f) => `${s}/${f}`)).sort();
  };
  const before = files();
  const r = await c.berth(['pull', `${host}/big/layer:1`]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /no space left on device/i);
  assert.deepEqual(files(), before);
  assert.deepEqual(readdirSync(path.join(c.dataRoot, 'image', 'tmp')), []);
  // the store still works
  ok(await c.berth(['run', '--rm', '--network', 'none', 'busybox', 'true']), 'run after ENOSPC');
});
