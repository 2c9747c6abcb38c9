// The exec file for an exec the shim starts itself (`berth-shim --native`, src/runtime/shim/native-exec.c)
// instead of `crun exec`: crun spends 8-10 ms starting up for ~1 ms of work, on every `docker exec` and every
// healthcheck probe. The file carries what crun would have taken from the process JSON and the container's
// config.json; anything this path does not reproduce sends the exec back to the runtime (undefined).
import { promises as fs, writeFileSync } from 'fs';
import { writeFileAtomic } from '../../common/atomic';
import { cgroupLayout, type CgroupLayout } from '../../runtime/cgroups';
import { ALL_CAPABILITIES } from '../../runtime/spec';

export interface NativeExecProcess {
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[] };
  noNewPrivileges: boolean;
  rlimits?: Array<{ type: string; soft: number; hard: number }>;
}

/** crun applies SECCOMP_FILTER_FLAG_SPEC_ALLOW when the spec names no flags (as the container's init got it) */
const SECCOMP_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};
const CRUN_DEFAULT_SECCOMP_FLAGS = 4;
const RLIM_INFINITY = '18446744073709551615';

interface BundleConfig {
  process?: { apparmorProfile?: string; selinuxLabel?: string };
  linux?: { seccomp?: { flags?: string[] }; personality?: unknown };
  annotations?: Record<string, string>;
}

/** Field 22 of /proc/PID/stat, the process's start time; a pid reused later has another. */
export function startTimeOf(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and parentheses
  return fields[19];
}

/** /proc/PID/cgroup as [controllers ("" for cgroup2), path] pairs */
function parseProcCgroup(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/**
 * The cgroup.procs files the exec must join: each hierarchy where the container's process is elsewhere than
 * this daemon (the shim, started by the daemon's launcher, is where the daemon is). Rootless without cgroups:
 * none.
 */
export function cgroupsToJoin(containerCgroup: string, ownCgroup: string, layout: CgroupLayout): string[] {
  const own = new Map(parseProcCgroup(ownCgroup));
  const files: string[] = [];
  for (const [controllers, cgPath] of parseProcCgroup(containerCgroup)) {
    if (own.get(controllers) === cgPath) continue;
    const mount = controllers === '' ? layout.unified : controllers.split(',').map((c) => layout.v1[c]).find(Boolean);
    if (mount) files.push(`${mount}${cgPath === '/' ? '' : cgPath}/cgroup.procs`);
  }
  return files;
}

/** What an exec file takes from the container rather than the exec: fixed while its init runs. */
interface ContainerPart { pid: number; records: string[] }

/**
 * Writes exec files for non-terminal execs in crun containers. The container's part (seccomp filter, cgroups, the
 * init's start time) is read once per container start and kept until the container dies (`forget`).
 */
export class NativeExecFiles {
  private readonly containers = new Map<string, ContainerPart>();

  /** The exec file's path, or undefined when this exec needs the runtime (a spec feature this path does not
   * reproduce, or no precompiled seccomp filter). */
  async write(file: string, containerId: string, bundle: string, pid: number, proc: NativeExecProcess): Promise<string | undefined> {
    if (process.env.BERTH_NATIVE_EXEC === '0' || pid <= 0) return undefined;
    let part = this.containers.get(containerId);
    if (part?.pid !== pid) {
      const records = await containerRecords(bundle, pid);
      if (!records) return undefined;
      part = { pid, records };
      this.containers.set(containerId, part);
    }
    let caps = 0n;
    for (const c of proc.capabilities.bounding) {
      const n = ALL_CAPABILITIES.indexOf(c);
      if (n < 0) return undefined;
      caps |= 1n << BigInt(n);
    }
    const limit = (v: number) => (v < 0 ? RLIM_INFINITY : String(v));
    const records = [
      ...part.records, `uid=${proc.user.uid}`, `gid=${proc.user.gid}`,
      ...(proc.user.additionalGids ?? []).map((g) => `group=${g}`),
      `cwd=${proc.cwd}`, ...proc.args.map((a) => `arg=${a}`), ...proc.env.map((e) => `env=${e}`),
      `caps=${caps}`, `nnp=${proc.noNewPrivileges ? 1 : 0}`,
      ...(proc.rlimits ?? []).map((r) => `rlimit=${r.type} ${limit(r.soft)} ${limit(r.hard)}`),
    ];
    // a NUL inside a value would cut its record short: such an argument cannot be passed to execve either
    if (records.some((r) => r.includes('\0'))) return undefined;
    // tmpfs, a new name, read once by the shim we start after this returns: one synchronous write (no rename, no
    // thread-pool round trips) is enough
    writeFileSync(file, records.map((r) => `${r}\0`).join(''), { mode: 0o600, flag: 'wx' });
    return file;
  }

  /** Whether this container's execs are known to take this path: its part was read for this very init. The
   * exec's own part (its capabilities, a NUL in its strings) may still send one to the runtime (`write`). */
  knownNative(containerId: string, pid: number): boolean {
    return process.env.BERTH_NATIVE_EXEC !== '0' && pid > 0 && this.containers.get(containerId)?.pid === pid;
  }

  forget(containerId: string): void {
    this.containers.delete(containerId);
  }

  get size(): number {
    return this.containers.size;
  }
}

/** The container's records, or undefined when its spec has what this path does not reproduce. */
async function containerRecords(bundle: string, pid: number): Promise<string[] | undefined> {
  const config = JSON.parse(await fs.readFile(`${bundle}/config.json`, 'utf8')) as BundleConfig;
  if (config.process?.apparmorProfile || config.process?.selinuxLabel || config.linux?.personality) return undefined;
  const records: string[] = [];
  const seccomp = config.linux?.seccomp;
  if (seccomp) {
    const bpf = config.annotations?.['run.oci.seccomp_bpf_data'];
    if (!bpf) return undefined;
    let flags = CRUN_DEFAULT_SECCOMP_FLAGS;
    if (seccomp.flags) {
      flags = 0;
      for (const f of seccomp.flags) {
        if (SECCOMP_FLAGS[f] === undefined) return undefined;
        flags |= SECCOMP_FLAGS[f];
      }
    }
    const bpfFile = `${bundle}/exec-seccomp.bpf`; // the bundle is rebuilt at each start
    await writeFileAtomic(bpfFile, Buffer.from(bpf, 'base64'), 0o600, false);
    records.push(`seccomp=${bpfFile}`, `seccomp-flags=${flags}`);
  }
  const [stat, containerCg, ownCg] = await Promise.all([
    fs.readFile(`/proc/${pid}/stat`, 'utf8'), fs.readFile(`/proc/${pid}/cgroup`, 'utf8'), fs.readFile('/proc/self/cgroup', 'utf8'),
  ]);
  const start = startTimeOf(stat);
  if (!start) return undefined;
  records.push(`pid=${pid}`, `start=${start}`, ...cgroupsToJoin(containerCg, ownCg, cgroupLayout()).map((f) => `cgroup=${f}`));
  return records;
}
