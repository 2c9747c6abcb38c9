// distribution/platform: containerd-like platform matching in manifest lists.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { selectManifest, matchingManifests, parsePlatform, normalizePlatform, compatiblePlatforms, formatPlatform, hostPlatform } from '../../src/distribution/platform';
import type { ManifestIndex, ManifestDescriptor } from '../../src/distribution/media-types';

const d = (n: number, platform?: ManifestDescriptor['platform'], annotations?: Record<string, string>): ManifestDescriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 100 + n,
  ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}),
});
const index = (...manifests: ManifestDescriptor[]): ManifestIndex => ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });

const typical = index(
  d(1, { os: 'linux', architecture: 'amd64' }),
  d(2, { os: 'linux', architecture: 'arm', variant: 'v6' }),
  d(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
  d(4, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
  d(5, { os: 'linux', architecture: '386' }),
  d(6, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
  d(7, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': 'sha256:x' }),
);

test('exact platform matches', () => {
  assert.equal(selectManifest(typical, { os: 'linux', architecture: 'amd64' })?.size, 101);
  assert.equal(selectManifest(typical, { os: 'linux', architecture: 'arm64' })?.size, 104);
  assert.equal(selectManifest(typical, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.size, 104);
  assert.equal(selectManifest(typical, { os: 'linux', architecture: 'arm' })?.size, 103, 'arm means arm/v7');
  assert.equal(selectManifest(typical, { os: 'linux', architecture: 'arm', variant: 'v6' })?.size, 102);
  assert.equal(selectManifest(typical, { os: 'windows', architecture: 'amd64' })?.size, 106);
  assert.equal(selectManifest(typical, { os: 'linux', architecture: '386' })?.size, 105);
});

test('fallbacks, best first: amd64 → 386, arm64 → arm/v8…v5, arm/v7 → v6 → v5; never upwards', () => {
  assert.equal(selectManifest(index(d(5, { os: 'linux', architecture: '386' })), { os: 'linux', architecture: 'amd64' })?.size, 105);
  const armOnly = index(d(2, { os: 'linux', architecture: 'arm', variant: 'v6' }), d(3, { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.equal(selectManifest(armOnly, { os: 'linux', architecture: 'arm64' })?.size, 103);
  assert.equal(selectManifest(armOnly, { os: 'linux', architecture: 'arm', variant: 'v7' })?.size, 103);
  assert.equal(selectManifest(index(d(2, { os: 'linux', architecture: 'arm', variant: 'v6' })), { os: 'linux', architecture: 'arm', variant: 'v7' })?.size, 102);
  assert.equal(selectManifest(index(d(3, { os: 'linux', architecture: 'arm', variant: 'v7' })), { os: 'linux', architecture: 'arm', variant: 'v6' }), undefined);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'amd64' })), { os: 'linux', architecture: 'arm64' }), undefined);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'amd64', variant: 'v3' })), { os: 'linux', architecture: 'amd64' }), undefined);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'amd64', variant: 'v2' })), { os: 'linux', architecture: 'amd64', variant: 'v3' })?.size, 101);
  assert.equal(selectManifest(index(d(1, { os: 'windows', architecture: 'amd64' })), { os: 'linux', architecture: 'amd64' }), undefined);
});

test('aliases in the list: aarch64, x86_64, armhf, arm64 without variant', () => {
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'aarch64' })), { os: 'linux', architecture: 'arm64', variant: 'v8' })?.size, 101);
  assert.equal(selectManifest(index(d(1, { os: 'Linux', architecture: 'x86_64' })), { os: 'linux', architecture: 'amd64' })?.size, 101);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'armhf' })), { os: 'linux', architecture: 'arm', variant: 'v7' })?.size, 101);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'arm64', variant: 'v8.2' })), { os: 'linux', architecture: 'arm64', variant: 'v8' }), undefined);
  assert.equal(selectManifest(index(d(1, { os: 'linux', architecture: 'arm64' })), { os: 'linux', architecture: 'arm64', variant: 'v8.2' })?.size, 101);
});

test('attestations never match; entries without platform match last', () => {
  const att = index(d(7, { os: 'linux', architecture: 'amd64' }, { 'vnd.docker.reference.type': 'attestation-manifest' }));
  assert.equal(selectManifest(att, { os: 'linux', architecture: 'amd64' }), undefined);
  const mixed = index(d(8), d(1, { os: 'linux', architecture: 'amd64' }));
  assert.deepEqual(matchingManifests(mixed, { os: 'linux', architecture: 'amd64' }).map((m) => m.size), [101, 108]);
  assert.equal(selectManifest(index(d(8)), { os: 'linux', architecture: 'arm64' })?.size, 108);
  assert.equal(selectManifest(index(), { os: 'linux', architecture: 'amd64' }), undefined);
});

test('order: exact before fallback regardless of list order', () => {
  const l = index(d(5, { os: 'linux', architecture: '386' }), d(1, { os: 'linux', architecture: 'amd64' }));
  assert.equal(selectManifest(l, { os: 'linux', architecture: 'amd64' })?.size, 101);
});

test('default platform is this host', () => {
  const h = hostPlatform();
  assert.equal(h.os, 'linux');
  assert.equal(h.architecture, process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : h.architecture);
  if (process.arch === 'arm64') assert.equal(h.variant, 'v8');
  const l = index(d(1, { os: 'linux', architecture: 'amd64' }), d(4, { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.equal(selectManifest(l)?.size, process.arch === 'arm64' ? 104 : 101);
});

test('parsePlatform and normalization', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform(''), hostPlatform());
  assert.deepEqual(parsePlatform(undefined), hostPlatform());
  assert.throws(() => parsePlatform('linux/a/b/c'), /unknown operating system or architecture/);
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armel' }), { os: 'linux', architecture: 'arm', variant: 'v6' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'i386' }), { os: 'linux', architecture: '386' });
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 'linux/arm64/v8');
  assert.deepEqual(compatiblePlatforms({ os: 'linux', architecture: 'arm64' }).map(formatPlatform),
    ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
});
