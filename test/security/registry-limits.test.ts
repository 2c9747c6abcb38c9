// berth's own registry (`berth registry serve`) against hostile clients: oversized manifests are 413 (CVE-2017-11468
// class: unbounded bodies), `_catalog?n=` is bounded whatever n says, a document with both `layers` and `manifests`
// is refused (CVE-2021-41190: ambiguous OCI documents), and uploads are verified against their digest. berth only:
// dockerd has no registry of its own, so this suite has no dockerd column.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { RegistryServer } from '../integration/registry-fixture';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let root: string;
let s: RegistryServer;
const u = (p: string) => `${s.url}${p}`;

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-sec-registry-'));
  s = await new RegistryServer(root).start();
});
after(async () => {
  await s.stop();
  await fs.rm(root, { recursive: true, force: true });
});

async function pushBlob(name: string, body: Buffer, digest = sha(body)): Promise<Response> {
  const start = await fetch(u(`/v2/${name}/blobs/uploads/`), { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = new URL(start.headers.get('location')!, s.url);
  loc.searchParams.set('digest', digest);
  return fetch(loc, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
}

test('CVE-2017-11468: an oversized manifest is refused with 413, and the server stays up', async () => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  assert.equal((await pushBlob('big/m', config)).status, 201);
  const pad = 'x'.repeat(8 << 20);
  const doc = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [], annotations: { pad } });
  const r = await fetch(u('/v2/big/m/manifests/1'), { method: 'PUT', body: doc, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } }).catch((err) => ({ status: 413, err }));
  assert.equal(r.status, 413);
  assert.equal((await fetch(u('/v2/'))).status, 200);
});

test('CVE-2017-11468: _catalog?n= is bounded however large n is', async () => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  // enough repositories to pass one page: 1,010 tags are cheap (one config blob, one manifest each)
  const doc = (cfg: Buffer) => JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(cfg), size: cfg.length }, layers: [] });
  const names = Array.from({ length: 1010 }, (_, i) => `cat/r${String(i).padStart(5, '0')}`);
  assert.equal((await pushBlob(names[0], config)).status, 201);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map(async (n) => {
      // the config is mounted from the first repository: one request instead of an upload's two
      if (n !== names[0]) assert.equal((await fetch(u(`/v2/${n}/blobs/uploads/?mount=${sha(config)}&from=${names[0]}`), { method: 'POST' })).status, 201);
      const r = await fetch(u(`/v2/${n}/manifests/1`), { method: 'PUT', body: doc(config), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(r.status, 201);
    }));
  }
  for (const n of ['', '?n=999999999999', '?n=100000']) {
    const r = await fetch(u(`/v2/_catalog${n}`));
    assert.equal(r.status, 200);
    const body = await r.json() as { repositories: string[] };
    assert.ok(body.repositories.length <= 1000, `_catalog${n} listed ${body.repositories.length}`);
    assert.match(r.headers.get('link') ?? '', /rel="next"/, `_catalog${n} has no Link to the rest`);
  }
  for (const bad of ['?n=-1', '?n=abc', '?n=1e9']) assert.equal((await fetch(u(`/v2/_catalog${bad}`))).status, 400, bad);
});

test('CVE-2021-41190: a document with both layers and manifests is refused', async () => {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  assert.equal((await pushBlob('ambiguous/x', config)).status, 201);
  const desc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length };
  const docs = [
    { type: 'application/vnd.oci.image.manifest.v1+json', body: { schemaVersion: 2, config: desc, layers: [], manifests: [] } },
    { type: 'application/vnd.oci.image.index.v1+json', body: { schemaVersion: 2, manifests: [], layers: [] } },
    { type: 'application/vnd.oci.image.index.v1+json', body: { schemaVersion: 2, manifests: [], config: desc } },
    { type: 'application/vnd.oci.image.manifest.v1+json', body: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', config: desc, layers: [] } },
  ];
  for (const d of docs) {
    const r = await fetch(u('/v2/ambiguous/x/manifests/1'), { method: 'PUT', body: JSON.stringify(d.body), headers: { 'Content-Type': d.type } });
    assert.equal(r.status, 400, `${d.type} ${JSON.stringify(d.body).slice(0, 80)} → ${r.status}`);
  }
});

test('uploads are verified against their digest', async () => {
  const body = Buffer.from('the real bytes');
  const wrong = await pushBlob('verify/x', body, sha('other bytes'));
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /DIGEST_INVALID/);
  assert.equal((await fetch(u(`/v2/verify/x/blobs/${sha('other bytes')}`), { method: 'HEAD' })).status, 404);
  assert.equal((await fetch(u(`/v2/verify/x/blobs/${sha(body)}`), { method: 'HEAD' })).status, 404);
  const bad = await pushBlob('verify/x', body, 'sha256:nothex');
  assert.equal(bad.status, 400);
  const good = await pushBlob('verify/x', body);
  assert.equal(good.status, 201);
});
