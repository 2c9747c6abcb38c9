// distribution/client against an in-process fake registry: redirects without credentials to other hosts,
// resumed downloads (Range honoured or ignored), digest checks, aborts, the fetch adapter, stale connections.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import { createHash } from 'crypto';
import { RegistryClient } from '../../src/distribution/client';
import { RegistryEndpoint } from '../../src/distribution/endpoint';
import { closeIdleConnections } from '../../src/distribution/transport';
import { RegistryError } from '../../src/distribution/errors';

after(() => closeIdleConnections());

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function serve(handler: Handler): Promise<{ url: string; host: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = http.createServer(handler);
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const port = (srv.address() as net.AddressInfo).port;
    resolve({ url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }) });
  }));
}

const ep = (host: string): RegistryEndpoint => ({ domain: host, baseUrl: `http://${host}`, insecure: true });
const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = Buffer.alloc(300_000);
for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) & 255;
const blobDigest = digest(blob);

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Writes `data` with a Content-Length of `announce` bytes and then drops the connection. */
function cut(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, data: Buffer) {
  res.writeHead(status, headers);
  res.write(data, () => setTimeout(() => res.socket?.destroy(), 10));
}

test('blob redirect: followed, credentials not sent to the other host, Range kept', async () => {
  const seen: { authorization?: string; range?: string }[] = [];
  const storage = await serve((req, res) => {
    seen.push({ authorization: req.headers.authorization, range: req.headers.range });
    res.writeHead(200, { 'content-length': blob.length });
    res.end(blob);
  });
  const registry = await serve((req, res) => {
    if (req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
    res.writeHead(307, { location: `${storage.url}/data/blob?sig=1` });
    res.end();
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'], auth: { username: 'u', password: 'p' } });
    const got = await collect(c.fetchBlob(blobDigest, { verify: true }));
    assert.ok(got.equals(blob));
    assert.deepEqual(seen, [{ authorization: undefined, range: undefined }]);
    // no credentials at all: docker's text for a Basic challenge
    const anon = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'] });
    await assert.rejects(anon.getManifest('latest'), (e: RegistryError) =>
      e.message === `Get "http://${registry.host}/v2/a/b/manifests/latest": no basic auth credentials` && e.kind === 'auth');
  } finally {
    await storage.close();
    await registry.close();
  }
});

test('download resumes with Range after a dropped connection (206), and when the server ignores Range (200)', async () => {
  for (const honourRange of [true, false]) {
    const ranges: (string | undefined)[] = [];
    let n = 0;
    const registry = await serve((req, res) => {
      if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
      ranges.push(req.headers.range);
      n++;
      if (n === 1) return cut(res, 200, { 'content-length': blob.length }, blob.subarray(0, 100_000));
      if (n === 2) return cut(res, 206, { 'content-length': blob.length - 100_000, 'content-range': `bytes 100000-${blob.length - 1}/${blob.length}` }, blob.subarray(100_000, 150_001));
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (honourRange && m) {
        const from = Number(m[1]);
        res.writeHead(206, { 'content-length': blob.length - from, 'content-range': `bytes ${from}-${blob.length - 1}/${blob.length}` });
        res.end(blob.subarray(from));
      } else {
        res.writeHead(200, { 'content-length': blob.length });
        res.end(blob);
      }
    });
    try {
      const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'], retryDelayMs: 1 });
      let counted = 0;
      const got = await collect(c.fetchBlob(blobDigest, { verify: true, size: blob.length, onBytes: (k) => { counted += k; } }));
      assert.ok(got.equals(blob), `honourRange=${honourRange}`);
      assert.equal(counted, blob.length);
      assert.deepEqual(ranges, [undefined, 'bytes=100000-', 'bytes=150001-']);
    } finally {
      await registry.close();
    }
  }
});

test('download gives up after maxRetries without progress; 404 is not retried', async () => {
  let gets = 0;
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
    gets++;
    if (req.url!.includes('sha256:' + 'f'.repeat(64))) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"x"}]}');
      return;
    }
    cut(res, 200, { 'content-length': blob.length }, Buffer.alloc(0));
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'], retryDelayMs: 1, maxRetries: 2 });
    await assert.rejects(collect(c.fetchBlob(blobDigest)), (e: RegistryError) => e.kind === 'transport' && /unexpected EOF|EOF|reset/.test(e.message));
    assert.equal(gets, 3);
    gets = 0;
    await assert.rejects(collect(c.fetchBlob('sha256:' + 'f'.repeat(64))), (e: RegistryError) => e.code === 'BLOB_UNKNOWN' && e.message === 'blob unknown: blob unknown to registry');
    assert.equal(gets, 1);
  } finally {
    await registry.close();
  }
});

