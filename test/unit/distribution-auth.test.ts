// distribution/: WWW-Authenticate parsing, X-Registry-Auth, and the Bearer token flow against an in-process
// token server (GET with Basic + account, OAuth POST with a refresh token, caching, expiry, error texts).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import { parseChallenges, challengeScopes, parseScope, repositoryScope } from '../../src/distribution/challenge';
import {
  decodeRegistryAuthHeader, encodeRegistryAuthHeader, basicCredentials, fetchToken, getToken, clearTokenCache, Authorizer,
} from '../../src/distribution/auth';
import { nodeTransport, closeIdleConnections } from '../../src/distribution/transport';
import { RegistryError } from '../../src/distribution/errors';

after(() => closeIdleConnections());

test('challenges: Bearer with realm, service, several scopes and error', () => {
  const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/a:pull repository:b:pull,push",error="insufficient_scope"');
  assert.equal(c.scheme, 'bearer');
  assert.equal(c.params.realm, 'https://auth.docker.io/token');
  assert.equal(c.params.service, 'registry.docker.io');
  assert.equal(c.params.error, 'insufficient_scope');
  assert.deepEqual(challengeScopes(c), ['repository:library/a:pull', 'repository:b:pull,push']);
});

test('challenges: Basic, case, spaces, escapes, tokens, several per header and per list', () => {
  assert.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
  assert.deepEqual(parseChallenges('BEARER Realm = "a\\"b" , Service=svc'), [{ scheme: 'bearer', params: { realm: 'a"b', service: 'svc' } }]);
  assert.deepEqual(parseChallenges('Basic realm="x", Bearer realm="y",service="z"'), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'y', service: 'z' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm="x"', 'Bearer realm="y"']).map((c) => c.scheme), ['basic', 'bearer']);
  assert.deepEqual(parseChallenges('Bearer'), [{ scheme: 'bearer', params: {} }]);
  assert.deepEqual(parseChallenges(''), []);
  assert.deepEqual(parseChallenges(undefined), []);
  // an unterminated quote drops the broken parameter, keeps what came before
  assert.deepEqual(parseChallenges('Bearer realm="x",service="oops'), [{ scheme: 'bearer', params: { realm: 'x' } }]);
});

test('scopes', () => {
  assert.equal(repositoryScope('library/busybox', ['push', 'pull']), 'repository:library/busybox:push,pull');
  assert.deepEqual(parseScope('repository:a/b:pull,push'), { type: 'repository', name: 'a/b', actions: ['pull', 'push'] });
  assert.equal(parseScope('nonsense'), undefined);
});

test('X-Registry-Auth: base64url as the CLI sends it, standard base64, without padding, case-insensitive keys', () => {
  const auth = { username: 'alice', password: 'p+/?ss', serveraddress: 'localhost:5000' };
  const header = encodeRegistryAuthHeader(auth);
  assert.ok(!/[+/]/.test(header), 'url-safe alphabet');
  assert.deepEqual(decodeRegistryAuthHeader(header), auth);
  const json = JSON.stringify({ username: 'bob', password: '>>>???', identitytoken: 'tok' });
  const std = Buffer.from(json).toString('base64');
  assert.deepEqual(decodeRegistryAuthHeader(std), { username: 'bob', password: '>>>???', identitytoken: 'tok' });
  assert.deepEqual(decodeRegistryAuthHeader(std.replace(/=+$/, '')), { username: 'bob', password: '>>>???', identitytoken: 'tok' });
  assert.deepEqual(decodeRegistryAuthHeader(Buffer.from('{"Username":"c","PASSWORD":"d","email":""}').toString('base64')), { username: 'c', password: 'd' });
  assert.equal(decodeRegistryAuthHeader(undefined), undefined);
  assert.equal(decodeRegistryAuthHeader(''), undefined);
  assert.equal(decodeRegistryAuthHeader(Buffer.from('{}').toString('base64')), undefined);
  assert.equal(decodeRegistryAuthHeader('not base64!'), undefined);
  assert.equal(decodeRegistryAuthHeader(Buffer.from('[1]').toString('base64')), undefined);
  assert.equal(decodeRegistryAuthHeader(Buffer.from('{"username":').toString('base64')), undefined);
  // the exact bytes docker's Go encoder produces for this config
  assert.equal(encodeRegistryAuthHeader({ username: 'u', password: 'p' }), 'eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==');
});

test('basic credentials from username/password or the auth field', () => {
  assert.deepEqual(basicCredentials({ username: 'a', password: 'b' }), { username: 'a', password: 'b' });
  assert.deepEqual(basicCredentials({ auth: Buffer.from('a:b:c').toString('base64') }), { username: 'a', password: 'b:c' });
  assert.equal(basicCredentials({ username: 'a' }), undefined);
  assert.equal(basicCredentials({ auth: Buffer.from('a:').toString('base64') }), undefined);
  assert.equal(basicCredentials(undefined), undefined);
});

interface Seen { method: string; url: URL; authorization?: string; body: string }

function tokenServer(handler: (seen: Seen, res: http.ServerResponse) => void): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const s = { method: req.method!, url: new URL(req.url!, 'http://x'), authorization: req.headers.authorization, body };
      seen.push(s);
      handler(s, res);
    });
  });
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    resolve({ url, seen, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }) });
  }));
}

const send = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

