// distribution/ against Debian's docker-registry (CNCF distribution 2.8): push and pull blobs and manifests,
// tags, cross-repository mounts, transfers resumed through a proxy that cuts the connection, digest checks,
// docker's error texts, Basic auth (htpasswd) and token auth (test/helpers/token-server.ts in front).
import { test, before, after, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  RegistryClient, RegistryError, resolveEndpoint, pullErrorMessage, pushErrorMessage, login, loginError, MediaType, selectManifest,
  parseManifest, closeIdleConnections, clearTokenCache,
} from '../../src/distribution';
import { resetEndpointMemory } from '../../src/distribution/endpoint';
import { startDockerRegistry, startFlakyProxy, DockerRegistry } from '../helpers/registry';
import { startTokenRegistry } from '../helpers/token-server';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Blob { data: Buffer; digest: string }
const mkBlob = (data: Buffer): Blob => ({ data, digest: sha256(data) });

/** A source yielding `data` from `offset` in 256 KiB pieces, recording each open. */
function source(data: Buffer, opens: number[]) {
  return (offset: number) => {
    opens.push(offset);
    return (async function* () {
      for (let o = offset; o < data.length; o += 256 << 10) yield data.subarray(o, Math.min(o + (256 << 10), data.length));
    })();
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function imageManifest(config: Blob, layers: Blob[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, digest: config.digest, size: config.data.length },
    layers: layers.map((l) => ({ mediaType: MediaType.DockerLayer, digest: l.digest, size: l.data.length })),
  }, null, 3));
}

async function pushImage(c: RegistryClient, tag: string, layers: Blob[]): Promise<{ config: Blob; manifest: Buffer; digest: string }> {
  const config = mkBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } })));
  for (const b of [...layers, config]) if (!(await c.hasBlob(b.digest))) await c.pushBlob(b.digest, b.data.length, source(b.data, []));
  const manifest = imageManifest(config, layers);
  const digest = await c.putManifest(tag, MediaType.DockerManifest, manifest);
  return { config, manifest, digest };
}

