// The registry's pure parts: name/tag/digest grammars, URL routing, Range and Content-Range parsing,
// --addr parsing, manifest validation and htpasswd parsing.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { validName, validTag, looksLikeDigest, supportedDigest } from '../../src/registry/names';
import { route } from '../../src/registry/routes';
import { parseRange, parseContentRange, uploadRange } from '../../src/registry/range';
import { parseAddr } from '../../src/registry/server';
import { parseManifest, MediaType } from '../../src/registry/manifests';
import { parseHtpasswd } from '../../src/registry/auth';
import { RegistryError } from '../../src/registry/errors';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'b'.repeat(64)}`;

test('repository names, tags and digests follow the spec grammar', () => {
  for (const ok of ['a', 'library/busybox', 'a/b/c/d', 'x.y', 'x_y', 'x__y', 'x--y', 'a0/b1-c.d']) assert.ok(validName(ok), ok);
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '.a', 'a.', 'a___b', 'a/_b', 'a..b', 'a/../b', 'a'.repeat(256)]) assert.ok(!validName(bad), bad);
  for (const ok of ['latest', 'v1.2.3', '_x', 'A-b_c.d', 'a'.repeat(128)]) assert.ok(validTag(ok), ok);
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'a'.repeat(129)]) assert.ok(!validTag(bad), bad);
  assert.ok(supportedDigest(D));
  assert.ok(!supportedDigest(`sha256:${'A'.repeat(64)}`));
  assert.ok(looksLikeDigest(`sha512:${'a'.repeat(128)}`) && !supportedDigest(`sha512:${'a'.repeat(128)}`));
  assert.ok(!looksLikeDigest('sha256'));
});

test('routes are matched from the end of the path; names are validated', () => {
  assert.deepEqual(route('/v2/'), { kind: 'base' });
  assert.deepEqual(route('/v2'), { kind: 'base' });
  assert.deepEqual(route('/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(route('/v2/a/b/tags/list'), { kind: 'tags', name: 'a/b' });
  assert.deepEqual(route('/v2/a/manifests/latest'), { kind: 'manifest', name: 'a', ref: 'latest' });
  assert.deepEqual(route(`/v2/a/blobs/${D}`), { kind: 'blob', name: 'a', digest: D });
  assert.deepEqual(route(`/v2/a/blobs/sha256%3A${'a'.repeat(64)}`), { kind: 'blob', name: 'a', digest: D });
  assert.deepEqual(route('/v2/a/blobs/uploads/'), { kind: 'uploadStart', name: 'a' });
  assert.deepEqual(route('/v2/a/blobs/uploads/xyz'), { kind: 'upload', name: 'a', uuid: 'xyz' });
  // components named like endpoints are still names
  assert.deepEqual(route(`/v2/blobs/manifests/blobs/${D}`), { kind: 'blob', name: 'blobs/manifests', digest: D });
  assert.deepEqual(route(`/v2/a/referrers/${D}`), { kind: 'referrers', name: 'a', digest: D });
  assert.equal(route('/v1/x'), undefined);
  assert.equal(route('/v2/a/nothing'), undefined);
  assert.throws(() => route('/v2/A/tags/list'), (e: RegistryError) => e.code === 'NAME_INVALID');
});

test('Range and Content-Range parsing', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-1000', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-1', 100), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
  assert.equal(parseRange('items=0-1', 100), undefined);
  assert.equal(parseRange(undefined, 100), undefined);
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.equal(parseContentRange('9-1'), null);
  assert.equal(parseContentRange('x'), null);
  assert.equal(parseContentRange(undefined), undefined);
  assert.equal(uploadRange(0), '0-0');
  assert.equal(uploadRange(10), '0-9');
});

test('--addr forms', () => {
  assert.deepEqual(parseAddr('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseAddr(':5000'), { host: undefined, port: 5000 });
  assert.deepEqual(parseAddr('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseAddr('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['5000', '1.2.3.4', '1.2.3.4:99999', 'a:b']) assert.throws(() => parseAddr(bad), bad);
});

const desc = (digest: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', size = 10) => ({ mediaType, digest, size });

test('manifest parsing: kinds, media types, references, subject', () => {
  const m = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(D, 'application/vnd.oci.image.config.v1+json'), layers: [desc(E), { ...desc(D), urls: ['https://example.com/x'] }] };
  const p = parseManifest(Buffer.from(JSON.stringify(m)), MediaType.ociManifest);
  assert.equal(p.meta.mediaType, MediaType.ociManifest);
  assert.deepEqual(p.blobs.map((b) => b.digest), [D, E], 'foreign layers (urls) are not required');
  assert.equal(p.meta.subject, undefined);

  // no mediaType field: the Content-Type decides; parameters are ignored
  const { mediaType: _m, ...bare } = m;
  assert.equal(parseManifest(Buffer.from(JSON.stringify(bare)), `${MediaType.dockerManifest}; charset=utf-8`).meta.mediaType, MediaType.dockerManifest);
  // nothing at all: inferred as OCI
  assert.equal(parseManifest(Buffer.from(JSON.stringify(bare)), 'application/json').meta.mediaType, MediaType.ociManifest);

  const idx = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc(D, MediaType.ociManifest)], subject: desc(E, MediaType.ociManifest), artifactType: 'application/x', annotations: { a: 'b' } };
  const pi = parseManifest(Buffer.from(JSON.stringify(idx)), MediaType.ociIndex);
  assert.deepEqual(pi.manifests.map((d) => d.digest), [D]);
  assert.deepEqual(pi.meta, { mediaType: MediaType.ociIndex, size: JSON.stringify(idx).length, subject: E, artifactType: 'application/x', annotations: { a: 'b' } });

  const invalid = (doc: unknown, ct: string = MediaType.ociManifest) =>
    assert.throws(() => parseManifest(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), ct), (e: RegistryError) => e.code === 'MANIFEST_INVALID', JSON.stringify(doc));
  invalid('not json');
  invalid([]);
  invalid({ ...m, schemaVersion: 1 });
  invalid({ ...m, mediaType: MediaType.dockerManifest });
  invalid({ ...m, mediaType: 'application/x-unknown' }, 'application/x-unknown');
  invalid({ ...m, config: undefined });
  invalid({ ...m, layers: 'x' });
  invalid({ ...m, layers: [{ ...desc(E), size: -1 }] });
  invalid({ ...m, layers: [{ ...desc(E), digest: 'sha256:zz' }] });
  invalid({ ...m, layers: [{ ...desc(E), digest: `sha512:${'a'.repeat(128)}` }] });
  invalid({ ...m, manifests: [] });
  invalid({ ...idx, layers: [] }, MediaType.ociIndex);
  invalid({ ...idx, annotations: { a: 1 } }, MediaType.ociIndex);
});

test('htpasswd parsing keeps bcrypt entries only', () => {
  const h = '$2y$05$' + 'a'.repeat(53);
  const users = parseHtpasswd(`# comment\n\nalice:${h}\nbob:{SHA}abcdef=\ncarol:$apr1$xyz$abc\n  dave:${h.replace('$2y$', '$2b$')}  \n`);
  assert.deepEqual([...users.keys()], ['alice', 'dave']);
});
