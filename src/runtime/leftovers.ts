// What a daemon killed at a bad moment can leave on the host, found and removed at its next start: berth-shim
// processes nobody will talk to again, processes still in a container's cgroup, and overlay mounts. Only this
// daemon's own things are touched: shims are recognised by their --state-dir under this daemon's exec root,
// mounts by their path under its data root.
import { promises as fs } from 'fs';
import { cgroupLayout } from './cgroups';

export interface ShimProcess { pid: number; stateDir: string }

/** Running berth-shim processes whose state dir lies under `stateRoot` (<execRoot>/shim). */
export async function shimProcesses(stateRoot: string): Promise<ShimProcess[]> {
  const prefix = stateRoot.endsWith('/') ? stateRoot : `${stateRoot}/`;
  const out: ShimProcess[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((await fs.readFile(`/proc/${name}/comm`, 'utf8')).trim() !== 'berth-shim') continue;
      const argv = (await fs.readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      const i = argv.indexOf('--state-dir');
      const dir = i >= 0 ? argv[i + 1] : undefined;
      if (dir && dir.startsWith(prefix)) out.push({ pid: Number(name), stateDir: dir });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/**
 * Kills a shim and whatever it started that is still in its process group (a `crun run` in flight), then waits
 * up to `timeoutMs` for it to be gone. The shim is a session leader (it calls setsid), so its pgid is its pid.
 */
export async function killShim(pid: number, timeoutMs = 5000): Promise<void> {
  for (const target of [-pid, pid]) { try { process.kill(target, 'SIGKILL'); } catch { /* gone */ } }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** The shim pid a state dir records, when that process still is a berth-shim of this state dir. */
export async function shimPidOf(stateDir: string): Promise<number | undefined> {
  const pid = parseInt(await fs.readFile(`${stateDir}/shim.pid`, 'utf8').catch(() => ''), 10);
  if (!(pid > 0)) return undefined;
  const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return argv.includes(stateDir) && argv.some((a) => a.endsWith('berth-shim')) ? pid : undefined;
}

/** Directories of the cgroup `cgroupsPath` (e.g. /berth/<id>) in every hierarchy where it exists. */
async function cgroupDirs(cgroupsPath: string): Promise<string[]> {
  const layout = cgroupLayout();
  const roots = new Set<string>([...Object.values(layout.v1).filter((m): m is string => !!m), ...(layout.unified ? [layout.unified] : [])]);
  const out: string[] = [];
  for (const root of roots) {
    const dir = root + cgroupsPath;
    if (await fs.stat(dir).then(() => true, () => false)) out.push(dir);
  }
  return out;
}

/** SIGKILLs every process left in the container's cgroup; returns how many there were. */
export async function killCgroupProcesses(cgroupsPath: string): Promise<number> {
  const pids = new Set<number>();
  for (const dir of await cgroupDirs(cgroupsPath)) {
    const text = await fs.readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '');
    for (const p of text.split('\n')) if (/^\d+$/.test(p)) pids.add(Number(p));
  }
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  const deadline = Date.now() + 5000;
  while ([...pids].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return pids.size;
}

/** Whether the container's cgroup still exists in some hierarchy. */
export async function cgroupExists(cgroupsPath: string): Promise<boolean> {
  return (await cgroupDirs(cgroupsPath)).length > 0;
}

/** Mount points at or below `dir` (deepest first, for unmounting). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && (m === dir || m.startsWith(prefix)))
    .sort((a, b) => b.length - a.length);
}

/** Whether the container's cgroup is frozen (v1 freezer.state FROZEN/FREEZING, or v2 cgroup.freeze 1). */
export async function isFrozen(cgroupsPath: string): Promise<boolean> {
  const layout = cgroupLayout();
  const v1 = layout.v1.freezer;
  if (v1) return /FROZEN|FREEZING/.test(await fs.readFile(`${v1}${cgroupsPath}/freezer.state`, 'utf8').catch(() => ''));
  if (layout.unified) return (await fs.readFile(`${layout.unified}${cgroupsPath}/cgroup.freeze`, 'utf8').catch(() => '0')).trim() === '1';
  return false;
}
