// The CLI's side of cp: docker's argument split, its path helpers (filepath.Base/Dir/Clean, trailing "/" and
// "/."), where an archive is extracted and under which name (PrepareArchiveCopy), the local source and
// destination rules, and the help text byte for byte against docker v28's.
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  CopyInfo, copyInfoDestinationPath, copyInfoSourcePath, evalSymlinks, getRebaseName, goBase, goClean, goDir, prepareArchiveCopy,
  preserveTrailingDotOrSeparator, splitCpArg, splitPathDirEntry, validateOutputPath,
} from '../../src/cli/commands/cp';
import { rebase as rebaseName } from '../../src/cli/commands/cp-archive';
import { tempDir } from './storage-fixtures';

describe('argument and path rules', () => {
  test('splitCpArg: CONTAINER:PATH unless absolute or starting with "."', () => {
    assert.deepEqual(splitCpArg('c1:/etc/passwd'), { container: 'c1', path: '/etc/passwd' });
    assert.deepEqual(splitCpArg('c1:rel'), { container: 'c1', path: 'rel' });
    assert.deepEqual(splitCpArg('/abs/file:name'), { container: '', path: '/abs/file:name' });
    assert.deepEqual(splitCpArg('./file:name'), { container: '', path: './file:name' });
    assert.deepEqual(splitCpArg('local'), { container: '', path: 'local' });
    assert.deepEqual(splitCpArg('-'), { container: '', path: '-' });
    assert.deepEqual(splitCpArg('c1:'), { container: 'c1', path: '' });
  });

  test('Go\'s Clean, Base and Dir', () => {
    assert.equal(goClean('/a//b/../c/'), '/a/c');
    assert.equal(goClean(''), '.');
    assert.equal(goBase('/a/b/'), 'b');
    assert.equal(goBase('/'), '/');
    assert.equal(goDir('/a/b'), '/a');
    assert.equal(goDir('/a'), '/');
    assert.equal(goDir('a'), '.');
  });

  test('trailing "/." and "/" survive cleaning', () => {
    assert.equal(preserveTrailingDotOrSeparator('/a/b', 'a/b/.'), '/a/b/.');
    assert.equal(preserveTrailingDotOrSeparator('/a/b', 'a/b/'), '/a/b/');
    assert.equal(preserveTrailingDotOrSeparator('/', '/'), '/');
    assert.equal(preserveTrailingDotOrSeparator('/a/b', 'a/b'), '/a/b');
    assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
    assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
    assert.deepEqual(splitPathDirEntry('/'), ['/', '/']);
  });

  test('rebase names as docker rewrites them', () => {
    assert.equal(rebaseName('d/f', 'd', 'x'), 'x/f');
    assert.equal(rebaseName('./f', '.', 'x'), 'x/f');
    assert.equal(rebaseName('/bin/sh', '/', 'root'), 'root/bin/sh');
    assert.deepEqual(getRebaseName('/a/link/', '/a/target'), ['/a/target/', 'link']);
    assert.deepEqual(getRebaseName('/a/link/.', '/a/target'), ['/a/target/.', '']);
    assert.deepEqual(getRebaseName('/a/same', '/b/same'), ['/b/same', '']);
  });

  test('PrepareArchiveCopy: where to extract and what the top entry is called', () => {
    const src = (p: string, isDir: boolean, rebase = ''): CopyInfo => ({ path: p, exists: true, isDir, rebaseName: rebase });
    const dst = (p: string, exists: boolean, isDir: boolean): CopyInfo => ({ path: p, exists, isDir, rebaseName: '' });
    assert.deepEqual(prepareArchiveCopy(src('/s/f', false), dst('/d', true, true)), { dstDir: '/d' });
    assert.deepEqual(prepareArchiveCopy(src('/s/f', false), dst('/d/g', true, false)), { dstDir: '/d', rename: ['f', 'g'] });
    assert.deepEqual(prepareArchiveCopy(src('/s/dir', true), dst('/d/new', false, false)), { dstDir: '/d', rename: ['dir', 'new'] });
    assert.deepEqual(prepareArchiveCopy(src('/s/dir/.', true), dst('/d/new', false, false)), { dstDir: '/d', rename: ['.', 'new'] });
    assert.deepEqual(prepareArchiveCopy(src('/s/f', false), dst('/d/new', false, false)), { dstDir: '/d', rename: ['f', 'new'] });
    assert.deepEqual(prepareArchiveCopy(src('/s/link/', true, 'link'), dst('/d/new', false, false)), { dstDir: '/d', rename: ['link', 'new'] });
    assert.throws(() => prepareArchiveCopy(src('/s/dir', true), dst('/d/file', true, false)), /^StatusError: cannot copy directory$/);
    assert.throws(() => prepareArchiveCopy(src('/s/f', false), dst('/d/newdir/', false, false)), /^StatusError: no such directory$/);
  });
});

