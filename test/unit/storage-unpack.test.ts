// Layer unpacking: attributes kept, whiteouts converted, and — above all — hostile archives never write outside
// the target. Each hostile case snapshots a sibling "outside" tree before and after.
import { test, describe, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { EngineError } from '../../src/common/errors';
import { unpackLayer } from '../../src/storage/unpack';
import { ffiStatus } from '../../src/storage/special-files';
import { END_OF_ARCHIVE, fileEntry, isRoot, makeTar, paxEntry, rawHeader, snapshot, streamOf, tempDir, TarEntry } from './storage-fixtures';

let sandbox: string;
let root: string;
let outside: string;
let before: string[];

beforeEach(async () => {
  sandbox = await tempDir();
  root = path.join(sandbox, 'root');
  outside = path.join(sandbox, 'outside');
  await fs.mkdir(root);
  await fs.mkdir(path.join(outside, 'etc'), { recursive: true });
  await fs.writeFile(path.join(outside, 'secret'), 'do not touch');
  await fs.writeFile(path.join(outside, 'etc', 'passwd'), 'root:x:0:0');
  before = await snapshot(outside);
});

afterEach(async () => {
  // The invariant of every test: the outside tree and the sandbox's other entries are untouched.
  assert.deepEqual(await snapshot(outside), before, 'something outside the layer root changed');
  assert.deepEqual((await fs.readdir(sandbox)).sort(), ['outside', 'root']);
  await fs.rm(sandbox, { recursive: true, force: true });
});

/** Unpacks into a fresh, empty root (unpackLayer requires one). */
async function unpack(entries: TarEntry[]) {
  await fs.rm(root, { recursive: true, force: true });
  await fs.mkdir(root);
  return unpackLayer(streamOf(await makeTar(entries)), root);
}

async function rejects400(entries: TarEntry[], pattern: RegExp): Promise<void> {
  await assert.rejects(unpack(entries), (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

describe('unpack: attributes', () => {
  test('files, dirs, symlinks, hard links, modes, owners and mtimes', async () => {
    const mtime = new Date('2001-02-03T04:05:06Z');
    const result = await unpack([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'bin/', type: 'directory', mode: 0o711, mtime },
      { name: 'bin/tool', content: 'binary', mode: 0o4755, uid: 1000, gid: 1001, mtime },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
      // a hard link's header applies to the shared inode (as with docker), so real tars repeat the target's
      { name: 'bin/same', type: 'link', linkname: 'bin/tool', mode: 0o4755, uid: 1000, gid: 1001, mtime },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'deep/er/file.txt', content: 'implicit parents' },
    ]);
    assert.equal(result.size, 'binary'.length + 'implicit parents'.length);
    const tool = await fs.lstat(path.join(root, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755, 'setuid bit kept');
    assert.equal(tool.mtime.getTime(), mtime.getTime());
    assert.equal(tool.nlink, 2);
    if (isRoot) assert.deepEqual([tool.uid, tool.gid], [1000, 1001]);
    assert.equal(await fs.readlink(path.join(root, 'bin/alias')), 'tool');
    assert.equal((await fs.lstat(path.join(root, 'bin/same'))).ino, tool.ino);
    const bin = await fs.lstat(path.join(root, 'bin'));
    assert.equal(bin.mode & 0o7777, 0o711);
    assert.equal(bin.mtime.getTime(), mtime.getTime(), 'directory mtime set after its children');
    assert.equal((await fs.lstat(path.join(root, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal(await fs.readFile(path.join(root, 'deep/er/file.txt'), 'utf8'), 'implicit parents');
  });

  test('long names (PAX path) and a symlinked parent inside the layer', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    await unpack([
      { name: long, content: 'x' },
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: '/usr/lib' },
      { name: 'lib/libc.so', content: 'libc' },
    ]);
    assert.equal(await fs.readFile(path.join(root, long), 'utf8'), 'x');
    // lib -> /usr/lib means the layer's own /usr/lib, as inside the container
    assert.equal(await fs.readFile(path.join(root, 'usr/lib/libc.so'), 'utf8'), 'libc');
  });

  test('a later entry replaces an earlier one; a directory meeting a directory merges', async () => {
    await unpack([
      { name: 'a', content: 'file first' },
      { name: 'a/', type: 'directory' },
      { name: 'a/inner', content: 'i' },
      { name: 'a/', type: 'directory', mode: 0o700 },
    ]);
    assert.equal(await fs.readFile(path.join(root, 'a/inner'), 'utf8'), 'i');
    assert.equal((await fs.lstat(path.join(root, 'a'))).mode & 0o777, 0o700);
  });

  test('root-owned files in setgid directories still get the archive\'s group', { skip: !isRoot && 'needs root' }, async () => {
    await unpack([
      { name: 'var/mail/', type: 'directory', mode: 0o2775, gid: 8 },
      { name: 'var/mail/x', content: 'x' },
      { name: 'var/mail/implicit/y', content: 'y' },
    ]);
    assert.equal((await fs.lstat(path.join(root, 'var/mail'))).gid, 8);
    assert.equal((await fs.lstat(path.join(root, 'var/mail/x'))).gid, 0);
    assert.equal((await fs.lstat(path.join(root, 'var/mail/implicit/y'))).gid, 0);
  });

  test('device nodes and fifos', { skip: !isRoot && 'needs root for mknod' }, async () => {
    await unpack([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/pipe', type: 'fifo', mode: 0o600 },
    ]);
    const dev = await fs.lstat(path.join(root, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.equal(dev.mode & 0o777, 0o666);
    assert.ok((await fs.lstat(path.join(root, 'dev/pipe'))).isFIFO());
  });

  test('whiteouts become overlay whiteouts; opaque markers an xattr', { skip: !isRoot && 'needs root for mknod/trusted xattrs' }, async () => {
    await unpack([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.removed', content: '' },
      { name: 'var/', type: 'directory' },
      { name: 'var/.wh..wh..opq', content: '' },
      { name: 'var/new', content: 'n' },
      { name: '.wh..wh.plnk/123', content: 'aufs hard link bookkeeping' },
    ]);
    const wh = await fs.lstat(path.join(root, 'etc/removed'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.equal(await exists(path.join(root, 'etc/.wh.removed')), false);
    const opaque = execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(root, 'var')]).toString();
    assert.equal(opaque, 'y');
    assert.equal(await exists(path.join(root, '.wh..wh.plnk')), false);
  });

  test('PAX xattrs are applied, trusted.* ones refused', { skip: !isRoot && 'needs root' }, async () => {
    await unpack([
      { name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
    ]);
    const f = path.join(root, 'f');
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'user.note', f]).toString(), 'hello');
    assert.throws(() => execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.redirect', f], { stdio: 'pipe' }));
  });
  test('binary xattrs (file capabilities) survive; nanosecond mtimes; xattrs on directories', { skip: !isRoot && 'needs root' }, async () => {
    assert.ok(ffiStatus().ffi, `koffi FFI should be in use: ${ffiStatus().error}`);
    // vfs_cap_data v2 with cap_net_raw permitted: not valid UTF-8, which tar-stream used to mangle
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const tar = Buffer.concat([
      paxEntry({ 'SCHILY.xattr.security.capability': cap, mtime: '1600000000.123456789' }),
      fileEntry('bin/ping', 'ping', { mode: 0o755, uid: 0, gid: 0 }),
      paxEntry({ 'SCHILY.xattr.user.dir': 'yes', mtime: '1500000000.5' }),
      rawHeader({ name: 'etc/', typeflag: '5', mode: 0o755 }),
      paxEntry({ mtime: '1400000000.25' }),
      rawHeader({ name: 'etc/link', typeflag: '2', linkname: '../bin/ping' }),
      END_OF_ARCHIVE,
    ]);
    await unpackLayer(streamOf(tar, 100), root);
    const ping = path.join(root, 'bin/ping');
    assert.deepEqual(execFileSync('getfattr', ['--only-values', '-n', 'security.capability', ping]), cap);
    assert.equal((await fs.lstat(ping, { bigint: true })).mtimeNs, 1600000000123456789n);
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'user.dir', path.join(root, 'etc')]).toString(), 'yes');
    assert.equal((await fs.lstat(path.join(root, 'etc'), { bigint: true })).mtimeNs, 1500000000500000000n);
    assert.equal((await fs.lstat(path.join(root, 'etc/link'), { bigint: true })).mtimeNs, 1400000000250000000n, 'the symlink\'s own time');
  });

  test('block devices; a whiteout replaces what an earlier entry made', { skip: !isRoot && 'needs root for mknod' }, async () => {
    await unpack([
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
      { name: 'dev/big', type: 'character-device', devmajor: 4095, devminor: 70000, mode: 0o600 },
      { name: 'etc/gone', content: 'here first' },
      { name: 'etc/.wh.gone', content: '' },
    ]);
    const sda = await fs.lstat(path.join(root, 'dev/sda'));
    assert.ok(sda.isBlockDevice());
    assert.deepEqual([sda.rdev, sda.mode & 0o7777, sda.gid], [(8 << 8) | 0, 0o660, 6]);
    const big = await fs.lstat(path.join(root, 'dev/big'));
    assert.equal(execFileSync('stat', ['-c', '%Hr:%Lr', path.join(root, 'dev/big')]).toString().trim(), '4095:70000');
    assert.ok(big.isCharacterDevice());
    const gone = await fs.lstat(path.join(root, 'etc/gone'));
    assert.ok(gone.isCharacterDevice());
    assert.equal(gone.rdev, 0);
  });
});

describe('unpack: hostile archives stay inside the root', () => {
  test('../ escapes are refused', async () => {
    await rejects400([{ name: '../outside/secret', content: 'pwned' }], /path escapes the layer root/);
    await rejects400([{ name: 'a/../../outside/secret', content: 'pwned' }], /path escapes the layer root/);
    await rejects400([{ name: './../../x', type: 'directory' }], /path escapes the layer root/);
  });

  test('absolute names are confined to the root', async () => {
    await unpack([{ name: `${outside}/secret`, content: 'pwned' }, { name: '/etc/passwd', content: 'layer passwd' }]);
    assert.equal(await fs.readFile(path.join(root, outside, 'secret'), 'utf8'), 'pwned');
    assert.equal(await fs.readFile(path.join(root, 'etc/passwd'), 'utf8'), 'layer passwd');
  });

  test('entries below an absolute symlink to the outside land inside the root', async () => {
    await unpack([
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/secret', content: 'pwned' },
      { name: 'escape/etc/passwd', content: 'pwned' },
    ]);
    assert.equal(await fs.readlink(path.join(root, 'escape')), outside, 'the symlink itself is kept verbatim');
    assert.equal(await fs.readFile(path.join(root, outside, 'secret'), 'utf8'), 'pwned');
  });

  test('entries below a relative symlink climbing out land inside the root', async () => {
    await unpack([
      { name: 'a/b/', type: 'directory' },
      { name: 'a/b/up', type: 'symlink', linkname: '../../../../../../..' },
      { name: 'a/b/up/outside/secret', content: 'pwned' },
      { name: 'chain1', type: 'symlink', linkname: 'chain2' },
      { name: 'chain2', type: 'symlink', linkname: '../outside' },
      { name: 'chain1/etc/passwd', content: 'pwned' },
    ]);
    assert.equal(await fs.readFile(path.join(root, 'outside/secret'), 'utf8'), 'pwned');
    assert.equal(await fs.readFile(path.join(root, 'outside/etc/passwd'), 'utf8'), 'pwned');
  });

  test('a file over an existing symlink replaces the symlink, never writes through it', async () => {
    await unpack([
      { name: 'secret', type: 'symlink', linkname: path.join(outside, 'secret') },
      { name: 'secret', content: 'pwned' },
      { name: 'dir', type: 'symlink', linkname: outside },
      { name: 'dir/', type: 'directory', mode: 0o777 },
    ]);
    assert.ok((await fs.lstat(path.join(root, 'secret'))).isFile());
    assert.ok((await fs.lstat(path.join(root, 'dir'))).isDirectory());
  });

  test('hard links to outside targets are refused or confined', async () => {
    await rejects400([{ name: 'hl', type: 'link', linkname: '../outside/secret' }], /path escapes the layer root/);
    // absolute: means the layer's own file, which does not exist
    await rejects400([{ name: 'hl', type: 'link', linkname: path.join(outside, 'secret') }], /not found in the layer/);
    // through a symlinked parent: resolved inside the root, so not found either
    await rejects400([
      { name: 'via', type: 'symlink', linkname: outside },
      { name: 'hl', type: 'link', linkname: 'via/secret' },
    ], /not found in the layer/);
    // to a symlink that points outside: links the symlink itself, the target is untouched
    await unpack([
      { name: 'sl', type: 'symlink', linkname: path.join(outside, 'secret') },
      { name: 'hl', type: 'link', linkname: 'sl' },
    ]);
    assert.ok((await fs.lstat(path.join(root, 'hl'))).isSymbolicLink());
  });

  test('hard links to directories and to the root are refused', async () => {
    await rejects400([{ name: 'd/', type: 'directory' }, { name: 'hl', type: 'link', linkname: 'd' }], /hard link to a directory/);
    await rejects400([{ name: 'hl', type: 'link', linkname: './' }], /hard link to the layer root/);
  });

  test('symlink loops are refused', async () => {
    await rejects400([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'a/x', content: 'x' },
    ], /too many levels of symbolic links/);
  });

  test('whiteouts cannot name . or ..', async () => {
    await rejects400([{ name: 'etc/.wh...', content: '' }], /invalid whiteout name/);
    await rejects400([{ name: '.wh..', content: '' }], /invalid whiteout name/);
  });

  test('a directory replaced by a symlink later does not get its mtime set through the link', async () => {
    await unpack([
      { name: 'd/', type: 'directory', mtime: new Date('1999-01-01T00:00:00Z') },
      { name: 'd/sub/', type: 'directory', mtime: new Date('1999-01-01T00:00:00Z') },
      { name: 'd', type: 'symlink', linkname: outside },
    ]);
    assert.ok((await fs.lstat(path.join(root, 'd'))).isSymbolicLink());
  });

  test('the root entry cannot be a file or a link', async () => {
    await rejects400([{ name: './', type: 'symlink', linkname: outside }], /layer root can only be a directory/);
  });
});

describe('unpack: broken archives', () => {
  test('garbage is a 400, not a crash', async () => {
    await assert.rejects(unpackLayer(streamOf(Buffer.alloc(2048, 0x41)), root), (err: unknown) =>
      err instanceof EngineError && err.status === 400 && /invalid tar archive/.test(err.message));
  });

  test('a truncated archive is a 400', async () => {
    const tarball = await makeTar([{ name: 'big', content: Buffer.alloc(100_000, 1) }]);
    await assert.rejects(unpackLayer(streamOf(tarball.subarray(0, 50_000)), root), (err: unknown) =>
      err instanceof EngineError && err.status === 400 && /Unexpected end of data/.test(err.message));
  });

  test('a failing source surfaces its own error', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield (await makeTar([{ name: 'a', content: 'a' }])).subarray(0, 1024);
      throw new Error('client went away');
    }
    await assert.rejects(unpackLayer(failing(), root), /client went away/);
  });
});
