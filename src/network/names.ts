// The names the embedded DNS answers for, as Docker's does: on a user-defined network a container is found by its
// name, its short id and its network aliases — by the containers that share that network, and by no one else.
// The table is the live endpoint records themselves, so it can never disagree with what is attached.
import type { EndpointRecord } from './records';

export interface NameSource {
  /** the live endpoint records */
  records(): Iterable<EndpointRecord>;
  /** user-defined networks only (the default bridge has no DNS, as in Docker) */
  hasDns(networkId: string): boolean;
  isInternal(networkId: string): boolean;
}

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

export class NameTable {
  constructor(private readonly src: NameSource) {}

  /** The networks (with DNS) of the container that owns `ip`. */
  private clientNetworks(clientIp: string): Set<string> | undefined {
    for (const r of this.src.records()) {
      for (const ep of r.endpoints ?? []) {
        if (ep.ipAddress === clientIp) {
          return new Set((r.endpoints ?? []).map((e) => e.networkId).filter((n) => this.src.hasDns(n)));
        }
      }
    }
    return undefined;
  }

  private static namesOf(r: EndpointRecord, aliases: string[]): string[] {
    return [r.name ?? '', r.containerId.slice(0, 12), ...aliases].filter(Boolean).map(norm);
  }

  /**
   * A legacy link of the asking container on a user-defined network (`--link target:alias` given at connect or
   * create): the alias, for that container only, names the target on the link's network.
   */
  private linkTarget(want: string, clientIp: string): { network: string; name: string } | undefined {
    for (const r of this.src.records()) {
      if (!(r.endpoints ?? []).some((e) => e.ipAddress === clientIp)) continue;
      for (const ep of r.endpoints ?? []) {
        for (const link of ep.links ?? []) {
          const i = link.lastIndexOf(':');
          const [target, alias] = i < 0 ? [link, link] : [link.slice(0, i), link.slice(i + 1)];
          if (norm(alias) === want) return { network: ep.networkId, name: norm(target.replace(/^\//, '')) };
        }
      }
    }
    return undefined;
  }

  lookup(name: string, clientIp: string): string[] | undefined {
    const nets = this.clientNetworks(clientIp);
    if (!nets || nets.size === 0) return undefined;
    const link = this.linkTarget(norm(name), clientIp);
    if (link && this.src.hasDns(link.network)) return this.lookupOn(link.name, new Set([link.network]));
    return this.lookupOn(norm(name), nets);
  }

  /** The IPv6 addresses of the same name (dual-stack networks). */
  lookup6(name: string, clientIp: string): string[] | undefined {
    const nets = this.clientNetworks(clientIp);
    if (!nets || nets.size === 0) return undefined;
    const link = this.linkTarget(norm(name), clientIp);
    if (link && this.src.hasDns(link.network)) return this.lookupOn(link.name, new Set([link.network]), true);
    return this.lookupOn(norm(name), nets, true);
  }

  private lookupOn(want: string, nets: Set<string>, v6 = false): string[] | undefined {
    const out: string[] = [];
    for (const r of this.src.records()) {
      for (const ep of r.endpoints ?? []) {
        if (!nets.has(ep.networkId)) continue;
        if (!NameTable.namesOf(r, ep.aliases).includes(want)) continue;
        const ip = v6 ? ep.ipv6Address : ep.ipAddress;
        if (ip && !out.includes(ip)) out.push(ip);
      }
    }
    return out.length ? out : undefined;
  }

  reverse(ip: string, clientIp: string): string | undefined {
    const nets = this.clientNetworks(clientIp);
    if (!nets) return undefined;
    for (const r of this.src.records()) {
      for (const ep of r.endpoints ?? []) {
        if (ep.ipAddress === ip && nets.has(ep.networkId) && r.name) return `${r.name}.${ep.network}`;
      }
    }
    return undefined;
  }

  /** The asking container's own nameservers (--dns), if it has some. */
  upstreams(clientIp: string): string[] | undefined {
    for (const r of this.src.records()) {
      if ((r.endpoints ?? []).some((e) => e.ipAddress === clientIp)) return r.dns?.length ? r.dns : undefined;
    }
    return undefined;
  }

  /** Names that are not ours are forwarded to the host's resolvers unless all of the client's networks are internal. */
  forwards(clientIp: string): boolean {
    const nets = this.clientNetworks(clientIp);
    if (!nets || nets.size === 0) return true;
    return [...nets].some((n) => !this.src.isInternal(n));
  }
}
