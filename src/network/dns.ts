// Embedded DNS for user-defined networks: Docker's 127.0.0.11, bound instead on each network's gateway address
// (UDP and TCP, port 53). Container names are answered from the resolver; everything else is forwarded to the
// host's nameservers, unless the client's networks are all internal (then SERVFAIL, as Docker does).
import * as dgram from 'dgram';
import * as net from 'net';
import { readFileSync, statSync } from 'fs';
import { randomInt } from 'crypto';
import * as dnsPacket from 'dns-packet';
import { log } from '../common/log';
import { parseIp6 } from './ipv6';

export interface DnsResolver {
  /** IPv4 addresses for `name` (lower-case, no trailing dot) as seen by the client at `clientIp`; undefined = not a container name (forward it) ; [] = ours but no address */
  lookup(name: string, clientIp: string): string[] | undefined;
  /** PTR: the name for `ip` (a container on one of the client's networks), or undefined */
  reverse(ip: string, clientIp: string): string | undefined;
  /** false on --internal networks: names that are not ours get SERVFAIL instead of being forwarded (Docker does not forward for internal networks) */
  forwards(clientIp: string): boolean;
  /** IPv6 addresses for `name` (dual-stack networks), answered to AAAA; undefined or [] when there are none */
  lookup6?(name: string, clientIp: string): string[] | undefined;
  /** the container's own nameservers (`--dns`) to forward its queries to, instead of the server's upstreams */
  upstreams?(clientIp: string): string[] | undefined;
}

export interface DnsServerOptions {
  resolver: DnsResolver;
  /** nameservers to forward to, asked per forwarded query: "ip", "ip:port" or "[ipv6]:port"; default hostNameservers() */
  upstreams?: () => string[];
  port?: number;
  /** total time budget of one forwarded query, over all upstreams; default 2000 */
  timeoutMs?: number;
}

const TTL = 600; // Docker's TTL for container records
const MAX_UPSTREAMS = 3; // like glibc's MAXNS and Docker's maxExtDNS
const MAX_FORWARDS = 1024; // in flight per server; beyond it Docker answers REFUSED, so do we
const TCP_IDLE_MS = 10_000;
const TCP_MAX_CONNS = 256; // per address
const TCP_MAX_PENDING = 32; // forwarded queries in flight per connection before we stop reading it
const EDNS_UDP_SIZE = 1232; // what we advertise; DNS flag day 2020's value, safe from fragmentation
const MAX_UDP_REPLY = 4096;

const enum Rcode { NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NOTIMP = 4, REFUSED = 5 }
const enum T { A = 1, PTR = 12, AAAA = 28, OPT = 41, ANY = 255 }
const CLASS_IN = 1;

type Reply = Buffer | Promise<Buffer | undefined> | undefined;

interface Listener {
  address: string;
  udp: dgram.Socket;
  tcp: net.Server;
  conns: Set<net.Socket>;
  closed: boolean;
}

interface Upstream { ip: string; port: number; family: 4 | 6; label: string }

interface Question {
  /** end offset of the (single) question section */
  end: number;
  /** lower-cased, no trailing dot, '' for the root; undefined if a label holds bytes no container name can have */
  name: string | undefined;
  type: number;
  cls: number;
}

export class DnsServer {
  private readonly resolver: DnsResolver;
  private readonly upstreams: () => string[];
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly listeners = new Map<string, Listener>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inflight = new Set<() => void>(); // aborts of the forwards under way
  private readonly lastLog = new Map<string, { at: number; suppressed: number }>();
  private closed = false;

