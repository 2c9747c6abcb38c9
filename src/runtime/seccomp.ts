// Docker's default seccomp profile, as the OCI runtime wants it.
// The profile data comes from Debian's golang-github-containers-common (/usr/share/containers/seccomp.json,
// the same schema as moby's default.json). Its rules carry conditions (capabilities, architectures, minimum
// kernel) that Docker resolves per container; we resolve them here the same way. That file is Podman's default,
// which lets every container reach more of the kernel than Docker's does (new user namespaces and mounts
// among them): asDockerDefault() below gives it Docker's decisions.
import { readFileSync } from 'fs';
import * as os from 'os';
import { execFile } from 'child_process';
import { builtBinary } from './binaries';

export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

interface ProfileRule {
  names?: string[]; name?: string; action: string; errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> | null;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[]; minKernel?: string };
}
interface Profile {
  defaultAction: string; defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  /** OCI-style profiles name their architectures directly */
  architectures?: string[];
  syscalls: ProfileRule[];
}
export interface OciSeccomp {
  defaultAction: string; defaultErrnoRet?: number; architectures: string[];
  syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: unknown[] }>;
}

// Go's GOARCH names, which the profile's "arches" conditions use.
const goArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: 'x86', s390x: 's390x', ppc64: 'ppc64le' };
const seccompArch: Record<string, string> = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', x86: 'SCMP_ARCH_X86', s390x: 'SCMP_ARCH_S390X', ppc64le: 'SCMP_ARCH_PPC64LE' };

let cachedProfile: Profile | undefined;
const cache = new Map<string, OciSeccomp>();

function kernelAtLeast(min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((x) => parseInt(x, 10) || 0);
  const [a, b] = parse(os.release());
  const [c, d] = parse(min);
  return a > c || (a === c && b >= d);
}

/** The profile resolved for a container with the given capability set (names like CAP_CHOWN). */
export function seccompFor(capabilities: string[], profilePath = DEFAULT_SECCOMP_PROFILE): OciSeccomp {
  const key = `${profilePath}\0${[...capabilities].sort().join(',')}`;
  const hit = profilePath === DEFAULT_SECCOMP_PROFILE ? cache.get(key) : undefined;
  if (hit) return hit;
  // The default profile is read once; any other (a CRI Localhost profile) is read at each use: it may change.
  const profile = profilePath === DEFAULT_SECCOMP_PROFILE
    ? (cachedProfile ??= JSON.parse(readFileSync(profilePath, 'utf8')) as Profile)
    : JSON.parse(readFileSync(profilePath, 'utf8')) as Profile;
  const result = resolveProfile(profile, capabilities);
  if (profilePath !== DEFAULT_SECCOMP_PROFILE) return result;
  const docker = asDockerDefault(result, new Set(capabilities), goArch[process.arch] ?? process.arch);
  cache.set(key, docker);
  return docker;
}

/** A profile given as JSON (`docker run --security-opt seccomp=<file>` sends the file's text), used as it is. */
export function seccompFromJson(capabilities: string[], json: string): OciSeccomp {
  let profile: Profile;
  try {
    profile = JSON.parse(json) as Profile;
    if (!profile || typeof profile !== 'object' || typeof profile.defaultAction !== 'string') throw new Error('no defaultAction');
  } catch (err) {
    throw new Error(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  return resolveProfile(profile, capabilities);
}

/** The profile's rules that apply to a container with these capabilities on this machine. */
function resolveProfile(profile: Profile, capabilities: string[]): OciSeccomp {
  const arch = goArch[process.arch] ?? process.arch;
  const caps = new Set(capabilities);
  const matches = (cond: ProfileRule['includes'], want: boolean) => {
    if (!cond) return true;
    const checks: boolean[] = [];
    if (cond.caps?.length) checks.push(cond.caps.every((c) => caps.has(c)));
    if (cond.arches?.length) checks.push(cond.arches.includes(arch));
    if (cond.minKernel) checks.push(kernelAtLeast(cond.minKernel));
    // includes: every listed condition must hold; excludes: the rule is dropped if any holds.
    return want ? checks.every(Boolean) : !checks.some(Boolean);
  };
  const native = seccompArch[arch];
  const archEntry = profile.archMap?.find((a) => a.architecture === native);
  const result: OciSeccomp = {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    architectures: archEntry ? [archEntry.architecture, ...(archEntry.subArchitectures ?? [])] : profile.architectures?.length ? profile.architectures : native ? [native] : [],
    syscalls: [],
  };
  for (const rule of profile.syscalls ?? []) {
    if (!matches(rule.includes, true) || !matches(rule.excludes, false)) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (!names.length) continue;
    result.syscalls.push({ names, action: rule.action, ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}), ...(rule.args?.length ? { args: rule.args } : {}) });
  }
  return result;
}

// ---- where Docker's default profile decides otherwise than containers-common's (moby's profiles/seccomp)

