import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  DockerIgnore, ParentMatches, filesHiddenAfterParse, parseDockerignore, trimBuildFilesFromExcludes,
} from '../../src/build/dockerignore';
import { cleanPath, goMatch, hasWildcards } from '../../src/build/match';
import { EngineError } from '../../src/common/errors';

const excluded = (patterns: string[], path: string) => new DockerIgnore(patterns).matches(path);

test('parseDockerignore: comments, blanks, cleaning', () => {
  const text = [
    '\ufeff# comment',
    '',
    '   ',
    '  # not a comment: only a # in the first column starts one',
    'node_modules',
    '/abs/path',
    './rel/./path/',
    'a/../b',
    '  spaced  \r',
    '!  keep.txt',
    '!/also/kept',
    '**/*.log',
    '/',
    '!',
  ].join('\n');
  assert.deepEqual(parseDockerignore(text), [
    '# not a comment: only a # in the first column starts one', 'node_modules', 'abs/path', 'rel/path', 'b', 'spaced',
    '!keep.txt', '!also/kept', '**/*.log', '/', '!',
  ]);
  assert.deepEqual(parseDockerignore(Buffer.from('x\ny\n')), ['x', 'y']);
  assert.deepEqual(parseDockerignore(''), []);
});

test('patterns match paths, and everything below a matching directory', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'fileutils.go', true],
    ['*.go', 'fileutils.go', true],
    ['*.go', 'dir/fileutils.go', false], // `*` stays inside one directory
    ['docs', 'docs/README.md', true],
    ['docs/', 'docs/README.md', true],
    ['docs/*', 'docs/README.md', true],
    ['docs', 'docs2/x', false],
    ['**', 'file', true],
    ['**', 'dir/file', true],
    ['**/', 'dir/file', true],
    ['**/**', 'dir/file', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/dir2/file', true],
    ['dir/**', 'dir', false],
    ['**/dir', 'dir', true],
    ['**/dir', 'a/b/dir/file', true],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**file', 'file', true],
    ['**file', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file.txt', true],
    ['**/file*txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt**', 'a/file.txt', true],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['a[\\]]e', 'a]e', true],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcZdef', false],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abc/def', false],
    ['a\\\\', 'a\\', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'aXb', false],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['a^b-c]d', 'a^b-c]d', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['./docs/../src', 'src/main.go', true],
    ['ünïcode/?', 'ünïcode/é', true],
  ];
  for (const [pattern, path, want] of cases) assert.equal(excluded([pattern], path), want, `${pattern} ~ ${path}`);
  // a leading `/` is dropped by the file reader, not by the matcher (as in Docker)
  assert.equal(excluded(parseDockerignore('/src'), 'src/main.go'), true);
  assert.equal(excluded(['/src'], 'src/main.go'), false);
  assert.equal(excluded(['*'], '.'), false); // the context itself is never excluded
  assert.equal(excluded([], 'anything'), false);
});

