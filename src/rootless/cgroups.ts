// Whether rootless berth can enforce resource limits: only where the host delegates a cgroup v2 subtree to the
// user (systemd's Delegate=yes for user@.service does): the user's own cgroup is writable and offers controllers.
// On cgroup v1 (and the v1/v2 hybrid) an unprivileged user owns no cgroup: limits are refused, all else works.
import { promises as fs, constants } from 'fs';

export type CgroupDelegation =
  | { available: true; path: string; controllers: string[] }
  | { available: false; reason: string };

export interface CgroupFs {
  exists(p: string): Promise<boolean>;
  read(p: string): Promise<string>;
  writable(p: string): Promise<boolean>;
}

const realFs: CgroupFs = {
  exists: (p) => fs.access(p).then(() => true, () => false),
  read: (p) => fs.readFile(p, 'utf8'),
  writable: (p) => fs.access(p, constants.W_OK).then(() => true, () => false),
};

/** The controllers limits need; at least memory and pids (cpu is used when present). */
const NEEDED = ['memory', 'pids'];

export async function cgroupDelegation(sys: CgroupFs = realFs, root = '/sys/fs/cgroup'): Promise<CgroupDelegation> {
  if (!(await sys.exists(`${root}/cgroup.controllers`))) {
    const hybrid = await sys.exists(`${root}/unified/cgroup.controllers`);
    return { available: false, reason: hybrid ? 'the host runs cgroup v1 (a v1/v2 hybrid); unprivileged users get no cgroup there' : 'the host runs cgroup v1; unprivileged users get no cgroup there' };
  }
  const own = /^0::(.*)$/m.exec(await sys.read('/proc/self/cgroup').catch(() => ''))?.[1];
  if (!own) return { available: false, reason: 'this process has no cgroup v2 membership' };
  const dir = `${root}${own === '/' ? '' : own}`;
  if (!(await sys.writable(dir)) || !(await sys.writable(`${dir}/cgroup.subtree_control`))) {
    return { available: false, reason: `the cgroup ${own} is not delegated to this user (systemd: Delegate=yes for user@.service)` };
  }
  const controllers = (await sys.read(`${dir}/cgroup.controllers`).catch(() => '')).trim().split(/\s+/).filter(Boolean);
  const missing = NEEDED.filter((c) => !controllers.includes(c));
  if (missing.length) return { available: false, reason: `the delegated cgroup ${own} lacks the ${missing.join(' and ')} controller${missing.length > 1 ? 's' : ''} (add them to Delegate= for user@.service)` };
  return { available: true, path: own, controllers };
}
