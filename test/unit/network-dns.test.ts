// Embedded DNS server (src/network/dns.ts) on loopback addresses with high ports: no root needed.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'dgram';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'fs';
import * as dnsPacket from 'dns-packet';
import { DnsServer, DnsResolver, hostNameservers } from '../../src/network/dns';
import { setLogLevel } from '../../src/common/log';

setLogLevel('error'); // the failure paths below log warnings by design

const randomPort = () => 20000 + Math.floor(Math.random() * 40000);

// ---- a client ----
type Proto = 'udp' | 'tcp';
function query(proto: Proto, addr: string, port: number, pkt: Buffer, timeoutMs = 1500): Promise<dnsPacket.DecodedPacket | undefined> {
  return proto === 'udp' ? raw('udp', addr, port, [pkt], 1, timeoutMs).then((r) => r[0]) : raw('tcp', addr, port, [pkt], 1, timeoutMs).then((r) => r[0]);
}
/** sends every packet (TCP: framed, in one write) and collects up to `want` decoded replies; undefined entries never come */
function raw(proto: Proto, addr: string, port: number, pkts: Buffer[], want: number, timeoutMs: number): Promise<dnsPacket.DecodedPacket[]> {
  return new Promise((resolve) => {
    const got: dnsPacket.DecodedPacket[] = [];
    let done = false;
    let closeSock = () => {};
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      closeSock();
      resolve(got);
    };
    const timer = setTimeout(finish, timeoutMs);
    if (proto === 'udp') {
      const s = dgram.createSocket('udp4');
      closeSock = () => { try { s.close(); } catch { /* closed */ } };
      s.on('error', finish); // ECONNREFUSED: nobody listens
      s.on('message', (m) => { got.push(dnsPacket.decode(m)); if (got.length >= want) finish(); });
      s.connect(port, addr, () => { for (const p of pkts) s.send(p); });
    } else {
      const s = net.connect({ host: addr, port });
      closeSock = () => s.destroy();
      let acc = Buffer.alloc(0);
      s.on('error', finish);
      s.on('close', finish);
      s.on('connect', () => s.write(Buffer.concat(pkts.map(frame))));
      s.on('data', (d) => {
        acc = Buffer.concat([acc, d]);
        while (acc.length >= 2 && acc.length >= acc.readUInt16BE(0) + 2) {
          got.push(dnsPacket.decode(acc.subarray(2, acc.readUInt16BE(0) + 2)));
          acc = acc.subarray(acc.readUInt16BE(0) + 2);
        }
        if (got.length >= want) finish();
      });
    }
  });
}
function frame(p: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(p.length);
  return Buffer.concat([len, p]);
}
function q(name: string, type: dnsPacket.RecordType = 'A', id = 1234, edns = false): Buffer {
  return dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}
const rcode = (r: dnsPacket.DecodedPacket) => (r as unknown as { rcode: string }).rcode;

// ---- a fake upstream nameserver on 127.0.0.2 ----
interface Seen { proto: Proto; id: number; name: string }
class FakeUpstream {
  seen: Seen[] = [];
  port = 0;
  private udp!: dgram.Socket;
  private tcp!: net.Server;
  private conns = new Set<net.Socket>();
  constructor(readonly addr: string, readonly mode: 'ok' | 'servfail' | 'silent' = 'ok') {}
  async start(): Promise<void> {
    for (let i = 0; ; i++) {
      const port = randomPort();
      try {
        this.udp = await new Promise<dgram.Socket>((res, rej) => {
          const s = dgram.createSocket('udp4');
          s.once('error', rej);
          s.bind(port, this.addr, () => res(s));
        });
      } catch (e) { if (i < 20) continue; throw e; }
      try {
        this.tcp = await new Promise<net.Server>((res, rej) => {
          const srv = net.createServer((c) => this.onTcp(c));
          srv.once('error', rej);
          srv.listen(port, this.addr, () => res(srv));
        });
      } catch (e) { this.udp.close(); if (i < 20) continue; throw e; }
      this.port = port;
      break;
    }
    this.udp.on('message', (m, rinfo) => {
      const out = this.answer(m, 'udp');
      if (out) this.udp.send(out, rinfo.port, rinfo.address);
    });
  }
  private onTcp(c: net.Socket): void {
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => {});
    let acc = Buffer.alloc(0);
    c.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      while (acc.length >= 2 && acc.length >= acc.readUInt16BE(0) + 2) {
        const out = this.answer(acc.subarray(2, acc.readUInt16BE(0) + 2), 'tcp');
        acc = acc.subarray(acc.readUInt16BE(0) + 2);
        if (out) c.write(frame(out));
      }
    });
  }
  private answer(m: Buffer, proto: Proto): Buffer | undefined {
    const pkt = dnsPacket.decode(m);
    const question = pkt.questions![0];
    this.seen.push({ proto, id: pkt.id!, name: question.name });
    if (this.mode === 'silent') return undefined;
    const base = { type: 'response' as const, id: pkt.id, questions: pkt.questions };
    if (this.mode === 'servfail') return dnsPacket.encode({ ...base, flags: 2 });
    if (question.name === 'big.example' && proto === 'udp') {
      return dnsPacket.encode({ ...base, flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_AVAILABLE });
    }
    const count = question.name === 'big.example' ? 100 : 1;
    const answers: dnsPacket.Answer[] = [];
    for (let i = 0; i < count; i++) answers.push({ type: 'A', name: question.name, ttl: 30, data: `93.184.${Math.floor(i / 250)}.${(i % 250) + 1}` });
    if (question.type === 'PTR') return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE, answers: [{ type: 'PTR', name: question.name, ttl: 30, data: 'upstream.example' }] });
    return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE, answers });
  }
  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }
}

