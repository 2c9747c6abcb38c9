import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EngineError } from '../../src/common/errors';
import { familiarName, parseReference, referenceString } from '../../src/storage/reference';

const D = 'sha256:' + 'a'.repeat(64);

test('normalizes names like docker', () => {
  assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.deepEqual(parseReference('user/app:1.0'), { domain: 'docker.io', path: 'user/app', tag: '1.0' });
  assert.deepEqual(parseReference('localhost:5000/app:1'), { domain: 'localhost:5000', path: 'app', tag: '1' });
  assert.deepEqual(parseReference('localhost/app'), { domain: 'localhost', path: 'app', tag: 'latest' });
  assert.deepEqual(parseReference('index.docker.io/library/busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.deepEqual(parseReference('ghcr.io/a/b/c:v'), { domain: 'ghcr.io', path: 'a/b/c', tag: 'v' });
  assert.deepEqual(parseReference(`x@${D}`), { domain: 'docker.io', path: 'library/x', digest: D });
  assert.deepEqual(parseReference(`x:1@${D}`), { domain: 'docker.io', path: 'library/x', tag: '1', digest: D });
  assert.deepEqual(parseReference('[::1]:5000/app'), { domain: '[::1]:5000', path: 'app', tag: 'latest' });
  assert.equal(referenceString(parseReference('busybox')), 'docker.io/library/busybox:latest');
});

test('familiar names, as RepoTags show them', () => {
  assert.equal(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarName('busybox'), 'busybox:latest');
  assert.equal(familiarName('docker.io/user/app:2'), 'user/app:2');
  assert.equal(familiarName('docker.io/library/a/b:2'), 'library/a/b:2');
  assert.equal(familiarName('localhost:5000/app:1'), 'localhost:5000/app:1');
  assert.equal(familiarName(`x@${D}`), `x@${D}`);
});

function rejects(ref: string, message: string): void {
  assert.throws(() => parseReference(ref), (err: unknown) => {
    assert.ok(err instanceof EngineError);
    assert.equal(err.status, 400);
    assert.equal(err.message, message);
    return true;
  }, ref);
}

test('invalid references get docker\'s texts', () => {
  rejects('Foo', 'invalid reference format: repository name (library/Foo) must be lowercase');
  rejects('localhost:5000/Foo:1', 'invalid reference format: repository name (Foo) must be lowercase');
  rejects('a b', 'invalid reference format');
  rejects('busybox:', 'invalid reference format');
  rejects(':tag', 'invalid reference format');
  rejects('-x', 'invalid reference format');
  rejects('x:' + 't'.repeat(129), 'invalid reference format');
  rejects('a'.repeat(64), `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`);
  rejects(`x@sha256:${'a'.repeat(63)}`, 'invalid checksum digest length');
  rejects(`x@sha256:${'a'.repeat(31)}`, 'invalid reference format');
  rejects(`x@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format');
  rejects(`x@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm');
  rejects('x'.repeat(256), 'invalid reference format: repository name must not be more than 255 characters');
});
