// Checks before rootless berth sets anything up: each missing piece is reported with what to do about it,
// and nothing is created until all of them pass.
import { accessSync, constants, closeSync, openSync, readFileSync, statSync } from 'fs';
import * as os from 'os';
import { IdRange, readSubIds } from './subids';

export interface HostUser { name: string; uid: number; gid: number; home: string }

export interface Preflight {
  user: HostUser;
  subuids: IdRange[];
  subgids: IdRange[];
  newuidmap: string;
  newgidmap: string;
  /** the user-mode network */
  network: { kind: 'slirp4netns'; path: string };
  /** the host's net.ipv4.ip_unprivileged_port_start: lower ports cannot be published */
  unprivilegedPortStart: number;
}

export class PreflightError extends Error {}

const SEARCH = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];

/** BERTH_ROOTLESS_PATH replaces the search path (tests prove the missing-helper errors with it). */
export function findCommand(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = env.BERTH_ROOTLESS_PATH !== undefined ? env.BERTH_ROOTLESS_PATH.split(':').filter(Boolean) : [...(env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
  for (const dir of dirs) {
    const p = `${dir}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch { /* next */ }
  }
  return undefined;
}

export function hostUnprivilegedPortStart(): number {
  try {
    return parseInt(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'), 10) || 1024;
  } catch {
    return 1024;
  }
}

export async function preflight(env: NodeJS.ProcessEnv = process.env): Promise<Preflight> {
  const info = os.userInfo();
  const user: HostUser = { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
  const setupHint = `as root: berth rootless setup ${user.name}`;

  const maxNs = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim());
  if (maxNs === 0) throw new PreflightError(`user namespaces are disabled on this host (user.max_user_namespaces = 0): rootless berth needs them (${setupHint} shows how)`);
  try {
    if (readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim() === '0') {
      throw new PreflightError('unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): set it to 1 (sysctl -w kernel.unprivileged_userns_clone=1)');
    }
  } catch (err) { if (err instanceof PreflightError) throw err; /* no such sysctl: allowed */ }

  const newuidmap = findCommand('newuidmap', env);
  const newgidmap = findCommand('newgidmap', env);
  if (!newuidmap || !newgidmap) {
    throw new PreflightError(`${newuidmap ? 'newgidmap' : 'newuidmap'} not found: rootless berth maps your subordinate ids into its user namespace with newuidmap and newgidmap; install the Debian package uidmap (${setupHint})`);
  }
  // (set-user-ID root on Debian, file capabilities elsewhere: a helper that lacks both fails the mapping with its own
  // message, which the namespace step reports)

  const subuids = await readSubIds('/etc/subuid', user.name, user.uid);
  const subgids = await readSubIds('/etc/subgid', user.name, user.uid);
  if (!subuids.length || !subgids.length) {
    const file = subuids.length ? '/etc/subgid' : '/etc/subuid';
    throw new PreflightError(`no subordinate ${subuids.length ? 'gids' : 'uids'} for user ${user.name} in ${file}: rootless berth needs a range of them (65536 or more) to run images with many users (${setupHint}, or usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user.name})`);
  }

  const slirp = findCommand('slirp4netns', env);
  if (!slirp) throw new PreflightError(`slirp4netns not found: rootless berth connects its network namespace to the host through it; install the Debian package slirp4netns (${setupHint})`);
  const network = { kind: 'slirp4netns' as const, path: slirp };
  try {
    closeSync(openSync('/dev/net/tun', 'r+'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PreflightError(code === 'ENOENT'
      ? `/dev/net/tun does not exist: the user-mode network needs the tun driver (modprobe tun)`
      : `cannot open /dev/net/tun (${code}): the user-mode network needs it readable and writable by users, mode 0666 as Debian's udev rules make it (${setupHint})`);
  }
  return { user, subuids, subgids, newuidmap, newgidmap, network, unprivilegedPortStart: hostUnprivilegedPortStart() };
}
