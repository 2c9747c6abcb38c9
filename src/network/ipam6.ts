// IPv6 addresses of a dual-stack network, on disk in the same CNI host-local layout as the IPv4 ones (one file
// per reserved address holding "<containerId>\r\n<ifname>", created with O_EXCL), in the network's own
// directory. Dynamic addresses are handed out from the subnet's start (::2 after a ::1 gateway), first free wins,
// as dockerd does; a scan is bounded, since a /64 cannot be walked.
import { promises as fs } from 'fs';
import * as path from 'path';
import { Cidr6, contains6, formatIp6, lastOf6, parseIp6 } from './ipv6';
import { forbidden, invalidParameter, systemError } from '../common/errors';

const SCAN_LIMIT = 65536;

export class Ipam6 {
  /** `range` (--ip-range) narrows dynamic allocation; static addresses may be anywhere in the subnet */
  constructor(readonly dir: string, readonly subnet: Cidr6, readonly gateway: bigint, readonly network: string, readonly range?: Cidr6) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async allocate(id: string, ifname = 'eth0'): Promise<string> {
    const pool = this.range ?? this.subnet;
    const last = lastOf6(pool);
    // the subnet's own base address (the all-zeros "anycast" one) is never handed out
    for (let n = pool.base === this.subnet.base ? pool.base + 1n : pool.base, i = 0; n <= last && i < SCAN_LIMIT; n++, i++) {
      if (n === this.gateway) continue;
      const ip = formatIp6(n);
      try {
        await fs.writeFile(path.join(this.dir, ip), `${id}\r\n${ifname}`, { flag: 'wx', mode: 0o644 });
        return ip;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw systemError(`no available IPv6 addresses on network ${this.network}`);
  }

  /** A given address (--ip6); returns it in canonical form. */
  async reserve(id: string, ip: string, ifname = 'eth0'): Promise<string> {
    let n: bigint;
    try { n = parseIp6(ip); } catch { throw invalidParameter(`invalid IPv6 address: ${ip}`); }
    if (!contains6(this.subnet, n) || n === this.subnet.base) throw invalidParameter(`invalid address ${ip}: it does not belong to any of this network's subnets`);
    if (n === this.gateway) throw forbidden('Address already in use');
    const canon = formatIp6(n);
    try {
      await fs.writeFile(path.join(this.dir, canon), `${id}\r\n${ifname}`, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = (await fs.readFile(path.join(this.dir, canon), 'utf8').catch(() => '')).split(/\r?\n/)[0].trim();
      if (owner !== id) throw forbidden('Address already in use');
    }
    return canon;
  }

  /** All reservations: ip -> container id. */
  async list(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      const owner = (await fs.readFile(path.join(this.dir, name), 'utf8').catch(() => '')).split(/\r?\n/)[0].trim();
      if (owner) out.set(name, owner);
    }
    return out;
  }

  async release(id: string, ip: string): Promise<void> {
    const file = path.join(this.dir, ip);
    const owner = (await fs.readFile(file, 'utf8').catch(() => '')).split(/\r?\n/)[0].trim();
    if (owner === id) await fs.rm(file, { force: true });
  }
}
