// docker save / docker load at the storage level: tar headers, layer tars regenerated from unpacked layers,
// the archive save writes, and load of every layout (legacy docker-archive, Docker 25+ OCI + manifest.json,
// plain OCI layout, compressed), with its errors leaving the store untouched.
import { test, describe, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { EngineError } from '../../src/common/errors';
import { ImageStore, ImageEvent } from '../../src/storage/images';
import { encodeHeader, padding, END_OF_ARCHIVE } from '../../src/storage/tar-header';
import { layerTar, layerTarDigest, parseGetfattr } from '../../src/storage/layer-tar';
import { planSave } from '../../src/storage/image-save';
import { coalesce, loadImages, normalize, progressBar } from '../../src/storage/image-load';
import { unpackLayer } from '../../src/storage/unpack';
import { isRoot, makeTar, streamOf, tempDir, snapshot } from './storage-fixtures';
import { configOf, hex, layerOf, legacyArchive, ociArchive, readTar, sha } from './archive-fixtures';

let work: string;
let root: string;
let store: ImageStore;
let events: ImageEvent[];

beforeEach(async () => {
  work = await tempDir('berth-archive-');
  root = path.join(work, 'image');
  events = [];
  store = await ImageStore.open(root, { onEvent: (e) => events.push(e) });
});
afterEach(async () => { await fs.rm(work, { recursive: true, force: true }); });

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

async function save(names: string[]): Promise<Buffer> {
  const plan = await planSave(store, store.resolveSaveNames(names));
  try {
    const out = await collect(plan.stream());
    assert.equal(out.length, plan.size, 'the announced size is exact');
    return out;
  } finally {
    await plan.close();
  }
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

/** Everything in the store except unpacked file trees: proves a failed load changed nothing. */
async function storeFiles(): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== 'diff') await walk(p);
      else out.push(path.relative(root, p));
    }
  }
  await walk(root);
  return out.sort();
}