  constructor(opts: DnsServerOptions) {
    this.resolver = opts.resolver;
    this.upstreams = opts.upstreams ?? (() => hostNameservers());
    this.port = opts.port ?? 53;
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 2000);
  }

  addAddress(address: string): Promise<void> {
    return this.serial(address, async () => {
      if (this.closed) throw new Error('embedded DNS server is closed');
      if (this.listeners.has(address)) return;
      const family = net.isIP(address);
      if (family === 0) throw new Error(`embedded DNS server: invalid listen address ${JSON.stringify(address)}`);
      const udp = await this.bindUdp(address, family as 4 | 6);
      let l: Listener | undefined;
      let tcp: net.Server;
      try {
        tcp = await this.listenTcp(address, (c) => (l ? this.onTcp(l, c) : c.destroy()));
      } catch (e) {
        await closeUdp(udp);
        throw e;
      }
      l = { address, udp, tcp, conns: new Set(), closed: false };
      const listener = l;
      udp.on('message', (msg, rinfo) => this.onUdp(listener, msg, rinfo));
      this.listeners.set(address, l);
    });
  }

  removeAddress(address: string): Promise<void> {
    return this.serial(address, async () => {
      const l = this.listeners.get(address);
      if (!l) return;
      this.listeners.delete(address);
      await closeListener(l);
    });
  }

  addresses(): string[] {
    return [...this.listeners.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const abort of [...this.inflight]) abort();
    // Serialised behind any add still binding, so nothing is left listening.
    const pending = new Set([...this.listeners.keys(), ...this.chains.keys()]);
    await Promise.all([...pending].map((a) => this.removeAddress(a)));
  }

  // add/remove of one address must not interleave (a remove racing a bind would leak the sockets).
  private serial(address: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(address) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.chains.set(address, tail);
    void tail.then(() => { if (this.chains.get(address) === tail) this.chains.delete(address); });
    return run;
  }

  private bindUdp(address: string, family: 4 | 6): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      // No reuseAddr: with it two sockets could share the port and the kernel would pick one silently.
      const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      const onError = (e: NodeJS.ErrnoException) => {
        void closeUdp(s);
        reject(bindError(e, address, this.port, 'udp'));
      };
      s.once('error', onError);
      s.bind({ address, port: this.port, exclusive: true }, () => {
        s.off('error', onError);
        s.on('error', (err) => this.warnSometimes(`udp:${address}`, 'embedded DNS: UDP socket error', { address, error: err.message }));
        resolve(s);
      });
    });
  }

  private listenTcp(address: string, onConn: (c: net.Socket) => void): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ noDelay: true }, onConn);
      srv.maxConnections = TCP_MAX_CONNS;
      const onError = (e: NodeJS.ErrnoException) => reject(bindError(e, address, this.port, 'tcp'));
      srv.once('error', onError);
      srv.listen({ host: address, port: this.port, exclusive: true, backlog: 128 }, () => {
        srv.off('error', onError);
        srv.on('error', (err) => this.warnSometimes(`tcp:${address}`, 'embedded DNS: TCP server error', { address, error: err.message }));
        resolve(srv);
      });
    });
  }

  private onUdp(l: Listener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const send = (out: Buffer | undefined) => {
      if (!out || l.closed) return;
      try {
        l.udp.send(out, rinfo.port, rinfo.address, (err) => {
          if (err) this.warnSometimes(`udpsend:${l.address}`, 'embedded DNS: cannot send reply', { address: l.address, client: rinfo.address, error: err.message });
        });
      } catch (err) {
        this.warnSometimes(`udpsend:${l.address}`, 'embedded DNS: cannot send reply', { address: l.address, client: rinfo.address, error: (err as Error).message });
      }
    };
    const r = this.handle(msg, clientAddr(rinfo.address), l.address, false);
    if (r instanceof Promise) void r.then(send);
    else send(r);
  }

  private onTcp(l: Listener, c: net.Socket): void {
    if (l.closed) { c.destroy(); return; }
    l.conns.add(c);
    const client = clientAddr(c.remoteAddress ?? '');
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on('close', () => l.conns.delete(c));
    c.on('error', (err) => this.warnSometimes(`tcpconn:${l.address}`, 'embedded DNS: TCP connection error', { address: l.address, client, error: err.message }));
    let acc: Buffer | undefined;
    let pending = 0;
    const send = (out: Buffer | undefined) => {
      if (!out || c.destroyed || !c.writable) return;
      const framed = Buffer.allocUnsafe(out.length + 2);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      c.write(framed);
    };
    c.on('data', (chunk: Buffer) => {
      acc = acc ? Buffer.concat([acc, chunk]) : chunk;
      while (acc.length >= 2) {
        const n = acc.readUInt16BE(0);
        if (acc.length < n + 2) break;
        const q = acc.subarray(2, n + 2);
        acc = acc.subarray(n + 2);
        const r = this.handle(q, client, l.address, true);
        if (r instanceof Promise) {
          if (++pending >= TCP_MAX_PENDING) c.pause();
          void r.then((out) => {
            send(out);
            if (--pending < TCP_MAX_PENDING && !c.destroyed) c.resume();
          });
        } else {
          send(r);
        }
      }
      if (acc.length === 0) acc = undefined;
    });
  }

  /** The answer to one query: bytes now (local), a promise (forwarded) or undefined (dropped). Never throws. */
  private handle(msg: Buffer, client: string, local: string, tcp: boolean): Reply {
    try {
      return this.answer(msg, client, local, tcp);
    } catch (err) {
      // A throw here would escape a socket event handler and take the daemon down.
      this.warnSometimes('internal', 'embedded DNS: cannot handle query', { error: (err as Error).message });
      return undefined;
    }
  }

  private answer(msg: Buffer, client: string, local: string, tcp: boolean): Reply {
    if (this.closed || msg.length < 12) return undefined;
    if (msg[2] & 0x80) return undefined; // a response: answering it could start a reflection loop
    let decoded: dnsPacket.DecodedPacket;
    try {
      decoded = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const opcode = (msg[2] >> 3) & 0x0f;
    const qdcount = msg.readUInt16BE(4);
    let udpLimit = 512;
    let edns = false;
    for (const a of decoded.additionals ?? []) {
      if (a.type === 'OPT') {
        edns = true;
        udpLimit = Math.min(MAX_UDP_REPLY, Math.max(512, a.udpPayloadSize));
      }
    }
    const limit = tcp ? 65535 : udpLimit;
    const q = qdcount === 1 ? readQuestion(msg) : undefined;
    if (qdcount === 1 && !q) return undefined;
    const reply = (rcode: Rcode, answers: Buffer[] = [], aa = false) => buildReply(msg, q, rcode, answers, aa, edns, limit);
    if (opcode !== 0) return reply(Rcode.NOTIMP);
    if (!q) return reply(Rcode.FORMERR);

    try {
      if (q.cls === CLASS_IN && q.name) {
        if (q.type === T.PTR && q.name.endsWith('.in-addr.arpa')) {
          const ip = ptrToIp(q.name);
          const host = ip === undefined ? undefined : this.resolver.reverse(ip, client);
          if (host !== undefined) {
            const rr = ptrRecord(host);
            if (!rr) {
              this.warnSometimes('badptr', 'embedded DNS: resolver returned a name that is not a valid DNS name', { name: host });
              return reply(Rcode.SERVFAIL);
            }
            return reply(Rcode.NOERROR, [rr], true);
          }
        } else {
          const ips = this.resolver.lookup(q.name, client);
          if (ips !== undefined) {
            // Known name: A (and ANY) carry its IPv4 addresses, AAAA its IPv6 ones on dual-stack networks; an
            // empty NOERROR for the rest keeps libc resolvers from failing the whole lookup.
            const six = q.type === T.AAAA || q.type === T.ANY ? this.resolver.lookup6?.(q.name, client) ?? [] : [];
            const answers = [...(q.type === T.A || q.type === T.ANY ? aRecords(ips) : []), ...aaaaRecords(six)];
            return reply(Rcode.NOERROR, answers, true);
          }
        }
      }
      if (!this.resolver.forwards(client)) return reply(Rcode.SERVFAIL);
    } catch (err) {
      this.warnSometimes('resolver', 'embedded DNS: resolver failed', { error: (err as Error).message });
      return reply(Rcode.SERVFAIL);
    }
    if (this.inflight.size >= MAX_FORWARDS) {
      this.warnSometimes('maxfwd', `embedded DNS: more than ${MAX_FORWARDS} forwarded queries in flight`, {});
      return reply(Rcode.REFUSED);
    }
    return this.forward(msg, tcp, local, client).then((out) => {
      if (this.closed) return undefined;
      return out ?? reply(Rcode.SERVFAIL);
    });
  }

  private candidates(local: string, client: string): Upstream[] {
    let list: string[];
    try {
      list = this.resolver.upstreams?.(client) ?? this.upstreams();
    } catch (err) {
      this.warnSometimes('upstreams', 'embedded DNS: cannot list upstream nameservers', { error: (err as Error).message });
      return [];
    }
    const out: Upstream[] = [];
    for (const s of list) {
      const u = parseUpstream(s);
      if (!u) {
        this.warnSometimes(`badup:${s}`, 'embedded DNS: ignoring invalid upstream nameserver', { upstream: s });
        continue;
      }
      // Forwarding to ourselves would bounce the query between our own sockets until the deadline.
      if (u.port === this.port && (u.ip === local || this.listeners.has(u.ip))) continue;
      out.push(u);
      if (out.length === MAX_UPSTREAMS) break;
    }
    return out;
  }

  /**
   * Upstream i is asked after i/n of the budget (or as soon as the one before fails), and earlier ones stay
   * asked: a slow but working first nameserver still wins if it answers before the deadline.
   */
  private forward(msg: Buffer, tcp: boolean, local: string, client: string): Promise<Buffer | undefined> {
    const ups = this.candidates(local, client);
    if (ups.length === 0) return Promise.resolve(undefined);
    const clientId = msg.readUInt16BE(0);
    // A fresh id (and a fresh source port) per forward: the client's id may be guessable, ours is not.
    const id = randomInt(0x10000);
    const query = Buffer.from(msg);
    query.writeUInt16BE(id, 0);
    const stagger = Math.max(1, Math.floor(this.timeoutMs / ups.length));
    return new Promise((resolve) => {
      const aborts: Array<() => void> = [];
      let next = 0;
      let active = 0;
      let done = false;
      let staggerTimer: NodeJS.Timeout | undefined;
      let deadline: NodeJS.Timeout | undefined;
      const finish = (r: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearTimeout(staggerTimer);
        this.inflight.delete(abortAll);
        for (const a of aborts) a();
        if (r) r.writeUInt16BE(clientId, 0);
        resolve(r);
      };
      const abortAll = () => finish(undefined);
      this.inflight.add(abortAll);
      deadline = setTimeout(() => finish(undefined), this.timeoutMs);
      const launch = () => {
        clearTimeout(staggerTimer);
        if (done) return;
        if (next >= ups.length) {
          if (active === 0) finish(undefined);
          return;
        }
        const up = ups[next++];
        active++;
        const onResult = (r: Buffer | undefined) => {
          active--;
          if (done) return;
          const rcode = r ? r[3] & 0x0f : Rcode.SERVFAIL;
          // SERVFAIL and REFUSED may be one nameserver's trouble: ask the next, as Docker does.
          if (r && rcode !== Rcode.SERVFAIL && rcode !== Rcode.REFUSED) finish(r);
          else launch();
        };
        try {
          aborts.push(tcp ? this.exchangeTcp(query, id, up, onResult) : this.exchangeUdp(query, id, up, onResult));
        } catch (err) {
          this.warnSometimes(`up:${up.label}`, 'embedded DNS: upstream nameserver failed', { upstream: up.label, error: (err as Error).message });
          queueMicrotask(() => onResult(undefined));
        }
        if (!done && next < ups.length) staggerTimer = setTimeout(launch, stagger);
      };
      launch();
    });
  }

  /** One query to one upstream over UDP; returns an abort. A truncated answer is relayed as is so the client retries over TCP. */
  private exchangeUdp(query: Buffer, id: number, up: Upstream, cb: (r: Buffer | undefined) => void): () => void {
    const s = dgram.createSocket(up.family === 6 ? 'udp6' : 'udp4');
    let over = false;
    const stop = () => {
      if (over) return false;
      over = true;
      try { s.close(); } catch { /* already closed */ }
      return true;
    };
    s.on('error', (err) => {
      this.warnSometimes(`up:${up.label}`, 'embedded DNS: upstream nameserver failed', { upstream: up.label, proto: 'udp', error: err.message });
      if (stop()) cb(undefined);
    });
    // Connected, so the kernel drops datagrams from anyone else and reports ICMP refusals at once.
    s.on('message', (m) => { if (isReplyTo(m, id) && stop()) cb(m); });
    try {
      s.connect(up.port, up.ip, () => {
        if (over) return;
        s.send(query, (err) => {
          if (!err) return;
          this.warnSometimes(`up:${up.label}`, 'embedded DNS: upstream nameserver failed', { upstream: up.label, proto: 'udp', error: err.message });
          if (stop()) cb(undefined);
        });
      });
    } catch (err) {
      over = true;
      try { s.close(); } catch { /* never bound */ }
      throw err;
    }
    return () => { stop(); };
  }

  private exchangeTcp(query: Buffer, id: number, up: Upstream, cb: (r: Buffer | undefined) => void): () => void {
    const s = net.connect({ host: up.ip, port: up.port, noDelay: true });
    let over = false;
    const stop = () => {
      if (over) return false;
      over = true;
      s.destroy();
      return true;
    };
    let acc: Buffer | undefined;
    s.on('connect', () => {
      const framed = Buffer.allocUnsafe(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      s.write(framed);
    });
    s.on('data', (chunk: Buffer) => {
      acc = acc ? Buffer.concat([acc, chunk]) : chunk;
      while (acc.length >= 2 && acc.length >= acc.readUInt16BE(0) + 2) {
        const m = acc.subarray(2, acc.readUInt16BE(0) + 2);
        acc = acc.subarray(m.length + 2);
        if (isReplyTo(m, id)) {
          if (stop()) cb(Buffer.from(m));
          return;
        }
      }
    });
    s.on('error', (err) => {
      this.warnSometimes(`up:${up.label}`, 'embedded DNS: upstream nameserver failed', { upstream: up.label, proto: 'tcp', error: err.message });
      if (stop()) cb(undefined);
    });
    s.on('close', () => { if (stop()) cb(undefined); });
    return () => { stop(); };
  }

  // A container in a retry loop must not flood the daemon's log: one line per key per 10 s, with a count.
  private warnSometimes(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const e = this.lastLog.get(key);
    if (e && now - e.at < 10_000) { e.suppressed++; return; }
    if (this.lastLog.size > 1000) this.lastLog.clear();
    this.lastLog.set(key, { at: now, suppressed: 0 });
    log.warn(msg, e?.suppressed ? { ...fields, suppressed: e.suppressed } : fields);
  }
}

function closeUdp(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try { s.close(() => resolve()); } catch { resolve(); }
  });
}

