// IPv6 arithmetic for dual-stack bridge networks (addresses as bigint): parsing, canonical text (RFC 5952),
// subnets. Only what the bridge driver and its IPAM need.

export interface Cidr6 { base: bigint; prefix: number }

const ALL = (1n << 128n) - 1n;

export function parseIp6(ip: string): bigint {
  if (!/^[0-9a-fA-F:]+$/.test(ip) || ip.includes(':::') || (ip.match(/::/g) ?? []).length > 1) throw new Error(`invalid IPv6 address: ${ip}`);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) throw new Error(`invalid IPv6 address: ${ip}`);
  const groups = [...h, ...Array(tail === undefined ? 0 : missing).fill('0'), ...t];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`invalid IPv6 address: ${ip}`);
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

export function isIpv6(s: string): boolean {
  try { parseIp6(s); return true; } catch { return false; }
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
export function formatIp6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1; let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const maskOf6 = (prefix: number) => (prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL);

export function parseCidr6(s: string): Cidr6 {
  const [ip, p] = s.split('/');
  const prefix = Number(p);
  if (p === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new Error(`invalid CIDR: ${s}`);
  return { base: parseIp6(ip) & maskOf6(prefix), prefix };
}

export const formatCidr6 = (c: Cidr6) => `${formatIp6(c.base)}/${c.prefix}`;

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & maskOf6(c.prefix)) === c.base;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const m = maskOf6(Math.min(a.prefix, b.prefix));
  return (a.base & m) === (b.base & m);
}

/** The last address of the subnet. */
export const lastOf6 = (c: Cidr6) => c.base | (~maskOf6(c.prefix) & ALL);
