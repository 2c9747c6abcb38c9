// Persistent network namespaces (a bind mount of the namespace on a file, like `ip netns add` does, but under our
// exec root) and the veth pair that connects a namespace to the bridge.
//
// Cost matters here: this host needs 5-10 ms to spawn any process, so a bridge attach is exactly two spawns:
//   1. `unshare --net=FILE ip -batch -`: creates the namespace, binds it to FILE and, inside it, brings lo up,
//      creates the veth pair with the peer sent straight to the host namespace, sets address, MAC and route.
//   2. `ip link set <veth> master <bridge> up` in the host namespace.
import { promises as fs, existsSync, openSync, closeSync } from 'fs';
import { run, runIgnoring, CommandError } from './exec';
import { libcCalls, umountSyscall, umountSyscallAsync, createNetnsSyscall, MNT_DETACH, SyscallError } from '../common/syscalls';
import type { Waiting, WarmNetns, WarmSpec } from './waiting';

// busybox-static (when installed) starts ~30% faster than the dynamically linked util-linux/iproute2 tools, and
// spawning is most of the cost here: use its unshare, umount and simple `ip link set`. iproute2 stays required for
// the veth/batch work busybox's ip cannot do.
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const IPROUTE2 = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
const tool = (name: 'unshare' | 'umount' | 'ip'): [string, string[]] =>
  BUSYBOX ? [BUSYBOX, [name]] : [name === 'ip' ? IPROUTE2 : name, []];
const runTool = (name: 'unshare' | 'umount' | 'ip', args: string[], input?: string) => {
  const [cmd, pre] = tool(name);
  return run(cmd, [...pre, ...args], input);
};

const NOT_MOUNTED = /not mounted|no mount point|No such file or directory|Invalid argument/i;
const NO_DEVICE = /Cannot find device|does not exist|No such device/i;

/** The bind target of a namespace: synchronous (tmpfs), no thread-pool round trips on the start path. */
async function prepareFile(file: string): Promise<void> {
  closeSync(openSync(file, 'w', 0o444));
}

/** argv of the pre-started helpers (see warm.ts). */
export function warmSpec(): WarmSpec {
  const [unshare, pre] = tool('unshare');
  return {
    ipBatch: [IPROUTE2, ['-batch', '-']],
    iptablesRestore: ['iptables-restore', ['-w', '--noflush']],
    netnsBatch: (file) => [unshare, [...pre, `--net=${file}`, IPROUTE2, '-batch', '-']],
  };
}

/** Creates a namespace bound to `file` with only `lo` (up); or finishes a pre-created one (then `file` is its). */
export async function createEmptyNetns(file: string, warm?: WarmNetns): Promise<void> {
  if (warm) {
    await warm.inside.feed('link set lo up\n');
    return;
  }
  await prepareFile(file);
  try {
    if (createNetnsSyscall(file)) return;
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err; // (nothing is left bound): the commands may still manage
  }
  await runTool('unshare', [`--net=${file}`, ...(BUSYBOX ? [BUSYBOX, 'ip'] : [IPROUTE2]), 'link', 'set', 'lo', 'up']);
}

/** Whether createEmptyNetns makes a namespace without a process (then a pre-started one saves nothing). */
export function emptyNetnsWithoutProcess(): boolean { return !!libcCalls(); }

export interface VethConfig {
  hostVeth: string;
  bridge: string;
  mac: string;
  address: string; // a.b.c.d
  prefixLen: number;
  gateway: string;
  mtu: number;
  /** the container's default route goes through this network (false for internal networks and extra networks) */
  defaultRoute?: boolean;
  /** the interface name inside the container (default eth0) */
  ifname?: string;
  /** more addresses (a.b.c.d/n) on the interface: link-local IPs */
  extraAddresses?: string[];
  /** dual-stack networks: the IPv6 address (x/n) and gateway */
  address6?: string;
  gateway6?: string;
}