async function closeListener(l: Listener): Promise<void> {
  l.closed = true;
  const tcpClosed = new Promise<void>((resolve) => l.tcp.close(() => resolve()));
  for (const c of l.conns) c.destroy();
  await Promise.all([closeUdp(l.udp), tcpClosed]);
}

function bindError(e: NodeJS.ErrnoException, address: string, port: number, proto: string): Error {
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}/${proto}`;
  const why =
    e.code === 'EADDRINUSE' ? 'the port is already in use (another DNS server such as dnsmasq or systemd-resolved may hold it)'
    : e.code === 'EADDRNOTAVAIL' ? 'the address is not assigned to any interface (is the network bridge up?)'
    : e.code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
    : e.message;
  const err = new Error(`cannot start the embedded DNS server on ${where}: ${why}`) as NodeJS.ErrnoException;
  err.code = e.code;
  return err;
}

function clientAddr(a: string): string {
  return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

function isReplyTo(m: Buffer, id: number): boolean {
  return m.length >= 12 && m.readUInt16BE(0) === id && (m[2] & 0x80) !== 0;
}

/** The single question, read from the wire so that the reply can echo its exact bytes (case included). */
function readQuestion(msg: Buffer): Question | undefined {
  let off = 12;
  const labels: string[] = [];
  let plain = true;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) { off++; break; }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // pointers cannot occur in a first question
    for (let i = off + 1; i <= off + len; i++) {
      const b = msg[i];
      if (b <= 0x20 || b >= 0x7f || b === 0x2e) plain = false;
    }
    labels.push(msg.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += len + 1;
  }
  if (off + 4 > msg.length) return undefined;
  return { end: off + 4, name: plain ? labels.join('.') : undefined, type: msg.readUInt16BE(off), cls: msg.readUInt16BE(off + 2) };
}

function ptrToIp(name: string): string | undefined {
  const parts = name.split('.');
  if (parts.length !== 6) return undefined;
  const octets: number[] = [];
  for (let i = 3; i >= 0; i--) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets.join('.');
}

// Answers point at the question's name (offset 12) — dns-packet does not compress, and with compression a 512-byte
// UDP reply holds ~28 addresses of a scaled service instead of ~12.
function aRecords(ips: string[]): Buffer[] {
  return ips.filter((ip) => net.isIPv4(ip)).map((ip) => addressRecord(T.A, Buffer.from(ip.split('.').map(Number))));
}

function aaaaRecords(ips: string[]): Buffer[] {
  return ips.filter((ip) => net.isIPv6(ip)).map((ip) => {
    const n = parseIp6(ip);
    return addressRecord(T.AAAA, Buffer.from(Array.from({ length: 16 }, (_, i) => Number((n >> BigInt(8 * (15 - i))) & 0xffn))));
  });
}

/** One A or AAAA answer for the question's name, TTL as Docker's. */
function addressRecord(type: T, rdata: Buffer): Buffer {
  const rr = Buffer.allocUnsafe(12 + rdata.length);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(TTL, 6);
  rr.writeUInt16BE(rdata.length, 10);
  rdata.copy(rr, 12);
  return rr;
}

function ptrRecord(host: string): Buffer | undefined {
  const labels = host.replace(/\.$/, '').split('.');
  let len = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || !/^[\x21-\x7e]+$/.test(l)) return undefined;
    len += l.length + 1;
  }
  if (len > 255) return undefined;
  const rr = Buffer.allocUnsafe(12 + len);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(T.PTR, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(TTL, 6);
  rr.writeUInt16BE(len, 10);
  let off = 12;
  for (const l of labels) {
    rr[off] = l.length;
    rr.write(l, off + 1, 'latin1');
    off += l.length + 1;
  }
  rr[off] = 0;
  return rr;
}

function buildReply(query: Buffer, q: Question | undefined, rcode: Rcode, answers: Buffer[], aa: boolean, edns: boolean, limit: number): Buffer {
  const qlen = q ? q.end - 12 : 0;
  const optLen = edns ? 11 : 0;
  let n = answers.length;
  let size = 12 + qlen + optLen;
  for (let i = 0; i < n; i++) size += answers[i].length;
  let tc = false;
  while (size > limit && n > 0) { size -= answers[--n].length; tc = true; }
  const out = Buffer.allocUnsafe(size);
  query.copy(out, 0, 0, 2); // id
  // QR, the query's opcode and RD; RA because we recurse for the client (by forwarding), like Docker says.
  out[2] = 0x80 | (query[2] & 0x79) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0);
  out[3] = 0x80 | rcode;
  out.writeUInt16BE(q ? 1 : 0, 4);
  out.writeUInt16BE(n, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  let off = 12;
  if (q) off += query.copy(out, off, 12, q.end);
  for (let i = 0; i < n; i++) off += answers[i].copy(out, off);
  if (edns) {
    out[off] = 0; // root name
    out.writeUInt16BE(T.OPT, off + 1);
    out.writeUInt16BE(EDNS_UDP_SIZE, off + 3);
    out.writeUInt32BE(0, off + 5); // extended rcode, version 0, no DO: we do not sign
    out.writeUInt16BE(0, off + 9);
  }
  return out;
}

function parseUpstream(s: string): Upstream | undefined {
  let ip = s.trim();
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(ip);
  if (bracket) {
    ip = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (!net.isIP(ip)) {
    const i = ip.lastIndexOf(':');
    if (i < 0 || !net.isIPv4(ip.slice(0, i)) || !/^\d+$/.test(ip.slice(i + 1))) return undefined;
    port = Number(ip.slice(i + 1));
    ip = ip.slice(0, i);
  }
  const family = net.isIP(ip);
  if (family === 0 || port < 1 || port > 65535) return undefined;
  return { ip, port, family: family as 4 | 6, label: family === 6 ? `[${ip}]:${port}` : `${ip}:${port}` };
}

const NS_RECHECK_MS = 1000;
const nsCache = new Map<string, { checked: number; key: string; servers: string[] }>();

/** nameservers of the host's /etc/resolv.conf (loopback ones included: the daemon runs in the host namespace); reread when the file changes (cache by mtime) */
export function hostNameservers(file = '/etc/resolv.conf'): string[] {
  // Called per forwarded query: at most one stat a second, and a read only when the file changed.
  const now = Date.now();
  const c = nsCache.get(file);
  if (c && now - c.checked < NS_RECHECK_MS) return c.servers.slice();
  let key = 'missing';
  try {
    const st = statSync(file, { throwIfNoEntry: false });
    // inode too: tools that manage resolv.conf replace it by rename, possibly within one mtime tick.
    if (st) key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch { /* unreadable: treated as missing */ }
  if (c && c.key === key) {
    c.checked = now;
    return c.servers.slice();
  }
  let servers: string[] = [];
  if (key !== 'missing') {
    try {
      servers = parseNameservers(readFileSync(file, 'utf8'));
    } catch (err) {
      log.warn('embedded DNS: cannot read resolv.conf', { file, error: (err as Error).message });
    }
  }
  nsCache.set(file, { checked: now, key, servers });
  return servers.slice();
}

function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (m && net.isIP(m[1]) && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}
