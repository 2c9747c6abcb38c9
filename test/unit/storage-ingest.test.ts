// ingestLayer and the unpack worker: blob kept as received, diff id over the whole tar, compression detected,
// layers unpacked at once; and on every kind of failure (archive, file system, source) an error that says what
// happened, no blob kept, no file descriptor left open, nothing written outside the target.
import { test, describe, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs, readdirSync } from 'fs';
import * as path from 'path';
import { EngineError } from '../../src/common/errors';
import { BlobStore } from '../../src/storage/blobs';
import { ingestLayer } from '../../src/storage/ingest';
import { stopUnpackWorkers, unpackLayer, warmUnpackWorkers } from '../../src/storage/unpack';
import { END_OF_ARCHIVE, fileEntry, gzip, makeTar, paxEntry, snapshot, streamOf, tempDir } from './storage-fixtures';

let sandbox: string;
let blobs: BlobStore;
let outside: string;
let before: string[];
let fdsBefore: number;

const openFds = () => readdirSync('/proc/self/fd').length;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeEach(async () => {
  sandbox = await tempDir('berth-ingest-');
  blobs = new BlobStore(path.join(sandbox, 'store'), path.join(sandbox, 'store/tmp'));
  await fs.mkdir(path.join(sandbox, 'store/tmp'), { recursive: true });
  await blobs.init();
  outside = path.join(sandbox, 'outside');
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'secret'), 'do not touch');
  before = await snapshot(outside);
  await stopUnpackWorkers();
  fdsBefore = openFds();
});

afterEach(async () => {
  try {
    assert.deepEqual(await snapshot(outside), before, 'something outside the layer root changed');
    assert.deepEqual(await fs.readdir(path.join(sandbox, 'store/tmp')), [], 'a blob temp file was left behind');
    await stopUnpackWorkers(); // a warm worker holds its event loop's descriptors
    assert.equal(openFds(), fdsBefore, 'file descriptors leaked');
  } finally {
    await fs.rm(sandbox, { recursive: true, force: true });
  }
});

async function target(name = 'diff'): Promise<string> {
  const dir = path.join(sandbox, name);
  await fs.mkdir(dir);
  return dir;
}

const storedBlobs = () => fs.readdir(path.join(sandbox, 'store/blobs/sha256'));