test('token GET: service, scopes, account and Basic credentials; token or access_token; cache until expiry', async () => {
  clearTokenCache();
  let n = 0;
  const srv = await tokenServer((_s, res) => {
    n++;
    send(res, 200, n === 1 ? { token: `t${n}`, expires_in: 3600 } : { access_token: `a${n}`, token: 'ignored', expires_in: 1 });
  });
  try {
    const params = { realm: `${srv.url}/token`, service: 'svc' };
    const scopes = ['repository:a:pull,push', 'repository:b:pull'];
    const opts = { transport: nodeTransport };
    const auth = { username: 'alice', password: 'pw' };
    assert.equal(await getToken(params, scopes, auth, opts), 't1');
    const s = srv.seen[0];
    assert.equal(s.method, 'GET');
    assert.equal(s.url.pathname, '/token');
    assert.equal(s.url.searchParams.get('service'), 'svc');
    assert.deepEqual(s.url.searchParams.getAll('scope'), scopes);
    assert.equal(s.url.searchParams.get('account'), 'alice');
    assert.equal(s.authorization, 'Basic ' + Buffer.from('alice:pw').toString('base64'));
    // cached: same scopes in any order, same credentials
    assert.equal(await getToken(params, [...scopes].reverse(), auth, opts), 't1');
    assert.equal(srv.seen.length, 1);
    // other credentials → another token; access_token wins over token; a short expires_in still lasts 60 s
    assert.equal(await getToken(params, scopes, { username: 'bob', password: 'x' }, opts), 'a2');
    assert.equal(await getToken(params, scopes, { username: 'bob', password: 'x' }, opts), 'a2');
    assert.equal(srv.seen.length, 2);
    // anonymous: no account, no Authorization
    assert.equal(await getToken(params, ['repository:c:pull'], undefined, opts), 'a3');
    assert.equal(srv.seen[2].authorization, undefined);
    assert.equal(srv.seen[2].url.searchParams.get('account'), null);
    // concurrent callers share one fetch
    const [x, y] = await Promise.all([getToken(params, ['repository:d:pull'], undefined, opts), getToken(params, ['repository:d:pull'], undefined, opts)]);
    assert.equal(x, y);
    assert.equal(srv.seen.length, 4);
  } finally {
    await srv.close();
  }
});

test('token POST with an identity token (refresh_token grant), offline GET for login', async () => {
  clearTokenCache();
  const srv = await tokenServer((s, res) => {
    if (s.method === 'POST') send(res, 200, { access_token: 'from-refresh', expires_in: 300 });
    else send(res, 200, { token: 'login-token', refresh_token: 'new-identity' });
  });
  try {
    const params = { realm: `${srv.url}/token`, service: 'svc' };
    const r = await fetchToken(params, ['repository:a:pull'], { identitytoken: 'idt' }, { transport: nodeTransport });
    assert.equal(r.token, 'from-refresh');
    assert.equal(r.refreshToken, 'idt');
    const form = new URLSearchParams(srv.seen[0].body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('refresh_token'), 'idt');
    assert.equal(form.get('client_id'), 'docker');
    assert.equal(form.get('service'), 'svc');
    assert.equal(form.get('scope'), 'repository:a:pull');
    const l = await fetchToken(params, [], { username: 'u', password: 'p' }, { transport: nodeTransport, offline: true });
    assert.equal(l.refreshToken, 'new-identity');
    const q = srv.seen[1].url.searchParams;
    assert.equal(q.get('offline_token'), 'true');
    assert.equal(q.get('client_id'), 'docker');
    assert.equal(q.get('scope'), null);
    // grant_type=password when forced
    await fetchToken(params, ['repository:a:pull'], { username: 'u', password: 'p' }, { transport: nodeTransport, forceOAuth: true });
    const f = new URLSearchParams(srv.seen[2].body);
    assert.equal(f.get('grant_type'), 'password');
    assert.equal(f.get('username'), 'u');
    assert.equal(f.get('access_type'), 'offline');
  } finally {
    await srv.close();
  }
});

test('token errors: refused credentials, missing token, bad realm', async () => {
  clearTokenCache();
  const srv = await tokenServer((s, res) => {
    if (s.url.searchParams.get('account') === 'bad') send(res, 401, { details: 'incorrect username or password' });
    else send(res, 200, { nothing: true });
  });
  try {
    const params = { realm: `${srv.url}/token`, service: 'svc' };
    await assert.rejects(fetchToken(params, [], { username: 'bad', password: 'x' }, { transport: nodeTransport }),
      (e: RegistryError) => e.message === 'unauthorized: incorrect username or password' && e.code === 'UNAUTHORIZED' && e.status === 401);
    await assert.rejects(fetchToken(params, [], undefined, { transport: nodeTransport }), /authorization server did not include a token in the response/);
    await assert.rejects(fetchToken({ service: 'x' }, [], undefined, { transport: nodeTransport }), /no realm specified for token auth challenge/);
  } finally {
    await srv.close();
  }
});

test('Authorizer: Bearer over Basic, registry tokens, missing Basic credentials', async () => {
  const a = new Authorizer(undefined, ['repository:x:pull'], { transport: nodeTransport });
  assert.equal(await a.authorization(), undefined);
  a.setChallenges(parseChallenges('Basic realm="r"'));
  await assert.rejects(a.authorization(), /^RegistryError: no basic auth credentials$|no basic auth credentials/);
  const b = new Authorizer({ auth: Buffer.from('u:p').toString('base64') }, [], { transport: nodeTransport });
  b.setChallenges(parseChallenges('Basic realm="r"'));
  assert.equal(await b.authorization(), 'Basic ' + Buffer.from('u:p').toString('base64'));
  const c = new Authorizer({ registrytoken: 'rt' }, [], { transport: nodeTransport });
  c.setChallenges(parseChallenges(['Basic realm="r"', 'Bearer realm="http://127.0.0.1:1/token"']));
  assert.equal(await c.authorization(), 'Bearer rt');
});
