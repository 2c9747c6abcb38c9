// Resource limits of a container (the Resources part of HostConfig): Docker's defaults and validation at create,
// the rules of `docker update`, and the translation into the OCI spec's linux.resources that the runtime applies.
// Messages are Docker's, so clients and scripts that match on them keep working.
import { conflict, invalidParameter } from '../../common/errors';
import { HostSupport, OciResources, parseCpuList } from '../../runtime/cgroups';
import type { HostConfig } from './types';

/** Docker's floor for memory limits and reservations: below it a container cannot even start reliably. */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** --cpus: the CFS period Docker uses; the quota is the fraction of it. */
const NANO_CPU_PERIOD = 100_000;

/** The resource fields of HostConfig (and of an update body), in Docker's names. */
export interface Resources {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  KernelMemory?: number;
  CpuPercent?: number;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

const NUMERIC: Array<keyof Resources> = [
  'Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod',
  'CpuRealtimeRuntime', 'BlkioWeight', 'KernelMemory', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth',
];

/** Rejects non-numbers where Go would fail to unmarshal (a string Memory, …). */
export function checkTypes(r: Record<string, unknown>, struct = 'HostConfig'): void {
  for (const k of NUMERIC) {
    const v = r[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ${struct}.${k} of type int64`);
    }
  }
  for (const k of ['PidsLimit', 'MemorySwappiness'] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ${struct}.${k} of type int64`);
    }
  }
  for (const k of ['CpusetCpus', 'CpusetMems'] as const) {
    const v = r[k];
    if (v !== undefined && v !== null && typeof v !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ${struct}.${k} of type string`);
  }
}

/**
 * Docker's checks of resource settings against the host, at create (update=false) and update. Settings the
 * host cannot enforce are discarded with a warning; contradictory ones are refused (400). Mutates `r`.
 */
export function verifyResources(r: Resources, sys: HostSupport, update: boolean): string[] {
  const warnings: string[] = [];
  const bad = (msg: string) => invalidParameter(msg);
  // the docker CLI sends -1 for "not set"
  if (r.MemorySwappiness === -1) r.MemorySwappiness = null;
  const memory = r.Memory ?? 0;

  if (memory !== 0 && memory < MIN_MEMORY) throw bad('Minimum memory limit allowed is 6MB');
  if (memory > 0 && !sys.memory) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0;
    r.MemorySwap = -1;
  }
  if ((r.Memory ?? 0) > 0 && r.MemorySwap !== -1 && !sys.swap) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  const mem = r.Memory ?? 0;
  const swap = r.MemorySwap ?? 0;
  if (mem > 0 && swap > 0 && swap < mem) throw bad('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (mem === 0 && swap > 0 && !update) throw bad('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.MemorySwappiness !== undefined && r.MemorySwappiness !== null) {
    if (!sys.swappiness) {
      warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
      r.MemorySwappiness = null;
    } else if (r.MemorySwappiness < 0 || r.MemorySwappiness > 100) {
      throw bad(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
    }
  }
  const reservation = r.MemoryReservation ?? 0;
  if (reservation > 0 && !sys.reservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if ((r.MemoryReservation ?? 0) > 0 && (r.MemoryReservation ?? 0) < MIN_MEMORY) throw bad('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && (r.MemoryReservation ?? 0) > 0 && mem < r.MemoryReservation!) throw bad('Minimum memory limit can not be less than memory reservation limit, see usage');
  if (r.OomKillDisable !== undefined && r.OomKillDisable !== null && !sys.oomKillDisable) {
    if (r.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = null;
  }
  if (r.OomKillDisable && mem === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (r.PidsLimit !== undefined && r.PidsLimit !== null && !sys.pids) {
    if (r.PidsLimit > 0) warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = null;
  }

  const nano = r.NanoCpus ?? 0;
  if (nano > 0 && (r.CpuPeriod ?? 0) > 0) throw bad('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (r.CpuQuota ?? 0) > 0) throw bad('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano > 0 && !sys.cpuCfs) throw bad('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  if (nano !== 0 && (nano < 0 || nano > sys.numCpu * 1e9)) {
    throw bad(`Range of CPUs is from 0.01 to ${sys.numCpu}.00, as there are only ${sys.numCpu} CPUs available`);
  }
  if ((r.CpuShares ?? 0) < 0) throw bad(`invalid CPU shares (${r.CpuShares}): value must be a positive integer`);
  if ((r.CpuShares ?? 0) > 0 && !sys.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if (((r.CpuPeriod ?? 0) !== 0 || (r.CpuQuota ?? 0) !== 0) && !sys.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0;
    r.CpuQuota = 0;
  }
  const period = r.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1_000_000)) throw bad('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if ((r.CpuQuota ?? 0) > 0 && (r.CpuQuota ?? 0) < 1000) throw bad('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((r.CpuPercent ?? 0) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    r.CpuPercent = 0;
  }

  if ((r.CpusetCpus || r.CpusetMems) && !sys.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = '';
    r.CpusetMems = '';
  }
  checkCpuset(r.CpusetCpus ?? '', sys.cpus, 'cpuset cpus', 'Requested CPUs are not available');
  checkCpuset(r.CpusetMems ?? '', sys.mems, 'cpuset mems', 'Requested memory nodes are not available');

  if ((r.BlkioWeight ?? 0) > 0 && !sys.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  const w = r.BlkioWeight ?? 0;
  if (w > 0 && (w < 10 || w > 1000)) throw bad('Range of blkio weight is from 10 to 1000');
  if ((r.IOMaximumBandwidth ?? 0) !== 0 || (r.IOMaximumIOps ?? 0) !== 0) throw bad('Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
  return warnings;
}

function checkCpuset(requested: string, available: string, what: string, unavailable: string): void {
  if (!requested) return;
  let want: Set<number>;
  try {
    want = parseCpuList(requested);
  } catch (err) {
    throw invalidParameter(`Invalid value ${requested} for ${what}: ${(err as Error).message}`);
  }
  let have: Set<number>;
  try { have = parseCpuList(available); } catch { return; }
  for (const c of want) if (!have.has(c)) throw invalidParameter(`${unavailable} - requested ${requested}, available: ${available}`);
}

/**
 * Docker's create-time defaults, after validation: swap twice the memory when only memory is given, the OOM
 * killer enabled, "unlimited" pids (0 or negative) stored as no limit.
 */
export function applyCreateDefaults(h: HostConfig & Resources): void {
  if ((h.Memory ?? 0) > 0 && (h.MemorySwap ?? 0) === 0) h.MemorySwap = h.Memory! * 2;
  if (h.OomKillDisable === undefined || h.OomKillDisable === null) h.OomKillDisable = false;
  if (h.PidsLimit !== undefined && h.PidsLimit !== null && h.PidsLimit <= 0) h.PidsLimit = null;
  if (h.MemorySwappiness === -1) h.MemorySwappiness = null;
}

/** Create: validate, then fill in Docker's defaults. Returns the warnings for the create response. */
export function checkCreateResources(h: HostConfig, sys: HostSupport): string[] {
  const r = h as HostConfig & Resources;
  checkTypes(r);
  if (r.PidsLimit !== undefined && r.PidsLimit !== null && r.PidsLimit <= 0) r.PidsLimit = null;
  if ((r.ShmSize ?? 0) < 0) throw invalidParameter('SHM size can not be less than 0');
  const warnings = verifyResources(r, sys, false);
  applyCreateDefaults(r);
  return warnings;
}

/** linux.resources for a container's spec at start. */
export function ociResources(hostConfig: HostConfig | Resources): OciResources {
  const h = hostConfig as Resources;
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if ((h.Memory ?? 0) > 0) memory.limit = h.Memory;
  if ((h.MemoryReservation ?? 0) > 0) memory.reservation = h.MemoryReservation;
  if ((h.MemorySwap ?? 0) > 0) memory.swap = h.MemorySwap;
  if (h.MemorySwappiness !== undefined && h.MemorySwappiness !== null && h.MemorySwappiness >= 0) memory.swappiness = h.MemorySwappiness;
  if (h.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu = cpuResources(h);
  if (cpu) out.cpu = cpu;
  if ((h.PidsLimit ?? 0) > 0) out.pids = { limit: h.PidsLimit! };
  if ((h.BlkioWeight ?? 0) > 0) out.blockIO = { weight: h.BlkioWeight };
  return out;
}

function cpuResources(h: Resources): OciResources['cpu'] | undefined {
  const cpu: NonNullable<OciResources['cpu']> = {};
  if ((h.CpuShares ?? 0) > 0) cpu.shares = h.CpuShares;
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if ((h.NanoCpus ?? 0) > 0) {
    cpu.period = NANO_CPU_PERIOD;
    cpu.quota = Math.floor((h.NanoCpus! * NANO_CPU_PERIOD) / 1e9);
  }
  if ((h.CpuPeriod ?? 0) !== 0) cpu.period = h.CpuPeriod;
  if ((h.CpuQuota ?? 0) !== 0) cpu.quota = h.CpuQuota;
  if ((h.CpuRealtimePeriod ?? 0) !== 0) cpu.realtimePeriod = h.CpuRealtimePeriod;
  if ((h.CpuRealtimeRuntime ?? 0) !== 0) cpu.realtimeRuntime = h.CpuRealtimeRuntime;
  return Object.keys(cpu).length ? cpu : undefined;
}

// ------------------------------------------------------------------------------------------ update

/** POST /containers/{id}/update's body: the Resources fields and RestartPolicy. */
export interface UpdateBody extends Resources {
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
}

/** Parses and checks an update body; unlimited pids (0 or negative) become 0, as Docker stores it. */
export function parseUpdateBody(body: unknown): UpdateBody {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid JSON: the request body must be a JSON object');
  const b = { ...(body as UpdateBody) };
  checkTypes(b as Record<string, unknown>, 'UpdateConfig');
  if (b.PidsLimit !== undefined && b.PidsLimit !== null && b.PidsLimit <= 0) b.PidsLimit = 0;
  return b;
}

/** Docker's restart policy rules (create and update). */
export function checkRestartPolicy(p: { Name?: string; MaximumRetryCount?: number } | null | undefined): void {
  const name = p?.Name ?? '';
  const count = p?.MaximumRetryCount ?? 0;
  switch (name) {
    case 'always': case 'unless-stopped': case 'no':
      if (count !== 0) {
        throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'${count < 0 ? ' and cannot be negative' : ''}`);
      }
      return;
    case 'on-failure':
      if (count < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
      return;
    case '':
      return;
    default:
      throw invalidParameter(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/**
 * The container's HostConfig after an update (zero values leave a setting as it is), or a 409 with Docker's
 * reason. --cpus and --cpu-quota/--cpu-period exclude each other across updates too.
 *
 * Docker refuses `update --memory M` unless M fits under the swap limit already set — which it also does for a
 * container that has no memory limit at all (its swap limit is 0), the most common case, so `docker update -m`
 * alone never works on it. berth applies the create-time rule there instead (swap = 2 × memory), and keeps an
 * unlimited swap (-1) unlimited; a real swap limit is still enforced as Docker does.
 */
export function mergeUpdate(current: HostConfig, req: UpdateBody, id: string): HostConfig {
  const cur = current as HostConfig & Resources;
  const fail = (msg: string) => conflict(`Cannot update container ${id}: ${msg}`);
  const pos = (v: number | undefined | null) => (v ?? 0) > 0;
  if (pos(req.NanoCpus) && pos(cur.CpuPeriod)) throw fail('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (pos(req.NanoCpus) && pos(cur.CpuQuota)) throw fail('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (pos(req.CpuPeriod) && pos(cur.NanoCpus)) throw fail('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (pos(req.CpuQuota) && pos(cur.NanoCpus)) throw fail('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const next = { ...cur } as HostConfig & Resources;
  const take = <K extends keyof Resources>(k: K) => { const v = req[k]; if (v !== undefined && v !== null && v !== 0 && v !== '') (next as Resources)[k] = v; };
  for (const k of ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'MemoryReservation', 'CpuRealtimePeriod', 'CpuRealtimeRuntime'] as const) take(k);
  const memory = req.Memory ?? 0;
  const swap = req.MemorySwap ?? 0;
  if (memory !== 0) {
    const curSwap = cur.MemorySwap ?? 0;
    if (swap === 0) {
      if (curSwap > 0 && memory > curSwap) throw fail('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      if (curSwap === 0) next.MemorySwap = memory * 2; // no limit before: as `run -m` would have set it
    }
    next.Memory = memory;
  }
  if (swap !== 0) next.MemorySwap = swap;
  if ((next.Memory ?? 0) > 0 && (next.MemorySwap ?? 0) > 0 && next.MemorySwap! < next.Memory!) {
    throw fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (req.PidsLimit !== undefined && req.PidsLimit !== null) next.PidsLimit = req.PidsLimit;

  const policy = req.RestartPolicy;
  if (policy?.Name) {
    if (cur.AutoRemove && policy.Name !== 'no') throw fail('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = { Name: policy.Name, MaximumRetryCount: policy.MaximumRetryCount ?? 0 };
  }
  return next;
}

/**
 * What a live update writes into the running container's cgroup: the settings the request changes, in their
 * merged form (a new --memory comes with the swap limit that goes with it).
 */
export function updateResources(req: UpdateBody, mergedConfig: HostConfig | Resources): OciResources {
  const merged = mergedConfig as Resources;
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if ((req.Memory ?? 0) !== 0) memory.limit = merged.Memory;
  if ((req.Memory ?? 0) !== 0 || (req.MemorySwap ?? 0) !== 0) {
    const swap = merged.MemorySwap ?? 0;
    if (swap !== 0) memory.swap = swap; // -1: unlimited
  }
  if ((req.MemoryReservation ?? 0) !== 0) memory.reservation = merged.MemoryReservation;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if ((req.CpuShares ?? 0) > 0) cpu.shares = req.CpuShares;
  if ((req.NanoCpus ?? 0) > 0) {
    cpu.period = NANO_CPU_PERIOD;
    cpu.quota = Math.floor((req.NanoCpus! * NANO_CPU_PERIOD) / 1e9);
  }
  if ((req.CpuPeriod ?? 0) !== 0) cpu.period = req.CpuPeriod;
  if ((req.CpuQuota ?? 0) !== 0) cpu.quota = req.CpuQuota;
  if (req.CpusetCpus) cpu.cpus = req.CpusetCpus;
  if (req.CpusetMems) cpu.mems = req.CpusetMems;
  if ((req.CpuRealtimePeriod ?? 0) !== 0) cpu.realtimePeriod = req.CpuRealtimePeriod;
  if ((req.CpuRealtimeRuntime ?? 0) !== 0) cpu.realtimeRuntime = req.CpuRealtimeRuntime;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (req.PidsLimit !== undefined && req.PidsLimit !== null) out.pids = { limit: req.PidsLimit };
  if ((req.BlkioWeight ?? 0) > 0) out.blockIO = { weight: req.BlkioWeight };
  return out;
}
