// Host port allocation for published ports. Two sources of conflict are checked:
//   - our own published ports (an in-memory table rebuilt from the endpoint records at start-up), and
//   - sockets of other host processes: we bind the port ourselves (TCP listen / UDP bind).
// The bound socket is then held for as long as the port is published (PortHolder), as docker's port allocator
// and docker-proxy hold theirs: no other process, and no second daemon, can take a published port meanwhile.
// (Fault closed: ports were only checked at start, so after a daemon restart any process could take them while
// `ps` still showed them.) Traffic never reaches these sockets — the DNAT rules take it first — so a connection
// that does (the rules were flushed) is reset at once instead of hanging.
// Random ports (hostPort 0) come from the kernel's ephemeral range, like Docker's.
import * as net from 'net';
import * as dgram from 'dgram';
import { promises as fs } from 'fs';
import { PortBinding, PortSpec } from './types';

export class PortInUse extends Error {
  constructor(readonly hostIp: string, readonly hostPort: number, readonly protocol: string, readonly reason: string) {
    super(`Bind for ${hostIp || '0.0.0.0'}:${hostPort} failed: port is already allocated`);
  }
}

const key = (protocol: string, port: number) => `${protocol}/${port}`;
const wildcard = (ip: string) => ip === '' || ip === '0.0.0.0';

export class PortTable {
  private used = new Map<string, { hostIp: string; owner: string }[]>();

  conflicts(protocol: string, port: number, hostIp: string, owner?: string): boolean {
    return (this.used.get(key(protocol, port)) ?? []).some(
      (u) => u.owner !== owner && (wildcard(u.hostIp) || wildcard(hostIp) || u.hostIp === hostIp));
  }

  add(owner: string, b: PortBinding): void {
    const k = key(b.protocol, b.hostPort);
    if (!this.used.has(k)) this.used.set(k, []);
    this.used.get(k)!.push({ hostIp: b.hostIp, owner });
  }

  removeOwner(owner: string): void {
    for (const [k, list] of this.used) {
      const rest = list.filter((u) => u.owner !== owner);
      if (rest.length) this.used.set(k, rest);
      else this.used.delete(k);
    }
  }

  clear(): void { this.used.clear(); }
}

type Held = { close(): void };

/** Bound sockets of published ports, by owner (container id). */
export class PortHolder {
  private held = new Map<string, Held[]>();

  /** Binds the port and keeps it bound under `owner`; PortInUse when another socket holds it. */
  async hold(owner: string, b: PortBinding): Promise<void> {
    const sock = await bindPort(b.protocol, b.hostIp, b.hostPort);
    if (!sock) throw new PortInUse(b.hostIp, b.hostPort, b.protocol, 'in use by a host process');
    const list = this.held.get(owner) ?? [];
    list.push(sock);
    this.held.set(owner, list);
  }

  release(owner: string): void {
    for (const s of this.held.get(owner) ?? []) s.close();
    this.held.delete(owner);
  }

  releaseAll(): void { for (const owner of [...this.held.keys()]) this.release(owner); }

  /** How many ports `owner` holds (tests). */
  count(owner: string): number { return this.held.get(owner)?.length ?? 0; }
}

/** Binds and keeps the socket; undefined on EADDRINUSE; other bind errors are thrown. */
function bindPort(protocol: 'tcp' | 'udp', hostIp: string, port: number): Promise<Held | undefined> {
  const host = wildcard(hostIp) ? '0.0.0.0' : hostIp;
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err));
    if (protocol === 'tcp') {
      const srv = net.createServer({ pauseOnConnect: true }, (c) => c.resetAndDestroy());
      srv.once('error', fail);
      srv.listen({ port, host, exclusive: true, backlog: 1 }, () => {
        srv.removeListener('error', fail);
        srv.on('error', () => undefined);
        resolve({ close: () => srv.close() });
      });
    } else {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      s.once('error', (err) => { try { s.close(); } catch { /* not bound */ } fail(err as NodeJS.ErrnoException); });
      s.bind({ port, address: host, exclusive: true }, () => {
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        s.on('message', () => undefined); // what the DNAT rules missed is dropped
        resolve({ close: () => { try { s.close(); } catch { /* closed */ } } });
      });
    }
  });
}

