// Network layer against the real kernel (root): namespaces, veths, the bridge, iptables, published ports.
// No container runtime: busybox httpd runs inside the namespaces via nsenter.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import { NetFixture, httpGet, iptablesRestore, isRoot, primaryAddress, sh, trySh } from './network-fixture';
import { NetworkManager, Attachment } from '../../src/network';
import { EngineError } from '../../src/common/errors';
import { parseCidr, contains, parseIp } from '../../src/network/ipv4';

const skip = !isRoot ? 'needs root' : false;
const fx = new NetFixture();
let mgr: NetworkManager;

before(async () => { if (!skip) mgr = await fx.open(); });
after(async () => { if (!skip) await fx.cleanup(); });

test('bridge attach: an address on the subnet, MAC, default route, the gateway answers', { skip }, async () => {
  const id = fx.id();
  const att = await mgr.attach(id, { mode: 'bridge', ports: [] });
  try {
    assert.equal(att.mode, 'bridge');
    assert.equal(att.network, 'bridge');
    assert.ok(att.netnsPath && existsSync(att.netnsPath));
    assert.ok(contains(parseCidr(fx.subnet), parseIp(att.ipAddress!)), `${att.ipAddress} in ${fx.subnet}`);
    assert.equal(att.prefixLen, 24);
    assert.equal(att.gateway, mgr.gateway);
    const addr = fx.inNs(att.netnsPath!, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(addr, new RegExp(`inet ${att.ipAddress!.replace(/\./g, '\\.')}/24`));
    assert.match(fx.inNs(att.netnsPath!, 'ip', ['link', 'show', 'dev', 'eth0']), new RegExp(att.macAddress!));
    assert.match(fx.inNs(att.netnsPath!, 'ip', ['route', 'show', 'default']), new RegExp(`default via ${att.gateway!.replace(/\./g, '\\.')} dev eth0`));
    assert.match(fx.inNs(att.netnsPath!, 'ip', ['link', 'show', 'dev', 'lo']), /UP/);
    fx.inNs(att.netnsPath!, '/bin/busybox', ['ping', '-c', '1', '-W', '2', att.gateway!]);
    // the host side is on our bridge, with hairpin on
    const veth = mgr.vethName(id);
    assert.ok(fx.ourVeths().has(veth));
    assert.equal(readFileSync(`/sys/class/net/${veth}/brport/hairpin_mode`, 'utf8').trim(), '1');
  } finally {
    await mgr.detach(id, att);
  }
});

test('published port answers on 127.0.0.1, on the host address, and from another container', { skip }, async () => {
  const a = fx.id();
  const b = fx.id();
  const attA = await mgr.attach(a, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
  const attB = await mgr.attach(b, { mode: 'bridge', ports: [] });
  try {
    assert.equal(attA.ports.length, 1);
    const port = attA.ports[0].hostPort;
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    assert.ok(port >= lo && port <= hi, `random port ${port} in ${lo}-${hi}`);
    await fx.serveHttp(attA.netnsPath!, attA.ipAddress!);
    const want = `hello from ${fx.tag}\n`;
    assert.equal(await httpGet(`http://127.0.0.1:${port}/`), want);
    const host = primaryAddress(fx.tag);
    if (host) assert.equal(await httpGet(`http://${host}:${port}/`), want);
    // another container: directly and through the published port
    assert.equal(fx.httpGetFromNs(attB.netnsPath!, `http://${attA.ipAddress}/`), want);
    assert.equal(fx.httpGetFromNs(attB.netnsPath!, `http://${attA.gateway}:${port}/`), want);
    if (host) assert.equal(fx.httpGetFromNs(attB.netnsPath!, `http://${host}:${port}/`), want);
    // the container itself through its own published port (hairpin)
    assert.equal(fx.httpGetFromNs(attA.netnsPath!, `http://${attA.gateway}:${port}/`), want);
    // inspect view
    const ns = mgr.toApiNetworkSettings(attA) as Record<string, any>;
    assert.deepEqual(ns.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    assert.equal(ns.IPAddress, attA.ipAddress);
    assert.equal(ns.Networks.bridge.IPAddress, attA.ipAddress);
    assert.equal(ns.Networks.bridge.Gateway, attA.gateway);
    assert.equal(ns.SandboxKey, attA.netnsPath);
  } finally {
    await mgr.detach(a, attA);
    await mgr.detach(b, attB);
  }
  // after detach the port no longer answers
  await assert.rejects(httpGet(`http://127.0.0.1:${attA.ports[0].hostPort}/`, 1000));
});

test('a fixed host port and a host-IP-bound port', { skip }, async () => {
  const id = fx.id();
  const fixed = await freePort();
  const att = await mgr.attach(id, {
    mode: 'bridge',
    ports: [
      { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: fixed },
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0 },
      { containerPort: 53, protocol: 'udp', hostIp: '', hostPort: 0 },
    ],
  });
  try {
    assert.equal(att.ports[0].hostPort, fixed);
    await fx.serveHttp(att.netnsPath!, att.ipAddress!);
    assert.equal(await httpGet(`http://127.0.0.1:${fixed}/`), `hello from ${fx.tag}\n`);
    assert.equal(await httpGet(`http://127.0.0.1:${att.ports[1].hostPort}/`), `hello from ${fx.tag}\n`);
    const host = primaryAddress(fx.tag);
    if (host) await assert.rejects(httpGet(`http://${host}:${att.ports[1].hostPort}/`, 1000)); // bound to 127.0.0.1 only
    const ns = mgr.toApiNetworkSettings(att) as Record<string, any>;
    assert.deepEqual(ns.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(fixed) }, { HostIp: '127.0.0.1', HostPort: String(att.ports[1].hostPort) }]);
    assert.equal(ns.Ports['53/udp'].length, 1);
    assert.ok((await fx.quiet()).rules.some((r) => r.includes('-p udp') && r.includes(`--dport ${att.ports[2].hostPort}`)));
  } finally {
    await mgr.detach(id, att);
  }
});