/** The `ip -batch` lines, run inside the namespace, that create and configure one veth of the container. */
function vethScript(c: VethConfig): string[] {
  const dev = c.ifname ?? 'eth0';
  return [
    `link add ${dev} address ${c.mac} mtu ${c.mtu} type veth peer name ${c.hostVeth} mtu ${c.mtu} netns /proc/${process.pid}/ns/net`,
    `addr add ${c.address}/${c.prefixLen} broadcast + dev ${dev}`,
    ...(c.extraAddresses ?? []).map((a) => `addr add ${a} dev ${dev}`),
    // no IPv6 link-local address (hairpin mode would reflect its DAD probe and fail it); a dual-stack network's
    // global address goes on without DAD for the same reason
    `link set ${dev} addrgenmode none`,
    ...(c.address6 ? [`addr add ${c.address6} dev ${dev} nodad`] : []),
    `link set ${dev} up`,
    ...(c.defaultRoute === false ? [] : [`route add default via ${c.gateway} dev ${dev}`]),
    ...(c.address6 && c.gateway6 && c.defaultRoute !== false ? [`route add ::/0 via ${c.gateway6} dev ${dev}`] : []),
  ];
}

/** Points the namespace's default route at another interface (its primary network was disconnected). */
export async function replaceDefaultRoute(file: string, gateway: string, dev: string): Promise<void> {
  const nsenter = BUSYBOX ? [BUSYBOX, 'nsenter'] : ['nsenter'];
  await run(nsenter[0], [...nsenter.slice(1), `--net=${file}`, IPROUTE2, 'route', 'replace', 'default', 'via', gateway, 'dev', dev]);
}

/** Adds one more veth (network connect) to an existing namespace and puts its host side on the bridge. */
export async function addVeth(file: string, c: VethConfig): Promise<void> {
  const nsenter = BUSYBOX ? [BUSYBOX, 'nsenter'] : ['nsenter'];
  await run(nsenter[0], [...nsenter.slice(1), `--net=${file}`, IPROUTE2, '-batch', '-'], [...vethScript(c), ''].join('\n'));
  await enslave(c.hostVeth, c.bridge);
}

/**
 * Creates a namespace bound to `file`, connected to the bridge through a veth pair (eth0 inside); or sets up a
 * pre-created namespace (then `file` is its) with pre-started `ip` processes.
 */
export async function createBridgedNetns(file: string, c: VethConfig, warm: { netns?: WarmNetns; ip?: Waiting } = {}): Promise<void> {
  const script = ['link set lo up', ...vethScript(c), ''].join('\n');
  if (warm.netns) {
    await warm.netns.inside.feed(script);
  } else {
    await prepareFile(file);
    await runTool('unshare', [`--net=${file}`, IPROUTE2, '-batch', '-'], script);
  }
  await enslave(c.hostVeth, c.bridge, warm.ip);
}

/** Puts a host-side veth on the bridge, up, in hairpin mode. */
export async function enslave(veth: string, bridge: string, warm?: Waiting): Promise<void> {
  if (warm) await warm.feed(`link set dev ${veth} master ${bridge} up\n`);
  else await runTool('ip', ['link', 'set', 'dev', veth, 'master', bridge, 'up']);
  // hairpin: with br_netfilter, a container reaching its own published port through a host address is DNATed
  // on the bridge and must go back out of the port it came in
  await fs.writeFile(`/sys/class/net/${veth}/brport/hairpin_mode`, '1');
}

/** Unmounts and removes a namespace file; idempotent. */
export async function removeNetns(file: string): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    return;
  }
  if (!(await unmountNetnsFile(file))) {
    // no FFI: the umount command
    const [umount, pre] = tool('umount');
    await runIgnoring(umount, [...pre, file], NOT_MOUNTED).catch(async (err) => {
      // busy mount (someone holds it open): detach it lazily, the namespace goes away with its last user
      if (err instanceof CommandError) await runIgnoring(umount, [...pre, '-l', file], NOT_MOUNTED);
      else throw err;
    });
  }
  await fs.rm(file, { force: true });
}

const EINVAL = 22;
const ENOENT = 2;

/** umount2(2) of a namespace file, as the command does it but without a process (5-10 ms each, and a container's
 * exit or an `rm -f` of many pays it once per container): false when FFI is unavailable. Not mounted is fine; a
 * mount that cannot go now (busy) is detached lazily. On koffi's worker thread: the call waits for an RCU grace
 * period (~1.4 ms here), which held the main thread at every exit, and an `rm -f` of 50 paid it 50 times in a row. */