describe('tar headers', () => {
  test('USTAR for short names, PAX for long/non-ASCII names, big ids and binary xattrs; tar-stream reads them back', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const parts = [
      encodeHeader({ name: 'dir/', type: 'directory', mode: 0o755, mtime: 1_700_000_000 }),
      encodeHeader({ name: 'dir/file', type: 'file', mode: 0o4755, size: 3, uid: 1000, gid: 1001, mtime: 1_700_000_001 }), Buffer.from('abc'), padding(3),
      encodeHeader({ name: long, type: 'file', mode: 0o644, size: 0 }),
      encodeHeader({ name: 'héllo', type: 'symlink', mode: 0o777, linkname: `x/${'y'.repeat(150)}` }),
      encodeHeader({ name: 'big-ids', type: 'file', mode: 0o600, size: 0, uid: 3_000_000, gid: 3_000_001 }),
      encodeHeader({ name: 'cap', type: 'file', mode: 0o755, size: 0, pax: { 'SCHILY.xattr.user.bin': Buffer.from([0x01, 0xff, 0x00]) } }),
      encodeHeader({ name: 'null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }),
      END_OF_ARCHIVE(),
    ];
    const entries = await readTar(Buffer.concat(parts));
    assert.deepEqual([...entries.keys()], ['dir/', 'dir/file', long, 'héllo', 'big-ids', 'cap', 'null']);
    const f = entries.get('dir/file')!;
    assert.deepEqual([f.header.mode, f.header.uid, f.header.gid, f.content.toString(), f.header.mtime?.getTime()], [0o4755, 1000, 1001, 'abc', 1_700_000_001_000]);
    assert.equal(entries.get('héllo')!.header.linkname, `x/${'y'.repeat(150)}`);
    // (tar-stream leaves PAX ids in .pax; the unpacker reads them from there, as Go's reader does)
    const bigPax = (entries.get('big-ids')!.header.pax ?? {}) as Record<string, string>;
    assert.deepEqual([bigPax.uid, bigPax.gid], ['3000000', '3000001']);
    assert.ok(Object.keys(entries.get('cap')!.header.pax ?? {}).includes('SCHILY.xattr.user.bin'));
    assert.deepEqual([entries.get('null')!.header.devmajor, entries.get('null')!.header.devminor], [1, 3]);
    // GNU tar agrees
    const file = path.join(work, 'h.tar');
    await fs.writeFile(file, Buffer.concat(parts));
    const listing = execFileSync('tar', ['-tvf', file]).toString();
    assert.match(listing, /-rwsr-xr-x 1000\/1001\s+3 .* dir\/file/);
    assert.ok(listing.includes(long));
  });
});

describe('layer tars from unpacked layers', () => {
  test('files, links, modes, whiteouts and opaque dirs: unpacking the tar gives the same tree; output is deterministic', { skip: !isRoot && 'needs root (mknod, trusted xattrs)' }, async () => {
    const original = await makeTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/passwd', content: 'root:x:0:0\n', mode: 0o644 },
      { name: 'etc/hard', type: 'link', linkname: 'etc/passwd' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', content: randomBytes(3 << 20), mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'bin/sh', type: 'symlink', linkname: 'tool' },
      { name: 'gone/', type: 'directory' },
      { name: 'gone/.wh.old', content: '' },
      { name: 'fresh/', type: 'directory', mode: 0o750 },
      { name: 'fresh/.wh..wh..opq', content: '' },
      { name: 'fresh/new', content: 'n' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'fifo', type: 'fifo', mode: 0o644 },
    ]);
    const a = path.join(work, 'a');
    await fs.mkdir(a);
    await unpackLayer([original], a);

    const regenerated = await collect(layerTar(a));
    const again = await layerTarDigest(a);
    assert.equal(again.digest, sha(regenerated), 'deterministic');
    assert.equal(again.size, regenerated.length);

    const entries = await readTar(regenerated);
    assert.deepEqual([...entries.keys()], [
      'bin/', 'bin/sh', 'bin/tool', 'dev/', 'dev/null', 'etc/', 'etc/hard', 'etc/passwd', 'fifo',
      'fresh/', 'fresh/.wh..wh..opq', 'fresh/new', 'gone/', 'gone/.wh.old',
    ]);
    assert.equal(entries.get('gone/.wh.old')!.header.type, 'file');
    assert.equal(entries.get('gone/.wh.old')!.header.mode, 0o600);
    assert.equal(entries.get('fresh/.wh..wh..opq')!.header.mode, 0o750);
    // the first name in walk order carries the content, later names link to it
    assert.equal(entries.get('etc/hard')!.header.type, 'file');
    assert.equal(entries.get('etc/passwd')!.header.type, 'link');
    assert.equal(entries.get('etc/passwd')!.header.linkname, 'etc/hard');
    assert.equal(entries.get('bin/tool')!.header.mode, 0o4755);

    const b = path.join(work, 'b');
    await fs.mkdir(b);
    await unpackLayer([regenerated], b);
    const snap = async (d: string) => (await snapshot(d)).filter((l) => !l.startsWith(' ')).map((l) => l.replace(/ [\d.]+ (\d+ \d+:\d+)$/, ' $1'));
    const [sa, sb] = [await snap(a), await snap(b)];
    // same names, modes, sizes, link counts and owners (mtimes of the root dir aside)
    assert.deepEqual(sb.map((l) => l.split(' ').filter((_, i) => i !== 3).join(' ')), sa.map((l) => l.split(' ').filter((_, i) => i !== 3).join(' ')));
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(b, 'fresh')]).toString(), 'y');
  });

  test('getfattr output parsing: octal escapes, nested paths', () => {
    const out = Buffer.from('# file: /r/we ird/x\\012y\nsecurity.capability=0x0100\n\n# file: /r\ntrusted.overlay.opaque=0x79\n\n# file: /r/a\\134b\nuser.x=0x01\n', 'latin1');
    const m = parseGetfattr(out, '/r');
    assert.deepEqual(m.get('we ird/x\ny')?.['security.capability'], Buffer.from([1, 0]));
    assert.equal(m.get('')?.['trusted.overlay.opaque']?.toString(), 'y');
    assert.ok(m.has('a\\b'));
  });
});

