// `berth rootless setup USER` (as root): makes a host ready for USER's rootless berth — the Debian packages it needs
// (uidmap, slirp4netns, fuse-overlayfs), a range of subordinate uids and gids for the user (what useradd gives new
// users), /dev/net/tun and /dev/fuse usable by users (udev's default modes, which hosts without udev lack), and a
// private $XDG_RUNTIME_DIR when no login session made one. Idempotent; says what it did. A separate bundle
// (dist/rootless-setup.js), loaded by the CLI only for this command.
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import { freeRange, parseSubIds } from './subids';

export interface SetupReport { lines: string[] }

export class SetupError extends Error {}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }

function exec(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 900_000 }, (err, out, stderr) => {
      if (err) reject(new SetupError(`${file} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(out));
    });
  });
}

export function parsePasswd(text: string, user: string): PasswdEntry | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || (f[0] !== user && f[2] !== user)) continue;
    return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  return undefined;
}

const PACKAGES: Array<{ pkg: string; binary: string }> = [
  { pkg: 'uidmap', binary: '/usr/bin/newuidmap' },
  { pkg: 'slirp4netns', binary: '/usr/bin/slirp4netns' },
  { pkg: 'fuse-overlayfs', binary: '/usr/bin/fuse-overlayfs' },
];

export async function rootlessSetup(user: string, opts: { runtimeDir?: boolean } = {}): Promise<SetupReport> {
  if (process.getuid?.() !== 0) throw new SetupError('berth rootless setup must be run as root (it installs packages and edits /etc/subuid and /etc/subgid)');
  const entry = parsePasswd(await fs.readFile('/etc/passwd', 'utf8'), user);
  if (!entry) throw new SetupError(`no such user: ${user}`);
  if (entry.uid === 0) throw new SetupError('root runs the system daemon; rootless berth is for ordinary users');
  const lines: string[] = [];

  const missing: string[] = [];
  for (const p of PACKAGES) if (!(await fs.access(p.binary).then(() => true, () => false))) missing.push(p.pkg);
  if (missing.length) {
    await exec('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update', '-qq']);
    await exec('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { DEBIAN_FRONTEND: 'noninteractive' });
    lines.push(`installed ${missing.join(', ')}`);
  }

  const subuid = await fs.readFile('/etc/subuid', 'utf8').catch(() => '');
  const subgid = await fs.readFile('/etc/subgid', 'utf8').catch(() => '');
  const hasUids = parseSubIds(subuid, entry.name, entry.uid).length > 0;
  const hasGids = parseSubIds(subgid, entry.name, entry.uid).length > 0;
  if (!hasUids || !hasGids) {
    const r = freeRange([subuid, subgid]);
    const spec = `${r.start}-${r.start + r.count - 1}`;
    await exec('usermod', [...(hasUids ? [] : ['--add-subuids', spec]), ...(hasGids ? [] : ['--add-subgids', spec]), entry.name]);
    lines.push(`added subordinate ${!hasUids && !hasGids ? 'uids and gids' : hasUids ? 'gids' : 'uids'} ${spec} for ${entry.name}`);
  } else {
    lines.push(`${entry.name} has subordinate uids and gids`);
  }

  for (const dev of ['/dev/net/tun', '/dev/fuse']) {
    const st = await fs.stat(dev).catch(() => undefined);
    if (!st) { lines.push(`${dev} is missing (load its kernel module: modprobe ${dev === '/dev/fuse' ? 'fuse' : 'tun'})`); continue; }
    if ((st.mode & 0o666) !== 0o666) {
      await fs.chmod(dev, 0o666);
      lines.push(`made ${dev} usable by users (mode 0666, as Debian's udev rules do)`);
    }
  }

  if (opts.runtimeDir ?? true) {
    const dir = `/run/user/${entry.uid}`;
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await fs.chown(dir, entry.uid, entry.gid);
      await fs.chmod(dir, 0o700);
      lines.push(`created ${dir} (XDG_RUNTIME_DIR; a login session through systemd-logind makes it by itself)`);
    }
  }
  lines.push(`${entry.name} can now run: berth daemon   (socket: $XDG_RUNTIME_DIR/berth/berth.sock, data: ~/.local/share/berth)`);
  return { lines };
}
