// IP address management, on disk in the layout of the CNI host-local plugin
// (<dir>/<ip> holding "<containerId>\r\n<ifname>", <dir>/last_reserved_ip.0), so allocations survive daemon
// restarts, can be read by CNI tooling, and the CNI host-local plugin could take over the same directory.
// Reservation is a file created with O_EXCL: two allocators can never hand out the same address.
// Allocation is round-robin after the last reserved address (like host-local and Docker), which keeps a freed
// address from being reused at once (stale ARP / conntrack entries of the previous owner).
// No fsync: these files only matter while their containers' namespaces exist, and those do not survive a power
// loss either; a crash of the daemon loses nothing that was written (rename keeps each file whole).
import { promises as fs } from 'fs';
import * as path from 'path';
import { Cidr, formatIp, hostRange, parseIp, contains, isIpv4 } from './ipv4';
import { writeFileAtomic } from '../common/atomic';
import { forbidden, invalidParameter, systemError } from '../common/errors';

const LAST = 'last_reserved_ip.0';

export class Ipam {
  /** last reserved address, cached: this process is the only allocator of the directory */
  private last: number | undefined;
  private lastWrite: Promise<void> = Promise.resolve();

  /**
   * `range` (--ip-range) narrows dynamic allocation to a part of the subnet; static addresses (`reserve`) may be
   * anywhere in the subnet. `network` names the network in errors.
   */
  constructor(readonly dir: string, readonly subnet: Cidr, readonly gateway: number, readonly range?: Cidr,
    readonly network = 'bridge') {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Reserves the next free address for `id`; returns it as a dotted string. */
  async allocate(id: string, ifname = 'eth0'): Promise<string> {
    const sub = hostRange(this.subnet);
    const r = this.range ? hostRange(this.range) : sub;
    const first = Math.max(r.first, sub.first);
    const last = Math.min(r.last, sub.last);
    const size = last - first + 1;
    if (this.last === undefined) {
      const prev = (await fs.readFile(path.join(this.dir, LAST), 'utf8').catch(() => '')).trim();
      this.last = isIpv4(prev) ? parseIp(prev) : first - 1;
    }
    const p = this.last;
    const start = contains(this.subnet, p) && p >= first && p < last ? p + 1 : first;
    for (let i = 0; i < size; i++) {
      const n = first + ((start - first + i) % size);
      if (n === this.gateway) continue;
      const ip = formatIp(n);
      try {
        await fs.writeFile(path.join(this.dir, ip), `${id}\r\n${ifname}`, { flag: 'wx', mode: 0o644 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      this.last = n;
      // only a hint for the next start-up's round robin: written in the background, in order
      this.lastWrite = this.lastWrite.then(() => writeFileAtomic(path.join(this.dir, LAST), ip, 0o644, false)).catch(() => undefined);
      return ip;
    }
    throw systemError(`no available IPv4 addresses on network ${this.network} (${formatIp(this.subnet.base)}/${this.subnet.prefix})`);
  }

  /** Reserves a given address (--ip) for `id`; Docker's "Address already in use" when another holds it. */
  async reserve(id: string, ip: string, ifname = 'eth0'): Promise<void> {
    const n = parseIp(ip);
    const { first, last } = hostRange(this.subnet);
    if (!contains(this.subnet, n) || n < first || n > last) {
      throw invalidParameter(`invalid address ${ip}: it does not belong to any of this network's subnets`);
    }
    if (n === this.gateway) throw forbidden('Address already in use');
    try {
      await fs.writeFile(path.join(this.dir, ip), `${id}\r\n${ifname}`, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await this.ownerOf(path.join(this.dir, ip))) !== id) throw forbidden('Address already in use');
    }
  }

  /** Waits for the background write of last_reserved_ip.0. */
  async flush(): Promise<void> { await this.lastWrite; }

  /** Releases `ip` if it is held by `id` (idempotent). */
  async release(id: string, ip: string): Promise<void> {
    const file = path.join(this.dir, ip);
    const owner = await this.ownerOf(file);
    if (owner === id) await fs.rm(file, { force: true });
  }

  /** All reservations: ip -> container id. */
  async list(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!isIpv4(name)) continue;
      const owner = await this.ownerOf(path.join(this.dir, name));
      if (owner !== undefined) out.set(name, owner);
    }
    return out;
  }

  private async ownerOf(file: string): Promise<string | undefined> {
    try {
      return (await fs.readFile(file, 'utf8')).split(/\r?\n/)[0].trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
