// Packet filter and NAT rules of the bridge networks, through iptables-restore/iptables-save so that they work with
// whatever backend the host's `iptables` alternative points to (nf_tables on Debian 12, legacy elsewhere) and
// coexist with Docker/firewalld rules in the same tables. All changes of one call go in one atomic
// iptables-restore --noflush transaction.
//
// Per bridge network (suffix = bridge name, so two engines or a test instance never touch each other's rules):
//   nat    BERTH-DNAT-<br>  <- PREROUTING, OUTPUT (-m addrtype --dst-type LOCAL): one DNAT rule per published port,
//                             tagged with the comment "berth:<containerId>"
//   nat    BERTH-POST-<br>  <- POSTROUTING: masquerade outgoing traffic of the subnet (unless the network is
//                             internal or has masquerading off); masquerade DNATed traffic that comes from the host
//                             itself (127.0.0.1 needs route_localnet on the bridge) or from a container (hairpin)
//                             so that replies come back through the host
// Per daemon (suffix = the default bridge's name), one chain for all of its networks (ForwardFilter):
//   filter BERTH-FWD-<br0>  <- FORWARD (first rule): rewritten as a whole whenever a network comes or goes, so the
//                             order of its rules can express isolation: replies and published ports in, traffic
//                             inside a network (unless icc is off), then drop everything else routed into any of
//                             the bridges (other networks, other hosts: like Docker 28, unpublished ports are not
//                             reachable), then out to the world for non-internal networks, drop for internal ones.
import { run, CommandError } from './exec';
import { PortBinding } from './types';
import type { Waiting } from './waiting';

const RESTORE = 'iptables-restore';
const SAVE = 'iptables-save';

export interface Chains { dnat: string; post: string; fwd: string }

export function chainNames(bridge: string): Chains {
  return { dnat: `BERTH-DNAT-${bridge}`, post: `BERTH-POST-${bridge}`, fwd: `BERTH-FWD-${bridge}` };
}

export const commentFor = (containerId: string) => `berth:${containerId}`;

/** Parsed `iptables-save` output: table -> chain names, and the rules as printed (`-A CHAIN ...`). */
export interface Saved { chains: Map<string, Set<string>>; rules: Map<string, string[]> }

export async function save(): Promise<Saved> {
  const chains = new Map<string, Set<string>>();
  const rules = new Map<string, string[]>();
  for (const table of ['nat', 'filter']) {
    chains.set(table, new Set());
    rules.set(table, []);
    let out = '';
    try {
      out = (await run(SAVE, ['-t', table], undefined, { stdout: true })).stdout;
    } catch (err) {
      // a table that was never used may not exist yet (legacy backend without the module): nothing of ours in it
      if (!(err instanceof CommandError)) throw err;
    }
    for (const line of out.split('\n')) {
      if (line.startsWith(':')) chains.get(table)!.add(line.slice(1).split(' ')[0]);
      else if (line.startsWith('-A ')) rules.get(table)!.push(line);
    }
  }
  return { chains, rules };
}