async function unmountNetnsFile(file: string): Promise<boolean> {
  const notMounted = (err: unknown) => err instanceof SyscallError && (err.errno === EINVAL || err.errno === ENOENT);
  try {
    return await umountSyscallAsync(file);
  } catch (err) {
    if (notMounted(err)) return true;
    if (!(err instanceof SyscallError)) throw err;
  }
  try {
    return umountSyscall(file, MNT_DETACH);
  } catch (err) {
    if (notMounted(err)) return true;
    throw err;
  }
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);

/**
 * Waits until the host side of a veth is gone, which the kernel does by itself shortly after the last reference
 * to the namespace holding its peer is dropped (~1-2 ms here); deletes it after `timeoutMs`. Polling sysfs is
 * much cheaper than `ip link del` (a process plus the kernel's synchronous unregister: ~30 ms here).
 */
export async function waitLinkGone(name: string, timeoutMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (await exists(`/sys/class/net/${name}`)) {
    if (Date.now() >= deadline) return deleteLink(name);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 20);
  }
}

/** Deletes a host-side veth (its peer goes with it); idempotent. */
export async function deleteLink(name: string): Promise<void> {
  await runIgnoring(IPROUTE2, ['link', 'del', 'dev', name], NO_DEVICE);
}

/** Mount points of namespace files below `dir`. */
export async function mountedNetns(dir: string): Promise<Set<string>> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const out = new Set<string>();
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const target = f[4].replace(/\\040/g, ' ');
    if (target.startsWith(prefix)) out.add(target);
  }
  return out;
}

export interface LinkInfo { ifname: string; master?: string; kind?: string; address?: string; operstate?: string }

/** `ip -j -d link show` (optionally one device), parsed. */
export async function links(dev?: string): Promise<LinkInfo[]> {
  const args = ['-j', '-d', 'link', 'show'];
  if (dev) args.push('dev', dev);
  try {
    const { stdout } = await run('ip', args, undefined, { stdout: true });
    const arr = JSON.parse(stdout || '[]') as { ifname: string; master?: string; address?: string; operstate?: string; linkinfo?: { info_kind?: string } }[];
    return arr.map((l) => ({ ifname: l.ifname, master: l.master, kind: l.linkinfo?.info_kind, address: l.address, operstate: l.operstate }));
  } catch (err) {
    if (dev && err instanceof CommandError && NO_DEVICE.test(err.stderr)) return [];
    throw err;
  }
}

/** Creates the bridge if needed and makes sure it has the gateway address and is up. */
export async function ensureBridge(name: string, mac: string, gatewayCidr: string, mtu: number): Promise<void> {
  const existing = await links(name);
  const script: string[] = [];
  if (existing.length === 0) {
    script.push(`link add ${name} address ${mac} mtu ${mtu} type bridge`);
  } else if (existing[0].kind !== 'bridge') {
    throw new Error(`${name} exists and is not a bridge (${existing[0].kind ?? 'unknown kind'})`);
  }
  let hasAddr = false;
  if (existing.length > 0) {
    const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', name], undefined, { stdout: true });
    const arr = JSON.parse(stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
    hasAddr = (arr[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === gatewayCidr);
  }
  if (!hasAddr) script.push(`addr add ${gatewayCidr} broadcast + dev ${name}`);
  script.push(`link set ${name} up`, '');
  await run('ip', ['-batch', '-'], script.join('\n'));
}

/** Gives a bridge its IPv6 gateway address (dual-stack networks); no duplicate address detection, which would
 * keep the address tentative for a second or two after every daemon start. */
export async function ensureBridgeAddress6(name: string, gatewayCidr: string): Promise<void> {
  await writeSysctl(`net/ipv6/conf/${name}/disable_ipv6`, '0');
  const { stdout } = await run('ip', ['-j', '-6', 'addr', 'show', 'dev', name], undefined, { stdout: true });
  const arr = JSON.parse(stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  if ((arr[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === gatewayCidr)) return;
  await run('ip', ['-6', 'addr', 'add', gatewayCidr, 'dev', name, 'nodad']);
}

/** `key` is a path below /proc/sys with slashes ('net/ipv4/ip_forward'): interface names may contain dots. */
export async function writeSysctl(key: string, value: string): Promise<void> {
  const file = '/proc/sys/' + key;
  const cur = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
  if (cur !== value) await fs.writeFile(file, value);
}

export async function readSysctl(key: string): Promise<string> {
  return (await fs.readFile('/proc/sys/' + key, 'utf8')).trim();
}