test('two attachments reach each other by IP', { skip }, async () => {
  const a = fx.id();
  const b = fx.id();
  const attA = await mgr.attach(a, { mode: 'bridge', ports: [] });
  const attB = await mgr.attach(b, { mode: 'bridge', ports: [] });
  try {
    assert.notEqual(attA.ipAddress, attB.ipAddress);
    fx.inNs(attA.netnsPath!, '/bin/busybox', ['ping', '-c', '1', '-W', '2', attB.ipAddress!]);
    fx.inNs(attB.netnsPath!, '/bin/busybox', ['ping', '-c', '1', '-W', '2', attA.ipAddress!]);
  } finally {
    await mgr.detach(a, attA);
    await mgr.detach(b, attB);
  }
});

test('concurrent attaches: distinct addresses and ports, all connected; concurrent detaches clean up', { skip }, async () => {
  const before = await fx.quiet();
  const ids = Array.from({ length: 6 }, () => fx.id());
  const atts = await Promise.all(ids.map((id) => mgr.attach(id, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] })));
  try {
    assert.equal(new Set(atts.map((a) => a.ipAddress)).size, ids.length);
    assert.equal(new Set(atts.map((a) => a.ports[0].hostPort)).size, ids.length);
    assert.equal(new Set(atts.map((a) => a.netnsPath)).size, ids.length);
    for (const a of atts) fx.inNs(a.netnsPath!, '/bin/busybox', ['ping', '-c', '1', '-W', '2', a.gateway!]);
  } finally {
    await Promise.all(ids.map((id, i) => mgr.detach(id, atts[i])));
  }
  assert.deepEqual(await fx.quiet(), before);
});

