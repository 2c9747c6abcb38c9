// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its directory and
// bind-mounted by the runtime, as Docker does.
import { promises as fs } from 'fs';
import { writeFileAtomic } from '../../common/atomic';

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/** --dns, --dns-search, --dns-option (HostConfig.Dns, DnsSearch, DnsOptions): each replaces the host's lines. */
export interface DnsSettings { servers?: string[] | null; search?: string[] | null; options?: string[] | null }

/** The host's resolv.conf, minus loopback resolvers a container's own namespace cannot reach, with --dns* applied. */
export async function containerResolvConf(hostNetwork: boolean, embeddedDns?: string, dns: DnsSettings = {}): Promise<string> {
  let text = '';
  try { text = await fs.readFile('/etc/resolv.conf', 'utf8'); } catch { /* no host resolver config */ }
  const given = (v: string[] | null | undefined): v is string[] => !!v && v.length > 0;
  if (hostNetwork && !given(dns.servers) && !given(dns.search) && !given(dns.options)) return text;
  const hostLines = text.split('\n');
  const is = (kind: string) => (l: string) => new RegExp(`^\\s*${kind}\\s`).test(l);
  // --dns-search . means no search domains at all, as in docker
  const search = given(dns.search)
    ? (dns.search.some((d) => d === '.') ? [] : [`search ${dns.search.join(' ')}`])
    : hostLines.filter((l) => is('search')(l) || is('domain')(l));
  if (embeddedDns && !hostNetwork) {
    // a user-defined network: the embedded DNS on its gateway answers container names and forwards the rest (to
    // the --dns servers, else the host's), so it is the only nameserver; ndots:0 unless options say otherwise
    const options = given(dns.options) ? dns.options : ['ndots:0'];
    return [...search, `nameserver ${embeddedDns}`, `options ${options.join(' ')}`, ''].join('\n');
  }
  const servers = given(dns.servers) ? dns.servers.map((ns) => `nameserver ${ns}`)
    : hostLines.filter((l) => is('nameserver')(l) && (hostNetwork || !/^\s*nameserver\s+(127\.|::1\b)/.test(l)));
  if (!servers.length) servers.push(...FALLBACK_NAMESERVERS.map((ns) => `nameserver ${ns}`));
  const options = given(dns.options) ? [`options ${dns.options.join(' ')}`] : hostLines.filter(is('options'));
  const rest = hostLines.filter((l) => !is('nameserver')(l) && !is('search')(l) && !is('domain')(l) && !is('options')(l) && l.trim());
  return [...rest, ...search, ...servers, ...options, ''].join('\n');
}

export function hostsFile(hostname: string, ip: string | undefined, extraHosts: string[] = []): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const entry of extraHosts) {
    const i = entry.indexOf(':');
    if (i > 0) lines.push(`${entry.slice(i + 1)}\t${entry.slice(0, i)}`);
  }
  if (ip) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

export async function writeEtcFiles(p: { hosts: string; hostname: string; resolvConf: string }, hostname: string, ip: string | undefined, hostNetwork: boolean, extraHosts: string[] = [], embeddedDns?: string, dns: DnsSettings = {}): Promise<void> {
  const hostsText = hostNetwork ? await fs.readFile('/etc/hosts', 'utf8').catch(() => hostsFile(hostname, ip, extraHosts)) : hostsFile(hostname, ip, extraHosts);
  await Promise.all([
    writeFileAtomic(p.hostname, hostname + '\n', 0o644, false),
    writeFileAtomic(p.hosts, hostsText, 0o644, false),
    writeFileAtomic(p.resolvConf, await containerResolvConf(hostNetwork, embeddedDns, dns), 0o644, false),
  ]);
}
