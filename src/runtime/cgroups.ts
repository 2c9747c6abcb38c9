// cgroups v1, v2 and the hybrid of both: where each controller of a container lives, what the host supports
// (Docker's "sysinfo": the validation of resource limits depends on it), writing limits into a running
// container's cgroup (`update`), and the OOM-kill counter read when a container exits.
//
// The runtime (crun/runc) creates the cgroup and applies the limits of the OCI spec at start; the daemon writes
// the same files directly for a live update: one small write per setting instead of a runtime process, and the
// same code for crun and runc.
import { existsSync, readFileSync, promises as fs } from 'fs';
import * as os from 'os';

/** The controllers berth limits or reads. On v2, blkio is called io. */
export type Controller = 'memory' | 'cpu' | 'cpuacct' | 'cpuset' | 'pids' | 'blkio';

export interface CgroupLayout {
  /** v1 controller → mount point of its hierarchy (cpu and cpuacct may share one) */
  v1: Partial<Record<string, string>>;
  /** the cgroup2 mount point (the whole tree on a pure v2 host, /sys/fs/cgroup/unified on a hybrid) */
  unified?: string;
  /** controllers enabled in the v2 hierarchy's root */
  v2Controllers: string[];
}

/** Parses /proc/self/mountinfo into the layout; `readControllers` lists a v2 mount's root controllers. */
export function parseLayout(mountinfo: string, readControllers: (mountPoint: string) => string[]): CgroupLayout {
  const layout: CgroupLayout = { v1: {}, v2Controllers: [] };
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    if (fstype === 'cgroup2') {
      // the first cgroup2 mount wins (a container engine may bind-mount more of them elsewhere)
      if (!layout.unified) { layout.unified = mountPoint; layout.v2Controllers = readControllers(mountPoint); }
    } else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) if (!layout.v1[opt]) layout.v1[opt] = mountPoint;
    }
  }
  return layout;
}

let cachedLayout: CgroupLayout | undefined;

