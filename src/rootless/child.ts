// The daemon's side of rootless berth, run first thing inside the namespaces: the namespace's own resolv.conf
// (the user-mode network's resolver), and the hooks the daemon wires into the network layer (host ports through the
// parent) and the engine (what the user namespace allows: no cgroups without delegation, devices bound not made).
import { promises as fs, readFileSync } from 'fs';
import * as path from 'path';
import { log } from '../common/log';
import { writeFileAtomic } from '../common/atomic';
import { mountSyscall } from '../runtime/syscalls';
import { run } from '../runtime/exec';
import { ParentPortForwarder, connectThroughParent } from './control';
import { setLoopbackConnector } from '../distribution';
import { RootlessChildContext } from './child-context';
import { cgroupDelegation, CgroupDelegation } from './cgroups';
import { adjustSpecForRootless } from './spec';
import type { HostPortForwarder } from '../network';

export interface RootlessRuntime {
  context: RootlessChildContext;
  hostPorts: HostPortForwarder;
  cgroups: CgroupDelegation;
  /** for the engine (EngineOptions.rootless) */
  limitsUnavailable?: string;
  adjustSpec(spec: Record<string, unknown>, opts: { privileged: boolean; hostNetwork: boolean }): void;
  /** info's SecurityOptions entries, as rootless Docker lists them */
  securityOptions: string[];
  warnings: string[];
}

const MS_BIND = 4096;

/** resolv.conf of the namespace: the user-mode network's resolver; the host's search and options lines kept. */
export function namespaceResolvConf(hostText: string, dns: string): string {
  const kept = hostText.split('\n').filter((l) => /^\s*(search|domain|options)\b/.test(l));
  return [`nameserver ${dns}`, ...kept].join('\n') + '\n';
}

async function isMountPoint(target: string): Promise<boolean> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[4] === target);
}

const MS_REC = 16384;
const MS_MOVE = 8192;

/**
 * /sys as mounted on the host shows the host's network devices; the daemon's bridges and veths live in its own
 * network namespace, so it needs a sysfs of that namespace (which it owns, so it may mount one), with the host's
 * cgroup hierarchies kept at /sys/fs/cgroup (moved aside, then back on top).
 */
async function remountSysfs(rootlessDir: string): Promise<void> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const sysLines = mounts.split('\n').filter((l) => l.split(' ')[4] === '/sys');
  // already done by this daemon's previous life (a restart into the same namespaces): the top /sys is ours
  const marker = path.join(rootlessDir, 'sysfs-ready');
  if (sysLines.length > 1 && await fs.access(marker).then(() => true, () => false)) return;
  const aside = path.join(rootlessDir, 'cgroup');
  await fs.mkdir(aside, { recursive: true, mode: 0o700 });
  const mount = async (src: string, dst: string, type: string, flags: number) => {
    if (!mountSyscall(src, dst, type, flags, '')) throw new Error(`mount ${src} ${dst}: koffi unavailable`);
  };
  await mount('/sys/fs/cgroup', aside, '', MS_BIND | MS_REC);
  await mount('sysfs', '/sys', 'sysfs', 0);
  await mount(aside, '/sys/fs/cgroup', '', MS_MOVE);
  await fs.writeFile(marker, '');
}

export async function enterRootless(ctx: RootlessChildContext): Promise<RootlessRuntime> {
  // Host resolvers on 127.0.0.x are not reachable from the namespace: the daemon (registry pulls, the embedded DNS)
  // and every container resolve through slirp4netns's resolver instead, as under RootlessKit.
  const file = path.join(ctx.rootlessDir, 'resolv.conf');
  if (!(await isMountPoint('/etc/resolv.conf'))) {
    let host = '';
    try { host = readFileSync('/etc/resolv.conf', 'utf8'); } catch { /* none */ }
    await writeFileAtomic(file, namespaceResolvConf(host, ctx.dns), 0o644);
    const target = await fs.realpath('/etc/resolv.conf').catch(() => '/etc/resolv.conf');
    if (!mountSyscall(file, target, '', MS_BIND, '')) await run('mount', ['--bind', file, target]);
  }
  await remountSysfs(ctx.rootlessDir);
  // registries on the host's 127.0.0.1 (push/pull to a loopback registry) are dialled by the parent
  setLoopbackConnector((host, port) => connectThroughParent(ctx.controlSocket, host, port));
  const cgroups = await cgroupDelegation();
  // A delegated subtree is detected, but giving crun paths under it (after moving this session's processes into a
  // leaf, as cgroup v2's no-internal-processes rule wants) is not written yet: limits are refused there too, with
  // the reason, rather than failing every start on a cgroup the runtime may not create.
  const limitsUnavailable = cgroups.available
    ? `resource limits are not available to rootless berth yet: the delegated cgroup v2 subtree ${cgroups.path} is not used`
    : `resource limits are not available to rootless berth on this host: ${cgroups.reason}`;
  log.info('rootless: running as root of a user namespace', { hostUid: ctx.hostUid, cgroups: cgroups.available ? cgroups.path : cgroups.reason });
  return {
    context: ctx,
    hostPorts: new ParentPortForwarder(ctx.controlSocket),
    cgroups,
    limitsUnavailable,
    adjustSpec: (spec, opts) => adjustSpecForRootless(spec, { ...opts, cgroups: false }),
    securityOptions: ['name=rootless', 'name=userns'],
    warnings: [`WARNING: Running in rootless-mode without cgroups (${cgroups.available ? 'the delegated subtree is not used yet' : cgroups.reason}). To enable cgroups in rootless-mode, boot the system in cgroup v2 mode and delegate controllers to the user.`],
  };
}