test("'none' has only lo, up; 'host' has no namespace", { skip }, async () => {
  const id = fx.id();
  const att = await mgr.attach(id, { mode: 'none', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
  try {
    assert.equal(att.mode, 'none');
    assert.ok(att.netnsPath && existsSync(att.netnsPath));
    assert.deepEqual(att.ports, []);
    assert.equal(att.ipAddress, undefined);
    const links = fx.inNs(att.netnsPath!, 'ip', ['-o', 'link', 'show']).trim().split('\n');
    assert.equal(links.length, 1, links.join('\n'));
    assert.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    const ns = mgr.toApiNetworkSettings(att) as Record<string, any>;
    assert.deepEqual(Object.keys(ns.Networks), ['none']);
    assert.equal(ns.IPAddress, '');
  } finally {
    await mgr.detach(id, att);
  }
  assert.ok(!existsSync(att.netnsPath!));

  const h = fx.id();
  const hatt = await mgr.attach(h, { mode: 'host', ports: [] });
  assert.equal(hatt.mode, 'host');
  assert.equal(hatt.netnsPath, undefined);
  assert.deepEqual(Object.keys((mgr.toApiNetworkSettings(hatt) as any).Networks), ['host']);
  await mgr.detach(h, hatt);
});

test('detach leaves no veth, no namespace file, no rule, no address', { skip }, async () => {
  const before = (await fx.quiet());
  const id = fx.id();
  const att = await mgr.attach(id, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }, { containerPort: 81, protocol: 'udp', hostIp: '', hostPort: 0 }] });
  const during = (await fx.quiet());
  assert.equal(during.rules.length, before.rules.length + 2);
  assert.ok(during.links.includes(mgr.vethName(id)));
  assert.equal(during.mounts.length, before.mounts.length + 1);
  await mgr.detach(id, att);
  assert.deepEqual((await fx.quiet()), before);
  assert.ok(!existsSync(att.netnsPath!));
  assert.ok(!fx.vethExists(mgr.vethName(id)));
  assert.ok(!existsSync(path.join(fx.dataRoot, 'network', 'ipam', 'bridge', att.ipAddress!)));
  assert.ok(!existsSync(path.join(fx.dataRoot, 'network', 'endpoints', `${id}.json`)));
  // idempotent: again, and after the record is gone
  await mgr.detach(id, att);
  assert.deepEqual((await fx.quiet()), before);
});

test('a port in use gives Docker\'s error and leaves nothing behind', { skip }, async () => {
  const before = (await fx.quiet());
  const ipamDir = path.join(fx.dataRoot, 'network', 'ipam', 'bridge');
  const ipsBefore = readdirSync(ipamDir).filter((f) => /^\d/.test(f)).length;
  // 1. a host process listens on the port
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', () => r()));
  const busy = (srv.address() as net.AddressInfo).port;
  try {
    const id = fx.id();
    await assert.rejects(mgr.attach(id, { mode: 'bridge', name: 'web', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: busy }] }), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.equal(err.status, 500);
      assert.match(err.message, new RegExp(`^driver failed programming external connectivity on endpoint web \\([0-9a-f]{64}\\): Bind for 0\\.0\\.0\\.0:${busy} failed: port is already allocated$`));
      return true;
    });
    assert.deepEqual((await fx.quiet()), before);
    assert.equal(readdirSync(ipamDir).filter((f) => /^\d/.test(f)).length, ipsBefore);
  } finally {
    srv.close();
  }
  // 2. another container published it
  const a = fx.id();
  const port = await freePort();
  const att = await mgr.attach(a, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: port }] });
  try {
    const b = fx.id();
    await assert.rejects(mgr.attach(b, { mode: 'bridge', ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }] }),
      /Bind for 127\.0\.0\.1:\d+ failed: port is already allocated/);
    // same port, other protocol: fine
    const c = fx.id();
    const attC = await mgr.attach(c, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'udp', hostIp: '', hostPort: port }] });
    await mgr.detach(c, attC);
  } finally {
    await mgr.detach(a, att);
  }
  assert.deepEqual((await fx.quiet()), before);
});

test('a failing setup is undone (no half setup)', { skip }, async () => {
  const before = (await fx.quiet());
  const id = fx.id();
  // make the host-side veth name collide: the kernel refuses to create the pair
  const veth = mgr.vethName(id);
  sh('ip', ['link', 'add', veth, 'type', 'bridge']);
  try {
    await assert.rejects(mgr.attach(id, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] }), (err: unknown) => {
      assert.ok(err instanceof EngineError && err.status === 500, String(err));
      return true;
    });
  } finally {
    trySh('ip', ['link', 'del', veth]); // the undo may already have removed it
  }
  assert.deepEqual((await fx.quiet()), before);
  assert.ok(!existsSync(path.join(fx.dataRoot, 'network', 'endpoints', `${id}.json`)));
});

