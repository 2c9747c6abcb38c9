import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import {
  checksumSources, contextPath, expandSources, extractContext, readContextDockerfile, removeIgnored, resolveInRoot,
} from '../../src/build/context';
import { DockerIgnore } from '../../src/build/dockerignore';
import { EngineError } from '../../src/common/errors';
import { END_OF_ARCHIVE, TarEntry, fileEntry, gzip, isRoot, makeTar, rawHeader, snapshot, streamOf, tempDir as makeTempDir } from './storage-fixtures';

const MTIME = new Date('2021-03-04T05:06:07Z');

/** Temporary directories of this file, removed when it is done. */
const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await makeTempDir(prefix);
  temps.push(d);
  return d;
}
after(async () => {
  for (const d of temps) {
    spawnSync('chmod', ['-R', 'u+w', d]); // read-only directories from the tests would stop rm when not root
    await fs.rm(d, { recursive: true, force: true });
  }
});

async function extract(entries: TarEntry[], opts = {}) {
  const dest = await tempDir('berth-build-ctx-');
  const result = await extractContext(streamOf(await makeTar(entries)), dest, opts);
  return { dest, result };
}

async function rejectsWith(p: Promise<unknown>, status: number, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.status, status);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('extractContext: files, directories, links, modes, times; device nodes skipped', async () => {
  const { dest, result } = await extract([
    { name: 'app/', type: 'directory', mode: 0o750 },
    { name: 'app/main.js', content: 'console.log(1)\n', mode: 0o644, mtime: MTIME },
    { name: 'app/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
    { name: 'app/ro/', type: 'directory', mode: 0o555 },
    { name: 'app/ro/inside', content: 'x' },
    { name: 'app/link', type: 'symlink', linkname: 'main.js' },
    { name: './app/hard', type: 'link', linkname: 'app/main.js' },
    { name: 'app/fifo', type: 'fifo' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
    { name: 'implicit/parent/file.txt', content: 'deep' },
    { name: 'setuid', content: 's', mode: 0o4755 },
  ]);
  assert.deepEqual(result.entries.map((e) => [e.path, e.type, e.mode.toString(8), e.size, e.linkname]), [
    ['app', 'dir', '750', 0, undefined],
    ['app/main.js', 'file', '644', 15, undefined],
    ['app/run.sh', 'file', '755', 10, undefined],
    ['app/ro', 'dir', '555', 0, undefined],
    ['app/ro/inside', 'file', '644', 1, undefined],
    ['app/link', 'symlink', '644', 0, 'main.js'],
    ['app/hard', 'hardlink', '644', 0, 'app/main.js'],
    ['implicit/parent/file.txt', 'file', '644', 4, undefined],
    ['setuid', 'file', '4755', 1, undefined],
  ]);
  assert.deepEqual(result.skipped, ['app/fifo', 'dev/null']);
  assert.equal(result.bytes, 15 + 10 + 1 + 4 + 1);
  const st = async (p: string) => fs.lstat(path.join(dest, p));
  assert.equal((await st('app')).mode & 0o7777, 0o750);
  assert.equal((await st('app/ro')).mode & 0o7777, 0o555);
  assert.equal((await st('app/run.sh')).mode & 0o7777, 0o755);
  assert.equal((await st('setuid')).mode & 0o7777, 0o4755);
  assert.equal((await st('implicit/parent')).mode & 0o7777, 0o755); // made for the file, like docker's MkdirAll
  assert.equal(await fs.readFile(path.join(dest, 'app/main.js'), 'utf8'), 'console.log(1)\n');
  assert.equal((await st('app/main.js')).mtimeMs, MTIME.getTime());
  assert.equal(await fs.readlink(path.join(dest, 'app/link')), 'main.js');
  assert.equal((await st('app/hard')).ino, (await st('app/main.js')).ino);
  await assert.rejects(st('app/fifo'));
  await assert.rejects(st('dev'));
});

test('extractContext: owners from the headers when root, compressed contexts', async () => {
  const entries: TarEntry[] = [{ name: 'owned', content: 'x', uid: 1234, gid: 2345, mode: 0o2755 }, { name: 'd/', type: 'directory', uid: 1234, gid: 2345 }];
  const dest = await tempDir('berth-build-ctx-');
  const result = await extractContext(streamOf(gzip(await makeTar(entries))), dest);
  assert.deepEqual(result.entries.map((e) => [e.path, e.uid, e.gid]), [['owned', 1234, 2345], ['d', 1234, 2345]]);
  const st = await fs.lstat(path.join(dest, 'owned'));
  if (isRoot) {
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 2345, 0o2755]); // setgid kept: chmod after chown
    assert.equal((await fs.lstat(path.join(dest, 'd'))).uid, 1234);
  } else {
    assert.equal(st.uid, process.getuid!());
  }
  const noChown = await extract(entries, { chown: false });
  assert.equal((await fs.lstat(path.join(noChown.dest, 'owned'))).uid, process.getuid!());
});