test('digests: blob and manifest verification, Docker-Content-Digest, size mismatch', async () => {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}');
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
    if (req.url!.startsWith('/v2/a/b/blobs/')) {
      const bad = Buffer.from(blob);
      bad[5] ^= 1;
      res.writeHead(200, { 'content-length': bad.length });
      res.end(bad);
      return;
    }
    if (req.url === '/v2/a/b/manifests/lying') {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': 'sha256:' + '0'.repeat(64) });
      res.end(manifest);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest(manifest), 'content-length': manifest.length });
    res.end(req.method === 'HEAD' ? undefined : manifest);
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'] });
    await assert.rejects(collect(c.fetchBlob(blobDigest, { verify: true })), (e: RegistryError) =>
      e.kind === 'verify' && e.message === `filesystem layer verification failed for digest ${blobDigest}`);
    // without verify the bytes pass through untouched (the caller checks)
    assert.equal((await collect(c.fetchBlob(blobDigest))).length, blob.length);
    await assert.rejects(collect(c.fetchBlob(blobDigest, { size: 10 })), /has 300000 bytes, expected 10/);
    await assert.rejects(c.getBlob(blobDigest), /image config verification failed for digest/);
    const m = await c.getManifest('latest');
    assert.equal(m.digest, digest(manifest));
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.ok(m.bytes.equals(manifest));
    assert.equal((await c.getManifest(digest(manifest))).digest, digest(manifest));
    const wrong = 'sha256:' + '1'.repeat(64);
    await assert.rejects(c.getManifest(wrong), (e: RegistryError) => e.kind === 'verify' && e.message === `manifest verification failed for digest ${wrong}`);
    await assert.rejects(c.getManifest('lying'), /manifest verification failed for digest sha256:0000/);
    assert.deepEqual(await c.headManifest('latest'), { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(manifest), size: manifest.length });
    await assert.rejects(c.getManifest('../../etc'), /invalid tag or digest/);
    assert.throws(() => new RegistryClient(ep(registry.host), 'Bad/Name', { actions: ['pull'] }), /invalid repository name/);
  } finally {
    await registry.close();
  }
});

test('abort stops a download at once, without retries', async () => {
  let gets = 0;
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
    gets++;
    res.writeHead(200, { 'content-length': blob.length });
    res.write(blob.subarray(0, 1000)); // and then nothing
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'], retryDelayMs: 1 });
    const ac = new AbortController();
    const started = Date.now();
    await assert.rejects(collect((async function* () {
      for await (const chunk of c.fetchBlob(blobDigest, { signal: ac.signal })) { ac.abort(); yield chunk; }
    })()), (e: Error) => e.name === 'AbortError');
    assert.ok(Date.now() - started < 2000);
    assert.equal(gets, 1);
  } finally {
    await registry.close();
  }
});

