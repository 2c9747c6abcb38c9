// The cp/export tar writer (TarPacker): docker's entry names for the archive's top ("d", ".", "/", none for
// export), order, hard links, symlinks, devices, owners, modes and times; through the pack worker too; and a
// round trip through the extractor that keeps modes, owners, mtimes and links.
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { TarPacker, PackSpec } from '../../src/storage/archive-pack';
import { packTree, packSingle, stopPackWorkers } from '../../src/storage/archive-stream';
import { resolveInView } from '../../src/storage/archive-path';
import { Extractor } from '../../src/storage/archive-extract';
import { TarHeader, TarReader } from '../../src/storage/tar-reader';
import { isRoot, tempDir } from './storage-fixtures';

interface Got { h: TarHeader; content: Buffer }

function parse(tar: Buffer): Got[] {
  const out: Got[] = [];
  let cur: Got | undefined;
  const r = new TarReader({
    entry: (h) => { cur = { h, content: Buffer.alloc(0) }; out.push(cur); },
    data: (b) => { cur!.content = Buffer.concat([cur!.content, b]); },
    entryEnd: () => undefined,
  });
  r.push(tar);
  r.end();
  assert.ok(r.done, 'the archive ends with its end-of-archive marker');
  return out;
}

/** Packs with small buffers, to cross every boundary. */
function pack(spec: PackSpec, size = 777): Buffer {
  const p = new TarPacker(spec);
  const parts: Buffer[] = [];
  for (;;) {
    const b = Buffer.alloc(size);
    const n = p.fill(b);
    if (n === 0) break;
    parts.push(b.subarray(0, n));
  }
  return Buffer.concat(parts);
}

let sandbox: string;
let root: string;

before(async () => {
  sandbox = await tempDir('berth-archive-tar-');
  root = path.join(sandbox, 'root');
  await fs.mkdir(path.join(root, 'd/sub'), { recursive: true });
  await fs.writeFile(path.join(root, 'd/f'), 'hi\n');
  await fs.chmod(path.join(root, 'd/f'), 0o750);
  if (isRoot) await fs.chown(path.join(root, 'd/f'), 1234, 5678);
  await fs.writeFile(path.join(root, 'd/sub/big'), Buffer.alloc(100_000, 7));
  await fs.link(path.join(root, 'd/f'), path.join(root, 'd/hard'));
  await fs.symlink('/etc', path.join(root, 'd/lnk'));
  await fs.symlink('f', path.join(root, 'd/rel'));
  await fs.utimes(path.join(root, 'd/f'), 1_600_000_000, 1_600_000_000);
  await fs.writeFile(path.join(root, 'd/ä ü'), 'utf8 name');
  execFileSync('mkfifo', [path.join(root, 'd/fifo')]);
});
after(async () => {
  await stopPackWorkers();
  await fs.rm(sandbox, { recursive: true, force: true });
});

describe('TarPacker', () => {
  test('a directory under its docker name, children in byte order, hard links as links', () => {
    const got = parse(pack({ view: { root }, rel: 'd', rootName: 'd' }));
    assert.deepEqual(got.map((g) => `${g.h.type} ${g.h.name}${g.h.linkname ? ' -> ' + g.h.linkname : ''}`), [
      'directory d/', 'file d/f', 'fifo d/fifo', 'link d/hard -> d/f', 'symlink d/lnk -> /etc', 'symlink d/rel -> f',
      'directory d/sub/', 'file d/sub/big', 'file d/ä ü',
    ]);
    const f = got.find((g) => g.h.name === 'd/f')!;
    assert.equal(f.content.toString(), 'hi\n');
    assert.equal(f.h.mode, 0o750);
    assert.equal(f.h.mtimeSec, 1_600_000_000);
    if (isRoot) assert.deepEqual([f.h.uid, f.h.gid], [1234, 5678]);
    assert.equal(got.find((g) => g.h.name === 'd/sub/big')!.content.length, 100_000);
  });

  test('rebase names: "." for contents, another name for a renamed copy, "/" for the root', () => {
    assert.deepEqual(parse(pack({ view: { root }, rel: 'd', rootName: '.' })).slice(0, 3).map((g) => g.h.name), ['./', './f', './fifo']);
    assert.deepEqual(parse(pack({ view: { root }, rel: 'd', rootName: 'newname' })).slice(0, 2).map((g) => g.h.name), ['newname/', 'newname/f']);
    assert.deepEqual(parse(pack({ view: { root: path.join(root, 'd') }, rel: '', rootName: '.' })).slice(0, 2).map((g) => g.h.name), ['./', './f']);
    assert.deepEqual(parse(pack({ view: { root }, rel: '', rootName: '/' })).slice(0, 3).map((g) => g.h.name), ['/', '/d/', '/d/f']);
  });

  test('a single file or symlink is one entry; export has no top entry', () => {
    assert.deepEqual(parse(pack({ view: { root }, rel: 'd/f', rootName: 'f' })).map((g) => g.h.name), ['f']);
    const link = parse(pack({ view: { root }, rel: 'd/lnk', rootName: 'lnk' }));
    assert.deepEqual(link.map((g) => [g.h.type, g.h.linkname]), [['symlink', '/etc']]);
    const exp = parse(pack({ view: { root }, rel: '' }));
    assert.equal(exp[0].h.name, 'd/');
    assert.ok(exp.every((g) => !g.h.name.startsWith('/') && g.h.name !== './'));
  });

  test('never follows a symlink on the way to what it archives', () => {
    assert.throws(() => pack({ view: { root }, rel: 'd/lnk/passwd', rootName: 'x' }), /not a directory|too many levels/);
  });

  test('mounts: a mounted directory is walked from its source', async () => {
    const vol = path.join(sandbox, 'vol');
    await fs.mkdir(vol, { recursive: true });
    await fs.writeFile(path.join(vol, 'inside-volume'), 'v');
    await fs.mkdir(path.join(root, 'd/sub/mnt'), { recursive: true });
    try {
      const names = parse(pack({ view: { root, mounts: [{ destination: '/d/sub/mnt', source: vol }] }, rel: 'd', rootName: 'd' })).map((g) => g.h.name);
      assert.ok(names.includes('d/sub/mnt/inside-volume'), names.join(' '));
    } finally {
      await fs.rmdir(path.join(root, 'd/sub/mnt'));
    }
  });
});