test('extractContext: the same path twice, a directory replaced by a file and back', async () => {
  const { dest, result } = await extract([
    { name: 'x/', type: 'directory' },
    { name: 'x/inner', content: 'gone' },
    { name: 'x', content: 'now a file' },
    { name: 'y', content: 'first' },
    { name: 'y', content: 'second' },
    { name: 'z', content: 'file first' },
    { name: 'z/', type: 'directory' },
    { name: 'z/ok', content: 'ok' },
  ]);
  assert.deepEqual(result.entries.map((e) => [e.path, e.type]), [['x', 'file'], ['y', 'file'], ['z', 'dir'], ['z/ok', 'file']]);
  assert.equal(await fs.readFile(path.join(dest, 'x'), 'utf8'), 'now a file');
  assert.equal(await fs.readFile(path.join(dest, 'y'), 'utf8'), 'second');
  assert.equal(await fs.readFile(path.join(dest, 'z/ok'), 'utf8'), 'ok');
});

test('extractContext: hostile archives cannot reach outside the context', async () => {
  const outside = await tempDir('berth-build-outside-');
  await fs.writeFile(path.join(outside, 'secret'), 'keep me');
  const before = await snapshot(outside);
  const after = async () => assert.deepEqual(await snapshot(outside), before);

  // names that climb out are refused
  for (const name of ['../escape', 'a/../../escape', './../escape']) {
    const dest = await tempDir('berth-build-ctx-');
    await rejectsWith(extractContext(streamOf(await makeTar([{ name, content: 'x' }])), dest), 400,
      `invalid tar entry ${JSON.stringify(name)}: path escapes the build context`);
  }
  // absolute names, symlinked parents and `..` in link targets all resolve inside, as in a chroot
  const { dest } = await extract([
    { name: `${outside}/abs-name`, content: 'in' },
    { name: 'evil', type: 'symlink', linkname: outside },
    { name: 'evil/through-symlink', content: 'in' },
    { name: 'up', type: 'symlink', linkname: '../../../..' },
    { name: 'up/clamped', content: 'in' },
    { name: 'f', type: 'symlink', linkname: `${outside}/secret` },
    { name: 'f', content: 'replaces the symlink, not its target' },
    { name: 'dir/', type: 'directory' },
    { name: 'dir', type: 'symlink', linkname: outside },
    { name: 'dir/after-swap', content: 'in' },
  ]);
  await after();
  assert.equal(await fs.readFile(path.join(dest, outside, 'abs-name'), 'utf8'), 'in');
  assert.equal(await fs.readFile(path.join(dest, outside, 'through-symlink'), 'utf8'), 'in');
  assert.equal(await fs.readFile(path.join(dest, outside, 'after-swap'), 'utf8'), 'in');
  assert.equal(await fs.readFile(path.join(dest, 'clamped'), 'utf8'), 'in');
  assert.equal(await fs.readFile(path.join(dest, 'f'), 'utf8'), 'replaces the symlink, not its target');
  assert.ok((await fs.lstat(path.join(dest, 'f'))).isFile());

  // hard links must point at something already inside
  const hardLinks: Array<[TarEntry[], RegExp]> = [
    [[{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], /^invalid tar entry "h": link target "..\/..\/etc\/passwd" escapes the build context$/],
    [[{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /^invalid tar entry "h": hard link target "\/etc\/passwd" not found in the context$/],
    [[{ name: 'd', type: 'symlink', linkname: outside }, { name: 'h', type: 'link', linkname: 'd/secret' }], /hard link target "d\/secret" not found in the context/],
    [[{ name: 'sub/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'sub' }], /^invalid tar entry "h": hard link to a directory$/],
    [[{ name: 'x', type: 'symlink' }], /^invalid tar entry "x": empty symlink target$/],
    [[{ name: 'x', content: 'file' }, { name: 'x/y', content: 'z' }], /^invalid tar entry "x\/y": \/x is not a directory$/],
  ];
  for (const [entries, message] of hardLinks) {
    const d = await tempDir('berth-build-ctx-');
    await rejectsWith(extractContext(streamOf(await makeTar(entries)), d), 400, message);
  }
  await after();
});

test('extractContext: broken input, limits, a non-empty target', async () => {
  const tarball = await makeTar([{ name: 'a', content: 'x'.repeat(5000) }, { name: 'b', content: 'y' }]);
  await rejectsWith(extractContext(streamOf(tarball.subarray(0, 1536)), await tempDir('berth-build-ctx-')), 400, 'invalid build context: unexpected EOF');
  await rejectsWith(extractContext(streamOf(tarball.subarray(0, 300)), await tempDir('berth-build-ctx-')), 400, /^invalid build context: /);
  await rejectsWith(extractContext(streamOf(Buffer.from('not a tar at all '.repeat(64))), await tempDir('berth-build-ctx-')), 400, /^invalid build context: /);
  await rejectsWith(extractContext(streamOf(gzip(tarball).subarray(0, 40)), await tempDir('berth-build-ctx-')), 400, /^invalid gzip data/);
  await rejectsWith(extractContext(streamOf(tarball), await tempDir('berth-build-ctx-'), { maxBytes: 4096 }), 400,
    'build context is larger than the allowed 4096 bytes');
  const full = await tempDir('berth-build-ctx-');
  await fs.writeFile(path.join(full, 'x'), '');
  await rejectsWith(extractContext(streamOf(tarball), full), 500, /is not empty/);
  // typeflags that are no file (GNU sparse here) are refused rather than written as garbage
  const sparse = Buffer.concat([fileEntry('ok', 'x'), rawHeader({ name: 'sparse', typeflag: 'S', format: 'gnu' }), END_OF_ARCHIVE]);
  await rejectsWith(extractContext(streamOf(sparse), await tempDir('berth-build-ctx-')), 400, 'invalid tar entry "sparse": unsupported entry type');
  // old V7 archives (no magic) still work
  const v7 = Buffer.concat([fileEntry('old', 'v7 file', { format: 'v7', typeflag: '\0' }), END_OF_ARCHIVE]);
  const v7dest = await tempDir('berth-build-ctx-');
  assert.deepEqual((await extractContext(streamOf(v7), v7dest)).entries.map((e) => [e.path, e.type, e.size]), [['old', 'file', 7]]);
  // an empty archive is an empty context
  const empty = await extractContext(streamOf(Buffer.alloc(1024)), await tempDir('berth-build-ctx-'));
  assert.deepEqual(empty.entries, []);
});

test('extractContext: big files stream through in small pieces', async () => {
  const size = 24 * 1024 * 1024 + 123;
  const piece = Buffer.alloc(1 << 20);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 7) & 0xff;
  const want = createHash('sha256');
  // the tar is generated as it is read: header, content in 1 MiB pieces, padding, end
  async function* tarStream(): AsyncGenerator<Buffer> {
    const header = (await makeTar([{ name: 'big.bin', content: Buffer.alloc(0) }])).subarray(0, 512);
    const h = Buffer.from(header);
    h.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
    h.write('        ', 148, 8, 'latin1');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i];
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    yield h;
    for (let left = size; left > 0; left -= piece.length) {
      const c = piece.subarray(0, Math.min(piece.length, left));
      want.update(c);
      yield c;
    }
    yield Buffer.alloc((512 - (size % 512)) % 512);
    yield Buffer.alloc(1024);
  }
  const dest = await tempDir('berth-build-ctx-');
  const result = await extractContext(Readable.from(tarStream()), dest);
  assert.deepEqual(result.entries.map((e) => [e.path, e.size]), [['big.bin', size]]);
  const got = createHash('sha256').update(await fs.readFile(path.join(dest, 'big.bin'))).digest('hex');
  assert.equal(got, want.digest('hex'));
});

/** A context directory from a description: `name: content`, `name/` for directories, `name -> target` links. */
async function tree(spec: Record<string, string | null>): Promise<string> {
  const root = await tempDir('berth-build-tree-');
  for (const [name, content] of Object.entries(spec)) {
    const p = path.join(root, name);
    await fs.mkdir(path.dirname(p), { recursive: true });
    if (name.endsWith('/')) await fs.mkdir(p, { recursive: true });
    else if (content !== null && content.startsWith('-> ')) await fs.symlink(content.slice(3), p);
    else await fs.writeFile(p, content ?? '');
  }
  return root;
}

test('removeIgnored: the daemon applies .dockerignore to what it received', async () => {
  const root = await tree({
    'Dockerfile': 'FROM x', '.dockerignore': '*', 'src/a.js': '', 'src/a.log': '', 'build/out': '', 'build/keep.txt': '',
    'build/sub/deep.txt': '', 'docs/x.md': '', 'docs/y.md': '',
  });
  const removed = await removeIgnored(root, new DockerIgnore(['**/*.log', 'build', '!build/keep.txt', 'docs', 'Dockerfile', '.dockerignore']),
    ['Dockerfile', '.dockerignore']);
  assert.deepEqual(removed.sort(), ['build/out', 'build/sub', 'docs', 'src/a.log']);
  assert.deepEqual((await snapshot(root)).map((l) => l.split(' ')[0]).sort(), ['.dockerignore', 'Dockerfile', 'build', 'build/keep.txt', 'src', 'src/a.js']);
  // an excluded directory with an exception that matches nothing is removed once empty
  const r2 = await tree({ 'cache/a': '', 'cache/b': '' });
  assert.deepEqual(await removeIgnored(r2, new DockerIgnore(['cache', '!cache/none'])), ['cache/a', 'cache/b', 'cache']);
  assert.deepEqual(await removeIgnored(r2, new DockerIgnore([])), []);
});

test('expandSources: plain paths, globs in lexical order, Docker\'s errors', async () => {
  const root = await tree({
    'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'src/x.txt': 'x', 'src/y.js': 'y', 'src/deep/z.txt': 'z', 'star*name': 's',
    'dir/': null, 'link-in': '-> src/x.txt', 'link-out': '-> /etc/passwd', 'dangling.txt': '-> nowhere', 'ü.txt': 'u',
  });
  const names = async (sources: string[], opts = {}) => (await expandSources(root, sources, opts)).map((s) => [s.path, s.resolved, s.isDir]);
  assert.deepEqual(await names(['a.txt', './b.txt', '/src']), [['a.txt', 'a.txt', false], ['b.txt', 'b.txt', false], ['src', 'src', true]]);
  assert.deepEqual(await names(['.']), [['', '', true]]);
  assert.deepEqual(await names(['../../a.txt']), [['a.txt', 'a.txt', false]]); // `..` stops at the root
  assert.deepEqual(await names(['[ab].txt', 'src/*']), [['a.txt', 'a.txt', false], ['b.txt', 'b.txt', false],
    ['src/deep', 'src/deep', true], ['src/x.txt', 'src/x.txt', false], ['src/y.js', 'src/y.js', false]]);
  assert.deepEqual(await names(['*/*.txt', '?.md']), [['src/x.txt', 'src/x.txt', false], ['c.md', 'c.md', false]]);
  // a literal `*` in a name is matched with a class; a `\\` only keeps the name from being a pattern
  assert.deepEqual(await names(['star[*]name']), [['star*name', 'star*name', false]]);
  await rejectsWith(expandSources(root, ['star\\*name']), 400, /stat star\\\*name: file does not exist/);
  assert.deepEqual((await names(['[abü].txt'])).map((x) => x[0]), ['a.txt', 'b.txt', 'ü.txt']); // byte order, as Go walks
  // symlinks are followed inside the context only
  assert.deepEqual(await names(['link-in']), [['link-in', 'src/x.txt', false]]);
  await rejectsWith(expandSources(root, ['link-out']), 400,
    'COPY failed: file not found in build context or excluded by .dockerignore: stat link-out: file does not exist');
  await rejectsWith(expandSources(root, ['missing.txt']), 400,
    'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist');
  await rejectsWith(expandSources(root, ['./sub/missing.txt'], { cmd: 'ADD' }), 400,
    'ADD failed: file not found in build context or excluded by .dockerignore: stat sub/missing.txt: file does not exist');
  // a glob whose matches include a dangling symlink fails on it, like Docker
  await rejectsWith(expandSources(root, ['dangl*']), 400, /stat dangling.txt: file does not exist/);
  await rejectsWith(expandSources(root, ['*.nothing']), 400, 'COPY failed: no source files were specified');
  await rejectsWith(expandSources(root, ['[']), 400, 'COPY failed: no source files were specified');
  await rejectsWith(expandSources(root, ['a.txt', 'b.txt'], { dest: '/dst' }), 400,
    'When using COPY with more than one source file, the destination must be a directory and end with a /');
  await rejectsWith(expandSources(root, ['*.md', 'src/*.js'], { dest: '/dst' }), 400, /must be a directory and end with a \//);
  assert.equal((await expandSources(root, ['a.txt', 'b.txt'], { dest: '/dst/' })).length, 2);
  assert.equal((await expandSources(root, ['[ab].txt'], { dest: '/dst/' })).length, 2);
  await rejectsWith(expandSources(root, ['https://example.com/x']), 400, "COPY failed: source can't be a URL for COPY");
  assert.deepEqual(await expandSources(root, ['https://example.com/x', 'a.txt'], { cmd: 'ADD', dest: '/d/' }), [
    { source: 'https://example.com/x', url: 'https://example.com/x', path: '', resolved: '', isDir: false },
    { source: 'a.txt', path: 'a.txt', resolved: 'a.txt', isDir: false },
  ]);
});

test('resolveInRoot and contextPath: confined like a chroot', async () => {
  const root = await tree({ 'etc/passwd': 'inside', 'abs': '-> /etc/passwd', 'rel': '-> ../../etc', 'loop': '-> loop', 'file': 'f' });
  assert.equal(resolveInRoot(root, 'abs'), 'etc/passwd');
  assert.equal(resolveInRoot(root, 'rel/passwd'), 'etc/passwd');
  assert.equal(resolveInRoot(root, '/../etc/./passwd'), 'etc/passwd');
  assert.equal(resolveInRoot(root, 'rel/..'), '');
  assert.equal(resolveInRoot(root, 'loop'), undefined);
  assert.equal(resolveInRoot(root, 'file/under'), undefined);
  assert.equal(resolveInRoot(root, 'nothing'), undefined);
  assert.equal(contextPath(root, 'abs'), path.join(root, 'etc/passwd'));
  assert.equal(await readContextDockerfile(root, 'abs'), 'inside');
  await rejectsWith(readContextDockerfile(root), 400, 'Cannot locate specified Dockerfile: Dockerfile');
  await rejectsWith(readContextDockerfile(root, 'etc'), 400, 'Cannot locate specified Dockerfile: etc');
});

test('checksumSources: changes with any copied byte or attribute, and only then', async () => {
  const root = await tree({ 'app/a.js': 'one', 'app/lib/b.js': 'two', 'app/link': '-> a.js', 'other.txt': 'unrelated', 'top.txt': 'top' });
  const sum = () => checksumSources(root, ['app', 'top.txt']);
  const base = await sum();
  assert.match(base, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await sum(), base);
  const expectChange = async (what: string, change: () => Promise<unknown>, undo: () => Promise<unknown>) => {
    await change();
    assert.notEqual(await sum(), base, what);
    await undo();
    assert.equal(await sum(), base, `${what} (undone)`);
  };
  const p = (n: string) => path.join(root, n);
  await expectChange('content', () => fs.writeFile(p('app/lib/b.js'), 'TWO'), () => fs.writeFile(p('app/lib/b.js'), 'two'));
  await expectChange('same size, other bytes', () => fs.writeFile(p('top.txt'), 'tOp'), () => fs.writeFile(p('top.txt'), 'top'));
  await expectChange('mode', () => fs.chmod(p('app/a.js'), 0o755), () => fs.chmod(p('app/a.js'), 0o644));
  await expectChange('directory mode', () => fs.chmod(p('app/lib'), 0o700), () => fs.chmod(p('app/lib'), 0o755));
  await expectChange('a new file', () => fs.writeFile(p('app/new'), ''), () => fs.rm(p('app/new')));
  await expectChange('an empty directory', () => fs.mkdir(p('app/empty')), () => fs.rmdir(p('app/empty')));
  await expectChange('a rename', () => fs.rename(p('app/a.js'), p('app/A.js')), () => fs.rename(p('app/A.js'), p('app/a.js')));
  await expectChange('a symlink target', async () => { await fs.rm(p('app/link')); await fs.symlink('lib/b.js', p('app/link')); },
    async () => { await fs.rm(p('app/link')); await fs.symlink('a.js', p('app/link')); });
  if (isRoot) {
    await expectChange('owner', () => fs.lchown(p('app/a.js'), 1000, 1000), () => fs.lchown(p('app/a.js'), 0, 0));
  }
  // times and files that are not copied do not matter
  await fs.utimes(p('app/a.js'), new Date(1000), new Date(1000));
  await fs.utimes(p('app'), new Date(2000), new Date(2000));
  await fs.writeFile(p('other.txt'), 'changed');
  assert.equal(await sum(), base);
  // the order of the sources, and where they come from, are part of it
  assert.notEqual(await checksumSources(root, ['top.txt', 'app']), base);
  assert.equal(await checksumSources(root, await expandSources(root, ['app', 'top.txt'])), base);
  // a symlinked source is hashed as what it points to, under its own name
  const viaLink = await checksumSources(root, ['app/link']);
  assert.notEqual(viaLink, await checksumSources(root, ['app/a.js']));
  await assert.rejects(checksumSources(root, ['missing']), /stat missing: file does not exist/);
  // two identical trees give the same sum
  const copy = await tree({ 'app/a.js': 'one', 'app/lib/b.js': 'two', 'app/link': '-> a.js', 'top.txt': 'top' });
  for (const d of ['', 'app', 'app/lib']) await fs.chmod(path.join(copy, d), (await fs.stat(path.join(root, d))).mode & 0o7777);
  assert.equal(await checksumSources(copy, ['app', 'top.txt']), base);
});

test('checksumSources: big files are streamed, URLs are named', async () => {
  const root = await tree({});
  const big = Buffer.alloc(3 * 1024 * 1024, 1);
  await fs.writeFile(path.join(root, 'big'), big);
  const a = await checksumSources(root, ['big']);
  big[big.length - 1] = 2;
  await fs.writeFile(path.join(root, 'big'), big);
  assert.notEqual(await checksumSources(root, ['big']), a);
  const url = { source: 'https://x/y', url: 'https://x/y', path: '', resolved: '', isDir: false };
  assert.notEqual(await checksumSources(root, [url]), await checksumSources(root, [{ ...url, url: 'https://x/z' }]));
});
