// The logic behind issue 14's fixes, without a daemon: Go-style field names, log config, links, IPv6
// arithmetic, a context tar without its end blocks, resolv.conf with --dns*, and the docker-py result lists.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tar from 'tar-stream';
import { canonicalKeys } from '../../src/common/go-json';
import { logConfig, validateBody } from '../../src/engine/containers/create';
import { linkEnv, parseLink, linkView } from '../../src/engine/containers/links';
import { formatIp6, parseIp6, parseCidr6, overlaps6, contains6, isIpv6 } from '../../src/network/ipv6';
import { completeTarEnd } from '../../src/build/tar-end';
import { extractContext } from '../../src/build/context';
import { parseJunit, readTestList } from '../compat/docker-py/junit';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

test('canonicalKeys: Go decodes JSON names case-insensitively; the exact name wins', () => {
  assert.deepEqual(canonicalKeys({ cpurealtimeruntime: 1, CPURealtimePeriod: 2, Other: 3 }, ['CpuRealtimeRuntime', 'CpuRealtimePeriod']),
    { CpuRealtimeRuntime: 1, CpuRealtimePeriod: 2, Other: 3 });
  assert.deepEqual(canonicalKeys({ memory: 1, Memory: 2 }, ['Memory']), { Memory: 2 });
  const body = validateBody({ image: 'busybox', hostconfig: { logconfig: { Type: '' } }, Runtime: 'runc' });
  assert.deepEqual([body.Image, body.HostConfig?.LogConfig, body.HostConfig?.Runtime], ['busybox', { Type: '' }, 'runc']);
  assert.ok(!('Runtime' in body));
});

test('logConfig: json-file by default with its options checked; none; unknown drivers with dockerd\'s text', () => {
  assert.deepEqual(logConfig(undefined), { Type: 'json-file', Config: {} });
  assert.deepEqual(logConfig({ Type: '', Config: { 'max-file': '3' } }), { Type: 'json-file', Config: { 'max-file': '3' } });
  assert.deepEqual(logConfig({ Type: 'none' }), { Type: 'none', Config: {} });
  assert.throws(() => logConfig({ Type: 'asdf' }), /error looking up logging plugin asdf: plugin "asdf" not found/);
  assert.throws(() => logConfig({ Type: 'json-file', Config: { bogus: '1' } }), /unknown log opt 'bogus' for json-file log driver/);
  assert.throws(() => logConfig({ Type: 'syslog' }), (e: { status?: number }) => e.status === 400);
});

test('links: the forms a link is written in, and the environment docker gives the linking container', () => {
  assert.deepEqual(parseLink('db:my-db'), { name: 'db', alias: 'my-db' });
  assert.deepEqual(parseLink('/db:/web/my-db'), { name: 'db', alias: 'my-db' });
  assert.deepEqual(parseLink('db'), { name: 'db', alias: 'db' });
  assert.equal(linkView({ name: 'db', alias: 'x' }, '/web'), '/db:/web/x');
  const env = linkEnv('/web', { name: 'db', alias: 'my-db' }, { name: 'db', ip: '10.0.0.5', env: ['PATH=/bin', 'PW=s3', 'HOME=/root', 'NOVALUE'], exposedPorts: ['5432/tcp', '53/udp'] });
  assert.deepEqual(env, [
    'MY_DB_NAME=/web/my-db', 'MY_DB_PORT=udp://10.0.0.5:53',
    'MY_DB_PORT_53_UDP=udp://10.0.0.5:53', 'MY_DB_PORT_53_UDP_ADDR=10.0.0.5', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
    'MY_DB_PORT_5432_TCP=tcp://10.0.0.5:5432', 'MY_DB_PORT_5432_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_5432_TCP_PORT=5432', 'MY_DB_PORT_5432_TCP_PROTO=tcp',
    'MY_DB_ENV_PW=s3',
  ]);
});