describe('docker-registry without auth', () => {
  let reg: DockerRegistry;
  before(async () => { reg = await startDockerRegistry(); });
  after(async () => { await reg?.stop(); closeIdleConnections(); });

  test('push blobs (monolithic and chunked) and a manifest, pull them back, tags, index', async () => {
    resetEndpointMemory();
    const c = new RegistryClient(resolveEndpoint(reg.host), 'test/app', { actions: ['push', 'pull'] });
    const big = mkBlob(randomBytes(3 << 20));
    const small = mkBlob(randomBytes(1000));
    const chunked = mkBlob(randomBytes((2 << 20) + 12345));
    assert.equal(await c.hasBlob(big.digest), false);
    let progress = 0;
    await c.pushBlob(big.digest, big.data.length, source(big.data, []), { onBytes: (n) => { progress += n; } });
    assert.equal(progress, big.data.length);
    assert.equal(c.baseUrl, `http://${reg.host}`, 'https was tried, then http');
    await c.pushBlob(small.digest, small.data.length, source(small.data, []));
    await c.pushBlob(chunked.digest, chunked.data.length, source(chunked.data, []), { chunkSize: 1 << 20 });
    const empty = mkBlob(Buffer.alloc(0));
    await c.pushBlob(empty.digest, 0, source(empty.data, []));
    for (const b of [big, small, chunked, empty]) assert.equal(await c.hasBlob(b.digest), true);

    const { config, manifest, digest } = await pushImage(c, 'v1', [big, small, chunked]);
    assert.equal(digest, sha256(manifest));
    await c.putManifest('v2', MediaType.DockerManifest, manifest);

    const byTag = await c.getManifest('v1');
    assert.equal(byTag.mediaType, MediaType.DockerManifest);
    assert.equal(byTag.digest, digest);
    assert.ok(byTag.bytes.equals(manifest), 'the exact bytes come back');
    const byDigest = await c.getManifest(digest);
    assert.ok(byDigest.bytes.equals(manifest));
    assert.deepEqual(await c.headManifest('v1'), { mediaType: MediaType.DockerManifest, digest, size: manifest.length });
    assert.equal(await c.headManifest('nope'), undefined);

    const parsed = parseManifest(byTag.bytes, byTag.mediaType);
    assert.equal(parsed.kind, 'manifest');
    let counted = 0;
    for (const l of parsed.kind === 'manifest' ? parsed.manifest.layers : []) {
      const got = await collect(c.fetchBlob(l.digest, { size: l.size, verify: true, onBytes: (n) => { counted += n; } }));
      assert.equal(sha256(got), l.digest);
    }
    assert.equal(counted, big.data.length + small.data.length + chunked.data.length);
    assert.ok((await c.getBlob(config.digest)).equals(config.data));
    assert.deepEqual((await c.listTags()).sort(), ['v1', 'v2']);

    // an OCI index pointing at the manifest, pushed by digest and by tag
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.OciIndex,
      manifests: [
        { mediaType: MediaType.DockerManifest, digest, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.DockerManifest, digest, size: manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }));
    const indexDigest = await c.putManifest(sha256(index), MediaType.OciIndex, index);
    await c.putManifest('multi', MediaType.OciIndex, index);
    const gotIndex = await c.getManifest('multi');
    assert.equal(gotIndex.mediaType, MediaType.OciIndex);
    assert.equal(gotIndex.digest, indexDigest);
    const p = parseManifest(gotIndex.bytes, gotIndex.mediaType);
    assert.equal(p.kind === 'index' && selectManifest(p.index, { os: 'linux', architecture: 'arm64' })?.platform?.architecture, 'arm64');
  });

  test('cross-repository mount; a refused mount leaves a session that pushBlob uses', async () => {
    const src = new RegistryClient(resolveEndpoint(reg.host), 'mount/src', { actions: ['push', 'pull'] });
    const dst = new RegistryClient(resolveEndpoint(reg.host), 'mount/dst', { actions: ['push', 'pull'] });
    const b = mkBlob(randomBytes(200_000));
    await src.pushBlob(b.digest, b.data.length, source(b.data, []));
    assert.equal(await dst.hasBlob(b.digest), false);
    assert.equal(await dst.mountBlob(b.digest, 'mount/src'), true);
    assert.equal(await dst.hasBlob(b.digest), true);
    const other = mkBlob(randomBytes(1000));
    assert.equal(await dst.mountBlob(other.digest, 'mount/src'), false);
    await dst.pushBlob(other.digest, other.data.length, source(other.data, []));
    assert.ok((await collect(dst.fetchBlob(other.digest, { verify: true }))).equals(other.data));
  });

  test('download resumed after the connection is cut mid-blob', async () => {
    const c = new RegistryClient(resolveEndpoint(reg.host), 'resume/dl', { actions: ['push', 'pull'] });
    const b = mkBlob(randomBytes(4 << 20));
    await c.pushBlob(b.digest, b.data.length, source(b.data, []));
    const proxy = await startFlakyProxy(reg.host, { cutAfterBytes: 1_500_000, direction: 'download' });
    try {
      const viaProxy = new RegistryClient({ domain: proxy.host, baseUrl: `http://${proxy.host}`, insecure: true }, 'resume/dl', { actions: ['pull'], retryDelayMs: 10 });
      let n = 0;
      const got = await collect(viaProxy.fetchBlob(b.digest, { size: b.data.length, verify: true, onBytes: (k) => { n += k; } }));
      assert.equal(proxy.cuts(), 1);
      assert.ok(got.equals(b.data));
      assert.equal(n, b.data.length, 'no byte delivered twice');
    } finally {
      await proxy.stop();
    }
  });

  test('upload resumed (or restarted) after the connection is cut mid-blob', async () => {
    const b = mkBlob(randomBytes(4 << 20));
    const proxy = await startFlakyProxy(reg.host, { cutAfterBytes: 2_000_000, direction: 'upload' });
    try {
      const c = new RegistryClient({ domain: proxy.host, baseUrl: `http://${proxy.host}`, insecure: true }, 'resume/ul', { actions: ['push', 'pull'], retryDelayMs: 10 });
      const opens: number[] = [];
      let position = 0;
      await c.pushBlob(b.digest, b.data.length, source(b.data, opens), { onBytes: (n) => { position += n; } });
      assert.equal(proxy.cuts(), 1);
      assert.equal(opens.length, 2, `opened at ${opens}`);
      assert.equal(opens[0], 0);
      assert.equal(position, b.data.length);
      // distribution 2.8 cancels an upload whose size on disk no longer matches its _state offset, so here the
      // client starts over (opens[1] === 0); registries that report the real offset get a resume (unit tests)
      assert.ok(opens[1] >= 0 && opens[1] < b.data.length);
      assert.ok((await collect(c.fetchBlob(b.digest, { verify: true }))).equals(b.data));
    } finally {
      await proxy.stop();
    }
  });

  test('digest mismatches: an upload under the wrong digest, corrupted storage on download', async () => {
    const c = new RegistryClient(resolveEndpoint(reg.host), 'verify/app', { actions: ['push', 'pull'] });
    const b = mkBlob(randomBytes(100_000));
    const wrong = sha256(Buffer.from('something else'));
    await assert.rejects(c.pushBlob(wrong, b.data.length, source(b.data, [])), (e: RegistryError) =>
      e.code === 'DIGEST_INVALID' && e.message === 'digest invalid: provided digest did not match uploaded content' && pushErrorMessage(e) === e.message);
    await c.pushBlob(b.digest, b.data.length, source(b.data, []));
    const { manifest, digest } = await pushImage(c, 'v1', [b]);
    // flip bytes in the registry's files: same sizes, different content
    const blobFile = (d: string) => path.join(reg.dir, 'data/docker/registry/v2/blobs/sha256', d.slice(7, 9), d.slice(7), 'data');
    const corrupt = Buffer.from(b.data);
    corrupt[1234] ^= 0xff;
    fs.writeFileSync(blobFile(b.digest), corrupt);
    await assert.rejects(collect(c.fetchBlob(b.digest, { verify: true })), (e: RegistryError) =>
      e.kind === 'verify' && e.message === `filesystem layer verification failed for digest ${b.digest}`);
    const m = Buffer.from(manifest);
    m[m.length - 2] = 0x20;
    fs.writeFileSync(blobFile(digest), m);
    await assert.rejects(c.getManifest(digest), (e: RegistryError) => e.message === `manifest verification failed for digest ${digest}`);
    await assert.rejects(c.getManifest('v1'), /manifest verification failed for digest/);
  });

  test("unknown manifests, unknown repositories, a manifest naming missing blobs: docker's texts", async () => {
    const c = new RegistryClient(resolveEndpoint(reg.host), 'test/app', { actions: ['push', 'pull'] });
    await assert.rejects(c.getManifest('nope'), (e: RegistryError) => {
      assert.equal(e.code, 'MANIFEST_UNKNOWN');
      assert.equal(e.status, 404);
      assert.equal(pullErrorMessage(e, `${reg.host}/test/app:nope`), `manifest for ${reg.host}/test/app:nope not found: manifest unknown: manifest unknown`);
      return true;
    });
    const none = new RegistryClient(resolveEndpoint(reg.host), 'no/such/repo', { actions: ['pull'] });
    await assert.rejects(none.listTags(), (e: RegistryError) => e.code === 'NAME_UNKNOWN' &&
      pullErrorMessage(e, `${reg.host}/no/such/repo`) === `repository ${reg.host}/no/such/repo not found: name unknown: repository name not known to registry`);
    assert.equal(await none.hasBlob(sha256(Buffer.from('x'))), false);
    const missing = mkBlob(Buffer.from('not pushed'));
    await assert.rejects(c.putManifest('broken', MediaType.DockerManifest, imageManifest(missing, [])), (e: RegistryError) =>
      e.code === 'MANIFEST_BLOB_UNKNOWN' && pushErrorMessage(e) === 'manifest blob unknown: blob unknown to registry');
  });

  test('connection refused: the Go-style text for the http fallback', async () => {
    const c = new RegistryClient(resolveEndpoint('127.0.0.1:1'), 'x', { actions: ['pull'] });
    await assert.rejects(c.getManifest('latest'), (e: RegistryError) =>
      e.kind === 'transport' && e.message === 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused');
    const secure = new RegistryClient(resolveEndpoint('registry.invalid'), 'x', { actions: ['pull'] });
    await assert.rejects(secure.getManifest('latest'), (e: RegistryError) => e.message === 'Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host');
  });
});

