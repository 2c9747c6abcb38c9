// Network layer pieces that need no root: IPv4 math, the host-local compatible IPAM, the port table, rule text.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { contains, formatCidr, formatIp, hostRange, overlaps, parseCidr, parseIp, defaultCandidates } from '../../src/network/ipv4';
import { Ipam } from '../../src/network/ipam';
import { PortTable, PortHolder, allocatePorts, PortInUse } from '../../src/network/ports';
import { Firewall } from '../../src/network/iptables';

test('ipv4 helpers', () => {
  assert.equal(formatIp(parseIp('10.88.1.2')), '10.88.1.2');
  assert.equal(formatIp(parseIp('255.255.255.255')), '255.255.255.255');
  assert.throws(() => parseIp('10.88.1.256'));
  assert.throws(() => parseIp('10.88.1'));
  assert.equal(formatCidr(parseCidr('10.88.7.9/16')), '10.88.0.0/16');
  assert.ok(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.88.3.0/24')));
  assert.ok(!overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.89.0.0/16')));
  assert.ok(overlaps(parseCidr('0.0.0.0/0'), parseCidr('10.89.0.0/16')));
  assert.ok(contains(parseCidr('10.88.0.0/16'), parseIp('10.88.255.1')));
  const r = hostRange(parseCidr('10.1.2.0/24'));
  assert.equal(formatIp(r.first), '10.1.2.1');
  assert.equal(formatIp(r.last), '10.1.2.254');
  assert.equal(defaultCandidates()[0], '10.88.0.0/16');
});

test('ipam: host-local layout, round robin, gateway skipped, owner-checked release, persistence', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ipam-'));
  try {
    const subnet = parseCidr('10.9.9.0/29'); // hosts .1-.6, gateway .1
    const ipam = new Ipam(dir, subnet, parseIp('10.9.9.1'));
    await ipam.init();
    const a = await ipam.allocate('a');
    const b = await ipam.allocate('b');
    assert.equal(a, '10.9.9.2');
    assert.equal(b, '10.9.9.3');
    assert.equal(readFileSync(path.join(dir, a), 'utf8'), 'a\r\neth0');
    await ipam.flush();
    assert.equal(readFileSync(path.join(dir, 'last_reserved_ip.0'), 'utf8'), '10.9.9.3');
    await ipam.release('not-the-owner', a);
    assert.ok(readdirSync(dir).includes(a));
    await ipam.release('a', a);
    await ipam.release('a', a); // idempotent
    assert.ok(!readdirSync(dir).includes(a));
    // round robin: the freed .2 is not reused at once; a new instance (daemon restart) continues after .3
    const again = new Ipam(dir, subnet, parseIp('10.9.9.1'));
    assert.equal(await again.allocate('c'), '10.9.9.4');
    assert.equal(await again.allocate('d'), '10.9.9.5');
    assert.equal(await again.allocate('e'), '10.9.9.6');
    assert.equal(await again.allocate('f'), '10.9.9.2'); // wraps, skips the gateway
    await assert.rejects(again.allocate('g'), /no available IPv4 addresses/);
    assert.deepEqual(new Map([...(await again.list())].sort()), new Map([['10.9.9.2', 'f'], ['10.9.9.3', 'b'], ['10.9.9.4', 'c'], ['10.9.9.5', 'd'], ['10.9.9.6', 'e']]));
    await again.flush();
    // concurrent allocations never collide
    const d2 = mkdtempSync(path.join(os.tmpdir(), 'berth-ipam-'));
    const big = new Ipam(d2, parseCidr('10.9.0.0/24'), parseIp('10.9.0.1'));
    await big.init();
    const ips = await Promise.all(Array.from({ length: 30 }, (_, i) => big.allocate(`x${i}`)));
    assert.equal(new Set(ips).size, 30);
    await big.flush(); // the background write of last_reserved_ip.0 must land before the dir goes
    rmSync(d2, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('port table: wildcard and specific addresses, protocols, owners', async () => {
  const t = new PortTable();
  t.add('a', { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8080 });
  assert.ok(t.conflicts('tcp', 8080, ''));
  assert.ok(t.conflicts('tcp', 8080, '127.0.0.1'));
  assert.ok(!t.conflicts('udp', 8080, ''));
  assert.ok(!t.conflicts('tcp', 8081, ''));
  t.add('b', { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 9090 });
  assert.ok(t.conflicts('tcp', 9090, ''));
  assert.ok(t.conflicts('tcp', 9090, '127.0.0.1'));
  assert.ok(!t.conflicts('tcp', 9090, '127.0.0.2'));
  t.removeOwner('a');
  assert.ok(!t.conflicts('tcp', 8080, ''));
  // all-or-nothing allocation
  await assert.rejects(allocatePorts(t, 'c', [
    { containerPort: 1, protocol: 'udp', hostIp: '', hostPort: 0 },
    { containerPort: 2, protocol: 'tcp', hostIp: '', hostPort: 9090 },
  ]), (err: unknown) => err instanceof PortInUse && err.message === 'Bind for 0.0.0.0:9090 failed: port is already allocated');
  const random = await allocatePorts(t, 'c', [{ containerPort: 1, protocol: 'udp', hostIp: '', hostPort: 0 }]);
  assert.ok(random[0].hostPort > 1024);
  assert.ok(t.conflicts('udp', random[0].hostPort, ''));
});

test('port holder: published ports stay bound until released; allocation holds them, all or nothing', async () => {
  const net = await import('net');
  const canBind = (port: number) => new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
  const t = new PortTable();
  const h = new PortHolder();
  const [fixed] = await allocatePorts(t, 'a', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }], h);
  assert.equal(h.count('a'), 1);
  assert.equal(await canBind(fixed.hostPort), false, 'a held port could be bound');
  // a port some other socket holds is refused, and nothing of the failed allocation stays held
  const other = net.createServer();
  await new Promise<void>((r) => other.listen({ port: 0, host: '0.0.0.0' }, () => r()));
  const busy = (other.address() as { port: number }).port;
  await assert.rejects(allocatePorts(t, 'b', [
    { containerPort: 1, protocol: 'udp', hostIp: '', hostPort: 0 },
    { containerPort: 2, protocol: 'tcp', hostIp: '', hostPort: busy },
  ], h), (err: unknown) => err instanceof PortInUse && err.hostPort === busy);
  assert.equal(h.count('b'), 0);
  await new Promise((r) => other.close(r));
  h.release('a');
  assert.equal(await canBind(fixed.hostPort), true, 'a released port stayed bound');
});

test('DNAT rule text', () => {
  const fw = new Firewall('berth0', '10.88.0.0/16');
  assert.equal(fw.chains.dnat, 'BERTH-DNAT-berth0');
  assert.equal(fw.dnatRule('abc', '10.88.0.2', { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8080 }),
    'BERTH-DNAT-berth0 -p tcp -m tcp --dport 8080 -m comment --comment "berth:abc" -j DNAT --to-destination 10.88.0.2:80');
  assert.equal(fw.dnatRule('abc', '10.88.0.2', { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353 }),
    'BERTH-DNAT-berth0 -d 127.0.0.1/32 -p udp -m udp --dport 5353 -m comment --comment "berth:abc" -j DNAT --to-destination 10.88.0.2:53');
});
