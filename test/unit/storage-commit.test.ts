// ImageStore.stageLayer + commitImage, the path pull and load take: layers staged in any order are committed
// bottom up under their chain ids, shared layers are reused, repeated layers are copied, a missing layer or a
// bad config leaves nothing behind, and digest references and manifests are recorded.
import { test, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ImageStore } from '../../src/storage/images';
import { parseReference } from '../../src/storage/reference';
import { chainIds } from '../../src/storage/digest';
import { gzip, makeTar, streamOf, tempDir } from './storage-fixtures';

/** Every path under dir (names only: what must not change after a failure). */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true })) out.push(String(e));
  return out.sort();
}

let root: string;
let store: ImageStore;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeEach(async () => { root = await tempDir(); store = await ImageStore.open(root); });
afterEach(async () => { await fs.rm(root, { recursive: true, force: true }); });

async function layer(name: string, content: string): Promise<{ tar: Buffer; gz: Buffer; diffId: string }> {
  const tar = await makeTar([{ name: `${name}`, content }]);
  return { tar, gz: gzip(tar), diffId: sha(tar) };
}

function config(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, created: '2024-01-01T00:00:00Z', ...extra }));
}

test('layers staged out of order become one image with chain ids, tags and digest refs', async () => {
  const a = await layer('a.txt', 'A');
  const b = await layer('b.txt', 'B');
  const sb = await store.stageLayer(streamOf(b.gz), { expectedDigest: sha(b.gz), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
  const sa = await store.stageLayer(streamOf(a.gz), { expectedDigest: sha(a.gz) });
  const cfg = config([a.diffId, b.diffId]);
  const manifest = Buffer.from('{"schemaVersion":2}');
  const tag = parseReference('localhost:5000/x/y:1');
  const digestRef = { domain: 'localhost:5000', path: 'x/y', digest: sha(manifest) };
  const img = await store.commitImage(cfg, [sb, sa], { tags: [tag], digestRefs: [digestRef], manifest: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', bytes: manifest }, event: 'pull' });
  assert.equal(img.id, sha(cfg));
  assert.deepEqual(img.chainIds, chainIds([a.diffId, b.diffId]));
  assert.deepEqual(img.repoTags, ['localhost:5000/x/y:1']);
  assert.deepEqual(img.repoDigests, [`localhost:5000/x/y@${sha(manifest)}`]);
  assert.equal(store.layerBlob(img.chainIds[1])?.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  assert.equal(await fs.readFile(path.join(store.layerDirs(img)[0], 'b.txt'), 'utf8'), 'B');
  assert.deepEqual(img.manifests?.map((m) => m.digest), [sha(manifest)]);

  // survives a reopen
  const again = await ImageStore.open(root);
  const reloaded = again.get('localhost:5000/x/y:1');
  assert.equal(reloaded.id, img.id);
  assert.deepEqual(reloaded.manifests?.map((m) => m.digest), [sha(manifest)]);
  assert.equal(again.get(`localhost:5000/x/y@${sha(manifest)}`).id, img.id);
});

test('a second image on the same base reuses its layers; unused staged layers are discarded', async () => {
  const a = await layer('a.txt', 'A');
  const b = await layer('b.txt', 'B');
  const first = await store.commitImage(config([a.diffId]), [await store.stageLayer(streamOf(a.tar))]);
  const filesBefore = await snapshot(path.join(root, 'tmp'));
  const extra = await store.stageLayer(streamOf(a.tar)); // already present: must be dropped
  const second = await store.commitImage(config([a.diffId, b.diffId]), [extra, await store.stageLayer(streamOf(b.tar))]);
  assert.equal(second.chainIds[0], first.chainIds[0]);
  assert.deepEqual(await snapshot(path.join(root, 'tmp')), filesBefore);
  // rmi of the second frees only its own top layer
  await store.remove(second.id, { force: false, noPrune: false, containerUsing: () => undefined });
  assert.ok(store.hasLayer(first.chainIds[0]));
  assert.ok(!store.hasLayer(second.chainIds[1]));
});

test('the same layer twice in one image is stored under both chain ids', async () => {
  const e = await layer('e.txt', 'E');
  const x = await layer('x.txt', 'X');
  const img = await store.commitImage(config([e.diffId, x.diffId, e.diffId]), [await store.stageLayer(streamOf(e.tar)), await store.stageLayer(streamOf(x.tar))]);
  assert.equal(img.chainIds.length, 3);
  for (const dir of store.layerDirs(img)) assert.ok((await fs.readdir(dir)).length > 0);
  assert.equal(await fs.readFile(path.join(store.layerDirs(img)[0], 'e.txt'), 'utf8'), 'E');
});

test('a missing layer or a corrupt config stores nothing', async () => {
  const a = await layer('a.txt', 'A');
  const b = await layer('b.txt', 'B');
  const before = await snapshot(root);
  await assert.rejects(store.commitImage(config([a.diffId, b.diffId]), [await store.stageLayer(streamOf(a.tar))]), /missing/);
  await assert.rejects(store.commitImage(Buffer.from('{not json'), [await store.stageLayer(streamOf(a.tar))]));
  assert.deepEqual(await snapshot(root), before);
  assert.equal(store.list().length, 0);
});

test('a staged layer whose bytes do not match the promised digest keeps nothing', async () => {
  const a = await layer('a.txt', 'A');
  const before = await snapshot(root);
  await assert.rejects(store.stageLayer(streamOf(a.gz), { expectedDigest: sha(Buffer.from('other')) }), /digest mismatch/);
  assert.deepEqual(await snapshot(root), before);
});