const ALLOW = 'SCMP_ACT_ALLOW';
const EPERM = 1;
const ENOSYS = 38;
/** Docker lets a container make these only while it holds one of the capabilities; containers-common lets all. */
const GATED_BY_CAPABILITY: Record<string, string[]> = {
  ...Object.fromEntries(['unshare', 'setns', 'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree',
    'fsopen', 'fsconfig', 'fsmount', 'fspick', 'quotactl_fd'].map((n) => [n, ['CAP_SYS_ADMIN']])),
  syslog: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'],
  reboot: ['CAP_SYS_BOOT'],
  pidfd_getfd: ['CAP_SYS_PTRACE'],
  ...Object.fromEntries(['mbind', 'get_mempolicy', 'set_mempolicy', 'set_mempolicy_home_node'].map((n) => [n, ['CAP_SYS_NICE']])),
};
/** Refused to every container by Docker (keyrings are not namespaced; the rest are obsolete entry points). */
const ALWAYS_REFUSED = ['keyctl', 'pivot_root', 'readdir', 'sigaction', 'signal', 'sigpending', 'sigsuspend', 'syscall', 'timerfd'];
/** Allowed by Docker, refused or not named by containers-common (newer syscalls: unknown ones are skipped). */
const ALSO_ALLOWED = ['vmsplice', 'io_pgetevents', 'io_pgetevents_time64', 'cachestat', 'fchmodat2', 'futex_requeue',
  'futex_wait', 'futex_waitv', 'futex_wake', 'getxattrat', 'setxattrat', 'listxattrat', 'removexattrat', 'listmount',
  'statmount', 'map_shadow_stack', 'mseal', 'uretprobe'];
/** clone's flags that make new namespaces (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET) */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
const AF_ALG = 38;
const AF_VSOCK = 40;

/**
 * The resolved containers-common profile with Docker's decisions: the syscalls above refused with EPERM (as
 * Docker's default action); without CAP_SYS_ADMIN, clone only without namespace flags and clone3 ENOSYS (so
 * libc falls back to clone); socket refused for AF_ALG and AF_VSOCK. Unnamed syscalls keep containers-common's
 * ENOSYS (Docker's runc returns ENOSYS for syscalls newer than its profile in the same way).
 */
function asDockerDefault(p: OciSeccomp, caps: Set<string>, arch: string): OciSeccomp {
  const refused = new Set(ALWAYS_REFUSED);
  const granted: string[] = [];
  for (const [name, anyOf] of Object.entries(GATED_BY_CAPABILITY)) {
    if (anyOf.some((c) => caps.has(c))) granted.push(name);
    else refused.add(name);
  }
  const sysAdmin = caps.has('CAP_SYS_ADMIN');
  const replaced = new Set(['socket', ...(sysAdmin ? [] : ['clone', 'clone3'])]);
  const alsoAllowed = new Set(ALSO_ALLOWED);
  const syscalls: OciSeccomp['syscalls'] = [];
  for (const rule of p.syscalls) {
    // a name keeps only the rules left here and those added below (libseccomp takes the first unconditional one)
    const names = rule.names.filter((n) => !refused.has(n) && !replaced.has(n) && !(alsoAllowed.has(n) && rule.action !== ALLOW));
    if (names.length) syscalls.push({ ...rule, names });
  }
  syscalls.push({ names: [...alsoAllowed, ...granted], action: ALLOW });
  syscalls.push({ names: [...refused], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM });
  const domain = (op: string, value: number) => ({ names: ['socket'], action: ALLOW, args: [{ index: 0, value, valueTwo: 0, op }] });
  // every domain but these two: below AF_ALG, the one between them (AF_NFC), above AF_VSOCK
  syscalls.push(domain('SCMP_CMP_LT', AF_ALG), domain('SCMP_CMP_EQ', AF_ALG + 1), domain('SCMP_CMP_GT', AF_VSOCK));
  if (!sysAdmin) {
    const flagsArg = arch === 's390x' ? 1 : 0; // s390's clone takes the flags second
    syscalls.push({ names: ['clone'], action: ALLOW, args: [{ index: flagsArg, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { ...p, syscalls };
}

// ---- precompiled BPF (crun's run.oci.seccomp_bpf_data annotation)

const bpfCache = new Map<string, Promise<string | undefined>>();

/** The resolved profile in berth-seccomp's line format. */
export function profileDirectives(p: OciSeccomp): string {
  const lines = [`default ${p.defaultAction} ${p.defaultErrnoRet ?? '-'}`, ...p.architectures.map((a) => `arch ${a}`)];
  for (const rule of p.syscalls) {
    const args = (rule.args ?? []) as Array<{ index: number; value: number; valueTwo?: number; op: string }>;
    const argText = args.map((a) => ` ${a.index} ${a.op} ${a.value} ${a.valueTwo ?? 0}`).join('');
    for (const name of rule.names) lines.push(`rule ${rule.action} ${rule.errnoRet ?? '-'} ${name} ${args.length}${argText}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Base64 BPF for the profile, compiled once per distinct profile; undefined when the compiler is not
 * built or fails, and then the runtime compiles the spec's seccomp section itself (as runc always does).
 */
export function seccompBpf(p: OciSeccomp): Promise<string | undefined> {
  const directives = profileDirectives(p);
  let hit = bpfCache.get(directives);
  if (!hit) {
    const bin = builtBinary('src/runtime/seccomp/berth-seccomp');
    hit = !bin ? Promise.resolve(undefined) : new Promise((resolve) => {
      const child = execFile(bin, [], { encoding: 'buffer', maxBuffer: 1 << 20 }, (err, stdout) => {
        resolve(err || !stdout.length ? undefined : stdout.toString('base64'));
      });
      child.stdin?.end(directives);
    });
    bpfCache.set(directives, hit);
  }
  return hit;
}
