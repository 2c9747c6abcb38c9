// ImageStore: import, lookups, tag, rmi (docker's rules and texts), persistence, and failure atomicity.
import { test, describe, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { EngineError } from '../../src/common/errors';
import { ImageStore, ImageRecord, ImageEvent } from '../../src/storage/images';
import { gzip, makeTar, streamOf, tempDir, TarEntry } from './storage-fixtures';

let root: string;
let store: ImageStore;
let events: ImageEvent[];

const ROOTFS: TarEntry[] = [
  { name: './', type: 'directory' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/busybox', content: 'not really busybox', mode: 0o755 },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
];

const nobody = () => undefined;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function importEntries(entries: TarEntry[], opts: Parameters<ImageStore['importTar']>[1] = {}): Promise<ImageRecord> {
  return store.importTar(streamOf(await makeTar(entries)), opts);
}

function engineError(status: number, message: string | RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.status, status);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

/** Every file under the store, to prove a failed operation left nothing behind. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && !p.includes(`${path.sep}diff`)) out.push(...(await files(p)));
    else out.push(path.relative(root, p));
  }
  return out.sort();
}

beforeEach(async () => {
  root = path.join(await tempDir(), 'image');
  events = [];
  store = await ImageStore.open(root, { onEvent: (e) => events.push(e) });
});

afterEach(async () => {
  await fs.rm(path.dirname(root), { recursive: true, force: true });
});

describe('import', () => {
  test('a plain tar becomes a one-layer image with docker\'s config', async () => {
    const tarball = await makeTar(ROOTFS);
    const img = await store.importTar(streamOf(tarball), { reference: 'busybox', changes: ['CMD ["sh"]', 'ENV A=1'], message: 'hello' });
    assert.match(img.id, /^sha256:[a-f0-9]{64}$/);
    const configBytes = await fs.readFile(path.join(root, 'blobs/sha256', img.id.slice(7)));
    assert.equal(sha(configBytes), img.id, 'the id is the digest of the stored config');
    assert.deepEqual(img.diffIds, [sha(tarball)], 'diff id = sha256 of the uncompressed tar');
    assert.deepEqual(img.chainIds, img.diffIds);
    assert.deepEqual(img.repoTags, ['busybox:latest']);
    assert.deepEqual(img.config.config, { Cmd: ['sh'], Env: ['A=1'] });
    assert.equal(img.config.os, 'linux');
    assert.equal(img.config.architecture, process.arch === 'x64' ? 'amd64' : img.config.architecture);
    assert.equal(img.config.comment, 'hello');
    assert.deepEqual(img.config.history, [{ created: img.created, comment: 'hello' }]);
    assert.equal(img.size, 'not really busybox'.length + 'root:x:0:0:root:/root:/bin/sh\n'.length);

    const [dir] = store.layerDirs(img);
    assert.equal(await fs.readFile(path.join(dir, 'etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
    assert.equal(await fs.readlink(path.join(dir, 'bin/sh')), 'busybox');
    assert.deepEqual(events.map((e) => e.action), ['import', 'tag']);
    assert.equal((await fs.readdir(path.join(root, 'tmp'))).length, 0, 'no staging left');
  });

  test('gzip input is detected; the same content shares one layer', async () => {
    const tarball = await makeTar(ROOTFS);
    const plain = await store.importTar(streamOf(tarball));
    const zipped = await store.importTar(streamOf(gzip(tarball)), { message: 'gz' });
    assert.notEqual(plain.id, zipped.id);
    assert.deepEqual(zipped.diffIds, plain.diffIds);
    assert.deepEqual(store.layerDirs(zipped), store.layerDirs(plain));
    assert.equal(plain.config.comment, 'Imported from -');
    // the second tarball's blob was not kept: the layer already has one
    assert.deepEqual(await fs.readdir(path.join(root, 'layers')), [plain.chainIds[0].slice(7)]);
    const blobs = await fs.readdir(path.join(root, 'blobs/sha256'));
    assert.equal(blobs.length, 3, 'two configs and one layer tarball');
  });

  test('platform option', async () => {
    const img = await importEntries(ROOTFS, { platform: 'linux/arm64/v8' });
    assert.deepEqual([img.config.os, img.config.architecture, img.config.variant], ['linux', 'arm64', 'v8']);
    await assert.rejects(importEntries(ROOTFS, { platform: 'windows/amd64' }),
      engineError(400, 'image operating system "windows" cannot be used on this platform'));
  });

  test('bad options fail before the stream is read', async () => {
    let read = false;
    const input = new Readable({ read() { read = true; this.push(null); } });
    await assert.rejects(store.importTar(input, { changes: ['RUN x'] }), engineError(400, 'run is not a valid change command'));
    await assert.rejects(store.importTar(input, { reference: 'Bad' }), engineError(400, /must be lowercase/));
    await assert.rejects(store.importTar(input, { reference: `x@sha256:${'a'.repeat(64)}` }), engineError(400, 'cannot import digest reference'));
    assert.equal(read, false);
  });

  test('a failed import leaves no layer, blob, record or staging dir', async () => {
    await importEntries(ROOTFS, { reference: 'keep' });
    const before = await files(root);
    const good = await makeTar([{ name: 'a', content: randomBytes(200_000) }, { name: 'b', content: 'b' }]);
    // truncated in the middle of a file
    await assert.rejects(store.importTar(streamOf(good.subarray(0, 100_000))), engineError(400, /Unexpected end of data/));
    // hostile
    await assert.rejects(importEntries([{ name: 'ok', content: 'x' }, { name: '../../evil', content: 'x' }]), engineError(400, /escapes/));
    // not a tar, not gzip
    await assert.rejects(store.importTar(streamOf(Buffer.from('hello world, certainly not a tarball'.repeat(40)))), engineError(400, /invalid tar archive/));
    // broken gzip
    await assert.rejects(store.importTar(streamOf(gzip(good).subarray(0, 5000))), engineError(400, 'invalid gzip data: unexpected end of file'));
    // empty
    await assert.rejects(store.importTar(streamOf(Buffer.alloc(0))), engineError(400, 'empty input: nothing to import'));
    assert.deepEqual(await files(root), before);
    assert.equal(store.list().length, 1);
  });
});

describe('lookups', () => {
  test('by name, tag, id, bare hex, short prefix', async () => {
    const img = await importEntries(ROOTFS, { reference: 'localhost:5000/app:1' });
    const hex = img.id.slice(7);
    for (const ref of ['localhost:5000/app:1', img.id, hex, hex.slice(0, 12), hex.slice(0, 1), `sha256:${hex.slice(0, 5)}`]) {
      assert.equal(store.get(ref).id, img.id, ref);
    }
    assert.throws(() => store.get('localhost:5000/app'), engineError(404, 'No such image: localhost:5000/app:latest'));
    assert.throws(() => store.get('nothere'), engineError(404, 'No such image: nothere:latest'));
    assert.throws(() => store.get('f'.repeat(64)), engineError(404, `No such image: sha256:${'f'.repeat(64)}`));
    assert.throws(() => store.get('Upper'), engineError(400, 'invalid reference format: repository name (library/Upper) must be lowercase'));
    assert.equal(store.tryGet('nothere'), undefined);
    assert.equal(store.tryGet('Upper'), undefined);
  });

  test('an ambiguous id prefix matches nothing', async () => {
    const imgs: ImageRecord[] = [];
    for (let i = 0; i < 40; i++) imgs.push(await importEntries([{ name: 'f', content: String(i) }]));
    const firsts = imgs.map((i) => i.id[7]);
    const dup = firsts.find((c, i) => firsts.indexOf(c) !== i)!;
    assert.equal(store.tryGet(dup), undefined);
    assert.throws(() => store.get(dup), engineError(404, `No such image: ${dup}:latest`));
  });

  test('list is newest first; API views', async () => {
    const a = await importEntries(ROOTFS, { reference: 'a', changes: ['LABEL x=y', 'EXPOSE 80'] });
    await new Promise((r) => setTimeout(r, 5));
    const b = await importEntries(ROOTFS, { reference: 'b' });
    assert.deepEqual(store.list().map((i) => i.id), [b.id, a.id]);

    const summary = store.toApiSummary(a);
    assert.deepEqual(Object.keys(summary), ['Id', 'ParentId', 'RepoTags', 'RepoDigests', 'Created', 'Size', 'SharedSize', 'Labels', 'Containers']);
    assert.equal(summary.Created, Math.floor(Date.parse(a.created) / 1000));
    assert.deepEqual(summary.Labels, { x: 'y' });
    assert.deepEqual([summary.SharedSize, summary.Containers, summary.ParentId], [-1, -1, '']);

    const inspect = store.toApiInspect(a) as Record<string, any>;
    assert.equal(inspect.Id, a.id);
    assert.deepEqual(inspect.RepoTags, ['a:latest']);
    assert.equal(inspect.Created, a.created);
    assert.deepEqual(inspect.Config, { Labels: { x: 'y' }, ExposedPorts: { '80/tcp': {} } });
    assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: a.diffIds });
    assert.equal(inspect.GraphDriver.Name, 'overlay2');
    assert.equal(inspect.GraphDriver.Data.UpperDir, store.layerDirs(a)[0]);
    assert.equal(inspect.Metadata.LastTagTime, a.lastTagTime);
    assert.equal(inspect.Comment, 'Imported from -');
    const untagged = await importEntries(ROOTFS);
    assert.equal((store.toApiInspect(untagged) as any).Metadata.LastTagTime, '0001-01-01T00:00:00Z');
  });
});

describe('tag', () => {
  test('adds names, moves them between images, validates targets', async () => {
    const a = await importEntries(ROOTFS, { reference: 'app:1' });
    await store.tag('app:1', 'registry.example.com/team/app');
    assert.deepEqual(store.get('app:1').repoTags, ['app:1', 'registry.example.com/team/app:latest']);
    assert.ok(a.lastTagTime);
    const b = await importEntries(ROOTFS);
    await store.tag(b.id, 'app:1');
    assert.deepEqual(store.get(a.id).repoTags, ['registry.example.com/team/app:latest']);
    assert.deepEqual(store.get(b.id).repoTags, ['app:1']);
    await assert.rejects(store.tag('app:1', `x@sha256:${'a'.repeat(64)}`), engineError(400, 'refusing to create a tag with a digest reference'));
    await assert.rejects(store.tag('app:1', 'sha256:abc'), engineError(400, 'refusing to create an ambiguous tag using digest algorithm as name'));
    await assert.rejects(store.tag('app:1', 'Nope'), engineError(400, /must be lowercase/));
    await assert.rejects(store.tag('missing', 'x'), engineError(404, 'No such image: missing:latest'));
  });
});

describe('remove (docker rmi)', () => {
  test('one of several tags: untag only', async () => {
    const img = await importEntries(ROOTFS, { reference: 'one' });
    await store.tag('one', 'two:2');
    assert.deepEqual(await store.remove('two:2', { containerUsing: nobody }), [{ Untagged: 'two:2' }]);
    assert.deepEqual(store.get(img.id).repoTags, ['one:latest']);
  });

  test('the last tag: untag, delete the image and its layer', async () => {
    const img = await importEntries(ROOTFS, { reference: 'one' });
    const dirs = store.layerDirs(img);
    assert.deepEqual(await store.remove('one', { containerUsing: nobody }), [
      { Untagged: 'one:latest' }, { Deleted: img.id }, { Deleted: img.chainIds[0] },
    ]);
    assert.equal(store.tryGet(img.id), undefined);
    await assert.rejects(fs.access(dirs[0]));
    assert.deepEqual(await fs.readdir(path.join(root, 'blobs/sha256')), []);
    assert.deepEqual(await fs.readdir(path.join(root, 'images')), []);
    assert.deepEqual(events.map((e) => e.action), ['import', 'tag', 'untag', 'delete']);
  });

  test('a layer shared with another image stays', async () => {
    const a = await importEntries(ROOTFS, { reference: 'one' });
    const b = await importEntries(ROOTFS, { reference: 'two' });
    assert.deepEqual(await store.remove('one', { containerUsing: nobody }), [{ Untagged: 'one:latest' }, { Deleted: a.id }]);
    await fs.access(store.layerDirs(b)[0]);
  });

  test('by id with several tags needs force', async () => {
    const img = await importEntries(ROOTFS, { reference: 'one' });
    await store.tag('one', 'two');
    const short = img.id.slice(7, 19);
    await assert.rejects(store.remove(short, { containerUsing: nobody }),
      engineError(409, `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`));
    assert.deepEqual(await store.remove(short, { force: true, containerUsing: nobody }), [
      { Untagged: 'one:latest' }, { Untagged: 'two:latest' }, { Deleted: img.id }, { Deleted: img.chainIds[0] },
    ]);
  });

  test('by id with one tag: untag and delete', async () => {
    const img = await importEntries(ROOTFS, { reference: 'one' });
    assert.deepEqual(await store.remove(img.id, { containerUsing: nobody }), [
      { Untagged: 'one:latest' }, { Deleted: img.id }, { Deleted: img.chainIds[0] },
    ]);
  });

  test('containers: running ones block even -f; stopped ones need -f and keep the layers', async () => {
    const img = await importEntries(ROOTFS, { reference: 'one' });
    const cid = 'c'.repeat(64);
    const short = img.id.slice(7, 19);
    const running = () => ({ id: cid, running: true });
    const stopped = () => ({ id: cid, running: false });
    await assert.rejects(store.remove('one', { containerUsing: running }), engineError(409,
      `conflict: unable to remove repository reference "one" (must force) - container cccccccccccc is using its referenced image ${short}`));
    await assert.rejects(store.remove(img.id, { force: true, containerUsing: running }), engineError(409,
      `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container cccccccccccc`));
    await assert.rejects(store.remove(img.id, { containerUsing: stopped }), engineError(409,
      `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container cccccccccccc`));
    // -f by name with a running container: the tag goes, the image stays (docker's behavior)
    assert.deepEqual(await store.remove('one', { force: true, containerUsing: running }), [{ Untagged: 'one:latest' }]);
    assert.deepEqual(store.get(img.id).repoTags, []);
    assert.deepEqual(await store.remove(img.id, { force: true, containerUsing: stopped }), [{ Deleted: img.id }]);
    await fs.access(store.layerDirs(img)[0]); // still there for the stopped container
  });

  test('a name that is also an id prefix counts as the id, as in docker', async () => {
    const img = await importEntries(ROOTFS);
    const prefix = img.id.slice(7, 9);
    await store.tag(img.id, prefix);
    await store.tag(img.id, 'other');
    await assert.rejects(store.remove(prefix, { containerUsing: nobody }), engineError(409, /must be forced\) - image is referenced in multiple repositories/));
  });

  test('unknown images', async () => {
    await assert.rejects(store.remove('ghost', { containerUsing: nobody }), engineError(404, 'No such image: ghost:latest'));
  });
});

describe('persistence', () => {
  test('reopening finds images, tags and times; staging is wiped', async () => {
    const a = await importEntries(ROOTFS, { reference: 'a:1', changes: ['CMD ["sh"]'] });
    await store.tag('a:1', 'b');
    await fs.mkdir(path.join(root, 'tmp', 'layer-crashed'));
    const reopened = await ImageStore.open(root);
    const again = reopened.get('b');
    assert.equal(again.id, a.id);
    assert.deepEqual(again.repoTags, ['a:1', 'b:latest']);
    assert.equal(again.lastTagTime, store.get(a.id).lastTagTime);
    assert.deepEqual(again.config, a.config);
    assert.equal(again.size, a.size);
    assert.deepEqual(reopened.layerDirs(again), store.layerDirs(a));
    assert.deepEqual(await fs.readdir(path.join(root, 'tmp')), []);
  });

  test('an image whose layer vanished is skipped, not fatal', async () => {
    const a = await importEntries(ROOTFS, { reference: 'a' });
    // (not 'b': a one-letter hex name also matches any image whose id starts with it, 1 time in 16)
    const b = await importEntries([{ name: 'other', content: 'o' }], { reference: 'vanished' });
    await fs.rm(path.join(root, 'layers', b.chainIds[0].slice(7)), { recursive: true });
    const reopened = await ImageStore.open(root);
    assert.equal(reopened.get('a').id, a.id);
    assert.equal(reopened.tryGet('vanished'), undefined);
  });
});