export async function restore(script: Record<string, string[]>, warm?: () => Waiting | undefined): Promise<void> {
  let text = '';
  for (const [table, lines] of Object.entries(script)) {
    if (lines.length === 0) continue;
    text += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  if (!text) return;
  const w = warm?.();
  if (w) await w.feed(text);
  else await run(RESTORE, ['-w', '--noflush'], text);
}

const chainOf = (rule: string) => rule.split(' ')[1];
const targets = (rule: string, chain: string) => rule.endsWith(` -j ${chain}`) || rule.includes(` -j ${chain} `);

const hasJump = (rules: string[], from: string, to: string) => rules.some((r) => chainOf(r) === from && targets(r, to));

/** Removes the chains (and every jump to them) from the saved tables, in one transaction. */
async function dropChains(chains: string[], saved?: Saved): Promise<void> {
  saved ??= await save();
  const script: Record<string, string[]> = { nat: [], filter: [] };
  const mine = new Set(chains);
  for (const table of ['nat', 'filter']) {
    for (const r of saved.rules.get(table)!) {
      if (!mine.has(chainOf(r)) && chains.some((c) => targets(r, c))) script[table].push('-D' + r.slice(2));
    }
    for (const c of mine) if (saved.chains.get(table)!.has(c)) script[table].push(`-F ${c}`, `-X ${c}`);
  }
  await restore(script);
}

export interface NatOptions {
  /** masquerade traffic from the subnet to the outside (false for internal networks and enable_ip_masquerade=false) */
  masquerade: boolean;
  /**
   * rootless seam: the host address of a published port is bound on the host by the user-mode network, and the
   * traffic reaches the daemon's namespace at that namespace's own address: DNAT matches the port alone
   */
  anyDestination?: boolean;
}

/** The NAT chains of one bridge network. */
export class Firewall {
  readonly chains: Chains;
  /** `warm` hands out a pre-started iptables-restore for the per-container transactions (see warm.ts) */
  constructor(readonly bridge: string, readonly subnet: string, private readonly warm?: () => Waiting | undefined,
    private readonly opts: NatOptions = { masquerade: true }) {
    this.chains = chainNames(bridge);
  }

  private staticRules(): string[] {
    const { post } = this.chains;
    const br = this.bridge;
    const s = this.subnet;
    return [
      ...(this.opts.masquerade ? [`-A ${post} -s ${s} ! -o ${br} -j MASQUERADE`] : []),
      // only 127/8 needs it (a reply to 127.0.0.1 cannot leave the container); host addresses are routable
      // back, and skipping NAT for them saves a source-port allocation per connection
      `-A ${post} -s 127.0.0.0/8 -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`,
      `-A ${post} -s ${s} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`,
    ];
  }

  /** Creates or repairs the chains, their jumps and static rules. Keeps existing DNAT rules (live containers). */
  async setup(saved?: Saved): Promise<void> {
    saved ??= await save();
    const { dnat, post } = this.chains;
    const nat: string[] = [];
    const natRules = saved.rules.get('nat')!;
    if (!saved.chains.get('nat')!.has(dnat)) nat.push(`:${dnat} - [0:0]`);
    nat.push(`:${post} - [0:0]`); // declaring an existing chain with --noflush flushes it: static rules are rewritten
    nat.push(...this.staticRules());
    if (!hasJump(natRules, 'PREROUTING', dnat)) nat.push(`-A PREROUTING -m addrtype --dst-type LOCAL -j ${dnat}`);
    if (!hasJump(natRules, 'OUTPUT', dnat)) nat.push(`-A OUTPUT -m addrtype --dst-type LOCAL -j ${dnat}`);
    if (!hasJump(natRules, 'POSTROUTING', post)) nat.push(`-A POSTROUTING -j ${post}`);
    await restore({ nat });
  }

  /** Removes every rule and chain of this network (jumps first). */
  async teardown(saved?: Saved): Promise<void> {
    await dropChains([this.chains.dnat, this.chains.post], saved);
  }

  /** Whether the chains, their jumps and static rules are all there (something else may have flushed them). */
  intact(saved: Saved): boolean {
    const { dnat, post } = this.chains;
    const nat = saved.rules.get('nat')!;
    const chains = saved.chains.get('nat')!;
    return chains.has(dnat) && chains.has(post) && hasJump(nat, 'PREROUTING', dnat) && hasJump(nat, 'OUTPUT', dnat)
      && hasJump(nat, 'POSTROUTING', post) && nat.filter((r) => chainOf(r) === post).length === this.staticRules().length;
  }

  dnatRule(containerId: string, containerIp: string, p: PortBinding): string {
    const dst = p.hostIp && p.hostIp !== '0.0.0.0' && !this.opts.anyDestination ? `-d ${p.hostIp}/32 ` : '';
    return `${this.chains.dnat} ${dst}-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort} ` +
      `-m comment --comment "${commentFor(containerId)}" -j DNAT --to-destination ${containerIp}:${p.containerPort}`;
  }

  async addPorts(containerId: string, containerIp: string, ports: PortBinding[]): Promise<void> {
    if (ports.length === 0) return;
    await restore({ nat: ports.map((p) => '-A ' + this.dnatRule(containerId, containerIp, p)) }, this.warm);
  }

  /** Deletes the container's DNAT rules; idempotent (falls back to a scan when some rule is already gone). */
  async removePorts(containerId: string, containerIp: string | undefined, ports: PortBinding[]): Promise<void> {
    if (ports.length > 0 && containerIp) {
      try {
        await restore({ nat: ports.map((p) => '-D ' + this.dnatRule(containerId, containerIp, p)) }, this.warm);
        return;
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
      }
    }
    await this.removeWhere((id) => id === containerId);
  }

  /** Container ids that own DNAT rules in this network's chain, with the rules as saved. */
  async ruleOwners(saved?: Saved): Promise<Map<string, string[]>> {
    saved ??= await save();
    const out = new Map<string, string[]>();
    for (const r of saved.rules.get('nat')!) {
      if (chainOf(r) !== this.chains.dnat) continue;
      const m = /--comment "?berth:([^" ]+)"?/.exec(r);
      if (!m) continue;
      if (!out.has(m[1])) out.set(m[1], []);
      out.get(m[1])!.push(r);
    }
    return out;
  }

  async removeWhere(pred: (containerId: string) => boolean): Promise<number> {
    const owners = await this.ruleOwners();
    const del: string[] = [];
    for (const [id, rules] of owners) if (pred(id)) for (const r of rules) del.push('-D' + r.slice(2));
    await restore({ nat: del });
    return del.length;
  }
}

