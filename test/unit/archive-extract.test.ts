// Extraction into an existing directory with docker's cp rules (archive-extract.ts): replace what is there
// unless a directory meets a directory, noOverwriteDirNonDir, "./" changes nothing, owners/modes/mtimes kept,
// one owner for all (copyUIDGID), mounts (busy mount points, read-only mounts) — and hostile archives: names,
// symlinks and hard links that climb out, symlinks planted in the archive or already in the target. After
// every test the tree outside the view must be exactly as before.
import { test, describe, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs, futimesSync, lutimesSync } from 'fs';
import * as path from 'path';
import { EngineError } from '../../src/common/errors';
import { Extractor, ExtractSpec } from '../../src/storage/archive-extract';
import { unpackStream } from '../../src/storage/unpack';
import { TarReader } from '../../src/storage/tar-reader';
import { gzip, isRoot, makeTar, snapshot, streamOf, tempDir, TarEntry } from './storage-fixtures';

let sandbox: string;
let root: string;
let outside: string;
let before: string[];

beforeEach(async () => {
  sandbox = await tempDir('berth-archive-extract-');
  root = path.join(sandbox, 'root');
  outside = path.join(sandbox, 'outside');
  await fs.mkdir(path.join(root, 'd/sub'), { recursive: true });
  await fs.writeFile(path.join(root, 'd/f'), 'old');
  await fs.mkdir(path.join(outside, 'etc'), { recursive: true });
  await fs.writeFile(path.join(outside, 'secret'), 'do not touch');
  await fs.chmod(path.join(outside, 'secret'), 0o600);
  await fs.writeFile(path.join(outside, 'etc', 'passwd'), 'root:x:0:0');
  before = await snapshot(outside);
});

afterEach(async () => {
  assert.deepEqual(await snapshot(outside), before, 'something outside the view changed');
  await fs.rm(sandbox, { recursive: true, force: true });
});

const SYS = {
  futimens: (fd: number, _s: string, sec: number, nsec: number) => futimesSync(fd, sec + nsec / 1e9, sec + nsec / 1e9),
  lutimens: (p: string, sec: number, nsec: number) => lutimesSync(p, sec + nsec / 1e9, sec + nsec / 1e9),
};

function spec(dest: string, extra: Partial<ExtractSpec> = {}): ExtractSpec {
  return { view: { root }, dest, destShown: '/' + dest, noOverwriteDirNonDir: false, ...extra };
}

/** Extracts synchronously in this thread (the CLI's way). */
async function extract(entries: TarEntry[], s: ExtractSpec): Promise<void> {
  const tar = await makeTar(entries);
  const ex = new Extractor(s, SYS);
  const r = new TarReader(ex);
  try {
    r.push(tar);
    r.end();
    ex.finish();
  } catch (err) {
    ex.abort();
    throw err;
  }
}

