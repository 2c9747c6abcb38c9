// distribution/credentials: the docker CLI's config.json credential store and docker-credential-* helpers
// (a fake helper script in a temp PATH directory keeps its secrets in a JSON file).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  configPath, credentialKey, getCredentials, storeCredentials, eraseCredentials, INDEX_SERVER, convertToHostname,
} from '../../src/distribution/credentials';

let dir: string;
let savedEnv: { DOCKER_CONFIG?: string; PATH?: string };

const HELPER = `#!/bin/sh
# docker-credential-fake: keeps {"server": {"Username","Secret"}} in $FAKE_STORE
store="\${FAKE_STORE:?}"
[ -f "$store" ] || echo '{}' > "$store"
input=$(cat)
case "$1" in
  get)
    node -e '
      const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const e = s[process.argv[2]];
      if (!e) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1); }
      process.stdout.write(JSON.stringify({ ServerURL: process.argv[2], Username: e.Username, Secret: e.Secret }));
    ' "$store" "$input" ;;
  store)
    node -e '
      const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const c = JSON.parse(process.argv[2]); s[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
      fs.writeFileSync(process.argv[1], JSON.stringify(s));
    ' "$store" "$input" ;;
  erase)
    node -e '
      const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      if (!s[process.argv[2]]) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1); }
      delete s[process.argv[2]]; fs.writeFileSync(process.argv[1], JSON.stringify(s));
    ' "$store" "$input" ;;
  *) echo "unknown action" ; exit 1 ;;
esac
`;

const BROKEN = `#!/bin/sh
cat >/dev/null
echo "the keychain is locked"
exit 3
`;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-creds-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'docker-credential-fake'), HELPER, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'docker-credential-broken'), BROKEN, { mode: 0o755 });
  savedEnv = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, PATH: process.env.PATH };
  process.env.PATH = `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}`;
  process.env.FAKE_STORE = path.join(dir, 'fake-store.json');
});

after(() => {
  for (const [k, v] of Object.entries(savedEnv)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  delete process.env.FAKE_STORE;
  fs.rmSync(dir, { recursive: true, force: true });
});

function freshConfigDir(name: string, content?: unknown): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  if (content !== undefined) fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(content));
  process.env.DOCKER_CONFIG = d;
  return path.join(d, 'config.json');
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

test('config path and credential keys', () => {
  process.env.DOCKER_CONFIG = '/some/where';
  assert.equal(configPath(), '/some/where/config.json');
  delete process.env.DOCKER_CONFIG;
  assert.equal(configPath(), path.join(process.env.HOME || os.homedir(), '.docker', 'config.json'));
  assert.equal(credentialKey('docker.io'), INDEX_SERVER);
  assert.equal(credentialKey('index.docker.io'), 'https://index.docker.io/v1/');
  assert.equal(credentialKey('localhost:5000'), 'localhost:5000');
  assert.equal(credentialKey('https://myreg.example.com/v2/'), 'myreg.example.com');
  assert.equal(convertToHostname('http://a:1/x/y'), 'a:1');
});

