// Which URL serves a registry, the way dockerd decides (registry/service_v2.go, config.go): Docker Hub is
// https://registry-1.docker.io; every other registry is tried over https first, and registries that are
// "insecure" — loopback addresses (docker's default insecure CIDR 127.0.0.0/8, plus ::1 and localhost) and the
// daemon's --insecure-registry entries (host[:port] or CIDR) — fall back to plain http when https fails at the
// transport level. For insecure registries https certificates are not verified either.
import { isIP } from 'net';

export interface RegistryEndpoint {
  /** host[:port] as in the reference ('docker.io', 'localhost:5000'). */
  domain: string;
  /** Where requests go first: 'https://registry-1.docker.io', 'https://localhost:5000' … */
  baseUrl: string;
  /** Certificates are not verified, and `fallbackUrl` (plain http) is tried when `baseUrl` fails to connect. */
  insecure: boolean;
  /** Plain-http URL to use when https fails at the transport level (only for insecure registries). */
  fallbackUrl?: string;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_REGISTRY = 'https://registry-1.docker.io';

/** Splits 'host', 'host:port', '[v6]:port' into host and port. */
export function splitHostPort(domain: string): { host: string; port?: string } {
  if (domain.startsWith('[')) {
    const end = domain.indexOf(']');
    if (end !== -1) {
      const rest = domain.slice(end + 1);
      return { host: domain.slice(1, end), port: rest.startsWith(':') ? rest.slice(1) : undefined };
    }
  }
  const colon = domain.lastIndexOf(':');
  if (colon !== -1 && domain.indexOf(':') === colon) return { host: domain.slice(0, colon), port: domain.slice(colon + 1) };
  return { host: domain };
}

/** IPv4/IPv6 address text → bytes (IPv4-mapped IPv6 becomes IPv4); undefined if not an address. */
function ipBytes(ip: string): number[] | undefined {
  const kind = isIP(ip);
  if (kind === 4) return ip.split('.').map(Number);
  if (kind !== 6) return undefined;
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest !== undefined ? [...h, ...Array(8 - h.length - r.length).fill('0'), ...r] : h;
  const bytes: number[] = [];
  for (const g of groups) { const n = parseInt(g || '0', 16); bytes.push(n >> 8, n & 255); }
  if (tail.length) bytes.splice(12, 4, ...tail);
  // ::ffff:a.b.c.d is IPv4
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12);
  return bytes;
}

/** Whether `ip` lies in `cidr` ('10.0.0.0/8', 'fd00::/8'). */
export function cidrContains(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  if (slash === -1) return false;
  const net = ipBytes(cidr.slice(0, slash));
  const addr = ipBytes(ip);
  const bits = Number(cidr.slice(slash + 1));
  if (!net || !addr || net.length !== addr.length || !Number.isInteger(bits) || bits < 0 || bits > net.length * 8) return false;
  for (let i = 0; i < net.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((net[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}

/** localhost, *.localhost, 127.0.0.0/8, ::1 (any port). */
export function isLoopbackDomain(domain: string): boolean {
  const { host } = splitHostPort(domain);
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const bytes = ipBytes(h);
  if (!bytes) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1;
}

/** Whether `domain` is listed as insecure: an exact host[:port] entry, a bare host entry, or an IP inside a CIDR entry. */
export function isInsecureDomain(domain: string, insecureRegistries: readonly string[] = []): boolean {
  if (isLoopbackDomain(domain)) return true;
  const { host } = splitHostPort(domain);
  const d = domain.toLowerCase();
  for (const raw of insecureRegistries) {
    const entry = raw.replace(/^https?:\/\//, '').replace(/\/+$/, '').toLowerCase();
    if (entry.includes('/')) {
      if (cidrContains(entry, host)) return true;
      continue;
    }
    if (entry === d) return true;
    // an entry without a port matches that host on any port
    if (splitHostPort(entry).port === undefined && splitHostPort(d).host === entry) return true;
  }
  return false;
}

/** The endpoint for a registry domain ('docker.io' or 'index.docker.io' → Docker Hub's registry). */
export function resolveEndpoint(domain: string, opts: { insecureRegistries?: string[] } = {}): RegistryEndpoint {
  const d = domain.toLowerCase();
  if (d === DOCKER_HUB_DOMAIN || d === 'index.docker.io' || d === 'registry-1.docker.io') {
    return { domain: DOCKER_HUB_DOMAIN, baseUrl: DOCKER_HUB_REGISTRY, insecure: false };
  }
  const insecure = isInsecureDomain(domain, opts.insecureRegistries);
  return insecure
    ? { domain, baseUrl: `https://${domain}`, insecure: true, fallbackUrl: `http://${domain}` }
    : { domain, baseUrl: `https://${domain}`, insecure: false };
}

/** Process-wide memory of which scheme answered an insecure registry, so https is probed once per domain. */
const schemeMemory = new Map<string, string>();

/** The URLs to try, in order: the remembered working one first. */
export function candidateUrls(endpoint: RegistryEndpoint): string[] {
  const urls = [endpoint.baseUrl];
  if (endpoint.fallbackUrl && endpoint.fallbackUrl !== endpoint.baseUrl) urls.push(endpoint.fallbackUrl);
  const known = schemeMemory.get(endpoint.domain);
  if (known && urls.includes(known)) return [known, ...urls.filter((u) => u !== known)];
  return urls;
}

export function rememberWorkingUrl(endpoint: RegistryEndpoint, url: string): void {
  if (endpoint.fallbackUrl) schemeMemory.set(endpoint.domain, url);
}

/** Tests: forget what was learned about schemes. */
export function resetEndpointMemory(): void {
  schemeMemory.clear();
}