/** The host's layout, read once (mount changes later — the hugetlb move for crun — touch no controller we use). */
export function cgroupLayout(): CgroupLayout {
  if (!cachedLayout) {
    cachedLayout = parseLayout(readFileSync('/proc/self/mountinfo', 'utf8'), (mp) => {
      try { return readFileSync(`${mp}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean); } catch { return []; }
    });
  }
  return cachedLayout;
}

const V2_NAME: Record<Controller, string> = { memory: 'memory', cpu: 'cpu', cpuacct: 'cpu', cpuset: 'cpuset', pids: 'pids', blkio: 'io' };

/** A container's cgroup, addressed by its cgroupsPath (as given to the runtime, e.g. /berth/<id>). */
export class ContainerCgroup {
  constructor(readonly path: string, readonly layout: CgroupLayout = cgroupLayout()) {}

  /** The directory holding `controller`'s files for this cgroup, and whether it is a v2 one. */
  dir(controller: Controller): { dir: string; v2: boolean } | undefined {
    const v1 = this.layout.v1[controller];
    if (v1) return { dir: v1 + this.path, v2: false };
    if (this.layout.unified && this.layout.v2Controllers.includes(V2_NAME[controller])) return { dir: this.layout.unified + this.path, v2: true };
    return undefined;
  }

  /** True when the memory controller is cgroup v2 (stats then follow Docker's v2 shape). */
  get memoryV2(): boolean { return this.dir('memory')?.v2 ?? false; }
}

// ------------------------------------------------------------------------------------------ host support

/** What the host's cgroups can enforce: Docker discards (with a warning) any limit the host cannot apply. */
export interface HostSupport {
  memory: boolean;
  swap: boolean;
  reservation: boolean;
  swappiness: boolean;
  oomKillDisable: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuset: boolean;
  pids: boolean;
  blkioWeight: boolean;
  /** CPUs the daemon may use (sched_getaffinity), as Go's runtime.NumCPU counts them */
  numCpu: number;
  /** CPUs and memory nodes a cpuset may name, in list form ("0-3") */
  cpus: string;
  mems: string;
  /** physical memory: the stats limit of a container without one */
  machineMemory: number;
}

let cachedSupport: HostSupport | undefined;

export function hostSupport(layout: CgroupLayout = cgroupLayout()): HostSupport {
  if (cachedSupport && layout === cachedLayout) return cachedSupport;
  const at = (c: Controller) => new ContainerCgroup('', layout).dir(c);
  const has = (c: Controller, file: string) => { const d = at(c); return !!d && existsSync(`${d.dir}/${file}`); };
  const read = (file: string) => { try { return readFileSync(file, 'utf8').trim(); } catch { return ''; } };
  const mem = at('memory');
  const cpuset = at('cpuset');
  const online = read('/sys/devices/system/cpu/online') || `0-${os.cpus().length - 1}`;
  const support: HostSupport = {
    memory: !!mem,
    // v1 needs swap accounting (memsw); on v2 the root has no memory.swap.max, so look at the feature file instead
    swap: mem ? (mem.v2 ? hasSwapController(layout) : has('memory', 'memory.memsw.limit_in_bytes')) : false,
    reservation: mem ? (mem.v2 ? true : has('memory', 'memory.soft_limit_in_bytes')) : false,
    swappiness: mem ? !mem.v2 && has('memory', 'memory.swappiness') : false,
    oomKillDisable: mem ? !mem.v2 && has('memory', 'memory.oom_control') : false,
    cpuShares: at('cpu') ? (at('cpu')!.v2 ? true : has('cpu', 'cpu.shares')) : false,
    cpuCfs: at('cpu') ? (at('cpu')!.v2 ? true : has('cpu', 'cpu.cfs_quota_us')) : false,
    cpuset: !!cpuset,
    pids: !!at('pids'),
    blkioWeight: at('blkio') ? (at('blkio')!.v2 ? true : has('blkio', 'blkio.weight')) : false,
    numCpu: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    cpus: (cpuset && read(`${cpuset.dir}/${cpuset.v2 ? 'cpuset.cpus.effective' : 'cpuset.effective_cpus'}`)) || online,
    mems: (cpuset && read(`${cpuset.dir}/${cpuset.v2 ? 'cpuset.mems.effective' : 'cpuset.effective_mems'}`)) || '0',
    machineMemory: machineMemory(),
  };
  if (layout === cgroupLayout()) cachedSupport = support;
  return support;
}

// On v2 swap accounting shows as memory.swap.* files in any non-root cgroup; the daemon's own is one.
function hasSwapController(layout: CgroupLayout): boolean {
  try {
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    return !!own && !!layout.unified && existsSync(`${layout.unified}${own === '/' ? '' : own}/memory.swap.max`);
  } catch {
    return false;
  }
}

/** MemTotal in bytes. */
export function machineMemory(meminfo?: string): number {
  try {
    const text = meminfo ?? readFileSync('/proc/meminfo', 'utf8');
    const kb = /^MemTotal:\s+(\d+)\s*kB/m.exec(text)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** parsers.ParseUintList: "0-2,4" → {0,1,2,4}; throws "invalid format: …". */
export function parseCpuList(val: string): Set<number> {
  const out = new Set<number>();
  if (val === '') return out;
  const bad = () => new Error(`invalid format: ${val}`);
  for (const part of val.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw bad();
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw bad();
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

// ------------------------------------------------------------------------------------------ resources

/** linux.resources of the OCI runtime spec: the parts berth sets. */
export interface OciResources {
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  /** limit <= 0: unlimited */
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

const ERRNO_TEXT: Record<string, string> = {
  EBUSY: 'device or resource busy', EINVAL: 'invalid argument', ENOENT: 'no such file or directory', EACCES: 'permission denied',
  EPERM: 'operation not permitted', ENOSPC: 'no space left on device',
};

async function write(dir: string, file: string, value: string | number): Promise<void> {
  const path = `${dir}/${file}`;
  try {
    await fs.writeFile(path, String(value));
  } catch (err) {
    // phrased like the runtimes' own errors ("… device or resource busy" when memory cannot shrink below usage)
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new Error(`failed to write ${JSON.stringify(String(value))} to ${JSON.stringify(path)}: ${ERRNO_TEXT[code] ?? (err as Error).message}`);
  }
}

async function readText(file: string): Promise<string | undefined> {
  try { return await fs.readFile(file, 'utf8'); } catch { return undefined; }
}

/**
 * Two writes whose valid order depends on the values (memory vs memsw limit, CFS period vs quota): the kernel
 * refuses an intermediate state that breaks their relation, so when the first order fails try the other.
 */
async function writePair(first: () => Promise<void>, second: () => Promise<void>): Promise<void> {
  try {
    await first();
    await second();
  } catch (err) {
    await second();
    await first().catch(() => { throw err; });
  }
}

/** cpu.weight (v2, 1..10000) from cpu.shares (v1, 2..262144), the conversion crun and runc use. */
export const sharesToWeight = (shares: number) => (shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142));

/** Writes the given settings into a running container's cgroup. Settings left out stay as they are. */
export async function applyResources(cg: ContainerCgroup, r: OciResources): Promise<void> {
  const mem = cg.dir('memory');
  if (r.memory && mem) {
    const { limit, swap, reservation } = r.memory;
    if (!mem.v2) {
      const setLimit = () => write(mem.dir, 'memory.limit_in_bytes', limit!);
      const setSwap = () => write(mem.dir, 'memory.memsw.limit_in_bytes', swap!);
      if (limit !== undefined && swap !== undefined) await writePair(setLimit, setSwap);
      else if (limit !== undefined) await setLimit();
      else if (swap !== undefined) await setSwap();
      if (reservation !== undefined) await write(mem.dir, 'memory.soft_limit_in_bytes', reservation);
      if (r.memory.swappiness !== undefined) await write(mem.dir, 'memory.swappiness', r.memory.swappiness);
      if (r.memory.disableOOMKiller !== undefined) await write(mem.dir, 'memory.oom_control', r.memory.disableOOMKiller ? 1 : 0);
    } else {
      // v2 keeps memory and swap apart: memory.swap.max is the swap beyond memory.max
      if (limit !== undefined) await write(mem.dir, 'memory.max', limit > 0 ? limit : 'max');
      if (swap !== undefined) {
        const current = limit ?? Number((await readText(`${mem.dir}/memory.max`))?.trim());
        const v2swap = swap < 0 || !Number.isFinite(current) ? 'max' : Math.max(0, swap - current);
        await write(mem.dir, 'memory.swap.max', v2swap);
      }
      if (reservation !== undefined) await write(mem.dir, 'memory.low', reservation);
    }
  }
  const cpu = cg.dir('cpu');
  if (r.cpu && cpu) {
    const { shares, quota, period } = r.cpu;
    if (!cpu.v2) {
      if (shares !== undefined) await write(cpu.dir, 'cpu.shares', shares);
      const setPeriod = () => write(cpu.dir, 'cpu.cfs_period_us', period!);
      const setQuota = () => write(cpu.dir, 'cpu.cfs_quota_us', quota!);
      if (period !== undefined && quota !== undefined) await writePair(setPeriod, setQuota);
      else if (period !== undefined) await setPeriod();
      else if (quota !== undefined) await setQuota();
      if (r.cpu.realtimePeriod !== undefined) await write(cpu.dir, 'cpu.rt_period_us', r.cpu.realtimePeriod);
      if (r.cpu.realtimeRuntime !== undefined) await write(cpu.dir, 'cpu.rt_runtime_us', r.cpu.realtimeRuntime);
    } else {
      if (shares !== undefined) await write(cpu.dir, 'cpu.weight', sharesToWeight(shares));
      if (period !== undefined || quota !== undefined) {
        const [curQuota, curPeriod] = ((await readText(`${cpu.dir}/cpu.max`)) ?? 'max 100000').trim().split(/\s+/);
        const q = quota !== undefined ? (quota > 0 ? String(quota) : 'max') : curQuota;
        await write(cpu.dir, 'cpu.max', `${q} ${period ?? curPeriod}`);
      }
    }
  }
  const cpuset = cg.dir('cpuset');
  if (r.cpu && cpuset) {
    if (r.cpu.cpus) await write(cpuset.dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu.mems) await write(cpuset.dir, 'cpuset.mems', r.cpu.mems);
  }
  const pids = cg.dir('pids');
  if (r.pids && pids) await write(pids.dir, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  const blkio = cg.dir('blkio');
  if (r.blockIO?.weight && blkio) await write(blkio.dir, blkio.v2 ? 'io.weight' : 'blkio.weight', blkio.v2 ? `default ${r.blockIO.weight}` : r.blockIO.weight);
}

// ------------------------------------------------------------------------------------------ OOM

/** How many processes the kernel's OOM killer has killed in this cgroup (v1 memory.oom_control, v2 memory.events). */
export async function oomKillCount(cg: ContainerCgroup): Promise<number> {
  const mem = cg.dir('memory');
  if (!mem) return 0;
  const text = await readText(`${mem.dir}/${mem.v2 ? 'memory.events' : 'memory.oom_control'}`);
  const n = text ? /^oom_kill (\d+)$/m.exec(text)?.[1] : undefined;
  return n ? Number(n) : 0;
}