describe('pack worker and single entries', () => {
  test('packTree in the worker gives the same bytes as TarPacker', async () => {
    const parts: Buffer[] = [];
    const result = await packTree({ view: { root }, rel: 'd', rootName: 'd' }, async (b) => { parts.push(Buffer.from(b)); });
    assert.deepEqual(Buffer.concat(parts), pack({ view: { root }, rel: 'd', rootName: 'd' }, 4096));
    assert.equal(result.entries, 9);
  });

  test('a failing writer stops the worker and rejects', async () => {
    let n = 0;
    await assert.rejects(packTree({ view: { root }, rel: '', rootName: '/' }, async () => { if (++n === 1) throw new Error('socket closed'); }), /socket closed/);
    // and the pool still works
    const ok = await packTree({ view: { root }, rel: 'd/sub', rootName: 'sub' }, async () => undefined);
    assert.equal(ok.entries, 2);
  });

  test('an aborted signal ends the job', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(packTree({ view: { root }, rel: '', rootName: '/' }, async () => undefined, ac.signal), /went away|aborted/);
  });

  test('packSingle writes one file with its content', async () => {
    const r = await resolveInView({ root }, '/d/f', 'parents');
    const parts: Buffer[] = [];
    await packSingle(r, 'f', '/d/f', async (b) => { parts.push(Buffer.from(b)); });
    await r.close();
    const got = parse(Buffer.concat(parts));
    assert.deepEqual(got.map((g) => [g.h.name, g.content.toString(), g.h.mode]), [['f', 'hi\n', 0o750]]);
  });
});

describe('round trip', () => {
  test('pack then extract keeps modes, owners, mtimes, symlinks and hard links', async () => {
    const dst = path.join(sandbox, 'copy');
    await fs.mkdir(dst);
    const ex = new Extractor({ view: { root: dst }, dest: '', destShown: dst, rootShown: dst, noOverwriteDirNonDir: true },
      { futimens: (fd, _s, sec, nsec) => require('fs').futimesSync(fd, sec + nsec / 1e9, sec + nsec / 1e9), lutimens: (p, s, n) => require('fs').lutimesSync(p, s + n / 1e9, s + n / 1e9), mknod: (p, kind) => { if (kind === 'p') execFileSync('mkfifo', [p.replace('/proc/self/', `/proc/${process.pid}/`)]); } });
    const reader = new TarReader(ex);
    reader.push(pack({ view: { root }, rel: 'd', rootName: 'd' }));
    reader.end();
    ex.finish();
    const a = await fs.lstat(path.join(root, 'd/f'));
    const b = await fs.lstat(path.join(dst, 'd/f'));
    assert.equal(b.mode, a.mode);
    assert.equal(b.mtimeMs, a.mtimeMs);
    assert.deepEqual([b.uid, b.gid], [a.uid, a.gid]);
    assert.equal((await fs.lstat(path.join(dst, 'd/hard'))).ino, b.ino);
    assert.equal(await fs.readlink(path.join(dst, 'd/lnk')), '/etc');
    assert.ok((await fs.lstat(path.join(dst, 'd/fifo'))).isFIFO());
    assert.equal((await fs.readFile(path.join(dst, 'd/sub/big'))).length, 100_000);
    assert.equal((await fs.stat(path.join(dst, 'd/sub'))).mtimeMs, (await fs.stat(path.join(root, 'd/sub'))).mtimeMs - ((await fs.stat(path.join(root, 'd/sub'))).mtimeMs % 1000));
  });
});
