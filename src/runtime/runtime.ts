// The OCI runtime driver: which runtime (crun or runc) and the commands the engine needs from it.
// Containers themselves are created and started by the shim (see shim.ts); this drives the rest.
import { existsSync, readdirSync, rmdirSync, rmSync, promises as fs } from 'fs';
import { run, CommandError } from './exec';
import { log } from '../common/log';
import { runtimeProblem } from './runtime-versions';
import { SealedBinary } from './sealed-binary';

export interface RuntimeInfo { name: string; path: string }

const KNOWN: Record<string, string[]> = { crun: ['/usr/bin/crun', '/usr/local/bin/crun'], runc: ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'] };

/**
 * The runtime called `name`: crun or runc at their usual places, or one the daemon was given with
 * `--add-runtime name=path` (`added`). Never an arbitrary path from a request: HostConfig.Runtime used to accept
 * any existing file, so an API client could make the daemon run any host binary as root.
 */
export function findRuntime(name: string, added: Record<string, string> = {}): RuntimeInfo | undefined {
  const candidates = KNOWN[name] ?? (Object.prototype.hasOwnProperty.call(added, name) ? [added[name]] : []);
  const path = candidates.find((p) => existsSync(p));
  return path ? { name, path } : undefined;
}

/**
 * On a cgroup v1/v2 hybrid whose v2 root still lists controllers (hugetlb here), crun refuses every container.
 * Mounting the v1 hugetlb hierarchy moves that controller out of v2, after which crun works. Returns true when
 * crun can be used.
 */
export async function prepareCgroupsForCrun(): Promise<boolean> {
  const unified = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (!existsSync(unified)) return true; // pure v1 or pure v2: nothing to fix
  let controllers = (await fs.readFile(unified, 'utf8')).trim();
  if (!controllers) return true;
  for (const ctrl of controllers.split(/\s+/)) {
    const dir = `/sys/fs/cgroup/${ctrl}`;
    try {
      await fs.mkdir(dir, { recursive: true });
      await run('mount', ['-t', 'cgroup', '-o', ctrl, 'cgroup', dir]);
      log.info('mounted cgroup v1 hierarchy so crun can run on this hybrid host', { controller: ctrl });
    } catch (err) {
      log.warn('could not move cgroup controller to v1', { controller: ctrl, error: (err as Error).message });
    }
  }
  controllers = (await fs.readFile(unified, 'utf8')).trim();
  return controllers === '';
}

/** Why an installed runtime must not run containers (a version with a known escape), or undefined. */
export function unsafeRuntime(r: RuntimeInfo): string | undefined {
  return runtimeProblem(r.name, r.path);
}

/** Pick the runtime: the one asked for, else crun where it works on this host, else runc — never one with a known
 * container escape (its error names the version needed). */
export async function chooseRuntime(requested?: string, opts: { fixCgroups?: boolean; added?: Record<string, string> } = {}): Promise<RuntimeInfo> {
  // rootless (fixCgroups false): the host's cgroups are not ours to change, and crun is run without them
  const fix = opts.fixCgroups ?? true;
  const added = opts.added ?? {};
  if (requested) {
    const r = findRuntime(requested, added);
    if (!r) throw new Error(`runtime ${requested} not found`);
    const problem = unsafeRuntime(r);
    if (problem) throw new Error(problem);
    if (r.name === 'crun' && fix) await prepareCgroupsForCrun();
    return r;
  }
  const problems: string[] = [];
  const safe = (r: RuntimeInfo | undefined) => {
    const p = r && unsafeRuntime(r);
    if (p) { problems.push(p); log.warn('OCI runtime not used', { runtime: r!.name, reason: p }); }
    return r && !p ? r : undefined;
  };
  const crun = safe(findRuntime('crun'));
  if (crun && (!fix || (await prepareCgroupsForCrun()))) return crun;
  const runc = safe(findRuntime('runc'));
  if (runc) return runc;
  if (crun) return crun;
  throw new Error(problems.length ? `no safe OCI runtime: ${problems.join('; ')}` : 'no OCI runtime found: install crun or runc');
}

export class RuntimeDriver {
  private sealed?: SealedBinary | null;

  constructor(readonly info: RuntimeInfo, readonly root: string) {}

  /** The path to run the runtime by: for crun, its sealed in-memory copy (sealed-binary.ts says why). */
  get execPath(): string {
    if (this.info.name !== 'crun' || process.env.BERTH_SEALED_RUNTIME === '0') return this.info.path;
    if (this.sealed === undefined) this.sealed = SealedBinary.create(this.info.path) ?? null;
    return this.sealed?.path ?? this.info.path;
  }

  private cmd(args: string[]) {
    return run(this.execPath, ['--root', this.root, ...args]);
  }

  /**
   * Removes a stopped container's runtime state. The common case (its processes are gone) is done here:
   * rmdir of its cgroup in each hierarchy and removal of the runtime's state directory, which is all
   * `crun/runc delete` does then — without starting a process (10-40 ms at a busy container exit).
   * Anything unusual (a cgroup still populated, an unknown layout) falls back to `delete --force`.
   */
  async delete(id: string, cgroupsPath?: string): Promise<void> {
    if (cgroupsPath && this.fastDelete(id, cgroupsPath)) return;
    try {
      await this.cmd(['delete', '--force', id]);
    } catch (err) {
      // Already gone is fine: delete runs after crashes and restarts too.
      if (err instanceof CommandError && /does not exist|not found|No such file/i.test(err.stderr)) return;
      throw err;
    }
  }
  private fastDelete(id: string, cgroupsPath: string): boolean {
    const stateDir = `${this.root}/${id}`;
    try {
      // v1 and hybrid: one directory per hierarchy; pure v2: the path right under /sys/fs/cgroup. Synchronous: the
      // rmdir of an empty cgroup takes microseconds (all of a v1 host's dozen 0.3 ms here), where the same calls
      // through the thread pool took 3 ms of every container's exit.
      const dirs = [`/sys/fs/cgroup${cgroupsPath}`, ...readdirSync('/sys/fs/cgroup').map((h) => `/sys/fs/cgroup/${h}${cgroupsPath}`)];
      let allGone = true;
      for (const dir of dirs) {
        try {
          rmdirSync(dir);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') allGone = false;
        }
      }
      // EBUSY: processes remain; the runtime's state stays for `delete --force`, which kills them and retries
      if (!allGone) return false;
      rmSync(stateDir, { recursive: true, force: true }); // tmpfs
      return true;
    } catch {
      return false;
    }
  }

  pause(id: string) { return this.cmd(['pause', id]); }
  resume(id: string) { return this.cmd(['resume', id]); }
}