/** true when some host socket holds the port (EADDRINUSE); other bind errors are thrown. */
export function probe(protocol: 'tcp' | 'udp', hostIp: string, port: number): Promise<boolean> {
  const host = wildcard(hostIp) ? '0.0.0.0' : hostIp;
  return new Promise((resolve, reject) => {
    const done = (err: NodeJS.ErrnoException | null) => {
      if (!err) resolve(false);
      else if (err.code === 'EADDRINUSE') resolve(true);
      else reject(err);
    };
    if (protocol === 'tcp') {
      const srv = net.createServer();
      srv.once('error', (err) => done(err as NodeJS.ErrnoException));
      srv.listen({ port, host, exclusive: true, backlog: 1 }, () => srv.close(() => done(null)));
    } else {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      s.once('error', (err) => { s.close(); done(err as NodeJS.ErrnoException); });
      s.bind({ port, address: host, exclusive: true }, () => s.close(() => done(null)));
    }
  });
}

let rangeCache: [number, number] | undefined;
export async function ephemeralRange(): Promise<[number, number]> {
  if (rangeCache) return rangeCache;
  const text = await fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '49153 60999');
  const [lo, hi] = text.trim().split(/\s+/).map(Number);
  rangeCache = lo > 0 && hi >= lo ? [lo, hi] : [49153, 60999];
  return rangeCache;
}

/**
 * Resolves the specs of one container into bindings and records them in `table` under `owner`.
 * All-or-nothing: on a conflict nothing stays recorded and PortInUse is thrown.
 */
export async function allocatePorts(table: PortTable, owner: string, specs: PortSpec[], holder?: PortHolder): Promise<PortBinding[]> {
  const out: PortBinding[] = [];
  try {
    for (const s of specs) {
      const hostIp = wildcard(s.hostIp) ? '' : s.hostIp;
      let port = s.hostPort;
      let held = false;
      if (port === 0) {
        // with a holder the random port is taken by binding it (no window between the check and the hold)
        port = await randomPort(table, s.protocol, hostIp, holder && { holder, owner, containerPort: s.containerPort });
        held = !!holder;
      } else {
        if (table.conflicts(s.protocol, port, hostIp)) throw new PortInUse(hostIp, port, s.protocol, 'published by a container');
        if (!holder && await probe(s.protocol, hostIp, port)) throw new PortInUse(hostIp, port, s.protocol, 'in use by a host process');
      }
      const b: PortBinding = { containerPort: s.containerPort, protocol: s.protocol, hostIp, hostPort: port };
      // the same port published twice by one container (two container ports) is one socket
      if (holder && !held && !out.some((o) => o.protocol === b.protocol && o.hostPort === b.hostPort && o.hostIp === b.hostIp)) await holder.hold(owner, b);
      table.add(owner, b);
      out.push(b);
    }
    return out;
  } catch (err) {
    table.removeOwner(owner);
    holder?.release(owner);
    throw err;
  }
}

async function randomPort(table: PortTable, protocol: 'tcp' | 'udp', hostIp: string,
  hold?: { holder: PortHolder; owner: string; containerPort: number }): Promise<number> {
  const [lo, hi] = await ephemeralRange();
  const span = hi - lo + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < Math.min(span, 200); i++) {
    const port = lo + ((start + i) % span);
    if (table.conflicts(protocol, port, hostIp)) continue;
    if (hold) {
      try {
        await hold.holder.hold(hold.owner, { containerPort: hold.containerPort, protocol, hostIp, hostPort: port });
        return port;
      } catch (err) {
        if (err instanceof PortInUse) continue;
        throw err;
      }
    }
    if (await probe(protocol, hostIp, port)) continue;
    return port;
  }
  throw new PortInUse(hostIp, 0, protocol, 'no free port in the ephemeral range');
}