// ---- a fake resolver: one network 10.88.0.0/16 ----
class FakeResolver implements DnsResolver {
  internal = false;
  lookups: Array<[string, string]> = [];
  names: Record<string, string[]> = { web: ['10.88.0.2', '10.88.0.3'], db: ['10.88.0.4'], noaddr: [] };
  lookup(name: string, clientIp: string): string[] | undefined {
    this.lookups.push([name, clientIp]);
    return this.names[name];
  }
  reverse(ip: string): string | undefined {
    return ip === '10.88.0.2' ? 'web.mynet' : undefined;
  }
  forwards(): boolean { return !this.internal; }
}

async function startServer(opts: { resolver: DnsResolver; upstreams?: () => string[]; timeoutMs?: number }, addr = '127.0.0.1'): Promise<{ srv: DnsServer; port: number }> {
  for (let i = 0; ; i++) {
    const port = randomPort();
    const srv = new DnsServer({ ...opts, port });
    try {
      await srv.addAddress(addr);
      return { srv, port };
    } catch (e) {
      await srv.close();
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i > 20) throw e;
    }
  }
}

let up: FakeUpstream;
before(async () => {
  up = new FakeUpstream('127.0.0.2');
  await up.start();
});
after(async () => { await up.stop(); });

test('A for a container name: all addresses, AA, TTL 600, id and question echoed (case kept)', async () => {
  const resolver = new FakeResolver();
  const { srv, port } = await startServer({ resolver, upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    for (const proto of ['udp', 'tcp'] as const) {
      const r = (await query(proto, '127.0.0.1', port, q('WeB', 'A', 777)))!;
      assert.ok(r, proto);
      assert.equal(r.id, 777);
      assert.equal(rcode(r), 'NOERROR');
      assert.ok(r.flag_qr && r.flag_aa && r.flag_rd && r.flag_ra && !r.flag_tc);
      assert.deepEqual(r.questions, [{ name: 'WeB', type: 'A', class: 'IN' }]);
      assert.deepEqual(r.answers!.map((a) => (a as dnsPacket.StringAnswer).data).sort(), ['10.88.0.2', '10.88.0.3']);
      for (const a of r.answers!) {
        assert.equal(a.name, 'WeB');
        assert.equal((a as dnsPacket.StringAnswer).ttl, 600);
      }
    }
    assert.deepEqual(resolver.lookups[0], ['web', '127.0.0.1']); // lower-cased, client address
    // a trailing dot is the same name; an EDNS query gets an OPT back
    const e = (await query('udp', '127.0.0.1', port, q('db.', 'A', 5, true)))!;
    assert.deepEqual(e.answers!.map((a) => (a as dnsPacket.StringAnswer).data), ['10.88.0.4']);
    assert.equal(e.additionals!.filter((a) => a.type === 'OPT').length, 1);
    assert.equal(up.seen.length, 0, 'nothing forwarded');
  } finally {
    await srv.close();
  }
});

test('AAAA, MX and A without address for a known name: NOERROR, empty, not forwarded', async () => {
  const resolver = new FakeResolver();
  const before = up.seen.length;
  const { srv, port } = await startServer({ resolver, upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    for (const [name, type] of [['web', 'AAAA'], ['web', 'MX'], ['noaddr', 'A'], ['db', 'TXT']] as const) {
      const r = (await query('udp', '127.0.0.1', port, q(name, type)))!;
      assert.equal(rcode(r), 'NOERROR', `${name} ${type}`);
      assert.equal(r.answers!.length, 0);
      assert.ok(r.flag_aa);
    }
    assert.equal(up.seen.length, before);
  } finally {
    await srv.close();
  }
});

test('PTR of a container address answers its name; an unknown one is forwarded', async () => {
  const { srv, port } = await startServer({ resolver: new FakeResolver(), upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    const r = (await query('udp', '127.0.0.1', port, q('2.0.88.10.in-addr.arpa', 'PTR')))!;
    assert.equal(rcode(r), 'NOERROR');
    assert.deepEqual(r.answers!.map((a) => [a.type, a.name, (a as dnsPacket.StringAnswer).data]), [['PTR', '2.0.88.10.in-addr.arpa', 'web.mynet']]);
    const o = (await query('udp', '127.0.0.1', port, q('9.0.88.10.in-addr.arpa', 'PTR')))!;
    assert.equal((o.answers![0] as dnsPacket.StringAnswer).data, 'upstream.example');
    assert.equal(up.seen.at(-1)!.name, '9.0.88.10.in-addr.arpa');
  } finally {
    await srv.close();
  }
});

test('unknown names are forwarded (UDP and TCP) and relayed with the client id; several queries per TCP connection', async () => {
  const { srv, port } = await startServer({ resolver: new FakeResolver(), upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    const r = (await query('udp', '127.0.0.1', port, q('example.com', 'A', 4242)))!;
    assert.equal(r.id, 4242);
    assert.equal(rcode(r), 'NOERROR');
    assert.deepEqual(r.answers!.map((a) => (a as dnsPacket.StringAnswer).data), ['93.184.0.1']);
    assert.deepEqual(up.seen.at(-1)!.proto, 'udp');
    assert.equal(up.seen.at(-1)!.name, 'example.com');

    const t = (await query('tcp', '127.0.0.1', port, q('example.org', 'A', 4343)))!;
    assert.equal(t.id, 4343);
    assert.equal(t.answers!.length, 1);
    assert.deepEqual(up.seen.at(-1), { ...up.seen.at(-1)!, proto: 'tcp', name: 'example.org' });

    // pipelined: a forwarded and a local query in one write, both answered on the same connection
    const both = await raw('tcp', '127.0.0.1', port, [q('example.net', 'A', 1), q('web', 'A', 2)], 2, 1500);
    assert.deepEqual(both.map((x) => x.id).sort(), [1, 2]);

    // a truncated UDP answer is relayed with TC; the same question over TCP gets everything
    const tc = (await query('udp', '127.0.0.1', port, q('big.example', 'A', 9)))!;
    assert.ok(tc.flag_tc);
    const full = (await query('tcp', '127.0.0.1', port, q('big.example', 'A', 10)))!;
    assert.equal(full.answers!.length, 100);
  } finally {
    await srv.close();
  }
});

test('upstreams: SERVFAIL goes to the next one, none answering gives SERVFAIL in bounded time, no loop to ourselves', async () => {
  const bad = new FakeUpstream('127.0.0.3', 'servfail');
  const silent = new FakeUpstream('127.0.0.4', 'silent');
  await bad.start();
  await silent.start();
  let ups: string[] = [];
  const { srv, port } = await startServer({ resolver: new FakeResolver(), upstreams: () => ups, timeoutMs: 400 });
  try {
    ups = [`127.0.0.3:${bad.port}`, `127.0.0.2:${up.port}`];
    const r = (await query('udp', '127.0.0.1', port, q('example.com')))!;
    assert.equal(rcode(r), 'NOERROR');
    assert.equal(r.answers!.length, 1);
    assert.equal(bad.seen.length, 1);

    // a nameserver that never answers does not hold the next one back beyond its share of the budget
    ups = [`127.0.0.4:${silent.port}`, `127.0.0.2:${up.port}`];
    let t0 = Date.now();
    const s = (await query('udp', '127.0.0.1', port, q('example.com')))!;
    assert.equal(s.answers!.length, 1);
    assert.ok(Date.now() - t0 < 380, `took ${Date.now() - t0} ms`);

    // closed port (ICMP refused): SERVFAIL at once
    ups = [`127.0.0.2:${up.port === 65535 ? 65534 : up.port + 1}`];
    t0 = Date.now();
    const d = (await query('udp', '127.0.0.1', port, q('example.com', 'A', 31)))!;
    assert.equal(rcode(d), 'SERVFAIL');
    assert.equal(d.id, 31);
    assert.ok(Date.now() - t0 < 300);

    // only silent ones: SERVFAIL at the deadline, over UDP and TCP
    ups = [`127.0.0.4:${silent.port}`];
    for (const proto of ['udp', 'tcp'] as const) {
      t0 = Date.now();
      const x = (await query(proto, '127.0.0.1', port, q('example.com', 'A', 32)))!;
      assert.equal(rcode(x), 'SERVFAIL', proto);
      const took = Date.now() - t0;
      assert.ok(took >= 350 && took < 1000, `${proto} took ${took} ms`);
    }

    // our own address is never an upstream; with nothing else left the answer is SERVFAIL, not a loop
    ups = [`127.0.0.1:${port}`];
    t0 = Date.now();
    const l = (await query('udp', '127.0.0.1', port, q('example.com')))!;
    assert.equal(rcode(l), 'SERVFAIL');
    assert.ok(Date.now() - t0 < 300);

    ups = []; // no nameservers at all
    assert.equal(rcode((await query('udp', '127.0.0.1', port, q('example.com')))!), 'SERVFAIL');
  } finally {
    await srv.close();
    await bad.stop();
    await silent.stop();
  }
});

test('internal networks: names that are not ours get SERVFAIL and nothing is forwarded', async () => {
  const resolver = new FakeResolver();
  resolver.internal = true;
  const before = up.seen.length;
  const { srv, port } = await startServer({ resolver, upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    for (const proto of ['udp', 'tcp'] as const) {
      const r = (await query(proto, '127.0.0.1', port, q('example.com', 'A', 55)))!;
      assert.equal(rcode(r), 'SERVFAIL', proto);
      assert.equal(r.id, 55);
    }
    assert.equal(rcode((await query('udp', '127.0.0.1', port, q('9.0.88.10.in-addr.arpa', 'PTR')))!), 'SERVFAIL');
    const ok = (await query('udp', '127.0.0.1', port, q('web')))!;
    assert.equal(ok.answers!.length, 2);
    assert.equal(up.seen.length, before);
  } finally {
    await srv.close();
  }
});

test('malformed packets and responses are dropped; the server keeps answering', async () => {
  const { srv, port } = await startServer({ resolver: new FakeResolver(), upstreams: () => [`127.0.0.2:${up.port}`] });
  try {
    const garbage = [
      Buffer.from('hello'),
      Buffer.alloc(12, 0xff),
      Buffer.concat([q('web').subarray(0, 15)]), // cut in the name
      Buffer.alloc(0),
      dnsPacket.encode({ type: 'response', id: 3, questions: [{ type: 'A', name: 'web' }] }),
    ];
    for (const g of garbage) assert.deepEqual(await raw('udp', '127.0.0.1', port, [g], 1, 150), []);
    assert.deepEqual(await raw('tcp', '127.0.0.1', port, [Buffer.from('junk')], 1, 150), []);
    // garbage then a good query on one TCP connection: framing survives
    const r = await raw('tcp', '127.0.0.1', port, [Buffer.from('junk'), q('web', 'A', 8)], 1, 1500);
    assert.equal(r[0].id, 8);
    assert.equal((await query('udp', '127.0.0.1', port, q('web')))!.answers!.length, 2);
    // two questions: FORMERR; a non-QUERY opcode: NOTIMP
    const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'web' }, { type: 'A', name: 'db' }] });
    assert.equal(rcode((await raw('udp', '127.0.0.1', port, [two], 1, 1500))[0]), 'FORMERR');
    const status = q('web', 'A', 10);
    status[2] |= 2 << 3; // opcode STATUS
    assert.equal(rcode((await raw('udp', '127.0.0.1', port, [status], 1, 1500))[0]), 'NOTIMP');
  } finally {
    await srv.close();
  }
});

test('large local answers are truncated over UDP (TC) and complete over TCP', async () => {
  const resolver = new FakeResolver();
  resolver.names.many = Array.from({ length: 60 }, (_, i) => `10.88.1.${i + 1}`);
  const { srv, port } = await startServer({ resolver });
  try {
    const u = (await query('udp', '127.0.0.1', port, q('many')))!;
    assert.ok(u.flag_tc);
    assert.ok(u.answers!.length >= 25 && u.answers!.length < 60, String(u.answers!.length));
    const e = (await query('udp', '127.0.0.1', port, q('many', 'A', 1, true)))!;
    assert.ok(!e.flag_tc);
    assert.equal(e.answers!.length, 60);
    const t = (await query('tcp', '127.0.0.1', port, q('many')))!;
    assert.ok(!t.flag_tc);
    assert.equal(t.answers!.length, 60);
  } finally {
    await srv.close();
  }
});

test('addAddress is idempotent and says clearly when the port is taken; removeAddress and close free the sockets', async () => {
  const { srv, port } = await startServer({ resolver: new FakeResolver() });
  try {
    await srv.addAddress('127.0.0.1');
    await Promise.all([srv.addAddress('127.0.0.5'), srv.addAddress('127.0.0.5')]);
    assert.deepEqual(srv.addresses().sort(), ['127.0.0.1', '127.0.0.5']);
    assert.equal((await query('udp', '127.0.0.5', port, q('web')))!.answers!.length, 2);

    const other = new DnsServer({ resolver: new FakeResolver(), port });
    await assert.rejects(other.addAddress('127.0.0.5'), (e: Error) => /127\.0\.0\.5:\d+\/udp: the port is already in use/.test(e.message));
    await assert.rejects(other.addAddress('not-an-ip'), /invalid listen address/);
    // TCP taken, UDP free: the error names TCP and the UDP socket bound meanwhile is released
    const blocker = net.createServer();
    await new Promise<void>((res, rej) => { blocker.once('error', rej); blocker.listen(port, '127.0.0.7', () => res()); });
    await assert.rejects(other.addAddress('127.0.0.7'), /127\.0\.0\.7:\d+\/tcp: the port is already in use/);
    await new Promise<void>((res) => blocker.close(() => res()));
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((res, rej) => { probe.once('error', rej); probe.bind(port, '127.0.0.7', () => res()); });
    probe.close();
    assert.deepEqual(other.addresses(), []);
    await other.close();

    await srv.removeAddress('127.0.0.5');
    await srv.removeAddress('127.0.0.5'); // idempotent
    assert.deepEqual(srv.addresses(), ['127.0.0.1']);
    assert.equal(await query('udp', '127.0.0.5', port, q('web'), 300), undefined);
    assert.equal(await query('tcp', '127.0.0.5', port, q('web'), 300), undefined);
    assert.ok(await query('udp', '127.0.0.1', port, q('web')));
  } finally {
    await srv.close();
  }
  assert.deepEqual(srv.addresses(), []);
  await assert.rejects(srv.addAddress('127.0.0.1'), /closed/);
  // both ports are free again
  const u = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => { u.once('error', rej); u.bind(port, '127.0.0.1', () => res()); });
  u.close();
  const t = net.createServer();
  await new Promise<void>((res, rej) => { t.once('error', rej); t.listen(port, '127.0.0.1', () => res()); });
  await new Promise<void>((res) => t.close(() => res()));
});

