// Turns the Engine API's per-container stats JSON (GET /containers/{id}/stats) into the compact sample the
// dashboard charts, with the docker CLI's formulas (CPU % from the deltas against precpu, memory less the
// inactive file cache, network and block I/O summed over interfaces and devices).

/** One sample: what the list's CPU/memory columns and the detail page's charts show. */
export interface StatSample {
  id: string;
  /** milliseconds since the epoch, from the engine's `read` time */
  t: number;
  /** percent of one CPU (docker's convention: 200% = two CPUs busy) */
  cpu: number;
  mem: number;
  memLimit: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

interface CpuStats { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number }
interface RawStats {
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
  pids_stats?: { current?: number };
}

export function compactStats(id: string, raw: unknown): StatSample {
  const s = (raw ?? {}) as RawStats;
  const cpu = s.cpu_stats ?? {};
  const pre = s.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  const cpuPct = cpuDelta > 0 && sysDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const m = s.memory_stats ?? {};
  const ms = m.stats ?? {};
  // docker CLI: usage minus inactive_file (v2) or total_inactive_file (v1), when present and smaller
  const cache = ms.inactive_file ?? ms.total_inactive_file ?? 0;
  const usage = m.usage ?? 0;
  const mem = cache < usage ? usage - cache : usage;
  let netRx = 0, netTx = 0;
  for (const n of Object.values(s.networks ?? {})) { netRx += n.rx_bytes ?? 0; netTx += n.tx_bytes ?? 0; }
  let blkRead = 0, blkWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? '').toLowerCase();
    if (op === 'read') blkRead += e.value ?? 0;
    else if (op === 'write') blkWrite += e.value ?? 0;
  }
  const t = s.read ? Date.parse(s.read) : NaN;
  return {
    id, t: Number.isFinite(t) && t > 0 ? t : Date.now(),
    cpu: Math.round(cpuPct * 100) / 100, mem, memLimit: m.limit ?? 0,
    netRx, netTx, blkRead, blkWrite, pids: s.pids_stats?.current ?? 0,
  };
}