/** What the forward filter needs to know of one network. */
export interface FilterNetwork { bridge: string; internal: boolean; icc: boolean }

/**
 * The daemon's one filter chain for all of its bridge networks (see the header). `sync` rewrites it whole in one
 * transaction, so there is never a moment with half of the rules.
 */
export class ForwardFilter {
  readonly chain: string;
  constructor(defaultBridge: string) { this.chain = chainNames(defaultBridge).fwd; }

  rules(nets: FilterNetwork[]): string[] {
    const c = this.chain;
    const open = nets.filter((n) => !n.internal);
    return [
      ...open.flatMap((n) => [
        `-A ${c} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A ${c} -o ${n.bridge} -m conntrack --ctstate DNAT -j ACCEPT`,
      ]),
      ...nets.map((n) => `-A ${c} -i ${n.bridge} -o ${n.bridge} -j ${n.icc ? 'ACCEPT' : 'DROP'}`),
      ...nets.map((n) => `-A ${c} -o ${n.bridge} -j DROP`),
      ...nets.map((n) => `-A ${c} -i ${n.bridge} -j ${n.internal ? 'DROP' : 'ACCEPT'}`),
    ];
  }

  async sync(nets: FilterNetwork[], saved?: Saved): Promise<void> {
    saved ??= await save();
    const filter = [`:${this.chain} - [0:0]`, ...this.rules(nets)];
    if (!hasJump(saved.rules.get('filter')!, 'FORWARD', this.chain)) filter.push(`-I FORWARD 1 -j ${this.chain}`);
    await restore({ filter });
  }

  async teardown(saved?: Saved): Promise<void> {
    await dropChains([this.chain], saved);
  }

  /** Whether the chain holds exactly its rules for `nets` and FORWARD jumps to it. */
  intact(nets: FilterNetwork[], saved: Saved): boolean {
    const filter = saved.rules.get('filter')!;
    return saved.chains.get('filter')!.has(this.chain) && hasJump(filter, 'FORWARD', this.chain)
      && filter.filter((r) => chainOf(r) === this.chain).length === this.rules(nets).length;
  }
}