async function fails(entries: TarEntry[], s: ExtractSpec, status: number, message: RegExp | string): Promise<void> {
  await assert.rejects(extract(entries, s), (err: unknown) => {
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.status, status, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const read = (p: string) => fs.readFile(path.join(root, p), 'utf8');
const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

describe('docker\'s rules', () => {
  test('files replace files, directories merge, attributes are the archive\'s', async () => {
    await extract([
      { name: 'f', content: 'new', mode: 0o4750, uid: 1234, gid: 5678, mtime: new Date('2021-02-03T04:05:06Z') },
      { name: 'sub/', type: 'directory', mode: 0o700, mtime: new Date('2019-01-01T00:00:00Z') },
      { name: 'sub/x', content: 'x' },
      { name: 'new/deep/file', content: 'parents made' },
    ], spec('d'));
    assert.equal(await read('d/f'), 'new');
    const st = await fs.stat(path.join(root, 'd/f'));
    assert.equal(st.mode & 0o7777, 0o4750);
    assert.equal(st.mtimeMs, Date.parse('2021-02-03T04:05:06Z'));
    if (isRoot) assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    const sub = await fs.stat(path.join(root, 'd/sub'));
    assert.equal(sub.mode & 0o777, 0o700);
    assert.equal(sub.mtimeMs, Date.parse('2019-01-01T00:00:00Z')); // set after its children were created
    assert.equal(await read('d/new/deep/file'), 'parents made');
    assert.equal((await fs.stat(path.join(root, 'd/new'))).mode & 0o777, 0o755);
  });

  test('"./" is the target itself and changes nothing; absolute names are relative to the target', async () => {
    const st = await fs.stat(path.join(root, 'd'));
    await extract([{ name: './', type: 'directory', mode: 0o700, uid: 99 }, { name: '/abs/x', content: 'a' }], spec('d'));
    const after = await fs.stat(path.join(root, 'd'));
    assert.equal(after.mode, st.mode);
    assert.equal(after.uid, st.uid);
    assert.equal(await read('d/abs/x'), 'a');
  });

  test('noOverwriteDirNonDir refuses both replacements with docker\'s texts (409)', async () => {
    const s = spec('d', { noOverwriteDirNonDir: true });
    await fails([{ name: 'f/', type: 'directory' }], s, 409, 'cannot overwrite non-directory "/d/f" with directory "/d"');
    await fails([{ name: 'sub', content: 'x' }], s, 409, 'cannot overwrite directory "/d/sub" with non-directory "/d"');
    // without it, either side replaces the other
    await extract([{ name: 'f/', type: 'directory' }, { name: 'sub', content: 'now a file' }], spec('d'));
    assert.ok((await fs.lstat(path.join(root, 'd/f'))).isDirectory());
    assert.equal(await read('d/sub'), 'now a file');
  });

  test('copyUIDGID: one owner for every entry', { skip: !isRoot && 'needs root' }, async () => {
    await extract([{ name: 'a', content: 'a', uid: 1 }, { name: 'b/', type: 'directory', uid: 2 }, { name: 'c', type: 'symlink', linkname: 'a', uid: 3 }],
      spec('d', { chown: { uid: 4321, gid: 8765 } }));
    for (const p of ['d/a', 'd/b', 'd/c']) {
      const st = await fs.lstat(path.join(root, p));
      assert.deepEqual([st.uid, st.gid], [4321, 8765], p);
    }
  });

  test('hard links inside the archive, to files already there too', async () => {
    await extract([{ name: 'one', content: '1' }, { name: 'two', type: 'link', linkname: 'one' }, { name: 'three', type: 'link', linkname: 'f' }], spec('d'));
    const one = await fs.stat(path.join(root, 'd/one'));
    assert.equal((await fs.stat(path.join(root, 'd/two'))).ino, one.ino);
    assert.equal(await read('d/three'), 'old');
  });

  test('mounts: inside one the source is written, its mount point is busy, a read-only one refuses', async () => {
    const vol = path.join(sandbox, 'vol');
    const hosts = path.join(sandbox, 'hosts');
    await fs.mkdir(vol);
    await fs.writeFile(hosts, 'h');
    await fs.mkdir(path.join(root, 'etc'));
    const mounts = [{ destination: '/data', source: vol }, { destination: '/etc/hosts', source: hosts }, { destination: '/ro', source: vol, readOnly: true }];
    await extract([{ name: 'data/x', content: 'in the volume' }], spec('', { view: { root, mounts } }));
    assert.equal(await fs.readFile(path.join(vol, 'x'), 'utf8'), 'in the volume');
    assert.ok(!(await exists(path.join(root, 'data/x'))));
    await fails([{ name: 'etc/hosts', content: 'x' }], spec('', { view: { root, mounts } }), 500, 'unlinkat /etc/hosts: device or resource busy');
    await fails([{ name: 'ro/y', content: 'x' }], spec('', { view: { root, mounts } }), 400, 'open /ro/y: read-only file system');
  });

  test('through the unpack worker, gzip-compressed as docker accepts', async () => {
    const tar = gzip(await makeTar([{ name: 'z/', type: 'directory' }, { name: 'z/w', content: 'via worker' }]));
    const r = await unpackStream(streamOf(tar), root, { decompress: true, extract: spec('d') });
    assert.equal(r.entries, 2);
    assert.equal(await read('d/z/w'), 'via worker');
    await assert.rejects(unpackStream(streamOf(await makeTar([{ name: '../../x', content: 'x' }])), root, { extract: spec('d') }), /is outside of/);
  });
});

describe('hostile archives stay inside', () => {
  test('names that climb out are refused with docker\'s message', async () => {
    await fails([{ name: '../evil', content: 'x' }], spec('d'), 400, '"../evil" is outside of "/d"');
    await fails([{ name: 'a/../../../evil', content: 'x' }], spec('d'), 400, /is outside of/);
    await fails([{ name: '..', type: 'directory' }], spec(''), 400, /is outside of/);
  });

  test('a symlink to / planted by the archive leads to the view\'s root, not the host\'s', async () => {
    await extract([{ name: 'esc', type: 'symlink', linkname: '/' }, { name: 'esc/pwned', content: 'x' }], spec(''));
    assert.equal(await read('pwned'), 'x');
    await extract([{ name: 'host', type: 'symlink', linkname: outside }, { name: 'host/secret', content: 'x' }], spec(''));
    assert.equal(await read(path.join(outside.slice(1), 'secret')), 'x'); // <root>/<outside path>
  });

  test('symlinks and hard links whose targets climb out of the target are refused (docker\'s check)', async () => {
    await fails([{ name: 'up', type: 'symlink', linkname: '../../../outside' }], spec('d'), 400, 'invalid symlink "/d/up" -> "../../../outside"');
    await fails([{ name: 'hl', type: 'link', linkname: '../outside/secret' }], spec('d'), 400, 'invalid hardlink "/outside/secret" -> "../outside/secret"');
    // an absolute hard-link target is relative to the target directory: nothing there
    await fails([{ name: 'hl', type: 'link', linkname: outside + '/secret' }], spec('d'), 500, /no such file or directory/);
  });

  test('symlinks already in the target resolve inside the view', async () => {
    await fs.symlink(outside, path.join(root, 'd/out'));
    await fs.symlink('../../../../../../../..' + outside, path.join(root, 'd/up'));
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'd/secretlink'));
    await extract([
      { name: 'out/secret', content: 'x' }, { name: 'up/etc/passwd', content: 'x' },
      // a file over a symlink replaces the link, never writes through it
      { name: 'secretlink', content: 'replaced the link' },
    ], spec('d'));
    assert.equal(await read(path.join(outside.slice(1), 'secret')), 'x');
    assert.equal(await read(path.join(outside.slice(1), 'etc/passwd')), 'x');
    assert.equal(await read('d/secretlink'), 'replaced the link');
  });

  test('a symlink loop in the archive is an error, not a hang', async () => {
    await fails([{ name: 'loop', type: 'symlink', linkname: 'loop' }, { name: 'loop/x', content: 'x' }], spec('d'), 500, 'open /d/loop: too many levels of symbolic links');
  });

  test('a hard link to a symlink links the symlink, and no mode goes through it', async () => {
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'd/tosecret'));
    await extract([{ name: 'hl', type: 'link', linkname: 'tosecret', mode: 0o777 }], spec('d'));
    assert.ok((await fs.lstat(path.join(root, 'd/hl'))).isSymbolicLink());
  });

  test('the extraction point itself may be reached through a symlink inside the view', async () => {
    await fs.symlink('/d/sub', path.join(root, 'd/tosub'));
    await extract([{ name: 'tosub/x', content: 'via link' }], spec('d'));
    assert.equal(await read('d/sub/x'), 'via link');
  });

  test('devices are created only as nodes, never opened', { skip: !isRoot && 'needs root' }, async () => {
    const { mknodSync } = await import('../../src/storage/special-files');
    const ex = new Extractor(spec('d'), { ...SYS, mknod: mknodSync });
    const r = new TarReader(ex);
    r.push(await makeTar([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 }]));
    r.end();
    ex.finish();
    const st = await fs.lstat(path.join(root, 'd/null'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.mode & 0o777, 0o666);
  });

  test('no descriptor is left open, after success or failure', async () => {
    const count = async () => (await fs.readdir('/proc/self/fd')).length;
    const n = await count();
    for (let i = 0; i < 10; i++) {
      await extract([{ name: `a${i}/b/c`, content: 'x' }], spec('d'));
      await extract([{ name: 'f', content: 'y' }], spec('d', { noOverwriteDirNonDir: true }));
      await assert.rejects(extract([{ name: 'sub', content: 'x' }], spec('d', { noOverwriteDirNonDir: true })));
    }
    assert.equal(await count(), n);
  });
});