test('close() ends forwards and TCP connections still open', async () => {
  const silent = new FakeUpstream('127.0.0.6', 'silent');
  await silent.start();
  const { srv, port } = await startServer({ resolver: new FakeResolver(), upstreams: () => [`127.0.0.6:${silent.port}`], timeoutMs: 30_000 });
  const pending = query('tcp', '127.0.0.1', port, q('example.com'), 5000);
  while (silent.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  const t0 = Date.now();
  await srv.close();
  assert.equal(await pending, undefined); // connection closed, no answer
  assert.ok(Date.now() - t0 < 1000);
  await silent.stop();
});

test('hostNameservers reads nameserver lines and rereads the file when it changes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-dns-'));
  try {
    const file = path.join(dir, 'resolv.conf');
    writeFileSync(file, '# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2 # office\n;nameserver 9.9.9.9\nnameserver ::1\nnameserver bogus\nnameserver 10.0.0.2\noptions edns0\n');
    assert.deepEqual(hostNameservers(file), ['127.0.0.53', '10.0.0.2', '::1']);
    const again = hostNameservers(file);
    again.push('mutated');
    assert.deepEqual(hostNameservers(file), ['127.0.0.53', '10.0.0.2', '::1'], 'callers get copies');
    // replaced by rename, the way resolvconf and NetworkManager do it
    writeFileSync(path.join(dir, 'new'), 'nameserver 192.0.2.1\n');
    renameSync(path.join(dir, 'new'), file);
    await new Promise((r) => setTimeout(r, 1100)); // the file is stat()ed at most once a second
    assert.deepEqual(hostNameservers(file), ['192.0.2.1']);
    assert.deepEqual(hostNameservers(path.join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