describe('local paths', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('berth-archive-cli-');
    await fs.mkdir(path.join(dir, 'real/sub'), { recursive: true });
    await fs.writeFile(path.join(dir, 'real/file'), 'f');
    await fs.symlink('real', path.join(dir, 'link'));
    await fs.symlink('file', path.join(dir, 'real/filelink'));
    await fs.symlink('nowhere', path.join(dir, 'dangling'));
    await fs.writeFile(path.join(dir, 'plain'), 'p');
  });
  after(async () => { await fs.rm(dir, { recursive: true, force: true }); });

  test('a source resolves its parents\' symlinks; the last one only with -L', () => {
    assert.deepEqual(copyInfoSourcePath(path.join(dir, 'link/filelink'), false),
      { path: path.join(dir, 'real/filelink'), exists: true, isDir: false, rebaseName: '' });
    assert.deepEqual(copyInfoSourcePath(path.join(dir, 'link/filelink'), true),
      { path: path.join(dir, 'real/file'), exists: true, isDir: false, rebaseName: 'filelink' });
    assert.deepEqual(copyInfoSourcePath(path.join(dir, 'link') + '/', false),
      { path: path.join(dir, 'real') + '/', exists: true, isDir: true, rebaseName: 'link' });
    assert.throws(() => copyInfoSourcePath(path.join(dir, 'nonexist'), false), { message: `lstat ${path.join(dir, 'nonexist')}: no such file or directory` });
    assert.equal(evalSymlinks(path.join(dir, 'link/sub')), path.join(dir, 'real/sub'));
  });

  test('a destination follows a final symlink, a missing one needs its parent', () => {
    assert.deepEqual(copyInfoDestinationPath(path.join(dir, 'link')), { path: path.join(dir, 'real'), exists: true, isDir: true, rebaseName: '' });
    assert.deepEqual(copyInfoDestinationPath(path.join(dir, 'dangling')), { path: path.join(dir, 'nowhere'), exists: false, isDir: false, rebaseName: '' });
    assert.throws(() => copyInfoDestinationPath(path.join(dir, 'nope/x')), { message: `stat ${path.join(dir, 'nope')}: no such file or directory` });
    assert.throws(() => copyInfoDestinationPath(path.join(dir, 'plain/x')), { message: `lstat ${path.join(dir, 'plain/x')}: not a directory` });
  });

  test('an output path must be in an existing directory and be a directory or a regular file', () => {
    validateOutputPath(path.join(dir, 'new.tar'));
    validateOutputPath(path.join(dir, 'plain'));
    assert.throws(() => validateOutputPath(path.join(dir, 'no/x.tar')), { message: `invalid output path: directory "${path.join(dir, 'no')}" does not exist` });
    assert.throws(() => validateOutputPath('/dev/null'), { message: 'invalid output path: "/dev/null" must be a directory or a regular file: got a device' });
  });
});

describe('help', () => {
  const BERTH = path.resolve(__dirname, '../../../bin/berth');
  const docker = (args: string[]) => execFileSync('/usr/local/bin/docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } });
  const berth = (args: string[]) => execFileSync(BERTH, args, { encoding: 'utf8' });
  for (const cmd of [['cp'], ['container', 'cp'], ['export'], ['container', 'export']]) {
    test(`${cmd.join(' ')} --help reads like docker's`, () => {
      assert.equal(berth([...cmd, '--help']), docker([...cmd, '--help']).replace(/docker/g, 'berth'));
    });
  }
});