test('file store: store keeps other keys, mode 0600, base64 auth; get decodes; legacy keys; erase', async () => {
  const file = freshConfigDir('file', { auths: { 'other:1': { auth: Buffer.from('o:p').toString('base64') } }, psFormat: 'table {{.ID}}', experimental: 'enabled' });
  assert.equal(await getCredentials('localhost:5000'), undefined);
  await storeCredentials('localhost:5000', { username: 'alice', password: 's3cret:x', serveraddress: 'localhost:5000' });
  const cfg = readJson(file);
  assert.equal(cfg.psFormat, 'table {{.ID}}');
  assert.equal(cfg.experimental, 'enabled');
  assert.deepEqual(cfg.auths['localhost:5000'], { auth: Buffer.from('alice:s3cret:x').toString('base64') });
  assert.deepEqual(cfg.auths['other:1'], { auth: Buffer.from('o:p').toString('base64') });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(await getCredentials('localhost:5000'), { serveraddress: 'localhost:5000', username: 'alice', password: 's3cret:x' });
  // identity tokens: "user:" plus identitytoken
  await storeCredentials(INDEX_SERVER, { username: 'bob', password: 'ignored', identitytoken: 'idt' });
  assert.deepEqual(readJson(file).auths[INDEX_SERVER], { auth: Buffer.from('bob:').toString('base64'), identitytoken: 'idt' });
  assert.deepEqual(await getCredentials(INDEX_SERVER), { serveraddress: INDEX_SERVER, username: 'bob', identitytoken: 'idt' });
  // a key written with a scheme by an old CLI
  fs.writeFileSync(file, JSON.stringify({ auths: { 'https://legacy.example.com/v1/': { auth: Buffer.from('l:m').toString('base64') } } }));
  assert.deepEqual(await getCredentials('legacy.example.com'), { serveraddress: 'legacy.example.com', username: 'l', password: 'm' });
  await eraseCredentials('legacy.example.com');
  assert.deepEqual(readJson(file).auths, {});
  await eraseCredentials('never-stored:1');
});

test('file store: missing dir and file are created; a broken file is an error', async () => {
  const d = path.join(dir, 'new', 'nested');
  process.env.DOCKER_CONFIG = d;
  await storeCredentials('r:1', { username: 'u', password: 'p' });
  assert.deepEqual(readJson(path.join(d, 'config.json')), { auths: { 'r:1': { auth: Buffer.from('u:p').toString('base64') } } });
  fs.writeFileSync(path.join(d, 'config.json'), '{ nope');
  await assert.rejects(getCredentials('r:1'), /loading config file: .*config.json/);
});

test('credsStore helper: store/get/erase through docker-credential-fake; the file only gets an empty entry', async () => {
  const file = freshConfigDir('helper', { credsStore: 'fake', auths: {} });
  await storeCredentials('localhost:5000', { username: 'alice', password: 'pw' });
  assert.deepEqual(readJson(file).auths, { 'localhost:5000': {} });
  assert.deepEqual(readJson(process.env.FAKE_STORE!)['localhost:5000'], { Username: 'alice', Secret: 'pw' });
  assert.deepEqual(await getCredentials('localhost:5000'), { username: 'alice', password: 'pw', serveraddress: 'localhost:5000' });
  // identity token ↔ Username "<token>"
  await storeCredentials(INDEX_SERVER, { username: 'bob', identitytoken: 'refresh-me' });
  assert.deepEqual(readJson(process.env.FAKE_STORE!)[INDEX_SERVER], { Username: '<token>', Secret: 'refresh-me' });
  assert.deepEqual(await getCredentials(INDEX_SERVER), { identitytoken: 'refresh-me', serveraddress: INDEX_SERVER });
  assert.equal(await getCredentials('unknown:1'), undefined);
  await eraseCredentials('localhost:5000');
  assert.equal(await getCredentials('localhost:5000'), undefined);
  assert.deepEqual(readJson(file).auths, { [INDEX_SERVER]: {} });
  await eraseCredentials('localhost:5000'); // already gone: fine
});

test('credHelpers per registry win over credsStore; helper failures carry docker texts', async () => {
  freshConfigDir('per-registry', { credsStore: 'broken', credHelpers: { 'good:1': 'fake', 'missing:1': 'nosuchhelper' } });
  await storeCredentials('good:1', { username: 'g', password: 'h' });
  assert.deepEqual(await getCredentials('good:1'), { username: 'g', password: 'h', serveraddress: 'good:1' });
  await assert.rejects(getCredentials('other:1'), (e: Error) => e.message === 'error getting credentials - err: exit status 3, out: `the keychain is locked`');
  await assert.rejects(storeCredentials('other:1', { username: 'a', password: 'b' }), /^Error: error storing credentials - err: exit status 3, out: `the keychain is locked`$/);
  await assert.rejects(getCredentials('missing:1'),
    (e: Error) => e.message === 'error getting credentials - err: exec: "docker-credential-nosuchhelper": executable file not found in $PATH, out: ``');
});
