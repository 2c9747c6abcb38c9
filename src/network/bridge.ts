// One bridge network at run time: its bridge device with the gateway address, its address allocator and its NAT
// chains. The default "bridge" network and every user-defined network are one of these each.
import { promises as fs } from 'fs';
import * as path from 'path';
import { Cidr, parseCidr, parseIp } from './ipv4';
import { Ipam } from './ipam';
import { Firewall, Saved } from './iptables';
import { deleteLink, ensureBridge, ensureBridgeAddress6, writeSysctl } from './netns';
import { Cidr6, parseCidr6, parseIp6 } from './ipv6';
import { Ipam6 } from './ipam6';
import type { NetworkConfig } from './config';
import type { Waiting } from './waiting';

export class BridgeNetwork {
  readonly subnet: Cidr;
  readonly ipam: Ipam;
  readonly nat: Firewall;
  /** dual-stack networks (EnableIPv6) only */
  readonly ipam6?: Ipam6;
  readonly subnet6?: Cidr6;

  /** `ipamDir`: where the address reservations live (the default network keeps its historic ipam/bridge) */
  /** `anyDestination`: rootless, see NetworkManagerOptions.hostPorts */
  constructor(readonly cfg: NetworkConfig, readonly ipamDir: string, readonly mac: string, warm?: () => Waiting | undefined, anyDestination = false) {
    this.subnet = parseCidr(cfg.Subnet);
    this.ipam = new Ipam(ipamDir, this.subnet, parseIp(cfg.Gateway), cfg.IPRange ? parseCidr(cfg.IPRange) : undefined, cfg.Name);
    this.nat = new Firewall(cfg.Bridge, cfg.Subnet, warm, { masquerade: cfg.Masquerade && !cfg.Internal, anyDestination });
    if (cfg.EnableIPv6 && cfg.Subnet6 && cfg.Gateway6) {
      this.subnet6 = parseCidr6(cfg.Subnet6);
      this.ipam6 = new Ipam6(path.join(ipamDir, 'v6'), this.subnet6, parseIp6(cfg.Gateway6), cfg.Name, cfg.IPRange6 ? parseCidr6(cfg.IPRange6) : undefined);
    }
  }

  get id(): string { return this.cfg.Id; }
  get name(): string { return this.cfg.Name; }
  get bridge(): string { return this.cfg.Bridge; }
  get gateway(): string { return this.cfg.Gateway; }
  /** a container's eth on this network gets the default route through the gateway */
  get routesOut(): boolean { return !this.cfg.Internal; }

  /** Creates or repairs the bridge, its sysctls and NAT chains (idempotent: every daemon start runs it). */
  async up(saved?: Saved): Promise<void> {
    await this.ipam.init();
    for (const [, a] of Object.entries(this.cfg.AuxAddresses ?? {})) await this.ipam.reserve('aux-address', a).catch(() => undefined);
    await ensureBridge(this.bridge, this.mac, `${this.gateway}/${this.subnet.prefix}`, this.cfg.Mtu);
    // published ports answer on 127.0.0.1: DNAT to the bridge needs 127/8 to be routable there
    await writeSysctl(`net/ipv4/conf/${this.bridge}/route_localnet`, '1');
    // IPv6 stays within the bridge (and the host): berth turns on no IPv6 forwarding and no NAT66, as dockerd
    // leaves both off by default
    if (this.ipam6 && this.subnet6) {
      await this.ipam6.init();
      await ensureBridgeAddress6(this.bridge, `${this.cfg.Gateway6}/${this.subnet6.prefix}`);
    }
    await this.nat.setup(saved);
  }

  /** Removes the NAT chains, the bridge and the reservations. Idempotent. */
  async down(saved?: Saved): Promise<void> {
    await this.nat.teardown(saved);
    await deleteLink(this.bridge);
    await fs.rm(this.ipamDir, { recursive: true, force: true });
  }

  /** A CNI conflist of the same network, for CNI tooling (the IPAM directory is shared with host-local). */
  conflist(): object {
    return {
      cniVersion: '1.0.0',
      name: this.name,
      plugins: [
        {
          type: 'bridge', bridge: this.bridge, isGateway: true, ipMasq: false, hairpinMode: false, mtu: this.cfg.Mtu,
          ipam: {
            type: 'host-local', dataDir: path.dirname(this.ipamDir),
            ranges: [[{ subnet: this.cfg.Subnet, gateway: this.gateway }]],
            routes: this.cfg.Internal ? [] : [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall', backend: 'iptables' },
      ],
    };
  }
}
