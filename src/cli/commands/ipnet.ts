// Just enough of Go's net package for `network create`'s client-side checks: address and CIDR parsing
// with Go's acceptance rules (no leading zeros in IPv4 fields, no zones) and its IPNet.Contains, where
// IPv4 and IPv4-mapped IPv6 addresses are the same family. Addresses are kept as 16 bytes throughout.

/** 16-byte form of an address, or null when Go's parser would reject it. */
export function parseIP(s: string): Uint8Array | null {
  if (s.includes(':')) return parseV6(s);
  const v4 = parseV4(s);
  if (!v4) return null;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Go refuses leading zeros: "010" could mean octal to other parsers
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseV6(s: string): Uint8Array | null {
  if (s.includes('%')) return null; // zones are never valid here
  const out = new Uint8Array(16);
  const gap = s.indexOf('::');
  if (gap !== s.lastIndexOf('::') && gap >= 0) return null;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const groups = (text: string, allowV4: boolean): number[] | null => {
    if (text === '') return [];
    const fields = text.split(':');
    const bytes: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (allowV4 && i === fields.length - 1 && f.includes('.')) {
        const v4 = parseV4(f);
        if (!v4) return null;
        bytes.push(...v4);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(f)) return null;
      const n = parseInt(f, 16);
      bytes.push(n >> 8, n & 0xff);
    }
    return bytes;
  };
  const h = groups(head, gap < 0);
  const t = groups(tail, true);
  if (!h || !t) return null;
  if (gap < 0) {
    if (h.length !== 16) return null;
    out.set(h);
    return out;
  }
  if (h.length + t.length > 14) return null; // "::" stands for at least one zero group
  out.set(h, 0);
  out.set(t, 16 - t.length);
  return out;
}

const isV4 = (ip: Uint8Array) => ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;

export interface IPNet { ip: Uint8Array; mask: Uint8Array }

/** net.ParseCIDR: throws Go's "invalid CIDR address: <s>". */
export function parseCIDR(s: string): IPNet {
  const bad = () => new Error(`invalid CIDR address: ${s}`);
  const slash = s.indexOf('/');
  if (slash < 0) throw bad();
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const ip = parseIP(addr);
  if (!ip || !/^\d+$/.test(bits)) throw bad();
  const plain4 = !addr.includes(':');
  const n = Number(bits);
  if (n > (plain4 ? 32 : 128)) throw bad();
  // An IPv4 prefix is kept as its IPv4-mapped IPv6 equivalent (96 more leading one bits).
  const ones = plain4 ? n + 96 : n;
  const mask = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const b = Math.max(0, Math.min(8, ones - i * 8));
    mask[i] = (0xff << (8 - b)) & 0xff;
  }
  return { ip: ip.map((b, i) => b & mask[i]), mask };
}

/** IPNet.Contains: an IPv4 network holds only IPv4 addresses (mapped or not), IPv6 only IPv6. */
export function contains(net: IPNet, ip: Uint8Array | null): boolean {
  if (!ip) return false;
  const four = isV4(net.ip);
  if (four !== isV4(ip)) return false;
  for (let i = four ? 12 : 0; i < 16; i++) if ((net.ip[i] & net.mask[i]) !== (ip[i] & net.mask[i])) return false;
  return true;
}