test('! exceptions: the last matching pattern wins', () => {
  assert.equal(excluded(['*.go', '!fileutils.go'], 'fileutils.go'), false);
  assert.equal(excluded(['!fileutils.go', '*.go'], 'fileutils.go'), true);
  assert.equal(excluded(['docs', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(excluded(['docs', '!docs/README.md'], 'docs/other.md'), true);
  assert.equal(excluded(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
  assert.equal(excluded(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
  assert.equal(excluded(['**', '!dist/*.whl'], 'dist/x.whl'), false);
  assert.equal(excluded(['*.md', '!README*.md', 'README-secret.md'], 'README.md'), false);
  assert.equal(excluded(['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md'), true);
});

test('bad patterns are refused up front', () => {
  const bad = (patterns: string[], msg: string) => assert.throws(() => new DockerIgnore(patterns), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.status, 400);
    assert.equal(e.message, msg);
    return true;
  }, patterns.join(' '));
  bad(['!'], 'illegal exclusion pattern: "!"');
  bad(['['], 'syntax error in pattern');
  bad(['a[]b'], 'syntax error in pattern');
  bad(['a[-z]'], 'syntax error in pattern');
  bad(['[a-'], 'syntax error in pattern');
  bad(['ok', 'tail\\'], 'syntax error in pattern');
  assert.equal(new DockerIgnore(['', '  ']).empty, true);
  assert.deepEqual(new DockerIgnore(['a/', '!./b']).list(), ['a', '!b']);
});

test('matchesInWalk agrees with matches, walking top-down', () => {
  const patterns = ['build', '!build/keep', '**/*.tmp', 'docs/*', '!docs/index.md', 'x?z'];
  const m = new DockerIgnore(patterns);
  const tree = ['build', 'build/a', 'build/keep', 'build/keep/b', 'src', 'src/a.tmp', 'src/deep/b.tmp', 'src/deep/ok',
    'docs', 'docs/index.md', 'docs/other.md', 'xyz', 'xyz/inner', 'xz'];
  const infos = new Map<string, ParentMatches>();
  for (const p of tree) {
    const parent = p.includes('/') ? infos.get(p.slice(0, p.lastIndexOf('/'))) : undefined;
    const r = m.matchesInWalk(p, parent);
    infos.set(p, r.info);
    assert.equal(r.excluded, m.matches(p), p);
    assert.equal(m.matchesInWalk(p).excluded, m.matches(p), `${p} without parent info`);
  }
});

test('canSkipDir: only when no exception may reach inside', () => {
  assert.equal(new DockerIgnore(['build']).canSkipDir('build'), true);
  const m = new DockerIgnore(['build', 'docs', '!build/keep/this']);
  assert.equal(m.canSkipDir('build'), false);
  assert.equal(m.canSkipDir('build/keep'), false);
  assert.equal(m.canSkipDir('docs'), true);
});

test('the Dockerfile and .dockerignore: sent by the client, hidden by the daemon', () => {
  assert.deepEqual(trimBuildFilesFromExcludes(['*.md'], 'Dockerfile'), ['*.md']);
  assert.deepEqual(trimBuildFilesFromExcludes(['*'], 'Dockerfile'), ['*', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(trimBuildFilesFromExcludes(['docker'], 'docker/Dockerfile.dev'), ['docker', '!docker/Dockerfile.dev']);
  assert.deepEqual(trimBuildFilesFromExcludes(['.dockerignore', 'Dockerfile'], 'Dockerfile', true), ['.dockerignore', 'Dockerfile', '!.dockerignore']);
  assert.deepEqual(filesHiddenAfterParse(['*'], 'Dockerfile'), ['.dockerignore', 'Dockerfile']);
  assert.deepEqual(filesHiddenAfterParse(['Dockerfile'], 'Dockerfile'), ['Dockerfile']);
  assert.deepEqual(filesHiddenAfterParse(['*.md'], 'Dockerfile'), []);
  assert.deepEqual(filesHiddenAfterParse(['docker'], 'docker/Dockerfile'), ['docker/Dockerfile']);
});

test('goMatch is Go\'s filepath.Match', () => {
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true], ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['a[/]b', 'a/b', true],
    ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
    ['*x', 'xxx', true], ['*.txt', 'dir/a.txt', false], ['*/*.txt', 'dir/a.txt', true],
  ];
  for (const [pattern, name, want] of cases) assert.equal(goMatch(pattern, name), want, `${pattern} ~ ${name}`);
  for (const bad of ['[', '[^', '[^bc', 'a[', '[]a]', '[-]', '[x-]', '[\\', '\\', 'a[', 'a[]', '[a-', '*x[']) {
    assert.throws(() => goMatch(bad, 'x'), /syntax error in pattern/, bad);
  }
});

test('cleanPath and hasWildcards', () => {
  assert.deepEqual(['', '.', './a/', 'a//b', 'a/./b/..', '/../x', '../../x', '/', 'a/../..'].map(cleanPath),
    ['.', '.', 'a', 'a/b', 'a', '/x', '../../x', '/', '..']);
  assert.deepEqual(['a*', 'b?', 'c[d]', 'plain', 'esc\\*aped', 'esc\\\\*'].map(hasWildcards), [true, true, true, false, false, true]);
});
