// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its directory and
// bind-mounted by the runtime, as Docker does.
import { promises as fs } from 'fs';
import { writeFileAtomic } from '../../common/atomic';

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/** The host's resolv.conf, minus loopback resolvers a container's own namespace cannot reach. */
export async function containerResolvConf(hostNetwork: boolean, embeddedDns?: string): Promise<string> {
  let text = '';
  try { text = await fs.readFile('/etc/resolv.conf', 'utf8'); } catch { /* no host resolver config */ }
  if (hostNetwork) return text;
  if (embeddedDns) {
    // a user-defined network: the embedded DNS on its gateway answers container names and forwards the rest to
    // the host's resolvers, so it is the only nameserver; search domains stay, ndots:0 as Docker writes it
    const keep = text.split('\n').filter((l) => /^\s*(search|domain)\s/.test(l));
    return [...keep, `nameserver ${embeddedDns}`, 'options ndots:0', ''].join('\n');
  }
  const lines = text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push(...FALLBACK_NAMESERVERS.map((ns) => `nameserver ${ns}`));
  return lines.join('\n').replace(/\n*$/, '\n');
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

export async function writeEtcFiles(p: { hosts: string; hostname: string; resolvConf: string }, hostname: string, ip: string | undefined, hostNetwork: boolean, extraHosts: string[] = [], embeddedDns?: string): Promise<void> {
  const hostsText = hostNetwork ? await fs.readFile('/etc/hosts', 'utf8').catch(() => hostsFile(hostname, ip, extraHosts)) : hostsFile(hostname, ip, extraHosts);
  await Promise.all([
    writeFileAtomic(p.hostname, hostname + '\n', 0o644, false),
    writeFileAtomic(p.hosts, hostsText, 0o644, false),
    writeFileAtomic(p.resolvConf, await containerResolvConf(hostNetwork, embeddedDns), 0o644, false),
  ]);
}