describe('save', () => {
  test('writes an OCI layout that is also a docker-archive; ids, tags and sizes line up', async () => {
    const l1 = await layerOf('one');
    const img = await store.importTar(streamOf(l1), { reference: 'app:1', changes: ['CMD ["sh"]'] });
    await store.tag('app:1', 'app:2');
    const other = await store.importTar(streamOf(await layerOf('two')), { reference: 'other:latest' });
    const out = await save(['app', 'other', img.id]);
    const entries = await readTar(out);
    const names = [...entries.keys()];
    assert.deepEqual(names.slice(0, 2), ['blobs/', 'blobs/sha256/']);
    assert.deepEqual(names.slice(-4), ['index.json', 'manifest.json', 'oci-layout', 'repositories']);
    const blobNames = names.filter((n) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n));
    assert.deepEqual(blobNames, [...blobNames].sort(), 'blobs in name order');
    for (const n of blobNames) assert.equal(sha(entries.get(n)!.content), `sha256:${n.slice(13)}`, `${n} is named by its digest`);

    const manifest = JSON.parse(entries.get('manifest.json')!.content.toString());
    assert.deepEqual(manifest, [
      { Config: `blobs/sha256/${hex(img.id)}`, RepoTags: ['app:1', 'app:2'], Layers: [`blobs/sha256/${hex(img.diffIds[0])}`] },
      { Config: `blobs/sha256/${hex(other.id)}`, RepoTags: ['other:latest'], Layers: [`blobs/sha256/${hex(other.diffIds[0])}`] },
    ]);
    assert.deepEqual(entries.get(`blobs/sha256/${hex(img.diffIds[0])}`)!.content, l1, 'the layer as it was imported');
    const index = JSON.parse(entries.get('index.json')!.content.toString());
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(index.manifests.map((m: any) => m.annotations['io.containerd.image.name']), ['docker.io/library/app:1', 'docker.io/library/app:2', 'docker.io/library/other:latest']);
    assert.deepEqual(index.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name']), ['1', '2', 'latest']);
    const m = JSON.parse(entries.get(`blobs/sha256/${hex(index.manifests[0].digest)}`)!.content.toString());
    assert.deepEqual(m.config, { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.id, size: entries.get(`blobs/sha256/${hex(img.id)}`)!.content.length });
    assert.deepEqual(m.layers, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: img.diffIds[0], size: l1.length }]);
    assert.deepEqual(JSON.parse(entries.get('repositories')!.content.toString()), {
      app: { 1: hex(img.diffIds[0]), 2: hex(img.diffIds[0]) }, other: { latest: hex(other.diffIds[0]) },
    });
    assert.equal(entries.get('oci-layout')!.content.toString(), '{"imageLayoutVersion": "1.0.0"}');
    // saving is reproducible
    assert.deepEqual(await save(['app', 'other', img.id]), out);
  });

  test('names: a tag, a bare repository (all its tags), ids; unknown ones fail like docker', async () => {
    const img = await store.importTar(streamOf(await layerOf('one')), { reference: 'app:1' });
    await store.tag('app:1', 'app:2');
    assert.deepEqual(store.resolveSaveNames(['app:2']).map((i) => i.tags.map((t) => t.tag)), [['2']]);
    assert.deepEqual(store.resolveSaveNames(['app']).map((i) => i.tags.map((t) => t.tag)), [['1', '2']]);
    assert.deepEqual(store.resolveSaveNames([img.id.slice(7, 19)]).map((i) => i.tags), [[]]);
    assert.deepEqual(store.resolveSaveNames([img.id, 'app:1']).map((i) => i.tags.length), [1]);
    assert.throws(() => store.resolveSaveNames(['app:3']), engineError(404, 'reference does not exist'));
    assert.throws(() => store.resolveSaveNames(['nosuch']), engineError(404, 'No such image: nosuch'));
    assert.throws(() => store.resolveSaveNames(['Bad']), engineError(400, /invalid reference format/));
  });

  test('gzip layers are saved compressed with the OCI gzip media type', async () => {
    const l1 = await layerOf('zipped');
    const img = await store.importTar(streamOf(gzipSync(l1)), { reference: 'gz' });
    const entries = await readTar(await save(['gz']));
    const manifest = JSON.parse(entries.get('manifest.json')!.content.toString());
    const layer = entries.get(manifest[0].Layers[0])!.content;
    assert.deepEqual(layer.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
    const index = JSON.parse(entries.get('index.json')!.content.toString());
    const m = JSON.parse(entries.get(`blobs/sha256/${hex(index.manifests[0].digest)}`)!.content.toString());
    assert.equal(m.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal(m.layers[0].digest, sha(layer));
    assert.notEqual(m.layers[0].digest, img.diffIds[0]);
  });

  test('a layer whose tarball is gone is regenerated, but only used when it reproduces the diff id', async () => {
    // a layer tar in layer-tar's own form reproduces exactly (as commit will produce them)
    const dir = path.join(work, 'src');
    await fs.mkdir(path.join(dir, 'etc'), { recursive: true });
    await fs.writeFile(path.join(dir, 'etc/hostname'), 'x\n');
    const canonical = await collect(layerTar(dir));
    const img = await store.importTar(streamOf(canonical), { reference: 'regen' });
    await fs.rm(store.blobPath(store.layerBlob(img.chainIds[0])!.digest));
    const entries = await readTar(await save(['regen']));
    assert.deepEqual(entries.get(`blobs/sha256/${hex(img.diffIds[0])}`)!.content, canonical);

    // an arbitrary tar does not: save refuses with a clear error instead of writing an archive nobody can load
    const other = await store.importTar(streamOf(await layerOf('arbitrary')), { reference: 'noregen' });
    await fs.rm(store.blobPath(store.layerBlob(other.chainIds[0])!.digest));
    await assert.rejects(planSave(store, store.resolveSaveNames(['noregen'])), engineError(500, /its tarball was not kept and its files do not reproduce it/));
  });
});

