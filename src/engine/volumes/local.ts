// The `local` volume driver's rules: which names it takes, which driver options (type, device, o) it accepts,
// and how a volume with options is mounted on its _data directory (mount(2) through runtime/syscalls, the
// `mount` command where FFI is unavailable), with docker's error texts.
import { notFound, systemError } from '../../common/errors';
import { mountSyscall, umountSyscall, SyscallError, MNT_DETACH } from '../../runtime/syscalls';
import { run } from '../../runtime/exec';

export const LOCAL = 'local';
/** The label docker 23+ puts on the volumes it creates for anonymous mounts; prune looks for it. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The reason a local volume name is refused, or undefined when it is fine. */
export function nameError(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  // a volume name is a directory name under the data root: past 255 bytes mkdir fails (ENAMETOOLONG, a 500 in docker)
  if (name.length > 255) return `volume name ${JSON.stringify(name.slice(0, 40))}… is too long: at most 255 characters`;
  if (!NAME_RE.test(name)) {
    return `${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

const VALID_OPTS = ['type', 'o', 'device', 'size'];
// Which options need which others; checked in this order so the message is the same every time.
const REQUIRED: Array<[string, string[]]> = [['device', ['type']], ['type', ['device']], ['o', ['device', 'type']]];

/** The reason a set of driver options is refused, or undefined. */
export function optsError(opts: Record<string, string>): string | undefined {
  const keys = Object.keys(opts);
  if (!keys.length) return undefined;
  for (const k of keys.sort()) if (!VALID_OPTS.includes(k)) return `invalid option: ${JSON.stringify(k)}`;
  if (opts.size !== undefined && opts.size !== '' && opts.size !== '0') {
    // Quotas need an XFS project-quota data root; berth does not set those up.
    return 'quota size requested but no quota support';
  }
  for (const [opt, needs] of REQUIRED) {
    if (!(opt in opts)) continue;
    for (const n of needs) if (!(n in opts)) return `missing required option: ${JSON.stringify(n)}`;
  }
  return undefined;
}

/** Does this volume need a mount of its own (type/device given), or is it a plain directory? */
export const needsMount = (opts: Record<string, string> | null | undefined): boolean => !!opts && !!opts.type && !!opts.device;

// mount(2) flags by option name: [flag, clears?]. The same table util-linux and docker use.
const MS: Record<string, [number, boolean]> = {
  defaults: [0, false], ro: [1, false], rw: [1, true], suid: [2, true], nosuid: [2, false], dev: [4, true], nodev: [4, false],
  exec: [8, true], noexec: [8, false], sync: [16, false], async: [16, true], dirsync: [128, false], remount: [32, false],
  mand: [64, false], nomand: [64, true], atime: [1024, true], noatime: [1024, false], diratime: [2048, true], nodiratime: [2048, false],
  bind: [4096, false], rbind: [4096 | 16384, false], unbindable: [1 << 17, false], runbindable: [(1 << 17) | 16384, false],
  private: [1 << 18, false], rprivate: [(1 << 18) | 16384, false], shared: [1 << 20, false], rshared: [(1 << 20) | 16384, false],
  slave: [1 << 19, false], rslave: [(1 << 19) | 16384, false], relatime: [1 << 21, false], norelatime: [1 << 21, true],
  strictatime: [1 << 24, false], nostrictatime: [1 << 24, true],
};
const PROPAGATION = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
const MS_BIND = 4096;
const MS_RDONLY = 1;
const MS_REMOUNT = 32;
const MS_REC = 16384;

/** Splits an `o=` value into mount flags and the data string the filesystem gets. */
export function parseMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of o.split(',')) {
    if (opt === '') continue;
    const f = MS[opt];
    if (f) flags = f[1] ? flags & ~f[0] : flags | f[0];
    else data.push(opt);
  }
  return { flags, data: data.join(',') };
}

// Go prints errnos as strerror does, lower case; these are the ones a mount gives.
const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted', 2: 'no such file or directory', 13: 'permission denied', 15: 'block device required',
  16: 'device or resource busy', 19: 'no such device', 20: 'not a directory', 22: 'invalid argument',
};

function mountFailure(device: string, target: string, flags: number, data: string, why: string): Error {
  let what = `mount ${device ? `${device}:${target}` : target}`;
  if (flags) what += `, flags: 0x${flags.toString(16)}`;
  if (data) what += `, data: ${data}`;
  return systemError(`error while mounting volume '${target}': failed to mount local volume: ${what}: ${why}`);
}

function sysMount(source: string, target: string, type: string, flags: number, data: string, shown: { flags: number; data: string }): boolean {
  try {
    return mountSyscall(source, target, type, flags, data);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw mountFailure(source, target, shown.flags, shown.data, ERRNO_TEXT[err.errno] ?? `errno ${err.errno}`);
    }
    throw err;
  }
}

/** Mounts a volume's device on its _data directory as its options say; ro binds need a second, remounting call. */
export async function mountLocal(opts: Record<string, string>, target: string): Promise<void> {
  const { flags, data } = parseMountOptions(opts.o ?? '');
  const device = opts.device;
  const type = opts.type;
  const plain = flags & ~PROPAGATION;
  const shown = { flags, data };
  if (!sysMount(device, target, type, plain, data, shown)) {
    // no FFI: the mount command understands the same option string
    try {
      await run('mount', ['-t', type, ...(opts.o ? ['-o', opts.o] : []), device, target]);
    } catch (err) {
      throw mountFailure(device, target, flags, data, (err as Error).message.trim());
    }
    return;
  }
  if (flags & PROPAGATION) sysMount('', target, '', flags & (PROPAGATION | MS_REC), '', shown);
  if ((plain & (MS_BIND | MS_RDONLY)) === (MS_BIND | MS_RDONLY)) sysMount('', target, '', plain | MS_REMOUNT, '', shown);
}

export async function unmountLocal(target: string): Promise<void> {
  try {
    if (umountSyscall(target)) return;
  } catch (err) {
    if (err instanceof SyscallError && (err.errno === 22 || err.errno === 2)) return; // not mounted
    // still busy (a process outside berth holds it): detach, so the volume can go
    if (err instanceof SyscallError && err.errno === 16) { umountSyscall(target, MNT_DETACH); return; }
    throw err;
  }
  await run('umount', [target]).catch(() => run('umount', ['-l', target]).catch(() => undefined));
}

/** For the API layer: a driver other than local is a plugin berth does not have. */
export function checkDriver(name: string, driver: string | undefined): void {
  if (driver && driver !== LOCAL) {
    throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin ${JSON.stringify(driver)} not found`);
  }
}
