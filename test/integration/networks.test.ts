// User-defined networks, DNS, none/host/container:, published ports and isolation — with real containers, driven
// by the real docker CLI against a private berth daemon (its own bridge, subnet, data root).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, sleep, waitFor } from '../helpers/daemon';
import { primaryAddress } from './network-fixture';

const d = new TestDaemon('nets');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };
const docker = (...args: string[]) => d.docker(args);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', () => r()));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** HTTP GET from the host with a short timeout; undefined when nothing answers. */
function httpGet(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    let buf = '';
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.on('data', (c) => { buf += c; });
    s.on('end', () => resolve(buf));
    s.on('timeout', () => { s.destroy(); resolve(undefined); });
    s.on('error', () => resolve(undefined));
  });
}

/**
 * `docker run|exec … busybox` fetching http://host:80/ with nc (Debian's static busybox wget crashes on some
 * failures, which would hide the reason); resolves to the body, or undefined when nothing answered.
 */
async function fetchIn(prefix: string[], host: string, port = 80): Promise<string | undefined> {
  const r = await d.docker([...prefix, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port}`]);
  const body = r.stdout.split('\r\n\r\n')[1];
  return r.code === 0 && body !== undefined ? body.trim() : undefined;
}
const runIn = (...net: string[]) => ['run', '--rm', ...net, 'busybox'];

/** A detached busybox httpd serving "hello <name>" on port 80. */
async function webServer(name: string, ...runArgs: string[]): Promise<void> {
  ok(await d.docker(['run', '-d', '--name', name, ...runArgs, 'busybox', 'sh', '-c',
    `mkdir -p /www && echo hello ${name} > /www/index.html && exec httpd -f -p 80 -h /www`]), `run ${name}`);
  await waitFor(async () => (await d.docker(['exec', name, 'sh', '-c', 'netstat -ltn | grep -q ":80 "'])).code === 0, 10_000, `${name} listening`);
}

/** The bridge devices of this daemon's networks (default and user-defined). */
async function ourBridges(): Promise<string[]> {
  const ids = (await d.docker(['network', 'ls', '-q', '--no-trunc', '--filter', 'type=custom'])).stdout.split('\n').filter(Boolean);
  return [d.bridge, ...ids.map((id) => `br-${id.slice(0, 12)}`)];
}

/**
 * What the host has of this daemon's networking: veths on its bridges, rules in its chains, IP reservations,
 * namespace files. (Other engines may run beside the tests: only this daemon's own things are counted.)
 */
/**
 * What the daemon holds on the host, once it has settled: two readings 150 ms apart that agree. The daemon keeps one
 * network namespace ready for the next start and makes a new one shortly after a start takes it (src/network/warm.ts),
 * so a reading right after a start may or may not count it (CI once saw 2 namespaces where 1 was expected).
 */
async function footprint(): Promise<{ links: number; rules: number; ips: number; netns: number }> {
  await sleep(300); // the replacement namespace is made 30 ms after a start took one, then takes a process start
  let last = await readFootprint();
  for (let i = 0; i < 40; i++) {
    await sleep(150);
    const next = await readFootprint();
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  return last;
}

async function readFootprint(): Promise<{ links: number; rules: number; ips: number; netns: number }> {
  const bridges = await ourBridges();
  const all = JSON.parse((await runCmd('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout || '[]') as { master?: string }[];
  const links = all.filter((l) => l.master && bridges.includes(l.master)).length;
  const saved = (await runCmd('iptables-save', [])).stdout.split('\n');
  const rules = saved.filter((l) => l.startsWith('-A') && bridges.some((b) => l.includes(`-${b} `) || l.endsWith(`-${b}`))).length;
  const ipamRoot = path.join(d.dataRoot, 'network', 'ipam');
  let ips = 0;
  for (const n of readdirSync(ipamRoot)) ips += readdirSync(path.join(ipamRoot, n)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length;
  const netns = readdirSync(path.join(d.execRoot, 'netns')).length;
  return { links, rules, ips, netns };
}

test('two containers on a user-defined network reach each other by name and alias; not on the default bridge', async () => {
  ok(await docker('network', 'create', 'appnet'), 'network create');
  try {
    await webServer('web1', '--network', 'appnet', '--network-alias', 'frontend');
    const byName = await fetchIn(runIn('--network', 'appnet'), 'web1');
    assert.equal(byName, 'hello web1');
    const byAlias = await fetchIn(runIn('--network', 'appnet'), 'frontend');
    assert.equal(byAlias, 'hello web1');
    const id = ok(await docker('inspect', '-f', '{{.Id}}', 'web1'), 'inspect');
    const ip = ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "appnet").IPAddress}}', 'web1'), 'inspect ip');
    const ns = ok(await docker('run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', id.slice(0, 12)), 'nslookup short id');
    assert.match(ns, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    const resolv = ok(await docker('run', '--rm', '--network', 'appnet', 'busybox', 'cat', '/etc/resolv.conf'), 'resolv.conf');
    const gw = ok(await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'appnet'), 'gateway');
    assert.match(resolv, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
    // the default bridge has no embedded DNS, as in Docker
    assert.equal(await fetchIn(runIn(), 'web1'), undefined);
    // a renamed container answers to its new name
    ok(await docker('rename', 'web1', 'web2'), 'rename');
    assert.equal(await fetchIn(runIn('--network', 'appnet'), 'web2'), 'hello web1');
  } finally {
    await docker('rm', '-f', 'web1', 'web2');
    await docker('network', 'rm', 'appnet');
  }
});

test('networks are isolated from each other; --internal has no route out', async () => {
  ok(await docker('network', 'create', 'neta'), 'create neta');
  ok(await docker('network', 'create', 'netb'), 'create netb');
  ok(await docker('network', 'create', '--internal', '--subnet', '10.251.9.0/24', 'netint'), 'create internal');
  try {
    await webServer('srv-a', '--network', 'neta');
    const ipA = ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "neta").IPAddress}}', 'srv-a'), 'ip');
    // same network: reachable
    assert.equal(await fetchIn(runIn('--network', 'neta'), ipA), 'hello srv-a');
    // another network: not reachable by address, nor by name
    assert.equal(await fetchIn(runIn('--network', 'netb'), ipA), undefined, 'netb must not reach neta');
    assert.notEqual((await docker('run', '--rm', '--network', 'netb', 'busybox', 'nslookup', 'srv-a')).code, 0);
    // the default bridge cannot reach it either
    assert.equal(await fetchIn(runIn(), ipA), undefined);
    // internal: no default route, the host's own address is unreachable, but containers on it talk
    await webServer('srv-int', '--network', 'netint', '--ip', '10.251.9.50');
    const routes = ok(await docker('run', '--rm', '--network', 'netint', 'busybox', 'ip', 'route'), 'routes');
    assert.doesNotMatch(routes, /default/);
    const host = primaryAddress(d.bridge) ?? '192.0.2.1';
    assert.notEqual((await docker('run', '--rm', '--network', 'netint', 'busybox', 'ping', '-c', '1', '-W', '2', host)).code, 0);
    assert.equal(await fetchIn(runIn('--network', 'netint'), 'srv-int'), 'hello srv-int');
    // a connected container reaches both networks
    ok(await docker('network', 'connect', 'neta', 'srv-int'), 'connect');
    const eth1 = ok(await docker('exec', 'srv-int', 'ip', '-4', '-o', 'addr', 'show', 'eth1'), 'eth1');
    assert.match(eth1, /inet \d+\.\d+\.\d+\.\d+\//);
    assert.equal(await fetchIn(['exec', 'srv-int'], 'srv-a'), 'hello srv-a');
    ok(await docker('network', 'disconnect', 'neta', 'srv-int'), 'disconnect');
    assert.notEqual((await docker('exec', 'srv-int', 'ip', 'link', 'show', 'eth1')).code, 0, 'eth1 is gone');
  } finally {
    await docker('rm', '-f', 'srv-a', 'srv-int');
    await docker('network', 'rm', 'neta', 'netb', 'netint');
  }
});

test('connect before start; disconnecting the primary network moves the default route; inspect shows both', async () => {
  ok(await docker('network', 'create', 'first'), 'first');
  ok(await docker('network', 'create', 'second'), 'second');
  try {
    ok(await docker('create', '--name', 'multi', '--network', 'first', 'busybox', 'sleep', '60'), 'create');
    ok(await docker('network', 'connect', '--alias', 'm2', 'second', 'multi'), 'connect while created');
    const nets = JSON.parse(ok(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', 'multi'), 'inspect'));
    assert.deepEqual(Object.keys(nets).sort(), ['first', 'second']);
    assert.deepEqual(nets.second.Aliases, ['m2']);
    ok(await docker('start', 'multi'), 'start');
    const addrs = ok(await docker('exec', 'multi', 'ip', '-4', '-o', 'addr'), 'addrs');
    assert.match(addrs, /eth0/);
    assert.match(addrs, /eth1/);
    const gw2 = ok(await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'second'), 'gw2');
    const dup = await docker('network', 'connect', 'second', 'multi');
    assert.match(dup.stderr, /endpoint with name multi already exists in network second/);
    ok(await docker('network', 'disconnect', 'first', 'multi'), 'disconnect primary');
    assert.match(ok(await docker('exec', 'multi', 'ip', 'route', 'show', 'default'), 'route'), new RegExp(`default via ${gw2.replace(/\./g, '\\.')} dev eth1`));
    const notOn = await docker('network', 'disconnect', 'first', 'multi');
    assert.match(notOn.stderr, /is not connected to network first/);
  } finally {
    await docker('rm', '-f', 'multi');
    await docker('network', 'rm', 'first', 'second');
  }
});

test('--network none has only lo; host sees the host; container: shares the namespace', async () => {
  const none = ok(await docker('run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link'), 'none');
  assert.deepEqual(none.split('\n').map((l) => l.split(': ')[1]), ['lo']);
  const hostLinks = ok(await docker('run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link'), 'host');
  assert.match(hostLinks, new RegExp(`: ${d.bridge}:`), 'the host network shows the daemon bridge');
  ok(await docker('run', '-d', '--name', 'nsowner', 'busybox', 'sleep', '60'), 'owner');
  try {
    const ip = ok(await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'nsowner'), 'ip');
    const shared = ok(await docker('run', '--rm', '--network', 'container:nsowner', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'), 'container:');
    assert.match(shared, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  } finally {
    await docker('rm', '-f', 'nsowner');
  }
});

test('published ports: host:container, ip:host:container, random, ranges, -P, udp; ps, port and inspect', async () => {
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  await webServer('pub1', '-p', `${p1}:80`, '-p', `127.0.0.1:${p2}:80`, '-p', '80', '--expose', '81', '-P', '-p', `${p3}:53/udp`);
  try {
    assert.match((await httpGet('127.0.0.1', p1)) ?? '', /hello pub1/);
    const host = primaryAddress(d.bridge);
    if (host) {
      assert.match((await httpGet(host, p1)) ?? '', /hello pub1/, 'at the host address');
      assert.equal(await httpGet(host, p2), undefined, 'bound to 127.0.0.1 only');
    }
    assert.match((await httpGet('127.0.0.1', p2)) ?? '', /hello pub1/);
    // from another container, through the host's address
    if (host) {
      const fromContainer = await docker('run', '--rm', 'busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${p1}`);
      assert.match(fromContainer.stdout, /hello pub1/, `from a container: ${fromContainer.code} ${fromContainer.stderr}`);
    }
    const port = ok(await docker('port', 'pub1'), 'port');
    const lines = port.split('\n');
    assert.ok(lines.includes(`80/tcp -> 0.0.0.0:${p1}`), port);
    assert.ok(lines.includes(`80/tcp -> 127.0.0.1:${p2}`), port);
    assert.ok(lines.includes(`53/udp -> 0.0.0.0:${p3}`), port);
    assert.ok(lines.some((l) => /^81\/tcp -> 0\.0\.0\.0:\d+$/.test(l)), `-P publishes the exposed 81: ${port}`);
    const random = lines.filter((l) => l.startsWith('80/tcp -> 0.0.0.0:') && l !== `80/tcp -> 0.0.0.0:${p1}`);
    assert.equal(random.length, 1, port);
    const rport = Number(random[0].split(':').pop());
    assert.match((await httpGet('127.0.0.1', rport)) ?? '', /hello pub1/);
    const ps = ok(await docker('ps', '--filter', 'name=pub1', '--format', '{{.Ports}}'), 'ps');
    assert.match(ps, new RegExp(`0\\.0\\.0\\.0:${p1}->80/tcp`));
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${p2}->80/tcp`));
    const insp = JSON.parse(ok(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub1'), 'inspect'));
    assert.ok(insp['80/tcp'].some((b: { HostIp: string; HostPort: string }) => b.HostIp === '0.0.0.0' && b.HostPort === String(p1)));
    // a range of ports
    const base = 20000 + Math.floor(Math.random() * 20000);
    ok(await docker('run', '-d', '--name', 'pubrange', '-p', `${base}-${base + 2}:7000-7002`, 'busybox', 'sleep', '60'), 'range');
    const rp = ok(await docker('port', 'pubrange'), 'port range').split('\n').sort();
    assert.deepEqual(rp, [0, 1, 2].map((i) => `${7000 + i}/tcp -> 0.0.0.0:${base + i}`));
    assert.equal(ok(await docker('port', 'pubrange', '7001'), 'port one'), `0.0.0.0:${base + 1}`);
  } finally {
    await docker('rm', '-f', 'pub1', 'pubrange');
  }
});

test('bad input: clear errors, nothing half set up', async () => {
  const before = await footprint();
  const overlap1 = ok(await docker('network', 'create', '--subnet', '10.252.0.0/16', 'ov1'), 'ov1');
  try {
    const ov = await docker('network', 'create', '--subnet', '10.252.3.0/24', 'ov2');
    assert.equal(ov.code, 1);
    assert.match(ov.stderr, /Pool overlaps with other one on this address space/);
    const dup = await docker('network', 'create', 'ov1');
    assert.match(dup.stderr, /network with name ov1 already exists/);
    const cidr = await docker('network', 'create', '--subnet', '10.0.0.0/33', 'bad');
    assert.notEqual(cidr.code, 0);
    assert.match(cidr.stderr, /invalid/i);
    const gw = await docker('network', 'create', '--subnet', '10.253.0.0/24', '--gateway', '10.9.9.1', 'bad2');
    assert.match(gw.stderr, /no matching subnet for gateway 10\.9\.9\.1/);
    // (through the API: the docker CLI answers any 404 of create with a pull, which needs Docker Hub, as with dockerd)
    const unknown = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'nope' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, 'network nope not found');
    const aliasOnBridge = await docker('run', '--rm', '--network-alias', 'x', 'busybox', 'true');
    assert.notEqual(aliasOnBridge.code, 0);
    const ipNoSubnet = await docker('network', 'create', 'nosub');
    ok(ipNoSubnet, 'nosub');
    const ipr = await docker('run', '--rm', '--network', 'nosub', '--ip', '172.30.0.9', 'busybox', 'true');
    assert.match(ipr.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);
    ok(await docker('network', 'rm', 'nosub'), 'rm nosub');
    // a port in use: Docker's text; the container is not running and holds nothing
    const port = await freePort();
    ok(await docker('run', '-d', '--name', 'holder', '-p', `${port}:80`, 'busybox', 'sleep', '60'), 'holder');
    const mid = await footprint();
    const clash = await docker('run', '-d', '--name', 'clash', '-p', `${port}:80`, 'busybox', 'sleep', '60');
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    assert.deepEqual(await footprint(), mid, 'the failed start left nothing');
    // a network with a running container cannot go; after the container it can
    ok(await docker('run', '-d', '--name', 'member', '--network', 'ov1', 'busybox', 'sleep', '60'), 'member');
    const busy = await docker('network', 'rm', 'ov1');
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /error while removing network: network ov1 has active endpoints/);
    const pre = await docker('network', 'rm', 'bridge');
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
    await docker('rm', '-f', 'holder', 'clash', 'member');
    assert.equal(overlap1.length, 64);
    ok(await docker('network', 'rm', 'ov1'), 'rm ov1');
    assert.match((await docker('network', 'inspect', 'ov1')).stderr, /network ov1 not found|No such network/i);
    assert.deepEqual(await footprint(), before);
  } finally {
    await docker('rm', '-f', 'holder', 'clash', 'member');
    await docker('network', 'rm', 'ov1', 'nosub');
  }
});

test('50 run/rm cycles on the bridge, a user network and with a published port leak nothing', async () => {
  ok(await docker('network', 'create', 'cyclenet'), 'create');
  try {
    await docker('run', '--rm', 'busybox', 'true'); // warm
    const before = await footprint();
    for (let i = 0; i < 50; i++) {
      const variant = i % 3 === 0 ? ['--network', 'cyclenet'] : i % 3 === 1 ? ['-p', '80'] : [];
      const r = await docker('run', '--rm', ...variant, 'busybox', 'true');
      assert.equal(r.code, 0, r.stderr);
    }
    // detached ones removed with rm -f too
    for (let i = 0; i < 5; i++) ok(await docker('run', '-d', '--name', `cyc${i}`, '--network', 'cyclenet', '-p', '80', 'busybox', 'sleep', '60'), 'run -d');
    ok(await docker('rm', '-f', 'cyc0', 'cyc1', 'cyc2', 'cyc3', 'cyc4'), 'rm -f');
    assert.deepEqual(await footprint(), before);
    for (const b of await ourBridges()) assert.equal((await runCmd('ip', ['link', 'show', 'dev', b])).code, 0, `${b} is still there`);
  } finally {
    await docker('network', 'rm', 'cyclenet');
  }
});

test('a daemon restart keeps networks, addresses and name resolution; leftovers of a crash are removed', async () => {
  ok(await docker('network', 'create', '--subnet', '10.254.3.0/24', 'keepnet'), 'create');
  try {
    await webServer('keeper', '--network', 'keepnet', '--ip', '10.254.3.10', '-p', '80');
    ok(await docker('run', '-d', '--name', 'other', '--network', 'keepnet', 'busybox', 'sleep', '120'), 'other');
    const otherIp = ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "keepnet").IPAddress}}', 'other'), 'ip');
    const hostPort = Number(ok(await docker('port', 'keeper', '80'), 'port').split(':').pop());
    await d.kill(); // a crash: containers keep running under their shims
    await d.start();
    assert.equal(ok(await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'keepnet'), 'network kept'), '10.254.3.0/24');
    assert.equal(await fetchIn(['exec', 'other'], 'keeper'), 'hello keeper');
    assert.match((await httpGet('127.0.0.1', hostPort)) ?? '', /hello keeper/);
    // new containers get other addresses than the ones still held
    const fresh = ok(await docker('run', '--rm', '--network', 'keepnet', 'busybox', 'sh', '-c', "ip -4 -o addr show eth0 | awk '{print $4}'"), 'fresh');
    assert.ok(!['10.254.3.10', otherIp].includes(fresh.split('/')[0]), fresh);
    const clash = await docker('run', '--rm', '--network', 'keepnet', '--ip', '10.254.3.10', 'busybox', 'true');
    assert.match(clash.stderr, /Address already in use/);
  } finally {
    await docker('rm', '-f', 'keeper', 'other');
    await docker('network', 'rm', 'keepnet');
  }
  const conf = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  assert.equal(conf, '1');
});
