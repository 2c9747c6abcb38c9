// Pull and push against real registries on loopback: Debian's docker-registry (CNCF distribution), the same
// behind a Docker-Hub-like token service, and proxies that corrupt or cut blobs. Driven through the berth CLI
// and the real docker CLI; after every failure the store must be exactly as before.
import { test, before, after, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import { readdirSync } from 'fs';
import * as path from 'path';
import { TestDaemon, RunResult } from '../helpers/daemon';
import { startDockerRegistry } from '../helpers/registry';
import { startTokenRegistry } from '../helpers/token-server';

const d = new TestDaemon('registry');
let reg: { host: string; stop(): Promise<void> };
const stops: Array<() => Promise<void>> = [];

before(async () => {
  await d.start();
  await d.loadBusybox();
  reg = await startDockerRegistry();
  stops.push(() => reg.stop());
});
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await d.stop();
});

const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
const imageId = async (ref: string) => (await d.berth(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();

/** Every file under the image store: what a failed pull must not change. */
function storeFiles(): string[] {
  const root = path.join(d.dataRoot, 'image');
  const out: string[] = [];
  for (const sub of ['blobs/sha256', 'layers', 'images']) {
    try { for (const f of readdirSync(path.join(root, sub))) out.push(`${sub}/${f}`); } catch { /* absent */ }
  }
  return out.sort();
}

describe('berth CLI against docker-registry', () => {
  test('push, then pull into an empty store, gives the same image, which runs', async () => {
    const ref = `${reg.host}/test/busybox:1`;
    const id = await imageId('busybox');
    ok(await d.berth(['tag', 'busybox', ref]), 'tag');
    const push = await d.berth(['push', ref]);
    ok(push, 'push');
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${reg.host}/test/busybox\\]`));
    assert.match(push.stdout, /: Pushed/);
    const digest = /1: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);

    const again = await d.berth(['push', ref]);
    ok(again, 'push again');
    assert.match(again.stdout, /Layer already exists/);
    assert.match(again.stdout, new RegExp(`1: digest: ${digest}`));

    ok(await d.berth(['rmi', ref]), 'rmi');
    const pull = await d.berth(['pull', ref]);
    ok(pull, 'pull');
    assert.match(pull.stdout, /1: Pulling from test\/busybox/);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.match(pull.stdout, new RegExp(`Status: Image is up to date for ${reg.host}/test/busybox:1`));
    assert.equal(pull.stdout.trim().split('\n').pop(), ref);

    // into a store without the layers: everything downloads
    ok(await d.berth(['rmi', '-f', 'busybox', ref]), 'rmi all');
    assert.equal((await d.berth(['images', '-q'])).stdout.trim(), '');
    const fresh = await d.berth(['pull', ref]);
    ok(fresh, 'pull fresh');
    assert.match(fresh.stdout, /: Pull complete/);
    assert.match(fresh.stdout, new RegExp(`Status: Downloaded newer image for ${reg.host}/test/busybox:1`));
    assert.equal(await imageId(ref), id);
    const digests = (await d.berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', ref])).stdout.trim();
    assert.equal(digests, JSON.stringify([`${reg.host}/test/busybox@${digest}`]));
    const run = await d.berth(['run', '--rm', ref, 'echo', 'pulled']);
    ok(run, 'run');
    assert.equal(run.stdout, 'pulled\n');

    // by digest, and re-tag as busybox for the other tests
    const byDigest = await d.berth(['pull', `${reg.host}/test/busybox@${digest}`]);
    ok(byDigest, 'pull by digest');
    assert.equal(byDigest.stdout.trim().split('\n').pop(), `${reg.host}/test/busybox@${digest}`);
    ok(await d.berth(['tag', ref, 'busybox']), 'tag back');
  });

  test('push to another repository mounts the layer from the first', async () => {
    const ref = `${reg.host}/other/copy:2`;
    ok(await d.berth(['tag', 'busybox', ref]), 'tag');
    const push = await d.berth(['push', ref]);
    ok(push, 'push');
    assert.match(push.stdout, /Mounted from test\/busybox/);
  });

  test('unknown tags and repositories fail with docker\'s texts and leave the store alone', async () => {
    const beforeFiles = storeFiles();
    const tag = await d.berth(['pull', `${reg.host}/test/busybox:nope`]);
    assert.equal(tag.code, 1);
    assert.match(tag.stderr, new RegExp(`Error response from daemon: manifest for ${reg.host}/test/busybox:nope not found: manifest unknown`));
    const repo = await d.berth(['pull', `${reg.host}/no/such:1`]);
    assert.equal(repo.code, 1);
    assert.match(repo.stderr, /Error response from daemon: (manifest for .* not found|pull access denied for)/);
    const bad = await d.berth(['pull', 'Upper']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid reference format: repository name \(library\/Upper\) must be lowercase/);
    const noLocal = await d.berth(['push', `${reg.host}/never/tagged:1`]);
    assert.equal(noLocal.code, 1);
    assert.match(noLocal.stderr, new RegExp(`An image does not exist locally with the tag: ${reg.host}/never/tagged`));
    assert.deepEqual(storeFiles(), beforeFiles);
  });

  test('a registry serving a corrupted blob: the pull fails and nothing is stored', async () => {
    const proxy = await startBlobProxy(reg.host, 'corrupt');
    stops.push(proxy.stop);
    ok(await d.berth(['rmi', '-f', 'busybox', `${reg.host}/test/busybox:1`, `${reg.host}/other/copy:2`]), 'rmi');
    const beforeFiles = storeFiles();
    const r = await d.berth(['pull', `${proxy.host}/test/busybox:1`]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /digest|checksum|invalid|unexpected/i);
    assert.deepEqual(storeFiles(), beforeFiles);
  });

  test('a download cut short is resumed', async () => {
    const proxy = await startBlobProxy(reg.host, 'cut-once');
    stops.push(proxy.stop);
    const r = await d.berth(['pull', `${proxy.host}/test/busybox:1`]);
    ok(r, 'pull through a flaky proxy');
    assert.ok(proxy.cuts() >= 1, 'the proxy cut a download');
    ok(await d.berth(['run', '--rm', `${proxy.host}/test/busybox:1`, 'true']), 'run');
  });

  test('a download cut every time fails clearly and stores nothing', async () => {
    const proxy = await startBlobProxy(reg.host, 'cut-always');
    stops.push(proxy.stop);
    const imgs = (await d.berth(['images', '-q'])).stdout.trim().split('\n').filter(Boolean);
    if (imgs.length) ok(await d.berth(['rmi', '-f', ...imgs]), 'clear store');
    const beforeFiles = storeFiles();
    const r = await d.berth(['pull', `${proxy.host}/test/busybox:1`], { timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /unexpected EOF|connection reset|socket hang up/i);
    assert.ok(proxy.cuts() > 1, `the proxy cut every try (${proxy.cuts()})`);
    assert.deepEqual(storeFiles(), beforeFiles);
  });
});

describe('token auth (the Docker Hub flow)', () => {
  test('login, push and pull with a Bearer token; refused without credentials', async () => {
    const tok = await startTokenRegistry({ users: { alice: 's3cret' }, upstream: `http://${reg.host}` });
    stops.push(tok.stop);
    const host = tok.url.replace(/^https?:\/\//, '');
    const wrong = await d.berth(['login', '-u', 'alice', '--password-stdin', host], { input: 'wrong\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /unauthorized|incorrect username or password/i);

    const anon = await d.berth(['pull', `${host}/test/busybox:1`]);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /pull access denied|unauthorized|authentication required/);

    const login = await d.berth(['login', '-u', 'alice', '--password-stdin', host], { input: 's3cret\n' });
    ok(login, 'login');
    assert.match(login.stdout, /Login Succeeded/);
    ok(await d.berth(['pull', `${host}/test/busybox:1`]), 'pull with token');
    ok(await d.berth(['tag', `${host}/test/busybox:1`, `${host}/alice/bb:1`]), 'tag');
    ok(await d.berth(['push', `${host}/alice/bb:1`]), 'push with token');

    // the real docker CLI logs in through berth's POST /auth and pulls with the token flow too
    const dockerLogin = await d.docker(['login', '-u', 'alice', '--password-stdin', host], { input: 's3cret\n' });
    ok(dockerLogin, 'docker login');
    assert.match(dockerLogin.stdout, /Login Succeeded/);
    ok(await d.docker(['pull', `${host}/alice/bb:1`]), 'docker pull with token');
    const dockerWrong = await d.docker(['login', '-u', 'alice', '--password-stdin', host], { input: 'nope\n' });
    assert.equal(dockerWrong.code, 1);

    const logout = await d.berth(['logout', host]);
    ok(logout, 'logout');
    assert.match(logout.stdout, new RegExp(`Removing login credentials for ${host}`));
    const after = await d.berth(['pull', `${host}/alice/bb:1`]);
    assert.equal(after.code, 1);
  });
});

describe('the real docker CLI against berth', () => {
  test('docker pull, push, images, rmi', async () => {
    const ref = `${reg.host}/test/busybox:1`;
    const pull = await d.docker(['pull', ref]);
    ok(pull, 'docker pull');
    assert.match(pull.stdout, /Digest: sha256:/);
    assert.equal(pull.stdout.trim().split('\n').pop(), ref);
    ok(await d.docker(['tag', ref, `${reg.host}/docker/cli:1`]), 'docker tag');
    const push = await d.docker(['push', `${reg.host}/docker/cli:1`]);
    ok(push, 'docker push');
    assert.match(push.stdout, /1: digest: sha256:[a-f0-9]{64} size: \d+/);
    const digests = await d.docker(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}']);
    ok(digests, 'images --digests');
    assert.match(digests.stdout, new RegExp(`${reg.host}/docker/cli sha256:`));
    const missing = await d.docker(['pull', `${reg.host}/test/busybox:nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /manifest unknown/);
    ok(await d.docker(['rmi', `${reg.host}/docker/cli:1`]), 'docker rmi');
  });
});

/** A loopback proxy in front of the registry that, for blob GETs of layers, corrupts one byte or cuts the
 * connection at the blob's midpoint (once, or every time). The midpoint is absolute: a resumed Range request
 * that starts past it is cut before its first byte, so "every time" can never complete by halving the rest. */
async function startBlobProxy(upstream: string, mode: 'corrupt' | 'cut-once' | 'cut-always'): Promise<{ host: string; cuts(): number; stop(): Promise<void> }> {
  let cuts = 0;
  const [uh, up] = upstream.split(':');
  const server = http.createServer((req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    const out = http.request({ host: uh, port: Number(up), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(String(ur.headers['content-range'] ?? ''));
      const start = ur.statusCode === 206 && range ? Number(range[1]) : 0;
      const blobSize = ur.statusCode === 206 && range ? Number(range[2]) : Number(ur.headers['content-length'] ?? 0);
      const isLayer = blob && blobSize > 4096 && (ur.statusCode === 200 || ur.statusCode === 206);
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!isLayer) { ur.pipe(res); return; }
      const cutAt = Math.floor(blobSize / 2); // absolute offset in the blob
      let pos = start;
      let flipped = false;
      let done = false;
      const cut = () => {
        cuts++;
        done = true;
        res.socket?.destroy();
        ur.destroy();
      };
      if (mode !== 'corrupt' && (mode === 'cut-always' || cuts === 0) && pos >= cutAt) { cut(); return; }
      ur.on('data', (chunk: Buffer) => {
        if (done) return;
        if (mode === 'corrupt' && !flipped) { chunk = Buffer.from(chunk); chunk[chunk.length - 1] ^= 0xff; flipped = true; }
        if (mode !== 'corrupt' && (mode === 'cut-always' || cuts === 0) && pos + chunk.length > cutAt) {
          done = true;
          if (cutAt > pos) res.write(chunk.subarray(0, cutAt - pos), () => cut());
          else cut();
          return;
        }
        pos += chunk.length;
        res.write(chunk);
      });
      ur.on('end', () => { if (!done) res.end(); });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    cuts: () => cuts,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