test('IPv6 arithmetic: parse, RFC 5952 text, subnets', () => {
  for (const [text, canon] of [['2001:DB8::F00D', '2001:db8::f00d'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::', '::'], ['::1', '::1'],
    ['fe80::', 'fe80::'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['1:0:0:0:0:0:0:0', '1::']]) {
    assert.equal(formatIp6(parseIp6(text)), canon, text);
  }
  for (const bad of ['1:2:3', ':::1', '1::2::3', '12345::', 'g::1', '10.0.0.1']) assert.ok(!isIpv6(bad), bad);
  const a = parseCidr6('2001:db8:63:1::/64');
  assert.ok(contains6(a, parseIp6('2001:db8:63:1::f00d')));
  assert.ok(!contains6(a, parseIp6('2001:db8:63:2::1')));
  assert.ok(overlaps6(a, parseCidr6('2001:db8:63:1:8000::/80')));
  assert.ok(!overlaps6(a, parseCidr6('2001:db8:63:2::/64')));
});

async function tarOf(entries: Array<[string, string]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of entries) pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* chunksOf(b: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

test('a context tar that ends right after its last entry\'s data is complete (as Go reads it); one cut inside an entry is not', async () => {
  const whole = await tarOf([['file.txt', 'hi\n'], ['.dockerignore', '.dockerignore\n.dockerfile.x\n']]);
  // header + data of the last entry, no padding, no end blocks: what the docker CLI sends with -f outside the context
  const cut = whole.subarray(0, 512 * 3 + '.dockerignore\n.dockerfile.x\n'.length);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-unit-tarend-'));
  try {
    await extractContext(chunksOf(cut), dir);
    assert.deepEqual(readdirSync(dir).sort(), ['.dockerignore', 'file.txt']);
    assert.equal(readFileSync(path.join(dir, '.dockerignore'), 'utf8'), '.dockerignore\n.dockerfile.x\n');
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const out = async (b: Buffer) => { const parts: Buffer[] = []; for await (const c of completeTarEnd(chunksOf(b))) parts.push(Buffer.from(c)); return Buffer.concat(parts); };
  assert.equal((await out(whole)).length, whole.length, 'a complete archive passes unchanged');
  assert.equal((await out(whole.subarray(0, 512 + 2))).length, 514, 'cut inside the data: nothing added');
  assert.equal((await out(whole.subarray(0, 300))).length, 300, 'cut inside a header: nothing added');
});

test('docker-py lists and junit: ids, reasons, the worse of a call and a teardown outcome', () => {
  const xml = `<testsuites><testsuite>
    <testcase classname="tests.integration.api_container_test.ListContainersTest" name="test_list_containers" time="1"/>
    <testcase classname="tests.integration.api_network_test.TestNetworks" name="test_x" time="1"><failure message="boom &amp; &quot;more&quot;">trace</failure></testcase>
    <testcase classname="tests.integration.api_network_test.TestNetworks" name="test_x" time="1"><error message="teardown">trace</error></testcase>
    <testcase classname="tests.integration.api_build_test.BuildTest" name="test_squash" time="0"><skipped type="pytest.skip" message="experimental"/></testcase>
    <testcase classname="tests.integration.credentials.store_test.TestStore" name="test_list" time="0"/>
  </testsuite></testsuites>`;
  const r = parseJunit(xml);
  assert.deepEqual(r.get('api_container_test.py::ListContainersTest::test_list_containers'), { outcome: 'passed', message: '' });
  assert.deepEqual(r.get('api_network_test.py::TestNetworks::test_x'), { outcome: 'error', message: 'teardown' });
  assert.equal(r.get('api_build_test.py::BuildTest::test_squash')?.outcome, 'skipped');
  assert.ok(r.has('credentials/store_test.py::TestStore::test_list'));
  const list = readTestList('# comment\n\na.py::A::t1  # why\na.py::A::t2\n');
  assert.deepEqual([...list], [['a.py::A::t1', 'why'], ['a.py::A::t2', '']]);
});
