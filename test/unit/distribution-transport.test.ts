// The registry transport's TLS: the system CA bundle (or SSL_CERT_FILE, as for dockerd) is what a registry's
// certificate is checked against, and it is parsed into a TLS context once, not again for every new connection.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { nodeTransport, closeIdleConnections } from '../../src/distribution/transport';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-transport-'));
const savedCertFile = process.env.SSL_CERT_FILE;
after(() => {
  closeIdleConnections();
  if (savedCertFile === undefined) delete process.env.SSL_CERT_FILE; else process.env.SSL_CERT_FILE = savedCertFile;
  fs.rmSync(work, { recursive: true, force: true });
});

/** A self-signed certificate for 127.0.0.1 (its own CA). */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = path.join(work, `${name}.crt`);
  const key = path.join(work, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

/** An https server answering 200 "ok" and closing each connection (so every request needs a new one). */
async function server(pair: { cert: string; key: string }): Promise<{ url: string; close: () => void }> {
  const s = https.createServer({ cert: fs.readFileSync(pair.cert), key: fs.readFileSync(pair.key) }, (_req, res) => {
    res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(s.address() as AddressInfo).port}/v2/`, close: () => { s.close(); s.closeAllConnections(); } };
}

test('https: a registry is trusted through SSL_CERT_FILE, whose bundle is parsed once for many connections', async () => {
  const trusted = selfSigned('trusted');
  const srv = await server(trusted);
  process.env.SSL_CERT_FILE = trusted.cert;
  closeIdleConnections();
  // the module object itself (an `import * as` namespace only has getters)
  const tlsModule = require('tls') as { createSecureContext: typeof tls.createSecureContext };
  const original = tlsModule.createSecureContext;
  let contexts = 0;
  tlsModule.createSecureContext = (options) => { contexts++; return original(options); };
  try {
    for (let i = 0; i < 4; i++) {
      const res = await nodeTransport({ method: 'GET', url: new URL(srv.url) });
      assert.equal(res.status, 200);
      assert.equal((await res.bytes()).toString(), 'ok');
    }
    // one context for the bundle; the old code made one per connection (four here)
    assert.equal(contexts, 1);
  } finally {
    tlsModule.createSecureContext = original;
    srv.close();
  }
});

test('https: a certificate outside the bundle is refused, and accepted only for an insecure registry', async () => {
  const trusted = selfSigned('trusted2');
  const stranger = selfSigned('stranger');
  const srv = await server(stranger);
  process.env.SSL_CERT_FILE = trusted.cert;
  closeIdleConnections();
  try {
    await assert.rejects(nodeTransport({ method: 'GET', url: new URL(srv.url) }), /self-signed certificate/);
    const res = await nodeTransport({ method: 'GET', url: new URL(srv.url), insecureTls: true });
    assert.equal(res.status, 200);
    res.discard();
  } finally {
    srv.close();
  }
});
