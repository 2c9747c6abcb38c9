// `berth registry serve` end to end: the real binary on a free port with a temporary root, driven with
// fetch through every endpoint (good and bad input), restarted on the same root, used by skopeo to copy
// an image in and back out, behind htpasswd (bcrypt) authentication and behind TLS.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import * as http from 'http';
import * as https from 'https';
import { randomBytes } from 'crypto';
import { RegistryServer, makeImage, writeOciLayout, tempDir, sha256, run, TestImage } from './registry-fixture';


const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

let work: string;
let root: string;
let reg: RegistryServer;
const servers: RegistryServer[] = [];

async function startServer(r: string, extra: string[] = []): Promise<RegistryServer> {
  const s = new RegistryServer(r, extra);
  servers.push(s);
  return s.start();
}

before(async () => {
  work = await tempDir('berth-registry-it-');
  root = path.join(work, 'root');
  reg = await startServer(root);
});

after(async () => {
  for (const s of servers) await s.stop();
  await fs.rm(work, { recursive: true, force: true });
});

const u = (p: string) => `${reg.url}${p}`;

async function errorCode(res: Response): Promise<string> {
  const body = await res.json() as { errors: Array<{ code: string }> };
  return body.errors[0].code;
}

async function pushBlob(name: string, data: Buffer): Promise<Response> {
  return fetch(u(`/v2/${name}/blobs/uploads/?digest=${sha256(data)}`), { method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
}

async function pushImage(name: string, img: TestImage, ref: string): Promise<Response> {
  for (const b of [img.config, ...img.layers]) assert.equal((await pushBlob(name, b)).status, 201);
  return fetch(u(`/v2/${name}/manifests/${ref}`), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
}

/** Every file under a directory (relative paths). */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try { entries = await fs.readdir(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p); else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

test('GET /v2/ answers 200 with the API version header', async () => {
  const res = await fetch(u('/v2/'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.deepEqual(await res.json(), {});
});

test('monolithic upload, HEAD and GET of a blob', async () => {
  const data = randomBytes(100_000);
  const res = await pushBlob('mono/a', data);
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('location'), `/v2/mono/a/blobs/${sha256(data)}`);
  assert.equal(res.headers.get('docker-content-digest'), sha256(data));

  const head = await fetch(u(`/v2/mono/a/blobs/${sha256(data)}`), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(data.length));
  assert.equal(head.headers.get('docker-content-digest'), sha256(data));

  const get = await fetch(u(`/v2/mono/a/blobs/${sha256(data)}`));
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('content-type'), 'application/octet-stream');
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(data));

  // a blob is only visible in the repositories it was pushed to (or mounted into)
  const other = await fetch(u(`/v2/mono/b/blobs/${sha256(data)}`), { method: 'GET' });
  assert.equal(other.status, 404);
  assert.equal(await errorCode(other), 'BLOB_UNKNOWN');
});

test('a blob whose bytes do not match digest= is rejected and nothing is stored', async () => {
  const before = await files(path.join(root, 'blobs'));
  const data = randomBytes(50_000);
  const wrong = sha256(Buffer.from('something else'));
  const res = await fetch(u(`/v2/bad/digest/blobs/uploads/?digest=${wrong}`), { method: 'POST', body: data });
  assert.equal(res.status, 400);
  assert.equal(await errorCode(res), 'DIGEST_INVALID');
  assert.equal((await fetch(u(`/v2/bad/digest/blobs/${wrong}`), { method: 'HEAD' })).status, 404);
  assert.equal((await fetch(u(`/v2/bad/digest/blobs/${sha256(data)}`), { method: 'HEAD' })).status, 404);
  assert.deepEqual(await files(path.join(root, 'blobs')), before);
  assert.deepEqual(await files(path.join(root, 'tmp')), []);

  // malformed digests
  const bad = await fetch(u('/v2/bad/digest/blobs/uploads/?digest=sha256:xyz'), { method: 'POST', body: data });
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  const badGet = await fetch(u('/v2/bad/digest/blobs/notadigest'));
  assert.equal(badGet.status, 400);
  assert.equal(await errorCode(badGet), 'DIGEST_INVALID');
});

test('chunked upload: PATCH in order, 416 out of order, GET status, PUT with the last chunk', async () => {
  const data = randomBytes(300_000);
  const parts = [data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)];
  const start = await fetch(u('/v2/chunked/x/blobs/uploads/'), { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = start.headers.get('location')!;
  assert.match(loc, /^\/v2\/chunked\/x\/blobs\/uploads\/[0-9a-f-]{36}$/);
  assert.equal(start.headers.get('docker-upload-uuid'), loc.split('/').pop());
  assert.equal(start.headers.get('range'), '0-0');

  const p1 = await fetch(u(loc), { method: 'PATCH', body: parts[0], headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' } });
  assert.equal(p1.status, 202);
  assert.equal(p1.headers.get('range'), '0-99999');
  const loc2 = p1.headers.get('location')!;

  // out of order: starts at 150000 instead of 100000
  const ooo = await fetch(u(loc2), { method: 'PATCH', body: parts[1].subarray(50_000), headers: { 'Content-Range': '150000-249999' } });
  assert.equal(ooo.status, 416);
  assert.equal(ooo.headers.get('range'), '0-99999');
  await ooo.body?.cancel();
  // a range that disagrees with the body length
  const short = await fetch(u(loc2), { method: 'PATCH', body: parts[1].subarray(1), headers: { 'Content-Range': '100000-249999' } });
  assert.equal(short.status, 400);
  assert.equal(await errorCode(short), 'SIZE_INVALID');

  const status = await fetch(u(loc2));
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), '0-99999');
  assert.equal(status.headers.get('location'), loc);

  const p2 = await fetch(u(loc2), { method: 'PATCH', body: parts[1], headers: { 'Content-Range': '100000-249999' } });
  assert.equal(p2.status, 202);
  assert.equal(p2.headers.get('range'), '0-249999');
  // no Content-Range at all: a streamed chunk, appended
  const done = await fetch(u(`${p2.headers.get('location')}?digest=${sha256(data)}`), { method: 'PUT', body: parts[2] });
  assert.equal(done.status, 201);
  assert.equal(done.headers.get('location'), `/v2/chunked/x/blobs/${sha256(data)}`);
  assert.equal(done.headers.get('docker-content-digest'), sha256(data));

  const get = await fetch(u(`/v2/chunked/x/blobs/${sha256(data)}`));
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(data));
  // the session is gone
  const after = await fetch(u(loc));
  assert.equal(after.status, 404);
  assert.equal(await errorCode(after), 'BLOB_UPLOAD_UNKNOWN');
});

test('chunked upload finished with the wrong digest stores nothing; DELETE cancels a session', async () => {
  const before = await files(path.join(root, 'blobs'));
  const data = randomBytes(10_000);
  const start = await fetch(u('/v2/chunked/y/blobs/uploads/'), { method: 'POST' });
  const loc = start.headers.get('location')!;
  assert.equal((await fetch(u(loc), { method: 'PATCH', body: data, headers: { 'Content-Range': `0-${data.length - 1}` } })).status, 202);
  const missing = await fetch(u(loc), { method: 'PUT' });
  assert.equal(missing.status, 400);
  assert.equal(await errorCode(missing), 'DIGEST_INVALID');
  const bad = await fetch(u(`${loc}?digest=${sha256('nope')}`), { method: 'PUT' });
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  assert.equal((await fetch(u(loc))).status, 404);
  assert.deepEqual(await files(path.join(root, 'blobs')), before);
  assert.equal((await fetch(u(`/v2/chunked/y/blobs/${sha256(data)}`), { method: 'HEAD' })).status, 404);

  const s2 = await fetch(u('/v2/chunked/y/blobs/uploads/'), { method: 'POST' });
  const loc2 = s2.headers.get('location')!;
  const del = await fetch(u(loc2), { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await fetch(u(loc2))).status, 404);
  assert.equal((await fetch(u(loc2), { method: 'DELETE' })).status, 404);
  // a session belongs to its repository
  const s3 = await fetch(u('/v2/chunked/y/blobs/uploads/'), { method: 'POST' });
  const uuid = s3.headers.get('docker-upload-uuid')!;
  assert.equal((await fetch(u(`/v2/chunked/other/blobs/uploads/${uuid}`))).status, 404);
  assert.equal((await fetch(u(s3.headers.get('location')!), { method: 'DELETE' })).status, 204);
  assert.deepEqual(await files(path.join(root, 'uploads')), []);
});

test('a chunk cut off mid-transfer is rolled back; the session continues from its last good byte', async () => {
  const data = randomBytes(400_000);
  const start = await fetch(u('/v2/abort/me/blobs/uploads/'), { method: 'POST' });
  const loc = start.headers.get('location')!;
  assert.equal((await fetch(u(loc), { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'Content-Range': '0-99999' } })).status, 202);
  // declare 300000 bytes, send 150000, then drop the connection
  await new Promise<void>((resolve) => {
    const req = http.request(u(loc), { method: 'PATCH', headers: { 'Content-Range': '100000-399999', 'Content-Length': '300000' } });
    req.on('error', () => resolve());
    req.write(data.subarray(100_000, 250_000), () => setTimeout(() => { req.destroy(); resolve(); }, 200));
  });
  let range = '';
  for (let i = 0; i < 50 && range !== '0-99999'; i++) {
    range = (await fetch(u(loc))).headers.get('range') ?? '';
    if (range !== '0-99999') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(range, '0-99999');
  const fin = await fetch(u(`${loc}?digest=${sha256(data)}`), { method: 'PUT', body: data.subarray(100_000), headers: { 'Content-Range': '100000-399999' } });
  assert.equal(fin.status, 201);
  assert.ok(Buffer.from(await (await fetch(u(`/v2/abort/me/blobs/${sha256(data)}`))).arrayBuffer()).equals(data));
});

test('Range requests on blobs: 206 with Content-Range, suffix ranges, 416 past the end', async () => {
  const data = randomBytes(4096);
  await pushBlob('range/r', data);
  const url = u(`/v2/range/r/blobs/${sha256(data)}`);
  const r1 = await fetch(url, { headers: { Range: 'bytes=10-19' } });
  assert.equal(r1.status, 206);
  assert.equal(r1.headers.get('content-range'), `bytes 10-19/4096`);
  assert.equal(r1.headers.get('content-length'), '10');
  assert.ok(Buffer.from(await r1.arrayBuffer()).equals(data.subarray(10, 20)));
  const r2 = await fetch(url, { headers: { Range: 'bytes=4000-' } });
  assert.equal(r2.status, 206);
  assert.ok(Buffer.from(await r2.arrayBuffer()).equals(data.subarray(4000)));
  const r3 = await fetch(url, { headers: { Range: 'bytes=-96' } });
  assert.equal(r3.headers.get('content-range'), 'bytes 4000-4095/4096');
  assert.ok(Buffer.from(await r3.arrayBuffer()).equals(data.subarray(4000)));
  const r4 = await fetch(url, { headers: { Range: 'bytes=5000-' } });
  assert.equal(r4.status, 416);
  assert.equal(r4.headers.get('content-range'), 'bytes */4096');
  await r4.body?.cancel();
  const etag = r1.headers.get('etag')!;
  const r5 = await fetch(url, { headers: { 'If-None-Match': etag } });
  assert.equal(r5.status, 304);
});

test('manifests: validation, PUT by tag and digest, GET/HEAD with the stored media type', async () => {
  const img = await makeImage('m1');
  // referenced blobs missing
  const early = await fetch(u('/v2/img/one/manifests/v1'), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(early.status, 400);
  assert.equal(await errorCode(early), 'MANIFEST_BLOB_UNKNOWN');

  const put = await pushImage('img/one', img, 'v1');
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('docker-content-digest'), img.manifestDigest);
  assert.equal(put.headers.get('location'), `/v2/img/one/manifests/${img.manifestDigest}`);

  for (const ref of ['v1', img.manifestDigest]) {
    const get = await fetch(u(`/v2/img/one/manifests/${ref}`), { headers: { Accept: OCI_MANIFEST } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(get.headers.get('docker-content-digest'), img.manifestDigest);
    assert.ok(Buffer.from(await get.arrayBuffer()).equals(img.manifest));
    const head = await fetch(u(`/v2/img/one/manifests/${ref}`), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(img.manifest.length));
  }

  // by digest: must match the body
  const byDigest = await fetch(u(`/v2/img/one/manifests/${img.manifestDigest}`), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(byDigest.status, 201);
  const mismatch = await fetch(u(`/v2/img/one/manifests/${sha256('x')}`), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(mismatch.status, 400);
  assert.equal(await errorCode(mismatch), 'DIGEST_INVALID');

  // unknown
  const unknownTag = await fetch(u('/v2/img/one/manifests/nope'));
  assert.equal(unknownTag.status, 404);
  assert.equal(await errorCode(unknownTag), 'MANIFEST_UNKNOWN');
  const unknownDigest = await fetch(u(`/v2/img/one/manifests/${sha256('nope')}`));
  assert.equal(unknownDigest.status, 404);
  assert.equal(await errorCode(unknownDigest), 'MANIFEST_UNKNOWN');
  assert.equal((await fetch(u('/v2/img/nothing/manifests/v1'))).status, 404);

  // invalid manifests
  const notJson = await fetch(u('/v2/img/one/manifests/bad'), { method: 'PUT', body: '{nope', headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(await errorCode(notJson), 'MANIFEST_INVALID');
  const noConfig = await fetch(u('/v2/img/one/manifests/bad'), { method: 'PUT', body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }), headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(await errorCode(noConfig), 'MANIFEST_INVALID');
  const schema1 = await fetch(u('/v2/img/one/manifests/bad'), { method: 'PUT', body: JSON.stringify({ schemaVersion: 1, name: 'img/one', tag: 'bad', fsLayers: [] }), headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
  assert.equal(await errorCode(schema1), 'MANIFEST_INVALID');
  const badTag = await fetch(u('/v2/img/one/manifests/-bad'), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(badTag.status, 400);
  assert.equal(await errorCode(badTag), 'TAG_INVALID');
  const tooBig = await fetch(u('/v2/img/one/manifests/big'), { method: 'PUT', body: Buffer.alloc(5 << 20, 32), headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(tooBig.status, 413);
  await tooBig.body?.cancel();
  assert.equal((await fetch(u('/v2/img/one/manifests/bad'))).status, 404);
});

test('Docker schema2 manifests and manifest lists / OCI indexes', async () => {
  const img = await makeImage('d1', 1);
  for (const b of [img.config, ...img.layers]) await pushBlob('img/docker', b);
  const docker = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: DOCKER_MANIFEST,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(img.config), size: img.config.length },
    layers: img.layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(l), size: l.length })),
  }, null, 3));
  const put = await fetch(u('/v2/img/docker/manifests/latest'), { method: 'PUT', body: docker, headers: { 'Content-Type': DOCKER_MANIFEST } });
  assert.equal(put.status, 201);
  const get = await fetch(u('/v2/img/docker/manifests/latest'));
  assert.equal(get.headers.get('content-type'), DOCKER_MANIFEST);
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(docker), 'stored byte for byte');

  const index = (digest: string) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [{ mediaType: DOCKER_MANIFEST, digest, size: docker.length, platform: { architecture: 'amd64', os: 'linux' } }],
  }));
  const missing = await fetch(u('/v2/img/docker/manifests/multi'), { method: 'PUT', body: index(sha256('other')), headers: { 'Content-Type': OCI_INDEX } });
  assert.equal(missing.status, 400);
  assert.equal(await errorCode(missing), 'MANIFEST_BLOB_UNKNOWN');
  const ok = await fetch(u('/v2/img/docker/manifests/multi'), { method: 'PUT', body: index(sha256(docker)), headers: { 'Content-Type': OCI_INDEX } });
  assert.equal(ok.status, 201);
  const got = await fetch(u('/v2/img/docker/manifests/multi'));
  assert.equal(got.headers.get('content-type'), OCI_INDEX);
  // a mediaType that contradicts the Content-Type
  const contra = await fetch(u('/v2/img/docker/manifests/contra'), { method: 'PUT', body: docker, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(await errorCode(contra), 'MANIFEST_INVALID');
});

test('repository names: multi-component accepted, bad grammar is NAME_INVALID', async () => {
  assert.equal((await pushBlob('a/b/c/d', Buffer.from('deep'))).status, 201);
  assert.equal((await pushBlob('x-y.z__w/a1', Buffer.from('seps'))).status, 201);
  for (const bad of ['UPPER/case', 'a//b', '-lead', 'trail-', 'a/_under', 'a..b', 'a'.repeat(256)]) {
    const res = await fetch(u(`/v2/${bad}/tags/list`));
    assert.equal(res.status, 400, bad);
    assert.equal(await errorCode(res), 'NAME_INVALID', bad);
  }
  const unknown = await fetch(u('/v2/no/such/repo/tags/list'));
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), 'NAME_UNKNOWN');
  assert.equal((await fetch(u('/v3/'))).status, 404);
  const method = await fetch(u('/v2/a/b/c/d/tags/list'), { method: 'DELETE' });
  assert.equal(method.status, 405);
});

test('tags/list and _catalog paginate with n, last and Link', async () => {
  const img = await makeImage('tags', 1);
  for (const t of ['v5', 'v1', 'latest', 'v3', 'v2']) assert.equal((await pushImage('page/tags', img, t)).status, 201);
  const all = await (await fetch(u('/v2/page/tags/tags/list'))).json();
  assert.deepEqual(all, { name: 'page/tags', tags: ['latest', 'v1', 'v2', 'v3', 'v5'] });

  const seen: string[] = [];
  let next: string | null = '/v2/page/tags/tags/list?n=2';
  let pages = 0;
  while (next) {
    const res = await fetch(u(next));
    assert.equal(res.status, 200);
    const body = await res.json() as { tags: string[] };
    assert.ok(body.tags.length <= 2);
    seen.push(...body.tags);
    const link = res.headers.get('link');
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : null;
    pages++;
  }
  assert.deepEqual(seen, ['latest', 'v1', 'v2', 'v3', 'v5']);
  assert.equal(pages, 3);
  assert.deepEqual((await (await fetch(u('/v2/page/tags/tags/list?n=2&last=v1'))).json() as { tags: string[] }).tags, ['v2', 'v3']);
  assert.deepEqual((await (await fetch(u('/v2/page/tags/tags/list?last=v3'))).json() as { tags: string[] }).tags, ['v5']);
  const zero = await fetch(u('/v2/page/tags/tags/list?n=0'));
  assert.deepEqual((await zero.json() as { tags: string[] }).tags, []);
  assert.equal(zero.headers.get('link'), null);
  const badN = await fetch(u('/v2/page/tags/tags/list?n=-1'));
  assert.equal(badN.status, 400);
  assert.equal(await errorCode(badN), 'PAGINATION_NUMBER_INVALID');

  const catalog = await (await fetch(u('/v2/_catalog'))).json() as { repositories: string[] };
  assert.deepEqual(catalog.repositories, [...catalog.repositories].sort());
  assert.ok(catalog.repositories.includes('page/tags') && catalog.repositories.includes('a/b/c/d'));
  const names: string[] = [];
  let cnext: string | null = '/v2/_catalog?n=3';
  while (cnext) {
    const res = await fetch(u(cnext));
    names.push(...(await res.json() as { repositories: string[] }).repositories);
    const link = res.headers.get('link');
    cnext = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : null;
  }
  assert.deepEqual(names, catalog.repositories);
});

test('cross-repository mount: 201 when the blob exists there, else a 202 session', async () => {
  const data = randomBytes(2000);
  await pushBlob('mount/src', data);
  const m = await fetch(u(`/v2/mount/dst/blobs/uploads/?mount=${sha256(data)}&from=mount/src`), { method: 'POST' });
  assert.equal(m.status, 201);
  assert.equal(m.headers.get('location'), `/v2/mount/dst/blobs/${sha256(data)}`);
  assert.equal(m.headers.get('docker-content-digest'), sha256(data));
  assert.equal((await fetch(u(`/v2/mount/dst/blobs/${sha256(data)}`), { method: 'HEAD' })).status, 200);

  const miss = await fetch(u(`/v2/mount/dst/blobs/uploads/?mount=${sha256('absent')}&from=mount/src`), { method: 'POST' });
  assert.equal(miss.status, 202);
  assert.match(miss.headers.get('location')!, /^\/v2\/mount\/dst\/blobs\/uploads\//);
  await fetch(u(miss.headers.get('location')!), { method: 'DELETE' });
});

test('DELETE: tag, manifest by digest (with its tags), blob; the bytes go with the last reference', async () => {
  const img = await makeImage('del', 1);
  assert.equal((await pushImage('del/me', img, 'a')).status, 201);
  assert.equal((await fetch(u(`/v2/del/me/manifests/b`), { method: 'PUT', body: img.manifest, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
  const delTag = await fetch(u('/v2/del/me/manifests/a'), { method: 'DELETE' });
  assert.equal(delTag.status, 202);
  assert.equal((await fetch(u('/v2/del/me/manifests/a'))).status, 404);
  assert.equal((await fetch(u('/v2/del/me/manifests/b'))).status, 200);
  const delMan = await fetch(u(`/v2/del/me/manifests/${img.manifestDigest}`), { method: 'DELETE' });
  assert.equal(delMan.status, 202);
  assert.equal((await fetch(u('/v2/del/me/manifests/b'))).status, 404);
  assert.equal((await fetch(u(`/v2/del/me/manifests/${img.manifestDigest}`))).status, 404);
  assert.equal((await fetch(u(`/v2/del/me/manifests/${img.manifestDigest}`), { method: 'DELETE' })).status, 404);
  const blobPath = (d: string) => path.join(root, 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
  await assert.rejects(fs.stat(blobPath(img.manifestDigest)));

  const layer = sha256(img.layers[0]);
  await fs.stat(blobPath(layer));
  const delBlob = await fetch(u(`/v2/del/me/blobs/${layer}`), { method: 'DELETE' });
  assert.equal(delBlob.status, 202);
  assert.equal((await fetch(u(`/v2/del/me/blobs/${layer}`), { method: 'HEAD' })).status, 404);
  const again = await fetch(u(`/v2/del/me/blobs/${layer}`), { method: 'DELETE' });
  assert.equal(again.status, 404);
  assert.equal(await errorCode(again), 'BLOB_UNKNOWN');
  await assert.rejects(fs.stat(blobPath(layer)));
});

test('referrers API: a manifest with a subject is listed, filterable by artifactType', async () => {
  const img = await makeImage('subj', 1);
  assert.equal((await pushImage('ref/img', img, 'v1')).status, 201);
  const empty = Buffer.from('{}');
  await pushBlob('ref/img', empty);
  const sig = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
    subject: { mediaType: OCI_MANIFEST, digest: img.manifestDigest, size: img.manifest.length },
    annotations: { 'org.example.signer': 'me' },
  }));
  const put = await fetch(u(`/v2/ref/img/manifests/${sha256(sig)}`), { method: 'PUT', body: sig, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('oci-subject'), img.manifestDigest);
  const list = await fetch(u(`/v2/ref/img/referrers/${img.manifestDigest}`));
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('content-type'), OCI_INDEX);
  assert.deepEqual(await list.json(), {
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signer': 'me' } }],
  });
  const filtered = await fetch(u(`/v2/ref/img/referrers/${img.manifestDigest}?artifactType=application/vnd.other`));
  assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual((await filtered.json() as { manifests: unknown[] }).manifests, []);
  assert.equal((await fetch(u('/v2/ref/img/referrers/bad'))).status, 400);
});

test('concurrent pushes and pulls of the same blob', async () => {
  const data = randomBytes(1 << 20);
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pushBlob(`conc/r${i % 3}`, data)));
  assert.deepEqual(results.map((r) => r.status), Array(12).fill(201));
  const pulls = await Promise.all(Array.from({ length: 12 }, async (_, i) => Buffer.from(await (await fetch(u(`/v2/conc/r${i % 3}/blobs/${sha256(data)}`))).arrayBuffer())));
  for (const p of pulls) assert.ok(p.equals(data));
});

test('state survives a restart, including a half-finished upload that resumes', async () => {
  const data = randomBytes(200_000);
  const start = await fetch(u('/v2/restart/me/blobs/uploads/'), { method: 'POST' });
  const loc = start.headers.get('location')!;
  assert.equal((await fetch(u(loc), { method: 'PATCH', body: data.subarray(0, 120_000), headers: { 'Content-Range': '0-119999' } })).status, 202);
  const img = await makeImage('restart', 1);
  assert.equal((await pushImage('restart/me', img, 'keep')).status, 201);

  assert.equal(await reg.stop(), 0, 'clean exit on SIGTERM');
  reg = await startServer(root);

  const m = await fetch(u('/v2/restart/me/manifests/keep'));
  assert.equal(m.status, 200);
  assert.ok(Buffer.from(await m.arrayBuffer()).equals(img.manifest));
  assert.deepEqual((await (await fetch(u('/v2/restart/me/tags/list'))).json() as { tags: string[] }).tags, ['keep']);
  const status = await fetch(u(loc));
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), '0-119999');
  const fin = await fetch(u(`${loc}?digest=${sha256(data)}`), { method: 'PUT', body: data.subarray(120_000), headers: { 'Content-Range': '120000-199999' } });
  assert.equal(fin.status, 201);
  assert.ok(Buffer.from(await (await fetch(u(`/v2/restart/me/blobs/${sha256(data)}`))).arrayBuffer()).equals(data));
});

// skopeo as the client: an OCI layout made here is copied in, then back out, digests compared.
async function skopeoRoundTrip(server: RegistryServer, creds?: string): Promise<void> {
  const img = await makeImage(`skopeo-${path.basename(server.root)}`, 3);
  const src = path.join(work, `oci-src-${path.basename(server.root)}`);
  const dst = path.join(work, `oci-dst-${path.basename(server.root)}`);
  await writeOciLayout(src, 'v1', img);
  const authFile = path.join(work, 'auth.json');
  await fs.writeFile(authFile, '{}');
  const env = { REGISTRY_AUTH_FILE: authFile };
  const credArgs = (dir: 'src' | 'dest') => (creds ? [`--${dir}-creds`, creds] : []);
  const ref = `docker://${server.hostPort}/skopeo/round/trip:v1`;
  const push = await run('skopeo', ['copy', '--dest-tls-verify=false', ...credArgs('dest'), `oci:${src}:v1`, ref], env);
  assert.equal(push.code, 0, push.stderr);
  const inspect = await run('skopeo', ['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), '--raw', ref], env);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(sha256(inspect.stdout), img.manifestDigest, 'skopeo pushed the manifest unchanged');
  const pull = await run('skopeo', ['copy', '--src-tls-verify=false', ...credArgs('src'), ref, `oci:${dst}:v1`], env);
  assert.equal(pull.code, 0, pull.stderr);
  const index = JSON.parse(await fs.readFile(path.join(dst, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0].digest, img.manifestDigest);
  for (const b of [img.config, ...img.layers]) {
    assert.ok((await fs.readFile(path.join(dst, 'blobs', 'sha256', sha256(b).slice(7)))).equals(b));
  }
}

test('skopeo copies an image into the registry and back out unchanged', async () => {
  await skopeoRoundTrip(reg);
});

async function htpasswdFile(user: string, password: string): Promise<string> {
  const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
  // htpasswd -B writes the $2y$ prefix; bcryptjs writes $2b$ (same algorithm)
  const hash = bcrypt.hashSync(password, 5).replace(/^\$2b\$/, '$2y$');
  const file = path.join(work, `htpasswd-${user}`);
  await fs.writeFile(file, `# users\n${user}:${hash}\n`);
  return file;
}

test('htpasswd authentication: 401 with WWW-Authenticate without or with bad credentials', async () => {
  const file = await htpasswdFile('alice', 's3cret');
  const authRoot = path.join(work, 'root-auth');
  const s = await startServer(authRoot, ['--htpasswd', file]);
  const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
  const none = await fetch(`${s.url}/v2/`);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate')!, /^Basic realm="[^"]+"$/);
  assert.equal(await errorCode(none), 'UNAUTHORIZED');
  for (const h of [basic('alice', 'wrong'), basic('bob', 's3cret'), { Authorization: 'Bearer x' }]) {
    const res = await fetch(`${s.url}/v2/_catalog`, { headers: h });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
  const ok = await fetch(`${s.url}/v2/`, { headers: basic('alice', 's3cret') });
  assert.equal(ok.status, 200);
  const ok2 = await fetch(`${s.url}/v2/_catalog`, { headers: basic('alice', 's3cret') });
  assert.equal(ok2.status, 200);
  await skopeoRoundTrip(s, 'alice:s3cret');
  await s.stop();
});

/** GET over https trusting only our self-signed certificate. */
function httpsGet(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => { body += b.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    }).on('error', reject);
  });
}

test('TLS with a self-signed certificate (and auth over it)', async () => {
  const cert = path.join(work, 'tls.crt');
  const key = path.join(work, 'tls.key');
  const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.equal(gen.code, 0, gen.stderr);
  const file = await htpasswdFile('tls', 'pw');
  const s = await startServer(path.join(work, 'root-tls'), ['--tls-cert', cert, '--tls-key', key, '--htpasswd', file]);
  assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = await fs.readFile(cert);
  const anon = await httpsGet(`${s.url}/v2/`, ca);
  assert.equal(anon.status, 401);
  const res = await httpsGet(`${s.url}/v2/`, ca, { Authorization: `Basic ${Buffer.from('tls:pw').toString('base64')}` });
  assert.equal(res.status, 200);
  assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  await skopeoRoundTrip(s, 'tls:pw');
  // plain http against the TLS port fails
  await assert.rejects(fetch(`${s.url.replace('https', 'http')}/v2/`));
  await s.stop();
});