describe('load', () => {
  test('round trip: save, remove, load keeps id, tags, layers and files', async () => {
    const img = await store.importTar(streamOf(await layerOf('one', [{ name: 'bin/x', content: randomBytes(2 << 20) }])), { reference: 'app:1', changes: ['CMD ["sh"]'] });
    const archive = await save(['app:1']);
    await store.remove('app:1', { containerUsing: () => undefined });
    assert.equal(store.list().length, 0);
    const out: string[] = [];
    const loaded = await loadImages(store, streamOf(archive, 65536), { onOutput: (l) => out.push(l) });
    assert.deepEqual(loaded, [{ id: img.id, tags: ['app:1'] }]);
    assert.deepEqual(out, ['Loaded image: app:1\n']);
    const again = store.get('app:1');
    assert.equal(again.id, img.id);
    assert.deepEqual(again.diffIds, img.diffIds);
    assert.equal((await fs.readFile(path.join(store.layerDirs(again)[0], 'one/file.txt'))).toString(), 'content of one\n');
    assert.ok(events.some((e) => e.action === 'load' && e.id === img.id));
    assert.equal((await fs.readdir(path.join(root, 'tmp'))).length, 0, 'no staging left');
  });

  test('docker\'s legacy layout: layers before the manifest, shared layers, several images, untagged ones', async () => {
    const base = await layerOf('base');
    const top = await layerOf('top');
    const archive = await legacyArchive([
      { layers: [base], tags: ['base:1'] },
      { layers: [base, top], tags: ['app:1', 'app:latest'] },
      { layers: [top] },
    ]);
    const out: string[] = [];
    const loaded = await loadImages(store, streamOf(archive), { onOutput: (l) => out.push(l) });
    assert.equal(loaded.length, 3);
    assert.deepEqual(out, ['Loaded image: base:1\n', 'Loaded image: app:1\n', 'Loaded image: app:latest\n', `Loaded image ID: ${loaded[2].id}\n`]);
    const app = store.get('app:1');
    assert.deepEqual(app.diffIds, [sha(base), sha(top)]);
    assert.equal(store.get('base:1').chainIds[0], app.chainIds[0], 'the base layer is shared');
    // the third image has `top` as its bottom layer: a different chain, same files
    const third = store.get(loaded[2].id);
    assert.equal((await fs.readFile(path.join(store.layerDirs(third)[0], 'top/file.txt'))).toString(), 'content of top\n');
    assert.equal((await fs.readdir(path.join(root, 'tmp'))).length, 0);
  });

  test('Docker 25+ layout (OCI + manifest.json), big layers streamed, loading twice reuses layers', async () => {
    const big = await layerOf('big', [{ name: 'big/data', content: randomBytes(3 << 20) }]);
    const archive = await ociArchive([{ layers: [big], tags: ['big:1'] }], { dockerManifest: true });
    const progress: Record<string, unknown>[] = [];
    await loadImages(store, streamOf(archive, 100_000), { onProgress: (m) => progress.push(m) });
    assert.equal(store.get('big:1').diffIds[0], sha(big));
    const last = progress[progress.length - 1] as { status: string; id: string; progressDetail: { current: number; total: number } };
    assert.equal(last.status, 'Loading layer');
    assert.equal(last.id, hex(sha(big)).slice(0, 12));
    assert.deepEqual([last.progressDetail.current, last.progressDetail.total], [big.length, big.length]);
    const before = await storeFiles();
    const out: string[] = [];
    await loadImages(store, streamOf(archive), { onOutput: (l) => out.push(l) });
    assert.deepEqual(out, ['Loaded image: big:1\n']);
    assert.deepEqual(await storeFiles(), before, 'nothing new was kept');
  });

  test('a plain OCI layout (index.json only), a gzip layer, a compressed archive', async () => {
    const plain = await layerOf('oci');
    const archive = await ociArchive([{ layers: [gzipSync(plain)], uncompressed: [plain], tags: ['oci:1'] }], { layerMediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    await loadImages(store, streamOf(gzipSync(archive)));
    const img = store.get('oci:1');
    assert.deepEqual(img.diffIds, [sha(plain)]);
    // the gzip tarball is what the store kept, so a save gives it back as is
    const entries = await readTar(await save(['oci:1']));
    const manifest = JSON.parse(entries.get('manifest.json')!.content.toString());
    assert.deepEqual(entries.get(manifest[0].Layers[0])!.content.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  });

  test('a tag that moves to the loaded image is announced like docker', async () => {
    await store.importTar(streamOf(await layerOf('old')), { reference: 'app:1' });
    const old = store.get('app:1').id;
    const out: string[] = [];
    await loadImages(store, streamOf(await legacyArchive([{ layers: [await layerOf('new')], tags: ['app:1'] }])), { onOutput: (l) => out.push(l) });
    assert.deepEqual(out, [`The image app:1 already exists, renaming the old one with ID ${old} to empty string\n`, 'Loaded image: app:1\n']);
  });

  test('bad archives fail with docker-style errors and leave the store as it was', async () => {
    await store.importTar(streamOf(await layerOf('keep')), { reference: 'keep:1' });
    const before = await storeFiles();
    const check = async (archive: Buffer, status: number, message: string | RegExp) => {
      await assert.rejects(loadImages(store, streamOf(archive)), engineError(status, message));
      assert.deepEqual(await storeFiles(), before);
      assert.equal((await fs.readdir(path.join(root, 'tmp'))).length, 0, 'no staging left');
    };
    const big = await layerOf('big', [{ name: 'big/data', content: randomBytes(2 << 20) }]);
    const good = await legacyArchive([{ layers: [big], tags: ['big:1'] }]);

    await check(Buffer.from('this is not a tar archive at all'.repeat(100)), 400, /^Error processing tar file: /);
    await check(good.subarray(0, 1_500_000), 400, 'Error processing tar file: unexpected EOF');
    await check(good.subarray(0, good.length - 3000), 400, /^Error processing tar file: unexpected EOF|^open manifest.json: no such file or directory$/);
    await check(await makeTar([{ name: 'x/layer.tar', content: big }]), 400, 'open manifest.json: no such file or directory');
    await check(Buffer.alloc(0), 400, /^Error processing tar file|^open manifest.json/);

    // a layer whose content does not match the config's diff id
    const wrong = await legacyArchive([{ layers: [big], tags: ['big:1'], config: { rootfs: { type: 'layers', diff_ids: [sha('something else')] } } }]);
    await check(wrong, 400, `invalid diffID for layer 0: expected "${sha('something else')}", got "${sha(big)}"`);

    // manifest problems
    await check(await makeTar([{ name: 'manifest.json', content: 'null' }]), 400, 'invalid manifest, manifest cannot be null (but can be [])');
    await check(await makeTar([{ name: 'manifest.json', content: '[{"Config":"c.json","Layers":[]}]' }]), 400, 'open c.json: no such file or directory');
    const config = configOf({ layers: [big] });
    await check(await makeTar([
      { name: 'c.json', content: config },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar', 'b/layer.tar'], RepoTags: ['x:1'] }]) },
    ]), 400, 'invalid manifest, layers length mismatch: expected 2, got 1');
    await check(await makeTar([
      { name: 'c.json', content: config },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar'], RepoTags: ['x:1'] }]) },
    ]), 400, 'open a/layer.tar: no such file or directory');
    await check(await makeTar([
      { name: 'c.json', content: config }, { name: 'a/layer.tar', content: big },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar'], RepoTags: ['x'] }]) },
    ]), 400, 'invalid tag "x"');
    await check(await makeTar([
      { name: 'c.json', content: configOf({ layers: [big], config: { os: 'windows' } }) }, { name: 'a/layer.tar', content: big },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar'] }]) },
    ]), 400, 'cannot load windows image on linux');
    // an OCI blob that does not match its name
    const tampered = await ociArchive([{ layers: [big], tags: ['t:1'] }]);
    const entries = await readTar(tampered);
    const rebuilt = await makeTar([...entries].map(([name, e]) => ({
      name, type: e.header.type === 'directory' ? 'directory' as const : 'file' as const,
      content: name === `blobs/sha256/${hex(sha(big))}` ? Buffer.concat([big.subarray(0, big.length - 1024), Buffer.alloc(1024, 1)]) : e.content,
    })));
    await check(rebuilt, 400, /digest mismatch|invalid tar archive|invalid archive/);
    assert.deepEqual(store.list().map((i) => i.repoTags), [['keep:1']]);
  });

  test('several big layers are staged side by side; a broken one fails the load and nothing stays behind', async () => {
    const layers = await Promise.all(['a', 'b', 'c'].map((n) => layerOf(n, [{ name: `${n}/data`, content: randomBytes((2 << 20) + 1000) }])));
    await loadImages(store, streamOf(await ociArchive([{ layers, tags: ['three:1'] }], { dockerManifest: true }), 16384));
    const img = store.get('three:1');
    assert.deepEqual(img.diffIds, layers.map((l) => sha(l)));
    for (const [i, n] of ['a', 'b', 'c'].entries()) {
      assert.equal((await fs.stat(path.join(store.layerDirs(img)[2 - i], `${n}/data`))).size, (2 << 20) + 1000);
    }
    const before = await storeFiles();
    const garbage = randomBytes(3 << 20);
    garbage[0] = 0x42; // neither JSON nor a compression magic: taken for a layer, and it is not a tar
    const broken = await legacyArchive([{ layers: [await layerOf('x', [{ name: 'x/big', content: randomBytes(2 << 20) }]), garbage, await layerOf('y', [{ name: 'y/big', content: randomBytes(2 << 20) }])], tags: ['broken:1'] }]);
    await assert.rejects(loadImages(store, streamOf(broken, 16384)), engineError(400, /invalid tar archive/));
    assert.deepEqual(await storeFiles(), before);
    assert.deepEqual(await fs.readdir(path.join(root, 'tmp')), []);
  });

  test('coalescing joins small chunks and passes big ones through', async () => {
    const chunks = [Buffer.alloc(10, 1), Buffer.alloc(10, 2), Buffer.alloc(30, 3), Buffer.alloc(5, 4)];
    const out: Buffer[] = [];
    for await (const c of coalesce((async function* () { yield* chunks; })(), 25)) out.push(Buffer.from(c));
    assert.deepEqual(out.map((b) => b.length), [50, 5]);
    assert.deepEqual(Buffer.concat(out), Buffer.concat(chunks));
  });

  test('entry names are confined to the archive', () => {
    assert.equal(normalize('./manifest.json'), 'manifest.json');
    assert.equal(normalize('/a//b/'), 'a/b');
    assert.equal(normalize('../../etc/passwd'), 'etc/passwd');
    assert.equal(normalize('./'), undefined);
  });

  test('progress bars look like docker\'s', () => {
    assert.equal(progressBar(32768, 2140160), '[>                                                  ]  32.77kB/2.14MB');
    assert.equal(progressBar(2140160, 2140160), '[==================================================>]   2.14MB/2.14MB');
  });
});
