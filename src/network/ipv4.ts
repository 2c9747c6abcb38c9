// IPv4 arithmetic and the host's routing table, for choosing a subnet that does not collide.
import { promises as fs } from 'fs';
import * as os from 'os';

export interface Cidr { base: number; prefix: number }

export function parseIp(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) throw new Error(`invalid IPv4 address: ${ip}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`invalid IPv4 address: ${ip}`);
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  try { parseIp(s); return true; } catch { return false; }
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(s: string): Cidr {
  const [ip, p] = s.split('/');
  const prefix = Number(p);
  if (p === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`invalid CIDR: ${s}`);
  return { base: (parseIp(ip) & maskOf(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string { return `${formatIp(c.base)}/${c.prefix}`; }

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(p);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.base;
}

/** First and last usable host address (network and broadcast excluded for prefixes < 31). */
export function hostRange(c: Cidr): { first: number; last: number } {
  const size = 2 ** (32 - c.prefix);
  if (c.prefix >= 31) return { first: c.base, last: c.base + size - 1 };
  return { first: c.base + 1, last: c.base + size - 2 };
}

export interface HostRoute { dev: string; dst: Cidr }

/** IPv4 routes of the main table (/proc/net/route), without the default route. */
export async function hostRoutes(): Promise<HostRoute[]> {
  const text = await fs.readFile('/proc/net/route', 'utf8').catch(() => '');
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // little-endian hex
    const le = (h: string) => { const n = parseInt(h, 16); return (((n & 255) << 24) >>> 0) + (((n >>> 8) & 255) << 16) + (((n >>> 16) & 255) << 8) + ((n >>> 24) & 255); };
    const dst = le(f[1]);
    const mask = le(f[7]);
    if (mask === 0) continue;
    let prefix = 0;
    for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) prefix++;
    out.push({ dev: f[0], dst: { base: (dst & mask) >>> 0, prefix } });
  }
  return out;
}

/** IPv4 addresses on the host's interfaces (for collisions and for tests). */
export function hostAddresses(): { dev: string; cidr: Cidr; address: string }[] {
  const out: { dev: string; cidr: Cidr; address: string }[] = [];
  for (const [dev, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || !a.cidr) continue;
      out.push({ dev, cidr: parseCidr(a.cidr), address: a.address });
    }
  }
  return out;
}

/** Default candidates: 10.88.0.0/16 (the CNI/podman convention) up to 10.119.0.0/16, then 172.30/31. */
export function defaultCandidates(): string[] {
  const c: string[] = [];
  for (let b = 88; b < 120; b++) c.push(`10.${b}.0.0/16`);
  c.push('172.30.0.0/16', '172.31.0.0/16');
  return c;
}