describe('docker-registry with htpasswd (Basic auth)', () => {
  let reg: DockerRegistry;
  before(async () => { reg = await startDockerRegistry({ htpasswd: { alice: 'wonderland' } }); });
  after(async () => { await reg?.stop(); closeIdleConnections(); });

  test('push and pull with credentials; without or with wrong ones, docker texts', async () => {
    const ep = resolveEndpoint(reg.host);
    const c = new RegistryClient(ep, 'basic/app', { actions: ['push', 'pull'], auth: { username: 'alice', password: 'wonderland' } });
    const b = mkBlob(randomBytes(50_000));
    await pushImage(c, 'v1', [b]);
    assert.ok((await collect(c.fetchBlob(b.digest, { verify: true }))).equals(b.data));
    // the `auth` field alone works too
    const viaAuthField = new RegistryClient(ep, 'basic/app', { actions: ['pull'], auth: { auth: Buffer.from('alice:wonderland').toString('base64') } });
    assert.equal((await viaAuthField.getManifest('v1')).mediaType, MediaType.DockerManifest);

    const anon = new RegistryClient(ep, 'basic/app', { actions: ['pull'] });
    await assert.rejects(anon.getManifest('v1'), (e: RegistryError) => e.message === `Get "http://${reg.host}/v2/basic/app/manifests/v1": no basic auth credentials`);
    const wrong = new RegistryClient(ep, 'basic/app', { actions: ['pull'], auth: { username: 'alice', password: 'nope' } });
    await assert.rejects(wrong.getManifest('v1'), (e: RegistryError) => e.code === 'UNAUTHORIZED' && pullErrorMessage(e, `${reg.host}/basic/app:v1`) === 'unauthorized: authentication required');

    assert.deepEqual(await login(ep, { username: 'alice', password: 'wonderland' }), { status: 'Login Succeeded' });
    await assert.rejects(login(ep, { username: 'alice', password: 'nope' }), (e: Error) => {
      assert.equal(e.message, `login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`);
      assert.equal(loginError(e).status, 500);
      return true;
    });
  });
});