test('restart: allocations persist, reconcile removes what no live container owns', { skip }, async () => {
  const before = (await fx.quiet());
  const keep = fx.id();
  const gone = fx.id();
  const gone2 = fx.id();
  const attKeep = await mgr.attach(keep, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
  await mgr.attach(gone, { mode: 'bridge', ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }] });
  const attGone2 = await mgr.attach(gone2, { mode: 'none', ports: [] });
  // a crashed daemon may also leave a namespace file without a record
  const orphan = path.join(mgr.netnsDir, 'orphan');
  sh('touch', [orphan]);
  sh('unshare', [`--net=${orphan}`, 'true']);

  // while the daemon is down, someone deletes the bridge and flushes our DNAT rule: the restart repairs both
  sh('ip', ['link', 'del', fx.tag]);
  const rule = (await fx.quiet()).rules.find((r) => r.includes(`berth:${keep}`))!;
  iptablesRestore(`*nat\n-D${rule.slice(2)}\nCOMMIT\n`);
  assert.ok(!(await fx.quiet()).rules.some((r) => r.includes(`berth:${keep}`)));

  // "restart": the daemon exits (its spare helpers go), a new manager on the same data and exec roots
  await mgr.close();
  const mgr2 = await NetworkManager.open({ dataRoot: fx.dataRoot, execRoot: fx.execRoot, bridgeName: fx.tag });
  fx.mgr = mgr2;
  assert.equal(mgr2.subnetCidr, fx.subnet, 'the subnet is kept');
  await mgr2.reconcile(new Map<string, Attachment>([[keep, attKeep]]));
  assert.ok(!existsSync(attGone2.netnsPath!));
  assert.ok(!existsSync(orphan));
  assert.ok(!fx.vethExists(mgr2.vethName(gone)));
  assert.ok(existsSync(attKeep.netnsPath!));
  const snap = (await fx.quiet());
  assert.equal(snap.rules.length, before.rules.length + 1, snap.rules.join('\n'));
  assert.equal(snap.mounts.length, before.mounts.length + 1);
  // the kept container still works, its address and port stay taken
  await fx.serveHttp(attKeep.netnsPath!, attKeep.ipAddress!);
  assert.equal(await httpGet(`http://127.0.0.1:${attKeep.ports[0].hostPort}/`), `hello from ${fx.tag}\n`);
  const other = fx.id();
  await assert.rejects(mgr2.attach(other, { mode: 'bridge', ports: [{ containerPort: 1, protocol: 'tcp', hostIp: '', hostPort: attKeep.ports[0].hostPort }] }), /port is already allocated/);
  const ips = new Set<string>();
  const extra: [string, Attachment][] = [];
  for (let i = 0; i < 3; i++) {
    const x = fx.id();
    const att = await mgr2.attach(x, { mode: 'bridge', ports: [] });
    ips.add(att.ipAddress!);
    extra.push([x, att]);
  }
  assert.ok(!ips.has(attKeep.ipAddress!));
  for (const [x, att] of extra) await mgr2.detach(x, att);
  await mgr2.detach(keep, attKeep);
  mgr = mgr2;
  assert.deepEqual((await fx.quiet()), before);
});

test('listNetworks and inspectNetwork look like Docker\'s', { skip }, async () => {
  const list = mgr.listNetworks() as Record<string, any>[];
  assert.deepEqual(list.map((n) => n.Name), ['bridge', 'host', 'none']);
  assert.deepEqual(list.map((n) => n.Driver), ['bridge', 'host', 'null']);
  for (const n of list) {
    assert.match(n.Id, /^[0-9a-f]{64}$/);
    assert.equal(n.Scope, 'local');
  }
  assert.deepEqual(list[0].IPAM.Config, [{ Subnet: fx.subnet, Gateway: mgr.gateway }]);
  assert.equal(list[0].Options['com.docker.network.bridge.name'], fx.tag);
  const id = fx.id();
  const att = await mgr.attach(id, { mode: 'bridge', name: 'c1', ports: [] });
  try {
    const ins = mgr.inspectNetwork(list[0].Id.slice(0, 12)) as Record<string, any>;
    assert.equal(ins.Containers[id].Name, 'c1');
    assert.equal(ins.Containers[id].IPv4Address, `${att.ipAddress}/24`);
    assert.throws(() => mgr.inspectNetwork('nope'), /network nope not found/);
  } finally {
    await mgr.detach(id, att);
  }
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', () => r()));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return p;
}