async function rejectsWith(p: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('ingest', () => {
  test('gzip: blob as received, diff id over the whole tar (trailing bytes too), media type', async () => {
    const tar = Buffer.concat([await makeTar([{ name: 'a/b', content: 'hello' }]), Buffer.from('trailing bytes after the end marker')]);
    const gz = gzip(tar);
    const r = await ingestLayer(streamOf(gz, 1000), await target(), blobs);
    assert.equal(r.diffId, sha256(tar));
    assert.deepEqual(r.blob, { digest: sha256(gz), size: gz.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    assert.deepEqual(await fs.readFile(blobs.path(r.blob.digest)), gz);
    assert.deepEqual([r.size, r.entries], [5, 1]);
    assert.equal(await fs.readFile(path.join(sandbox, 'diff/a/b'), 'utf8'), 'hello');
  });

  test('plain and zstd input', async () => {
    const tar = await makeTar([{ name: 'f', content: 'x'.repeat(300_000) }]);
    const plain = await ingestLayer(streamOf(tar), await target('plain'), blobs);
    assert.equal(plain.diffId, sha256(tar));
    assert.equal(plain.blob.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const z = await ingestLayer(streamOf(zst), await target('zstd'), blobs);
    assert.equal(z.diffId, sha256(tar));
    assert.equal(z.blob.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    assert.equal((await fs.stat(path.join(sandbox, 'zstd/f'))).size, 300_000);
  });

  test('three layers at once, each with many entries', async () => {
    const layers = await Promise.all([0, 1, 2].map((i) => makeTar(Array.from({ length: 300 }, (_, j) => ({ name: `l${i}/d${j % 10}/f${j}`, content: `${i}:${j}`.repeat(j) })))));
    const results = await Promise.all(layers.map(async (tar, i) => ingestLayer(streamOf(gzip(tar), 4096), await target(`t${i}`), blobs)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.diffId, sha256(layers[i]));
      assert.equal(r.entries, 300);
      assert.equal(await fs.readFile(path.join(sandbox, `t${i}/l${i}/d7/f297`), 'utf8'), `${i}:297`.repeat(297));
    }
  });

  test('warm workers are reused, after failures too, and more jobs than warm workers run at once', async () => {
    warmUnpackWorkers();
    await rejectsWith(unpackLayer([Buffer.alloc(2048, 0x41)], await target('bad1')), 400, /invalid tar archive/);
    await rejectsWith(unpackLayer([fileEntry('../x', 'x')], await target('bad2')), 400, /path escapes/);
    const tars = await Promise.all([0, 1, 2, 3, 4].map((i) => makeTar([{ name: `f${i}`, content: `layer ${i}` }])));
    const results = await Promise.all(tars.map(async (tar, i) => unpackLayer(streamOf(tar, 100), await target(`ok${i}`))));
    for (const [i, r] of results.entries()) {
      assert.deepEqual(r, { size: `layer ${i}`.length, entries: 1 });
      assert.equal(await fs.readFile(path.join(sandbox, `ok${i}/f${i}`), 'utf8'), `layer ${i}`);
    }
  });

  test('a digest mismatch keeps no blob', async () => {
    const gz = gzip(await makeTar([{ name: 'f', content: 'x' }]));
    await rejectsWith(ingestLayer(streamOf(gz), await target(), blobs, { expectedDigest: `sha256:${'0'.repeat(64)}` }), 400, /digest mismatch/);
    assert.deepEqual(await storedBlobs(), []);
  });
});

describe('ingest through the zlib stream API (BERTH_GUNZIP_STREAM=1, the fallback when Node\'s internals change)', () => {
  beforeEach(() => { process.env.BERTH_GUNZIP_STREAM = '1'; });
  afterEach(() => { delete process.env.BERTH_GUNZIP_STREAM; });

  test('same results; bad data still a 400', async () => {
    await stopUnpackWorkers(); // workers copy the environment when they start
    const tar = await makeTar(Array.from({ length: 50 }, (_, i) => ({ name: `d/f${i}`, content: Buffer.alloc(40_000 * i, i) })));
    const gz = gzip(tar);
    const r = await ingestLayer(streamOf(gz, 30_000), await target(), blobs);
    assert.equal(r.diffId, sha256(tar));
    assert.equal((await fs.stat(path.join(sandbox, 'diff/d/f49'))).size, 40_000 * 49);
    await rejectsWith(ingestLayer(streamOf(gz.subarray(0, gz.length - 10)), await target('t2'), blobs), 400, /invalid gzip data: unexpected end of file/);
  });
});

describe('ingest failures', () => {
  test('bad zstd data is a 400', async () => {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: await makeTar([{ name: 'f', content: 'x'.repeat(100_000) }]) });
    await rejectsWith(ingestLayer(streamOf(zst.subarray(0, zst.length - 20)), await target(), blobs), 400, /invalid zstd data/);
    assert.deepEqual(await storedBlobs(), []);
  });

  test('bad gzip data is a 400', async () => {
    const gz = gzip(await makeTar([{ name: 'f', content: 'x'.repeat(10_000) }]));
    gz[gz.length - 5] ^= 0xff; // breaks the CRC/length trailer
    await rejectsWith(ingestLayer(streamOf(gz), await target(), blobs), 400, /invalid gzip data/);
    assert.deepEqual(await storedBlobs(), []);
  });

  test('a hostile gzip layer is refused and writes nothing outside', async () => {
    const tar = await makeTar([
      { name: 'ok', content: 'fine' },
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/secret', content: 'pwned' },
      { name: '../outside/secret', content: 'pwned' },
    ]);
    await rejectsWith(ingestLayer(streamOf(gzip(tar)), await target(), blobs), 400, /path escapes the layer root/);
    assert.deepEqual(await storedBlobs(), []);
    assert.equal(await fs.readFile(path.join(sandbox, 'diff', outside, 'secret'), 'utf8'), 'pwned', 'confined, inside the target');
  });

  test('a file system error is a 500 and stops the unpack', async () => {
    const tar = Buffer.concat([
      fileEntry('first', 'x'.repeat(100_000)),
      paxEntry({ path: `dir/${'n'.repeat(300)}` }), // ENAMETOOLONG
      fileEntry('placeholder', 'y'.repeat(50_000)),
      END_OF_ARCHIVE,
    ]);
    await rejectsWith(ingestLayer(streamOf(gzip(tar)), await target(), blobs), 500, /unpacking layer: ENAMETOOLONG/);
    assert.deepEqual(await storedBlobs(), []);
  });

  test('a source failing while a file is half written: its own error, the file closed, no blob', async () => {
    const tar = fileEntry('big', Buffer.alloc(4 << 20, 7));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield tar.subarray(0, 1_500_000); // more than the batches the worker gets its input in
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the worker open the file and write
      throw new Error('client went away');
    }
    await assert.rejects(ingestLayer(failing(), await target(), blobs), /client went away/);
    assert.deepEqual(await storedBlobs(), []);
    assert.ok((await fs.stat(path.join(sandbox, 'diff/big'))).size > 0, 'the worker had started on the file');
  });

  test('a target that is not empty is refused', async () => {
    const dir = await target();
    await fs.writeFile(path.join(dir, 'x'), 'x');
    await rejectsWith(unpackLayer([await makeTar([{ name: 'f', content: 'x' }])], dir), 500, /is not empty/);
  });

  test('a missing target is a 500, not a crash', async () => {
    await rejectsWith(unpackLayer([await makeTar([{ name: 'f', content: 'x' }])], path.join(sandbox, 'nope')), 500, /ENOENT/);
  });
});