describe('token auth (token-server in front of docker-registry)', () => {
  let reg: DockerRegistry;
  let front: Awaited<ReturnType<typeof startTokenRegistry>>;
  before(async () => {
    reg = await startDockerRegistry();
    front = await startTokenRegistry({ users: { alice: 'pw-a', bob: 'pw-b' }, readOnly: ['bob'], upstream: reg.url });
  });
  after(async () => { await front?.stop(); await reg?.stop(); closeIdleConnections(); });

  test('push with a token for push,pull; tokens are cached per scope and credentials', async () => {
    clearTokenCache();
    const ep = resolveEndpoint(front.host);
    const alice = { username: 'alice', password: 'pw-a' };
    const c = new RegistryClient(ep, 'tok/app', { actions: ['push', 'pull'], auth: alice });
    const b = mkBlob(randomBytes(300_000));
    await pushImage(c, 'v1', [b]);
    assert.equal(front.tokenRequests.length, 1, JSON.stringify(front.tokenRequests));
    const t = front.tokenRequests[0];
    assert.deepEqual({ method: t.method, user: t.user, account: t.account, scopes: t.scopes }, { method: 'GET', user: 'alice', account: 'alice', scopes: ['repository:tok/app:push,pull'] });
    // another client, same credentials and scopes: the cached token
    const again = new RegistryClient(ep, 'tok/app', { actions: ['push', 'pull'], auth: alice });
    assert.deepEqual(await again.listTags(), ['v1']);
    assert.equal(front.tokenRequests.length, 1);
    // a mount asks for pull on the source repository as well
    const dst = new RegistryClient(ep, 'tok/dst', { actions: ['push', 'pull'], auth: alice });
    assert.equal(await dst.mountBlob(b.digest, 'tok/app'), true);
    assert.deepEqual(front.tokenRequests.at(-1)!.scopes, ['repository:tok/dst:push,pull', 'repository:tok/app:pull']);
    // the server forgets its tokens: one 401 invalid_token, a new token, the request succeeds
    front.revokeTokens();
    const before = front.tokenRequests.length;
    assert.equal((await again.getManifest('v1')).mediaType, MediaType.DockerManifest);
    assert.equal(front.tokenRequests.length, before + 1);
  });

  test('read-only user: pull works, push is denied; anonymous and wrong passwords get docker texts', async () => {
    clearTokenCache();
    const ep = resolveEndpoint(front.host);
    const alice = new RegistryClient(ep, 'tok/ro', { actions: ['push', 'pull'], auth: { username: 'alice', password: 'pw-a' } });
    const b = mkBlob(randomBytes(10_000));
    await pushImage(alice, 'v1', [b]);

    const bobPull = new RegistryClient(ep, 'tok/ro', { actions: ['pull'], auth: { username: 'bob', password: 'pw-b' } });
    assert.ok((await collect(bobPull.fetchBlob(b.digest, { verify: true }))).equals(b.data));
    const bobPush = new RegistryClient(ep, 'tok/ro', { actions: ['push', 'pull'], auth: { username: 'bob', password: 'pw-b' } });
    const nb = mkBlob(randomBytes(100));
    await assert.rejects(bobPush.pushBlob(nb.digest, nb.data.length, source(nb.data, [])), (e: RegistryError) =>
      e.code === 'DENIED' && pushErrorMessage(e) === 'denied: requested access to the resource is denied');

    const anon = new RegistryClient(ep, 'tok/ro', { actions: ['pull'] });
    await assert.rejects(anon.getManifest('v1'), (e: RegistryError) => e.code === 'DENIED' && pullErrorMessage(e, `${front.host}/tok/ro:v1`) ===
      `pull access denied for ${front.host}/tok/ro, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);

    const wrong = new RegistryClient(ep, 'tok/ro', { actions: ['pull'], auth: { username: 'bob', password: 'nope' } });
    await assert.rejects(wrong.getManifest('v1'), (e: RegistryError) =>
      e.kind === 'auth' && pullErrorMessage(e, `${front.host}/tok/ro:v1`) === `Get "http://${front.host}/v2/tok/ro/manifests/v1": unauthorized: incorrect username or password`);
  });

  test('login returns an identity token that later authenticates with the refresh_token grant', async () => {
    clearTokenCache();
    const ep = resolveEndpoint(front.host);
    const res = await login(ep, { username: 'alice', password: 'pw-a' });
    assert.equal(res.status, 'Login Succeeded');
    assert.ok(res.identityToken);
    const t = front.tokenRequests.at(-1)!;
    assert.deepEqual({ method: t.method, offline: t.offline, clientId: t.clientId, scopes: t.scopes, user: t.user }, { method: 'GET', offline: true, clientId: 'docker', scopes: [], user: 'alice' });
    await assert.rejects(login(ep, { username: 'alice', password: 'bad' }), (e: Error) => {
      assert.equal(e.message, `Get "http://${front.host}/v2/": unauthorized: incorrect username or password`);
      assert.equal(loginError(e).status, 401);
      return true;
    });

    const c = new RegistryClient(ep, 'tok/idt', { actions: ['push', 'pull'], auth: { identitytoken: res.identityToken } });
    const b = mkBlob(randomBytes(1000));
    await c.pushBlob(b.digest, b.data.length, source(b.data, []));
    const r = front.tokenRequests.at(-1)!;
    assert.deepEqual({ method: r.method, grantType: r.grantType, user: r.user, scopes: r.scopes, clientId: r.clientId },
      { method: 'POST', grantType: 'refresh_token', user: 'alice', scopes: ['repository:tok/idt:push,pull'], clientId: 'docker' });
    assert.deepEqual(await login(ep, { identitytoken: res.identityToken }), { status: 'Login Succeeded', identityToken: res.identityToken });
  });
});