test('the fetch adapter (fetchImpl) and a stale keep-alive connection', async () => {
  let manifestGets = 0;
  const registry = await serve((req, res) => {
    if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
    if (req.url!.startsWith('/v2/a/b/blobs/')) { res.writeHead(200, { 'content-length': blob.length }); res.end(blob); return; }
    manifestGets++;
    // the first manifest request finds its connection closed by the server
    if (manifestGets === 1) { req.socket.destroy(); return; }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
    res.end('{"schemaVersion":2,"manifests":[]}');
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'], fetchImpl: fetch });
    assert.ok((await collect(c.fetchBlob(blobDigest, { verify: true }))).equals(blob));
    const n = new RegistryClient(ep(registry.host), 'a/b', { actions: ['pull'] });
    const m = await n.getManifest('latest');
    assert.equal(m.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(manifestGets, 2);
    const f = await c.getManifest('latest');
    assert.equal(f.mediaType, 'application/vnd.oci.image.index.v1+json');
  } finally {
    await registry.close();
  }
});

test('upload: a broken PUT resumes from the offset the session reports (GET Location → Range), via PATCH + PUT', async () => {
  const stored: Buffer[] = [];
  const log: string[] = [];
  let puts = 0;
  const size = blob.length;
  const registry = await serve((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/v2/') { res.writeHead(200); res.end(); return; }
    log.push(`${req.method} ${url.pathname}${req.headers['content-range'] ? ' ' + req.headers['content-range'] : ''}`);
    if (req.method === 'POST') { res.writeHead(202, { location: '/v2/a/b/blobs/uploads/u1?_state=s0', range: '0-0', 'content-length': 0 }); res.end(); return; }
    const have = () => Buffer.concat(stored).length;
    if (req.method === 'GET') { res.writeHead(204, { range: `0-${have() - 1}`, location: '/v2/a/b/blobs/uploads/u1?_state=s1' }); res.end(); return; }
    const chunks: Buffer[] = [];
    let got = 0;
    req.on('data', (d: Buffer) => {
      if (req.method === 'PUT' && puts === 0 && got + d.length > 120_000) {
        // keep what arrived up to 120000 bytes, then drop the connection
        stored.push(...chunks, d.subarray(0, 120_000 - got));
        got = 120_000;
        puts++;
        req.socket.destroy();
        return;
      }
      got += d.length;
      chunks.push(d);
    });
    req.on('end', () => {
      if (req.method === 'PATCH') {
        const m = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range']));
        if (!m || Number(m[1]) !== have()) { res.writeHead(416); res.end(); return; }
        stored.push(...chunks);
        res.writeHead(202, { location: '/v2/a/b/blobs/uploads/u1?_state=s2', range: `0-${have() - 1}` });
        res.end();
        return;
      }
      if (req.method === 'PUT') {
        stored.push(...chunks);
        const all = Buffer.concat(stored);
        if (digest(all) !== url.searchParams.get('digest')) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}');
          return;
        }
        res.writeHead(201, { 'docker-content-digest': digest(all), location: `/v2/a/b/blobs/${digest(all)}` });
        res.end();
      }
    });
  });
  try {
    const c = new RegistryClient(ep(registry.host), 'a/b', { actions: ['push', 'pull'], retryDelayMs: 1 });
    const opens: number[] = [];
    let position = 0;
    await c.pushBlob(blobDigest, size, (offset) => {
      opens.push(offset);
      return (async function* () { for (let o = offset; o < size; o += 16384) yield blob.subarray(o, Math.min(o + 16384, size)); })();
    }, { onBytes: (n) => { position += n; } });
    assert.deepEqual(opens, [0, 120_000]);
    assert.equal(position, size);
    assert.ok(Buffer.concat(stored).equals(blob));
    assert.deepEqual(log, ['POST /v2/a/b/blobs/uploads/', 'PUT /v2/a/b/blobs/uploads/u1', 'GET /v2/a/b/blobs/uploads/u1',
      `PATCH /v2/a/b/blobs/uploads/u1 120000-${size - 1}`, 'PUT /v2/a/b/blobs/uploads/u1']);
    // a source that is shorter than announced is the caller's error, not retried
    await assert.rejects(c.pushBlob(blobDigest, size, () => [blob.subarray(0, 10)]), /upload source ended after 10 of 300000 bytes/);
  } finally {
    await registry.close();
  }
});
