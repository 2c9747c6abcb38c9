// Docker's default seccomp profile, as the OCI runtime wants it.
// The profile data comes from Debian's golang-github-containers-common (/usr/share/containers/seccomp.json,
// the same schema as moby's default.json). Its rules carry conditions (capabilities, architectures, minimum
// kernel) that Docker resolves per container; we resolve them here the same way.
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
  if (profilePath === DEFAULT_SECCOMP_PROFILE) cache.set(key, result);
  return result;
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
